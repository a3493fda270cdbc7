//! `sshd_config` for a private host: its own host key and keys file, public key
//! logins only, a verbose log (one `Accepted publickey` line per handshake,
//! which tests count), plus what one kind of host needs on top.

use std::path::{Path, PathBuf};

use crate::SshdError;

/// What goes into one host's `sshd_config`.
#[derive(Debug, Clone)]
pub struct SshdConfig {
    pub listen_address: String,
    pub port: u16,
    pub host_key: PathBuf,
    pub authorized_keys: PathBuf,
    pub pid_file: PathBuf,
    /// `AllowUsers`: the only account that may log in.
    pub allow_user: Option<String>,
    /// `SetEnv HOME=`: sessions get this HOME, so the account's own shell
    /// profile is not read.
    pub session_home: Option<PathBuf>,
    /// Further directives, one per entry, that only this kind of host needs.
    pub extra_directives: Vec<String>,
}

impl SshdConfig {
    pub fn new(
        listen_address: impl Into<String>,
        port: u16,
        host_key: PathBuf,
        authorized_keys: PathBuf,
        pid_file: PathBuf,
    ) -> SshdConfig {
        SshdConfig {
            listen_address: listen_address.into(),
            port,
            host_key,
            authorized_keys,
            pid_file,
            allow_user: None,
            session_home: None,
            extra_directives: Vec::new(),
        }
    }

    pub fn render(&self) -> String {
        let mut lines = vec![
            format!("ListenAddress {}", self.listen_address),
            format!("Port {}", self.port),
            format!("HostKey {}", self.host_key.display()),
            format!("AuthorizedKeysFile {}", self.authorized_keys.display()),
            format!("PidFile {}", self.pid_file.display()),
        ];
        if let Some(user) = &self.allow_user {
            lines.push(format!("AllowUsers {user}"));
        }
        for directive in [
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            // Keys live in temporary or private directories sshd would reject.
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "LogLevel VERBOSE",
            // One ControlMaster carries many sessions.
            "MaxSessions 64",
        ] {
            lines.push(directive.to_string());
        }
        lines.extend(self.extra_directives.iter().cloned());
        if let Some(home) = &self.session_home {
            lines.push(format!("SetEnv HOME={}", home.display()));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    /// Writes the config to `path`, readable by its owner only.
    pub fn write(&self, path: &Path) -> Result<(), SshdError> {
        write_private(path, &self.render())
    }
}

/// Writes `text` to `path`, readable by this user only (0600).
pub fn write_private(path: &Path, text: &str) -> Result<(), SshdError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |error| SshdError::io(format!("write {}", path.display()), error);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_directives_appear_only_when_asked_for() {
        let mut config = SshdConfig::new(
            "127.0.0.1",
            2222,
            "/h/key".into(),
            "/h/keys".into(),
            "/h/pid".into(),
        );
        let plain = config.render();
        assert!(plain.starts_with(
            "ListenAddress 127.0.0.1\nPort 2222\nHostKey /h/key\nAuthorizedKeysFile /h/keys\nPidFile /h/pid\n"
        ));
        assert!(!plain.contains("AllowUsers") && !plain.contains("SetEnv"));
        config.allow_user = Some("crab".into());
        config.session_home = Some("/h/home".into());
        config.extra_directives = vec!["PrintMotd no".into()];
        let full = config.render();
        assert!(full.contains("PidFile /h/pid\nAllowUsers crab\n"));
        assert!(full.ends_with("MaxSessions 64\nPrintMotd no\nSetEnv HOME=/h/home\n"));
    }
}
