//! Crustacean slugs: the friendly names derived from lease IDs, and their normalization.

pub const ADJECTIVES: [&str; 14] = [
    "amber", "blue", "brisk", "coral", "crimson", "golden", "harbor", "jade", "pearl", "quick",
    "silver", "swift", "tidal", "violet",
];

pub const NOUNS: [&str; 8] = [
    "barnacle", "crab", "crayfish", "hermit", "krill", "lobster", "prawn", "shrimp",
];

/// Longest slug a user may request; suffixed collision candidates add five more characters.
pub const MAX_SLUG_LEN: usize = 41;

/// How many `<lease>-<attempt>` seeds to try before the final fallback seed.
const COLLISION_ATTEMPTS: u32 = 20;

const FNV_OFFSET_BASIS: u32 = 2_166_136_261;
const FNV_PRIME: u32 = 16_777_619;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("slug is empty after normalization; use letters, digits and dashes")]
    Empty,
    #[error("slug {slug:?} is longer than {max} characters; choose a shorter one")]
    TooLong { slug: String, max: usize },
    #[error("could not allocate a unique lease slug")]
    Exhausted,
}

/// 32-bit FNV-1a; the slug and provider-name schemes depend on this exact hash.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// The deterministic `adjective-noun` slug for a lease ID.
pub fn slug_for_lease(lease_id: &str) -> String {
    let hash = fnv1a32(lease_id.as_bytes());
    let adjective = ADJECTIVES[(hash % ADJECTIVES.len() as u32) as usize];
    let noun = NOUNS[((hash / ADJECTIVES.len() as u32) % NOUNS.len() as u32) as usize];
    format!("{adjective}-{noun}")
}

/// Whether `value` has the shape Crabbox gives leases it names itself:
/// `adjective-noun` from the word lists, optionally with a 4-hex collision suffix.
pub fn is_generated_slug(value: &str) -> bool {
    let mut parts = value.split('-');
    let (Some(adjective), Some(noun)) = (parts.next(), parts.next()) else {
        return false;
    };
    let suffix_ok = match (parts.next(), parts.next()) {
        (None, _) => true,
        (Some(suffix), None) => {
            suffix.len() == 4 && suffix.bytes().all(|byte| byte.is_ascii_hexdigit())
        }
        _ => false,
    };
    suffix_ok && ADJECTIVES.contains(&adjective) && NOUNS.contains(&noun)
}

/// Lowercases, keeps ASCII letters and digits, and collapses everything else into
/// single dashes with none at either end.
pub fn normalize_slug(value: &str) -> String {
    let mut slug = String::with_capacity(value.len());
    let mut pending_dash = false;
    for character in value.trim().chars().flat_map(char::to_lowercase) {
        if character.is_ascii_lowercase() || character.is_ascii_digit() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(character);
        } else {
            pending_dash = true;
        }
    }
    slug
}

/// Normalizes a user-requested slug and checks that it is usable.
pub fn validate_requested_slug(value: &str) -> Result<String, SlugError> {
    let slug = normalize_slug(value);
    if slug.is_empty() {
        return Err(SlugError::Empty);
    }
    if slug.len() > MAX_SLUG_LEN {
        return Err(SlugError::TooLong {
            slug,
            max: MAX_SLUG_LEN,
        });
    }
    Ok(slug)
}

