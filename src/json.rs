//! The little JSON baton needs: string literals for what it writes (the
//! termination message, JSON log lines), and reading a termination message
//! that is already there, so that its entries are kept. A reader of one shape
//! (an array of values, each kept as compact text, with the `key` of objects
//! picked out) instead of `serde_json`: 0.03 MB less binary in every container,
//! and entries written by others pass through unchanged but for whitespace
//! (key order and number spelling kept).

use std::fmt::Write as _;

/// Deeper nesting than this is refused rather than followed (no stack
/// exhaustion on a hostile file).
const MAX_DEPTH: usize = 64;

/// Appends `text` as a JSON string literal.
pub fn string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One element of a top-level array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The element as compact JSON (whitespace outside strings removed).
    pub text: String,
    /// The value of its `"key"` member, when it is an object that has a
    /// string there.
    pub key: Option<String>,
}

/// Reads a JSON array. The error names what is wrong and at which byte.
pub fn parse_array(input: &[u8]) -> Result<Vec<Element>, String> {
    let mut p = Parser { input, at: 0 };
    p.skip_space();
    p.expect(b'[')?;
    let mut elements = Vec::new();
    p.skip_space();
    if p.peek() == Some(b']') {
        p.at += 1;
    } else {
        loop {
            p.skip_space();
            let mut text = String::new();
            let mut key = None;
            p.value(&mut text, 0, Some(&mut key))?;
            elements.push(Element { text, key });
            p.skip_space();
            match p.next() {
                Some(b',') => {}
                Some(b']') => break,
                _ => return Err(p.error("expected , or ]")),
            }
        }
    }
    p.skip_space();
    if p.at != input.len() {
        return Err(p.error("unexpected text after the array"));
    }
    Ok(elements)
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.next() == Some(byte) {
            Ok(())
        } else {
            self.at = self.at.saturating_sub(1);
            Err(self.error(&format!("expected {:?}", char::from(byte))))
        }
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Reads one value into `out` (compact). With `key`, an object's `"key"`
    /// member, if it is a string, is stored there.
    fn value(
        &mut self,
        out: &mut String,
        depth: usize,
        key: Option<&mut Option<String>>,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => self.object(out, depth, key),
            Some(b'[') => {
                self.at += 1;
                out.push('[');
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    out.push(']');
                    return Ok(());
                }
                loop {
                    self.skip_space();
                    self.value(out, depth + 1, None)?;
                    self.skip_space();
                    match self.next() {
                        Some(b',') => out.push(','),
                        Some(b']') => {
                            out.push(']');
                            return Ok(());
                        }
                        _ => return Err(self.error("expected , or ]")),
                    }
                }
            }
            Some(b'"') => self.string(out).map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            _ => {
                for word in ["true", "false", "null"] {
                    if self.input[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        out.push_str(word);
                        return Ok(());
                    }
                }
                Err(self.error("expected a value"))
            }
        }
    }

    fn object(
        &mut self,
        out: &mut String,
        depth: usize,
        mut key: Option<&mut Option<String>>,
    ) -> Result<(), String> {
        self.at += 1;
        out.push('{');
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            out.push('}');
            return Ok(());
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let name = self.string(out)?;
            self.skip_space();
            self.expect(b':')?;
            out.push(':');
            self.skip_space();
            let is_string = self.peek() == Some(b'"');
            let value = if is_string {
                Some(self.string(out)?)
            } else {
                self.value(out, depth + 1, None)?;
                None
            };
            if let (Some(slot), "key", Some(value)) = (key.as_deref_mut(), name.as_str(), value) {
                *slot = Some(value);
            }
            self.skip_space();
            match self.next() {
                Some(b',') => out.push(','),
                Some(b'}') => {
                    out.push('}');
                    return Ok(());
                }
                _ => return Err(self.error("expected , or }")),
            }
        }
    }

    /// Copies a string literal as it is written and returns its decoded value.
    fn string(&mut self, out: &mut String) -> Result<String, String> {
        let start = self.at;
        self.at += 1;
        let mut decoded = String::new();
        loop {
            let run = self.at;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            decoded.push_str(
                std::str::from_utf8(&self.input[run..self.at])
                    .map_err(|_| self.error("invalid UTF-8"))?,
            );
            match self.next() {
                Some(b'"') => break,
                Some(b'\\') => {
                    let c = match self.next() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    decoded.push(c);
                }
                _ => return Err(self.error("unterminated string")),
            }
        }
        // The literal is valid UTF-8: every run was checked, escapes are ASCII.
        out.push_str(std::str::from_utf8(&self.input[start..self.at]).unwrap_or_default());
        Ok(decoded)
    }

    /// After `\u`: four hex digits, and a second escape for a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !(self.next() == Some(b'\\') && self.next() == Some(b'u')) {
                return Err(self.error("unpaired surrogate"));
            }
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error("unpaired surrogate"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .input
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits"))?;
        self.at += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("expected four hex digits"))
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, copied as written.
    fn number(&mut self, out: &mut String) -> Result<(), String> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.required_digits()?;
        }
        out.push_str(std::str::from_utf8(&self.input[start..self.at]).unwrap_or_default());
        Ok(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), String> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("expected a digit"));
        }
        self.digits();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_array, string, Element};

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn an_array_is_kept_compact_with_keys_picked_out() {
        let input = br#" [ {"key" : "A\u0042", "value":"x y", "type":3},
            {"other": [1, -2.5e3, true, null, {}], "key": 7}, "s", [] ] "#;
        let elements = parse_array(input).unwrap();
        assert_eq!(
            elements,
            [
                Element {
                    text: r#"{"key":"A\u0042","value":"x y","type":3}"#.into(),
                    key: Some("AB".into())
                },
                Element {
                    text: r#"{"other":[1,-2.5e3,true,null,{}],"key":7}"#.into(),
                    key: None
                },
                Element {
                    text: r#""s""#.into(),
                    key: None
                },
                Element {
                    text: "[]".into(),
                    key: None
                },
            ]
        );
        assert_eq!(parse_array(b"[]").unwrap(), []);
        assert_eq!(
            parse_array("[\"\\ud83d\\ude00\"]".as_bytes()).unwrap()[0].text,
            "\"\\ud83d\\ude00\""
        );
    }

    #[test]
    fn bad_input_is_refused_with_where() {
        for bad in [
            &b"{}"[..],
            b"[",
            b"[1,]",
            b"[01]",
            b"[1.]",
            b"[\"a]",
            b"[\"\\x\"]",
            b"[\"\\ud800\"]",
            b"[tru]",
            b"[1] x",
            b"[{\"a\" 1}]",
            b"[\"\x01\"]",
            b"[\"\xff\"]",
        ] {
            let err = parse_array(bad).expect_err(&String::from_utf8_lossy(bad));
            assert!(err.contains("at byte"), "{err}");
        }
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_array(deep.as_bytes())
            .unwrap_err()
            .contains("nested too deeply"));
    }
}
