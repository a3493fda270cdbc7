//! Client failures and the class of each, which the CLI maps to its exit codes.

use crabbox_proto::ErrorClass;

/// Why a coordinator call failed. No variant ever carries the token.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The coordinator answered with a non-2xx status.
    #[error("{}", api_text(*status, code, message))]
    Api {
        status: u16,
        /// The body's `error` code, or the status text when the body had none.
        code: String,
        message: String,
    },
    /// The request never got an answer: refused, reset, timed out.
    #[error("cannot reach the coordinator at {url}: {message}")]
    Transport {
        url: String,
        message: String,
        /// The HTTP client's own error, for the layers in between.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// A 2xx answer whose body was not what the route returns.
    #[error("unexpected answer from the coordinator to {context}: {message}")]
    Decode { context: String, message: String },
    #[error("invalid coordinator URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

fn api_text(status: u16, code: &str, message: &str) -> String {
    if message.is_empty() {
        format!("coordinator answered {status} {code}")
    } else {
        format!("coordinator answered {status} {code}: {message}")
    }
}

impl ClientError {
    pub(crate) fn transport(url: &str, error: reqwest::Error) -> ClientError {
        let message = if error.is_timeout() {
            "the request timed out".to_string()
        } else {
            // The innermost cause says the most ("Connection refused").
            let mut cause: &dyn std::error::Error = &error;
            while let Some(source) = cause.source() {
                cause = source;
            }
            cause.to_string()
        };
        ClientError::Transport {
            url: url.to_string(),
            message,
            source: Some(error),
        }
    }

    /// The HTTP status, for `Api` errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API's error code (`lease_expired`, `cost_limit_exceeded`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// What kind of failure this is: by HTTP status for answers, `Unavailable`
    /// when there was no answer.
    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::Api { status, .. } => match status {
                401 | 403 => ErrorClass::Auth,
                404 => ErrorClass::NotFound,
                409 => ErrorClass::Conflict,
                429 => ErrorClass::Limit,
                424 => ErrorClass::ProviderNotConfigured,
                400..=499 => ErrorClass::Usage,
                500..=599 => ErrorClass::Unavailable,
                _ => ErrorClass::Failed,
            },
            ClientError::Transport { .. } => ErrorClass::Unavailable,
            ClientError::Decode { .. } => ErrorClass::Failed,
            ClientError::InvalidUrl { .. } => ErrorClass::Usage,
        }
    }

    /// What to do next, for the CLI's `hint:` line.
    pub fn hint(&self) -> Option<String> {
        Some(match self.class() {
            ErrorClass::Auth => "check the coordinator token: `crabbox login --url URL --token-stdin` \
                 or CRABBOX_COORDINATOR_TOKEN; `crabbox whoami` shows who you are"
                .into(),
            ErrorClass::NotFound => {
                "`crabbox list` shows your leases; `crabbox history` your runs".into()
            }
            ErrorClass::Limit => {
                "release leases you no longer need (`crabbox list`, `crabbox stop`) or ask an admin to raise the cap".into()
            }
            ErrorClass::ProviderNotConfigured => {
                "the coordinator lacks this provider's credentials; ask its operator, or pass --provider for a direct provider".into()
            }
            ErrorClass::Unavailable => {
                "check the coordinator URL (CRABBOX_COORDINATOR or broker.url) and that it is running".into()
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> ClientError {
        ClientError::Api {
            status,
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn statuses_map_to_classes() {
        let table = [
            (401, ErrorClass::Auth),
            (403, ErrorClass::Auth),
            (404, ErrorClass::NotFound),
            (409, ErrorClass::Conflict),
            (429, ErrorClass::Limit),
            (424, ErrorClass::ProviderNotConfigured),
            (400, ErrorClass::Usage),
            (413, ErrorClass::Usage),
            (500, ErrorClass::Unavailable),
            (503, ErrorClass::Unavailable),
        ];
        for (status, class) in table {
            assert_eq!(api(status, "x").class(), class, "{status}");
        }
        let transport = ClientError::Transport {
            url: "http://127.0.0.1:1".into(),
            message: "Connection refused".into(),
            source: None,
        };
        assert_eq!(transport.class(), ErrorClass::Unavailable);
        assert!(transport.hint().unwrap().contains("CRABBOX_COORDINATOR"));
    }

    #[test]
    fn messages_name_status_and_code() {
        assert_eq!(api(409, "lease_expired").code(), Some("lease_expired"));
        assert_eq!(
            api(401, "unauthorized").to_string(),
            "coordinator answered 401 unauthorized"
        );
    }
}
