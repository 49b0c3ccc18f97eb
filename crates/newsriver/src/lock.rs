//! One writer per state file: `run` and `backfill` hold an OS lock on `<state>.lock`
//! for as long as they live.
//!
//! SQLite's own locks only serialize transactions; two pipelines on one database would
//! each believe the pending work is theirs and publish it twice. An advisory `flock` on a
//! file beside the database is released by the kernel when its owner exits in any way
//! (SIGKILL included), so a dead owner never blocks the next start and no stale-pid
//! cleanup is needed. The lock file is never deleted: unlinking it while another process
//! waits on it would let two processes lock two different inodes of the same name.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use fs4::{FileExt, TryLockError};

/// Another live process owns the state file.
#[derive(Debug)]
pub struct StateLocked {
    pub state: PathBuf,
    /// The owner's pid and command as it wrote them; `None` if it had not written them yet.
    pub owner: Option<(u32, String)>,
}

impl std::fmt::Display for StateLocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "state {} is locked by ", self.state.display())?;
        match &self.owner {
            Some((pid, command)) => write!(f, "pid {pid} (another {command})")?,
            None => write!(f, "another process (pid not yet written)")?,
        }
        // One line, so that it reads whole in a journal or a cron mail.
        write!(
            f,
            "; only one run or backfill may use a state file at a time: to backfill while \
             the daemon runs, give it another state file (NEWSRIVER_STATE__PATH=other.sqlite, \
             or [state] path in a --config file)"
        )
    }
}

impl std::error::Error for StateLocked {}

/// Held while the process owns the state file; dropping it (or dying) releases the lock.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// The lock file of the state database at `state`: the same name with `.lock` appended.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock of `state` for `command` (e.g. "newsriver run"), or fails with
/// [`StateLocked`] when a live process holds it. Call before anything opens the database.
pub fn lock_state(state: &Path, command: &str) -> Result<StateLock> {
    if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating state directory {}", dir.display()))?;
    }
    let path = lock_path(state);
    // No truncate on open: the file may belong to a live owner whose pid we must read.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening lock file {}", path.display()))?;
    // Named through the trait: std has an inherent `File::try_lock` only since Rust 1.89.
    match FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(StateLocked {
                state: state.to_path_buf(),
                owner: read_owner(&mut file),
            }
            .into())
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    let record = format!("{}\n{command}\n", std::process::id());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(record.as_bytes()))
        .and_then(|()| file.flush())
        .with_context(|| format!("writing owner to lock file {}", path.display()))?;
    Ok(StateLock { _file: file })
}

/// The owner's pid and command. The owner writes them just after locking, so a start that
/// races it finds the file empty for a moment: wait briefly for them.
fn read_owner(file: &mut File) -> Option<(u32, String)> {
    for _ in 0..20 {
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok() && file.read_to_string(&mut text).is_ok() {
            let mut lines = text.lines();
            let pid = lines.next().and_then(|l| l.trim().parse::<u32>().ok());
            let command = lines.next().map(str::trim).filter(|c| !c.is_empty());
            if let (Some(pid), Some(command)) = (pid, command) {
                return Some((pid, command.to_string()));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_the_owner_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("sub/state.sqlite");
        let first = lock_state(&state, "newsriver run").expect("first lock");
        assert!(dir.path().join("sub/state.sqlite.lock").exists());
        assert!(!state.exists(), "locking must not create the database");
        let err = lock_state(&state, "newsriver backfill").expect_err("second lock");
        let locked = err.downcast_ref::<StateLocked>().expect("StateLocked");
        assert_eq!(
            locked.owner,
            Some((std::process::id(), "newsriver run".to_string()))
        );
        let msg = locked.to_string();
        assert!(
            msg.contains("locked by pid") && !msg.contains('\n'),
            "{msg}"
        );
        drop(first);
        lock_state(&state, "newsriver backfill").expect("lock after release");
    }
}
