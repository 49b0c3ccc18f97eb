//! The stages. Each is a struct built from its own config section and the few handles it
//! needs; its decisions are plain synchronous methods, unit-tested in its file, and its
//! `run` is the channel loop around them.
//!
//! Every loop ends when its input closes (graceful shutdown: a cascade of dropped senders)
//! or when the kill switch is pulled (a stage failed); a send to a stage that stopped is
//! an error, never ignored.

pub mod dedup;
pub mod fetch;
pub mod publish;
pub mod strip;

use std::future::Future;

use anyhow::{anyhow, Result};
use tokio::sync::mpsc;

use crate::kill_switch::KillSwitch;
use crate::messages::Done;

/// The next input, or `None` when the input is closed or the kill switch was pulled.
async fn next<T>(kill: &KillSwitch, input: impl Future<Output = Option<T>>) -> Option<T> {
    tokio::select! {
        biased;
        _ = kill.killed() => None,
        item = input => item,
    }
}

/// Hands `item` to the next stage; that stage having stopped is an error (it only stops
/// early when it failed, and then the kill switch already holds the first reason).
async fn send<T>(out: &mpsc::Sender<T>, item: T, to: &str) -> Result<()> {
    out.send(item)
        .await
        .map_err(|_| anyhow!("the {to} stage stopped"))
}

/// Passes a stage's outcome on: what it produced to the next stage (`to`), a job that
/// ended here (failed, no article) to completion.
async fn forward<T>(
    outcome: std::result::Result<T, Done>,
    out: &mpsc::Sender<T>,
    to: &str,
    done: &mpsc::Sender<Done>,
) -> Result<()> {
    match outcome {
        Ok(item) => send(out, item, to).await,
        Err(ended) => send(done, ended, "completion").await,
    }
}

fn receiver_stream<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
