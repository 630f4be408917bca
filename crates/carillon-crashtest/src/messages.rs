//! A chatter: the only writer of one channel in its own account. It sends PERSISTENT messages
//! with ClientRequestTokens it remembers, now and then adds a fresh user as a member, and stops at
//! its first request without a definite answer. After the restart every acknowledged send must be
//! listed exactly once, with its content, in acknowledgement order; the unanswered one at most
//! once, and its retry with the same token answers the stored MessageId (docs/behaviour.md,
//! "Messaging" and "Idempotency").

use crate::api::{self, Outcome};
use crate::rng::Rng;
use aws_sdk_chimesdkmessaging::Client;
use aws_sdk_chimesdkmessaging::types::{ChannelMessagePersistenceType, ChannelMessageType, SortOrder};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A send or membership whose answer was lost.
#[derive(Debug, Clone)]
enum Pending {
    Send { token: String, content: String },
    Member(String),
}

#[derive(Debug, Default, Clone)]
pub struct ChatStats {
    pub sends_acked: u64,
    pub sends_verified: u64,
    pub members_acked: u64,
    /// Unanswered sends found stored / not stored after the restart.
    pub unanswered_stored: u64,
    pub unanswered_lost: u64,
    pub violations: Vec<String>,
}

pub struct Chatter {
    pub label: String,
    pub account: String,
    pub client: Client,
    identity: aws_sdk_chimesdkidentity::Client,
    instance: String,
    bearer: String,
    channel: String,
    /// Acknowledged sends in acknowledgement order: (MessageId, content).
    acked: Vec<(String, String)>,
    members: Vec<String>,
    pending: Option<Pending>,
    seq: u64,
    rng: Rng,
    pub stats: ChatStats,
}

impl Chatter {
    /// An AppInstance, its first user and a channel that user created, in `account`.
    pub async fn setup(url: &str, account: &str, label: String, rng: Rng) -> Result<Chatter, String> {
        let identity = api::client(url, account);
        let client = api::messaging(url, account);
        let instance = match Outcome::from_result(identity.create_app_instance().name(format!("chat {label}")).send().await) {
            Outcome::Ok(r) => r.app_instance_arn().unwrap_or_default().to_string(),
            o => return Err(format!("{label}: cannot create the AppInstance: {}", o.short())),
        };
        let bearer = match Outcome::from_result(
            identity.create_app_instance_user().app_instance_arn(&instance).app_instance_user_id("owner").name("owner").send().await,
        ) {
            Outcome::Ok(r) => r.app_instance_user_arn().unwrap_or_default().to_string(),
            o => return Err(format!("{label}: cannot create the channel's owner: {}", o.short())),
        };
        let channel = match Outcome::from_result(
            client
                .create_channel()
                .app_instance_arn(&instance)
                .name("crash")
                .client_request_token(format!("{label}-ch"))
                .chime_bearer(&bearer)
                .send()
                .await,
        ) {
            Outcome::Ok(r) => r.channel_arn().unwrap_or_default().to_string(),
            o => return Err(format!("{label}: cannot create the channel: {}", o.short())),
        };
        Ok(Chatter {
            label,
            account: account.to_string(),
            client,
            identity,
            instance,
            members: vec![bearer.clone()],
            bearer,
            channel,
            acked: Vec::new(),
            pending: None,
            seq: 0,
            rng,
            stats: ChatStats::default(),
        })
    }

    /// The same chatter talking to the server at `url` (after a restart).
    pub fn reconnect(&mut self, url: &str) {
        self.client = api::messaging(url, &self.account);
        self.identity = api::client(url, &self.account);
    }

    fn violation(&mut self, msg: String) {
        self.stats.violations.push(format!("[{}] {msg}", self.label));
    }

    async fn send(&self, token: &str, content: &str) -> Outcome<String> {
        Outcome::from_result(
            self.client
                .send_channel_message()
                .channel_arn(&self.channel)
                .content(content)
                .r#type(ChannelMessageType::Standard)
                .persistence(ChannelMessagePersistenceType::Persistent)
                .client_request_token(token)
                .chime_bearer(&self.bearer)
                .send()
                .await,
        )
        .map(|r| r.message_id().unwrap_or_default().to_string())
    }

