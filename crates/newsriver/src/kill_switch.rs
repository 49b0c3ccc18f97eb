//! One kill switch shared by every stage of a topology: the first stage that fails pulls
//! it, every other stage stops at its next step, and the topology returns that stage's
//! error. (Quickwit's `KillSwitch` for its indexing actors is the model.)
//!
//! It is not the graceful shutdown: a signal lets the stages drain in order and exit 0;
//! the kill switch stops them without draining, because the work left in the pipeline
//! would have nowhere to go (a dead sink) and stays pending in the state store instead.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub struct KillSwitch {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pulled: CancellationToken,
    /// The first failure; later ones are usually its consequences ("channel closed").
    reason: Mutex<Option<anyhow::Error>>,
}

impl KillSwitch {
    pub fn new() -> KillSwitch {
        KillSwitch::default()
    }

    /// Stops every stage; `reason` is what the topology reports unless another stage
    /// failed first.
    pub fn kill(&self, reason: anyhow::Error) {
        let mut first = self.inner.reason.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            tracing::error!(error = %format!("{reason:#}"), "stopping the pipeline");
            *first = Some(reason);
        }
        self.inner.pulled.cancel();
    }

    pub fn is_killed(&self) -> bool {
        self.inner.pulled.is_cancelled()
    }

    /// Resolves once a stage pulled the switch.
    pub async fn killed(&self) {
        self.inner.pulled.cancelled().await
    }

    /// The first failure, taken once (for the topology to return).
    pub fn take_reason(&self) -> Option<anyhow::Error> {
        self.inner
            .reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_is_kept_and_every_holder_sees_it() {
        let a = KillSwitch::new();
        let b = a.clone();
        assert!(!b.is_killed());
        a.kill(anyhow::anyhow!("sink refused the batch"));
        b.kill(anyhow::anyhow!("publish channel closed"));
        b.killed().await;
        assert!(a.is_killed());
        let reason = a.take_reason().expect("a reason");
        assert_eq!(reason.to_string(), "sink refused the batch");
        assert!(b.take_reason().is_none());
    }
}
