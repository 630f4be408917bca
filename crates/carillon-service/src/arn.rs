//! ARNs of Chime SDK Identity and Messaging resources: building them, reading them, and the ownership rule
//! (an ARN of another account or region than the caller's is a 403).

use carillon_api::{ApiError, RequestContext};

/// The six fields of an ARN; the resource keeps any further `:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn parse(arn: &str) -> Option<Arn<'_>> {
    // Every request that names a resource reads its ARN here: the fields are cut at the bytes of
    // `:` (ASCII, so each cut is a character boundary), cheaper than a `str` pattern search.
    let mut rest = arn.strip_prefix("arn:")?;
    let mut field = || {
        let at = rest.bytes().position(|b| b == b':')?;
        let (head, tail) = (&rest[..at], &rest[at + 1..]);
        rest = tail;
        Some(head)
    };
    let (partition, service, region, account) = (field()?, field()?, field()?, field()?);
    Some(Arn { partition, service, region, account, resource: rest })
}

/// 403 when `arn` names another account or region than the caller's. An ARN that does not parse
/// names nothing the caller could own; it is left to the existence check (404).
pub fn check_owner(ctx: &RequestContext, arn: &str) -> Result<(), ApiError> {
    match parse(arn) {
        Some(a) if a.region != ctx.region || a.account != ctx.account => {
            Err(ApiError::forbidden(format!("The resource {arn} belongs to another account or region than the caller's.")))
        }
        _ => Ok(()),
    }
}

/// Whether `s` is an account id: 12 digits.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` has the form of a region name: the signing region's rule, since a resource's region
/// is its creator's signing region.
pub use carillon_sigv4::is_region_name as is_region;

/// What a Chime SDK ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    AppInstance { app_instance_arn: String },
    User { app_instance_arn: String, user_id: String },
    Bot { app_instance_arn: String, bot_id: String },
    Channel { app_instance_arn: String, channel_id: String },
    ChannelFlow { app_instance_arn: String, flow_id: String },
}

impl Resource {
    pub fn app_instance_arn(&self) -> &str {
        match self {
            Resource::AppInstance { app_instance_arn }
            | Resource::User { app_instance_arn, .. }
            | Resource::Bot { app_instance_arn, .. }
            | Resource::Channel { app_instance_arn, .. }
            | Resource::ChannelFlow { app_instance_arn, .. } => app_instance_arn,
        }
    }
}

/// Reads a Chime SDK ARN:
/// `arn:aws:chime:R:A:app-instance/ID[/user/USER_ID | /bot/BOT_ID | /channel/CHANNEL_ID | /channel-flow/FLOW_ID]`.
pub fn resource(arn: &str) -> Option<Resource> {
    let a = parse(arn)?;
    if a.partition != "aws" || a.service != "chime" {
        return None;
    }
    let rest = a.resource.strip_prefix("app-instance/")?;
    let (id, tail) = match rest.split_once('/') {
        Some((id, tail)) => (id, Some(tail)),
        None => (rest, None),
    };
    if id.is_empty() {
        return None;
    }
    let app_instance_arn = arn[..arn.len() - a.resource.len()].to_string() + "app-instance/" + id;
    match tail {
        None => Some(Resource::AppInstance { app_instance_arn }),
        Some(t) => {
            if let Some(user_id) = t.strip_prefix("user/").filter(|u| !u.is_empty()) {
                Some(Resource::User { app_instance_arn, user_id: user_id.to_string() })
            } else if let Some(channel_id) = t.strip_prefix("channel/") {
                let channel_id = Some(channel_id).filter(|c| !c.is_empty() && !c.contains('/'))?;
                Some(Resource::Channel { app_instance_arn, channel_id: channel_id.to_string() })
            } else if let Some(flow_id) = t.strip_prefix("channel-flow/") {
                let flow_id = Some(flow_id).filter(|f| !f.is_empty() && !f.contains('/'))?;
                Some(Resource::ChannelFlow { app_instance_arn, flow_id: flow_id.to_string() })
            } else {
                let bot_id = t.strip_prefix("bot/").filter(|b| !b.is_empty() && !b.contains('/'))?;
                Some(Resource::Bot { app_instance_arn, bot_id: bot_id.to_string() })
            }
        }
    }
}

pub fn app_instance_arn(ctx: &RequestContext, id: &str) -> String {
    format!("arn:aws:chime:{}:{}:app-instance/{id}", ctx.region, ctx.account)
}

pub fn user_arn(app_instance_arn: &str, user_id: &str) -> String {
    format!("{app_instance_arn}/user/{user_id}")
}

pub fn bot_arn(app_instance_arn: &str, bot_id: &str) -> String {
    format!("{app_instance_arn}/bot/{bot_id}")
}

pub fn channel_arn(app_instance_arn: &str, channel_id: &str) -> String {
    format!("{app_instance_arn}/channel/{channel_id}")
}

pub fn channel_flow_arn(app_instance_arn: &str, flow_id: &str) -> String {
    format!("{app_instance_arn}/channel-flow/{flow_id}")
}

/// The AppInstance ARN of a channel flow ARN; `None` for an ARN that names no channel flow.
pub fn channel_flow_app_instance(flow_arn: &str) -> Option<String> {
    match resource(flow_arn)? {
        Resource::ChannelFlow { app_instance_arn, .. } => Some(app_instance_arn),
        _ => None,
    }
}

