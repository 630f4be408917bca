//! A seeded, dictionary-guided mutation fuzzer on stable Rust. It keeps a corpus of inputs that
//! reached new (target, outcome-class) pairs, mutates them with byte flips, insertions of
//! protocol tokens (`%2F`, `%C0%AF`, `{`, `"`, `\u0000`, deep nesting, long runs), splices and
//! truncations, and reports any panic with the input that caused it.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// A small xorshift generator: the same seed gives the same run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
}

const TOKENS: &[&[u8]] = &[
    b"/",
    b"//",
    b"%",
    b"%2F",
    b"%2f",
    b"%3A",
    b"%40",
    b"%00",
    b"%C0%AF",
    b"%E0%80%AF",
    b"%FF",
    b"%ZZ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b":",
    b",",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"1.5",
    b"99999999999999999999",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"app-instances",
    b"app-instance-users",
    b"app-instance-bots",
    b"endpoints",
    b"admins",
    b"tags",
    b"retention-settings",
    b"expiration-settings",
    b"arn:aws:chime:us-east-1:111122223333:app-instance/",
    b"/user/",
    b"/bot/",
    b"operation=tag-resource",
    b"operation=untag-resource",
    b"app-instance-arn=",
    b"max-results=",
    b"next-token=",
    b"arn=",
    b"&",
    b"=",
    b"\"Name\":",
    b"\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}]",
    b"\"EndpointAttributes\":{\"DeviceToken\":\"d\"}",
    b"\"MaxResults\":",
    b"\"ClientRequestToken\":\"tok-1\"",
    b"\"Configuration\":{\"Lex\":{}}",
    b"\"ExpirationSettings\":{\"ExpirationDays\":1}",
];

fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "path" => vec![
            b"\x00/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fabc".to_vec(),
            b"\x01/app-instance-users/arn%3Aaws%3Achime%3Aus-east-1%3A1%3Aapp-instance%2Fa%2Fuser%2Fu%3A1%40x/endpoints/e1".to_vec(),
            b"\x02/tags".to_vec(),
            b"\x03/app-instances/x/admins/y".to_vec(),
        ],
        "authorization" => vec![
            b"AWS4-HMAC-SHA256 Credential=111122223333/20261128/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_vec(),
            b"AWS4-HMAC-SHA256 Credential=AKID/20261128/eu-west-1/chime/aws4_request,SignedHeaders=host,Signature=ab".to_vec(),
        ],
        "sigv4" => vec![
            b"GET\n/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A1%3Aapp-instance%2Fx\nmax-results=1\nhost:x\nx-amz-date:20261128T000000Z\nauthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab\n\n{}".to_vec(),
        ],
        "direct" => vec![
            b"\x00{\"Name\":\"x\",\"AllowMessages\":\"ALL\"}".to_vec(),
            b"\x01{\"Name\":\"n\",\"ClientRequestToken\":\"tok-1\",\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}]}".to_vec(),
            b"\x02{\"AppInstanceArn\":\"arn:aws:chime:us-east-1:111122223333:app-instance/a\",\"AppInstanceUserId\":\"u\",\"Name\":\"n\",\"ClientRequestToken\":\"tok-1\",\"ExpirationSettings\":{\"ExpirationDays\":1,\"ExpirationCriterion\":\"CREATED_TIMESTAMP\"}}".to_vec(),
            b"\x03{\"Type\":\"GCM\",\"ResourceArn\":\"arn:aws:mobiletargeting:us-east-1:111122223333:apps/a\",\"EndpointAttributes\":{\"DeviceToken\":\"d\"},\"ClientRequestToken\":\"tok-1\"}".to_vec(),
            b"\x04{\"Content\":\"hi\",\"Type\":\"STANDARD\",\"Persistence\":\"PERSISTENT\",\"ClientRequestToken\":\"tok-1\",\"MessageAttributes\":{\"m\":{\"StringValues\":[\"a\"]}}}".to_vec(),
            b"\x05{\"AppInstanceArn\":\"arn:aws:chime:us-east-1:111122223333:app-instance/a\",\"Name\":\"c\",\"ClientRequestToken\":\"tok-1\",\"Mode\":\"RESTRICTED\"}".to_vec(),
            b"\x06{\"Preferences\":{\"PushNotifications\":{\"AllowNotifications\":\"FILTERED\",\"FilterRule\":\"{\\\"m\\\":[\\\"a\\\"]}\"}}}".to_vec(),
            b"\x07app-instance-arn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa&max-results=5".to_vec(),
        ],
        "query" => vec![
            b"app-instance-arn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fabc&max-results=10&next-token=AAAA".to_vec(),
            b"arn=arn%3Aaws%3Achime%3Aus-east-1%3A1%3Aapp-instance%2Fa".to_vec(),
            b"max-results=51".to_vec(),
        ],
        _ => vec![
            b"\x00{\"Name\":\"n\",\"ClientRequestToken\":\"tok-1\",\"Tags\":[{\"Key\":\"k\",\"Value\":\"v\"}]}".to_vec(),
            b"\x18{\"Type\":\"GCM\",\"ResourceArn\":\"arn:aws:mobiletargeting:us-east-1:111122223333:apps/a\",\"EndpointAttributes\":{\"DeviceToken\":\"d\"},\"ClientRequestToken\":\"tok-1\"}".to_vec(),
            b"\x1d{\"Name\":\"x\",\"AllowMessages\":\"ALL\"}".to_vec(),
            b"\x02{\"AppInstanceArn\":\"arn:aws:chime:us-east-1:1:app-instance/a\",\"Configuration\":{\"Lex\":{\"LexBotAliasArn\":\"arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST\",\"LocaleId\":\"en_US\"}},\"ClientRequestToken\":\"tok-1\"}".to_vec(),
        ],
    }
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(8) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(out.len() + 1);
                out.splice(i..i, t.iter().copied());
            }
            2 if !out.is_empty() => {
                let i = rng.below(out.len());
                let j = (i + rng.below(16)).min(out.len());
                out.drain(i..j);
            }
            3 => {
                let other = &corpus[rng.below(corpus.len())];
                let i = rng.below(out.len() + 1);
                let j = rng.below(other.len() + 1);
                out.truncate(i);
                out.extend_from_slice(&other[j..]);
            }
            4 => {
                // A long run: nesting, or a very long value.
                let t = [b"[".as_slice(), b"{\"a\":", b"a", b"%41"][rng.below(4)];
                let n = 1 << rng.below(14);
                let i = rng.below(out.len() + 1);
                let run: Vec<u8> = t.iter().copied().cycle().take(t.len() * n).collect();
                out.splice(i..i, run);
            }
            5 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0u8, 0x7f, 0x80, 0xc0, 0xff, b'%', b'/', b'"'][rng.below(8)];
            }
            6 => {
                let i = rng.below(out.len() + 1);
                out.truncate(i);
            }
            _ => {
                let i = rng.below(out.len() + 1);
                out.insert(i, rng.next_u64() as u8);
            }
        }
    }
    out.truncate(1 << 20);
    out
}

/// What one run of a target did.
#[derive(Debug, Default)]
pub struct Report {
    pub executions: u64,
    pub corpus: usize,
    /// Inputs that made the target panic.
    pub findings: Vec<Vec<u8>>,
}

/// Runs `target` for `duration` (or `max_execs`), from `seed`.
pub fn run(name: &str, target: fn(&[u8]), seed: u64, duration: Duration, max_execs: u64) -> Report {
    let mut rng = Rng::new(seed);
    let mut corpus = seeds(name);
    let mut seen: HashSet<(usize, bool)> = HashSet::new();
    let mut report = Report::default();
    let start = Instant::now();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    while start.elapsed() < duration && report.executions < max_execs {
        let base = corpus[rng.below(corpus.len())].clone();
        let input = mutate(&mut rng, &corpus, &base);
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
        report.executions += 1;
        match outcome {
            Err(_) => {
                if report.findings.len() < 10 {
                    report.findings.push(input);
                }
            }
            Ok(()) => {
                // A crude novelty signal: input length class and whether it parses as JSON.
                let class = (
                    input.len().next_power_of_two().trailing_zeros() as usize,
                    serde_json::from_slice::<serde_json::Value>(&input).is_ok(),
                );
                if (seen.insert(class) || rng.below(1000) == 0) && corpus.len() < 4096 {
                    corpus.push(input);
                }
            }
        }
    }
    std::panic::set_hook(previous_hook);
    report.corpus = corpus.len();
    report
}
