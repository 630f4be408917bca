//! The server's own control plane, under `/_carillon/` (docs/behaviour.md, "Control plane"): health,
//! the web console's files, a forced expiration sweep, the service clock's offset, an endpoint's
//! state, reset, the fault rules, the request journal, the metrics, and the push outbox with its
//! failure markers. It sits behind the same front as the API (request id, limits, auth, error rendering, the
//! log line).

use crate::console::Asset;
use carillon_api::shapes::{EndpointStatus, EndpointStatusReason};
use carillon_api::{Answer, ApiError, ErrorKind, printable};
use carillon_service::Health;
use carillon_store::{PushFilter, ResetScope};
use serde_json::{Value, json};

/// Every path of the control plane starts with this.
pub const PREFIX: &str = "/_carillon/";

/// A control-plane operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Health,
    Console(Asset),
    ExpirationSweep,
    GetClock,
    SetClock,
    SetEndpointState,
    Reset,
    GetState,
    PutState,
    GetFaults,
    PutFaults,
    DeleteFaults,
    Requests,
    Metrics,
    GetPushOutbox,
    DeletePushOutbox,
    GetPushFailures,
    PutPushFailures,
    DeletePushFailures,
}

impl Control {
    /// The operation at `method` and `path`, if any.
    pub fn resolve(method: &str, path: &str) -> Option<Control> {
        Some(match (method, path) {
            // HEAD answers as GET; the HTTP layer leaves the body out.
            ("GET" | "HEAD", "/_carillon/health") => Control::Health,
            ("GET" | "HEAD", console) if console.starts_with(crate::console::PREFIX) => Control::Console(Asset::at(console)?),
            ("POST", "/_carillon/expiration-sweep") => Control::ExpirationSweep,
            ("GET", "/_carillon/clock") => Control::GetClock,
            ("PUT", "/_carillon/clock") => Control::SetClock,
            ("PUT", "/_carillon/endpoint-state") => Control::SetEndpointState,
            ("POST", "/_carillon/reset") => Control::Reset,
            ("GET", STATE_PATH) => Control::GetState,
            ("PUT", STATE_PATH) => Control::PutState,
            ("GET", "/_carillon/faults") => Control::GetFaults,
            ("PUT", "/_carillon/faults") => Control::PutFaults,
            ("DELETE", "/_carillon/faults") => Control::DeleteFaults,
            ("GET", "/_carillon/requests") => Control::Requests,
            ("GET", "/_carillon/metrics") => Control::Metrics,
            ("GET", "/_carillon/push-outbox") => Control::GetPushOutbox,
            ("DELETE", "/_carillon/push-outbox") => Control::DeletePushOutbox,
            ("GET", "/_carillon/push-failures") => Control::GetPushFailures,
            ("PUT", "/_carillon/push-failures") => Control::PutPushFailures,
            ("DELETE", "/_carillon/push-failures") => Control::DeletePushFailures,
            _ => return None,
        })
    }

