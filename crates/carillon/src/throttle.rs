//! The AWS rate profile (`--throttle aws`): token buckets, each holding one second's worth. Identity
//! has one bucket per account over all its APIs and one per operation that AWS documents a lower
//! rate for; Messaging has its own budgets, per AppInstance, per channel and per user (the
//! bearer). An excess request is a 429 ThrottledClientException. Off by default
//! (`docs/behaviour.md`, "Limits").

use carillon_api::{Operation, ServedOperation, messaging};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second over all Identity operations, per account.
const ACCOUNT_RATE: f64 = 50.0;

/// Requests per second over all Messaging operations made as one bearer: elsewhere, in eu-central-1.
const BEARER_RATE: (f64, f64) = (10.0, 5.0);

/// AWS's documented rate of an operation, where it is lower than the account's.
pub fn operation_rate(op: Operation) -> Option<f64> {
    use Operation::*;
    match op {
        CreateAppInstance | UpdateAppInstance | DeleteAppInstance => Some(5.0),
        CreateAppInstanceUser | UpdateAppInstanceUser | DeleteAppInstanceUser | ListAppInstances | ListAppInstanceUsers => Some(10.0),
        DescribeAppInstance | DescribeAppInstanceUser => Some(20.0),
        _ => None,
    }
}

/// What a Messaging operation's own rate is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    AppInstance,
    Channel,
    User,
}

/// AWS's documented rate of a Messaging operation and what it is counted per; `eu_central_1`
/// selects that region's lower rates.
pub fn messaging_rate(op: messaging::Operation, eu_central_1: bool) -> Option<(Scope, f64)> {
    use messaging::Operation::*;
    let regional = |elsewhere: f64, eu: f64| if eu_central_1 { eu } else { elsewhere };
    match op {
        CreateChannel | UpdateChannel | DeleteChannel => Some((Scope::AppInstance, 15.0)),
        ListChannels => Some((Scope::AppInstance, 10.0)),
        DescribeChannel => Some((Scope::Channel, 20.0)),
        CreateChannelMembership | DeleteChannelMembership | CreateChannelModerator | DeleteChannelModerator => {
            Some((Scope::Channel, regional(15.0, 10.0)))
        }
        ListChannelMemberships | ListChannelModerators => Some((Scope::Channel, 15.0)),
        SendChannelMessage | UpdateChannelMessage | RedactChannelMessage | DeleteChannelMessage => {
            Some((Scope::Channel, regional(30.0, 10.0)))
        }
        ListChannelMessages | GetChannelMessage => Some((Scope::Channel, 30.0)),
        BatchCreateChannelMembership => Some((Scope::Channel, 1.0)),
        ListChannelMembershipsForAppInstanceUser => Some((Scope::User, 15.0)),
        _ => None,
    }
}

/// What a Messaging request is throttled by, read from the resolved request: its channel (the
/// channel ARN path label), its AppInstance (`AppInstanceArn` in the body or query, else the
/// channel's), its bearer (`x-amz-chime-bearer`), and whether the caller is in eu-central-1.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MessagingKeys<'a> {
    pub app_instance: Option<Cow<'a, str>>,
    pub channel: Option<&'a str>,
    pub bearer: Option<&'a str>,
    pub eu_central_1: bool,
}

impl<'a> MessagingKeys<'a> {
    /// The keys of a request from its parts: the first path label when it is a channel ARN, the
    /// `app-instance-arn` query value or the body's `AppInstanceArn`, the bearer header. The body
    /// is read only when the operation carries its AppInstance there (CreateChannel).
    pub fn of(
        op: messaging::Operation,
        labels: &'a [String],
        query: &'a [(String, String)],
        headers: &'a [(&'a str, &'a [u8])],
        body: &'a [u8],
        region: &str,
    ) -> MessagingKeys<'a> {
        let channel = labels.first().map(String::as_str).filter(|l| l.contains("/channel/"));
        let bearer =
            headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-chime-bearer")).and_then(|(_, v)| std::str::from_utf8(v).ok());
        let app_instance = query
            .iter()
            .find(|(k, _)| k == "app-instance-arn")
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
            .or_else(|| (op == messaging::Operation::CreateChannel).then(|| body_app_instance(body)).flatten().map(Cow::Owned))
            .or_else(|| channel.and_then(|c| c.split_once("/channel/")).map(|(instance, _)| Cow::Borrowed(instance)));
        MessagingKeys { app_instance, channel, bearer, eu_central_1: region == "eu-central-1" }
    }
}

