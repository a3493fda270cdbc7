//! Managed processes: who a recorded pid really is, the process table, process
//! groups, uncatchable teardown, and the waits (blocking and async) around them.

mod group;
mod mark;
mod table;
mod wait;

pub use group::{in_own_group, kill, kill_all_until_gone, kill_all_until_gone_async, kill_group};
pub use mark::{start_ticks, ProcessMark};
pub use table::{
    command_line, family_of, has_exited, is_alive_with, matching_processes, snapshot, ProcessInfo,
};
pub use wait::{
    wait_for_exit, wait_for_exit_async, wait_until, wait_until_async, wait_until_every,
};
