//! Just enough Kubernetes protobuf to read the SelfSubjectAccessReview that
//! `kubectl auth can-i` sends (client-go encodes built-in types as protobuf);
//! answers are JSON, which client-go accepts whatever it asked for.

use serde_json::{json, Value};

/// The `k8s\0` envelope prefix of protobuf bodies.
const MAGIC: &[u8] = b"k8s\0";

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The length-delimited fields of one message, as (field number, bytes);
/// other wire types are skipped. `None` on malformed input.
fn fields(bytes: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
            }
            1 => at += 8,
            5 => at += 4,
            2 => {
                let length = usize::try_from(varint(bytes, &mut at)?).ok()?;
                out.push((key >> 3, bytes.get(at..at.checked_add(length)?)?));
                at += length;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn field<'a>(message: &[(u64, &'a [u8])], number: u64) -> Option<&'a [u8]> {
    message
        .iter()
        .find(|(field, _)| *field == number)
        .map(|(_, bytes)| *bytes)
}

fn text(message: &[(u64, &[u8])], number: u64) -> String {
    field(message, number)
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default()
}

/// Whether a body is in the protobuf envelope.
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

/// The `spec` of a protobuf SelfSubjectAccessReview, as its JSON form.
pub fn access_review_spec(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let review = fields(field(&unknown, 2)?)?;
    let spec = fields(field(&review, 2).unwrap_or_default())?;
    if let Some(attributes) = field(&spec, 1) {
        let attributes = fields(attributes)?;
        let names = [
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
        ];
        let mut out = serde_json::Map::new();
        for (number, name) in (1u64..).zip(names) {
            out.insert(name.into(), json!(text(&attributes, number)));
        }
        return Some(json!({"resourceAttributes": out}));
    }
    let non_resource = fields(field(&spec, 2).unwrap_or_default())?;
    Some(
        json!({"nonResourceAttributes": {"path": text(&non_resource, 1), "verb": text(&non_resource, 2)}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(parts: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, bytes) in parts {
            out.push(((number << 3) | 2) as u8);
            out.push(bytes.len() as u8);
            out.extend(bytes);
        }
        out
    }

    #[test]
    fn decodes_resource_attributes_from_the_envelope() {
        let attributes = message(&[
            (1, b"default".to_vec()),
            (2, b"get".to_vec()),
            (5, b"secrets".to_vec()),
        ]);
        let spec = message(&[(1, attributes)]);
        let review = message(&[(1, Vec::new()), (2, spec)]);
        let mut body = MAGIC.to_vec();
        body.extend(message(&[(1, b"\x0a\x02v1".to_vec()), (2, review)]));
        assert!(is_protobuf(&body));
        let spec = access_review_spec(&body).unwrap();
        assert_eq!(spec["resourceAttributes"]["verb"], "get");
        assert_eq!(spec["resourceAttributes"]["resource"], "secrets");
        assert_eq!(spec["resourceAttributes"]["group"], "");
        assert!(access_review_spec(b"k8s\0\xff").is_none());
    }
}
