//! RFC 8785 JSON Canonicalization Scheme (JCS): the writer, and a fast checker that a text is
//! already canonical (used by verification, where every stored line must be canonical).

use crate::error::Result;
use crate::json::{self, cmp_utf16, Value, MAX_DEPTH};

/// Returns the RFC 8785 canonical form of an I-JSON document.
///
/// Numbers are written as ECMAScript writes them, object keys are sorted by UTF-16 code units,
/// and strings escape only what JCS escapes. Input that is not I-JSON is rejected (see
/// `docs/SPEC.md` for the codes), so the output always parses again to the same value.
pub fn canonicalize(json: &str) -> Result<String> {
    let value = json::parse(json)?;
    Ok(to_canonical(&value))
}

/// The canonical JSON text of a value.
pub fn to_canonical(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_canonical(&mut out, value);
    out
}

/// Appends the canonical JSON text of `value` to `out`.
pub fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n.get()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_canonical(out, v);
            }
            out.push('}');
        }
    }
}

/// Writes a finite double as ECMAScript's `Number.prototype.toString` does.
pub(crate) fn write_number(out: &mut String, v: f64) {
    // Integers below 10^15 print the same digits in ECMAScript; skip the float formatter.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let mut buf = [0u8; 20];
        let mut n = v.abs() as u64;
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0.0 {
            out.push('-');
        }
        out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
        return;
    }
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format_finite(v));
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes a JSON string with exactly the escapes RFC 8785 prescribes.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    loop {
        // Jump to the next byte that may need escaping ('"', '\\' or a control character).
        i = skip_plain(bytes, i);
        let Some(&b) = bytes.get(i) else { break };
        i += 1;
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x09 => "\\t",
            0x0A => "\\n",
            0x0C => "\\f",
            0x0D => "\\r",
            0x00..=0x1F => "",
            _ => continue,
        };
        out.push_str(&s[start..i - 1]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xF) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// One member of a canonical top-level object, as slices of the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    /// The key as written between the quotes (canonical escapes included).
    pub key: &'a str,
    /// The value's canonical text.
    pub value: &'a str,
    /// Byte offset of the key's opening quote.
    pub start: usize,
    /// Byte offset just past the value.
    pub end: usize,
}

/// Checks that `text` is exactly the canonical form of an I-JSON object, and returns its
/// top-level members. On failure returns the byte offset where canonical form breaks; the
/// caller then classifies the failure with the full parser.
///
/// A canonical text is I-JSON by construction: keys strictly increase (so none repeats),
/// strings use no `\u` escape above U+001F (so no lone surrogate), and every number is the
/// shortest ECMAScript form of a finite double (so nothing is lossy or out of range).
#[cfg(test)]
pub(crate) fn scan_canonical_object(text: &str) -> std::result::Result<Vec<Member<'_>>, usize> {
    scan_recording(text, "").map(|(members, _)| members)
}

/// The offsets of a container's opening and closing bracket, in the scanned text.
pub(crate) type Brackets = (u32, u32);

/// [`scan_canonical_object`], also recording the brackets of every container inside the
/// top-level member `record` (in the order they open), so that a later reader of that member
/// can jump over containers without scanning them again.
pub(crate) fn scan_recording<'a>(
    text: &'a str,
    record: &str,
) -> std::result::Result<(Vec<Member<'a>>, Vec<Brackets>), usize> {
    let mut sc = Scanner {
        s: text.as_bytes(),
        text,
        pos: 0,
        escaped: false,
        brackets: Vec::new(),
        recording: false,
    };
    if sc.s.first() != Some(&b'{') {
        return Err(0);
    }
    let mut members = Vec::with_capacity(16);
    sc.top_object(record, &mut members)?;
    if sc.pos != sc.s.len() {
        return Err(sc.pos);
    }
    Ok((members, sc.brackets))
}

struct Scanner<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    /// Whether the last string scanned held an escape.
    escaped: bool,
    /// The recorded member's containers' brackets (see [`scan_recording`]).
    brackets: Vec<Brackets>,
    /// Whether the scan is inside the recorded member.
    recording: bool,
}

