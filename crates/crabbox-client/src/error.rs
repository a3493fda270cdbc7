//! Client failures and the class of each, which the CLI maps to its exit codes.

use crabbox_proto::ExitCode;

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
    Transport { url: String, message: String },
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

/// What kind of problem a failure is, independent of the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 401/403: missing, wrong or insufficient credentials.
    Auth,
    /// 404: the resource does not exist or is not visible to the caller.
    NotFound,
    /// 409: an identity or state conflict.
    Conflict,
    /// 429: a cost or rate limit.
    Limit,
    /// 424: the coordinator lacks the provider's credentials.
    ProviderNotConfigured,
    /// 400-class input the coordinator rejected, or a bad URL.
    Invalid,
    /// 5xx, or no answer at all.
    Unavailable,
    /// Anything else, including an answer we could not decode.
    Failed,
}

impl ClientError {
    pub(crate) fn transport(url: &str, error: &reqwest::Error) -> ClientError {
        let message = if error.is_timeout() {
            "the request timed out".to_string()
        } else {
            // The innermost cause says the most ("Connection refused").
            let mut cause: &dyn std::error::Error = error;
            while let Some(source) = cause.source() {
                cause = source;
            }
            cause.to_string()
        };
        ClientError::Transport {
            url: url.to_string(),
            message,
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

    pub fn class(&self) -> ErrorClass {
        match self {
            ClientError::Api { status, .. } => match status {
                401 | 403 => ErrorClass::Auth,
                404 => ErrorClass::NotFound,
                409 => ErrorClass::Conflict,
                429 => ErrorClass::Limit,
                424 => ErrorClass::ProviderNotConfigured,
                400..=499 => ErrorClass::Invalid,
                500..=599 => ErrorClass::Unavailable,
                _ => ErrorClass::Failed,
            },
            ClientError::Transport { .. } => ErrorClass::Unavailable,
            ClientError::Decode { .. } => ErrorClass::Failed,
            ClientError::InvalidUrl { .. } => ErrorClass::Invalid,
        }
    }

    /// The documented CLI exit code for this failure (docs/exit-codes.md).
    pub fn exit_code(&self) -> ExitCode {
        match self.class() {
            ErrorClass::Auth | ErrorClass::Limit | ErrorClass::ProviderNotConfigured => {
                ExitCode::Provider
            }
            ErrorClass::NotFound | ErrorClass::Conflict => ExitCode::Identity,
            ErrorClass::Invalid => ExitCode::Usage,
            ErrorClass::Unavailable | ErrorClass::Failed => ExitCode::Failure,
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
            ErrorClass::Conflict | ErrorClass::Invalid | ErrorClass::Failed => return None,
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
    fn statuses_map_to_documented_exit_codes() {
        let table = [
            (401, ErrorClass::Auth, 3),
            (403, ErrorClass::Auth, 3),
            (404, ErrorClass::NotFound, 4),
            (409, ErrorClass::Conflict, 4),
            (429, ErrorClass::Limit, 3),
            (424, ErrorClass::ProviderNotConfigured, 3),
            (400, ErrorClass::Invalid, 2),
            (413, ErrorClass::Invalid, 2),
            (500, ErrorClass::Unavailable, 1),
            (503, ErrorClass::Unavailable, 1),
        ];
        for (status, class, exit) in table {
            let error = api(status, "x");
            assert_eq!(error.class(), class, "{status}");
            assert_eq!(error.exit_code().code(), exit, "{status}");
        }
        let transport = ClientError::Transport {
            url: "http://127.0.0.1:1".into(),
            message: "Connection refused".into(),
        };
        assert_eq!(transport.class(), ErrorClass::Unavailable);
        assert_eq!(transport.exit_code().code(), 1);
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
