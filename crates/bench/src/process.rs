//! What the daemon benchmarks share: the `newsriver` binary beside the bench binary, a
//! local HTTP server, and a running process's CPU time and memory from /proc.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

/// The `newsriver` binary built beside the running bench binary.
pub fn newsriver_binary() -> Result<PathBuf> {
    let bin = std::env::current_exe()?.with_file_name("newsriver");
    if !bin.exists() {
        bail!(
            "{} not found: cargo build --release -p newsriver first",
            bin.display()
        );
    }
    Ok(bin)
}

/// A server on a free loopback port, and its base URL.
pub fn local_server() -> Result<(Arc<tiny_http::Server>, String)> {
    let server =
        Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| anyhow::anyhow!("{e}"))?);
    let port = server.server_addr().to_ip().context("ip")?.port();
    Ok((server, format!("http://127.0.0.1:{port}")))
}

/// A `kB` field (`VmRSS`, `VmHWM`, ...) of `/proc/<pid>/status`; `pid` may be `"self"`.
pub fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| {
            l.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with(':'))
        })?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of a process, in seconds (at 100 clock ticks a second).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
