//! The devbox's key pair: read from its Secret only after the Secret's controller
//! ownerReference names this exact devbox, then persisted atomically (private 0600).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use super::cluster::API_VERSION;
use crate::ProviderError;

/// A key pair; `Debug` never shows the private half.
pub struct KeyPair {
    pub public: String,
    private: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KeyPair")
            .field("public", &self.public)
            .field("private", &"[REDACTED]")
            .finish()
    }
}

fn conflict(message: String) -> ProviderError {
    ProviderError::Conflict {
        message,
        hint: "the Secret must be created by the Sealos controller for this devbox; delete the devbox and start a new lease".into(),
    }
}

/// Checks the Secret belongs to `devbox` (same name and namespace, a controller
/// ownerReference with the devbox's API version, kind, name and uid).
pub fn check_owner(secret: &Value, devbox: &Value) -> Result<(), ProviderError> {
    let name = devbox["metadata"]["name"].as_str().unwrap_or("");
    let namespace = devbox["metadata"]["namespace"].as_str().unwrap_or("");
    let uid = devbox["metadata"]["uid"].as_str().unwrap_or("");
    if secret["metadata"]["name"].as_str() != Some(name)
        || secret["metadata"]["namespace"].as_str() != Some(namespace)
    {
        return Err(conflict(format!(
            "secret {namespace}/{name} does not match devbox {namespace}/{name}"
        )));
    }
    let owned = secret["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|owners| {
            owners.iter().any(|owner| {
                owner["controller"].as_bool() == Some(true)
                    && owner["apiVersion"].as_str() == Some(API_VERSION)
                    && owner["kind"].as_str() == Some("Devbox")
                    && owner["name"].as_str() == Some(name)
                    && owner["uid"].as_str() == Some(uid)
            })
        });
    if !owned {
        return Err(conflict(format!("secret {namespace}/{name} is not controlled by devbox {namespace}/{name}; refusing to use its key")));
    }
    Ok(())
}

fn field(secret: &Value, key: &str) -> Result<String, ProviderError> {
    if let Some(text) = secret["stringData"][key]
        .as_str()
        .filter(|text| !text.trim().is_empty())
    {
        return Ok(text.to_string());
    }
    let invalid = || ProviderError::NotReady {
        message: format!("the devbox Secret has no valid {key}"),
        hint: "wait for the Sealos controller to finish, or recreate the devbox".into(),
    };
    let encoded = secret["data"][key].as_str().ok_or_else(invalid)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| invalid())?;
    String::from_utf8(bytes)
        .ok()
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(invalid)
}

pub fn parse(secret: &Value) -> Result<KeyPair, ProviderError> {
    let public = field(secret, "SEALOS_DEVBOX_PUBLIC_KEY")?
        .trim()
        .to_string();
    let mut private = field(secret, "SEALOS_DEVBOX_PRIVATE_KEY")?;
    if !private.ends_with('\n') {
        private.push('\n');
    }
    Ok(KeyPair { public, private })
}

fn write_atomic(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temporary)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Writes `id_ed25519.pub` (0644) then `id_ed25519` (0600) in `dir` (0700). If the
/// private key cannot be written the previous public key is put back.
pub fn persist(dir: &Path, pair: &KeyPair) -> Result<(), ProviderError> {
    let io = |error| {
        ProviderError::io(
            format!("cannot store the devbox key in {}", dir.display()),
            error,
        )
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    let public_path = dir.join("id_ed25519.pub");
    let previous = std::fs::read_to_string(&public_path).ok();
    write_atomic(&public_path, &format!("{}\n", pair.public), 0o644).map_err(io)?;
    if let Err(error) = write_atomic(&dir.join("id_ed25519"), &pair.private, 0o600) {
        match previous {
            Some(old) => {
                let _ = write_atomic(&public_path, &old, 0o644);
            }
            None => {
                let _ = std::fs::remove_file(&public_path);
            }
        }
        return Err(io(error));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn devbox() -> Value {
        json!({"metadata": {"name": "box", "namespace": "ns", "uid": "u-1"}})
    }

    fn secret(owner_uid: &str, controller: bool) -> Value {
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        json!({
            "metadata": {"name": "box", "namespace": "ns", "ownerReferences": [
                {"apiVersion": API_VERSION, "kind": "Devbox", "name": "box", "uid": owner_uid, "controller": controller}
            ]},
            "data": {"SEALOS_DEVBOX_PUBLIC_KEY": encode(" ssh-ed25519 AAAA x \n"), "SEALOS_DEVBOX_PRIVATE_KEY": encode("PRIVATE")},
        })
    }

    #[test]
    fn owner_must_be_the_exact_controlling_devbox() {
        assert!(check_owner(&secret("u-1", true), &devbox()).is_ok());
        assert!(matches!(
            check_owner(&secret("u-2", true), &devbox()),
            Err(ProviderError::Conflict { .. })
        ));
        assert!(check_owner(&secret("u-1", false), &devbox()).is_err());
    }

    #[test]
    fn keys_parse_and_persist_with_private_modes() {
        let pair = parse(&secret("u-1", true)).unwrap();
        assert_eq!(pair.public, "ssh-ed25519 AAAA x");
        assert!(!format!("{pair:?}").contains("PRIVATE"));
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("lease");
        persist(&keys, &pair).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys.join("id_ed25519")), 0o600);
        assert_eq!(mode(&keys.join("id_ed25519.pub")), 0o644);
        assert_eq!(mode(&keys), 0o700);
        assert_eq!(
            std::fs::read_to_string(keys.join("id_ed25519")).unwrap(),
            "PRIVATE\n"
        );
        let missing = json!({"data": {"SEALOS_DEVBOX_PUBLIC_KEY": "!!"}});
        assert!(matches!(
            parse(&missing),
            Err(ProviderError::NotReady { .. })
        ));
    }
}
