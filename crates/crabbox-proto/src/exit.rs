//! The documented process exit codes (reference cli-core §2).

/// Exit codes every `crabbox` command uses. A remote command's own exit code is
/// passed through verbatim and is not represented here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitCode {
    Success,
    /// Generic failure, `doctor` found problems.
    Failure,
    /// Usage, flag or config validation, claim conflicts, unsupported features.
    Usage,
    /// Missing or invalid provider credentials or prerequisites (tools, packages).
    Provider,
    /// Identity conflicts and lookups that matched nothing.
    Identity,
    /// Readiness and timeouts: SSH never ready, `status --wait`.
    Readiness,
    /// Sync failures.
    Sync,
    /// Remote SSH operations other than the user's command.
    Remote,
    /// The command was interrupted by SIGINT.
    Interrupted,
    /// The command was terminated by SIGTERM.
    Terminated,
}

impl ExitCode {
    pub const fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::Provider => 3,
            ExitCode::Identity => 4,
            ExitCode::Readiness => 5,
            ExitCode::Sync => 6,
            ExitCode::Remote => 7,
            ExitCode::Interrupted => 130,
            ExitCode::Terminated => 143,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn codes_match_the_reference_table() {
        let table = [
            (ExitCode::Success, 0),
            (ExitCode::Failure, 1),
            (ExitCode::Usage, 2),
            (ExitCode::Provider, 3),
            (ExitCode::Identity, 4),
            (ExitCode::Readiness, 5),
            (ExitCode::Sync, 6),
            (ExitCode::Remote, 7),
            (ExitCode::Interrupted, 130),
            (ExitCode::Terminated, 143),
        ];
        for (code, number) in table {
            assert_eq!(code.code(), number, "{code:?}");
        }
    }
}
