//! Lease and run identifiers, and the file-name rule for identifiers we do not mint.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const LEASE_PREFIX: &str = "cbx_";
const RUN_PREFIX: &str = "run_";
const ID_RANDOM_BYTES: usize = 6;
const MAX_FILE_STEM_LEN: usize = 128;

/// A Crabbox lease ID: `cbx_` followed by 12 lowercase hex digits.
///
/// Serialized as a plain JSON string; deserializing rejects malformed values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeaseId(String);

/// A run ID: `run_` followed by 12 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

/// The string did not have the shape of the requested identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}; expected {expected}")]
pub struct InvalidId {
    kind: &'static str,
    value: String,
    expected: &'static str,
}

macro_rules! prefixed_id {
    ($type:ident, $prefix:expr, $kind:literal, $expected:literal) => {
        impl $type {
            /// Accepts only the canonical form (prefix plus 12 lowercase hex digits).
            pub fn parse(value: &str) -> Option<Self> {
                has_prefixed_hex_shape(value, $prefix).then(|| Self(value.to_owned()))
            }

            /// Mints a new identifier from 6 bytes of operating-system randomness.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, random_hex(ID_RANDOM_BYTES)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }

        impl AsRef<str> for $type {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $type {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value).ok_or_else(|| InvalidId {
                    kind: $kind,
                    value: value.to_owned(),
                    expected: $expected,
                })
            }
        }

        impl TryFrom<String> for $type {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                if has_prefixed_hex_shape(&value, $prefix) {
                    Ok(Self(value))
                } else {
                    Err(InvalidId {
                        kind: $kind,
                        value,
                        expected: $expected,
                    })
                }
            }
        }

        impl From<$type> for String {
            fn from(id: $type) -> String {
                id.0
            }
        }
    };
}

prefixed_id!(
    LeaseId,
    LEASE_PREFIX,
    "lease id",
    "cbx_ followed by 12 lowercase hex digits"
);
prefixed_id!(
    RunId,
    RUN_PREFIX,
    "run id",
    "run_ followed by 12 lowercase hex digits"
);

fn has_prefixed_hex_shape(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == ID_RANDOM_BYTES * 2
            && rest
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Whether `value` can be used verbatim as a file name stem.
///
/// Other providers mint their own IDs (`static_host`, `blx_…`), so claim files only
/// require that the ID cannot escape the directory or hide itself.
pub fn is_safe_file_stem(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_FILE_STEM_LEN
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// Lowercase hex of `count` random bytes.
///
/// Panics only if the operating system cannot supply randomness, in which case no
/// identifier we could produce would be trustworthy anyway.
pub(crate) fn random_hex(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    getrandom::fill(&mut bytes).expect("operating system random number generator failed");
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_id_parse_accepts_only_canonical_form() {
        let cases = [
            ("cbx_0123456789ab", true),
            ("cbx_ffffffffffff", true),
            ("cbx_0123456789AB", false),
            ("cbx_0123456789a", false),
            ("cbx_0123456789abc", false),
            ("cbx_0123456789ag", false),
            ("run_0123456789ab", false),
            ("CBX_0123456789ab", false),
            (" cbx_0123456789ab", false),
            ("", false),
        ];
        for (input, valid) in cases {
            assert_eq!(LeaseId::parse(input).is_some(), valid, "{input:?}");
        }
    }

    #[test]
    fn run_id_parse_accepts_only_canonical_form() {
        assert!(RunId::parse("run_abcdef012345").is_some());
        assert!(RunId::parse("cbx_abcdef012345").is_none());
        assert!(RunId::parse("run_abcdef01234").is_none());
    }

    #[test]
    fn generated_ids_parse_and_differ() {
        let first = LeaseId::generate();
        let second = LeaseId::generate();
        assert_eq!(LeaseId::parse(first.as_str()), Some(first.clone()));
        assert_ne!(first, second);
        let run = RunId::generate();
        assert_eq!(RunId::parse(run.as_str()), Some(run.clone()));
        assert!(run.to_string().starts_with("run_"));
    }

    #[test]
    fn ids_serialize_as_plain_strings_and_reject_bad_input() {
        let id = LeaseId::parse("cbx_abcdef012345").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"cbx_abcdef012345\"");
        let back: LeaseId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        let error = serde_json::from_str::<LeaseId>("\"cbx_nothex\"").unwrap_err();
        assert!(error.to_string().contains("invalid lease id"), "{error}");
    }

    #[test]
    fn from_str_explains_the_expected_shape() {
        let error = "bogus".parse::<RunId>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid run id \"bogus\"; expected run_ followed by 12 lowercase hex digits"
        );
    }

    #[test]
    fn safe_file_stems() {
        let long = "a".repeat(129);
        let max = "a".repeat(128);
        let cases = [
            ("cbx_0123456789ab", true),
            ("static_host.example.com", true),
            ("blx-ABC_1.2", true),
            (max.as_str(), true),
            (long.as_str(), false),
            ("", false),
            (".hidden", false),
            ("..", false),
            ("a/b", false),
            ("a b", false),
            ("a\\b", false),
            ("caf\u{e9}", false),
        ];
        for (input, safe) in cases {
            assert_eq!(is_safe_file_stem(input), safe, "{input:?}");
        }
    }

    #[test]
    fn random_hex_has_requested_length() {
        let text = random_hex(16);
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|byte| byte.is_ascii_hexdigit()));
    }
}
