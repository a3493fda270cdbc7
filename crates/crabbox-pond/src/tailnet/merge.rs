//! Adds a pond's `tagOwners` entry and access row to a Tailscale policy file by
//! inserting text: comments, order, indentation and trailing commas of
//! everything already there survive byte for byte.

use super::hujson::{end_of_line_trivia, parse, Item, Kind, Node, SyntaxError};

/// Who may own a pond tag when the bootstrap creates the entry.
pub const TAG_OWNER: &str = "autogroup:admin";

/// Why a policy was refused; nothing is written for any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("the tailnet policy is not valid HuJSON: {0}")]
    Syntax(#[from] SyntaxError),
    #[error("the tailnet policy must be a JSON object at the top level")]
    RootNotObject,
    #[error("the tailnet policy has the top-level key {0:?} more than once")]
    DuplicateSection(String),
    #[error("the tailnet policy's tagOwners has the key {0:?} more than once")]
    DuplicateTagOwner(String),
    #[error("the tailnet policy's {section} must be {expected}")]
    WrongType {
        section: &'static str,
        expected: &'static str,
    },
    #[error("the merged policy still lacks the rows for {0} (a crabbox bug)")]
    NotConverged(String),
}

/// The sections the merge reads, after the structural checks.
struct Sections<'a> {
    root: &'a Node,
    tag_owners: Option<&'a Node>,
    grants: Option<&'a Node>,
    acls: Option<&'a Node>,
}

fn sections(root: &Node) -> Result<Sections<'_>, MergeError> {
    let members = root.members().ok_or(MergeError::RootNotObject)?;
    let mut seen = std::collections::BTreeSet::new();
    for member in members {
        let key = member.key.clone().unwrap_or_default();
        if !seen.insert(key.clone()) {
            return Err(MergeError::DuplicateSection(key));
        }
    }
    let tag_owners = root.get("tagOwners");
    if let Some(owners) = tag_owners {
        let owner_members = owners.members().ok_or(MergeError::WrongType {
            section: "tagOwners",
            expected: "an object",
        })?;
        let mut owners_seen = std::collections::BTreeSet::new();
        for member in owner_members {
            let key = member.key.clone().unwrap_or_default();
            if !owners_seen.insert(key.clone()) {
                return Err(MergeError::DuplicateTagOwner(key));
            }
        }
    }
    let array = |section: &'static str| -> Result<Option<&Node>, MergeError> {
        match root.get(section) {
            Some(node) if node.elements().is_none() => Err(MergeError::WrongType {
                section,
                expected: "an array",
            }),
            other => Ok(other),
        }
    };
    Ok(Sections {
        root,
        tag_owners,
        grants: array("grants")?,
        acls: array("acls")?,
    })
}

fn has_owner(sections: &Sections, tag: &str) -> bool {
    sections
        .tag_owners
        .and_then(|owners| owners.get(tag))
        .is_some()
}

fn has_access(sections: &Sections, tag: &str) -> bool {
    let rows = |node: Option<&Node>| -> Vec<Node> {
        node.and_then(Node::elements)
            .map(|items| items.iter().map(|item| item.value.clone()).collect())
            .unwrap_or_default()
    };
    let grant = rows(sections.grants).iter().any(|row| {
        let has = |key: &str| row.get(key).is_some_and(|list| list.array_contains(tag));
        let ip = row
            .get("ip")
            .and_then(Node::elements)
            .is_some_and(|items| !items.is_empty());
        has("src") && has("dst") && ip
    });
    let wildcard = format!("{tag}:*");
    let acl = rows(sections.acls).iter().any(|row| {
        let src = row.get("src").is_some_and(|list| list.array_contains(tag));
        let dst = row
            .get("dst")
            .is_some_and(|list| list.array_contains(tag) || list.array_contains(&wildcard));
        src && dst
    });
    grant || acl
}

/// True when `policy` already has both the owner entry and an access row for
/// `tag` (commented-out rows do not count). Structural problems are errors.
pub fn rows_present(policy: &str, tag: &str) -> Result<bool, MergeError> {
    let root = parse(policy)?;
    let sections = sections(&root)?;
    Ok(has_owner(&sections, tag) && has_access(&sections, tag))
}

/// `policy` with the rows for `tag` added where missing; unchanged (byte-equal)
/// when they are already present.
pub fn merge_policy(policy: &str, tag: &str) -> Result<String, MergeError> {
    let quoted = serde_json::to_string(tag).unwrap_or_default();
    let mut text = policy.to_string();

    let root = parse(&text)?;
    let found = sections(&root)?;
    if !has_owner(&found, tag) {
        let owner = format!("{quoted}:[\"{TAG_OWNER}\"]");
        text = match found.tag_owners {
            Some(owners) => insert_item(&text, owners, &owner),
            None => insert_item(&text, found.root, &format!("\"tagOwners\":{{{owner}}}")),
        };
    }

    let root = parse(&text)?;
    let found = sections(&root)?;
    if !has_access(&found, tag) {
        text = if let Some(grants) = found.grants {
            let row = format!("{{\"src\":[{quoted}],\"dst\":[{quoted}],\"ip\":[\"*\"]}}");
            insert_item(&text, grants, &row)
        } else {
            let wildcard = serde_json::to_string(&format!("{tag}:*")).unwrap_or_default();
            let row = format!("{{\"action\":\"accept\",\"src\":[{quoted}],\"dst\":[{wildcard}]}}");
            match found.acls {
                Some(acls) => insert_item(&text, acls, &row),
                None => insert_item(&text, found.root, &format!("\"acls\":[{row}]")),
            }
        };
    }

    if !rows_present(&text, tag)? {
        return Err(MergeError::NotConverged(tag.to_string()));
    }
    Ok(text)
}

