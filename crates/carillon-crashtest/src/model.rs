//! What one worker believes its account holds, the operations it sends, what each should answer
//! and how each changes the state. A worker is the only writer of its account, so its model is
//! exact: every answer can be predicted, and after a crash the only doubt is its last request.

use crate::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};

pub const ENDPOINT_QUOTA: usize = 10;
pub const PENDING_INSTANCE: &str = "pending-instance:";
pub const PENDING_ENDPOINT: &str = "pending-endpoint:";

pub type Tags = Vec<(String, String)>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointM {
    pub name: Option<String>,
    pub typ: String,
    pub token: String,
    pub voip: Option<String>,
    pub allow: String,
    pub resource_arn: String,
}

#[derive(Clone, Debug)]
pub struct UserM {
    pub name: String,
    pub metadata: Option<String>,
    pub tags: Tags,
    pub endpoints: BTreeMap<String, EndpointM>,
    pub admin: bool,
}

#[derive(Clone, Debug)]
pub struct InstanceM {
    pub name: String,
    pub metadata: Option<String>,
    pub tags: Tags,
    pub users: BTreeMap<String, UserM>,
}

/// The state of one account.
#[derive(Clone, Debug, Default)]
pub struct World {
    pub instances: BTreeMap<String, InstanceM>,
    pub dead_instances: BTreeSet<String>,
    pub dead_users: BTreeSet<String>,
    pub dead_endpoints: BTreeSet<(String, String)>,
}

pub fn instance_of_user(user_arn: &str) -> &str {
    user_arn.rsplit_once("/user/").map(|(i, _)| i).unwrap_or(user_arn)
}

pub fn user_arn(instance: &str, id: &str) -> String {
    format!("{instance}/user/{id}")
}

impl World {
    pub fn user(&self, arn: &str) -> Option<&UserM> {
        self.instances.get(instance_of_user(arn))?.users.get(arn)
    }

    fn user_mut(&mut self, arn: &str) -> Option<&mut UserM> {
        self.instances.get_mut(instance_of_user(arn))?.users.get_mut(arn)
    }

    pub fn live_users(&self) -> Vec<String> {
        self.instances.values().flat_map(|i| i.users.keys().cloned()).collect()
    }

    pub fn live_endpoints(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for i in self.instances.values() {
            for (u, um) in &i.users {
                for e in um.endpoints.keys() {
                    out.push((u.clone(), e.clone()));
                }
            }
        }
        out
    }

    pub fn all_known_users(&self) -> BTreeSet<String> {
        let mut s: BTreeSet<String> = self.live_users().into_iter().collect();
        s.extend(self.dead_users.iter().cloned());
        s
    }

    pub fn all_known_instances(&self) -> BTreeSet<String> {
        let mut s: BTreeSet<String> = self.instances.keys().filter(|k| !k.starts_with(PENDING_INSTANCE)).cloned().collect();
        s.extend(self.dead_instances.iter().cloned());
        s
    }

    pub fn rename_instance(&mut self, old: &str, new: &str) {
        if let Some(mut i) = self.instances.remove(old) {
            let users = std::mem::take(&mut i.users);
            for (u, um) in users {
                let id = u.rsplit_once("/user/").map(|(_, id)| id.to_string()).unwrap_or_default();
                i.users.insert(user_arn(new, &id), um);
            }
            self.instances.insert(new.to_string(), i);
        }
    }

    pub fn rename_endpoint(&mut self, user: &str, old: &str, new: &str) {
        if let Some(u) = self.user_mut(user)
            && let Some(e) = u.endpoints.remove(old)
        {
            u.endpoints.insert(new.to_string(), e);
        }
    }
}

