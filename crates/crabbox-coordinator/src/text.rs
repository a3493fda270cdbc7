//! The NUL rule: PostgreSQL text cannot hold NUL characters, so request text
//! that names, filters or describes records is refused with one, on every
//! backend alike (command output is the exception: the store keeps it as U+FFFD).

use serde_json::Value;

pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// Whether a string anywhere in `value` (keys included) holds a NUL.
pub fn value_has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => has_nul(text),
        Value::Array(items) => items.iter().any(value_has_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| has_nul(key) || value_has_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Whether valid JSON text decodes to a string holding a NUL. JSON strings
/// cannot contain a raw NUL, so only the `\u0000` escape produces one.
pub fn json_has_nul(json: &[u8]) -> bool {
    let mut at = 0;
    while let Some(offset) = json[at..].iter().position(|byte| *byte == b'\\') {
        let escape = at + offset;
        if json[escape + 1..].starts_with(b"u0000") {
            return true;
        }
        // Skips the escaped character, so `\\u0000` stays plain text.
        at = escape + 2;
        if at >= json.len() {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nul_escapes_but_not_escaped_backslashes() {
        let cases: [(&[u8], bool); 6] = [
            (br#"{"a":"x\u0000y"}"#, true),
            (br#"{"a\u0000":1}"#, true),
            (br#"{"a":"x\\u0000y"}"#, false),
            (br#"{"a":"x\\\u0000"}"#, true),
            (br#"{"a":"\u0001 \n"}"#, false),
            (br#"{"a":"\\"}"#, false),
        ];
        for (json, expected) in cases {
            assert_eq!(
                json_has_nul(json),
                expected,
                "{}",
                String::from_utf8_lossy(json)
            );
            let value: Value = serde_json::from_slice(json).unwrap();
            assert_eq!(value_has_nul(&value), expected);
        }
        assert!(value_has_nul(&json!({"a": [1, {"b": "\u{0}"}]})));
    }
}
