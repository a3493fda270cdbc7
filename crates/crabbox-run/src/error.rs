//! CLI failures: a failure class, a message, an optional `hint:` line and the
//! library error underneath; the class picks the exit code (see `exit.rs`).

use crabbox_proto::ErrorClass;

use crate::exit::exit_code;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure with its class and an optional `hint:` line.
#[derive(Debug)]
pub struct CliError {
    pub class: ErrorClass,
    pub message: String,
    pub hint: Option<String>,
    /// The library error this failure was made from, for `caused by:` lines.
    source: Option<Source>,
}

impl CliError {
    /// A failure of `class` described by `message`.
    pub fn of(class: ErrorClass, message: impl Into<String>) -> CliError {
        CliError {
            class,
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::of(ErrorClass::Usage, message)
    }

    /// A library failure of `class`; its text is the message and it stays the
    /// source of the cause chain.
    pub fn classified<E>(class: ErrorClass, error: E) -> CliError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        CliError {
            class,
            message: error.to_string(),
            hint: None,
            source: Some(Box::new(error)),
        }
    }

    /// The number the process exits with.
    pub fn code(&self) -> i32 {
        exit_code(self.class).code()
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CliError {
        self.hint = Some(hint.into());
        self
    }

    fn with_optional_hint(mut self, hint: Option<String>) -> CliError {
        self.hint = hint;
        self
    }

    /// The texts of the underlying causes worth a `caused by:` line each: a
    /// cause the message (or an earlier cause) already says is left out.
    pub fn causes(&self) -> Vec<String> {
        let mut causes: Vec<String> = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            let text = cause.to_string();
            let said = self.message.contains(&text)
                || causes.iter().any(|earlier| earlier.contains(&text));
            if !text.trim().is_empty() && !said {
                causes.push(text);
            }
            next = cause.source();
        }
        causes
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

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
        CliError::classified(ErrorClass::Usage, error).with_optional_hint(hint.map(str::to_string))
    }
}

impl From<crabbox_core::ClaimError> for CliError {
    fn from(error: crabbox_core::ClaimError) -> CliError {
        // A claim held by another checkout is fixed by a flag, hence a usage error.
        if error.is_conflict() {
            CliError::classified(ErrorClass::Usage, error)
                .with_hint("pass --reclaim to move the lease to this checkout")
        } else {
            CliError::classified(ErrorClass::Failed, error)
        }
    }
}

impl From<crabbox_client::ClientError> for CliError {
    fn from(error: crabbox_client::ClientError) -> CliError {
        let hint = error.hint();
        CliError::classified(error.class(), error).with_optional_hint(hint)
    }
}

impl From<crabbox_providers::ProviderError> for CliError {
    fn from(error: crabbox_providers::ProviderError) -> CliError {
        // A coordinator failure keeps its own class (auth, cap, conflict, …).
        let (class, hint) = match crate::brokered::client_error(&error) {
            Some(client) => (client.class(), client.hint()),
            None => (error.class(), error.hint()),
        };
        CliError::classified(class, error).with_optional_hint(hint)
    }
}

impl From<crabbox_providers::UnknownProvider> for CliError {
    fn from(error: crabbox_providers::UnknownProvider) -> CliError {
        let hint = error.hint();
        CliError::classified(ErrorClass::Usage, error).with_hint(hint)
    }
}

impl From<crabbox_ssh::MissingTool> for CliError {
    fn from(missing: crabbox_ssh::MissingTool) -> CliError {
        let hint = missing.hint();
        CliError::classified(missing.class(), missing).with_hint(hint)
    }
}

impl From<crabbox_ssh::SshError> for CliError {
    fn from(error: crabbox_ssh::SshError) -> CliError {
        use crabbox_ssh::SshError;
        match error {
            SshError::MissingTool(missing) => missing.into(),
            SshError::NotReady { .. } => CliError::classified(error.class(), error)
                .with_hint("check `crabbox doctor` and the lease with `crabbox status`"),
            other => CliError::classified(other.class(), other),
        }
    }
}

impl From<crabbox_sync::SyncError> for CliError {
    fn from(error: crabbox_sync::SyncError) -> CliError {
        let hint = error.hint();
        let message = format!("sync failed: {error}");
        let mut cli = CliError::classified(error.class(), error).with_optional_hint(hint);
        cli.message = message;
        cli
    }
}

impl From<crabbox_pond::PondError> for CliError {
    fn from(error: crabbox_pond::PondError) -> CliError {
        let hint = error.hint();
        CliError::classified(error.class(), error).with_hint(hint)
    }
}

impl From<crabbox_core::SlugError> for CliError {
    fn from(error: crabbox_core::SlugError) -> CliError {
        CliError::classified(ErrorClass::Usage, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crabbox_client::ClientError;

    #[test]
    fn coordinator_answers_map_to_documented_exit_codes() {
        let table = [
            (401, 3),
            (403, 3),
            (404, 4),
            (409, 4),
            (429, 3),
            (424, 3),
            (400, 2),
            (413, 2),
            (500, 1),
            (503, 1),
        ];
        for (status, exit) in table {
            let error = CliError::from(ClientError::Api {
                status,
                code: "x".into(),
                message: String::new(),
            });
            assert_eq!(error.code(), exit, "{status}");
        }
        let transport = CliError::from(ClientError::Transport {
            url: "http://127.0.0.1:1".into(),
            message: "Connection refused".into(),
            source: None,
        });
        assert_eq!(transport.code(), 1);
        assert!(transport.hint.unwrap().contains("CRABBOX_COORDINATOR"));
    }

    /// One link of a cause chain.
    #[derive(Debug)]
    struct Layer {
        text: &'static str,
        below: Option<Box<Layer>>,
    }

    impl std::fmt::Display for Layer {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str(self.text)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.below
                .as_deref()
                .map(|below| below as &(dyn std::error::Error + 'static))
        }
    }

    fn chain(texts: &[&'static str]) -> Option<Box<Layer>> {
        texts
            .iter()
            .rev()
            .fold(None, |below, text| Some(Box::new(Layer { text, below })))
    }

    #[test]
    fn causes_skip_what_the_message_already_says() {
        let error = *chain(&[
            "cannot open: connection refused",
            "error sending request",
            "connection refused",
            "error sending request",
        ])
        .unwrap();
        let cli = CliError::classified(ErrorClass::Unavailable, error);
        assert_eq!(cli.message, "cannot open: connection refused");
        assert_eq!(cli.causes(), vec!["error sending request".to_string()]);
        assert!(CliError::usage("plain").causes().is_empty());
    }
}
