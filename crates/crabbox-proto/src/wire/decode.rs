//! Reading a JSON body the way both peers need: Go sends `null` for empty
//! slices and maps (read as missing), and a body of the wrong shape is refused
//! with the path of the field at fault.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a body could not be read: the field's path (`lease.sshFallbackPorts`,
/// `events[2].seq`; empty for the whole body) and serde's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() || self.path == "." {
            formatter.write_str(&self.message)
        } else {
            write!(formatter, "field {}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes `bytes`. The common case is one pass; a body that fails it is read
/// again with `null` object members dropped (a Go `nil` slice is "none"), and a
/// body that still fails names the field.
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let first = match serde_json::from_slice(bytes) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
        return Err(DecodeError {
            path: String::new(),
            message: first.to_string(),
        });
    };
    drop_nulls(&mut value);
    serde_path_to_error::deserialize(value).map_err(|error| DecodeError {
        path: error.path().to_string(),
        message: error.into_inner().to_string(),
    })
}

fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, member| !member.is_null());
            members.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{CreateLeaseRequest, LeaseEnvelope};

    #[test]
    fn go_nulls_read_as_missing_and_bad_types_name_their_field() {
        let body = br#"{"sshFallbackPorts":null,"exposedPorts":null,"sshPort":"22","pond":"db"}"#;
        let request: CreateLeaseRequest = from_json_slice(body).unwrap();
        assert!(request.ssh_fallback_ports.is_empty());
        assert_eq!(request.pond, "db");
        let error = from_json_slice::<CreateLeaseRequest>(br#"{"ttlSeconds":"soon"}"#).unwrap_err();
        assert_eq!(error.path, "ttlSeconds");
        assert!(
            error.to_string().starts_with("field ttlSeconds: "),
            "{error}"
        );
        let error = from_json_slice::<LeaseEnvelope>(br#"{"lease":{"keep":"yes"}}"#).unwrap_err();
        assert_eq!(error.path, "lease.keep");
        assert!(from_json_slice::<LeaseEnvelope>(b"{not json").is_err());
    }
}