    /// Its name in the log line.
    pub fn name(self) -> &'static str {
        match self {
            Control::Health => "control:health",
            Control::Console(_) => "control:console",
            Control::ExpirationSweep => "control:expiration-sweep",
            Control::GetClock => "control:get-clock",
            Control::SetClock => "control:set-clock",
            Control::SetEndpointState => "control:endpoint-state",
            Control::Reset => "control:reset",
            Control::GetState => "control:get-state",
            Control::PutState => "control:put-state",
            Control::GetFaults => "control:get-faults",
            Control::PutFaults => "control:put-faults",
            Control::DeleteFaults => "control:delete-faults",
            Control::Requests => "control:requests",
            Control::Metrics => "control:metrics",
            Control::GetPushOutbox => "control:get-push-outbox",
            Control::DeletePushOutbox => "control:delete-push-outbox",
            Control::GetPushFailures => "control:get-push-failures",
            Control::PutPushFailures => "control:put-push-failures",
            Control::DeletePushFailures => "control:delete-push-failures",
        }
    }

    /// Whether an operator's signature is needed in sigv4 mode: health is open, so that probes
    /// need no keys, and so are the console's files, which hold no data and ask for the keys
    /// (docs/behaviour.md, "Control plane").
    pub fn needs_auth(self) -> bool {
        !matches!(self, Control::Health | Control::Console(_))
    }

    /// Runs the operation with the request's raw query and body.
    pub async fn call(self, app: &crate::http::App, query: Option<&str>, body: &[u8]) -> Result<Answer, ApiError> {
        let service = &app.service;
        if let Control::Console(asset) = self {
            return Ok(asset.answer());
        }
        if self == Control::PutState {
            let doc = parse_state(body)?;
            let n = service.import_state(app.wire.identity_model(), app.wire.messaging_model(), doc).await?;
            return Ok(ok(json!({ "Imported": counts(&n) })));
        }
        let body: Value = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Could not parse request body into json: {e}")))?
        };
        match self {
            Control::Health => Ok(match service.health().await {
                Health::Ok => ok(json!({"status": "ok", "store": service.store().kind()})),
                Health::Unavailable => Answer::json(503, br#"{"status":"unavailable"}"#.to_vec()),
                Health::WritesFailing => Answer::json(503, br#"{"status":"unavailable","reads":"ok","writes":"failing"}"#.to_vec()),
            }),
            Control::ExpirationSweep => {
                crate::server::sweep(service).await.map(|n| ok(json!({"deleted": n.users, "channels": n.channels, "messages": n.messages})))
            }
            Control::GetClock => Ok(ok(json!({"offset_seconds": service.clock().offset_ms() / 1000}))),
            Control::SetClock => match body.get("offset_seconds").and_then(Value::as_i64) {
                Some(s) => {
                    let ms = carillon_service::clock::check_offset_secs(s).map_err(|e| ApiError::bad_request(format!("Refused: {e}.")))?;
                    service.clock().set_offset_ms(ms);
                    Ok(ok(json!({"offset_seconds": s})))
                }
                None => Err(ApiError::bad_request("Body must be {\"offset_seconds\": INTEGER}.")),
            },
            Control::SetEndpointState => {
                let s = |k: &str| body.get(k).and_then(Value::as_str);
                let (Some(user), Some(id), Some(status)) =
                    (s("AppInstanceUserArn"), s("EndpointId"), s("Status").and_then(EndpointStatus::parse))
                else {
                    return Err(ApiError::bad_request(
                        "Body must hold AppInstanceUserArn, EndpointId, Status (ACTIVE or INACTIVE) and, for INACTIVE, StatusReason.",
                    ));
                };
                let reason = match s("StatusReason") {
                    Some(r) => Some(
                        EndpointStatusReason::parse(r)
                            .ok_or_else(|| ApiError::bad_request("StatusReason is INVALID_DEVICE_TOKEN or INVALID_PINPOINT_ARN."))?,
                    ),
                    None => None,
                };
                service.set_endpoint_state(user, id, status, reason).await.map(|()| ok(json!({})))
            }
            Control::Reset => {
                let (scope, global) = reset_scope(&body)?;
                let n = service.reset(scope).await?;
                // What the journal holds of the scope goes with it (docs/behaviour.md, "Control plane").
                let text = |k: &str| body.get(k).and_then(Value::as_str);
                let instance_id = text("AppInstanceArn").and_then(|arn| arn.rsplit_once('/')).map(|(_, id)| id);
                let (account, region) = match text("AppInstanceArn").and_then(app_instance_of) {
                    Some((account, region)) => (Some(account), Some(region)),
                    None => (text("Account"), text("Region")),
                };
                app.journal.forget(account, region, instance_id);
                // A global reset starts the server over: the clock and the faults too.
                if global {
                    service.clock().set_offset_ms(0);
                    app.faults.clear();
                }
                Ok(ok(json!({ "Deleted": counts(&n) })))
            }
            Control::GetState => {
                let doc = service.export_state().await?;
                let body = serde_json::to_vec(&doc)
                    .map_err(|e| ApiError::internal("The state could not be encoded.").with_cause(e.to_string()))?;
                Ok(Answer::json(200, body))
            }
            // Answered above, without or from the raw body.
            Control::Console(_) | Control::PutState => Err(ApiError::internal("The service failed to process the request.")),
            Control::GetFaults => Ok(ok(app.faults.get())),
            Control::PutFaults => app.faults.set(&app.wire, &body).map(ok),
            Control::DeleteFaults => {
                app.faults.clear();
                Ok(ok(app.faults.get()))
            }
            Control::Requests => app.journal.answer(query).map(ok),
            Control::Metrics => app
                .metrics
                .encode()
                .map(|text| Answer { status: 200, content_type: crate::metrics::CONTENT_TYPE, body: text.into_bytes() })
                .map_err(|e| ApiError::internal("The metrics could not be encoded.").with_cause(e.to_string())),
            Control::GetPushOutbox => service.push_outbox(push_filter(query)?).await.map(|entries| ok(json!({"Entries": entries}))),
            Control::DeletePushOutbox => service.delete_push_outbox(push_filter(query)?).await.map(|n| ok(json!({"deleted": n}))),
            Control::GetPushFailures => service.push_failures().await.map(|markers| ok(json!({"Markers": markers}))),
            Control::PutPushFailures => {
                let (token, resource_arn, reason) = push_failure(&body)?;
                service.put_push_failure(token, resource_arn, reason).await.map(|marker| ok(json!({"Marker": marker})))
            }
            Control::DeletePushFailures => service.delete_push_failures().await.map(|n| ok(json!({"deleted": n}))),
        }
    }
}

