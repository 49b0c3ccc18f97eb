//! newsriver as a library: the stages of the pipeline, the two topologies that join them
//! (`topology::run`, the daemon, and `topology::backfill`, a URL list), and the tools
//! beside them. The `newsriver` binary is a thin command line over this; integration
//! tests call the topologies in-process.

pub mod admin;
pub mod config;
pub mod dead_letters;
pub mod discover;
pub mod feed_admin;
pub mod feeds_api;
pub mod feeds_cli;
pub mod kill_switch;
pub mod lock;
pub mod messages;
pub mod shared;
pub mod sources;
pub mod stages;
pub mod stats;
pub mod status_page;
pub mod tools;
pub mod topology;
pub mod warc_source;
