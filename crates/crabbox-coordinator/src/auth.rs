//! Authentication: one [`Principal`] per request from the bearer token. Handlers
//! receive the principal and never read identity headers themselves.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use crabbox_proto::Timestamp;

use crate::error::ApiError;
use crate::settings::Settings;
use crate::state::Coordinator;
use crate::user_token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// The admin or shared token.
    Bearer,
    /// A signed user token.
    Github,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Bearer => "bearer",
            AuthKind::Github => "github",
        }
    }
}

/// Who is calling, resolved once from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub owner: String,
    pub org: String,
    pub admin: bool,
    pub auth: AuthKind,
    pub token_expires_at: Option<Timestamp>,
}

impl Principal {
    /// Admin, or the exact owner in the same org.
    pub fn owns(&self, owner: &str, org: &str) -> bool {
        self.admin || (self.owner == owner && self.org == org)
    }
}

/// Identity headers are at most 320 printable characters.
fn identity_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    let printable = !value.is_empty()
        && value.len() <= 320
        && !value.chars().any(|character| character.is_control());
    printable.then(|| value.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

/// Admin token (honours `X-Crabbox-Owner`/`X-Crabbox-Org`), then the shared token
/// (ignores them), then a signed user token.
pub fn authenticate(
    settings: &Settings,
    headers: &HeaderMap,
    now: Timestamp,
) -> Result<Principal, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    if settings
        .admin_token
        .as_ref()
        .is_some_and(|admin| admin.matches(token))
    {
        return Ok(Principal {
            owner: identity_header(headers, "x-crabbox-owner").unwrap_or_else(|| "unknown".into()),
            org: identity_header(headers, "x-crabbox-org")
                .unwrap_or_else(|| settings.default_org.clone()),
            admin: true,
            auth: AuthKind::Bearer,
            token_expires_at: None,
        });
    }
    if settings
        .shared_token
        .as_ref()
        .is_some_and(|shared| shared.matches(token))
    {
        return Ok(Principal {
            owner: settings.shared_owner.clone(),
            org: settings.default_org.clone(),
            admin: false,
            auth: AuthKind::Bearer,
            token_expires_at: None,
        });
    }
    if let Some(secret) = &settings.session_secret {
        if let Some(claims) = user_token::verify(secret, token, now.millis() / 1000) {
            return Ok(Principal {
                admin: settings.github_admin_owners.contains(&claims.owner),
                org: if claims.org.is_empty() {
                    settings.default_org.clone()
                } else {
                    claims.org
                },
                owner: claims.owner,
                auth: AuthKind::Github,
                token_expires_at: Some(Timestamp(claims.exp * 1000)),
            });
        }
    }
    Err(ApiError::unauthorized())
}

impl FromRequestParts<Coordinator> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Coordinator,
    ) -> Result<Principal, ApiError> {
        authenticate(state.settings(), &parts.headers, state.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crabbox_core::Secret;

    fn settings() -> Settings {
        Settings {
            admin_token: Some(Secret::new("admin-token")),
            shared_token: Some(Secret::new("shared-token")),
            shared_owner: "team".into(),
            default_org: "acme".into(),
            session_secret: Some(Secret::new("session")),
            ..Settings::default()
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn admin_honours_identity_headers_and_shared_ignores_them() {
        let identity = [("x-crabbox-owner", "alice"), ("x-crabbox-org", "blue")];
        let mut admin_headers = headers(&identity);
        admin_headers.insert("authorization", "Bearer admin-token".parse().unwrap());
        let admin = authenticate(&settings(), &admin_headers, Timestamp(0)).unwrap();
        assert_eq!(
            (admin.owner.as_str(), admin.org.as_str(), admin.admin),
            ("alice", "blue", true)
        );

        let mut shared_headers = headers(&identity);
        shared_headers.insert("authorization", "Bearer shared-token".parse().unwrap());
        let shared = authenticate(&settings(), &shared_headers, Timestamp(0)).unwrap();
        assert_eq!(
            (shared.owner.as_str(), shared.org.as_str(), shared.admin),
            ("team", "acme", false)
        );
    }

    #[test]
    fn user_tokens_carry_their_identity() {
        let settings = settings();
        let token = user_token::mint(
            settings.session_secret.as_ref().unwrap(),
            "github:7",
            "",
            "octo",
            100,
            60,
        );
        let request = headers(&[("authorization", &format!("Bearer {token}"))]);
        let principal = authenticate(&settings, &request, Timestamp(120_000)).unwrap();
        assert_eq!(principal.owner, "github:7");
        assert_eq!(principal.org, "acme");
        assert_eq!(principal.auth, AuthKind::Github);
        assert!(
            authenticate(&settings, &request, Timestamp(200_000)).is_err(),
            "expired"
        );
    }

    #[test]
    fn missing_or_wrong_tokens_are_unauthorized() {
        for value in [
            "",
            "Bearer",
            "Bearer nope",
            "Basic admin-token",
            "Bearer admin-token2",
        ] {
            let request = if value.is_empty() {
                HeaderMap::new()
            } else {
                headers(&[("authorization", value)])
            };
            let error = authenticate(&settings(), &request, Timestamp(0)).unwrap_err();
            assert_eq!(error.code, "unauthorized", "{value:?}");
        }
    }
}
