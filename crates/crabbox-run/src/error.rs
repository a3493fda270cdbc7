//! CLI failures and the one place that maps every failure to an exit code.

use crabbox_proto::ExitCode;

/// A failure with its exit code and an optional `hint:` line.
#[derive(Debug)]
pub struct CliError {
    pub code: ExitCode,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(code: ExitCode, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ExitCode::Usage, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub type CliResult<T> = Result<T, CliError>;

impl From<crabbox_config::ConfigError> for CliError {
    fn from(error: crabbox_config::ConfigError) -> CliError {
        let hint = match &error {
            crabbox_config::ConfigError::Parse { .. } => {
                Some("fix the YAML syntax at that line, or move the file aside")
            }
            crabbox_config::ConfigError::Invalid { .. } => {
                Some("see `crabbox config show` for the effective values")
            }
            _ => None,
        };
        let mut cli = CliError::usage(error.to_string());
        cli.hint = hint.map(str::to_string);
        cli
    }
}

impl From<crabbox_core::ClaimError> for CliError {
    fn from(error: crabbox_core::ClaimError) -> CliError {
        if error.is_conflict() {
            CliError::usage(error.to_string())
                .with_hint("pass --reclaim to move the lease to this checkout")
        } else {
            CliError::new(ExitCode::Failure, error.to_string())
        }
    }
}

impl From<crabbox_client::ClientError> for CliError {
    fn from(error: crabbox_client::ClientError) -> CliError {
        CliError {
            code: error.exit_code(),
            hint: error.hint(),
            message: error.to_string(),
        }
    }
}

impl From<crabbox_providers::ProviderError> for CliError {
    fn from(error: crabbox_providers::ProviderError) -> CliError {
        use crabbox_providers::ProviderError;
        // A coordinator failure keeps its own class (auth, cap, conflict, …).
        if let Some(client) = crate::brokered::client_error(&error) {
            return CliError {
                code: client.exit_code(),
                hint: client.hint(),
                message: error.to_string(),
            };
        }
        let code = match &error {
            ProviderError::NotFound { .. }
            | ProviderError::Expired { .. }
            | ProviderError::Conflict { .. } => ExitCode::Identity,
            ProviderError::NotReady { .. } => ExitCode::Readiness,
            ProviderError::Prerequisite { .. } => ExitCode::Provider,
            ProviderError::Invalid { .. } => ExitCode::Usage,
            ProviderError::Failed { .. } | ProviderError::Io { .. } => ExitCode::Failure,
        };
        CliError {
            code,
            hint: error.hint(),
            message: error.to_string(),
        }
    }
}

impl From<crabbox_providers::UnknownProvider> for CliError {
    fn from(error: crabbox_providers::UnknownProvider) -> CliError {
        CliError::usage(error.to_string()).with_hint(error.hint())
    }
}

impl From<crabbox_ssh::MissingTool> for CliError {
    fn from(missing: crabbox_ssh::MissingTool) -> CliError {
        CliError::new(ExitCode::Provider, missing.to_string()).with_hint(missing.hint())
    }
}

impl From<crabbox_ssh::SshError> for CliError {
    fn from(error: crabbox_ssh::SshError) -> CliError {
        use crabbox_ssh::SshError;
        match error {
            SshError::MissingTool(missing) => missing.into(),
            SshError::NotReady { .. } => CliError::new(ExitCode::Readiness, error.to_string())
                .with_hint("check `crabbox doctor` and the lease with `crabbox status`"),
            other => CliError::new(ExitCode::Remote, other.to_string()),
        }
    }
}

impl From<crabbox_sync::SyncError> for CliError {
    fn from(error: crabbox_sync::SyncError) -> CliError {
        let hint = error.hint();
        let mut cli = CliError::new(ExitCode::Sync, format!("sync failed: {error}"));
        cli.hint = hint;
        cli
    }
}

impl From<crabbox_pond::PondError> for CliError {
    fn from(error: crabbox_pond::PondError) -> CliError {
        use crabbox_pond::PondError;
        let code = match &error {
            PondError::PortsExhausted { .. } => ExitCode::Remote,
            _ => ExitCode::Usage,
        };
        CliError::new(code, error.to_string()).with_hint(error.hint())
    }
}

impl From<crabbox_core::SlugError> for CliError {
    fn from(error: crabbox_core::SlugError) -> CliError {
        CliError::usage(error.to_string())
    }
}
