//! A small HuJSON (JSON with comments and trailing commas) scanner that keeps
//! byte offsets, so a policy file can be patched in place instead of being
//! re-serialized (which would lose comments, order and formatting).

/// A parsed value and the bytes it covers (`end` is exclusive).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Object(Vec<Item>),
    Array(Vec<Item>),
    String(String),
    /// Numbers, `true`, `false`, `null`.
    Other,
}

/// An object member (with `key`) or an array element (without).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    /// Offset of the key (members) or of the value (elements).
    pub start: usize,
    pub key: Option<String>,
    pub value: Node,
    /// Offset of the comma after this item, if any.
    pub comma: Option<usize>,
}

/// Why a text is not HuJSON, with the byte offset where scanning stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct SyntaxError {
    pub offset: usize,
    pub reason: &'static str,
}

impl Node {
    pub fn members(&self) -> Option<&[Item]> {
        match &self.kind {
            Kind::Object(items) => Some(items),
            _ => None,
        }
    }

    pub fn elements(&self) -> Option<&[Item]> {
        match &self.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The first member named `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members()?
            .iter()
            .find(|item| item.key.as_deref() == Some(key))
            .map(|item| &item.value)
    }

    /// True for an array holding the string `wanted`.
    pub fn array_contains(&self, wanted: &str) -> bool {
        self.elements().is_some_and(|items| {
            items
                .iter()
                .any(|item| matches!(&item.value.kind, Kind::String(text) if text == wanted))
        })
    }
}

/// Parses one HuJSON value surrounded only by whitespace and comments.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    scanner.skip_trivia()?;
    if scanner.at == scanner.bytes.len() {
        return Err(scanner.error("empty document"));
    }
    let root = scanner.value(0)?;
    scanner.skip_trivia()?;
    if scanner.at != scanner.bytes.len() {
        return Err(scanner.error("unexpected text after the document"));
    }
    Ok(root)
}

/// End of the trailing same-line comments after `from` (spaces, tabs and
/// comments that do not cross a newline); stops before the newline.
pub(crate) fn end_of_line_trivia(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        while at < bytes.len() && matches!(bytes[at], b' ' | b'\t') {
            at += 1;
        }
        if bytes[at..].starts_with(b"//") {
            while at < bytes.len() && bytes[at] != b'\n' {
                at += 1;
            }
            return at;
        }
        if bytes[at..].starts_with(b"/*") {
            match text[at + 2..].find("*/") {
                Some(close) if !text[at..at + 2 + close].contains('\n') => at += close + 4,
                _ => return at,
            }
            continue;
        }
        return at;
    }
}

const MAX_DEPTH: usize = 64;

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn error(&self, reason: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.at,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.at += 1,
                Some(b'/') if self.bytes.get(self.at + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|byte| byte != b'\n') {
                        self.at += 1;
                    }
                }
                Some(b'/') if self.bytes.get(self.at + 1) == Some(&b'*') => {
                    let rest = &self.bytes[self.at + 2..];
                    let close = rest
                        .windows(2)
                        .position(|pair| pair == b"*/")
                        .ok_or_else(|| self.error("unterminated block comment"))?;
                    self.at += close + 4;
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let start = self.at;
        let kind = match self.peek() {
            Some(b'{') => Kind::Object(self.items(b'}', true, depth)?),
            Some(b'[') => Kind::Array(self.items(b']', false, depth)?),
            Some(b'"') => Kind::String(self.string()?),
            Some(byte) if byte == b'-' || byte.is_ascii_alphanumeric() => {
                while self
                    .peek()
                    .is_some_and(|byte| byte.is_ascii_alphanumeric() || b"+-.".contains(&byte))
                {
                    self.at += 1;
                }
                let word = &self.bytes[start..self.at];
                let number = word[0] == b'-' || word[0].is_ascii_digit();
                if !number && !matches!(word, b"true" | b"false" | b"null") {
                    self.at = start;
                    return Err(self.error("unknown literal"));
                }
                Kind::Other
            }
            Some(_) => return Err(self.error("unexpected character")),
            None => return Err(self.error("unexpected end of document")),
        };
        Ok(Node {
            start,
            end: self.at,
            kind,
        })
    }

    /// Items of an object (`keyed`) or array up to `close`; the opening
    /// bracket is at the cursor.
    fn items(&mut self, close: u8, keyed: bool, depth: usize) -> Result<Vec<Item>, SyntaxError> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok(items);
            }
            if items.last().is_some_and(|item: &Item| item.comma.is_none()) {
                return Err(self.error("expected a comma"));
            }
            let start = self.at;
            let key = if keyed {
                if self.peek() != Some(b'"') {
                    return Err(self.error("expected a quoted key"));
                }
                let key = self.string()?;
                self.skip_trivia()?;
                if self.peek() != Some(b':') {
                    return Err(self.error("expected a colon"));
                }
                self.at += 1;
                self.skip_trivia()?;
                Some(key)
            } else {
                None
            };
            let value = self.value(depth + 1)?;
            self.skip_trivia()?;
            let comma = (self.peek() == Some(b',')).then_some(self.at);
            if comma.is_some() {
                self.at += 1;
            }
            items.push(Item {
                start,
                key,
                value,
                comma,
            });
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let open = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    self.at = open;
                    return Err(self.error("unterminated string"));
                }
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escaped = self.bytes.get(self.at + 1).copied();
                    self.at += 2;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'n') => out.push('\n'),
                        Some(b't') => out.push('\t'),
                        Some(b'r') => out.push('\r'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at..self.at + 4);
                            let code = hex
                                .and_then(|hex| std::str::from_utf8(hex).ok())
                                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                                .ok_or_else(|| self.error("bad unicode escape"))?;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            self.at += 4;
                        }
                        _ => return Err(self.error("bad escape")),
                    }
                }
                Some(_) => {
                    // Copy one whole UTF-8 character.
                    let rest = std::str::from_utf8(&self.bytes[self.at..])
                        .map_err(|_| self.error("invalid UTF-8"))?;
                    let character = rest.chars().next().unwrap_or_default();
                    out.push(character);
                    self.at += character.len_utf8();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_trailing_commas_and_offsets() {
        let text =
            "// head\n{\n  \"a\": [1, \"x\",], /* mid */\n  \"b\": {\"c\": true},\n}\n// tail";
        let root = parse(text).unwrap();
        let members = root.members().unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].key.as_deref(), Some("a"));
        assert!(members[0].value.array_contains("x"));
        assert!(members[1].comma.is_some());
        assert_eq!(
            &text[members[1].value.start..members[1].value.end],
            "{\"c\": true}"
        );
        assert_eq!(
            root.get("b").and_then(|b| b.get("c")).map(|c| &c.kind),
            Some(&Kind::Other)
        );
    }

    #[test]
    fn refuses_malformed_text() {
        for text in [
            "",
            "  // only a comment",
            "{",
            "{\"a\" 1}",
            "{\"a\": 1 \"b\": 2}",
            "[1,,]",
            "{a: 1}",
            "{\"a\": tru}",
            "/* open",
            "{} x",
            "\"open",
        ] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn line_trivia_stops_at_newline() {
        let text = "1, // note\n2";
        assert_eq!(end_of_line_trivia(text, 2), 10);
        assert_eq!(end_of_line_trivia("1, /* a */ \n", 2), 11);
        assert_eq!(end_of_line_trivia("1, /* a\n */", 2), 3);
    }
}
