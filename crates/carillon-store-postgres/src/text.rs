//! Text as PostgreSQL keeps it. A TEXT value cannot hold U+0000, yet the model admits NUL in
//! metadata, names, device tokens, tag keys and values, and in the ARNs and ids a client sends
//! (docs/behaviour.md, "Limits"). So every text the store binds is escaped and every text it
//! reads unescaped: U+0000 is kept as U+0001 `0`, U+0001 as U+0001 `1`, everything else as it is.
//!
//! The escape is injective, so equality, uniqueness and `= ANY` lookups (device tokens, tag keys,
//! ARNs) mean what they meant on the original texts; no query orders or compares text otherwise.
//! It is the identity on text without U+0000 and U+0001, which is almost all text, and on every
//! ARN and id the service makes. Migration 3 applied it to the texts stored before it.
//!
//! In UTF-8 the bytes 0x00 and 0x01 only ever encode U+0000 and U+0001 (every byte of a longer
//! sequence is 0x80 or above), so the escape works on the bytes a parameter serialises to:
//! [`Escaped`] does it for every parameter of every statement, text arrays included.

use bytes::{BufMut, BytesMut};
use std::borrow::Cow;
use std::error::Error;
use tokio_postgres::types::{IsNull, Kind, ToSql, Type, to_sql_checked};

const ESCAPE: u8 = 0x01;

fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b <= ESCAPE)
}

/// Appends `bytes` to `out`, escaped.
fn escape_into(bytes: &[u8], out: &mut BytesMut) {
    for &b in bytes {
        match b {
            0 => out.put_slice(&[ESCAPE, b'0']),
            ESCAPE => out.put_slice(&[ESCAPE, b'1']),
            _ => out.put_u8(b),
        }
    }
}

/// The text a stored text stands for. A U+0001 not followed by `0` or `1` (no escape makes one)
/// is kept as it is.
pub(crate) fn unescape(stored: &str) -> Cow<'_, str> {
    if !stored.contains('\u{1}') {
        return Cow::Borrowed(stored);
    }
    let mut out = String::with_capacity(stored.len());
    let mut chars = stored.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\u{1}', Some('0')) => {
                chars.next();
                out.push('\0');
            }
            ('\u{1}', Some('1')) => {
                chars.next();
                out.push('\u{1}');
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether values of `ty` are text in the binary protocol (TEXT, VARCHAR, BPCHAR, NAME, and
/// domains over them).
fn is_text(ty: &Type) -> bool {
    match ty.kind() {
        Kind::Domain(inner) => is_text(inner),
        _ => matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN),
    }
}

/// A statement parameter, escaped on its way to the server when it is text or an array of text.
#[derive(Debug)]
pub(crate) struct Escaped<'a>(pub &'a (dyn ToSql + Sync));

impl ToSql for Escaped<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        let element = match ty.kind() {
            Kind::Array(element) if is_text(element) => true,
            _ if is_text(ty) => false,
            _ => return self.0.to_sql_checked(ty, out),
        };
        let mut raw = BytesMut::new();
        let null = self.0.to_sql_checked(ty, &mut raw)?;
        if matches!(null, IsNull::Yes) || !needs_escape(&raw) && !element {
            out.put_slice(&raw);
            return Ok(null);
        }
        if element {
            escape_array(&raw, out)?;
        } else {
            escape_into(&raw, out);
        }
        Ok(null)
    }

    fn accepts(_: &Type) -> bool {
        // The wrapped value checks its own type in `to_sql_checked`.
        true
    }

    fn encode_format(&self, ty: &Type) -> tokio_postgres::types::Format {
        self.0.encode_format(ty)
    }

    to_sql_checked!();
}

/// Rewrites a one-dimensional or multi-dimensional text array in the binary format with each
/// element escaped: a header (dimensions, null flag, element type), each dimension's length and
/// lower bound, then each element as a length (-1 for NULL) and its bytes.
fn escape_array(raw: &[u8], out: &mut BytesMut) -> Result<(), Box<dyn Error + Sync + Send>> {
    let malformed = || -> Box<dyn Error + Sync + Send> { "a text array parameter is not in the binary array format".into() };
    let int = |at: usize| -> Result<i32, Box<dyn Error + Sync + Send>> {
        let b = raw.get(at..at + 4).ok_or_else(malformed)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let dims = usize::try_from(int(0)?).map_err(|_| malformed())?;
    let header = 12 + dims * 8;
    out.put_slice(raw.get(..header).ok_or_else(malformed)?);
    let mut at = header;
    while at < raw.len() {
        let len = int(at)?;
        at += 4;
        if len < 0 {
            out.put_i32(len);
            continue;
        }
        let bytes = raw.get(at..at + len as usize).ok_or_else(malformed)?;
        at += len as usize;
        let mut element = BytesMut::with_capacity(bytes.len());
        escape_into(bytes, &mut element);
        out.put_i32(i32::try_from(element.len()).map_err(|_| malformed())?);
        out.put_slice(&element);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(s: &str) -> String {
        let mut out = BytesMut::new();
        escape_into(s.as_bytes(), &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    const TEXTS: &[&str] =
        &["", "plain", "\0", "\0\0", "a\0b", "\u{1}", "\u{1}0", "\u{1}1", "\u{1}\0", "0\u{1}", "\u{10FFFF}\0é", "\u{1}\u{1}00"];

    #[test]
    fn escaping_round_trips_and_keeps_texts_apart() {
        let mut seen = std::collections::HashSet::new();
        for t in TEXTS {
            let e = escape(t);
            assert!(!e.contains('\0'), "{t:?} -> {e:?}");
            assert_eq!(unescape(&e), *t, "{t:?} -> {e:?}");
            assert!(seen.insert(e.clone()), "{t:?} escapes like another text: {e:?}");
        }
        assert_eq!(escape("plain é ✓"), "plain é ✓", "the identity on ordinary text");
    }

    #[test]
    fn parameters_are_escaped_as_text_and_text_arrays_only() {
        let bind = |v: &(dyn ToSql + Sync), ty: &Type| {
            let mut out = BytesMut::new();
            Escaped(v).to_sql_checked(ty, &mut out).unwrap();
            out.to_vec()
        };
        assert_eq!(bind(&"a\0\u{1}", &Type::TEXT), b"a\x010\x011");
        assert_eq!(bind(&Some("\0".to_string()), &Type::VARCHAR), b"\x010");
        assert_eq!(bind(&vec![0u8, 1], &Type::BYTEA), [0u8, 1], "bytes stay bytes");
        assert_eq!(bind(&1i64, &Type::INT8), 1i64.to_be_bytes());
        let keys = vec!["\0".to_string(), "k".to_string()];
        let mut plain = BytesMut::new();
        vec!["\u{1}0".to_string(), "k".to_string()].to_sql_checked(&Type::TEXT_ARRAY, &mut plain).unwrap();
        assert_eq!(bind(&keys, &Type::TEXT_ARRAY), plain.to_vec(), "each element escaped, lengths rewritten");
        let mut out = BytesMut::new();
        assert!(Escaped(&1i64).to_sql_checked(&Type::TEXT, &mut out).is_err(), "the wrapped value still checks its type");
    }
}
