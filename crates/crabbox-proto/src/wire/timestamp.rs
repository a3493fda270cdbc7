//! Instants on the wire: RFC 3339 text outside, Unix milliseconds inside.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{format_rfc3339_millis, parse_rfc3339_millis};

/// A UTC instant with millisecond precision, serialized as
/// `2026-11-22T23:08:00.123Z`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    pub fn now() -> Timestamp {
        Timestamp(crate::time::now_unix_millis())
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1000)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&format_rfc3339_millis(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_rfc3339_millis(self.0))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_rfc3339_millis(&text)
            .map(Timestamp)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_rfc3339_text() {
        let instant = Timestamp(1_795_388_880_123);
        let json = serde_json::to_string(&instant).unwrap();
        assert_eq!(json, "\"2026-11-22T23:08:00.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), instant);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
