//! Checks for connection values that arrive from outside this process (a
//! coordinator's answer, a provider's API, a registration body) before they are
//! used as an SSH destination, a login name or a remote directory.

/// A hostname, IPv4 or IPv6 address that `ssh` takes as a destination and
/// nothing else: no spaces, no shell or option syntax, no user part.
pub fn is_safe_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    !bare.is_empty()
        && bare.len() <= 253
        && !bare.starts_with(['-', '.'])
        && bare
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b':' | b'_'))
}

/// A POSIX login name: letters, digits, `_`, `.`, `-`, not starting with `-`.
pub fn is_safe_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 64
        && !user.starts_with(['-', '.'])
        && user
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// An absolute remote directory without `..` components or control bytes.
pub fn is_safe_remote_dir(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 4096
        && !path.bytes().any(|byte| byte.is_ascii_control())
        && !path.split('/').any(|part| part == "..")
}

/// A slug as Crabbox mints or accepts it: lowercase letters, digits and `-`.
pub fn is_safe_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for good in [
            "127.0.0.1",
            "box-1.example.com",
            "[::1]",
            "fe80::1",
            "runner_7",
        ] {
            assert!(is_safe_host(good), "{good}");
        }
        for bad in [
            "",
            "bad host;rm",
            "-oProxyCommand=x",
            "user@host",
            "a\nb",
            "$(id)",
            ".hidden",
            "[]",
        ] {
            assert!(!is_safe_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn users_dirs_and_slugs() {
        assert!(is_safe_user("crabbox") && is_safe_user("devbox.1"));
        assert!(!is_safe_user("-l") && !is_safe_user("a b") && !is_safe_user(""));
        assert!(is_safe_remote_dir("/work/crabbox/cbx_0123456789ab"));
        for bad in ["relative", "/work/../etc", "/a\nb", ""] {
            assert!(!is_safe_remote_dir(bad), "{bad:?}");
        }
        assert!(is_safe_slug("swift-crab") && is_safe_slug("swift-crab-1a2b"));
        for bad in ["../x", "Swift", "-x", "a/b", ""] {
            assert!(!is_safe_slug(bad), "{bad:?}");
        }
    }
}
