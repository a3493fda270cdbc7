//! Per-lease client key pairs, generated with `ssh-keygen`.

use std::path::{Path, PathBuf};

use crate::{find_tool, SshError};

/// Paths of a lease's private and public key.
#[derive(Debug, Clone)]
pub struct KeyPair {
    pub private_key: PathBuf,
    pub public_key: PathBuf,
}

impl KeyPair {
    pub fn public_key_text(&self) -> std::io::Result<String> {
        Ok(std::fs::read_to_string(&self.public_key)?
            .trim()
            .to_string())
    }
}

/// Ensures `<dir>/id_ed25519` exists (an existing key is reused). `dir` must already
/// be a private directory.
pub fn ensure_key(dir: &Path, comment: &str) -> Result<KeyPair, SshError> {
    ensure_key_named(dir, "id_ed25519", comment)
}

/// Same as [`ensure_key`] with a chosen file name (host keys use their own name).
pub fn ensure_key_named(dir: &Path, name: &str, comment: &str) -> Result<KeyPair, SshError> {
    let pair = KeyPair {
        private_key: dir.join(name),
        public_key: dir.join(format!("{name}.pub")),
    };
    if pair.private_key.is_file() && pair.public_key.is_file() {
        return Ok(pair);
    }
    let keygen = find_tool("ssh-keygen")?;
    let _ = std::fs::remove_file(&pair.private_key);
    let _ = std::fs::remove_file(&pair.public_key);
    // ssh-keygen needs nothing from the environment, and a coordinator making a
    // host key must not hand it its tokens.
    let output = std::process::Command::new(keygen)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&pair.private_key)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| SshError::Spawn {
            program: "ssh-keygen".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(SshError::Command {
            program: "ssh-keygen".into(),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(pair)
}
