//! A string that must never reach logs, argv, claims or error text.

use std::fmt;

/// `url` with any `user:password@` part replaced by `***@`, for error text and
/// listings: a password typed into a URL is never echoed back.
pub fn without_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Tokens and keys: `Debug` and `Display` print `[redacted]`; the value is only
/// reachable through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Non-empty after trimming, else `None` (an empty token means "not set").
    pub fn from_setting(value: Option<&str>) -> Option<Secret> {
        value
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(Secret::new)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the first difference is.
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

/// Equality whose running time depends only on the lengths.
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "[redacted] [redacted]");
        assert!(secret.matches("hunter2"));
        assert!(!secret.matches("hunter3"));
        assert!(!secret.matches("hunter"));
        assert_eq!(Secret::from_setting(Some("  ")), None);
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        let cases = [
            ("https://alice:pw@host:8/x", "https://***@host:8/x"),
            (
                "postgres://u:p%40ss@db/crabbox?sslmode=require",
                "postgres://***@db/crabbox?sslmode=require",
            ),
            ("https://host/a@b", "https://host/a@b"),
            ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
            ("user:pw@host", "***@host"),
        ];
        for (input, expected) in cases {
            assert_eq!(without_credentials(input), expected, "{input}");
        }
    }
}