/// The `AppInstanceArn` of a JSON body, if it has one (a body that is no JSON object has none;
/// binding the request answers for it).
fn body_app_instance(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithAppInstance {
        #[serde(rename = "AppInstanceArn")]
        app_instance_arn: Option<String>,
    }
    serde_json::from_slice::<WithAppInstance>(body).ok().and_then(|b| b.app_instance_arn)
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: f64, now: Instant) -> Bucket {
        Bucket { tokens: rate, at: now }
    }

    /// Adds the tokens earned since the last call, up to one second's worth.
    fn refill(&mut self, rate: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at = now;
    }
}

/// The buckets of one key (an account's Identity budget, an AppInstance, a channel or a user): the
/// one over all operations (`None`) and those of the operations with a rate of their own it was
/// called with. A handful at most, so a list.
#[derive(Default)]
struct Entry {
    buckets: Vec<(Option<ServedOperation>, Bucket)>,
}

impl Entry {
    /// Whether bucket `slot` (made full when new) holds a token now.
    fn has_token(&mut self, slot: Option<ServedOperation>, rate: f64, now: Instant) -> bool {
        if !self.buckets.iter().any(|(s, _)| *s == slot) {
            self.buckets.push((slot, Bucket::full(rate, now)));
        }
        self.buckets.iter_mut().find(|(s, _)| *s == slot).is_none_or(|(_, bucket)| {
            bucket.refill(rate, now);
            bucket.tokens >= 1.0
        })
    }

    /// Takes a token from bucket `slot`, just found to hold one.
    fn take(&mut self, slot: Option<ServedOperation>) {
        if let Some((_, bucket)) = self.buckets.iter_mut().find(|(s, _)| *s == slot) {
            bucket.tokens -= 1.0;
        }
    }
}

/// The most keys whose buckets are kept: memory stays bounded whatever the number of access keys,
/// AppInstances, channels or users seen (docs/behaviour.md, "Limits").
pub const MAX_KEYS: usize = 20_000;

/// Keys in two generations, each at most half of `MAX_KEYS`: a key is found in the current one,
/// or moved up from the previous one; when the current one is full it becomes the previous one and
/// the old previous one is dropped. Keys not seen for a whole generation lose their buckets (and
/// start again full, as a new one would). Every request costs O(1), nothing is ever scanned.
#[derive(Default)]
struct Generations {
    current: HashMap<String, Entry>,
    previous: HashMap<String, Entry>,
}

impl Generations {
    /// `key`'s buckets, moved up from the previous generation or made. A generation retired to
    /// make room is handed to `retired`, to be freed outside the lock.
    fn entry(&mut self, key: &str, retired: &mut Vec<HashMap<String, Entry>>) -> Option<&mut Entry> {
        if !self.current.contains_key(key) {
            let entry = self.previous.remove(key).unwrap_or_default();
            if self.current.len() >= MAX_KEYS / 2 {
                retired.push(std::mem::replace(&mut self.previous, std::mem::take(&mut self.current)));
            }
            self.current.insert(key.to_string(), entry);
        }
        self.current.get_mut(key)
    }
}

#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<Generations>,
}

/// The map key of a scope: its kind, the caller's account and the scope's name, so that accounts
/// and the two services never share a bucket.
fn key(kind: char, account: &str, name: &str) -> String {
    let mut k = String::with_capacity(2 + account.len() + name.len() + 1);
    k.push(kind);
    k.push(' ');
    k.push_str(account);
    k.push(' ');
    k.push_str(name);
    k
}

