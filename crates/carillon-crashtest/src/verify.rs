//! Reads back everything an account holds through the API, checks the invariants that hold
//! whatever was sent, and compares it with what the model says must be there: the acknowledged
//! state, or that state with the one unanswered request applied (all of it or none of it).

use crate::api::Outcome;
use crate::exec;
use crate::model::{ENDPOINT_QUOTA, EndpointM, PENDING_ENDPOINT, PENDING_INSTANCE, Tags, World};
use aws_sdk_chimesdkidentity::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstView {
    pub name: String,
    pub metadata: Option<String>,
    pub tags: Tags,
    pub users: Vec<String>,
    pub admins: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    pub name: String,
    pub metadata: Option<String>,
    pub tags: Tags,
    pub endpoints: BTreeMap<String, EndpointM>,
}

/// Something that exists, or answers that contradict each other (one call says it exists,
/// another that it does not). Things that are consistently gone are left out of a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen<T> {
    Present(T),
    Inconsistent(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct View {
    pub instances: BTreeMap<String, Seen<InstView>>,
    pub users: BTreeMap<String, Seen<UserView>>,
}

/// A failure to read back (the server did not answer as it must).
pub type ReadFailure = String;

fn fail<T>(what: &str, o: &Outcome<T>) -> ReadFailure {
    format!("{what}: {}", o.short())
}

/// The view the model gives.
pub fn expected(w: &World) -> View {
    let mut v = View::default();
    for (arn, i) in &w.instances {
        let users: Vec<String> = i.users.keys().cloned().collect();
        let admins: Vec<String> = i.users.iter().filter(|(_, u)| u.admin).map(|(a, _)| a.clone()).collect();
        v.instances.insert(
            arn.clone(),
            Seen::Present(InstView { name: i.name.clone(), metadata: i.metadata.clone(), tags: i.tags.clone(), users, admins }),
        );
        for (u, um) in &i.users {
            v.users.insert(
                u.clone(),
                Seen::Present(UserView {
                    name: um.name.clone(),
                    metadata: um.metadata.clone(),
                    tags: um.tags.clone(),
                    endpoints: um.endpoints.clone(),
                }),
            );
        }
    }
    v
}

/// Reads back the account: every AppInstance listed or known, every user listed or known.
/// Returns the view and the invariant violations seen.
pub async fn observe(
    c: &Client,
    known_instances: &BTreeSet<String>,
    known_users: &BTreeSet<String>,
) -> Result<(View, Vec<String>), ReadFailure> {
    let mut view = View::default();
    let mut bad = Vec::new();
    let listed = match exec::list_instances(c).await {
        Outcome::Ok(l) => l,
        o => return Err(fail("ListAppInstances", &o)),
    };
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    if listed_set.len() != listed.len() {
        bad.push(format!("ListAppInstances returned an AppInstance twice: {listed:?}"));
    }
    let mut users_to_probe: BTreeSet<String> = known_users.clone();
    let mut instance_of: BTreeMap<String, String> = BTreeMap::new();
    for arn in known_instances.iter().chain(listed_set.iter()).collect::<BTreeSet<_>>() {
        let d = Outcome::from_result(c.describe_app_instance().app_instance_arn(arn).send().await);
        let users = exec::list_users(c, arn).await;
        let admins = exec::list_admins(c, arn).await;
        match (d, users, admins) {
            (Outcome::Ok(d), Outcome::Ok(users), Outcome::Ok(admins)) => {
                let tags = match exec::list_tags(c, arn).await {
                    Outcome::Ok(t) => t,
                    o => return Err(fail("ListTagsForResource(AppInstance)", &o)),
                };
                let i = d.app_instance();
                let uniq: BTreeSet<&String> = users.iter().collect();
                if uniq.len() != users.len() {
                    bad.push(format!("ListAppInstanceUsers({arn}) lists a user twice: {users:?}"));
                }
                let auniq: BTreeSet<&String> = admins.iter().collect();
                if auniq.len() != admins.len() {
                    bad.push(format!("ListAppInstanceAdmins({arn}) lists an admin twice: {admins:?}"));
                }
                for a in &admins {
                    if !uniq.contains(a) {
                        bad.push(format!("ListAppInstanceAdmins({arn}) lists {a}, which is not a user of the AppInstance"));
                    }
                }
                for u in &users {
                    if !u.starts_with(&format!("{arn}/user/")) {
                        bad.push(format!("ListAppInstanceUsers({arn}) lists {u} of another AppInstance"));
                    }
                    users_to_probe.insert(u.clone());
                    instance_of.insert(u.clone(), arn.clone());
                }
                if !listed_set.contains(arn) {
                    bad.push(format!("AppInstance {arn} answers Describe but is missing from ListAppInstances"));
                }
                let mut users_sorted = users.clone();
                users_sorted.sort();
                let mut admins_sorted = admins.clone();
                admins_sorted.sort();
                view.instances.insert(
                    arn.clone(),
                    Seen::Present(InstView {
                        name: i.and_then(|i| i.name()).unwrap_or_default().to_string(),
                        metadata: i.and_then(|i| i.metadata()).map(str::to_string),
                        tags,
                        users: users_sorted,
                        admins: admins_sorted,
                    }),
                );
            }
            (d, users, admins) if d.is_404() && users.is_404() && admins.is_404() => {
                if listed_set.contains(arn) {
                    view.instances.insert(arn.clone(), Seen::Inconsistent("listed by ListAppInstances but Describe answers 404".into()));
                }
            }
            (d, users, admins) => {
                for o in [d.short(), users.short(), admins.short()] {
                    if o.starts_with("unanswered") || o.starts_with('5') {
                        return Err(format!("reading AppInstance {arn}: {o}"));
                    }
                }
                view.instances.insert(
                    arn.clone(),
                    Seen::Inconsistent(format!(
                        "Describe {}, ListAppInstanceUsers {}, ListAppInstanceAdmins {}",
                        d.short(),
                        users.short(),
                        admins.short()
                    )),
                );
            }
        }
    }
    for user in &users_to_probe {
        let d = Outcome::from_result(c.describe_app_instance_user().app_instance_user_arn(user).send().await);
        let ids = exec::list_endpoint_ids(c, user).await;
        let tags = exec::list_tags(c, user).await;
        match (d, ids, tags) {
            (Outcome::Ok(d), Outcome::Ok(ids), Outcome::Ok(tags)) => {
                let mut endpoints = BTreeMap::new();
                for id in &ids {
                    match Outcome::from_result(
                        c.describe_app_instance_user_endpoint().app_instance_user_arn(user).endpoint_id(id).send().await,
                    ) {
                        Outcome::Ok(e) => {
                            let Some(e) = e.app_instance_user_endpoint() else {
                                bad.push(format!("DescribeAppInstanceUserEndpoint({user}, {id}) has no AppInstanceUserEndpoint"));
                                continue;
                            };
                            if endpoints.insert(id.clone(), exec::endpoint_of(e)).is_some() {
                                bad.push(format!("ListAppInstanceUserEndpoints({user}) lists {id} twice"));
                            }
                        }
                        o => {
                            if o.is_404() {
                                bad.push(format!("endpoint {id} of {user} is listed but Describe answers 404"));
                            } else {
                                return Err(fail("DescribeAppInstanceUserEndpoint", &o));
                            }
                        }
                    }
                }
                if endpoints.len() > ENDPOINT_QUOTA {
                    bad.push(format!("{user} has {} endpoints, over the quota of {ENDPOINT_QUOTA}", endpoints.len()));
                }
                let tokens: BTreeSet<&String> = endpoints.values().map(|e| &e.token).collect();
                if tokens.len() != endpoints.len() {
                    bad.push(format!(
                        "{user} has two endpoints with one device token: {:?}",
                        endpoints.values().map(|e| &e.token).collect::<Vec<_>>()
                    ));
                }
                let instance = crate::model::instance_of_user(user);
                if !matches!(view.instances.get(instance), Some(Seen::Present(_))) {
                    bad.push(format!("user {user} exists but its AppInstance does not"));
                }
                let u = d.app_instance_user();
                view.users.insert(
                    user.clone(),
                    Seen::Present(UserView {
                        name: u.and_then(|u| u.name()).unwrap_or_default().to_string(),
                        metadata: u.and_then(|u| u.metadata()).map(str::to_string),
                        tags,
                        endpoints,
                    }),
                );
            }
            (d, ids, tags) if d.is_404() && ids.is_404() && tags.is_404() => {
                if instance_of.contains_key(user) {
                    view.users.insert(user.clone(), Seen::Inconsistent("listed by ListAppInstanceUsers but Describe answers 404".into()));
                }
            }
            (d, ids, tags) => {
                for o in [d.short(), ids.short(), tags.short()] {
                    if o.starts_with("unanswered") || o.starts_with('5') {
                        return Err(format!("reading user {user}: {o}"));
                    }
                }
                view.users.insert(
                    user.clone(),
                    Seen::Inconsistent(format!(
                        "DescribeAppInstanceUser {}, ListAppInstanceUserEndpoints {}, ListTagsForResource {}",
                        d.short(),
                        ids.short(),
                        tags.short()
                    )),
                );
            }
        }
    }
    Ok((view, bad))
}

/// Gives the placeholders of `w` (made by a request whose answer was lost) the ARN or EndpointId
/// the observed view shows for them, matched by their unique name.
pub fn bind_placeholders(w: &mut World, observed: &View) {
    let pending: Vec<(String, String)> =
        w.instances.iter().filter(|(k, _)| k.starts_with(PENDING_INSTANCE)).map(|(k, i)| (k.clone(), i.name.clone())).collect();
    for (key, name) in pending {
        let found = observed
            .instances
            .iter()
            .find(|(arn, s)| !w.instances.contains_key(*arn) && matches!(s, Seen::Present(i) if i.name == name))
            .map(|(a, _)| a.clone());
        if let Some(arn) = found {
            w.rename_instance(&key, &arn);
        }
    }
    let mut renames = Vec::new();
    for i in w.instances.values() {
        for (u, um) in &i.users {
            for (id, e) in &um.endpoints {
                if id.starts_with(PENDING_ENDPOINT)
                    && let Some(Seen::Present(ov)) = observed.users.get(u)
                    && let Some((real, _)) = ov.endpoints.iter().find(|(rid, oe)| !um.endpoints.contains_key(*rid) && oe.name == e.name)
                {
                    renames.push((u.clone(), id.clone(), real.clone()));
                }
            }
        }
    }
    for (u, old, new) in renames {
        w.rename_endpoint(&u, &old, &new);
    }
}

/// A readable account of where two views differ.
pub fn diff(expected: &View, observed: &View) -> String {
    let mut out = String::new();
    let short =
        |s: String| if s.len() > 600 { format!("{}…", &s[..s.char_indices().nth(600).map(|(i, _)| i).unwrap_or(s.len())]) } else { s };
    let keys: BTreeSet<&String> = expected.instances.keys().chain(observed.instances.keys()).collect();
    for k in keys {
        let (e, o) = (expected.instances.get(k), observed.instances.get(k));
        if e != o {
            let _ = write!(
                out,
                "\n      AppInstance {k}:\n        expected {}\n        found    {}",
                short(format!("{e:?}")),
                short(format!("{o:?}"))
            );
        }
    }
    let keys: BTreeSet<&String> = expected.users.keys().chain(observed.users.keys()).collect();
    for k in keys {
        let (e, o) = (expected.users.get(k), observed.users.get(k));
        if e != o {
            let _ = write!(
                out,
                "\n      user {k}:\n        expected {}\n        found    {}",
                short(format!("{e:?}")),
                short(format!("{o:?}"))
            );
        }
    }
    out
}

/// How an account's check came out.
pub enum Resolution {
    /// The state matches the acknowledged model (the unanswered request, if any, had no effect).
    NotApplied(World),
    /// The state matches the model with the unanswered request applied in full.
    Applied(World),
    /// Both candidates are the same state (the request would change nothing).
    Either(World),
    /// Matches neither: the description of the differences.
    Mismatch(String),
}

/// Compares an observed view with the acknowledged model and, if there is an unanswered write,
/// with the model where it took effect.
pub fn resolve(observed: &View, before: &World, after: Option<&World>) -> Resolution {
    let exp_before = expected(before);
    let after = after.map(|a| {
        let mut a = a.clone();
        bind_placeholders(&mut a, observed);
        a
    });
    let exp_after = after.as_ref().map(expected);
    let matches_before = exp_before == *observed;
    let matches_after = exp_after.as_ref().is_some_and(|e| e == observed);
    match (matches_before, matches_after) {
        (true, true) => Resolution::Either(before.clone()),
        (true, false) => Resolution::NotApplied(before.clone()),
        (false, true) => Resolution::Applied(after.unwrap_or_default()),
        (false, false) => {
            let mut msg = format!("state matches no allowed outcome; against the acknowledged writes:{}", diff(&exp_before, observed));
            if let Some(e) = &exp_after {
                msg += &format!("\n    against the acknowledged writes plus the unanswered one:{}", diff(e, observed));
            }
            Resolution::Mismatch(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Op, apply};

    fn world() -> World {
        let mut w = World::default();
        apply(
            &mut w,
            &Op::CreateInstance { name: "i".into(), metadata: None, tags: vec![("k".into(), "v".into())], crt: "c1".into() },
            Some("arn:i"),
        );
        let user = Op::CreateUser {
            instance: "arn:i".into(),
            id: "u1".into(),
            name: "n".into(),
            metadata: Some("m".into()),
            tags: vec![],
            crt: "c2".into(),
        };
        apply(&mut w, &user, None);
        w
    }

    fn register(name: &str) -> Op {
        Op::Register {
            user: "arn:i/user/u1".into(),
            name: name.into(),
            typ: "GCM".into(),
            token: format!("tok-{name}"),
            voip: None,
            allow: None,
            resource_arn: "arn:p".into(),
            crt: format!("c-{name}"),
        }
    }

    #[test]
    fn half_done_or_lost_states_match_nothing() {
        let before = world();
        let mut after = before.clone();
        apply(&mut after, &register("e1"), None);
        // What the server shows when the register took effect, under a real EndpointId.
        let mut applied = before.clone();
        apply(&mut applied, &register("e1"), Some("real1"));
        let seen = expected(&applied);
        assert!(
            matches!(resolve(&seen, &before, Some(&after)), Resolution::Applied(w) if w.user("arn:i/user/u1").unwrap().endpoints.contains_key("real1"))
        );
        assert!(matches!(resolve(&expected(&before), &before, Some(&after)), Resolution::NotApplied(_)));
        // A lost acknowledged write.
        assert!(matches!(resolve(&expected(&before), &applied, None), Resolution::Mismatch(_)));
        // A user delete that left its endpoint behind (half done).
        let mut with_endpoint = before.clone();
        apply(&mut with_endpoint, &register("e1"), Some("real1"));
        let mut deleted = with_endpoint.clone();
        apply(&mut deleted, &Op::DeleteUser { arn: "arn:i/user/u1".into() }, None);
        let mut half = expected(&deleted);
        half.users.insert("arn:i/user/u1".into(), Seen::Inconsistent("Describe 404, List 200".into()));
        assert!(matches!(resolve(&half, &with_endpoint, Some(&deleted)), Resolution::Mismatch(_)));
        assert!(matches!(resolve(&expected(&deleted), &with_endpoint, Some(&deleted)), Resolution::Applied(_)));
        // A changed value.
        let mut changed = expected(&before);
        if let Some(Seen::Present(u)) = changed.users.get_mut("arn:i/user/u1") {
            u.name = "other".into();
        }
        assert!(matches!(resolve(&changed, &before, None), Resolution::Mismatch(m) if m.contains("other")));
    }
}
