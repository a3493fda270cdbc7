//! Go `filepath.Match`-style globs, compiled once and matched one path segment at a
//! time.

/// One element of a compiled segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`: exactly one character.
    AnyCharacter,
    /// `*`: any run of characters, including none.
    AnyRun,
    /// `[...]`: one character inside (or, negated, outside) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled pattern. No wildcard crosses a `/` (unlike Go, classes never match
/// one either, so every pattern stays segment-bound), which lets the pattern be
/// stored and matched segment by segment.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    segments: Vec<Vec<Token>>,
}

impl Glob {
    /// Compiles `pattern`; the error says what is malformed.
    pub(crate) fn compile(pattern: &str) -> Result<Glob, &'static str> {
        let mut segments = vec![Vec::new()];
        let mut characters = pattern.chars().peekable();
        while let Some(character) = characters.next() {
            let token = match character {
                '*' => Token::AnyRun,
                '?' => Token::AnyCharacter,
                '[' => parse_class(&mut characters)?,
                '\\' => Token::Literal(
                    characters
                        .next()
                        .ok_or("pattern ends with a lone backslash")?,
                ),
                other => Token::Literal(other),
            };
            if token == Token::Literal('/') {
                segments.push(Vec::new());
            } else {
                segments.last_mut().expect("one segment").push(token);
            }
        }
        Ok(Glob { segments })
    }

    /// The unescaped text when the pattern is one segment without wildcards.
    pub(crate) fn literal_segment(&self) -> Option<String> {
        let [tokens] = self.segments.as_slice() else {
            return None;
        };
        tokens
            .iter()
            .map(|token| match token {
                Token::Literal(character) => Some(*character),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn is_single_segment(&self) -> bool {
        self.segments.len() == 1
    }

    /// Matches one path segment (text without `/`) against a single-segment glob.
    pub(crate) fn matches_segment(&self, segment: &str) -> bool {
        self.segments.len() == 1 && match_tokens(&self.segments[0], segment)
    }

    /// Matches the leading segments of `path` that line up with the pattern's:
    /// the whole path when the counts agree, or one of its directory prefixes.
    pub(crate) fn matches_leading(&self, path: &str) -> bool {
        let mut parts = path.split('/');
        self.segments.iter().all(|tokens| {
            parts
                .next()
                .is_some_and(|segment| match_tokens(tokens, segment))
        })
    }
}

fn parse_class(
    characters: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<Token, &'static str> {
    let negated = characters.next_if(|c| *c == '^' || *c == '!').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && characters.next_if_eq(&']').is_some() {
            return Ok(Token::Class { negated, ranges });
        }
        let low = class_character(characters)?;
        let high = if characters.next_if_eq(&'-').is_some() {
            class_character(characters)?
        } else {
            low
        };
        ranges.push((low, high));
    }
}

/// One class member; like Go, an unescaped `-` or `]` here is malformed.
fn class_character(
    characters: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<char, &'static str> {
    match characters.next() {
        None => Err("unclosed character class"),
        Some('-' | ']') => Err("malformed character class"),
        Some('\\') => characters.next().ok_or("unclosed character class"),
        Some(character) => Ok(character),
    }
}

/// Wildcard matching with a single backtrack point: a later `*` can always absorb
/// what an earlier one would, so only the most recent needs retrying.
fn match_tokens(tokens: &[Token], text: &str) -> bool {
    let (mut token_index, mut text_index) = (0, 0);
    let mut retry: Option<(usize, usize)> = None;
    loop {
        if let Some(token) = tokens.get(token_index) {
            if *token == Token::AnyRun {
                retry = Some((token_index + 1, text_index));
                token_index += 1;
                continue;
            }
            if let Some(character) = text[text_index..].chars().next() {
                if token_accepts(token, character) {
                    token_index += 1;
                    text_index += character.len_utf8();
                    continue;
                }
            }
        } else if text_index == text.len() {
            return true;
        }
        // Mismatch: let the latest `*` swallow one more character and try again.
        let Some((after_star, start)) = retry else {
            return false;
        };
        let Some(character) = text[start..].chars().next() else {
            return false;
        };
        let next = start + character.len_utf8();
        retry = Some((after_star, next));
        token_index = after_star;
        text_index = next;
    }
}

fn token_accepts(token: &Token, character: char) -> bool {
    match token {
        Token::Literal(expected) => *expected == character,
        Token::AnyCharacter => character != '/',
        Token::AnyRun => unreachable!("handled by the matcher loop"),
        Token::Class { negated, ranges } => {
            character != '/'
                && ranges
                    .iter()
                    .any(|(low, high)| (*low..=*high).contains(&character))
                    != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn segments_match_like_go_filepath_match() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("abc", "abd", false),
            ("*", "anything", true),
            ("*", "", true),
            ("a*", "a", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*.rs", "main.rs", true),
            ("*.rs", "main.rsx", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a*bc", "abcbc", true),
            ("?", "x", true),
            ("?", "", false),
            ("?", "é", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[abc]", "b", true),
            ("[abc]", "d", false),
            ("[a-c]x", "bx", true),
            ("[^a-c]", "d", true),
            ("[^a-c]", "a", false),
            ("[!a-c]", "d", true),
            ("[!a-c]", "b", false),
            ("[\\]]", "]", true),
            ("[\\-]", "-", true),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("\\[x]", "[x]", true),
            ("._*", "._foo", true),
            ("._*", "_foo", false),
        ];
        for (pattern, text, expected) in cases {
            let glob = Glob::compile(pattern).expect(pattern);
            assert_eq!(
                glob.matches_segment(text),
                *expected,
                "{pattern:?} against {text:?}"
            );
        }
    }

    #[test]
    fn wildcards_never_cross_a_separator() {
        let cases: &[(&str, &str, bool)] = &[
            ("apps/*/.build", "apps/web/.build", true),
            ("apps/*/.build", "apps/web/.build/out", true),
            ("apps/*/.build", "apps/a/b/.build", false),
            ("apps/*/.build", "apps/.build", false),
            ("a/?", "a/b", true),
            ("a?b", "a/b", false),
            ("a[^x]b", "a/b", false),
            ("a\\/b", "a/b", true),
        ];
        for (pattern, path, expected) in cases {
            let glob = Glob::compile(pattern).expect(pattern);
            let found = if glob.is_single_segment() {
                glob.matches_segment(path)
            } else {
                glob.matches_leading(path)
            };
            assert_eq!(found, *expected, "{pattern:?} against {path:?}");
        }
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        for pattern in ["[abc", "[]", "[a-]", "[-a]", "abc\\", "[a-\\", "[^"] {
            assert!(Glob::compile(pattern).is_err(), "{pattern:?}");
        }
    }

    #[test]
    fn only_wildcard_free_single_segments_are_literal() {
        let literal = |pattern: &str| Glob::compile(pattern).unwrap().literal_segment();
        assert_eq!(literal("target").as_deref(), Some("target"));
        assert_eq!(literal("a\\*b").as_deref(), Some("a*b"));
        assert_eq!(literal("a*b"), None);
        assert_eq!(literal("a/b"), None);
    }
}
