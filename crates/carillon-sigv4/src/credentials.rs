//! The configured credentials: access key id -> (secret access key, account id).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::encoding::sanitize;

/// One configured key. The secret is kept only in its SigV4 derived form `"AWS4" + secret`
/// (the first HMAC key of the signing-key chain).
pub(crate) struct Entry {
    pub(crate) k_secret: Box<[u8]>,
    pub(crate) account_id: Box<str>,
    pub(crate) operator: bool,
}

/// The credentials a [`Verifier`](crate::Verifier) accepts: access key id -> (secret, account id).
///
/// Parse them from text with [`Credentials::parse`] (or [`str::parse`]): one
/// `ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID` a line, with an optional fourth field `admin` that
/// marks an operator's key; blank lines and lines starting with `#` are skipped. The `Debug` output lists access key ids and account ids, never a secret.
#[derive(Default)]
pub struct Credentials {
    entries: HashMap<Box<str>, Entry>,
}

/// A credentials configuration error: a one-line message with the line number (when parsing
/// text). It never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    line: Option<usize>,
    message: String,
}

impl CredentialsError {
    fn new(message: impl Into<String>) -> Self {
        CredentialsError { line: None, message: message.into() }
    }

    /// The 1-based line number, when the error comes from [`Credentials::parse`].
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The message, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "credentials line {line}: {}", self.message),
            None => write!(f, "credentials: {}", self.message),
        }
    }
}

impl std::error::Error for CredentialsError {}

