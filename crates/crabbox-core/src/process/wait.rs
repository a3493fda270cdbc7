//! Waiting on processes and on conditions about them: a blocking form for
//! synchronous code and an async form that sleeps on the tokio timer instead of
//! blocking a runtime thread.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::group::all_exited;

/// How often a condition is checked again.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// Checks `condition` until it holds or `timeout` passes; whether it held.
pub fn wait_until(timeout: Duration, condition: impl FnMut() -> bool) -> bool {
    wait_until_every(timeout, POLL_EVERY, condition)
}

/// [`wait_until`] with its own interval, for conditions that are costly to
/// check (one that starts a process, say).
pub fn wait_until_every(
    timeout: Duration,
    interval: Duration,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(interval);
    }
}

/// [`wait_until`] for async code.
pub async fn wait_until_async(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Waits until every pid has exited (zombies count as exited); whether they did
/// within `timeout`.
pub fn wait_for_exit(pids: &BTreeSet<i32>, timeout: Duration) -> bool {
    wait_until(timeout, || all_exited(pids))
}

/// [`wait_for_exit`] for async code.
pub async fn wait_for_exit_async(pids: &BTreeSet<i32>, timeout: Duration) -> bool {
    wait_until_async(timeout, || all_exited(pids)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_that_never_holds_times_out() {
        let started = Instant::now();
        assert!(!wait_until(Duration::from_millis(50), || false));
        assert!(started.elapsed() >= Duration::from_millis(50));
        let mut calls = 0;
        assert!(wait_until(Duration::from_secs(5), || {
            calls += 1;
            calls == 3
        }));
    }

    #[tokio::test]
    async fn the_async_wait_sees_an_exit() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.1")
            .spawn()
            .unwrap();
        let pids = BTreeSet::from([child.id() as i32]);
        assert!(!wait_for_exit_async(&pids, Duration::from_millis(10)).await);
        assert!(wait_for_exit_async(&pids, Duration::from_secs(5)).await);
        child.wait().unwrap();
    }
}
