//! The JSON documents stored in TEXT columns beside the indexed ones.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::StoreError;

pub(crate) fn encode<T: Serialize>(
    kind: &'static str,
    id: &str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode {
        kind,
        id: id.to_string(),
        source,
    })
}

pub(crate) fn decode<T: DeserializeOwned>(
    kind: &'static str,
    id: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
        kind,
        id: id.to_string(),
        source,
    })
}
