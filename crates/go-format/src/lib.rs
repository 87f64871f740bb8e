//! Go's string formatting, where our output must equal the Go programs' byte for byte:
//! [`quote`] is `strconv.Quote` (what `%q` prints, in the API server's field errors and the Go
//! operator's messages) and [`json_string`] is the string literal `encoding/json` writes with
//! `json.Marshal`'s defaults (the Go operator's spec hash, structured-merge-diff's managedFields
//! keys).
//!
//! Place: the bottom of the workspace, so that the CRD engine, the API crate, kubesim and the
//! operator share one implementation of each.
//!
//! The behaviour is Go 1.25's (`strconv/quote.go`, `encoding/json/encode.go`). Every caller
//! needs `json.Marshal`'s HTML escaping (`<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`), so
//! no `SetEscapeHTML(false)` variant exists. Go decides what is printable from its Unicode
//! tables (15.0); the `regex` crate's tables are used here, which differ only for characters
//! assigned since.
//!
//! Must not: do I/O.

use std::sync::LazyLock;

use regex::Regex;

/// `strconv.IsGraphic` minus the non-ASCII spaces: letters, marks, numbers, punctuation and
/// symbols (`strconv.IsPrint`, with the ASCII space handled by the caller).
static PRINTABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").expect("the printable-class pattern is valid")
});

/// `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
pub fn is_print(c: char) -> bool {
    match c {
        ' ' => true,
        '\u{0}'..='\u{1f}' | '\u{7f}' => false,
        '!'..='~' => true,
        _ => {
            let mut buffer = [0; 4];
            PRINTABLE.is_match(c.encode_utf8(&mut buffer))
        }
    }
}

/// `strconv.Quote(s)`: double quotes; `"` and `\` backslashed; `\a \b \f \n \r \t \v`; other
/// control characters and DEL as `\xNN`; every other non-printable character as `\uNNNN` or,
/// above U+FFFF, `\UNNNNNNNN`; printable ones, U+FFFD included, as they are.
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// `strconv.Quote` of bytes that may not be UTF-8 (a Go `string` may hold any bytes): each byte
/// that does not start a valid encoding is written as `\xNN`, as Go does.
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_rune(&mut out, c);
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

/// `appendEscapedRune` with `quote = '"'`, neither ASCII-only nor graphic-only.
fn push_escaped_rune(out: &mut String, c: char) {
    match c {
        '"' | '\\' => {
            out.push('\\');
            out.push(c);
        }
        c if is_print(c) => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\u{0}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
        c if u32::from(c) < 0x10000 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
    }
}

/// The JSON string literal `json.Marshal` writes for `s`: `"` and `\` backslashed; `\b \f \n
/// \r \t` (the first two since Go 1.22); other control characters, `<`, `>` and `&` as
/// `\u00NN`; U+2028 and U+2029 as `\u2028`, `\u2029`; everything else, DEL and characters
/// above U+FFFF included, as it is.
pub fn json_string(s: &str) -> String {
    json_string_bytes(s.as_bytes())
}

/// [`json_string`] of bytes that may not be UTF-8: each byte that does not start a valid
/// encoding becomes `\ufffd`, as Go writes it.
pub fn json_string_bytes(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                    let byte = u32::from(c);
                    out.push_str("\\u00");
                    out.push(char::from(HEX[(byte >> 4) as usize]));
                    out.push(char::from(HEX[(byte & 0xf) as usize]));
                }
                c => out.push(c),
            }
        }
        for _ in chunk.invalid() {
            out.push_str("\\ufffd");
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// Expected values are what Go 1.25's `strconv.Quote` returns for the same input (its
    /// documented rules: Go escapes for `\a`..`\v`, `\x` below space and for DEL and invalid
    /// bytes, `\u`/`\U` for other non-printable runes).
    #[test]
    fn quote_follows_strconv_quote() {
        let cases: [(&[u8], &str); 14] = [
            (b"plain", r#""plain""#),
            (b"a\"b\\c", r#""a\"b\\c""#),
            (b"\x07\x08\x0c\n\r\t\x0b", r#""\a\b\f\n\r\t\v""#),
            (b"\x00\x01\x1f", r#""\x00\x01\x1f""#),
            ("\u{7f}".as_bytes(), r#""\x7f""#),
            // C1 controls, the no-break space, soft hyphen and line separator are not printable.
            (
                "\u{85}\u{a0}\u{ad}\u{2028}".as_bytes(),
                r#""\u0085\u00a0\u00ad\u2028""#,
            ),
            // U+FFFD itself is a printable symbol.
            ("\u{fffd}".as_bytes(), "\"\u{fffd}\""),
            // Invalid bytes, alone, truncated or a surrogate encoding: one \x each.
            (b"a\xffb", r#""a\xffb""#),
            (b"\xe2\x82", r#""\xe2\x82""#),
            (b"\xed\xa0\x80", r#""\xed\xa0\x80""#),
            // Above U+FFFF: printable ones as they are, the others as \U.
            ("\u{1f600}\u{10348}".as_bytes(), "\"\u{1f600}\u{10348}\""),
            ("\u{e0001}\u{f0000}".as_bytes(), r#""\U000e0001\U000f0000""#),
            // Unassigned code points are not printable.
            ("\u{378}".as_bytes(), r#""\u0378""#),
            ("é ü 日本".as_bytes(), "\"é ü 日本\""),
        ];
        for (input, expected) in cases {
            assert_eq!(quote_bytes(input), expected, "{input:?}");
        }
        assert_eq!(quote("Bad_Name"), r#""Bad_Name""#);
    }

    /// Expected values are what Go 1.25's `json.Marshal` writes for the same string.
    #[test]
    fn json_string_follows_json_marshal() {
        let cases: [(&[u8], &str); 9] = [
            (b"q\" b\\", r#""q\" b\\""#),
            (b"\x08\x0c\n\r\t", r#""\b\f\n\r\t""#),
            (b"\x00\x01\x0b\x1f", r#""\u0000\u0001\u000b\u001f""#),
            (b"<a>&", r#""\u003ca\u003e\u0026""#),
            ("\u{7f}".as_bytes(), "\"\u{7f}\""),
            (
                "\u{2028}\u{2029}\u{85}".as_bytes(),
                "\"\\u2028\\u2029\u{85}\"",
            ),
            (
                "\u{fffd}\u{1f600}\u{e0001}".as_bytes(),
                "\"\u{fffd}\u{1f600}\u{e0001}\"",
            ),
            (b"a\xffb\xe2\x82", r#""a\ufffdb\ufffd\ufffd""#),
            ("é".as_bytes(), "\"é\""),
        ];
        for (input, expected) in cases {
            assert_eq!(json_string_bytes(input), expected, "{input:?}");
        }
    }
}
