//! The HTTP plumbing every route shares: base URL, bearer token, identity headers,
//! timeouts, and turning responses into typed values or `ClientError`s.

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use crabbox_core::Secret;
use crabbox_proto::wire::ErrorBody;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

use crate::error::ClientError;

/// How long establishing a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take from start to the last body byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `POST /v1/runs/{id}/finish` carries up to 8 MiB of log and gets longer.
pub const FINISH_TIMEOUT: Duration = Duration::from_secs(120);

const USER_AGENT: &str = concat!("crabbox/", env!("CARGO_PKG_VERSION"));

/// A coordinator endpoint plus the credentials sent with every request. Cloning
/// shares the connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    token: Option<Secret>,
    owner: Option<String>,
    org: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("owner", &self.owner)
            .field("org", &self.org)
            .finish()
    }
}

/// rustls needs one process-wide crypto provider before any TLS config is built.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Someone else (another crate in the process) may have installed one first.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Checks that `url` is an absolute http(s) URL with a host and nothing that
/// could carry a credential or confuse path joining.
fn validate_base_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("the URL must start with http:// or https://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err("the URL has no host".into());
    }
    if authority.contains('@') {
        return Err("credentials do not belong in the URL; use a token".into());
    }
    if url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
        return Err("the URL must not contain a query, a fragment or spaces".into());
    }
    Ok(())
}

/// Percent-encodes one path segment (an ID or a slug typed by a user).
pub(crate) fn segment(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

impl Client {
    /// A client for the coordinator at `base_url` (trailing `/` trimmed). An empty
    /// token counts as none.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Client, ClientError> {
        let trimmed = base_url.trim().trim_end_matches('/').to_string();
        validate_base_url(&trimmed).map_err(|reason| ClientError::InvalidUrl {
            url: crabbox_core::secret::without_credentials(&trimmed),
            reason,
        })?;
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|error| ClientError::InvalidUrl {
                url: trimmed.clone(),
                reason: format!("cannot build an HTTP client: {error}"),
            })?;
        Ok(Client {
            http,
            base_url: trimmed,
            token: Secret::from_setting(token.as_deref()),
            owner: None,
            org: None,
        })
    }

    /// Sends `X-Crabbox-Owner` / `X-Crabbox-Org`; coordinators honour them only
    /// for admin tokens.
    pub fn with_identity(mut self, owner: Option<String>, org: Option<String>) -> Client {
        let keep = |value: Option<String>| value.filter(|text| !text.trim().is_empty());
        self.owner = keep(owner);
        self.org = keep(org);
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The headers every request carries: bearer token, identity, user agent.
    /// Only for building requests; never print them.
    pub(crate) fn credential_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("User-Agent", USER_AGENT.to_string())];
        if let Some(token) = &self.token {
            headers.push(("Authorization", format!("Bearer {}", token.expose())));
        }
        if let Some(owner) = &self.owner {
            headers.push(("X-Crabbox-Owner", owner.clone()));
        }
        if let Some(org) = &self.org {
            headers.push(("X-Crabbox-Org", org.clone()));
        }
        headers
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token.expose());
        }
        if let Some(owner) = &self.owner {
            builder = builder.header("X-Crabbox-Owner", owner);
        }
        if let Some(org) = &self.org {
            builder = builder.header("X-Crabbox-Org", org);
        }
        builder
    }

    /// Sends and returns the response when its status is 2xx.
    pub(crate) async fn send(&self, builder: RequestBuilder) -> Result<Response, ClientError> {
        let response = builder
            .send()
            .await
            .map_err(|error| ClientError::transport(&self.base_url, error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        Err(api_error(status, &body))
    }

    /// Sends and decodes a 2xx JSON body; `what` names the route in errors.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        builder: RequestBuilder,
        what: &'static str,
    ) -> Result<T, ClientError> {
        let response = self.send(builder).await?;
        let body = response
            .bytes()
            .await
            .map_err(|error| ClientError::transport(&self.base_url, error))?;
        crabbox_proto::wire::from_json_slice(&body).map_err(|error| ClientError::Decode {
            context: what.to_string(),
            message: error.to_string(),
        })
    }

    /// Sends and returns a 2xx body as text.
    pub(crate) async fn text(&self, builder: RequestBuilder) -> Result<String, ClientError> {
        let response = self.send(builder).await?;
        let body = response
            .bytes()
            .await
            .map_err(|error| ClientError::transport(&self.base_url, error))?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

/// The `{"error","message"}` body, or the status text when the body is not one.
fn api_error(status: reqwest::StatusCode, body: &[u8]) -> ClientError {
    let parsed = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .filter(|body| !body.error.is_empty());
    let (code, message) = match parsed {
        Some(body) => (body.error, body.message),
        None => (
            status
                .canonical_reason()
                .unwrap_or("unexpected status")
                .to_string(),
            String::from_utf8_lossy(body)
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
        ),
    };
    ClientError::Api {
        status: status.as_u16(),
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_trimmed_and_checked() {
        let client = Client::new(" http://127.0.0.1:8787/ ", Some(String::new())).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8787");
        assert!(!client.has_token());
        for bad in [
            "ftp://host",
            "127.0.0.1:8787",
            "http://",
            "https://user:pw@host",
            "http://host/?x=1",
        ] {
            let error = Client::new(bad, None).unwrap_err();
            assert!(matches!(error, ClientError::InvalidUrl { .. }), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::new("https://example.com", Some("hunter2".into())).unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("cbx_0123456789ab"), "cbx_0123456789ab");
        assert_eq!(segment("swift crab/x"), "swift%20crab%2Fx");
    }

    #[test]
    fn error_bodies_fall_back_to_the_status_text() {
        let error = api_error(
            reqwest::StatusCode::NOT_FOUND,
            br#"{"error":"not_found","message":"no such lease"}"#,
        );
        assert_eq!(
            error.to_string(),
            "coordinator answered 404 not_found: no such lease"
        );
        let error = api_error(reqwest::StatusCode::BAD_GATEWAY, b"<html>upstream</html>");
        match error {
            ClientError::Api {
                status,
                code,
                message,
            } => {
                assert_eq!(status, 502);
                assert_eq!(code, "Bad Gateway");
                assert_eq!(message, "<html>upstream</html>");
            }
            other => panic!("{other:?}"),
        }
    }
}
