//! Who is calling: the (account, region) of a request (docs/behaviour.md, "Accounts, regions and signatures").
//!
//! - sigv4: the request must carry a valid Signature Version 4 made with a configured credential;
//!   the account is the credential's, the region the credential scope's.
//! - open: nothing is verified; the region is the credential scope's if the request has one, and
//!   the account is the one a configured credential maps the access key to, else a 12-digit
//!   access key itself, else 000000000000.
//!
//! Either way a signing region that is not a region name (`US-EAST-1`) is refused: it would make
//! ARNs the model's patterns reject.

use carillon_api::{ApiError, ErrorKind};
use carillon_sigv4::{AuthErrorKind, Credentials, RequestParts, SignatureMismatch, Verifier};
use std::time::SystemTime;

pub const DEFAULT_ACCOUNT: &str = "000000000000";
pub const DEFAULT_REGION: &str = "us-east-1";

pub enum Auth {
    Open(Credentials),
    Sigv4(Verifier),
}

/// What authenticating a request gave: its caller, or the refusal and, for a signature that did
/// not match, what the server computed (for the request journal).
pub type Authenticated = Result<Caller, (ApiError, Option<Box<SignatureMismatch>>)>;

/// The caller's account and region.
pub struct Caller {
    pub account: String,
    pub region: String,
    /// Signed with an operator's key (sigv4 mode only): may use the control plane.
    pub operator: bool,
}

impl Auth {
    pub fn authenticate(&self, req: &RequestParts<'_>) -> Result<Caller, ApiError> {
        self.authenticate_detailed(req).map_err(|(e, _)| e)
    }

    /// As [`Auth::authenticate`]; a refusal for a signature that did not match also gives what the
    /// server computed (for the request journal).
    pub fn authenticate_detailed(&self, req: &RequestParts<'_>) -> Authenticated {
        match self {
            Auth::Sigv4(verifier) => signed_caller(verifier, verifier.verify(req, SystemTime::now())),
            Auth::Open(credentials) => Ok(match carillon_sigv4::scope_from_unverified(req) {
                Some(scope) if !carillon_sigv4::is_region_name(&scope.region) => {
                    return Err((
                        ApiError::bad_request(format!(
                            "The credential scope's region '{}' is not a region name such as us-east-1 (lower case).",
                            carillon_api::printable(&scope.region)
                        )),
                        None,
                    ));
                }
                Some(scope) => Caller { account: account_for(credentials, &scope.access_key_id), region: scope.region, operator: false },
                None => Caller { account: DEFAULT_ACCOUNT.into(), region: DEFAULT_REGION.into(), operator: false },
            }),
        }
    }

    /// In sigv4 mode, what can be checked before the body is read (key, date, scope, signed
    /// headers), so that a request without a valid credential never has its body buffered.
    /// Open mode checks nothing here.
    pub fn precheck(&self, req: &RequestParts<'_>) -> Result<(), ApiError> {
        match self {
            Auth::Sigv4(verifier) => verifier.precheck(req, SystemTime::now()).map_err(|e| refusal(&e)),
            Auth::Open(_) => Ok(()),
        }
    }

    /// In sigv4 mode, for a request that has no body (so that the whole of it is known before
    /// any body is read): [`Auth::precheck`]'s refusal, else what [`Auth::authenticate_detailed`]
    /// answers, in one pass over the head. Open mode: nothing, as its precheck checks nothing.
    pub fn precheck_bodyless(&self, req: &RequestParts<'_>) -> Result<Option<Authenticated>, ApiError> {
        match self {
            Auth::Sigv4(verifier) => match verifier.verify_in_stages(req, SystemTime::now()) {
                Ok(outcome) => Ok(Some(signed_caller(verifier, outcome))),
                Err(e) => Err(refusal(&e)),
            },
            Auth::Open(_) => Ok(None),
        }
    }

    pub fn is_sigv4(&self) -> bool {
        matches!(self, Auth::Sigv4(_))
    }
}

/// The caller a verified signature names, or its refusal and, for a mismatch, what the server
/// computed.
fn signed_caller(verifier: &Verifier, verified: Result<carillon_sigv4::Caller, carillon_sigv4::AuthError>) -> Authenticated {
    match verified {
        Ok(c) => {
            let operator = verifier.credentials().is_operator(&c.access_key_id);
            Ok(Caller { account: c.account_id, region: c.region, operator })
        }
        Err(e) => Err((refusal(&e), e.mismatch().cloned().map(Box::new))),
    }
}

/// A refused signature as the API answers it: 403 with AWS's code, and for the log line the
/// refusal and, for a mismatch, the canonical request the server computed (request data only,
/// never a secret or a signature).
fn refusal(e: &carillon_sigv4::AuthError) -> ApiError {
    let kind = match e.kind() {
        AuthErrorKind::MissingAuthenticationToken => ErrorKind::MissingAuthenticationToken,
        AuthErrorKind::UnrecognizedClient => ErrorKind::UnrecognizedClient,
        AuthErrorKind::InvalidSignature => ErrorKind::InvalidSignature,
    };
    let cause = match e.detail() {
        Some(detail) => format!("{e}; {detail}"),
        None => e.to_string(),
    };
    ApiError::new(kind, e.message()).with_cause(cause)
}

