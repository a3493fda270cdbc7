//! Pond names and exposed ports: normalization, validation and their label forms.

use std::collections::BTreeSet;

use crate::PondError;

/// The reserved label that makes a lease a pond member.
pub const POND_LABEL: &str = "pond";
/// The label carrying exposed ports, joined with `-` (label values cannot hold `,`).
pub const EXPOSED_PORTS_LABEL: &str = "crabbox_exposed_ports";
/// Longest normalized pond name: keeps `tag:cbx-pond-<owner>-<pond>` within 63 chars.
pub const MAX_POND_NAME: usize = 41;
/// Most distinct ports one lease may expose.
pub const MAX_EXPOSED_PORTS: usize = 10;

/// Lowercases, maps everything outside `[a-z0-9]` to `-`, collapses dash runs and
/// trims dashes. Never fails; see [`validate_pond`] for the limits.
pub fn normalize_pond(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for character in raw.trim().chars().flat_map(char::to_lowercase) {
        let mapped = if character.is_ascii_lowercase() || character.is_ascii_digit() {
            character
        } else {
            '-'
        };
        if mapped == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(mapped);
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The normalized pond name; blank input means "no pond" and yields `""`.
pub fn validate_pond(raw: &str) -> Result<String, PondError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    let name = normalize_pond(raw);
    if name.is_empty() {
        return Err(PondError::NameEmpty {
            raw: raw.to_string(),
        });
    }
    if name.len() > MAX_POND_NAME {
        return Err(PondError::NameTooLong {
            raw: raw.to_string(),
            length: name.len(),
            max: MAX_POND_NAME,
        });
    }
    Ok(name)
}

/// Whether two pond names are the same pond once both are normalized.
pub fn same_pond(left: &str, right: &str) -> bool {
    let left = normalize_pond(left);
    !left.is_empty() && left == normalize_pond(right)
}

/// Parses repeated `--expose` values, each possibly a comma list: sorted, distinct.
pub fn parse_exposed_ports<S: AsRef<str>>(values: &[S]) -> Result<Vec<u16>, PondError> {
    let mut ports = BTreeSet::new();
    for value in values {
        for token in value.as_ref().split(',') {
            let token = token.trim();
            let port = token
                .parse::<u32>()
                .ok()
                .filter(|port| (1..=65535).contains(port))
                .ok_or_else(|| PondError::InvalidPort {
                    value: token.to_string(),
                })?;
            ports.insert(port as u16);
        }
    }
    if ports.len() > MAX_EXPOSED_PORTS {
        return Err(PondError::TooManyPorts {
            count: ports.len(),
            max: MAX_EXPOSED_PORTS,
        });
    }
    Ok(ports.into_iter().collect())
}

/// `8080-9090`; empty for no ports (the label is then omitted).
pub fn encode_ports_label(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// Tolerant: skips tokens that are not ports, sorts and dedupes.
pub fn decode_ports_label(label: &str) -> Vec<u16> {
    let ports: BTreeSet<u16> = label
        .split('-')
        .filter_map(|token| token.trim().parse::<u16>().ok())
        .filter(|port| *port > 0)
        .collect();
    ports.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_as_documented() {
        for (raw, want) in [
            ("Alpha_Bravo Charlie", "alpha-bravo-charlie"),
            ("alpha//bravo??", "alpha-bravo"),
            ("---alpha---", "alpha"),
            ("  Alpha Pond ", "alpha-pond"),
            ("a1", "a1"),
        ] {
            assert_eq!(validate_pond(raw).unwrap(), want, "{raw}");
        }
        assert_eq!(validate_pond("   ").unwrap(), "");
        assert!(matches!(
            validate_pond("!!"),
            Err(PondError::NameEmpty { .. })
        ));
        assert!(validate_pond(&"a".repeat(41)).is_ok());
        assert!(matches!(
            validate_pond(&"a".repeat(42)),
            Err(PondError::NameTooLong { length: 42, .. })
        ));
        assert!(same_pond("Alpha Pond", "alpha-pond"));
        assert!(!same_pond("", ""));
    }

    #[test]
    fn exposed_ports_parse_and_refuse() {
        assert_eq!(
            parse_exposed_ports(&["9090,8080", "8080"]).unwrap(),
            vec![8080, 9090]
        );
        for bad in ["0", "65536", "http", "", "80,,81", "-1"] {
            assert!(
                matches!(
                    parse_exposed_ports(&[bad]),
                    Err(PondError::InvalidPort { .. })
                ),
                "{bad}"
            );
        }
        let eleven: Vec<String> = (1..=11).map(|port| port.to_string()).collect();
        assert!(matches!(
            parse_exposed_ports(&eleven),
            Err(PondError::TooManyPorts { count: 11, .. })
        ));
        assert_eq!(parse_exposed_ports(&eleven[..10]).unwrap().len(), 10);
    }

    #[test]
    fn port_labels_round_trip_and_decode_tolerantly() {
        assert_eq!(encode_ports_label(&[8080, 9090]), "8080-9090");
        assert_eq!(encode_ports_label(&[]), "");
        assert_eq!(
            decode_ports_label("8080-xyz-9090-bad-80"),
            vec![80, 8080, 9090]
        );
        assert_eq!(decode_ports_label(""), Vec::<u16>::new());
    }
}