/// Appends `item` (already rendered) as the last member/element of
/// `container`, copying the previous sibling's line break and indentation and
/// keeping a trailing comma if the container had one.
fn insert_item(text: &str, container: &Node, item: &str) -> String {
    let items: &[Item] = match &container.kind {
        Kind::Object(items) | Kind::Array(items) => items,
        _ => return text.to_string(),
    };
    let Some(last) = items.last() else {
        return insert_into_empty(text, container, item);
    };
    let prefix = sibling_prefix(text, last.start);
    match last.comma {
        Some(comma) => {
            let at = end_of_line_trivia(text, comma + 1);
            format!("{}{prefix}{item},{}", &text[..at], &text[at..])
        }
        None => {
            let value_end = last.value.end;
            let at = end_of_line_trivia(text, value_end);
            format!(
                "{},{}{prefix}{item}{}",
                &text[..value_end],
                &text[value_end..at],
                &text[at..]
            )
        }
    }
}

/// An item for a container without items: right after the opening bracket
/// when it is on one line, else on its own line before the closing one,
/// indented like the comment lines inside (or one level deeper than the
/// closing bracket).
fn insert_into_empty(text: &str, container: &Node, item: &str) -> String {
    let open = container.start + 1;
    let close = container.end - 1;
    let Some(last_break) = text[open..close].rfind('\n').map(|at| open + at) else {
        return format!("{}{item}{}", &text[..open], &text[open..]);
    };
    let (at, line_break) = match text[..last_break].strip_suffix('\r') {
        Some(_) => (last_break - 1, "\r\n"),
        None => (last_break, "\n"),
    };
    let inside = text[open..at]
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line[..line.len() - line.trim_start().len()].to_string());
    let indent = inside.unwrap_or_else(|| {
        let closing = &text[last_break + 1..close];
        format!(
            "{closing}{}",
            if closing.contains('\t') { "\t" } else { "  " }
        )
    });
    format!("{}{line_break}{indent}{item}{}", &text[..at], &text[at..])
}

/// The line break plus indentation in front of the item at `start`, or a
/// single space when that item shares its line with the previous one.
fn sibling_prefix(text: &str, start: usize) -> String {
    let before = &text[..start];
    let indent_from = before.trim_end_matches([' ', '\t']).len();
    if before[..indent_from].ends_with('\n') {
        let line_break = if before[..indent_from].ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        format!("{line_break}{}", &before[indent_from..])
    } else {
        " ".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = "tag:cbx-pond-ann-alpha";

    #[test]
    fn compact_policies_stay_compact() {
        let merged = merge_policy("{}", TAG).unwrap();
        let expected = concat!(
            r#"{"tagOwners":{"tag:cbx-pond-ann-alpha":["autogroup:admin"]}, "#,
            r#""acls":[{"action":"accept","src":["tag:cbx-pond-ann-alpha"],"#,
            r#""dst":["tag:cbx-pond-ann-alpha:*"]}]}"#
        );
        assert_eq!(merged, expected);
        assert_eq!(merge_policy(&merged, TAG).unwrap(), merged);
    }

    #[test]
    fn grant_needs_ip_and_both_ends() {
        let without_ip = format!(
            r#"{{"tagOwners":{{"{TAG}":[]}},"grants":[{{"src":["{TAG}"],"dst":["{TAG}"],"ip":[]}}]}}"#
        );
        assert!(!rows_present(&without_ip, TAG).unwrap());
        let merged = merge_policy(&without_ip, TAG).unwrap();
        assert!(merged.ends_with(&format!(
            r#", {{"src":["{TAG}"],"dst":["{TAG}"],"ip":["*"]}}]}}"#
        )));
    }

    #[test]
    fn empty_multi_line_containers_get_their_own_line() {
        let merged = merge_policy("{\n\t\"acls\": [\n\t],\n}", TAG).unwrap();
        assert!(merged.contains("\"acls\": [\n\t\t{\"action\""), "{merged}");
        let merged = merge_policy("{\n}", TAG).unwrap();
        assert!(merged.starts_with("{\n  \"tagOwners\""), "{merged}");
    }

    #[test]
    fn crlf_line_breaks_are_copied() {
        let policy = "{\r\n  \"acls\": []\r\n}\r\n";
        let merged = merge_policy(policy, TAG).unwrap();
        assert!(merged.contains("}],\r\n  \"tagOwners\""), "{merged}");
        assert_eq!(merged.matches('\n').count(), merged.matches("\r\n").count());
    }
}