/// The path of the state document.
pub const STATE_PATH: &str = "/_carillon/state";

/// The largest state document `PUT /_carillon/state` reads (the API's own limit is far smaller).
pub const STATE_MAX_BYTES: usize = 256 * 1024 * 1024;

/// Reads a state document: malformed JSON, a member of the wrong type or an unknown member is a 400
/// naming where it is.
pub fn parse_state(body: &[u8]) -> Result<carillon_service::state::StateDocument, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("The state document is invalid: {}", printable(&e.to_string()))))
}

/// A count per kind, as reset, state import and seeding answer it.
pub fn counts(n: &carillon_store::ResetCounts) -> Value {
    json!({
        "AppInstances": n.app_instances,
        "AppInstanceUsers": n.users,
        "AppInstanceBots": n.bots,
        "AppInstanceAdmins": n.admins,
        "AppInstanceUserEndpoints": n.endpoints,
        "Channels": n.channels,
        "ChannelMemberships": n.memberships,
        "ChannelModerators": n.moderators,
        "ChannelMessages": n.messages,
        "ChannelFlows": n.channel_flows,
        "StreamingConfigurations": n.streaming_configurations,
        "PushOutboxEntries": n.push_outbox_entries,
        "PushFailureMarkers": n.push_failure_markers,
    })
}

/// The outbox filter of a raw query (`channel-arn`, `recipient-arn`, `message-id`, `after-id`);
/// anything else is a 400.
fn push_filter(raw_query: Option<&str>) -> Result<PushFilter, ApiError> {
    let mut f = PushFilter::default();
    for (key, value) in carillon_api::route::parse_query(raw_query)? {
        match key.as_str() {
            "channel-arn" => f.channel_arn = Some(value),
            "recipient-arn" => f.recipient_arn = Some(value),
            "message-id" => f.message_id = Some(value),
            "after-id" => {
                f.after_id = value.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    ApiError::bad_request(format!("after-id must be a non-negative integer, not {:?}.", printable(&value)))
                })?
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unknown parameter {:?}: the push outbox is filtered by channel-arn, recipient-arn, message-id and after-id.",
                    printable(other)
                )));
            }
        }
    }
    Ok(f)
}

