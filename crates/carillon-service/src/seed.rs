//! Seed documents (`docs/behaviour.md`, "State and seeds"): the resources a server starts with.
//!
//! A seed declares AppInstances with their users, endpoints, bots, admins, retention, expiration
//! settings and tags, in the members the API uses. Ids may be fixed, so that every ARN and
//! EndpointId is the same on every run; an id left out is derived from what identifies the
//! resource in the seed (an AppInstance's account, region and name; a bot's AppInstance and name;
//! an endpoint's user and device token), so it is stable too. Applying a seed creates, in
//! declaration order, each declared resource that does not exist, and leaves the others as they
//! are: applying it again, or after a restart, changes nothing.

use crate::Service;
use crate::state::{
    AdminState, AppInstanceState, BotState, Counts, EndpointStateDoc, FORMAT, RetentionState, StateDocument, UserState, check,
};
use carillon_api::model::Model;
use carillon_api::shapes::*;
use carillon_api::{ApiError, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The account of a seeded AppInstance that names none: the account of an unsigned request.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region of a seeded AppInstance that names none: the region of an unsigned request.
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedDocument {
    #[serde(default)]
    pub app_instances: Vec<SeedAppInstance>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedAppInstance {
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// The last part of the ARN; derived from account, region and name when absent.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub metadata: Option<String>,
    /// Channel message retention in days.
    #[serde(default)]
    pub retention_days: Option<i32>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub bots: Vec<SeedBot>,
    #[serde(default)]
    pub admins: Vec<SeedAdmin>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedUser {
    pub app_instance_user_id: String,
    pub name: String,
    #[serde(default)]
    pub metadata: Option<String>,
    #[serde(default)]
    pub expiration_settings: Option<ExpirationSettings>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub endpoints: Vec<SeedEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedEndpoint {
    /// Derived from the user and the device token when absent.
    #[serde(default)]
    pub endpoint_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub r#type: AppInstanceUserEndpointType,
    pub resource_arn: String,
    pub endpoint_attributes: EndpointAttributes,
    /// `ALL` when absent, as for RegisterAppInstanceUserEndpoint.
    #[serde(default)]
    pub allow_messages: Option<AllowMessages>,
    /// `ACTIVE` when absent.
    #[serde(default)]
    pub endpoint_state: Option<EndpointState>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedBot {
    /// The last part of the ARN; derived from the AppInstance and the name when absent.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub metadata: Option<String>,
    pub configuration: Configuration,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An admin: one of the AppInstance's declared users or bots.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeedAdmin {
    #[serde(default)]
    pub app_instance_user_id: Option<String>,
    /// A bot's `Id`, as declared (or derived).
    #[serde(default)]
    pub app_instance_bot_id: Option<String>,
}

/// An id made from `parts`: the form of a random UUID, the same for the same parts.
fn derived_id(parts: &[&str]) -> uuid::Uuid {
    let mut h = Sha256::new();
    h.update(b"carillon-seed");
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The state document a seed declares, every resource stamped `now_ms`.
pub fn to_state(seed: SeedDocument, now_ms: i64) -> Result<StateDocument, ApiError> {
    let now = Timestamp(now_ms);
    let mut instances = Vec::with_capacity(seed.app_instances.len());
    for (i, a) in seed.app_instances.into_iter().enumerate() {
        let at = format!("AppInstances[{i}]");
        let account = a.account.unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
        let region = a.region.unwrap_or_else(|| DEFAULT_REGION.to_string());
        let id = a.id.unwrap_or_else(|| derived_id(&[&account, &region, &a.name]).to_string());
        let arn = format!("arn:aws:chime:{region}:{account}:app-instance/{id}");
        let users = a
            .users
            .into_iter()
            .map(|u| {
                let user_arn = crate::arn::user_arn(&arn, &u.app_instance_user_id);
                let endpoints = u
                    .endpoints
                    .into_iter()
                    .map(|e| EndpointStateDoc {
                        endpoint_id: e
                            .endpoint_id
                            .unwrap_or_else(|| derived_id(&[&user_arn, &e.endpoint_attributes.device_token]).simple().to_string()),
                        name: e.name,
                        r#type: e.r#type,
                        resource_arn: e.resource_arn,
                        endpoint_attributes: e.endpoint_attributes,
                        allow_messages: e.allow_messages.unwrap_or(AllowMessages::All),
                        endpoint_state: e.endpoint_state.unwrap_or(EndpointState { status: EndpointStatus::Active, status_reason: None }),
                        created_timestamp: now,
                        last_updated_timestamp: now,
                    })
                    .collect();
                UserState {
                    app_instance_user_arn: user_arn,
                    name: u.name,
                    metadata: u.metadata,
                    created_timestamp: now,
                    last_updated_timestamp: now,
                    expiration_settings: u.expiration_settings,
                    tags: u.tags,
                    endpoints,
                }
            })
            .collect::<Vec<_>>();
        let mut bot_ids = Vec::with_capacity(a.bots.len());
        let mut bots = Vec::with_capacity(a.bots.len());
        for (j, b) in a.bots.into_iter().enumerate() {
            let bot_id = match (b.id, &b.name) {
                (Some(id), _) => id,
                (None, Some(name)) => derived_id(&[&arn, name]).to_string(),
                (None, None) => return Err(ApiError::bad_request(format!("{at}.Bots[{j}]: a bot needs an Id or a Name"))),
            };
            bots.push(BotState {
                app_instance_bot_arn: crate::arn::bot_arn(&arn, &bot_id),
                name: b.name,
                metadata: b.metadata,
                configuration: b.configuration,
                created_timestamp: now,
                last_updated_timestamp: now,
                tags: b.tags,
            });
            bot_ids.push(bot_id);
        }
        let mut admins = Vec::with_capacity(a.admins.len());
        for (j, ad) in a.admins.into_iter().enumerate() {
            let member = match (ad.app_instance_user_id, ad.app_instance_bot_id) {
                (Some(user), None) => crate::arn::user_arn(&arn, &user),
                (None, Some(bot)) => crate::arn::bot_arn(&arn, &bot),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "{at}.Admins[{j}]: an admin names exactly one of AppInstanceUserId and AppInstanceBotId"
                    )));
                }
            };
            admins.push(AdminState { arn: member, created_timestamp: now });
        }
        instances.push(AppInstanceState {
            app_instance_arn: arn,
            name: a.name,
            metadata: a.metadata,
            created_timestamp: now,
            last_updated_timestamp: now,
            retention: a.retention_days.map(|days| RetentionState { retention_days: Some(days), set_timestamp: now }),
            tags: a.tags,
            users,
            bots,
            admins,
            channels: Vec::new(),
            channel_flows: Vec::new(),
            streaming_configurations: Vec::new(),
        });
    }
    Ok(StateDocument {
        format: FORMAT.to_string(),
        exported_at: None,
        app_instances: instances,
        push_outbox: Vec::new(),
        push_failure_markers: Vec::new(),
    })
}

impl Service {
    /// Creates every resource the seed declares that does not exist yet, in one transaction, once
    /// the whole seed is checked (as an imported state is): a bad seed is an error and nothing is
    /// applied. Answers how many resources of each kind it created.
    pub async fn apply_seed(&self, identity: &Model, messaging: &Model, seed: SeedDocument) -> Result<Counts, ApiError> {
        let now = self.clock.now_ms();
        let plan = check(identity, messaging, to_state(seed, now)?, now)?;
        self.add_missing(plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_differ_by_their_parts() {
        let a = derived_id(&["000000000000", "us-east-1", "chat"]);
        assert_eq!(a, derived_id(&["000000000000", "us-east-1", "chat"]));
        assert_ne!(a, derived_id(&["000000000000", "us-east-1", "chat2"]));
        // The parts are separated: ("ab", "c") is not ("a", "bc").
        assert_ne!(derived_id(&["ab", "c"]), derived_id(&["a", "bc"]));
        assert_eq!(a.get_version_num(), 4);
    }
}