/// The AppInstance ARN of a channel ARN; `None` for an ARN that names no channel.
pub fn channel_app_instance(channel_arn: &str) -> Option<String> {
    match resource(channel_arn)? {
        Resource::Channel { app_instance_arn, .. } => Some(app_instance_arn),
        _ => None,
    }
}

/// Checks that `arn` is an Amazon Pinpoint application ARN of the caller's account and region:
/// another form is a 400, another account or region a 403.
pub fn check_pinpoint_app(ctx: &RequestContext, arn: &str) -> Result<(), ApiError> {
    let form = || {
        ApiError::bad_request(
            "ResourceArn must be the ARN of an Amazon Pinpoint application: arn:aws:mobiletargeting:REGION:ACCOUNT_ID:apps/APPLICATION_ID",
        )
    };
    let a = parse(arn).ok_or_else(form)?;
    let app_id = a.resource.strip_prefix("apps/").ok_or_else(form)?;
    let region_ok = !a.region.is_empty() && a.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = a.account.len() == 12 && a.account.bytes().all(|b| b.is_ascii_digit());
    let app_ok = !app_id.is_empty() && app_id.len() <= 64 && app_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if a.partition != "aws" || a.service != "mobiletargeting" || !region_ok || !account_ok || !app_ok {
        return Err(form());
    }
    check_owner(ctx, arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_keep_their_colons_and_slashes_out() {
        let arn = "arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/a:b@c.d";
        assert_eq!(
            resource(arn),
            Some(Resource::User {
                app_instance_arn: "arn:aws:chime:us-east-1:111122223333:app-instance/abc".into(),
                user_id: "a:b@c.d".into()
            })
        );
        assert_eq!(resource("arn:aws:chime:us-east-1:1:app-instance/abc/bot/x/y"), None);
        assert_eq!(resource("arn:aws:chime:us-east-1:1:app-instance/"), None);
        assert_eq!(resource("arn:aws:s3:::bucket"), None);
        let channel = channel_arn("arn:aws:chime:us-east-1:111122223333:app-instance/abc", "c-1");
        assert_eq!(channel, "arn:aws:chime:us-east-1:111122223333:app-instance/abc/channel/c-1");
        assert_eq!(channel_app_instance(&channel).as_deref(), Some("arn:aws:chime:us-east-1:111122223333:app-instance/abc"));
        assert_eq!(channel_app_instance("arn:aws:chime:us-east-1:1:app-instance/abc/channel/"), None);
        assert_eq!(channel_app_instance("arn:aws:chime:us-east-1:1:app-instance/abc/user/u"), None);
    }

    #[test]
    fn channel_flow_arns_are_no_channel_arns() {
        let flow = channel_flow_arn("arn:aws:chime:us-east-1:111122223333:app-instance/abc", "f-1");
        assert_eq!(flow, "arn:aws:chime:us-east-1:111122223333:app-instance/abc/channel-flow/f-1");
        assert_eq!(channel_flow_app_instance(&flow).as_deref(), Some("arn:aws:chime:us-east-1:111122223333:app-instance/abc"));
        assert_eq!(channel_app_instance(&flow), None);
        assert_eq!(channel_flow_app_instance("arn:aws:chime:us-east-1:1:app-instance/abc/channel/f-1"), None);
        assert_eq!(channel_flow_app_instance("arn:aws:chime:us-east-1:1:app-instance/abc/channel-flow/"), None);
        assert_eq!(channel_flow_app_instance("arn:aws:chime:us-east-1:1:app-instance/abc/channel-flow/a/b"), None);
    }

    #[test]
    fn an_arn_has_five_fields_and_a_resource_that_keeps_its_colons() {
        let a = parse("arn:aws:chime:us-east-1:111122223333:app-instance/abc/user/a:b").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            ("aws", "chime", "us-east-1", "111122223333", "app-instance/abc/user/a:b")
        );
        let s3 = parse("arn:aws:s3:::bucket").unwrap();
        assert_eq!((s3.region, s3.account, s3.resource), ("", "", "bucket"));
        assert_eq!(parse("arn:aws:chime:us-east-1:111122223333:").unwrap().resource, "");
        for bad in ["", "arn", "arn:", "arn:aws:chime:us-east-1:111122223333", "ARN:aws:chime:r:1:x", "urn:aws:chime:r:1:x"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ownership_compares_account_and_region() {
        let ctx = RequestContext { account: "111122223333".into(), region: "us-east-1".into(), request_id: "r".into() };
        assert!(check_owner(&ctx, "arn:aws:chime:us-east-1:111122223333:app-instance/a").is_ok());
        assert!(check_owner(&ctx, "arn:aws:chime:us-west-2:111122223333:app-instance/a").is_err());
        assert!(check_owner(&ctx, "arn:aws:chime:us-east-1:999999999999:app-instance/a").is_err());
        assert!(check_owner(&ctx, "not-an-arn").is_ok());
        assert!(check_pinpoint_app(&ctx, "arn:aws:mobiletargeting:us-east-1:111122223333:apps/0123abcd").is_ok());
        assert_eq!(check_pinpoint_app(&ctx, "arn:aws:mobiletargeting:us-east-1:999999999999:apps/x").unwrap_err().status(), 403);
        assert_eq!(check_pinpoint_app(&ctx, "arn:aws:sns:us-east-1:111122223333:apps/x").unwrap_err().status(), 400);
        assert_eq!(check_pinpoint_app(&ctx, "arn:aws:mobiletargeting:us-east-1:111122223333:app/x").unwrap_err().status(), 400);
    }
}
