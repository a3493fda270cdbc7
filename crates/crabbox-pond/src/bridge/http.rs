//! The HTTP client the tailnet and bridge planes share: rustls, bounded
//! timeouts, no redirects (a vendor redirect could carry our credential to
//! another origin), and error text with secrets removed.

use std::sync::OnceLock;
use std::time::Duration;

use super::BridgeError;

const USER_AGENT: &str = concat!("crabbox/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most bytes of an error body quoted back to the user.
const ERROR_SNIPPET: usize = 300;

/// A client whose every request gives up after `timeout`.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    // rustls needs one process-wide crypto provider; another crate may have
    // installed it already, which is fine.
    static CRYPTO: OnceLock<()> = OnceLock::new();
    CRYPTO.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| format!("cannot build an HTTP client: {error}"))
}

/// Trims `base` and its trailing `/`, and checks it is an absolute http(s) URL
/// without credentials, query or fragment.
pub(crate) fn base_url(base: &str) -> Result<String, String> {
    let trimmed = base.trim().trim_end_matches('/').to_string();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| format!("{trimmed:?} must start with https:// or http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || trimmed.contains(['?', '#', ' ']) {
        return Err(format!("{trimmed:?} must be a plain URL with a host"));
    }
    Ok(trimmed)
}

/// Percent-encodes one path segment.
pub(crate) fn segment(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A short, single-line form of an error body with every secret replaced.
pub(crate) fn snippet(body: &str, secrets: &[&str]) -> String {
    let mut text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    if text.len() > ERROR_SNIPPET {
        let mut cut = ERROR_SNIPPET;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// A transport error without the request URL (which may name private hosts)
/// and without secrets.
pub(crate) fn transport(error: &reqwest::Error, secrets: &[&str]) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let source = std::error::Error::source(error)
        .map(|source| snippet(&source.to_string(), secrets))
        .unwrap_or_default();
    if source.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {source}")
    }
}

/// A vendor answer read in full (bodies of the APIs we call are small).
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The non-2xx answer as an error, with `secret` removed from the body.
    pub fn into_error(
        self,
        provider: &'static str,
        action: &'static str,
        secret: &str,
    ) -> BridgeError {
        let body = snippet(&self.body, &[secret]);
        let detail = if body.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {body}", self.status)
        };
        BridgeError::Api {
            provider,
            action,
            status: self.status,
            detail,
        }
    }
}

/// Sends `request` and reads the body; transport failures become
/// [`BridgeError::Transport`] without the URL or `secret`.
pub(crate) async fn send(
    provider: &'static str,
    action: &'static str,
    request: reqwest::RequestBuilder,
    secret: &str,
) -> Result<Answer, BridgeError> {
    let failed = |error: reqwest::Error| BridgeError::Transport {
        provider,
        action,
        detail: transport(&error, &[secret]),
    };
    let response = request.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(failed)?;
    Ok(Answer { status, body })
}

/// Decodes a JSON body or reports it as a bad answer.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    provider: &'static str,
    action: &'static str,
    answer: &Answer,
) -> Result<T, BridgeError> {
    serde_json::from_str(&answer.body).map_err(|error| BridgeError::Transport {
        provider,
        action,
        detail: format!("unexpected answer: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_redact_and_shorten() {
        assert_eq!(
            snippet("bad  token\nabc123", &["abc123"]),
            "bad token [redacted]"
        );
        assert!(snippet(&"x".repeat(400), &[]).ends_with('…'));
        assert_eq!(segment("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn base_urls() {
        assert_eq!(base_url(" https://api.x.io/ ").unwrap(), "https://api.x.io");
        for bad in [
            "api.x.io",
            "https://",
            "https://u:p@x.io",
            "https://x.io?a=1",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }
}
