//! The HTTPS probe of URL targets for `doctor --pond`: one `HEAD` of each
//! member's first target. Any HTTP answer, 4xx and 5xx included, means the
//! URL is reachable; only network, TLS and timeout failures do not.

use std::time::Duration;

use serde::Serialize;

use super::http;
use crate::PeerRow;

/// Default per-probe timeout.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// One member's probe; JSON keys as in `doctor --pond --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub slug: String,
    pub url: String,
    pub port: u16,
    #[serde(rename = "statusCode", skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// `reachable`, `unreachable`, the row's bridge state, or `no-targets`.
    pub state: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Probes every row in order; rows without targets report their bridge
/// state (or `no-targets`) without a request.
pub async fn probe_targets(rows: &[PeerRow], timeout: Duration) -> Vec<ProbeResult> {
    let client = http::client(timeout);
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(target) = row.targets.first() else {
            let state = if row.bridge_state.is_empty() {
                "no-targets"
            } else {
                &row.bridge_state
            };
            results.push(ProbeResult {
                slug: row.slug.clone(),
                url: String::new(),
                port: 0,
                status_code: None,
                state: state.to_string(),
                detail: String::new(),
            });
            continue;
        };
        let mut result = ProbeResult {
            slug: row.slug.clone(),
            url: target.url.clone(),
            port: target.port,
            status_code: None,
            state: "unreachable".into(),
            detail: String::new(),
        };
        match &client {
            Err(error) => result.detail = error.clone(),
            Ok(client) => match client.head(&target.url).send().await {
                Ok(response) => {
                    result.status_code = Some(response.status().as_u16());
                    result.state = "reachable".into();
                }
                Err(error) => result.detail = last_cause(&http::transport(&error, &[])),
            },
        }
        results.push(result);
    }
    results
}

/// The text after the last `": "` — the innermost cause.
fn last_cause(text: &str) -> String {
    text.rsplit(": ").next().unwrap_or(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_shortened() {
        assert_eq!(
            last_cause("could not connect: tcp connect error: Connection refused"),
            "Connection refused"
        );
        assert_eq!(last_cause("timed out"), "timed out");
    }
}
