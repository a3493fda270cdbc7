//! Signed `cbxu_` user tokens: `cbxu_<b64url(payload)>.<b64url(HMAC-SHA256)>`,
//! keyed by `CRABBOX_SESSION_SECRET`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crabbox_core::{constant_time_eq, Secret};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "cbxu_";
const TYPE: &str = "crabbox-user";
const VERSION: u32 = 3;
/// Issued-at times this far in the future are still accepted (clock skew).
const SKEW_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    pub typ: String,
    pub version: u32,
    #[serde(rename = "ownerSource")]
    pub owner_source: String,
    pub jti: String,
    pub owner: String,
    #[serde(default)]
    pub org: String,
    #[serde(default)]
    pub login: String,
    pub iat: i64,
    pub exp: i64,
}

fn signature(secret: &Secret, payload: &str) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("hmac takes any key");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Mints a token for `owner`/`org` valid for `ttl_secs` from `now` (Unix seconds).
pub fn mint(
    secret: &Secret,
    owner: &str,
    org: &str,
    login: &str,
    now: i64,
    ttl_secs: i64,
) -> String {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("the system random source");
    let claims = UserClaims {
        typ: TYPE.into(),
        version: VERSION,
        owner_source: "coordinator-issued".into(),
        jti: nonce.iter().map(|byte| format!("{byte:02x}")).collect(),
        owner: owner.into(),
        org: org.into(),
        login: login.into(),
        iat: now,
        exp: now + ttl_secs.max(1),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
    let signed = URL_SAFE_NO_PAD.encode(signature(secret, &payload));
    format!("{PREFIX}{payload}.{signed}")
}

/// Checks the signature, type, version and lifetime; `None` for anything invalid.
pub fn verify(secret: &Secret, token: &str, now: i64) -> Option<UserClaims> {
    let body = token.strip_prefix(PREFIX)?;
    let (payload, signed) = body.split_once('.')?;
    let given = URL_SAFE_NO_PAD.decode(signed).ok()?;
    if !constant_time_eq(&given, &signature(secret, payload)) {
        return None;
    }
    let raw: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    // A token may never carry admin authority itself.
    if raw.get("admin").is_some() {
        return None;
    }
    let claims: UserClaims = serde_json::from_value(raw).ok()?;
    let valid = claims.typ == TYPE
        && claims.version == VERSION
        && !claims.owner.trim().is_empty()
        && claims.iat <= now + SKEW_SECS
        && claims.exp > claims.iat
        && claims.exp > now;
    valid.then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let secret = Secret::new("s3cret");
        let token = mint(&secret, "github:42", "acme", "octo", 1_000, 3_600);
        let claims = verify(&secret, &token, 1_500).unwrap();
        assert_eq!(
            (claims.owner.as_str(), claims.org.as_str()),
            ("github:42", "acme")
        );
        assert!(verify(&secret, &token, 4_600).is_none(), "expired");
        assert!(verify(&Secret::new("other"), &token, 1_500).is_none());
        let mut forged = token.clone();
        forged.insert(10, 'A');
        assert!(verify(&secret, &forged, 1_500).is_none());
        assert!(verify(&secret, "cbxu_nodot", 1_500).is_none());
        let future = mint(&secret, "o", "", "", 2_000, 60);
        assert!(
            verify(&secret, &future, 1_000).is_none(),
            "issued in the future"
        );
    }

    #[test]
    fn refuses_an_admin_claim_even_when_signed() {
        let secret = Secret::new("s3cret");
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"typ":"crabbox-user","version":3,"ownerSource":"x","jti":"j","owner":"o","iat":1,"exp":99999,"admin":true}"#,
        );
        let token = format!(
            "{PREFIX}{payload}.{}",
            URL_SAFE_NO_PAD.encode(signature(&secret, &payload))
        );
        assert!(verify(&secret, &token, 10).is_none());
    }
}