/// Picks a slug for a new lease that `is_taken` does not report as in use.
///
/// The base is the requested slug or the derived one; on collision a 4-hex suffix
/// seeded from the lease ID is appended, so the same lease retries the same
/// candidates in the same order.
pub fn allocate_slug(
    lease_id: &str,
    requested: Option<&str>,
    is_taken: impl Fn(&str) -> bool,
) -> Result<String, SlugError> {
    let base = match requested {
        Some(requested) => validate_requested_slug(requested)?,
        None => slug_for_lease(lease_id),
    };
    if !is_taken(&base) {
        return Ok(base);
    }
    // Slugs are ASCII after normalization, so byte truncation is a character boundary.
    let stem = &base[..base.len().min(MAX_SLUG_LEN)];
    let seeds = (0..COLLISION_ATTEMPTS)
        .map(|attempt| format!("{lease_id}-{attempt}"))
        .chain(std::iter::once(lease_id.to_owned()));
    for seed in seeds {
        let suffix = fnv1a32(seed.as_bytes()) & 0xffff;
        let candidate = format!("{stem}-{suffix:04x}");
        if !is_taken(&candidate) {
            return Ok(candidate);
        }
    }
    Err(SlugError::Exhausted)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashSet;

    use super::*;

    /// Independent FNV-1a so the golden values do not just restate `fnv1a32`.
    fn reference_fnv(text: &str) -> u32 {
        let mut hash: u64 = 0x811c_9dc5;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = (hash * 0x0100_0193) % (1 << 32);
        }
        hash as u32
    }

    #[test]
    fn generated_slug_shape() {
        assert!(is_generated_slug("coral-shrimp"));
        assert!(is_generated_slug("violet-prawn-0a1f"));
        assert!(!is_generated_slug("no-such-slug"));
        assert!(!is_generated_slug("coral-shrimp-xyz1"));
        assert!(!is_generated_slug("coral"));
    }

    #[test]
    fn fnv_matches_published_vectors() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
        for text in ["cbx_000000000000", "static_host", "x"] {
            assert_eq!(fnv1a32(text.as_bytes()), reference_fnv(text));
        }
    }

    #[test]
    fn golden_slugs() {
        // Hashes cross-checked with a separate Python FNV-1a implementation.
        let cases = [
            ("cbx_000000000000", 0x1f35_5055, "coral-shrimp"),
            ("cbx_0123456789ab", 0x4067_5f31, "violet-prawn"),
            ("cbx_abcdef012345", 0xfc9b_a48d, "blue-crayfish"),
            ("cbx_ffffffffffff", 0xb721_4095, "coral-shrimp"),
            ("cbx_deadbeef0001", 0x8733_3492, "silver-krill"),
            ("static_host", 0xdf45_e19e, "tidal-shrimp"),
        ];
        for (lease, hash, slug) in cases {
            assert_eq!(reference_fnv(lease), hash, "{lease}");
            assert_eq!(slug_for_lease(lease), slug, "{lease}");
        }
    }

    #[test]
    fn normalize_slug_table() {
        let cases = [
            ("Violet-Prawn", "violet-prawn"),
            ("  my slug  ", "my-slug"),
            ("a__b--c", "a-b-c"),
            ("--edge--", "edge"),
            ("feature/ABC 123!", "feature-abc-123"),
            ("caf\u{e9} cr\u{e8}me", "caf-cr-me"),
            ("!!!", ""),
            ("", ""),
            ("already-fine-42", "already-fine-42"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_slug(input), expected, "{input:?}");
        }
    }

    #[test]
    fn requested_slug_validation() {
        assert_eq!(validate_requested_slug(" My Box ").unwrap(), "my-box");
        assert_eq!(validate_requested_slug("--"), Err(SlugError::Empty));
        let exactly_max = "a".repeat(MAX_SLUG_LEN);
        assert_eq!(validate_requested_slug(&exactly_max).unwrap(), exactly_max);
        let too_long = "a".repeat(MAX_SLUG_LEN + 1);
        assert!(matches!(
            validate_requested_slug(&too_long),
            Err(SlugError::TooLong { max: 41, .. })
        ));
    }

    #[test]
    fn free_base_slug_is_used_directly() {
        let slug = allocate_slug("cbx_0123456789ab", None, |_| false).unwrap();
        assert_eq!(slug, "violet-prawn");
        let slug = allocate_slug("cbx_0123456789ab", Some("My Box"), |_| false).unwrap();
        assert_eq!(slug, "my-box");
    }

    #[test]
    fn collision_suffixes_follow_attempt_seeds() {
        let lease = "cbx_0123456789ab";
        // Suffixes: fnv("cbx_0123456789ab-0") & 0xffff = 0x73ac, "-1" = 0x753f,
        // "-2" = 0x76d2; the final seed (the lease ID itself) gives 0x5f31.
        let expected_first = [
            "violet-prawn-73ac",
            "violet-prawn-753f",
            "violet-prawn-76d2",
        ];
        for (attempt, expected) in expected_first.iter().enumerate() {
            let hash = reference_fnv(&format!("{lease}-{attempt}")) & 0xffff;
            assert_eq!(format!("violet-prawn-{hash:04x}"), *expected);
        }

        let taken: HashSet<&str> = ["violet-prawn", "violet-prawn-73ac"].into();
        let slug = allocate_slug(lease, None, |candidate| taken.contains(candidate)).unwrap();
        assert_eq!(slug, "violet-prawn-753f");
    }

    #[test]
    fn final_fallback_uses_lease_id_seed_then_exhausts() {
        let lease = "cbx_0123456789ab";
        let tried = RefCell::new(Vec::new());
        let slug = allocate_slug(lease, None, |candidate| {
            tried.borrow_mut().push(candidate.to_owned());
            candidate != "violet-prawn-5f31"
        })
        .unwrap();
        assert_eq!(slug, "violet-prawn-5f31");
        // Base, 20 attempt seeds, then the fallback.
        assert_eq!(tried.borrow().len(), 22);

        let result = allocate_slug(lease, None, |_| true);
        assert_eq!(result, Err(SlugError::Exhausted));
        assert_eq!(
            SlugError::Exhausted.to_string(),
            "could not allocate a unique lease slug"
        );
    }

    #[test]
    fn suffixed_candidates_stay_bounded() {
        let requested = "b".repeat(MAX_SLUG_LEN);
        let longest = RefCell::new(0);
        let _ = allocate_slug("cbx_abcdef012345", Some(&requested), |candidate| {
            let mut longest = longest.borrow_mut();
            *longest = (*longest).max(candidate.len());
            true
        });
        assert_eq!(*longest.borrow(), MAX_SLUG_LEN + 5);
    }

    #[test]
    fn invalid_requested_slug_is_rejected_before_allocation() {
        assert_eq!(
            allocate_slug("cbx_abcdef012345", Some("***"), |_| false),
            Err(SlugError::Empty)
        );
    }
}