impl Throttle {
    /// Whether `account` may call `op` now; takes a token from each bucket that applies, in order,
    /// until one is empty. Identity's rates are per account; Messaging's per AppInstance, channel
    /// and bearer, as `keys` names them, and never take Identity's tokens.
    pub fn admit(&self, account: &str, op: ServedOperation, keys: &MessagingKeys<'_>) -> bool {
        let now = Instant::now();
        match op {
            ServedOperation::Identity(op) => self.admit_at(account, op, now),
            ServedOperation::Messaging(op) => self.admit_messaging_at(account, op, keys, now),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map(|g| g.current.len() + g.previous.len()).unwrap_or(0)
    }

    fn admit_at(&self, account: &str, op: Operation, now: Instant) -> bool {
        let k = key('i', account, "");
        match operation_rate(op) {
            Some(rate) => self.admit_all(&[(&k, Some(op.into()), rate), (&k, None, ACCOUNT_RATE)], now),
            None => self.admit_all(&[(&k, None, ACCOUNT_RATE)], now),
        }
    }

    fn admit_messaging_at(&self, account: &str, op: messaging::Operation, keys: &MessagingKeys<'_>, now: Instant) -> bool {
        let scoped = messaging_rate(op, keys.eu_central_1).and_then(|(scope, rate)| {
            let (kind, name) = match scope {
                Scope::AppInstance => ('a', keys.app_instance.as_deref()),
                Scope::Channel => ('c', keys.channel),
                Scope::User => ('u', keys.bearer),
            };
            Some((key(kind, account, name?), rate))
        });
        let bearer = keys.bearer.map(|b| key('u', account, b));
        let bearer_rate = if keys.eu_central_1 { BEARER_RATE.1 } else { BEARER_RATE.0 };
        let slot = Some(ServedOperation::from(op));
        match (&scoped, &bearer) {
            (Some((k, rate)), Some(b)) => self.admit_all(&[(k, slot, *rate), (b, None, bearer_rate)], now),
            (Some((k, rate)), None) => self.admit_all(&[(k, slot, *rate)], now),
            (None, Some(b)) => self.admit_all(&[(b, None, bearer_rate)], now),
            (None, None) => true,
        }
    }

    /// Admits a request when every bucket it names (key, slot, rate) holds a token, and then takes
    /// one from each: a refused request takes nothing.
    fn admit_all(&self, buckets: &[(&str, Option<ServedOperation>, f64)], now: Instant) -> bool {
        let mut retired = Vec::new();
        let admitted = {
            let Ok(mut g) = self.buckets.lock() else { return true };
            let admitted = buckets.iter().all(|(k, slot, rate)| g.entry(k, &mut retired).is_none_or(|e| e.has_token(*slot, *rate, now)));
            if admitted {
                for (k, slot, _) in buckets {
                    if let Some(e) = g.entry(k, &mut retired) {
                        e.take(*slot);
                    }
                }
            }
            admitted
        };
        // Retired generations are freed outside the lock.
        drop(retired);
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const INSTANCE: &str = "arn:aws:chime:us-east-1:111122223333:app-instance/i1";
    const CHANNEL: &str = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/channel/c1";

    /// How many of `n` calls of `op` at `now` are admitted.
    fn admitted(t: &Throttle, account: &str, op: messaging::Operation, keys: &MessagingKeys<'_>, n: usize, now: Instant) -> usize {
        (0..n).filter(|_| t.admit_messaging_at(account, op, keys, now)).count()
    }

    fn keys<'a>(app_instance: Option<&'a str>, channel: Option<&'a str>, bearer: Option<&'a str>) -> MessagingKeys<'a> {
        MessagingKeys { app_instance: app_instance.map(Cow::Borrowed), channel, bearer, eu_central_1: false }
    }

    #[test]
    fn five_per_second_for_create_app_instance_then_refills() {
        let t = Throttle::default();
        let now = Instant::now();
        let admitted = (0..10).filter(|_| t.admit_at("111122223333", Operation::CreateAppInstance, now)).count();
        assert_eq!(admitted, 5);
        assert!(t.admit_at("999999999999", Operation::CreateAppInstance, now), "per account");
        assert!(t.admit_at("111122223333", Operation::CreateAppInstance, now + Duration::from_millis(250)));
    }

    #[test]
    fn fifty_per_second_over_all_operations() {
        let t = Throttle::default();
        let now = Instant::now();
        let admitted = (0..80).filter(|_| t.admit_at("111122223333", Operation::DescribeAppInstanceUserEndpoint, now)).count();
        assert_eq!(admitted, 50);
    }

    #[test]
    fn fifteen_channel_writes_per_second_per_app_instance() {
        use messaging::Operation::*;
        let t = Throttle::default();
        let now = Instant::now();
        let other = "arn:aws:chime:us-east-1:111122223333:app-instance/i2";
        // Without a bearer, only the AppInstance's bucket applies.
        assert_eq!(admitted(&t, "111122223333", CreateChannel, &keys(Some(INSTANCE), None, None), 20, now), 15);
        assert_eq!(admitted(&t, "111122223333", UpdateChannel, &keys(Some(INSTANCE), Some(CHANNEL), None), 20, now), 15, "per operation");
        assert_eq!(admitted(&t, "111122223333", CreateChannel, &keys(Some(other), None, None), 20, now), 15, "per AppInstance");
        assert_eq!(admitted(&t, "999999999999", CreateChannel, &keys(Some(INSTANCE), None, None), 20, now), 15, "per account");
        assert_eq!(admitted(&t, "111122223333", ListChannels, &keys(Some(INSTANCE), None, None), 20, now), 10);
        assert!(t.admit_messaging_at("111122223333", CreateChannel, &keys(Some(INSTANCE), None, None), now + Duration::from_millis(70)));
    }

