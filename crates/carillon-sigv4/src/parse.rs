//! Parsers for the untrusted parts: the `Authorization` header, the credential scope, the
//! signed-headers list and the query string. They return `Err(&'static str)` reasons and
//! never panic.

use std::borrow::Cow;

use crate::encoding::{form_decode, trim_spaces};

/// The only algorithm accepted.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The most entries accepted in a signed-headers list.
const MAX_SIGNED_HEADERS: usize = 256;

/// The components of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuthorizationHeader<'a> {
    pub(crate) credential: &'a str,
    pub(crate) signed_headers: &'a [u8],
    pub(crate) signature: &'a [u8],
}

/// Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
///
/// The three components may come in any order, each exactly once, separated by commas with
/// optional spaces; anything else is an error.
pub(crate) fn parse_authorization(value: &[u8]) -> Result<AuthorizationHeader<'_>, &'static str> {
    let value = trim_spaces(value);
    let rest = value.strip_prefix(ALGORITHM.as_bytes()).ok_or("Authorization header must start with AWS4-HMAC-SHA256")?;
    let rest = match rest {
        [b' ' | b'\t', ..] => trim_spaces(rest),
        _ => return Err("Authorization header must start with AWS4-HMAC-SHA256"),
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    // The commas and equals signs found with `memchr`, as in `parse_credential`.
    let mut start = 0;
    let ends = memchr::memchr_iter(b',', rest).chain(std::iter::once(rest.len()));
    for end in ends {
        let part = trim_spaces(rest.get(start..end).unwrap_or_default());
        start = end + 1;
        let eq = memchr::memchr(b'=', part).ok_or("Authorization header component is not of the form Key=Value")?;
        let (key, value) = part.split_at_checked(eq).ok_or("malformed Authorization header")?;
        let value = value.get(1..).unwrap_or_default();
        let slot = match key {
            b"Credential" => &mut credential,
            b"SignedHeaders" => &mut signed_headers,
            b"Signature" => &mut signature,
            _ => return Err("Authorization header has an unknown component"),
        };
        if slot.replace(value).is_some() {
            return Err("Authorization header repeats a component");
        }
    }
    let credential = credential.ok_or("Authorization header lacks Credential")?;
    let credential = std::str::from_utf8(credential).map_err(|_| "Credential is not valid text")?;
    Ok(AuthorizationHeader {
        credential,
        signed_headers: signed_headers.ok_or("Authorization header lacks SignedHeaders")?,
        signature: signature.ok_or("Authorization header lacks Signature")?,
    })
}

/// `AKID/YYYYMMDD/REGION/SERVICE/aws4_request`, split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CredentialScope<'a> {
    /// The whole credential value (also the signing-key cache key).
    pub(crate) credential: &'a str,
    pub(crate) access_key_id: &'a str,
    /// `YYYYMMDD/REGION/SERVICE/aws4_request`: the scope line of the string to sign.
    pub(crate) scope: &'a str,
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

/// The shape a region must have to be read at all: 1..=63 printable ASCII characters. Whether
/// it is a region name ([`crate::is_region_name`]) is checked after the key, so that open mode
/// can still see, and refuse, a malformed one.
pub(crate) fn valid_region(s: &str) -> bool {
    (1..=63).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Splits a credential. Checks the shape only: 5 parts, non-empty access key, 8-digit date,
/// a valid region, a non-empty service, the `aws4_request` terminator.
pub(crate) fn parse_credential(credential: &str) -> Result<CredentialScope<'_>, &'static str> {
    const MALFORMED: &str = "Credential must have the form ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request";
    // The slashes found with `memchr` rather than `str::split`, whose pattern search cost about 150
    // instructions a part on every request.
    let mut slashes = memchr::memchr_iter(b'/', credential.as_bytes());
    let (Some(a), Some(b), Some(c), Some(d), None) = (slashes.next(), slashes.next(), slashes.next(), slashes.next(), slashes.next())
    else {
        return Err(MALFORMED);
    };
    // Every cut is at an ASCII `/`, so each `get` finds its part.
    let part = |from: usize, to: usize| credential.get(from..to).ok_or(MALFORMED);
    let (access_key_id, scope) = (part(0, a)?, part(a + 1, credential.len())?);
    let (date, region, service, terminator) = (part(a + 1, b)?, part(b + 1, c)?, part(c + 1, d)?, part(d + 1, credential.len())?);
    if access_key_id.is_empty() || service.is_empty() {
        return Err(MALFORMED);
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Credential date must be YYYYMMDD");
    }
    if !valid_region(region) {
        return Err("Credential region is not a valid region name");
    }
    if terminator != "aws4_request" {
        return Err("Credential scope must end with aws4_request");
    }
    Ok(CredentialScope { credential, access_key_id, scope, date, region, service })
}

/// Header-name characters allowed in a signed-headers list: lowercase RFC 9110 tokens.
fn is_lower_tchar(b: u8) -> bool {
    b.is_ascii_lowercase()
        || b.is_ascii_digit()
        || matches!(b, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// Splits `a;b;c`: lowercase header names, strictly ascending (sorted, no duplicates), as every
/// SigV4 signer writes them.
pub(crate) fn parse_signed_headers(list: &[u8]) -> Result<Vec<&[u8]>, &'static str> {
    let mut names: Vec<&[u8]> = Vec::new();
    for name in list.split(|&b| b == b';') {
        if name.is_empty() || !name.iter().all(|&b| is_lower_tchar(b)) {
            return Err("SignedHeaders must be lowercase header names separated by ';'");
        }
        if names.last().is_some_and(|last| *last >= name) {
            return Err("SignedHeaders must be sorted and without duplicates");
        }
        if names.len() >= MAX_SIGNED_HEADERS {
            return Err("SignedHeaders lists too many headers");
        }
        names.push(name);
    }
    Ok(names)
}

/// A decoded query parameter.
pub(crate) type Param<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Splits a raw query on `&` and each pair on its first `=`, form-decoding both sides
/// (`+` is a space). Empty segments (`a&&b`) are skipped, as `form_urlencoded` does.
pub(crate) fn parse_query(raw: &str) -> Vec<Param<'_>> {
    raw.as_bytes()
        .split(|&b| b == b'&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (key, value) = match segment.iter().position(|&b| b == b'=') {
                Some(eq) => (segment.get(..eq).unwrap_or_default(), segment.get(eq + 1..).unwrap_or_default()),
                None => (segment, &[][..]),
            };
            (form_decode(key), form_decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization() {
        let h = b"AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let a = parse_authorization(h).unwrap();
        assert_eq!(a.credential, "AKID/20261128/us-east-1/chime/aws4_request");
        assert_eq!(a.signed_headers, b"host;x-amz-date");
        assert_eq!(a.signature, b"abc");
        let h2 = b"  AWS4-HMAC-SHA256   Signature=abc,SignedHeaders=host,Credential=A/1/2/3/4 ";
        let a = parse_authorization(h2).unwrap();
        assert_eq!(a.credential, "A/1/2/3/4");
        assert_eq!(a.signature, b"abc");
        for bad in [
            &b""[..],
            b"AWS4-HMAC-SHA256",
            b"AWS4-HMAC-SHA256Credential=a, SignedHeaders=b, Signature=c",
            b"AWS4-HMAC-SHA1 Credential=a, SignedHeaders=b, Signature=c",
            b"Bearer x",
            b"AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b",
            b"AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b, Signature=c, Signature=c",
            b"AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b, Signature=c, Extra=d",
            b"AWS4-HMAC-SHA256 Credential=a, SignedHeaders=b, Signature=c,",
            b"AWS4-HMAC-SHA256 Credential=\xff, SignedHeaders=b, Signature=c",
            b"AWS4-HMAC-SHA256 credential=a, SignedHeaders=b, Signature=c",
        ] {
            assert!(parse_authorization(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn credential() {
        let c = parse_credential("AKID/20261128/eu-west-2/chime/aws4_request").unwrap();
        assert_eq!(c.access_key_id, "AKID");
        assert_eq!(c.scope, "20261128/eu-west-2/chime/aws4_request");
        assert_eq!(c.date, "20261128");
        assert_eq!(c.region, "eu-west-2");
        assert_eq!(c.service, "chime");
        // Only the slashes cut: a part may hold any other character.
        let c = parse_credential("AKÏD/20261128/eu-west-2/chimé/aws4_request").unwrap();
        assert_eq!((c.access_key_id, c.service), ("AKÏD", "chimé"));
        for bad in [
            "",
            "AKID",
            "AKID/20261128/us-east-1/chime",
            "AKID/20261128/us-east-1/chime/aws4_request/x",
            "/20261128/us-east-1/chime/aws4_request",
            "AKID/2026112/us-east-1/chime/aws4_request",
            "AKID/2026112x/us-east-1/chime/aws4_request",
            "AKID/20261128//chime/aws4_request",
            "AKID/20261128/us east/chime/aws4_request",
            "AKID/20261128/us-east-1//aws4_request",
            "AKID/20261128/us-east-1/chime/aws4_requesT",
        ] {
            assert!(parse_credential(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signed_headers() {
        assert_eq!(parse_signed_headers(b"host;x-amz-date").unwrap(), vec![&b"host"[..], b"x-amz-date"]);
        for bad in [&b""[..], b"host;", b";host", b"Host", b"x-amz-date;host", b"host;host", b"ho st", b"a:b"] {
            assert!(parse_signed_headers(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn query() {
        let q = parse_query("b=2&a&&c=x=y&%41+b=%zz");
        let q: Vec<(&[u8], &[u8])> = q.iter().map(|(k, v)| (&**k, &**v)).collect();
        assert_eq!(q, vec![(&b"b"[..], &b"2"[..]), (b"a", b""), (b"c", b"x=y"), (b"A b", b"%zz")]);
        assert!(parse_query("").is_empty());
    }
}