#[derive(Clone, Debug)]
pub enum Op {
    CreateInstance {
        name: String,
        metadata: Option<String>,
        tags: Tags,
        crt: String,
    },
    UpdateInstance {
        arn: String,
        name: String,
        metadata: String,
    },
    DeleteInstance {
        arn: String,
    },
    CreateUser {
        instance: String,
        id: String,
        name: String,
        metadata: Option<String>,
        tags: Tags,
        crt: String,
    },
    UpdateUser {
        arn: String,
        name: String,
        metadata: String,
    },
    DeleteUser {
        arn: String,
    },
    Register {
        user: String,
        name: String,
        typ: String,
        token: String,
        voip: Option<String>,
        allow: Option<String>,
        resource_arn: String,
        crt: String,
    },
    UpdateEndpoint {
        user: String,
        id: String,
        name: Option<String>,
        allow: Option<String>,
    },
    Deregister {
        user: String,
        id: String,
    },
    Promote {
        instance: String,
        user: String,
    },
    Demote {
        instance: String,
        user: String,
    },
    DescribeInstance {
        arn: String,
    },
    DescribeUser {
        arn: String,
    },
    ListEndpoints {
        user: String,
    },
    DescribeEndpoint {
        user: String,
        id: String,
    },
    ListAdmins {
        instance: String,
    },
}

impl Op {
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Op::DescribeInstance { .. }
                | Op::DescribeUser { .. }
                | Op::ListEndpoints { .. }
                | Op::DescribeEndpoint { .. }
                | Op::ListAdmins { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateInstance { .. } => "CreateAppInstance",
            Op::UpdateInstance { .. } => "UpdateAppInstance",
            Op::DeleteInstance { .. } => "DeleteAppInstance",
            Op::CreateUser { .. } => "CreateAppInstanceUser",
            Op::UpdateUser { .. } => "UpdateAppInstanceUser",
            Op::DeleteUser { .. } => "DeleteAppInstanceUser",
            Op::Register { .. } => "RegisterAppInstanceUserEndpoint",
            Op::UpdateEndpoint { .. } => "UpdateAppInstanceUserEndpoint",
            Op::Deregister { .. } => "DeregisterAppInstanceUserEndpoint",
            Op::Promote { .. } => "CreateAppInstanceAdmin",
            Op::Demote { .. } => "DeleteAppInstanceAdmin",
            Op::DescribeInstance { .. } => "DescribeAppInstance",
            Op::DescribeUser { .. } => "DescribeAppInstanceUser",
            Op::ListEndpoints { .. } => "ListAppInstanceUserEndpoints",
            Op::DescribeEndpoint { .. } => "DescribeAppInstanceUserEndpoint",
            Op::ListAdmins { .. } => "ListAppInstanceAdmins",
        }
    }
}

/// What a successful request gives back, in the terms the model checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Done,
    Created(String),
    Instance { name: String, metadata: Option<String> },
    User { name: String, metadata: Option<String> },
    EndpointIds(Vec<String>),
    Endpoint(EndpointM),
    Admins(Vec<String>),
}