    #[test]
    fn channel_rates_are_per_channel_and_lower_in_eu_central_1() {
        use messaging::Operation::*;
        let t = Throttle::default();
        let now = Instant::now();
        let other = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/channel/c2";
        let k = keys(Some(INSTANCE), Some(CHANNEL), None);
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &k, 40, now), 30);
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &keys(Some(INSTANCE), Some(other), None), 40, now), 30, "per channel");
        assert_eq!(admitted(&t, "111122223333", DescribeChannel, &k, 40, now), 20);
        assert_eq!(admitted(&t, "111122223333", CreateChannelMembership, &k, 40, now), 15);
        assert_eq!(admitted(&t, "111122223333", BatchCreateChannelMembership, &k, 5, now), 1);
        // Operations without a documented rate are not counted per channel.
        assert_eq!(admitted(&t, "111122223333", UpdateChannelReadMarker, &k, 100, now), 100);

        let eu = MessagingKeys { eu_central_1: true, ..k.clone() };
        let t = Throttle::default();
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &eu, 40, now), 10);
        assert_eq!(admitted(&t, "111122223333", CreateChannelModerator, &eu, 40, now), 10);
        assert_eq!(admitted(&t, "111122223333", ListChannelMessages, &eu, 40, now), 30, "the same rate everywhere");
    }

    #[test]
    fn a_bearer_makes_ten_calls_per_second_five_in_eu_central_1() {
        use messaging::Operation::*;
        let t = Throttle::default();
        let now = Instant::now();
        let ana = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/user/ana";
        let bo = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/user/bo";
        // Over all operations: the channel allows 30 sends, the bearer 10.
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &keys(Some(INSTANCE), Some(CHANNEL), Some(ana)), 40, now), 10);
        assert_eq!(admitted(&t, "111122223333", UpdateChannelReadMarker, &keys(Some(INSTANCE), Some(CHANNEL), Some(ana)), 5, now), 0);
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &keys(Some(INSTANCE), Some(CHANNEL), Some(bo)), 40, now), 10);
        // The channel's bucket: 30, of which 20 taken.
        let cy = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/user/cy";
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &keys(Some(INSTANCE), Some(CHANNEL), Some(cy)), 40, now), 10);
        let dee = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/user/dee";
        assert_eq!(admitted(&t, "111122223333", SendChannelMessage, &keys(Some(INSTANCE), Some(CHANNEL), Some(dee)), 40, now), 0);

        let eu = MessagingKeys { eu_central_1: true, ..keys(None, None, Some(ana)) };
        let t = Throttle::default();
        assert_eq!(admitted(&t, "111122223333", ListChannelMembershipsForAppInstanceUser, &eu, 20, now), 5);
        let k = keys(None, None, Some(ana));
        let t = Throttle::default();
        assert_eq!(admitted(&t, "111122223333", ListChannelMembershipsForAppInstanceUser, &k, 20, now), 10);
        // Half a second later: 7.5 more of the user's 15 ListChannelMembershipsForAppInstanceUser, 5 of the bearer's 10.
        assert_eq!(admitted(&t, "111122223333", ListChannelMembershipsForAppInstanceUser, &k, 20, now + Duration::from_millis(500)), 5);
    }

    #[test]
    fn messaging_and_identity_have_separate_budgets() {
        let t = Throttle::default();
        let now = Instant::now();
        let ana = "arn:aws:chime:us-east-1:111122223333:app-instance/i1/user/ana";
        assert_eq!((0..80).filter(|_| t.admit_at("111122223333", Operation::DescribeAppInstanceUserEndpoint, now)).count(), 50);
        let k = keys(Some(INSTANCE), Some(CHANNEL), Some(ana));
        assert_eq!(admitted(&t, "111122223333", messaging::Operation::DescribeChannel, &k, 20, now), 10, "Identity's budget is spent");
        let t = Throttle::default();
        assert_eq!(admitted(&t, "111122223333", messaging::Operation::UpdateChannelReadMarker, &keys(None, None, Some(ana)), 10, now), 10);
        assert!(t.admit_at("111122223333", Operation::CreateAppInstance, now), "Messaging's calls took no Identity token");
        assert_eq!((0..80).filter(|_| t.admit_at("111122223333", Operation::DescribeAppInstanceUserEndpoint, now)).count(), 49);
    }

    #[test]
    fn keys_come_from_the_label_query_body_and_bearer() {
        use messaging::Operation::*;
        let labels = vec![CHANNEL.to_string()];
        let headers: Vec<(&str, &[u8])> = vec![("x-amz-chime-bearer", b"arn:user")];
        let k = MessagingKeys::of(DeleteChannel, &labels, &[], &headers, b"", "eu-central-1");
        assert_eq!(
            k,
            MessagingKeys {
                app_instance: Some(Cow::Borrowed(INSTANCE)),
                channel: Some(CHANNEL),
                bearer: Some("arn:user"),
                eu_central_1: true
            }
        );
        let query = vec![("app-instance-arn".to_string(), INSTANCE.to_string())];
        let k = MessagingKeys::of(ListChannels, &[], &query, &[], b"", "us-east-1");
        assert_eq!(k, keys(Some(INSTANCE), None, None));
        let body = format!(r#"{{"Name":"n","AppInstanceArn":"{INSTANCE}","ClientRequestToken":"t"}}"#);
        let k = MessagingKeys::of(CreateChannel, &[], &[], &[], body.as_bytes(), "us-east-1");
        assert_eq!(k, keys(Some(INSTANCE), None, None));
        // A body that is no JSON object names nothing; a label that is no channel ARN is no channel.
        assert_eq!(MessagingKeys::of(CreateChannel, &[], &[], &[], b"[1,", "us-east-1"), keys(None, None, None));
        let labels = vec![INSTANCE.to_string()];
        assert_eq!(MessagingKeys::of(ListTagsForResource, &labels, &[], &[], b"", "us-east-1"), keys(None, None, None));
    }

    #[test]
    fn buckets_stay_bounded_and_cheap_after_100000_accounts() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..100_000u64 {
            t.admit_at(&format!("{i:012}"), Operation::DescribeAppInstanceUserEndpoint, now);
        }
        let entries = t.len();
        // Throughput of one account afterwards (printed, not asserted: wall-clock is no verdict).
        let started = Instant::now();
        let mut n = 0u32;
        while started.elapsed() < Duration::from_millis(300) {
            t.admit_at("111122223333", Operation::DescribeAppInstanceUserEndpoint, now + Duration::from_secs(1));
            n += 1;
        }
        println!("after 100,000 accounts: {entries} buckets, {:.0} admits/s", f64::from(n) / started.elapsed().as_secs_f64());
        assert!(entries <= MAX_KEYS, "{entries} buckets kept");
        // An account that keeps calling keeps its bucket: it is still throttled.
        let admitted = (0..80).filter(|_| t.admit_at("999988887777", Operation::DescribeAppInstanceUserEndpoint, now)).count();
        for i in 0..(3 * MAX_KEYS as u64) {
            t.admit_at(&format!("{:012}", 500_000 + i), Operation::DescribeAppInstanceUserEndpoint, now);
            if i % 1000 == 0 {
                assert!(!t.admit_at("999988887777", Operation::DescribeAppInstanceUserEndpoint, now), "still throttled at {i}");
            }
        }
        assert_eq!(admitted, 50);
        assert!(t.len() <= MAX_KEYS);
    }

    #[test]
    fn messaging_keys_stay_bounded_after_100000_channels_and_users() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..100_000u64 {
            let channel = format!("{INSTANCE}/channel/{i}");
            let user = format!("{INSTANCE}/user/{i}");
            let k = keys(Some(INSTANCE), Some(&channel), Some(&user));
            t.admit_messaging_at("111122223333", messaging::Operation::SendChannelMessage, &k, now);
            assert!(t.len() <= MAX_KEYS, "{} buckets kept at {i}", t.len());
        }
        // A channel that keeps being written to keeps its bucket.
        let k = keys(Some(INSTANCE), Some(CHANNEL), None);
        assert_eq!(admitted(&t, "111122223333", messaging::Operation::SendChannelMessage, &k, 40, now), 30);
        for i in 0..(3 * MAX_KEYS as u64) {
            let channel = format!("{INSTANCE}/channel/x{i}");
            t.admit_messaging_at("111122223333", messaging::Operation::SendChannelMessage, &keys(None, Some(&channel), None), now);
            if i % 1000 == 0 {
                assert!(!t.admit_messaging_at("111122223333", messaging::Operation::SendChannelMessage, &k, now), "still throttled at {i}");
            }
        }
        assert!(t.len() <= MAX_KEYS);
    }
}
