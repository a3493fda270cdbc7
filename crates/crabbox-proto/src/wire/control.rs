//! Frames of the `/v1/control` WebSocket: JSON text frames tagged by `type`.

use serde::{Deserialize, Serialize};

use super::run_fields::null_as_default;
use super::{RunEventRecord, Timestamp};

/// The protocol version announced in `hello`.
pub const CONTROL_PROTOCOL: u32 = 1;
/// The most events a subscriber may ask for per page.
pub const MAX_SUBSCRIBE_LIMIT: i64 = 500;
/// The page size when a subscriber asks for none.
pub const DEFAULT_SUBSCRIBE_LIMIT: i64 = 100;

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Hello {
        protocol: u32,
        #[serde(rename = "clientID")]
        client_id: String,
    },
    /// A subscribe reply or a push: contiguous events; `nextSeq` is the last
    /// sequence number included (the subscriber's cursor afterwards).
    RunEvents {
        #[serde(rename = "runID")]
        run_id: String,
        events: Vec<RunEventRecord>,
        #[serde(rename = "nextSeq")]
        next_seq: i64,
    },
    Heartbeat {
        #[serde(rename = "leaseID")]
        lease_id: String,
        ok: bool,
        #[serde(rename = "expiresAt", default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    Pong,
    Error {
        code: String,
        #[serde(default)]
        message: String,
    },
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Send one page of events with `seq > after` (at most `limit`, default
    /// 100, max 500); a full page waits for the next `subscribe_run`, a shorter
    /// one is followed by live pushes. A missing `runID` is answered `not_found`.
    SubscribeRun {
        #[serde(rename = "runID", default, deserialize_with = "null_as_default")]
        run_id: String,
        #[serde(default)]
        after: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<i64>,
    },
    /// Moves the subscription's cursor to `seq`.
    Ack {
        #[serde(rename = "runID")]
        run_id: String,
        seq: i64,
    },
    Heartbeat {
        #[serde(rename = "leaseID")]
        lease_id: String,
        #[serde(
            rename = "expectedProvider",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        expected_provider: Option<String>,
        #[serde(
            rename = "idleTimeoutSeconds",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        idle_timeout_seconds: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        telemetry: Option<serde_json::Value>,
    },
    Ping,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_use_the_reference_names() {
        let hello = ServerFrame::Hello {
            protocol: 1,
            client_id: "c1".into(),
        };
        assert_eq!(
            serde_json::to_string(&hello).unwrap(),
            r#"{"type":"hello","protocol":1,"clientID":"c1"}"#
        );
        let frame: ClientFrame =
            serde_json::from_str(r#"{"type":"subscribe_run","runID":"run_1","after":4}"#).unwrap();
        assert_eq!(
            frame,
            ClientFrame::SubscribeRun {
                run_id: "run_1".into(),
                after: 4,
                limit: None
            }
        );
        let beat = ServerFrame::Heartbeat {
            lease_id: "cbx_1".into(),
            ok: false,
            expires_at: None,
            error: Some("lease_expired".into()),
        };
        assert_eq!(
            serde_json::to_string(&beat).unwrap(),
            r#"{"type":"heartbeat","leaseID":"cbx_1","ok":false,"error":"lease_expired"}"#
        );
        assert_eq!(
            serde_json::to_string(&ClientFrame::Ping).unwrap(),
            r#"{"type":"ping"}"#
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"dance"}"#).is_err());
    }
}
