//! Time is injected. Synthesis takes `now` as an argument; the edges get it from a [`Clock`].

use crate::Instant;
use std::sync::{Arc, Mutex};

/// Where the edges (routes, sweeper, simulator) get "now" from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// A clock the tests move by hand. Clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<Instant>>);

impl ManualClock {
    pub fn new(at: Instant) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: Instant) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
