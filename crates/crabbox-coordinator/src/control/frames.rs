//! Reading client frames: JSON text tagged by `type`, with a stable error code
//! for each way a frame can be wrong.

use crabbox_proto::wire::ClientFrame;
use serde_json::Value;

use crate::runs::truncate_utf8;
use crate::text;

const KNOWN_TYPES: [&str; 4] = ["subscribe_run", "ack", "heartbeat", "ping"];

#[derive(Debug, PartialEq)]
pub enum Parsed {
    Frame(ClientFrame),
    /// A malformed `ack`: ignored without a reply.
    Ignored,
    /// Answered with an `error` frame; the socket stays open.
    Invalid {
        code: &'static str,
        message: String,
    },
}

fn invalid(code: &'static str, message: impl Into<String>) -> Parsed {
    Parsed::Invalid {
        code,
        message: message.into(),
    }
}

pub fn parse(text: &str) -> Parsed {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => return invalid("invalid_json", format!("frame is not JSON: {error}")),
    };
    let Some(object) = value.as_object() else {
        return invalid(
            "invalid_message",
            "a frame is a JSON object with a string \"type\"",
        );
    };
    // A frame without a type is answered as the Node coordinator does.
    let kind = match object.get("type") {
        None | Some(Value::Null) => "",
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return invalid("invalid_message", "the frame's \"type\" must be a string"),
    };
    if !KNOWN_TYPES.contains(&kind) {
        return invalid(
            "unknown_type",
            format!(
                "unknown frame type {:?}; expected one of {}",
                truncate_utf8(kind, 64),
                KNOWN_TYPES.join(", ")
            ),
        );
    }
    let ack = kind == "ack";
    if text::value_has_nul(&value) {
        return if ack {
            Parsed::Ignored
        } else {
            invalid(
                "invalid_message",
                "frame strings must not contain NUL characters",
            )
        };
    }
    let kind = kind.to_string();
    match serde_json::from_value(value) {
        Ok(frame) => Parsed::Frame(frame),
        Err(_) if ack => Parsed::Ignored,
        Err(error) => invalid("invalid_message", format!("invalid {kind} frame: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_bad_frame_has_its_code() {
        let code = |text: &str| match parse(text) {
            Parsed::Invalid { code, .. } => code,
            Parsed::Ignored => "ignored",
            Parsed::Frame(_) => "frame",
        };
        let cases = [
            (r#"{"type":"ping"}"#, "frame"),
            (r#"{"type":"subscribe_run","runID":"run_1"}"#, "frame"),
            (r#"{"type":"ack","runID":"run_1","seq":3}"#, "frame"),
            (r#"{"type":"heartbeat","leaseID":"swift-crab"}"#, "frame"),
            ("{not json", "invalid_json"),
            ("", "invalid_json"),
            ("[1,2]", "invalid_message"),
            (r#"{"type":7}"#, "invalid_message"),
            (r#"{"runID":"run_1"}"#, "unknown_type"),
            (r#"{"type":null}"#, "unknown_type"),
            (r#"{"type":"dance"}"#, "unknown_type"),
            // Answered `not_found` by the session, as a run that does not exist.
            (r#"{"type":"subscribe_run"}"#, "frame"),
            (
                r#"{"type":"subscribe_run","runID":"run_1","after":"x"}"#,
                "invalid_message",
            ),
            (r#"{"type":"heartbeat"}"#, "invalid_message"),
            (r#"{"type":"ack","runID":"run_1","seq":"soon"}"#, "ignored"),
            (r#"{"type":"ack"}"#, "ignored"),
            (
                r#"{"type":"subscribe_run","runID":"run_\u0000"}"#,
                "invalid_message",
            ),
            (r#"{"type":"ack","runID":"run_\u0000","seq":1}"#, "ignored"),
        ];
        for (text, expected) in cases {
            assert_eq!(code(text), expected, "{text}");
        }
    }

    #[test]
    fn unknown_type_names_are_bounded_in_the_message() {
        let text = format!(r#"{{"type":"{}"}}"#, "x".repeat(10_000));
        let Parsed::Invalid { message, .. } = parse(&text) else {
            panic!("expected an error");
        };
        assert!(message.len() < 200, "{message}");
    }
}
