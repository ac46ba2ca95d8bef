//! The one polling loop behind every `wait_*` helper of the harness (queue, receivers,
//! Maildirs, logs, listeners): probe, return once done, panic once the time is up, sleep.

use std::thread;
use std::time::{Duration, Instant};

/// Calls `probe` every `every` until `done` holds for what it returned, and returns that.
/// When it still does not hold once `timeout` has passed since the first probe, panics
/// with `fail` of the last value.
#[track_caller]
pub fn until<T>(
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> T,
    done: impl Fn(&T) -> bool,
    fail: impl Fn(&T) -> String,
) -> T {
    let start = Instant::now();
    loop {
        let v = probe();
        if done(&v) {
            return v;
        }
        assert!(start.elapsed() < timeout, "{}", fail(&v));
        thread::sleep(every);
    }
}
