//! The failure classes libraries report instead of exit codes; the CLI turns
//! each class into a documented exit code in one place.

/// What kind of problem a failure is, independent of the operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Input, flags or configuration that cannot be used; unsupported features.
    Usage,
    /// Credentials that are missing, wrong or refused (401/403 from an API).
    Auth,
    /// A local prerequisite is missing: a tool, a package, a provider setting.
    Prerequisite,
    /// A cost or rate cap was reached (429).
    Limit,
    /// The coordinator lacks the provider's credentials (424).
    ProviderNotConfigured,
    /// What was asked for does not exist or is not visible to the caller.
    NotFound,
    /// An identity or state conflict: not ours, already taken, expired.
    Conflict,
    /// Something never became ready in time.
    NotReady,
    /// Getting the checkout onto the runner failed.
    Sync,
    /// A remote operation other than the user's command failed.
    Remote,
    /// A service did not answer, or answered with a server error.
    Unavailable,
    /// The user stopped the command with a signal.
    Interrupted(Signal),
    /// Anything else.
    Failed,
}

/// The signal that interrupted a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
}
