//! Several workers racing on the same users: registering endpoints from a small pool of device
//! tokens (so duplicates and the quota are hit concurrently), deregistering each other's endpoints,
//! creating users with colliding ids and promoting the same users. No exact model: the check is
//! that every acknowledged write holds, nothing rejected left a trace, and the uniqueness and
//! quota rules held under the race.

use crate::api::Outcome;
use crate::exec;
use crate::model::{ENDPOINT_QUOTA, EndpointM};
use crate::rng::Rng;
use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AppInstanceUserEndpointType, EndpointAttributes};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub const TOKENS_PER_USER: u64 = 14;
pub const USER_ID_POOL: u64 = 24;

#[derive(Debug, Clone)]
pub enum Out {
    Acked(Option<String>),
    Rejected(u16, String),
    Uncertain(String),
}

#[derive(Debug, Clone)]
pub enum Rec {
    Register { user: String, name: String, token: String, out: Out },
    Deregister { user: String, id: String, out: Out },
    CreateUser { arn: String, out: Out },
    Promote { user: String, out: Out },
}

/// The shared AppInstance and users the racing workers use.
#[derive(Debug, Clone)]
pub struct Arena {
    pub account: String,
    pub instance: String,
    pub users: Vec<String>,
    pub log: Arc<Mutex<Vec<Rec>>>,
    pub endpoints: Arc<Mutex<Vec<(String, String)>>>,
}

/// What the arena held when checked, to compare again later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub users: Vec<String>,
    pub admins: Vec<String>,
    pub endpoints: BTreeMap<String, BTreeMap<String, EndpointM>>,
}

impl Arena {
    pub async fn setup(c: &Client, account: &str, label: &str, users: usize) -> Result<Arena, String> {
        let instance = match Outcome::from_result(c.create_app_instance().name(format!("arena {label}")).send().await) {
            Outcome::Ok(r) => r.app_instance_arn().unwrap_or_default().to_string(),
            o => return Err(format!("cannot create the contention AppInstance: {}", o.short())),
        };
        let mut arns = Vec::new();
        for n in 0..users {
            match Outcome::from_result(
                c.create_app_instance_user()
                    .app_instance_arn(&instance)
                    .app_instance_user_id(format!("shared-{n}"))
                    .name(format!("shared {n}"))
                    .send()
                    .await,
            ) {
                Outcome::Ok(r) => arns.push(r.app_instance_user_arn().unwrap_or_default().to_string()),
                o => return Err(format!("cannot create a shared user: {}", o.short())),
            }
        }
        Ok(Arena { account: account.to_string(), instance, users: arns, log: Arc::default(), endpoints: Arc::default() })
    }

    /// One racing worker; returns (requests, violations). Stops at its first unanswered request.
    pub async fn race(&self, c: Client, mut rng: Rng, label: String, stop: Arc<AtomicBool>, expect_5xx: bool) -> (u64, Vec<String>) {
        let mut violations = Vec::new();
        let mut requests = 0u64;
        let mut seq = 0u64;
        let pinpoint = crate::api::pinpoint_arn(&self.account);
        while !stop.load(Ordering::Relaxed) {
            requests += 1;
            seq += 1;
            let choice = rng.below(100);
            let known: Vec<(String, String)> = self.endpoints.lock().map(|e| e.clone()).unwrap_or_default();
            let (rec, allowed): (Rec, &[u16]) = if choice < 55 || (choice < 80 && known.is_empty()) {
                let ui = rng.below(self.users.len() as u64) as usize;
                let user = self.users[ui].clone();
                let token = format!("shared-token-{ui}-{}", rng.below(TOKENS_PER_USER));
                let name = format!("{label}-e{seq}");
                let attrs = EndpointAttributes::builder().device_token(&token).build().expect("token");
                let o = Outcome::from_result(
                    c.register_app_instance_user_endpoint()
                        .app_instance_user_arn(&user)
                        .name(&name)
                        .r#type(AppInstanceUserEndpointType::Gcm)
                        .resource_arn(&pinpoint)
                        .endpoint_attributes(attrs)
                        .send()
                        .await,
                );
                let out = to_out(o.map(|r| r.endpoint_id().map(str::to_string)));
                if let Out::Acked(Some(id)) = &out
                    && let Ok(mut e) = self.endpoints.lock()
                {
                    e.push((user.clone(), id.clone()));
                }
                (Rec::Register { user, name, token, out }, &[201, 400, 409])
            } else if choice < 80 {
                let (user, id) = known[rng.below(known.len() as u64) as usize].clone();
                let o = Outcome::from_result(
                    c.deregister_app_instance_user_endpoint().app_instance_user_arn(&user).endpoint_id(&id).send().await,
                );
                (Rec::Deregister { user, id, out: to_out(o.map(|_| None)) }, &[204, 404])
            } else if choice < 92 {
                let id = format!("racer-{}", rng.below(USER_ID_POOL));
                let o = Outcome::from_result(
                    c.create_app_instance_user()
                        .app_instance_arn(&self.instance)
                        .app_instance_user_id(&id)
                        .name(format!("{label} {seq}"))
                        .send()
                        .await,
                );
                (
                    Rec::CreateUser {
                        arn: format!("{}/user/{id}", self.instance),
                        out: to_out(o.map(|r| r.app_instance_user_arn().map(str::to_string))),
                    },
                    &[201, 409],
                )
            } else {
                let user = self.users[rng.below(self.users.len() as u64) as usize].clone();
                let o = Outcome::from_result(
                    c.create_app_instance_admin().app_instance_arn(&self.instance).app_instance_admin_arn(&user).send().await,
                );
                (Rec::Promote { user, out: to_out(o.map(|_| None)) }, &[201, 409])
            };
            let out = match &rec {
                Rec::Register { out, .. } | Rec::Deregister { out, .. } | Rec::CreateUser { out, .. } | Rec::Promote { out, .. } => {
                    out.clone()
                }
            };
            if let Ok(mut l) = self.log.lock() {
                l.push(rec.clone());
            }
            match out {
                Out::Acked(_) => {}
                Out::Rejected(status, code) => {
                    if !allowed.contains(&status) {
                        violations.push(format!("[{label}] {rec:?} answered {status} {code}"));
                    }
                }
                Out::Uncertain(why) => {
                    if why.starts_with('5') && (!expect_5xx || !why.contains("ServiceUnavailable")) {
                        violations.push(format!("[{label}] {rec:?} answered {why}"));
                    }
                    return (requests, violations);
                }
            }
        }
        (requests, violations)
    }

