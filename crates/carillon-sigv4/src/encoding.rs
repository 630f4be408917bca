//! Byte-level helpers: hex, the AWS URI encoding, form decoding, header value trimming.
//!
//! Everything here works on bytes and never indexes, so it cannot panic on hostile input.

use std::borrow::Cow;

/// Lowercase hex digit for the low nibble of `n`.
#[inline]
fn hex_lower_digit(n: u8) -> u8 {
    match n & 0x0f {
        d @ 0..=9 => b'0' + d,
        d => b'a' + (d - 10),
    }
}

/// Uppercase hex digit for the low nibble of `n` (used by percent-encoding).
#[inline]
fn hex_upper_digit(n: u8) -> u8 {
    match n & 0x0f {
        d @ 0..=9 => b'0' + d,
        d => b'A' + (d - 10),
    }
}

/// The value of one hex digit (either case).
#[inline]
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of a 32-byte digest.
pub(crate) fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes.iter()) {
        if let [hi, lo] = pair {
            *hi = hex_lower_digit(b >> 4);
            *lo = hex_lower_digit(*b);
        }
    }
    out
}

/// True for a 64-character hex string (either case): the shape of a SHA-256 digest.
pub(crate) fn is_sha256_hex(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| b.is_ascii_hexdigit())
}

/// RFC 3986 unreserved characters: `A-Z a-z 0-9 - . _ ~`.
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The AWS SigV4 URI encoding: unreserved bytes are kept, every other byte becomes `%XX`
/// (uppercase hex); `/` is kept too when `keep_slash` (the canonical URI of non-S3 services).
pub(crate) fn uri_encode_into(input: &[u8], keep_slash: bool, out: &mut Vec<u8>) {
    let kept = |b: u8| is_unreserved(b) || (keep_slash && b == b'/');
    // Runs of kept bytes are copied whole: a path is mostly such runs between `%` signs.
    let mut rest = input;
    while let Some((run, tail)) = rest.iter().position(|&b| !kept(b)).and_then(|end| rest.split_at_checked(end)) {
        let Some((&b, after)) = tail.split_first() else { break };
        out.extend_from_slice(run);
        out.extend_from_slice(&[b'%', hex_upper_digit(b >> 4), hex_upper_digit(b)]);
        rest = after;
    }
    out.extend_from_slice(rest);
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space and `%XX` a byte;
/// a `%` not followed by two hex digits stays literal (as the `form_urlencoded` crate, used by
/// aws-sigv4, does). The result is bytes: invalid UTF-8 is kept as is.
pub(crate) fn form_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(|&b| b == b'%' || b == b'+') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => out.push(b' '),
            b'%' => match tail {
                [h, l, after @ ..] => match (hex_value(*h), hex_value(*l)) {
                    (Some(h), Some(l)) => {
                        out.push((h << 4) | l);
                        rest = after;
                    }
                    _ => out.push(b'%'),
                },
                _ => out.push(b'%'),
            },
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// Trims spaces at both ends of `value` and collapses inner runs of spaces into one,
/// appending the result to `out` (the SigV4 "Trimall"; only the space character counts,
/// as in aws-sigv4).
pub(crate) fn trim_all_into(value: &[u8], out: &mut Vec<u8>) {
    let value = trim_spaces(value);
    let mut previous_space = false;
    for &b in value {
        if b == b' ' {
            if !previous_space {
                out.push(b' ');
            }
            previous_space = true;
        } else {
            out.push(b);
            previous_space = false;
        }
    }
}

/// Trims spaces and horizontal tabs at both ends.
pub(crate) fn trim_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Printable ASCII rendering of untrusted bytes for an error message, at most `max` bytes.
pub(crate) fn sanitize(s: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 3);
    for &b in s.iter().take(max) {
        out.push(if (0x20..0x7f).contains(&b) { char::from(b) } else { '?' });
    }
    if s.len() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding() {
        let mut out = Vec::new();
        uri_encode_into(b"/app-instances/arn%3Aaws%2Fx y~_.-", true, &mut out);
        assert_eq!(out, b"/app-instances/arn%253Aaws%252Fx%20y~_.-");
        out.clear();
        uri_encode_into("a/ሴ+".as_bytes(), false, &mut out);
        assert_eq!(out, b"a%2F%E1%88%B4%2B");
    }

    #[test]
    fn form_decoding() {
        assert_eq!(&*form_decode(b"a+b%20c%zz%4"), b"a b c%zz%4");
        assert_eq!(&*form_decode(b"%E1%88%b4"), "ሴ".as_bytes());
        assert_eq!(&*form_decode(b"%"), b"%");
        assert_eq!(&*form_decode(b"plain"), b"plain");
    }

    #[test]
    fn trim_all() {
        let mut out = Vec::new();
        trim_all_into(b"   a   b  c ", &mut out);
        assert_eq!(out, b"a b c");
        out.clear();
        trim_all_into(b"    ", &mut out);
        assert_eq!(out, b"");
    }

    #[test]
    fn hex() {
        let mut d = [0u8; 32];
        d[0] = 0xab;
        d[31] = 0x0f;
        let h = hex32(&d);
        assert!(h.starts_with(b"ab00"));
        assert!(h.ends_with(b"0f"));
        assert!(is_sha256_hex(&h));
    }

    #[test]
    fn sanitizing() {
        assert_eq!(sanitize(b"ab\ncd", 10), "ab?cd");
        assert_eq!(sanitize(b"abcdef", 3), "abc...");
    }
}