/// Access key ids: 1..=128 bytes of `A-Z a-z 0-9 _ - .` (they travel inside the
/// `Credential=AKID/...` component, so `/`, `,`, `=`, spaces and `:` are out).
fn valid_access_key_id(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Secrets: 1..=256 bytes of printable ASCII without spaces.
fn valid_secret(s: &str) -> bool {
    (1..=256).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

fn valid_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Credentials {
    /// No credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID[:admin]` lines. Blank lines and lines
    /// whose first non-blank character is `#` are skipped; surrounding whitespace is trimmed.
    /// The secret is everything between the first `:` and the account id's. The account id must
    /// be 12 digits; an access key id may appear once. A trailing `:admin` marks an operator.
    pub fn parse(text: &str) -> Result<Self, CredentialsError> {
        let mut creds = Credentials::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at_line = |mut e: CredentialsError| {
                e.line = Some(index + 1);
                e
            };
            let Some((access_key_id, rest)) = line.split_once(':') else {
                return Err(at_line(CredentialsError::new("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID")));
            };
            let Some((secret, last)) = rest.rsplit_once(':') else {
                return Err(at_line(CredentialsError::new("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID")));
            };
            let (secret, account_id, operator) = match (last, secret.rsplit_once(':')) {
                ("admin", Some((secret, account_id))) => (secret, account_id, true),
                (other, Some((_, account_id))) if !valid_account_id(other) && valid_account_id(account_id) => {
                    return Err(at_line(CredentialsError::new(format!(
                        "the field after the account id of {} must be 'admin', got '{}'",
                        sanitize(access_key_id.as_bytes(), 128),
                        sanitize(other.as_bytes(), 32)
                    ))));
                }
                _ => (secret, last, false),
            };
            creds.insert_entry(access_key_id, secret, account_id, operator).map_err(at_line)?;
        }
        Ok(creds)
    }

    /// Adds one key. Fails (with a message that never contains the secret) when the access
    /// key id is malformed or already present, the secret is empty or not printable ASCII,
    /// or the account id is not 12 digits.
    pub fn insert(&mut self, access_key_id: &str, secret_access_key: &str, account_id: &str) -> Result<(), CredentialsError> {
        self.insert_entry(access_key_id, secret_access_key, account_id, false)
    }

    /// Adds an operator's key (see [`Credentials::is_operator`]); fails as [`Credentials::insert`].
    pub fn insert_operator(&mut self, access_key_id: &str, secret_access_key: &str, account_id: &str) -> Result<(), CredentialsError> {
        self.insert_entry(access_key_id, secret_access_key, account_id, true)
    }

    fn insert_entry(
        &mut self,
        access_key_id: &str,
        secret_access_key: &str,
        account_id: &str,
        operator: bool,
    ) -> Result<(), CredentialsError> {
        if !valid_access_key_id(access_key_id) {
            return Err(CredentialsError::new("access key id must be 1 to 128 characters of A-Z a-z 0-9 _ - ."));
        }
        if !valid_secret(secret_access_key) {
            return Err(CredentialsError::new(format!(
                "secret access key of {access_key_id} must be 1 to 256 printable ASCII characters without spaces"
            )));
        }
        if !valid_account_id(account_id) {
            return Err(CredentialsError::new(format!(
                "account id of {access_key_id} must be 12 digits, got '{}'",
                sanitize(account_id.as_bytes(), 32)
            )));
        }
        if self.entries.contains_key(access_key_id) {
            return Err(CredentialsError::new(format!("duplicate access key id {access_key_id}")));
        }
        let mut k_secret = Vec::with_capacity(4 + secret_access_key.len());
        k_secret.extend_from_slice(b"AWS4");
        k_secret.extend_from_slice(secret_access_key.as_bytes());
        self.entries.insert(access_key_id.into(), Entry { k_secret: k_secret.into_boxed_slice(), account_id: account_id.into(), operator });
        Ok(())
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The account id of an access key id, if configured.
    pub fn account_id(&self, access_key_id: &str) -> Option<&str> {
        self.entries.get(access_key_id).map(|e| &*e.account_id)
    }

    /// The configured access key ids (in no particular order).
    pub fn access_key_ids(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|k| &**k)
    }

    /// True when the key is an operator's (a fourth field `admin`): it may use the server's
    /// control plane in sigv4 mode.
    pub fn is_operator(&self, access_key_id: &str) -> bool {
        self.entries.get(access_key_id).is_some_and(|e| e.operator)
    }

    pub(crate) fn get(&self, access_key_id: &str) -> Option<&Entry> {
        self.entries.get(access_key_id)
    }
}

impl FromStr for Credentials {
    type Err = CredentialsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Credentials::parse(s)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<(&str, &Entry)> = self.entries.iter().map(|(k, e)| (&**k, e)).collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        let mut map = f.debug_map();
        for (k, e) in keys {
            let role = if e.operator { ", operator" } else { "" };
            map.entry(&k, &format_args!("(secret: <redacted>, account: {}{role})", e.account_id));
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn parses_lines() {
        let text = format!("# comment\n\n  AKIDEXAMPLE:{SECRET}:123456789012  \r\nAKID2:se:cr:et:210987654321\n   # indented comment\n");
        let c = Credentials::parse(&text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.account_id("AKIDEXAMPLE"), Some("123456789012"));
        assert_eq!(&*c.get("AKID2").unwrap().k_secret, b"AWS4se:cr:et");
        assert_eq!(&*c.get("AKIDEXAMPLE").unwrap().k_secret, format!("AWS4{SECRET}").as_bytes());
        let parsed: Credentials = text.parse().unwrap();
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn errors_name_the_line_but_never_the_secret() {
        let cases = [
            (format!("A:{SECRET}:12345"), 1, "12 digits"),
            (format!("\n\nA:{SECRET}:1234567890123"), 3, "12 digits"),
            (format!("A:{SECRET}"), 1, "expected"),
            (format!("x\nA{SECRET}"), 1, "expected"),
            (format!("A/B:{SECRET}:123456789012"), 1, "access key id"),
            (":x:123456789012".to_string(), 1, "access key id"),
            ("A::123456789012".to_string(), 1, "secret"),
            ("A:has space:123456789012".to_string(), 1, "secret"),
            (format!("A:{SECRET}:123456789012\nA:{SECRET}x:123456789012"), 2, "duplicate"),
        ];
        for (text, line, needle) in cases {
            let e = Credentials::parse(&text).unwrap_err();
            let shown = e.to_string();
            assert_eq!(e.line(), Some(line), "{shown}");
            assert!(shown.contains(needle), "{shown}");
            assert!(shown.contains(&format!("line {line}")), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains('\n'), "{shown}");
        }
    }

    #[test]
    fn a_fourth_field_admin_marks_an_operator() {
        let text = format!(
            "AKIDEXAMPLE:{SECRET}:123456789012:admin\nAKID2:se:cr:et:210987654321\nAKID3:x:123456789012:admin:210987654321:admin\nAKID4:y:admin:210987654321\n"
        );
        let c = Credentials::parse(&text).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c.account_id("AKIDEXAMPLE"), Some("123456789012"));
        assert_eq!(&*c.get("AKIDEXAMPLE").unwrap().k_secret, format!("AWS4{SECRET}").as_bytes());
        assert!(c.is_operator("AKIDEXAMPLE"));
        assert!(!c.is_operator("AKID2") && !c.is_operator("nobody"));
        // the secret may hold colons, even ":123456789012:admin"
        assert_eq!(&*c.get("AKID3").unwrap().k_secret, b"AWS4x:123456789012:admin");
        assert!(c.is_operator("AKID3"));
        assert_eq!(&*c.get("AKID4").unwrap().k_secret, b"AWS4y:admin");
        assert!(!c.is_operator("AKID4"));
        // any other fourth field is an error that names the field, never the secret
        let e = Credentials::parse(&format!("AKIDEXAMPLE:{SECRET}:123456789012:root")).unwrap_err();
        assert!(e.to_string().contains("admin") && !e.to_string().contains(SECRET), "{e}");
        assert!(format!("{c:?}").contains("operator"), "{c:?}");
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::parse(&format!("AKIDEXAMPLE:{SECRET}:123456789012")).unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(shown.contains("123456789012"));
        assert!(!shown.contains(SECRET));
        assert!(!shown.contains("EXAMPLEKEY"));
    }
}