/// The account of an access key id in open mode (docs/behaviour.md, "Accounts, regions and signatures").
fn account_for(credentials: &Credentials, access_key: &str) -> String {
    if let Some(a) = credentials.account_id(access_key) {
        return a.to_string();
    }
    if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
        return access_key.to_string();
    }
    DEFAULT_ACCOUNT.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(headers: &'a [(&'a str, &'a [u8])], query: Option<&'a str>) -> RequestParts<'a> {
        RequestParts { method: "GET", raw_path: "/app-instances", raw_query: query, headers, body: b"" }
    }

    #[test]
    fn open_mode_takes_account_and_region_from_the_credential_scope() {
        let creds: Credentials = "AKIDEXAMPLE:secret:444455556666\n".parse().unwrap();
        let auth = Auth::Open(creds);
        let h = b"AWS4-HMAC-SHA256 Credential=111122223333/20261128/eu-west-1/chime/aws4_request, SignedHeaders=host, Signature=ab";
        let c = auth.authenticate(&parts(&[("authorization", h)], None)).unwrap();
        assert_eq!((c.account.as_str(), c.region.as_str()), ("111122223333", "eu-west-1"));
        let h = b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/ap-south-1/chime/aws4_request, SignedHeaders=host, Signature=ab";
        let c = auth.authenticate(&parts(&[("authorization", h)], None)).unwrap();
        assert_eq!((c.account.as_str(), c.region.as_str()), ("444455556666", "ap-south-1"));
        let h = b"AWS4-HMAC-SHA256 Credential=testing/20261128/us-west-2/chime/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(auth.authenticate(&parts(&[("authorization", h)], None)).unwrap().account, DEFAULT_ACCOUNT);
        let c = auth.authenticate(&parts(&[], None)).unwrap();
        assert_eq!((c.account.as_str(), c.region.as_str()), (DEFAULT_ACCOUNT, DEFAULT_REGION));
        // a region that is not a region name is a 400, not a new region
        for region in ["US-EAST-1", "local", "us_east_1"] {
            let h =
                format!("AWS4-HMAC-SHA256 Credential=111122223333/20261128/{region}/chime/aws4_request, SignedHeaders=host, Signature=ab");
            let e = auth.authenticate(&parts(&[("authorization", h.as_bytes())], None)).err().unwrap();
            assert_eq!((e.kind, e.status()), (ErrorKind::BadRequest, 400), "{region}");
        }
    }

    #[test]
    fn sigv4_mode_refuses_an_unsigned_request() {
        let auth = Auth::Sigv4(Verifier::new("AKIDEXAMPLE:secret:444455556666\n".parse().unwrap()));
        let e = auth.authenticate(&parts(&[("host", b"x")], None)).err().unwrap();
        assert_eq!(e.kind, ErrorKind::MissingAuthenticationToken);
        assert_eq!(e.status(), 403);
        assert_eq!(e.cause.as_deref(), Some("MissingAuthenticationToken: Missing Authentication Token"));
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    fn amz_date(t: SystemTime) -> String {
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
    }

    #[test]
    fn a_signature_mismatch_logs_the_canonical_request_but_no_secret() {
        let auth = Auth::Sigv4(Verifier::new("AKIDEXAMPLE:wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY:444455556666\n".parse().unwrap()));
        let date = amz_date(SystemTime::now());
        let day = &date[..8];
        let signature = "0".repeat(64);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"
        );
        let headers: [(&str, &[u8]); 3] =
            [("host", b"localhost"), ("x-amz-date", date.as_bytes()), ("authorization", authorization.as_bytes())];
        let e = auth.authenticate(&parts(&headers, Some("max-results=5"))).err().unwrap();
        assert_eq!(e.kind, ErrorKind::InvalidSignature);
        let cause = e.cause.clone().unwrap();
        assert!(cause.contains("/app-instances") && cause.contains("max-results=5"), "{cause}");
        assert!(!cause.contains("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY") && !cause.contains(&signature), "{cause}");
        assert!(!String::from_utf8(e.body()).unwrap().contains("/app-instances"), "the cause stays out of the answer");
        let (_, mismatch) = auth.authenticate_detailed(&parts(&headers, Some("max-results=5"))).err().unwrap();
        let mismatch = mismatch.unwrap();
        assert!(mismatch.canonical_request.starts_with("GET\n/app-instances\nmax-results=5\n"), "{mismatch:?}");
        assert_eq!(mismatch.signed_headers, "host;x-amz-date");
        assert_eq!(mismatch.credential_scope, format!("{day}/us-east-1/chime/aws4_request"));
        assert!(mismatch.string_to_sign.starts_with(&format!("AWS4-HMAC-SHA256\n{date}\n{day}/us-east-1/chime/aws4_request\n")));
    }
}
