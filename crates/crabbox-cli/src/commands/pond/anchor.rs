//! The mesh anchor: a hidden re-execution of `crabbox` that leads its own process
//! group, runs one member's ssh inside it, and kills the whole group when the
//! parent's pipe on its stdin closes — so a `pond connect` that dies, even by
//! SIGKILL, never leaves tunnels (or ProxyCommand helpers) behind.

use std::io::Read;
use std::process::{Command, Stdio};

/// The hidden first argument; with the environment marker below it selects the anchor.
pub const ANCHOR_ARG: &str = "--crabbox-internal-pond-mesh-anchor";
/// Both must be present, so a stray argument never turns a CLI into an anchor.
pub const ANCHOR_ENV: &str = "CRABBOX_INTERNAL_POND_MESH_ANCHOR";

fn kill_own_group() -> ! {
    crabbox_core::process::kill_group(std::process::id() as i32);
    std::process::exit(137)
}

/// Runs the anchor when this process was started as one; `None` otherwise.
/// Exit codes: ssh's own code, 128+signal when ssh was signalled, 126 when the
/// anchor cannot lead its group or start ssh.
pub fn anchor_main() -> Option<i32> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new(ANCHOR_ARG))
        || std::env::var_os(ANCHOR_ENV).as_deref() != Some(std::ffi::OsStr::new("1"))
    {
        return None;
    }
    if rustix::process::setsid().is_err() || rustix::process::getpgrp() != rustix::process::getpid()
    {
        return Some(126);
    }
    let Some(program) = args.next() else {
        return Some(126);
    };
    let mut child = match Command::new(program)
        .args(args)
        .env_remove(ANCHOR_ENV)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!("pond mesh anchor: cannot start ssh: {error}");
            return Some(126);
        }
    };
    std::thread::spawn(|| {
        // The parent never writes; EOF means it closed the pipe or died.
        let mut buffer = [0u8; 64];
        while matches!(std::io::stdin().read(&mut buffer), Ok(read) if read > 0) {}
        kill_own_group();
    });
    let status = match child.wait() {
        Ok(status) => status,
        Err(_) => kill_own_group(),
    };
    use std::os::unix::process::ExitStatusExt;
    Some(
        status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(9)),
    )
}
