//! Sends one model operation through the SDK and turns the answer into model terms.

use crate::api::Outcome;
use crate::model::{Answer, EndpointM, Op, Tags};
use aws_sdk_chimesdkidentity::Client;
use aws_sdk_chimesdkidentity::types::{AllowMessages, AppInstanceUserEndpointType, EndpointAttributes, Tag};

fn tags(t: &Tags) -> Option<Vec<Tag>> {
    if t.is_empty() {
        return None;
    }
    Some(t.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect())
}

pub fn endpoint_of(e: &aws_sdk_chimesdkidentity::types::AppInstanceUserEndpoint) -> EndpointM {
    let attrs = e.endpoint_attributes();
    EndpointM {
        name: e.name().map(str::to_string),
        typ: e.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        token: attrs.map(|a| a.device_token().to_string()).unwrap_or_default(),
        voip: attrs.and_then(|a| a.voip_device_token()).map(str::to_string),
        allow: e.allow_messages().map(|a| a.as_str().to_string()).unwrap_or_default(),
        resource_arn: e.resource_arn().unwrap_or_default().to_string(),
    }
}

pub async fn execute(c: &Client, op: &Op) -> Outcome<Answer> {
    match op {
        Op::CreateInstance { name, metadata, tags: t, crt } => Outcome::from_result(
            c.create_app_instance().name(name).set_metadata(metadata.clone()).set_tags(tags(t)).client_request_token(crt).send().await,
        )
        .map(|r| Answer::Created(r.app_instance_arn().unwrap_or_default().to_string())),
        Op::UpdateInstance { arn, name, metadata } => {
            Outcome::from_result(c.update_app_instance().app_instance_arn(arn).name(name).metadata(metadata).send().await)
                .map(|_| Answer::Done)
        }
        Op::DeleteInstance { arn } => {
            Outcome::from_result(c.delete_app_instance().app_instance_arn(arn).send().await).map(|_| Answer::Done)
        }
        Op::CreateUser { instance, id, name, metadata, tags: t, crt } => Outcome::from_result(
            c.create_app_instance_user()
                .client_request_token(crt)
                .app_instance_arn(instance)
                .app_instance_user_id(id)
                .name(name)
                .set_metadata(metadata.clone())
                .set_tags(tags(t))
                .send()
                .await,
        )
        .map(|r| Answer::Created(r.app_instance_user_arn().unwrap_or_default().to_string())),
        Op::UpdateUser { arn, name, metadata } => {
            Outcome::from_result(c.update_app_instance_user().app_instance_user_arn(arn).name(name).metadata(metadata).send().await)
                .map(|_| Answer::Done)
        }
        Op::DeleteUser { arn } => {
            Outcome::from_result(c.delete_app_instance_user().app_instance_user_arn(arn).send().await).map(|_| Answer::Done)
        }
        Op::Register { user, name, typ, token, voip, allow, resource_arn, crt } => {
            let attrs =
                EndpointAttributes::builder().device_token(token).set_voip_device_token(voip.clone()).build().expect("device token set");
            Outcome::from_result(
                c.register_app_instance_user_endpoint()
                    .client_request_token(crt)
                    .app_instance_user_arn(user)
                    .name(name)
                    .r#type(AppInstanceUserEndpointType::from(typ.as_str()))
                    .resource_arn(resource_arn)
                    .endpoint_attributes(attrs)
                    .set_allow_messages(allow.as_deref().map(AllowMessages::from))
                    .send()
                    .await,
            )
            .map(|r| Answer::Created(r.endpoint_id().unwrap_or_default().to_string()))
        }
        Op::UpdateEndpoint { user, id, name, allow } => Outcome::from_result(
            c.update_app_instance_user_endpoint()
                .app_instance_user_arn(user)
                .endpoint_id(id)
                .set_name(name.clone())
                .set_allow_messages(allow.as_deref().map(AllowMessages::from))
                .send()
                .await,
        )
        .map(|_| Answer::Done),
        Op::Deregister { user, id } => {
            Outcome::from_result(c.deregister_app_instance_user_endpoint().app_instance_user_arn(user).endpoint_id(id).send().await)
                .map(|_| Answer::Done)
        }
        Op::Promote { instance, user } => {
            Outcome::from_result(c.create_app_instance_admin().app_instance_arn(instance).app_instance_admin_arn(user).send().await)
                .map(|_| Answer::Done)
        }
        Op::Demote { instance, user } => {
            Outcome::from_result(c.delete_app_instance_admin().app_instance_arn(instance).app_instance_admin_arn(user).send().await)
                .map(|_| Answer::Done)
        }
        Op::DescribeInstance { arn } => Outcome::from_result(c.describe_app_instance().app_instance_arn(arn).send().await).map(|r| {
            let i = r.app_instance();
            Answer::Instance {
                name: i.and_then(|i| i.name()).unwrap_or_default().to_string(),
                metadata: i.and_then(|i| i.metadata()).map(str::to_string),
            }
        }),
        Op::DescribeUser { arn } => Outcome::from_result(c.describe_app_instance_user().app_instance_user_arn(arn).send().await).map(|r| {
            let u = r.app_instance_user();
            Answer::User {
                name: u.and_then(|u| u.name()).unwrap_or_default().to_string(),
                metadata: u.and_then(|u| u.metadata()).map(str::to_string),
            }
        }),
        Op::ListEndpoints { user } => match list_endpoint_ids(c, user).await {
            Outcome::Ok(mut ids) => {
                ids.sort();
                Outcome::Ok(Answer::EndpointIds(ids))
            }
            other => other.map(|_| Answer::Done),
        },
        Op::DescribeEndpoint { user, id } => Outcome::from_result(
            c.describe_app_instance_user_endpoint().app_instance_user_arn(user).endpoint_id(id).send().await,
        )
        .map(|r| {
            Answer::Endpoint(r.app_instance_user_endpoint().map(endpoint_of).unwrap_or(EndpointM {
                name: None,
                typ: String::new(),
                token: String::new(),
                voip: None,
                allow: String::new(),
                resource_arn: String::new(),
            }))
        }),
        Op::ListAdmins { instance } => match list_admins(c, instance).await {
            Outcome::Ok(mut a) => {
                a.sort();
                Outcome::Ok(Answer::Admins(a))
            }
            other => other.map(|_| Answer::Done),
        },
    }
}