impl<'a> Scanner<'a> {
    fn value(&mut self, depth: usize) -> std::result::Result<(), usize> {
        match self.s.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.pos),
        }
    }

    fn literal(&mut self, word: &[u8]) -> std::result::Result<(), usize> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.pos)
        }
    }

    /// The top-level object: its members are returned, and the member named `record` (if
    /// any, and if it is a container) has its brackets recorded.
    fn top_object(
        &mut self,
        record: &str,
        members: &mut Vec<Member<'a>>,
    ) -> std::result::Result<(), usize> {
        self.members(1, |sc, key, start, vstart| {
            sc.recording = !record.is_empty() && key == record;
            if sc.recording {
                sc.brackets.reserve(64);
            }
            let r = sc.value(1);
            sc.recording = false;
            r?;
            members.push(Member {
                key,
                value: &sc.text[vstart..sc.pos],
                start,
                end: sc.pos,
            });
            Ok(())
        })
    }

    fn object(&mut self, depth: usize) -> std::result::Result<(), usize> {
        let open = self.open();
        self.members(depth, |sc, _, _, _| sc.value(depth))?;
        self.close(open);
        Ok(())
    }

    /// Notes an opening bracket at `self.pos` when recording; returns its slot.
    #[inline]
    fn open(&mut self) -> Option<usize> {
        if !self.recording {
            return None;
        }
        self.brackets.push((self.pos as u32, 0));
        Some(self.brackets.len() - 1)
    }

    /// Notes the closing bracket just passed (at `self.pos - 1`) for the slot `open` returned.
    #[inline]
    fn close(&mut self, slot: Option<usize>) {
        if let Some(entry) = slot.and_then(|i| self.brackets.get_mut(i)) {
            entry.1 = (self.pos - 1) as u32;
        }
    }

    /// Walks an object's members (keys strictly increasing), calling `value` for each with
    /// the key, the key's offset and the value's offset; `self.pos` is after the `}`.
    fn members<F>(&mut self, depth: usize, mut value: F) -> std::result::Result<(), usize>
    where
        F: FnMut(&mut Self, &'a str, usize, usize) -> std::result::Result<(), usize>,
    {
        if depth > MAX_DEPTH {
            return Err(self.pos);
        }
        self.pos += 1;
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        let mut prev: Option<(&'a str, bool)> = None;
        loop {
            let start = self.pos;
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.pos);
            }
            let key = self.string()?;
            let escaped = self.escaped;
            if let Some((p, p_escaped)) = prev {
                let less = if p_escaped || escaped {
                    key_less_escaped(p, key)
                } else {
                    cmp_utf16(p, key).is_lt()
                };
                if !less {
                    return Err(start);
                }
            }
            prev = Some((key, escaped));
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.pos);
            }
            self.pos += 1;
            let vstart = self.pos;
            value(self, key, start, vstart)?;
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.pos),
            }
        }
    }

    fn array(&mut self, depth: usize) -> std::result::Result<(), usize> {
        if depth > MAX_DEPTH {
            return Err(self.pos);
        }
        let open = self.open();
        self.pos += 1;
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.close(open);
            return Ok(());
        }
        loop {
            self.value(depth)?;
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.close(open);
                    return Ok(());
                }
                _ => return Err(self.pos),
            }
        }
    }

    /// Checks a canonical string and returns its raw content (between the quotes); sets
    /// `self.escaped` when the content holds an escape.
    fn string(&mut self) -> std::result::Result<&'a str, usize> {
        self.pos += 1;
        self.escaped = false;
        let start = self.pos;
        loop {
            self.pos = skip_plain(self.s, self.pos);
            let Some(&b) = self.s.get(self.pos) else {
                return Err(self.pos);
            };
            match b {
                b'"' => {
                    let raw = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(raw);
                }
                b'\\' => {
                    self.escaped = true;
                    match self.s.get(self.pos + 1) {
                        Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 2,
                        Some(b'u') => {
                            // Only control characters without a short escape use \u00xx.
                            let h = self.s.get(self.pos + 2..self.pos + 6).ok_or(self.pos)?;
                            let lower_hex =
                                |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
                            if h[0] != b'0' || h[1] != b'0' || !h[2..].iter().all(|&c| lower_hex(c))
                            {
                                return Err(self.pos);
                            }
                            let v = u8::from_str_radix(&self.text[self.pos + 4..self.pos + 6], 16)
                                .map_err(|_| self.pos)?;
                            if v >= 0x20 || matches!(v, 0x08 | 0x09 | 0x0A | 0x0C | 0x0D) {
                                return Err(self.pos);
                            }
                            self.pos += 6;
                        }
                        _ => return Err(self.pos),
                    }
                }
                0x00..=0x1F => return Err(self.pos),
                _ => self.pos += 1,
            }
        }
    }

    fn number(&mut self) -> std::result::Result<(), usize> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e') = self.s.get(self.pos) {
            self.pos += 1;
        }
        let lit = &self.text[start..self.pos];
        if plain_decimal_is_canonical(lit) {
            return Ok(());
        }
        match lit.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                let mut buf = ryu_js::Buffer::new();
                if buf.format_finite(v) == lit {
                    Ok(())
                } else {
                    Err(start)
                }
            }
            _ => Err(start),
        }
    }
}

