//! Who is calling: the (account, region) of a request, from its Authorization header or presigned
//! query (SPEC §3). In open mode nothing is verified; the region is the credential scope's and the
//! account comes from a configured credential, else a 12-digit access key id, else 000000000000.

use std::collections::HashMap;

pub const DEFAULT_ACCOUNT: &str = "000000000000";
pub const DEFAULT_REGION: &str = "us-east-1";

/// Configured credentials: access key id -> account id. Secrets are kept by the verifier only.
#[derive(Default, Clone)]
pub struct Accounts {
    by_key: HashMap<String, String>,
}

impl Accounts {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Accounts { by_key: pairs.into_iter().collect() }
    }

    /// The account of an access key id (SPEC §3).
    pub fn account_for(&self, access_key: &str) -> String {
        if let Some(a) = self.by_key.get(access_key) {
            return a.clone();
        }
        if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
            return access_key.to_string();
        }
        DEFAULT_ACCOUNT.to_string()
    }
}

/// The access key id and region of a `Credential=AKID/DATE/REGION/SERVICE/aws4_request` value.
fn parse_credential(credential: &str) -> Option<(&str, &str)> {
    let mut parts = credential.split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    Some((key, region)).filter(|(k, r)| !k.is_empty() && !r.is_empty())
}

/// The access key id and region a request claims, without verifying anything.
pub fn claimed_scope<'a>(authorization: Option<&'a str>, query: &'a [(String, String)]) -> Option<(&'a str, &'a str)> {
    if let Some(auth) = authorization {
        let rest = auth.trim_start().strip_prefix("AWS4-HMAC-SHA256")?;
        for part in rest.split(',') {
            if let Some(c) = part.trim().strip_prefix("Credential=") {
                return parse_credential(c.trim());
            }
        }
        return None;
    }
    query.iter().find(|(k, _)| k == "X-Amz-Credential").and_then(|(_, v)| parse_credential(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_and_region_come_from_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=111122223333/20261128/eu-west-1/chime/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(claimed_scope(Some(h), &[]), Some(("111122223333", "eu-west-1")));
        let accounts = Accounts::new([("AKIDEXAMPLE".to_string(), "444455556666".to_string())]);
        assert_eq!(accounts.account_for("111122223333"), "111122223333");
        assert_eq!(accounts.account_for("AKIDEXAMPLE"), "444455556666");
        assert_eq!(accounts.account_for("testing"), DEFAULT_ACCOUNT);
        let q = vec![("X-Amz-Credential".to_string(), "k/20261128/ap-south-1/chime/aws4_request".to_string())];
        assert_eq!(claimed_scope(None, &q), Some(("k", "ap-south-1")));
        assert_eq!(claimed_scope(Some("Bearer x"), &[]), None);
    }
}
