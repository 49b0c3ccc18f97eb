// `embed_migrations!` includes the migration files it finds when it expands, so a file
// edited there recompiles the crate, but a new file would not be noticed without this.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