/// Advances past bytes that need no attention inside a string (anything but `"`, `\` and
/// control characters), eight bytes at a time.
#[inline]
pub(crate) fn skip_plain(s: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while pos + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[pos..pos + 8]);
        let w = u64::from_le_bytes(word);
        // The high bit of a lane is set where the byte is < 0x20, '"' or '\'. Lanes of
        // non-ASCII bytes (top bit set) are masked out by `!w`. Borrows only run upward from
        // a matching lane, so the lowest set lane is always a true match.
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let hits =
            (w.wrapping_sub(ONES * 0x20) | quote.wrapping_sub(ONES) | backslash.wrapping_sub(ONES))
                & !w
                & HIGHS;
        if hits != 0 {
            return pos + (hits.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&b) = s.get(pos) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        pos += 1;
    }
    pos
}

/// Whether a number literal is canonical without formatting it: a decimal of at most 15
/// significant digits is the shortest round-trip form of its double (15 digits always round
/// trip), so it is canonical iff it is written as ECMAScript writes numbers from 1e-6 up:
/// no leading or trailing zeros, no exponent, not `-0`. Anything else takes the slow path.
fn plain_decimal_is_canonical(lit: &str) -> bool {
    let digits = lit.strip_prefix('-').unwrap_or(lit);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
        return false;
    }
    match frac {
        None => int.len() <= 15 && !(int == "0" && lit.starts_with('-')),
        Some(f) => {
            if !all_digits(f) || f.ends_with('0') {
                return false;
            }
            if int == "0" {
                let zeros = f.len() - f.trim_start_matches('0').len();
                zeros <= 5 && f.len() - zeros <= 15
            } else {
                int.len() + f.len() <= 15
            }
        }
    }
}

/// Strict `a < b` in RFC 8785 order for raw key texts of which one holds escapes.
fn key_less_escaped(a: &str, b: &str) -> bool {
    let decode = |raw: &str| match json::parse(&format!("\"{raw}\"")) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    };
    cmp_utf16(&decode(a), &decode(b)).is_lt()
}

