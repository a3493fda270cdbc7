//! The pond's Tailscale tag, `tag:cbx-pond-<owner>-<pond>`, and the owner
//! identity it is derived from.

use sha2::{Digest, Sha256};

use crate::normalize_pond;

/// Longest owner segment kept verbatim; longer ones are replaced by a hash
/// prefix so two long addresses sharing a prefix never share a tag.
const OWNER_SEGMENT_LIMIT: usize = 7;

/// `tag:cbx-pond-<owner segment>-<pond>`, or `None` without a pond.
pub fn pond_tag(owner: &str, pond: &str) -> Option<String> {
    let pond = normalize_pond(pond);
    if pond.is_empty() {
        return None;
    }
    Some(format!("tag:cbx-pond-{}-{pond}", owner_segment(owner)))
}

/// The owner part of the tag: the local part of an e-mail address, normalized
/// like a pond name; `user` when that is empty; when longer than 7 characters,
/// the first 7 characters of the lowercase unpadded base32 SHA-256 of it.
pub fn owner_segment(owner: &str) -> String {
    let lowered = owner.trim().to_lowercase();
    let local = lowered.split('@').next().unwrap_or_default();
    let normalized = normalize_pond(local);
    if normalized.is_empty() {
        return "user".to_string();
    }
    if normalized.chars().count() <= OWNER_SEGMENT_LIMIT {
        return normalized;
    }
    let digest = Sha256::digest(normalized.as_bytes());
    base32_lower(&digest)[..OWNER_SEGMENT_LIMIT].to_string()
}

/// The owner identity: the first non-empty of `CRABBOX_OWNER`,
/// `GIT_AUTHOR_EMAIL`, `GIT_COMMITTER_EMAIL` (from `lookup`), then `git_email`
/// (the caller's `git config --get user.email`).
pub fn owner_identity(
    lookup: impl Fn(&str) -> Option<String>,
    git_email: impl FnOnce() -> Option<String>,
) -> String {
    ["CRABBOX_OWNER", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"]
        .into_iter()
        .filter_map(&lookup)
        .map(|value| value.trim().to_string())
        .find(|value| !value.is_empty())
        .or_else(|| git_email().map(|value| value.trim().to_string()))
        .unwrap_or_default()
}

/// RFC 4648 base32, lowercase, without padding.
fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_lower(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn owner_segments() {
        for (owner, expected) in [
            ("", "user"),
            ("@example.com", "user"),
            ("Ann@Example.com", "ann"),
            ("j.doe@x.io", "j-doe"),
            ("peter", "peter"),
            ("seven77", "seven77"),
        ] {
            assert_eq!(owner_segment(owner), expected, "{owner:?}");
        }
        let long = owner_segment("yossi.eliaz@example.com");
        assert_eq!(long.len(), 7);
        assert!(long
            .chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c)));
        assert_ne!(long, owner_segment("yossi.elman@example.com"));
        assert_eq!(long, owner_segment("YOSSI.ELIAZ@other.org"));
    }

    #[test]
    fn tags() {
        assert_eq!(pond_tag("ann@x.io", ""), None);
        assert_eq!(pond_tag("ann@x.io", " -- "), None);
        assert_eq!(
            pond_tag("ann@x.io", "Alpha Pond").as_deref(),
            Some("tag:cbx-pond-ann-alpha-pond")
        );
        assert_eq!(pond_tag("", "p").as_deref(), Some("tag:cbx-pond-user-p"));
        let worst = pond_tag("someone.long@x.io", &"a".repeat(41)).unwrap();
        assert!(worst.len() <= 63, "{worst}");
    }

    #[test]
    fn owner_identity_order() {
        let env = |name: &str| match name {
            "GIT_AUTHOR_EMAIL" => Some("author@x.io".to_string()),
            "CRABBOX_OWNER" => Some("  ".to_string()),
            _ => None,
        };
        assert_eq!(
            owner_identity(env, || Some("git@x.io".into())),
            "author@x.io"
        );
        assert_eq!(
            owner_identity(|_| None, || Some("git@x.io".into())),
            "git@x.io"
        );
        assert_eq!(owner_identity(|_| None, || None), "");
    }
}