/// A push-failure marker's body: `DeviceToken` or `ResourceArn` (exactly one, a non-empty string)
/// and `StatusReason`. The token is never repeated in an answer.
fn push_failure(body: &Value) -> Result<(Option<&str>, Option<&str>, EndpointStatusReason), ApiError> {
    const SHAPE: &str = "Body must be {\"DeviceToken\" or \"ResourceArn\": STRING, \"StatusReason\": \"INVALID_DEVICE_TOKEN\" or \"INVALID_PINPOINT_ARN\"}.";
    let obj = body.as_object().ok_or_else(|| ApiError::bad_request(SHAPE))?;
    if obj.keys().any(|k| !["DeviceToken", "ResourceArn", "StatusReason"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(SHAPE));
    }
    let text = |k: &str| match obj.get(k) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::bad_request(SHAPE)),
    };
    let (token, resource_arn) = match (text("DeviceToken")?, text("ResourceArn")?) {
        (Some(t), None) => (Some(t), None),
        (None, Some(a)) => (None, Some(a)),
        _ => return Err(ApiError::bad_request(SHAPE)),
    };
    let reason = text("StatusReason")?.and_then(EndpointStatusReason::parse).ok_or_else(|| ApiError::bad_request(SHAPE))?;
    Ok((token, resource_arn, reason))
}

/// The scope of a reset body (`{}`, or `Account`, `Region`, `AppInstanceArn`), and whether it is
/// global. `Account` alone covers every region, `Region` alone every account; `AppInstanceArn`
/// implies its account and region, and an `Account` or `Region` beside it must agree.
fn reset_scope(body: &Value) -> Result<(ResetScope, bool), ApiError> {
    let obj = body.as_object().ok_or_else(|| ApiError::bad_request("The reset body must be a JSON object."))?;
    if let Some(k) = obj.keys().find(|k| !["Account", "Region", "AppInstanceArn"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "Unknown member {:?}: a reset is narrowed by Account, Region and AppInstanceArn.",
            printable(k)
        )));
    }
    let field = |k: &str, valid: fn(&str) -> bool, what: &str| -> Result<Option<String>, ApiError> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::String(s)) if valid(s) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::bad_request(format!("{k} must be {what}."))),
        }
    };
    let account = field("Account", carillon_service::arn::is_account, "an account id of 12 digits")?;
    let region = field("Region", carillon_service::arn::is_region, "a region name such as us-east-1")?;
    let instance = field("AppInstanceArn", |a| app_instance_of(a).is_some(), "an AppInstance ARN")?;
    match instance {
        Some(arn) => {
            let (arn_account, arn_region) = app_instance_of(&arn).unwrap_or_default();
            if account.as_deref().is_some_and(|a| a != arn_account) || region.as_deref().is_some_and(|r| r != arn_region) {
                return Err(ApiError::bad_request("AppInstanceArn names another account or region than Account or Region."));
            }
            Ok((ResetScope::app_instance(&arn), false))
        }
        None => {
            let global = account.is_none() && region.is_none();
            Ok((ResetScope::account_region(account.as_deref(), region.as_deref()), global))
        }
    }
}

/// The account and region of an AppInstance ARN (not a user's or bot's).
fn app_instance_of(arn: &str) -> Option<(&str, &str)> {
    match carillon_service::arn::resource(arn)? {
        carillon_service::arn::Resource::AppInstance { .. } => {
            let a = carillon_service::arn::parse(arn)?;
            Some((a.account, a.region))
        }
        _ => None,
    }
}

/// The answer to a signed request whose key is not an operator's.
pub fn not_an_operator() -> ApiError {
    ApiError::forbidden("The control plane needs a signature by an operator's credential (marked admin in the credentials file).")
}

