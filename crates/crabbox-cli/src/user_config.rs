//! Editing the user config file for `login` and `logout`: set or remove the
//! `broker:` keys, keep every other key, write atomically with mode 0600.

use std::path::Path;

use crabbox_proto::ErrorClass;
use serde_yaml_ng::{Mapping, Value};

use crate::error::{CliError, CliResult};

/// Legacy top-level spellings of the broker keys; `broker.*` replaces them.
const LEGACY_URL: &str = "coordinator";
const LEGACY_TOKEN: &str = "coordinatorToken";

fn read(path: &Path) -> CliResult<Mapping> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Mapping::new()),
        Err(error) => {
            return Err(CliError::of(
                ErrorClass::Failed,
                format!("cannot read {}: {error}", path.display()),
            ))
        }
    };
    match serde_yaml_ng::from_str::<Value>(&text) {
        Ok(Value::Mapping(mapping)) => Ok(mapping),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(_) => Err(CliError::usage(format!(
            "{} is not a mapping of config keys",
            path.display()
        ))),
        Err(error) => Err(
            CliError::usage(format!("cannot parse {}: {error}", path.display()))
                .with_hint("fix the YAML syntax, or move the file aside"),
        ),
    }
}

fn write(path: &Path, mapping: &Mapping) -> CliResult<()> {
    let failed = |error: &dyn std::fmt::Display| {
        CliError::of(
            ErrorClass::Failed,
            format!("cannot write {}: {error}", path.display()),
        )
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        if !parent.exists() {
            crabbox_core::ensure_private_dir(parent).map_err(|error| failed(&error))?;
        }
    }
    let text = serde_yaml_ng::to_string(mapping).map_err(|error| failed(&error))?;
    crabbox_core::write_private_atomic(path, text.as_bytes()).map_err(|error| failed(&error))
}

fn broker(mapping: &mut Mapping) -> &mut Mapping {
    let key = Value::from("broker");
    if !matches!(mapping.get(&key), Some(Value::Mapping(_))) {
        mapping.insert(key.clone(), Value::Mapping(Mapping::new()));
    }
    match mapping.get_mut(&key) {
        Some(Value::Mapping(broker)) => broker,
        _ => unreachable!("inserted above"),
    }
}

/// Stores `broker.url` and `broker.token`.
pub fn set_broker(path: &Path, url: &str, token: &str) -> CliResult<()> {
    let mut mapping = read(path)?;
    mapping.remove(LEGACY_URL);
    mapping.remove(LEGACY_TOKEN);
    let broker = broker(&mut mapping);
    broker.insert("url".into(), url.into());
    broker.insert("token".into(), token.into());
    write(path, &mapping)
}

/// Removes the token (both spellings); false when there was none.
pub fn remove_token(path: &Path) -> CliResult<bool> {
    let mut mapping = read(path)?;
    let mut removed = mapping.remove(LEGACY_TOKEN).is_some();
    if let Some(Value::Mapping(broker)) = mapping.get_mut("broker") {
        removed |= broker.remove("token").is_some();
    }
    if removed {
        write(path, &mapping)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn login_keys_are_merged_and_logout_keeps_the_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crabbox/config.yaml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "class: fast\ncoordinatorToken: old\nbroker:\n  mode: managed\n",
        )
        .unwrap();
        set_broker(&path, "https://coordinator.example", "tok").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(value["class"], Value::from("fast"));
        assert_eq!(value["broker"]["mode"], Value::from("managed"));
        assert_eq!(
            value["broker"]["url"],
            Value::from("https://coordinator.example")
        );
        assert_eq!(value["broker"]["token"], Value::from("tok"));
        assert!(value.get("coordinatorToken").is_none());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        assert!(remove_token(&path).unwrap());
        let value: Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(value["broker"].get("token").is_none());
        assert_eq!(
            value["broker"]["url"],
            Value::from("https://coordinator.example")
        );
        assert!(!remove_token(&path).unwrap());
    }

    #[test]
    fn a_missing_file_and_directory_are_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/config.yaml");
        set_broker(&path, "http://127.0.0.1:8787", "tok").unwrap();
        let mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("token: tok"));
    }
}