/// Every EndpointId of a user, over all pages.
pub async fn list_endpoint_ids(c: &Client, user: &str) -> Outcome<Vec<String>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = Outcome::from_result(
            c.list_app_instance_user_endpoints().app_instance_user_arn(user).max_results(7).set_next_token(token.clone()).send().await,
        );
        match r {
            Outcome::Ok(page) => {
                out.extend(page.app_instance_user_endpoints().iter().filter_map(|e| e.endpoint_id().map(str::to_string)));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    return Outcome::Ok(out);
                }
            }
            other => return other.map(|_| Vec::new()),
        }
    }
}

/// Every admin ARN of an AppInstance, over all pages.
pub async fn list_admins(c: &Client, instance: &str) -> Outcome<Vec<String>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = Outcome::from_result(
            c.list_app_instance_admins().app_instance_arn(instance).max_results(5).set_next_token(token.clone()).send().await,
        );
        match r {
            Outcome::Ok(page) => {
                out.extend(page.app_instance_admins().iter().filter_map(|a| a.admin().and_then(|i| i.arn()).map(str::to_string)));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    return Outcome::Ok(out);
                }
            }
            other => return other.map(|_| Vec::new()),
        }
    }
}

/// Every user ARN of an AppInstance, over all pages, in the order listed.
pub async fn list_users(c: &Client, instance: &str) -> Outcome<Vec<String>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = Outcome::from_result(
            c.list_app_instance_users().app_instance_arn(instance).max_results(5).set_next_token(token.clone()).send().await,
        );
        match r {
            Outcome::Ok(page) => {
                out.extend(page.app_instance_users().iter().filter_map(|u| u.app_instance_user_arn().map(str::to_string)));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    return Outcome::Ok(out);
                }
            }
            other => return other.map(|_| Vec::new()),
        }
    }
}

/// Every AppInstance ARN of the caller's account, over all pages.
pub async fn list_instances(c: &Client) -> Outcome<Vec<String>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = Outcome::from_result(c.list_app_instances().max_results(3).set_next_token(token.clone()).send().await);
        match r {
            Outcome::Ok(page) => {
                out.extend(page.app_instances().iter().filter_map(|i| i.app_instance_arn().map(str::to_string)));
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    return Outcome::Ok(out);
                }
            }
            other => return other.map(|_| Vec::new()),
        }
    }
}

pub async fn list_tags(c: &Client, arn: &str) -> Outcome<Tags> {
    Outcome::from_result(c.list_tags_for_resource().resource_arn(arn).send().await)
        .map(|r| r.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}