/// What the model says a request must answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    /// One of these (status, error code) answers.
    Fail(Vec<(u16, &'static str)>),
}

const NOT_FOUND: (u16, &str) = (404, "NotFoundException");
const CONFLICT: (u16, &str) = (409, "ConflictException");
const LIMIT: (u16, &str) = (400, "ResourceLimitExceededException");

fn nf() -> Expect {
    Expect::Fail(vec![NOT_FOUND])
}

pub fn predict(w: &World, op: &Op) -> Expect {
    let endpoint_exists = |user: &str, id: &str| w.user(user).is_some_and(|u| u.endpoints.contains_key(id));
    match op {
        Op::CreateInstance { .. } => Expect::Ok,
        Op::UpdateInstance { arn, .. } | Op::DeleteInstance { arn } | Op::DescribeInstance { arn } | Op::ListAdmins { instance: arn } => {
            if w.instances.contains_key(arn) {
                Expect::Ok
            } else {
                nf()
            }
        }
        Op::CreateUser { instance, id, .. } => match w.instances.get(instance) {
            None => nf(),
            Some(i) if i.users.contains_key(&user_arn(instance, id)) => Expect::Fail(vec![CONFLICT]),
            Some(_) => Expect::Ok,
        },
        Op::UpdateUser { arn, .. } | Op::DeleteUser { arn } | Op::DescribeUser { arn } | Op::ListEndpoints { user: arn } => {
            if w.user(arn).is_some() { Expect::Ok } else { nf() }
        }
        Op::Register { user, token, .. } => match w.user(user) {
            None => nf(),
            Some(u) => {
                let dup = u.endpoints.values().any(|e| &e.token == token);
                let full = u.endpoints.len() >= ENDPOINT_QUOTA;
                match (dup, full) {
                    (false, false) => Expect::Ok,
                    (true, false) => Expect::Fail(vec![CONFLICT]),
                    (false, true) => Expect::Fail(vec![LIMIT]),
                    (true, true) => Expect::Fail(vec![CONFLICT, LIMIT]),
                }
            }
        },
        Op::UpdateEndpoint { user, id, .. } | Op::Deregister { user, id } | Op::DescribeEndpoint { user, id } => {
            if endpoint_exists(user, id) { Expect::Ok } else { nf() }
        }
        Op::Promote { instance, user } => {
            if !w.instances.contains_key(instance) {
                return nf();
            }
            match w.user(user) {
                None => nf(),
                Some(u) if u.admin => Expect::Fail(vec![CONFLICT]),
                Some(_) => Expect::Ok,
            }
        }
        Op::Demote { instance, user } => {
            if w.instances.contains_key(instance) && w.user(user).is_some_and(|u| u.admin) {
                Expect::Ok
            } else {
                nf()
            }
        }
    }
}

/// The answer a successful read must give (None for writes).
pub fn expected_read(w: &World, op: &Op) -> Option<Answer> {
    Some(match op {
        Op::DescribeInstance { arn } => {
            let i = w.instances.get(arn)?;
            Answer::Instance { name: i.name.clone(), metadata: i.metadata.clone() }
        }
        Op::DescribeUser { arn } => {
            let u = w.user(arn)?;
            Answer::User { name: u.name.clone(), metadata: u.metadata.clone() }
        }
        Op::ListEndpoints { user } => Answer::EndpointIds(w.user(user)?.endpoints.keys().cloned().collect()),
        Op::DescribeEndpoint { user, id } => Answer::Endpoint(w.user(user)?.endpoints.get(id)?.clone()),
        Op::ListAdmins { instance } => {
            Answer::Admins(w.instances.get(instance)?.users.iter().filter(|(_, u)| u.admin).map(|(a, _)| a.clone()).collect())
        }
        _ => return None,
    })
}

/// Applies a write that succeeded; `created` is the new ARN or EndpointId, if the answer gave one
/// (else a placeholder is used, to be replaced once the state is observed).
pub fn apply(w: &mut World, op: &Op, created: Option<&str>) {
    match op {
        Op::CreateInstance { name, metadata, tags, .. } => {
            let arn = created.map(str::to_string).unwrap_or_else(|| format!("{PENDING_INSTANCE}{name}"));
            w.instances
                .insert(arn, InstanceM { name: name.clone(), metadata: metadata.clone(), tags: tags.clone(), users: BTreeMap::new() });
        }
        Op::UpdateInstance { arn, name, metadata } => {
            if let Some(i) = w.instances.get_mut(arn) {
                i.name = name.clone();
                i.metadata = Some(metadata.clone());
            }
        }
        Op::DeleteInstance { arn } => {
            if let Some(i) = w.instances.remove(arn) {
                for (u, um) in i.users {
                    for e in um.endpoints.keys() {
                        w.dead_endpoints.insert((u.clone(), e.clone()));
                    }
                    w.dead_users.insert(u);
                }
                w.dead_instances.insert(arn.clone());
            }
        }
        Op::CreateUser { instance, id, name, metadata, tags, .. } => {
            if let Some(i) = w.instances.get_mut(instance) {
                i.users.insert(
                    user_arn(instance, id),
                    UserM { name: name.clone(), metadata: metadata.clone(), tags: tags.clone(), endpoints: BTreeMap::new(), admin: false },
                );
            }
        }
        Op::UpdateUser { arn, name, metadata } => {
            if let Some(u) = w.user_mut(arn) {
                u.name = name.clone();
                u.metadata = Some(metadata.clone());
            }
        }
        Op::DeleteUser { arn } => {
            if let Some(i) = w.instances.get_mut(instance_of_user(arn))
                && let Some(um) = i.users.remove(arn)
            {
                for e in um.endpoints.keys() {
                    w.dead_endpoints.insert((arn.clone(), e.clone()));
                }
                w.dead_users.insert(arn.clone());
            }
        }
        Op::Register { user, name, typ, token, voip, allow, resource_arn, .. } => {
            let id = created.map(str::to_string).unwrap_or_else(|| format!("{PENDING_ENDPOINT}{name}"));
            if let Some(u) = w.user_mut(user) {
                u.endpoints.insert(
                    id,
                    EndpointM {
                        name: Some(name.clone()),
                        typ: typ.clone(),
                        token: token.clone(),
                        voip: voip.clone(),
                        allow: allow.clone().unwrap_or_else(|| "ALL".into()),
                        resource_arn: resource_arn.clone(),
                    },
                );
            }
        }
        Op::UpdateEndpoint { user, id, name, allow } => {
            if let Some(e) = w.user_mut(user).and_then(|u| u.endpoints.get_mut(id)) {
                if let Some(n) = name {
                    e.name = Some(n.clone());
                }
                if let Some(a) = allow {
                    e.allow = a.clone();
                }
            }
        }
        Op::Deregister { user, id } => {
            if let Some(u) = w.user_mut(user)
                && u.endpoints.remove(id).is_some()
            {
                w.dead_endpoints.insert((user.clone(), id.clone()));
            }
        }
        Op::Promote { user, .. } => {
            if let Some(u) = w.user_mut(user) {
                u.admin = true;
            }
        }
        Op::Demote { user, .. } => {
            if let Some(u) = w.user_mut(user) {
                u.admin = false;
            }
        }
        _ => {}
    }
}

/// Makes up the next operation for a worker from its state.
pub struct Generator {
    pub prefix: String,
    pub account: String,
    pub seq: u64,
    /// Most live AppInstances and users per AppInstance the worker keeps.
    pub max_instances: usize,
    pub max_users: usize,
    /// Weight of reads among the operations (the writes weigh about 45 in all).
    pub read_weight: u64,
}

const TEXTS: &[&str] = &["", "plain", "ünïcödé ✓", "emoji 📱🔔", "quotes \"'\\", "line\nbreak", "日本語のテキスト"];

impl Generator {
    /// A ClientRequestToken of its own (`[-_a-zA-Z0-9]`, at most 64).
    fn crt(&mut self) -> String {
        self.seq += 1;
        let p: String = self.prefix.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        format!("crt-{p}-{}", self.seq)
    }

    fn next(&mut self, kind: &str) -> String {
        self.seq += 1;
        format!("{kind}-{}-{}", self.prefix, self.seq)
    }

    /// A unique text of at most the model's length for this member (`max` characters).
    fn text(&mut self, rng: &mut Rng, kind: &str) -> String {
        let max = match kind.as_bytes().first() {
            Some(b'a') if kind.contains('m') => 1024, // AppInstance metadata
            Some(b'a') => 256,                        // AppInstance name
            Some(b'u') if kind.contains('m') => 1024, // user metadata
            Some(b'u') => 100,                        // user name
            _ => 1600,                                // endpoint name and the rest
        };
        let base = self.next(kind);
        let extra = rng.pick(TEXTS).copied().unwrap_or("");
        let mut s = format!("{base} {extra}");
        if rng.chance(10) {
            s.push_str(&"x".repeat(rng.range(10, 1200) as usize));
        }
        s.chars().take(max).collect()
    }

    fn tags(&mut self, rng: &mut Rng) -> Tags {
        (0..rng.below(3)).map(|i| (format!("k{i}-{}", rng.below(1000)), format!("v{}", self.next("t")))).collect()
    }

    pub fn op(&mut self, w: &World, rng: &mut Rng) -> Op {
        let instances: Vec<&String> = w.instances.keys().collect();
        let users = w.live_users();
        let endpoints = w.live_endpoints();
        let admins: Vec<String> =
            w.instances.values().flat_map(|i| i.users.iter().filter(|(_, u)| u.admin).map(|(a, _)| a.clone())).collect();
        let user_room = w.instances.values().any(|i| i.users.len() < self.max_users);
        let dead_users: Vec<&String> = w.dead_users.iter().collect();
        let dead_instances: Vec<&String> = w.dead_instances.iter().collect();
        let dead_endpoints: Vec<&(String, String)> = w.dead_endpoints.iter().collect();
        let has = |b: bool, n: u64| if b { n } else { 0 };
        let weights = [
            has(instances.len() < self.max_instances, if instances.is_empty() { 100 } else { 3 }), // 0 create instance
            has(!instances.is_empty(), 2),                                                         // 1 update instance
            has(instances.len() >= 2 || (instances.len() == 1 && rng.chance(30)), 1),              // 2 delete instance
            has(user_room, 8),                                                                     // 3 create user
            has(!users.is_empty(), 1),                                                             // 4 create user with a taken id
            has(!users.is_empty(), 3),                                                             // 5 update user
            has(users.len() > 2, 2),                                                               // 6 delete user
            has(!users.is_empty(), 12),                                                            // 7 register
            has(!endpoints.is_empty(), 6),                                                         // 8 update endpoint
            has(!endpoints.is_empty(), 4),                                                         // 9 deregister
            has(!users.is_empty(), 3),                                                             // 10 promote
            has(!admins.is_empty(), 1),                                                            // 11 demote
            has(!users.is_empty() || !instances.is_empty(), self.read_weight),                     // 12 read
            has(!dead_users.is_empty() || !dead_instances.is_empty() || !dead_endpoints.is_empty(), 1), // 13 ghost op
        ];
        let pick_user = |rng: &mut Rng| users[rng.below(users.len() as u64) as usize].clone();
        match rng.weighted(&weights).unwrap_or(0) {
            0 => Op::CreateInstance {
                name: self.text(rng, "ai"),
                metadata: if rng.chance(70) { Some(self.text(rng, "aim")) } else { None },
                tags: self.tags(rng),
                crt: self.crt(),
            },
            1 => {
                let arn = rng.pick(&instances).map(|s| s.to_string()).unwrap_or_default();
                Op::UpdateInstance {
                    arn,
                    name: self.text(rng, "ain"),
                    metadata: if rng.chance(20) { String::new() } else { self.text(rng, "aimu") },
                }
            }
            2 => Op::DeleteInstance { arn: rng.pick(&instances).map(|s| s.to_string()).unwrap_or_default() },
            3 => {
                let roomy: Vec<&String> = w.instances.iter().filter(|(_, i)| i.users.len() < self.max_users).map(|(a, _)| a).collect();
                let instance = rng.pick(&roomy).map(|s| s.to_string()).unwrap_or_default();
                let id = format!("{}:{}@x.y_{}", self.prefix, self.seq + 1, rng.below(100));
                self.seq += 1;
                Op::CreateUser {
                    instance,
                    id,
                    name: self.text(rng, "un"),
                    metadata: if rng.chance(70) { Some(self.text(rng, "um")) } else { None },
                    tags: self.tags(rng),
                    crt: self.crt(),
                }
            }
            4 => {
                let taken = pick_user(rng);
                let (instance, id) = taken.rsplit_once("/user/").map(|(i, id)| (i.to_string(), id.to_string())).unwrap_or_default();
                Op::CreateUser { instance, id, name: self.text(rng, "un"), metadata: None, tags: Vec::new(), crt: self.crt() }
            }
            5 => Op::UpdateUser {
                arn: pick_user(rng),
                name: self.text(rng, "unu"),
                metadata: if rng.chance(20) { String::new() } else { self.text(rng, "umu") },
            },
            6 => Op::DeleteUser { arn: pick_user(rng) },
            7 => {
                let user = pick_user(rng);
                let existing: Vec<String> =
                    w.user(&user).map(|u| u.endpoints.values().map(|e| e.token.clone()).collect()).unwrap_or_default();
                let token = if !existing.is_empty() && rng.chance(10) {
                    rng.pick(&existing).cloned().unwrap_or_default()
                } else {
                    self.next("tok")
                };
                let typ = ["APNS", "APNS_SANDBOX", "GCM"][rng.below(3) as usize].to_string();
                let voip = if typ != "GCM" && rng.chance(30) { Some(self.next("voip")) } else { None };
                let allow = match rng.below(3) {
                    0 => None,
                    1 => Some("ALL".to_string()),
                    _ => Some("NONE".to_string()),
                };
                let crt = self.crt();
                Op::Register {
                    user,
                    name: self.text(rng, "en"),
                    typ,
                    token,
                    voip,
                    allow,
                    resource_arn: crate::api::pinpoint_arn(&self.account),
                    crt,
                }
            }
            8 => {
                let (user, id) = endpoints[rng.below(endpoints.len() as u64) as usize].clone();
                let (name, allow) = match rng.below(4) {
                    0 => (Some(self.text(rng, "enu")), None),
                    1 => (None, Some(if rng.chance(50) { "ALL" } else { "NONE" }.to_string())),
                    2 => (
                        Some(if rng.chance(30) { String::new() } else { self.text(rng, "enu") }),
                        Some(if rng.chance(50) { "ALL" } else { "NONE" }.to_string()),
                    ),
                    _ => (None, None),
                };
                Op::UpdateEndpoint { user, id, name, allow }
            }
            9 => {
                let (user, id) = endpoints[rng.below(endpoints.len() as u64) as usize].clone();
                Op::Deregister { user, id }
            }
            10 => {
                let user = pick_user(rng);
                Op::Promote { instance: instance_of_user(&user).to_string(), user }
            }
            11 => {
                let user = rng.pick(&admins).cloned().unwrap_or_default();
                Op::Demote { instance: instance_of_user(&user).to_string(), user }
            }
            12 => match rng.below(5) {
                0 if !instances.is_empty() => Op::DescribeInstance { arn: rng.pick(&instances).map(|s| s.to_string()).unwrap_or_default() },
                1 if !instances.is_empty() => Op::ListAdmins { instance: rng.pick(&instances).map(|s| s.to_string()).unwrap_or_default() },
                2 if !endpoints.is_empty() => {
                    let (user, id) = endpoints[rng.below(endpoints.len() as u64) as usize].clone();
                    Op::DescribeEndpoint { user, id }
                }
                3 if !users.is_empty() => Op::ListEndpoints { user: pick_user(rng) },
                _ if !users.is_empty() => Op::DescribeUser { arn: pick_user(rng) },
                _ => Op::DescribeInstance { arn: rng.pick(&instances).map(|s| s.to_string()).unwrap_or_default() },
            },
            _ => {
                // Something acknowledged as deleted: it must stay gone.
                let choice = rng.below(6);
                if let (true, Some(u)) = (choice < 3, rng.pick(&dead_users)) {
                    let u = u.to_string();
                    match choice {
                        0 => Op::DescribeUser { arn: u },
                        1 => Op::ListEndpoints { user: u },
                        _ => Op::UpdateUser { arn: u, name: self.text(rng, "ughost"), metadata: String::new() },
                    }
                } else if let (true, Some(i)) = (choice < 5, rng.pick(&dead_instances)) {
                    let i = i.to_string();
                    if choice == 3 { Op::DescribeInstance { arn: i } } else { Op::ListAdmins { instance: i } }
                } else if let Some((u, e)) = rng.pick(&dead_endpoints) {
                    Op::DescribeEndpoint { user: u.clone(), id: e.clone() }
                } else if let Some(u) = rng.pick(&dead_users) {
                    Op::DescribeUser { arn: u.to_string() }
                } else {
                    Op::DescribeInstance { arn: rng.pick(&dead_instances).map(|s| s.to_string()).unwrap_or_default() }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_follow_the_rules() {
        let mut w = World::default();
        let mut g =
            Generator { prefix: "t".into(), account: "123456789012".into(), seq: 0, max_instances: 3, max_users: 6, read_weight: 5 };
        let mut rng = Rng::new(1);
        let mut writes = 0;
        for _ in 0..3000 {
            let op = g.op(&w, &mut rng);
            if predict(&w, &op) == Expect::Ok && op.is_write() {
                let created = match &op {
                    Op::CreateInstance { .. } => Some(format!("arn:aws:chime:us-east-1:123456789012:app-instance/{}", g.seq)),
                    Op::Register { .. } => Some(format!("e{}", g.seq)),
                    _ => None,
                };
                apply(&mut w, &op, created.as_deref());
                writes += 1;
            }
            for i in w.instances.values() {
                assert!(i.users.len() <= 6);
                for u in i.users.values() {
                    assert!(u.endpoints.len() <= ENDPOINT_QUOTA);
                }
            }
        }
        assert!(writes > 1000, "{writes}");
        assert!(!w.dead_users.is_empty());
    }
}
