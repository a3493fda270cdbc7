//! How a command ended, and the one mapping from failure classes to the
//! documented exit codes (docs/exit-codes.md).

use crabbox_proto::{ErrorClass, ExitCode, Signal};

/// What a command that did not fail with an error reports to `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// A failure without an error message: the command already said what went
    /// wrong (`doctor` found problems, the run was interrupted).
    Failure(ErrorClass),
    /// The remote command's own exit code, passed through verbatim.
    Remote(i32),
}

impl ExitStatus {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure(class) => exit_code(class).code(),
            ExitStatus::Remote(code) => code,
        }
    }
}

/// The exit code of each failure class. Caps, refused credentials and a
/// coordinator without the provider's credentials are 3 like a missing
/// credential: retrying will not help until someone changes the account or
/// the environment. An interruption follows the shell convention, 128 plus
/// the signal number, so scripts can tell it from a failing command.
pub fn exit_code(class: ErrorClass) -> ExitCode {
    match class {
        ErrorClass::Usage => ExitCode::Usage,
        ErrorClass::Auth
        | ErrorClass::Prerequisite
        | ErrorClass::Limit
        | ErrorClass::ProviderNotConfigured => ExitCode::Provider,
        ErrorClass::NotFound | ErrorClass::Conflict => ExitCode::Identity,
        ErrorClass::NotReady => ExitCode::Readiness,
        ErrorClass::Sync => ExitCode::Sync,
        ErrorClass::Remote => ExitCode::Remote,
        ErrorClass::Interrupted(Signal::Interrupt) => ExitCode::Interrupted,
        ErrorClass::Interrupted(Signal::Terminate) => ExitCode::Terminated,
        ErrorClass::Unavailable | ErrorClass::Failed => ExitCode::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_documented_code() {
        let table = [
            (ErrorClass::Usage, 2),
            (ErrorClass::Auth, 3),
            (ErrorClass::Prerequisite, 3),
            (ErrorClass::Limit, 3),
            (ErrorClass::ProviderNotConfigured, 3),
            (ErrorClass::NotFound, 4),
            (ErrorClass::Conflict, 4),
            (ErrorClass::NotReady, 5),
            (ErrorClass::Sync, 6),
            (ErrorClass::Remote, 7),
            (ErrorClass::Unavailable, 1),
            (ErrorClass::Failed, 1),
            (ErrorClass::Interrupted(Signal::Interrupt), 130),
            (ErrorClass::Interrupted(Signal::Terminate), 143),
        ];
        for (class, code) in table {
            assert_eq!(exit_code(class).code(), code, "{class:?}");
        }
    }

    #[test]
    fn statuses_become_process_codes() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failure(ErrorClass::Failed).code(), 1);
        assert_eq!(ExitStatus::Failure(ErrorClass::Usage).code(), 2);
        assert_eq!(
            ExitStatus::Failure(ErrorClass::Interrupted(Signal::Terminate)).code(),
            143
        );
        assert_eq!(ExitStatus::Remote(42).code(), 42);
    }
}