    /// Reads the arena back and checks it against the log. Returns the snapshot, the number of
    /// acknowledged writes checked, of unanswered writes resolved, and the violations.
    pub async fn check(&self, c: &Client) -> (Option<Snapshot>, u64, u64, Vec<String>) {
        let mut bad = Vec::new();
        let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let users = match exec::list_users(c, &self.instance).await {
            Outcome::Ok(u) => u,
            o => return (None, 0, 0, vec![format!("arena: ListAppInstanceUsers: {}", o.short())]),
        };
        let admins = match exec::list_admins(c, &self.instance).await {
            Outcome::Ok(a) => a,
            o => return (None, 0, 0, vec![format!("arena: ListAppInstanceAdmins: {}", o.short())]),
        };
        let mut endpoints: BTreeMap<String, BTreeMap<String, EndpointM>> = BTreeMap::new();
        for u in &self.users {
            let ids = match exec::list_endpoint_ids(c, u).await {
                Outcome::Ok(ids) => ids,
                o => return (None, 0, 0, vec![format!("arena: ListAppInstanceUserEndpoints({u}): {}", o.short())]),
            };
            let mut m = BTreeMap::new();
            for id in ids {
                match Outcome::from_result(c.describe_app_instance_user_endpoint().app_instance_user_arn(u).endpoint_id(&id).send().await) {
                    Outcome::Ok(e) => {
                        if let Some(e) = e.app_instance_user_endpoint() {
                            m.insert(id, exec::endpoint_of(e));
                        }
                    }
                    o => bad.push(format!("arena: endpoint {id} of {u} is listed but Describe answers {}", o.short())),
                }
            }
            endpoints.insert(u.clone(), m);
        }
        // Invariants.
        let user_set: BTreeSet<&String> = users.iter().collect();
        if user_set.len() != users.len() {
            bad.push(format!("arena: a user id is listed twice: {users:?}"));
        }
        let admin_set: BTreeSet<&String> = admins.iter().collect();
        if admin_set.len() != admins.len() {
            bad.push(format!("arena: an admin is listed twice: {admins:?}"));
        }
        for (u, m) in &endpoints {
            if m.len() > ENDPOINT_QUOTA {
                bad.push(format!("arena: {u} has {} endpoints, over the quota of {ENDPOINT_QUOTA}", m.len()));
            }
            let tokens: BTreeSet<&String> = m.values().map(|e| &e.token).collect();
            if tokens.len() != m.len() {
                bad.push(format!("arena: {u} has two endpoints with one device token"));
            }
        }
        // Against the log.
        let mut acked = 0u64;
        let mut resolved = 0u64;
        let mut registers: BTreeMap<&str, (&String, &String, &Out)> = BTreeMap::new();
        let mut deregs: BTreeMap<(&String, &String), Vec<&Out>> = BTreeMap::new();
        let mut creates: BTreeMap<&String, Vec<&Out>> = BTreeMap::new();
        let mut promotes: BTreeMap<&String, Vec<&Out>> = BTreeMap::new();
        for r in &log {
            match r {
                Rec::Register { user, name, token, out } => {
                    registers.insert(name.as_str(), (user, token, out));
                }
                Rec::Deregister { user, id, out } => deregs.entry((user, id)).or_default().push(out),
                Rec::CreateUser { arn, out } => creates.entry(arn).or_default().push(out),
                Rec::Promote { user, out } => promotes.entry(user).or_default().push(out),
            }
            match r {
                Rec::Register { out, .. } | Rec::Deregister { out, .. } | Rec::CreateUser { out, .. } | Rec::Promote { out, .. } => {
                    match out {
                        Out::Acked(_) => acked += 1,
                        Out::Uncertain(_) => resolved += 1,
                        Out::Rejected(..) => {}
                    }
                }
            }
        }
        for (u, m) in &endpoints {
            for (id, e) in m {
                let name = e.name.clone().unwrap_or_default();
                match registers.get(name.as_str()) {
                    None => bad.push(format!("arena: endpoint {id} ({name}) of {u} was never registered")),
                    Some((ru, token, out)) => {
                        if *ru != u || **token != e.token {
                            bad.push(format!(
                                "arena: endpoint {id} ({name}) has user {u} token {} but was registered for {ru} token {token}",
                                e.token
                            ));
                        }
                        match out {
                            Out::Acked(Some(aid)) if aid != id => {
                                bad.push(format!("arena: endpoint {name} has id {id}, acknowledged as {aid}"))
                            }
                            Out::Rejected(s, c) => {
                                bad.push(format!("arena: endpoint {id} ({name}) exists although its Register answered {s} {c}"))
                            }
                            _ => {}
                        }
                    }
                }
                if deregs.get(&(u, id)).is_some_and(|d| d.iter().any(|o| matches!(o, Out::Acked(_)))) {
                    bad.push(format!("arena: endpoint {id} of {u} exists after an acknowledged Deregister"));
                }
            }
        }
        for (name, (user, _, out)) in &registers {
            if let Out::Acked(Some(id)) = out {
                let present = endpoints.get(*user).is_some_and(|m| m.contains_key(id));
                let d = deregs.get(&(*user, id)).cloned().unwrap_or_default();
                let acked_dereg = d.iter().filter(|o| matches!(o, Out::Acked(_))).count();
                let maybe_dereg = d.iter().any(|o| matches!(o, Out::Uncertain(_)));
                if acked_dereg > 1 {
                    bad.push(format!("arena: endpoint {id} ({name}) was deregistered twice with 204"));
                }
                if !present && acked_dereg == 0 && !maybe_dereg {
                    bad.push(format!("arena: acknowledged endpoint {id} ({name}) of {user} is gone without a Deregister"));
                }
            }
        }
        for (arn, outs) in &creates {
            let ok = outs.iter().filter(|o| matches!(o, Out::Acked(_))).count();
            let maybe = outs.iter().any(|o| matches!(o, Out::Uncertain(_)));
            if ok > 1 {
                bad.push(format!("arena: user {arn} was created {ok} times with 201"));
            }
            let present = user_set.contains(arn);
            if ok >= 1 && !present {
                bad.push(format!("arena: acknowledged user {arn} is missing"));
            }
            if ok == 0 && !maybe && present {
                bad.push(format!("arena: user {arn} exists although every create of it was rejected"));
            }
        }
        for u in &users {
            if !self.users.contains(u) && !creates.contains_key(u) {
                bad.push(format!("arena: user {u} was never created"));
            }
        }
        for (user, outs) in &promotes {
            let ok = outs.iter().filter(|o| matches!(o, Out::Acked(_))).count();
            let maybe = outs.iter().any(|o| matches!(o, Out::Uncertain(_)));
            if ok > 1 {
                bad.push(format!("arena: {user} was promoted {ok} times with 201"));
            }
            let present = admin_set.contains(user);
            if ok >= 1 && !present {
                bad.push(format!("arena: acknowledged admin {user} is missing"));
            }
            if !present && ok == 0 && !maybe && outs.iter().any(|o| matches!(o, Out::Rejected(409, _))) {
                bad.push(format!("arena: promoting {user} answered 409 but it is not an admin"));
            }
        }
        for a in &admins {
            if !promotes.contains_key(a) {
                bad.push(format!("arena: {a} is an admin but was never promoted"));
            }
        }
        let mut users_sorted = users.clone();
        users_sorted.sort();
        let mut admins_sorted = admins.clone();
        admins_sorted.sort();
        (Some(Snapshot { users: users_sorted, admins: admins_sorted, endpoints }), acked, resolved, bad)
    }

    pub async fn snapshot(&self, c: &Client) -> Result<Snapshot, String> {
        let (snap, _, _, bad) = self.check(c).await;
        match snap {
            Some(s) => Ok(s),
            None => Err(bad.join("; ")),
        }
    }
}

fn to_out(o: Outcome<Option<String>>) -> Out {
    match o {
        Outcome::Ok(id) => Out::Acked(id),
        Outcome::Err { status, code } if status < 500 => Out::Rejected(status, code),
        other => Out::Uncertain(other.short()),
    }
}
