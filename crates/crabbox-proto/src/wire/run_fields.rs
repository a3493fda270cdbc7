//! Decoders for run-body fields whose JSON differs between clients: `null` for
//! an absent list or text (Go marshals nil slices as `null`), `retryLikely` as
//! text or a boolean, and whole-number metrics sent as any JSON number.

use serde::{Deserialize, Deserializer, Serializer};

/// `null` reads as the type's default (an empty list, an empty string).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `retryLikely` is text on the wire (`"true"`, `"false"`, `"unknown"`); an
/// older client's boolean is read as its text.
pub(crate) fn retry_likely<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrBool {
        Text(String),
        Bool(bool),
    }
    Ok(match Option::<TextOrBool>::deserialize(deserializer) {
        Ok(Some(TextOrBool::Text(text))) => text,
        Ok(Some(TextOrBool::Bool(flag))) => flag.to_string(),
        Ok(None) => String::new(),
        Err(_) => {
            return Err(serde::de::Error::custom(
                "invalid type: expected a string (\"true\", \"false\" or \"unknown\")",
            ))
        }
    })
}

/// An integer metric: any finite JSON number, truncated toward zero (a Node
/// client may send `4.0`); always written back as an integer.
pub(crate) fn whole_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(whole) = number.as_i64() {
        return Ok(Some(whole));
    }
    match number.as_f64() {
        Some(value) if value.is_finite() => Ok(Some(
            value.trunc().clamp(i64::MIN as f64, i64::MAX as f64) as i64,
        )),
        _ => Err(serde::de::Error::custom("expected a finite number")),
    }
}

/// An exit code is an integer on the wire (Go decodes it into an `int`); only a
/// fractional value is written as a float.
pub(crate) fn integral_when_whole<S: Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(number) if number.is_finite() && number.fract() == 0.0 && number.abs() < 9.0e15 => {
            serializer.serialize_i64(*number as i64)
        }
        Some(number) => serializer.serialize_f64(*number),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug)]
    #[serde(default)]
    struct Probe {
        #[serde(deserialize_with = "super::null_as_default")]
        list: Vec<String>,
        #[serde(deserialize_with = "super::retry_likely")]
        retry: String,
        #[serde(deserialize_with = "super::whole_number")]
        count: Option<i64>,
    }

    #[test]
    fn lenient_fields_read_every_client_shape() {
        let probe: Probe =
            serde_json::from_str(r#"{"list":null,"retry":true,"count":4.7}"#).unwrap();
        assert!(probe.list.is_empty());
        assert_eq!(probe.retry, "true");
        assert_eq!(probe.count, Some(4));
        let probe: Probe = serde_json::from_str(r#"{"retry":"unknown","count":null}"#).unwrap();
        assert_eq!((probe.retry.as_str(), probe.count), ("unknown", None));
        assert!(serde_json::from_str::<Probe>(r#"{"retry":7}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"count":"4"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"list":"a"}"#).is_err());
    }
}