/// The answer to a browser request from an origin that may not use the control plane.
pub fn foreign_origin(origin: &[u8]) -> ApiError {
    let shown = crate::http::printable_bytes(origin);
    ApiError::forbidden(format!("The control plane does not accept requests from pages of origin {shown}."))
}

/// The answer when no control-plane operation matches.
pub fn unknown(method: &str, printable_path: &str) -> ApiError {
    ApiError::new(ErrorKind::UnknownOperation, format!("No control-plane operation matches {method} {printable_path}"))
}

fn ok(v: Value) -> Answer {
    Answer::json(200, serde_json::to_vec(&v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_is_narrowed_by_account_region_or_app_instance() {
        let arn = "arn:aws:chime:us-east-1:111122223333:app-instance/abc";
        assert_eq!(reset_scope(&json!({})).unwrap(), (ResetScope::all(), true));
        assert_eq!(
            reset_scope(&json!({"Account": "111122223333"})).unwrap(),
            (ResetScope::account_region(Some("111122223333"), None), false)
        );
        assert_eq!(
            reset_scope(&json!({"Region": "eu-west-2"})).unwrap().0.arn_pattern.unwrap(),
            "arn:aws:chime:eu-west-2:%:app-instance/%"
        );
        assert_eq!(reset_scope(&json!({"AppInstanceArn": arn, "Region": "us-east-1"})).unwrap(), (ResetScope::app_instance(arn), false));
        for bad in [
            json!([]),
            json!({"Account": "1111"}),
            json!({"Account": 111122223333_u64}),
            json!({"Region": "US-EAST-1"}),
            json!({"Region": "us_east-1"}),
            json!({"AppInstanceArn": format!("{arn}/user/u")}),
            json!({"AppInstanceArn": arn, "Account": "999999999999"}),
            json!({"AppInstanceArn": arn, "Region": "us-west-2"}),
            json!({"Accounts": "111122223333"}),
        ] {
            assert!(reset_scope(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_push_outbox_is_filtered_by_four_parameters() {
        let f = push_filter(Some("channel-arn=arn%3Ac&recipient-arn=r&message-id=m&after-id=7")).unwrap();
        let want =
            PushFilter { channel_arn: Some("arn:c".into()), recipient_arn: Some("r".into()), message_id: Some("m".into()), after_id: 7 };
        assert_eq!(f, want);
        assert_eq!(push_filter(None).unwrap(), PushFilter::default());
        for bad in ["after-id=-1", "after-id=x", "limit=3"] {
            assert!(push_filter(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_push_failure_names_one_target_and_a_reason() {
        let body = json!({"DeviceToken": "tok", "StatusReason": "INVALID_DEVICE_TOKEN"});
        let (t, a, r) = push_failure(&body).unwrap();
        assert_eq!((t, a, r), (Some("tok"), None, EndpointStatusReason::InvalidDeviceToken));
        let arn = "arn:aws:mobiletargeting:us-east-1:111122223333:apps/x";
        let body = json!({"ResourceArn": arn, "StatusReason": "INVALID_PINPOINT_ARN"});
        let (t, a, r) = push_failure(&body).unwrap();
        assert_eq!((t, a, r), (None, Some(arn), EndpointStatusReason::InvalidPinpointArn));
        for bad in [
            json!({}),
            json!([]),
            json!({"DeviceToken": "tok"}),
            json!({"DeviceToken": "tok", "StatusReason": "BROKEN"}),
            json!({"DeviceToken": "tok", "ResourceArn": arn, "StatusReason": "INVALID_DEVICE_TOKEN"}),
            json!({"DeviceToken": "", "StatusReason": "INVALID_DEVICE_TOKEN"}),
            json!({"DeviceToken": 5, "StatusReason": "INVALID_DEVICE_TOKEN"}),
            json!({"DeviceToken": "tok", "StatusReason": "INVALID_DEVICE_TOKEN", "Extra": 1}),
        ] {
            let e = push_failure(&bad).err().map(|e| e.status());
            assert_eq!(e, Some(400), "{bad}");
        }
    }
}
