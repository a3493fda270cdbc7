//! Reading one YAML config file into a layer of registry values.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::error::ConfigError;
use crate::keys::{self, AliasMerge, KeySpec, Trust};
use crate::source::Source;
use crate::value::{self, Value};

/// What one file contributes.
#[derive(Debug, Default)]
pub(crate) struct FileLayer {
    pub values: Vec<(&'static str, Value)>,
    pub warnings: Vec<String>,
    /// Paths inside sections we accept but do not use yet.
    pub ignored: Vec<String>,
    /// Trusted-only keys this (repository) file set, which were dropped.
    pub rejected: Vec<&'static str>,
}

/// One occurrence of a key in the file, before aliases are reconciled.
struct Found {
    rank: u8,
    append: bool,
    value: Value,
}

/// Reads `path` as the layer `source`; `Ok(None)` when the file does not exist.
pub(crate) fn read(path: &Path, source: &Source) -> Result<Option<FileLayer>, ConfigError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: error,
            })
        }
    };
    let document: Yaml =
        serde_yaml_ng::from_str(&text).map_err(|error| parse_error(path, &error))?;
    let mapping = match document {
        Yaml::Null => return Ok(Some(FileLayer::default())),
        Yaml::Mapping(mapping) => mapping,
        _ => {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: "the top level must be a mapping of config keys".to_string(),
            })
        }
    };
    let mut walker = Walker {
        path,
        source,
        found: BTreeMap::new(),
        layer: FileLayer::default(),
    };
    walker.walk(&mapping, "")?;
    Ok(Some(walker.finish()))
}

fn parse_error(path: &Path, error: &serde_yaml_ng::Error) -> ConfigError {
    let (line, column) = error
        .location()
        .map(|location| (location.line(), location.column()))
        .unwrap_or((1, 1));
    // The location is reported separately, so drop the library's copy of it.
    let message = error
        .to_string()
        .replacen(&format!(" at line {line} column {column}"), "", 1);
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

struct Walker<'a> {
    path: &'a Path,
    source: &'a Source,
    found: BTreeMap<&'static str, Vec<Found>>,
    layer: FileLayer,
}

impl Walker<'_> {
    fn walk(&mut self, mapping: &Mapping, prefix: &str) -> Result<(), ConfigError> {
        for (name, node) in mapping {
            let name = key_text(name);
            let dotted = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            if let Some(spec) = keys::find(&dotted) {
                self.take(spec, &dotted, node, 1, false)?;
            } else if let Some(alias) = keys::find_alias(&dotted) {
                let spec = keys::find(alias.key).expect("aliases point at registry keys");
                let (rank, append) = match alias.merge {
                    AliasMerge::Fallback => (0, false),
                    AliasMerge::Override => (2, false),
                    AliasMerge::Append => (2, true),
                };
                self.take(spec, &dotted, node, rank, append)?;
            } else if keys::has_children(&dotted) {
                match node {
                    Yaml::Mapping(inner) => self.walk(inner, &dotted)?,
                    Yaml::Null => {}
                    _ => return Err(self.invalid(&dotted, "expected a mapping".to_string())),
                }
            } else if keys::is_ignored(&dotted) {
                self.layer.ignored.push(dotted);
            } else {
                self.layer.warnings.push(format!(
                    "unknown config key {dotted} in {}",
                    self.path.display()
                ));
            }
        }
        Ok(())
    }

    fn take(
        &mut self,
        spec: &'static KeySpec,
        dotted: &str,
        node: &Yaml,
        rank: u8,
        append: bool,
    ) -> Result<(), ConfigError> {
        if self.source.is_repo() && spec.trust == Trust::TrustedOnly {
            self.layer.rejected.push(spec.path);
            self.layer.warnings.push(format!(
                "ignoring {dotted} in {}: only user config, the environment or flags may set it",
                self.path.display()
            ));
            return Ok(());
        }
        let parsed =
            value::parse_yaml(spec.kind, node).map_err(|message| self.invalid(dotted, message))?;
        if let Some(value) = parsed {
            self.found.entry(spec.path).or_default().push(Found {
                rank,
                append,
                value,
            });
        }
        Ok(())
    }

    fn invalid(&self, dotted: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            key: dotted.to_string(),
            source_desc: self.source.to_string(),
            message,
        }
    }

    /// Reconciles keys set under several spellings in this one file.
    fn finish(mut self) -> FileLayer {
        for (key, mut occurrences) in self.found {
            occurrences.sort_by_key(|found| found.rank);
            let mut winner: Option<Value> = None;
            for found in occurrences {
                winner = match (winner, found.value) {
                    (Some(Value::List(mut items)), Value::List(more)) if found.append => {
                        for item in more {
                            if !items.contains(&item) {
                                items.push(item);
                            }
                        }
                        Some(Value::List(items))
                    }
                    (_, value) => Some(value),
                };
            }
            if let Some(value) = winner {
                self.layer.values.push((key, value));
            }
        }
        self.layer
    }
}

fn key_text(name: &Yaml) -> String {
    match name {
        Yaml::String(text) => text.clone(),
        Yaml::Number(number) => number.to_string(),
        Yaml::Bool(flag) => flag.to_string(),
        Yaml::Null => "null".to_string(),
        _ => "<complex key>".to_string(),
    }
}