/// Whether `text` is the canonical form of some I-JSON value (any type at the top level).
pub fn is_canonical(text: &str) -> bool {
    let mut sc = Scanner {
        s: text.as_bytes(),
        text,
        pos: 0,
        escaped: false,
        brackets: Vec::new(),
        recording: false,
    };
    sc.value(0).is_ok() && sc.pos == sc.s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_ecmascript() {
        let cases = [
            ("1.0", "1"),
            ("-0", "0"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("333333333.33333329", "333333333.3333333"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("87515321284314368", "87515321284314370"),
            ("87515321284314370", "87515321284314370"),
            ("123456789012345680000", "123456789012345680000"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ];
        for (input, want) in cases {
            assert_eq!(canonicalize(input).unwrap(), want, "{input}");
            assert!(is_canonical(want), "{want}");
        }
    }

    #[test]
    fn fast_paths_agree_with_the_formatter() {
        let mut n = 0x2545_f491_4f6c_dd1d_u64;
        let mut buf = ryu_js::Buffer::new();
        for _ in 0..20_000 {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            let candidates = [
                f64::from_bits(n),
                (n % 100_000) as f64 / 1000.0,
                (n % 1_000_000_000) as f64 * 1e-9,
                -((n % 10_000) as f64) / 7.0,
                (n % 1_000_000_000_000_000) as f64 / 100.0,
            ];
            for x in candidates.into_iter().filter(|x| x.is_finite()) {
                let text = buf.format_finite(x).to_owned();
                let variants = [
                    text.clone(),
                    format!("{text}0"),
                    format!("0{text}"),
                    format!("{x:e}"),
                    format!("{x:.3}"),
                    format!("{x:.20}"),
                ];
                for v in variants {
                    // The fast path may only accept what the formatter itself writes.
                    let truly = v.parse::<f64>().is_ok_and(|y| buf.format_finite(y) == v);
                    if plain_decimal_is_canonical(&v) {
                        assert!(truly, "fast path accepted {v}");
                    }
                    let wrapped = format!("{{\"a\":{v}}}");
                    assert_eq!(scan_canonical_object(&wrapped).is_ok(), truly, "{v}");
                }
            }
        }
        for s in [
            "",
            "a",
            "abcdefgh",
            "abcdefghijklmnop\"",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\\",
            "1234567\u{1f}",
            "\u{7f}\u{80}\u{ff}xxxxxxxxxx\"",
        ] {
            let b = s.as_bytes();
            for start in 0..b.len() {
                let slow = (start..b.len())
                    .find(|&i| b[i] == b'"' || b[i] == b'\\' || b[i] < 0x20)
                    .unwrap_or(b.len());
                assert_eq!(skip_plain(b, start), slow, "{s:?} from {start}");
            }
        }
    }

    #[test]
    fn strings_escape_only_what_jcs_escapes() {
        let got =
            canonicalize(r#""\u0000\u001f\b\t\n\f\r\"\\\/\u007f\u00e9\ud83d\ude02""#).unwrap();
        assert_eq!(
            got,
            "\"\\u0000\\u001f\\b\\t\\n\\f\\r\\\"\\\\/\u{7f}\u{e9}\u{1F602}\""
        );
        assert!(is_canonical(&got));
    }

    #[test]
    fn checker_rejects_non_canonical_forms() {
        for bad in [
            "{\"b\":1,\"a\":2}",
            "{\"a\":1,\"a\":1}",
            "{ \"a\":1}",
            "{\"a\":1.0}",
            "{\"a\":-0}",
            "{\"a\":1E+30}",
            "{\"a\":01}",
            "{\"a\":\"\\/\"}",
            "{\"a\":\"\\u0041\"}",
            "{\"a\":\"\\u000a\"}",
            "{\"a\":\"\\u001F\"}",
            "{\"a\":9007199254740993}",
            "{\"a\":[1,]}",
            "{\"a\":1}\n",
            "[1]",
        ] {
            assert!(scan_canonical_object(bad).is_err(), "{bad}");
        }
        let ok = "{\"\":0,\"\\n\":-1.5,\"a\":[true,false,null,{}],\"b\":\"\\u001f\"}";
        assert_eq!(scan_canonical_object(ok).unwrap().len(), 4);
    }

    #[test]
    fn escaped_keys_sort_by_decoded_value() {
        // "\n" (U+000A) sorts before "A" although its escaped text starts with a backslash.
        assert!(scan_canonical_object("{\"\\n\":1,\"A\":2}").is_ok());
        assert!(scan_canonical_object("{\"A\":2,\"\\n\":1}").is_err());
    }
}