    async fn add_member(&self, member: &str) -> Outcome<()> {
        Outcome::from_result(
            self.client
                .create_channel_membership()
                .channel_arn(&self.channel)
                .member_arn(member)
                .r#type(aws_sdk_chimesdkmessaging::types::ChannelMembershipType::Default)
                .chime_bearer(&self.bearer)
                .send()
                .await,
        )
        .map(|_| ())
    }

    /// Sends until `stop` is set or a request gets no definite answer (or a 5xx while the store
    /// is down). A 4xx is a violation: every request is valid.
    pub async fn run(&mut self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::Relaxed) {
            self.seq += 1;
            if self.rng.chance(10) {
                let id = format!("m{}", self.seq);
                let user = match Outcome::from_result(
                    self.identity
                        .create_app_instance_user()
                        .app_instance_arn(&self.instance)
                        .app_instance_user_id(&id)
                        .name(&id)
                        .send()
                        .await,
                ) {
                    Outcome::Ok(r) => r.app_instance_user_arn().unwrap_or_default().to_string(),
                    Outcome::Err { status, code } if status < 500 => {
                        self.violation(format!("CreateAppInstanceUser {id} answered {status} {code}"));
                        return;
                    }
                    _ => return,
                };
                match self.add_member(&user).await {
                    Outcome::Ok(()) => {
                        self.stats.members_acked += 1;
                        self.members.push(user);
                    }
                    Outcome::Err { status, code } if status < 500 => {
                        self.violation(format!("CreateChannelMembership {user} answered {status} {code}"));
                        return;
                    }
                    _ => {
                        self.pending = Some(Pending::Member(user));
                        return;
                    }
                }
                continue;
            }
            let token = format!("{}-{}", self.label, self.seq);
            let content = format!("{} message {}", self.label, self.seq);
            match self.send(&token, &content).await {
                Outcome::Ok(id) => {
                    self.stats.sends_acked += 1;
                    self.acked.push((id, content));
                }
                Outcome::Err { status, code } if status < 500 => {
                    self.violation(format!("SendChannelMessage answered {status} {code}"));
                    return;
                }
                _ => {
                    self.pending = Some(Pending::Send { token, content });
                    return;
                }
            }
        }
    }

    /// Every message of the channel, oldest first: (MessageId, content).
    async fn list(&self) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = Outcome::from_result(
                self.client
                    .list_channel_messages()
                    .channel_arn(&self.channel)
                    .sort_order(SortOrder::Ascending)
                    .max_results(50)
                    .set_next_token(token)
                    .chime_bearer(&self.bearer)
                    .send()
                    .await,
            );
            let Outcome::Ok(page) = page else { return Err(format!("ListChannelMessages: {}", page.short())) };
            out.extend(
                page.channel_messages()
                    .iter()
                    .map(|m| (m.message_id().unwrap_or_default().to_string(), m.content().unwrap_or_default().to_string())),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every member of the channel.
    async fn list_members(&self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = Outcome::from_result(
                self.client
                    .list_channel_memberships()
                    .channel_arn(&self.channel)
                    .max_results(50)
                    .set_next_token(token)
                    .chime_bearer(&self.bearer)
                    .send()
                    .await,
            );
            let Outcome::Ok(page) = page else { return Err(format!("ListChannelMemberships: {}", page.short())) };
            out.extend(page.channel_memberships().iter().filter_map(|m| m.member().and_then(|m| m.arn()).map(str::to_string)));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Checks the listing against the acknowledged sends; `extra` is the content of an unanswered
    /// send, which may be listed at most once. Returns its MessageId when it is listed; counts the
    /// acknowledged sends verified.
    fn check_listing(&mut self, listed: &[(String, String)], extra: Option<&str>) -> Option<String> {
        let mut extra_ids = Vec::new();
        let mut acked_order = Vec::new();
        for (id, content) in listed {
            if let Some((_, want)) = self.acked.iter().find(|(a, _)| a == id) {
                if want != content {
                    self.violation(format!("message {id} lists content {content:?}, acknowledged as {want:?}"));
                }
                acked_order.push(id.clone());
            } else if Some(content.as_str()) == extra {
                extra_ids.push(id.clone());
            } else {
                self.violation(format!("message {id} ({content:?}) was never sent"));
            }
        }
        let want: Vec<String> = self.acked.iter().map(|(id, _)| id.clone()).collect();
        if acked_order != want {
            let missing = want.iter().filter(|id| !acked_order.contains(id)).count();
            self.violation(format!(
                "the {} acknowledged sends are not listed exactly once in acknowledgement order ({} listed, {missing} missing)",
                want.len(),
                acked_order.len()
            ));
        } else {
            self.stats.sends_verified = want.len() as u64;
        }
        if extra_ids.len() > 1 {
            self.violation(format!("the unanswered send is listed {} times", extra_ids.len()));
        }
        extra_ids.into_iter().next()
    }

    /// Reads the channel back after a restart, resolves the unanswered request, and checks again.
    pub async fn check(&mut self) {
        let listed = match self.list().await {
            Ok(l) => l,
            Err(e) => return self.violation(format!("cannot read the messages back: {e}")),
        };
        let pending = self.pending.take();
        let extra = match &pending {
            Some(Pending::Send { content, .. }) => Some(content.clone()),
            _ => None,
        };
        let stored = self.check_listing(&listed, extra.as_deref());
        if let Some(Pending::Send { token, content }) = &pending {
            match self.send(token, content).await {
                Outcome::Ok(id) => {
                    match &stored {
                        Some(s) if *s != id => self.violation(format!(
                            "the unanswered send is stored as {s}; its retry with the same ClientRequestToken answered {id}"
                        )),
                        Some(_) => self.stats.unanswered_stored += 1,
                        None => self.stats.unanswered_lost += 1,
                    }
                    self.stats.sends_acked += 1;
                    self.acked.push((id, content.clone()));
                    match self.list().await {
                        Ok(l) => {
                            self.check_listing(&l, None);
                        }
                        Err(e) => self.violation(format!("cannot read the messages back after the retry: {e}")),
                    }
                }
                o => self.violation(format!("the retry of the unanswered send with its ClientRequestToken answered {}", o.short())),
            }
        }
        let members = match self.list_members().await {
            Ok(m) => m,
            Err(e) => return self.violation(format!("cannot read the memberships back: {e}")),
        };
        for m in self.members.clone() {
            if members.iter().filter(|x| **x == m).count() != 1 {
                self.violation(format!("acknowledged member {m} is not listed exactly once"));
            }
        }
        if let Some(Pending::Member(m)) = &pending {
            let listed = members.contains(m);
            match (self.add_member(m).await, listed) {
                (Outcome::Ok(()), false) | (Outcome::Err { status: 409, .. }, true) => {
                    self.stats.members_acked += 1;
                    self.members.push(m.clone());
                }
                (o, _) => self.violation(format!(
                    "the unanswered membership of {m} is {}listed, and adding it again answered {}",
                    if listed { "" } else { "not " },
                    o.short()
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chatter(acked: &[(&str, &str)]) -> Chatter {
        let url = "http://127.0.0.1:9";
        Chatter {
            label: "t".into(),
            account: "111122223333".into(),
            client: api::messaging(url, "111122223333"),
            identity: api::client(url, "111122223333"),
            instance: "i".into(),
            bearer: "b".into(),
            channel: "c".into(),
            acked: acked.iter().map(|(i, c)| (i.to_string(), c.to_string())).collect(),
            members: Vec::new(),
            pending: None,
            seq: 0,
            rng: Rng::new(1),
            stats: ChatStats::default(),
        }
    }

    fn listing(l: &[(&str, &str)]) -> Vec<(String, String)> {
        l.iter().map(|(i, c)| (i.to_string(), c.to_string())).collect()
    }

    #[test]
    fn lost_duplicated_reordered_or_changed_messages_are_violations() {
        let acked = [("1", "a"), ("2", "b")];
        let mut ok = chatter(&acked);
        assert_eq!(ok.check_listing(&listing(&[("1", "a"), ("2", "b"), ("9", "x")]), Some("x")), Some("9".into()));
        assert!(ok.stats.violations.is_empty(), "{:?}", ok.stats.violations);
        assert_eq!(ok.stats.sends_verified, 2);
        for bad in [
            listing(&[("1", "a")]),
            listing(&[("2", "b"), ("1", "a")]),
            listing(&[("1", "a"), ("2", "b"), ("2", "b")]),
            listing(&[("1", "a"), ("2", "changed")]),
            listing(&[("1", "a"), ("2", "b"), ("7", "never sent")]),
            listing(&[("1", "a"), ("2", "b"), ("8", "x"), ("9", "x")]),
        ] {
            let mut c = chatter(&acked);
            c.check_listing(&bad, Some("x"));
            assert!(!c.stats.violations.is_empty(), "{bad:?} passed");
        }
    }
}
