//! Field encodings the Go and Node sides disagree with JSON's defaults on: ports
//! that arrive as numbers or strings, port lists sent as strings, and the
//! numeric `serverID` that older records kept as text.

use serde::{Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(serde_json::Number),
    Null(()),
}

/// Ports arrive as `2222` or `"2222"` depending on the client.
pub(crate) fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    Ok(match TextOrNumber::deserialize(deserializer)? {
        TextOrNumber::Text(text) => text,
        TextOrNumber::Number(number) => number.to_string(),
        TextOrNumber::Null(()) => String::new(),
    })
}

/// `serverID` is a number on the wire (0 when there is none); a numeric string
/// from an older record is read as its number.
pub(crate) mod server_id {
    use super::*;

    pub fn serialize<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(*value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        match TextOrNumber::deserialize(deserializer)? {
            TextOrNumber::Number(number) => number
                .as_i64()
                .ok_or_else(|| serde::de::Error::custom("serverID must be an integer")),
            TextOrNumber::Text(text) if text.trim().is_empty() => Ok(0),
            TextOrNumber::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom("serverID must be an integer")),
            TextOrNumber::Null(()) => Ok(0),
        }
    }
}

/// Port lists (`exposedPorts`) are `[]string` on the wire; numbers are accepted
/// too. Every entry must be a port 1-65535.
pub(crate) mod port_strings {
    use super::*;

    pub fn serialize<S: Serializer>(ports: &[u16], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(ports.iter().map(u16::to_string))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u16>, D::Error> {
        let items = Option::<Vec<TextOrNumber>>::deserialize(deserializer)?.unwrap_or_default();
        items
            .into_iter()
            .map(|item| {
                let text = match item {
                    TextOrNumber::Text(text) => text,
                    TextOrNumber::Number(number) => number.to_string(),
                    TextOrNumber::Null(()) => String::new(),
                };
                text.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port > 0)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!("exposed port {text:?} is not 1-65535"))
                    })
            })
            .collect()
    }
}
