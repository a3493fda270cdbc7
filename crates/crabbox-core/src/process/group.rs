//! Process groups and teardown: children that lead a group of their own, and
//! SIGKILL (uncatchable, so nothing lingers) to a group or a set of pids until
//! they are gone.

use std::collections::BTreeSet;
use std::time::Duration;

use rustix::process::{kill_process, kill_process_group, Pid, Signal};

use super::table::has_exited;
use super::wait::{wait_for_exit, wait_for_exit_async};

/// Rounds of "find, kill, wait": a process may fork while it is being killed.
const KILL_ROUNDS: usize = 3;
/// How long one round waits for the killed processes to go.
const KILL_GRACE: Duration = Duration::from_millis(500);

/// Makes the child lead a new process group, so [`kill_group`] later reaches
/// everything it starts and a terminal's Ctrl-C does not.
pub fn in_own_group(command: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    command.process_group(0)
}

/// SIGKILL to the process group led by `leader`; whether it was sent.
pub fn kill_group(leader: i32) -> bool {
    Pid::from_raw(leader).is_some_and(|pid| kill_process_group(pid, Signal::KILL).is_ok())
}

/// SIGKILL to one process; whether it was sent.
pub fn kill(pid: i32) -> bool {
    Pid::from_raw(pid).is_some_and(|pid| kill_process(pid, Signal::KILL).is_ok())
}

/// Kills whatever `find` returns until it returns nothing (a few rounds at most),
/// waiting briefly after each round for the processes to exit.
pub fn kill_all_until_gone(mut find: impl FnMut() -> BTreeSet<i32>) {
    for _ in 0..KILL_ROUNDS {
        let members = find();
        if members.is_empty() {
            return;
        }
        members.iter().for_each(|pid| {
            kill(*pid);
        });
        wait_for_exit(&members, KILL_GRACE);
    }
}

/// [`kill_all_until_gone`] for async code: waits on the runtime's timer.
pub async fn kill_all_until_gone_async(mut find: impl FnMut() -> BTreeSet<i32>) {
    for _ in 0..KILL_ROUNDS {
        let members = find();
        if members.is_empty() {
            return;
        }
        members.iter().for_each(|pid| {
            kill(*pid);
        });
        wait_for_exit_async(&members, KILL_GRACE).await;
    }
}

/// True when every pid of `pids` has exited (or is a zombie).
pub(super) fn all_exited(pids: &BTreeSet<i32>) -> bool {
    pids.iter().all(|pid| has_exited(*pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn killing_a_group_reaches_the_grandchildren() {
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "sleep 31 & sleep 32 & wait"]);
        let mut child = in_own_group(&mut command).spawn().unwrap();
        let leader = child.id() as i32;
        let started = super::super::wait_until(Duration::from_secs(5), || {
            super::super::snapshot()
                .values()
                .filter(|info| info.parent == leader && info.command_line.starts_with("sleep 3"))
                .count()
                == 2
        });
        assert!(started);
        let sleepers: BTreeSet<i32> = super::super::snapshot()
            .into_iter()
            .filter(|(_, info)| info.parent == leader)
            .map(|(pid, _)| pid)
            .collect();
        assert!(kill_group(leader));
        child.wait().unwrap();
        assert!(wait_for_exit(&sleepers, Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn killing_until_gone_leaves_nothing() {
        let mut child = std::process::Command::new("sleep")
            .arg("33")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let reaper = std::thread::spawn(move || child.wait());
        kill_all_until_gone_async(|| {
            BTreeSet::from([pid])
                .into_iter()
                .filter(|pid| !has_exited(*pid))
                .collect()
        })
        .await;
        assert!(!reaper.join().unwrap().unwrap().success());
    }
}
