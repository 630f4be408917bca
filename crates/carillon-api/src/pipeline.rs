//! The one entry of the wire layer, for both served services (Chime SDK Identity and Messaging).
//! [`Wire::resolve`] turns a request's method, raw path and raw query into the generated operation
//! it addresses ([`ServedOperation`]); [`Wire::call`] binds and validates its input,
//! calls the operation on the service and serializes the answer with the operation's success
//! status. Every failure of every stage is an [`ApiError`].
//!
//! The [`Wire`] is built once at start-up from the committed models, so that a broken model stops
//! the server before it listens rather than failing a request.

use crate::error::ApiError;
use crate::model::{Model, OperationDef};
use crate::route::{Router, parse_query};
use crate::served::{ServedOperation, is_messaging_resource};
use crate::{ChimeSdkIdentity, RequestContext, identity, messaging};
use messaging::ChimeSdkMessaging;
use serde_json::Value;

/// A request as the HTTP front received it: nothing decoded yet.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, still percent-encoded.
    pub raw_path: &'a str,
    /// The query string after `?`, still percent-encoded.
    pub raw_query: Option<&'a str>,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

/// What a route of the served table reaches: the generated operation and its definition.
#[derive(Debug, Clone)]
struct Served {
    operation: ServedOperation,
    definition: OperationDef,
}

/// The parsed, checked models of the served services (Identity and Messaging) and their one
/// route table.
#[derive(Debug)]
pub struct Wire {
    identity: Model,
    messaging: Model,
    router: Router<Served>,
}

/// A request whose operation is known, ready for [`Wire::call`].
#[derive(Debug)]
pub struct Resolved<'a> {
    operation: ServedOperation,
    definition: &'a OperationDef,
    /// Decoded path labels, in template order.
    labels: Vec<String>,
    query: Vec<(String, String)>,
    headers: &'a [(&'a str, &'a [u8])],
    body: &'a [u8],
}

impl Resolved<'_> {
    /// The operation the request addresses.
    pub fn operation(&self) -> ServedOperation {
        self.operation
    }

    /// The decoded path labels, in template order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The decoded query pairs, in request order.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
}

/// A successful answer: the operation's success status and its body (empty for 204), with the body's
/// media type (JSON for every API answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Answer {
    /// An answer with a JSON body.
    pub fn json(status: u16, body: Vec<u8>) -> Answer {
        Answer { status, content_type: "application/json", body }
    }
}

impl Wire {
    /// Parses and checks the served models (Identity and Messaging) and builds their route table.
    /// The server calls this before it listens; an error here is a start-up error.
    pub fn load() -> Result<Wire, String> {
        // Loaded together, the two models share each pattern's compiled expression.
        let crate::model::Models { identity, messaging } = crate::model::load()?;
        Wire::from_models(identity, messaging)
    }

    /// The generated code lists the operations in each model's order; a difference means it has
    /// drifted from the model.
    fn from_models(identity: Model, messaging: Model) -> Result<Wire, String> {
        let identity_targets = targets(&identity, identity::Operation::ALL, |&op| (op.name(), op.into()))?;
        let messaging_targets = targets(&messaging, messaging::Operation::ALL, |&op| (op.name(), op.into()))?;
        let router = Router::new(&[(&identity, &identity_targets), (&messaging, &messaging_targets)])
            .map_err(|e| format!("the served models: {e}"))?;
        Ok(Wire { identity, messaging, router })
    }

    /// Chime SDK Identity's model.
    pub fn identity_model(&self) -> &Model {
        &self.identity
    }

    /// Chime SDK Messaging's model.
    pub fn messaging_model(&self) -> &Model {
        &self.messaging
    }

    /// The model `operation` belongs to.
    pub fn model_of(&self, operation: ServedOperation) -> &Model {
        match operation {
            ServedOperation::Identity(_) => &self.identity,
            ServedOperation::Messaging(_) => &self.messaging,
        }
    }

    /// The model's definition of `operation`.
    pub fn definition(&self, operation: impl Into<ServedOperation>) -> Option<&OperationDef> {
        let operation = operation.into();
        self.model_of(operation).operations.iter().find(|d| d.name == operation.name())
    }

    /// The served operations with this name: one, or two for the `/tags` operations both services
    /// have.
    pub fn operations_named(&self, name: &str) -> Vec<ServedOperation> {
        ServedOperation::all().filter(|op| op.name() == name).collect()
    }

    /// Checks a raw query's form (escapes, no parameter named twice) as [`Wire::resolve`] reads it:
    /// the front calls it before authentication, so that what a signature covered and what the
    /// router reads can never differ.
    pub fn check_query(&self, raw_query: Option<&str>) -> Result<(), ApiError> {
        parse_query(raw_query).map(|_| ())
    }

    /// Parses the query and routes the request on its raw path. A `/tags` route, which both
    /// services have, goes to the service whose resource the ARN names.
    pub fn resolve<'a>(&'a self, req: Request<'a>) -> Result<Resolved<'a>, ApiError> {
        let query = parse_query(req.raw_query)?;
        let route = self.router.route(req.method, req.raw_path, &query)?;
        let mut served = route.entry.target();
        if route.entry.is_shared() {
            let messaging = tagged_arn(&query, req.body).is_some_and(|arn| is_messaging_resource(&arn));
            let pick = route.entry.targets().find(|t| matches!(t.operation, ServedOperation::Messaging(_)) == messaging);
            served = pick.unwrap_or(served);
        }
        let Served { operation, definition } = served;
        Ok(Resolved { operation: *operation, definition, labels: route.labels, query, headers: req.headers, body: req.body })
    }

    /// Binds the request's path labels, query, headers and body into the operation's input, and
    /// validates it against the model.
    pub fn bind(&self, r: &Resolved<'_>) -> Result<Value, ApiError> {
        crate::bind::bind(self.model_of(r.operation), r.definition, &r.labels, &r.query, r.headers, r.body)
    }

    /// What the operation's input is bound from: the generated `dispatch` binds it straight into
    /// the typed input, and through [`Wire::bind`] only to word what is wrong with it.
    pub(crate) fn parts<'r>(&'r self, r: &'r Resolved<'r>) -> crate::direct::Parts<'r> {
        crate::direct::Parts {
            model: self.model_of(r.operation),
            op: r.definition,
            labels: &r.labels,
            query: &r.query,
            headers: r.headers,
            body: r.body,
        }
    }

    /// Binds and validates the input, calls the operation on `svc` and serializes its output.
    pub async fn call<S>(&self, svc: &S, ctx: &RequestContext, r: Resolved<'_>) -> Result<Answer, ApiError>
    where
        S: ChimeSdkIdentity + ChimeSdkMessaging,
    {
        let input = self.parts(&r);
        let body = match r.operation {
            ServedOperation::Identity(op) => identity::dispatch(svc, ctx, op, input).await?,
            ServedOperation::Messaging(op) => messaging::dispatch(svc, ctx, op, input).await?,
        };
        let status = r.operation.success_status();
        Ok(Answer::json(status, if status == 204 { Vec::new() } else { body }))
    }
}

/// The route targets of a model's operations, checked against the generated list.
fn targets<O>(model: &Model, generated: &[O], f: impl Fn(&O) -> (&'static str, ServedOperation)) -> Result<Vec<Served>, String> {
    let names: Vec<&str> = model.operations.iter().map(|d| d.name.as_str()).collect();
    let ops: Vec<(&str, ServedOperation)> = generated.iter().map(f).collect();
    if names != ops.iter().map(|(n, _)| *n).collect::<Vec<_>>() {
        return Err(format!("the generated operations of {} are not the model's {names:?}: regenerate them", model.metadata.service_id));
    }
    Ok(ops.into_iter().zip(&model.operations).map(|((_, operation), def)| Served { operation, definition: def.clone() }).collect())
}

/// The ARN a `/tags` call names: the `arn` query parameter (ListTagsForResource) or the body's
/// `ResourceARN` (TagResource, UntagResource). A body that is not JSON names none; binding then
/// refuses it.
fn tagged_arn(query: &[(String, String)], body: &[u8]) -> Option<String> {
    if let Some((_, arn)) = query.iter().find(|(k, _)| k == "arn") {
        return Some(arn.clone());
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("ResourceARN")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::shapes::*;
    use crate::{ChimeSdkIdentity, identity, messaging};

    /// A service that answers CreateAppInstance and DeleteAppInstance and refuses everything else
    /// with a NotFound naming the method, so that a test sees which method a request reached.
    struct Echo;

    macro_rules! refuse {
        ($($method:ident: $input:ty => $output:ty;)*) => {
            $(async fn $method(&self, _: &RequestContext, _: $input) -> Result<$output, ApiError> {
                Err(ApiError::not_found(stringify!($method)))
            })*
        };
    }

    impl ChimeSdkIdentity for Echo {
        async fn create_app_instance(
            &self,
            _: &RequestContext,
            input: CreateAppInstanceRequest,
        ) -> Result<CreateAppInstanceResponse, ApiError> {
            Ok(CreateAppInstanceResponse { app_instance_arn: Some(format!("arn-for-{}", input.name)) })
        }
        async fn delete_app_instance(&self, _: &RequestContext, input: DeleteAppInstanceRequest) -> Result<(), ApiError> {
            if input.app_instance_arn == "arn:aws:chime:us-east-1:111122223333:app-instance/a" {
                Ok(())
            } else {
                Err(ApiError::not_found(input.app_instance_arn))
            }
        }
        refuse! {
            create_app_instance_admin: CreateAppInstanceAdminRequest => CreateAppInstanceAdminResponse;
            create_app_instance_bot: CreateAppInstanceBotRequest => CreateAppInstanceBotResponse;
            create_app_instance_user: CreateAppInstanceUserRequest => CreateAppInstanceUserResponse;
            delete_app_instance_admin: DeleteAppInstanceAdminRequest => ();
            delete_app_instance_bot: DeleteAppInstanceBotRequest => ();
            delete_app_instance_user: DeleteAppInstanceUserRequest => ();
            deregister_app_instance_user_endpoint: DeregisterAppInstanceUserEndpointRequest => ();
            describe_app_instance: DescribeAppInstanceRequest => DescribeAppInstanceResponse;
            describe_app_instance_admin: DescribeAppInstanceAdminRequest => DescribeAppInstanceAdminResponse;
            describe_app_instance_bot: DescribeAppInstanceBotRequest => DescribeAppInstanceBotResponse;
            describe_app_instance_user: DescribeAppInstanceUserRequest => DescribeAppInstanceUserResponse;
            describe_app_instance_user_endpoint: DescribeAppInstanceUserEndpointRequest => DescribeAppInstanceUserEndpointResponse;
            get_app_instance_retention_settings: GetAppInstanceRetentionSettingsRequest => GetAppInstanceRetentionSettingsResponse;
            list_app_instance_admins: ListAppInstanceAdminsRequest => ListAppInstanceAdminsResponse;
            list_app_instance_bots: ListAppInstanceBotsRequest => ListAppInstanceBotsResponse;
            list_app_instance_user_endpoints: ListAppInstanceUserEndpointsRequest => ListAppInstanceUserEndpointsResponse;
            list_app_instance_users: ListAppInstanceUsersRequest => ListAppInstanceUsersResponse;
            list_app_instances: ListAppInstancesRequest => ListAppInstancesResponse;
            list_tags_for_resource: ListTagsForResourceRequest => ListTagsForResourceResponse;
            put_app_instance_retention_settings: PutAppInstanceRetentionSettingsRequest => PutAppInstanceRetentionSettingsResponse;
            put_app_instance_user_expiration_settings: PutAppInstanceUserExpirationSettingsRequest => PutAppInstanceUserExpirationSettingsResponse;
            register_app_instance_user_endpoint: RegisterAppInstanceUserEndpointRequest => RegisterAppInstanceUserEndpointResponse;
            tag_resource: TagResourceRequest => ();
            untag_resource: UntagResourceRequest => ();
            update_app_instance: UpdateAppInstanceRequest => UpdateAppInstanceResponse;
            update_app_instance_bot: UpdateAppInstanceBotRequest => UpdateAppInstanceBotResponse;
            update_app_instance_user: UpdateAppInstanceUserRequest => UpdateAppInstanceUserResponse;
            update_app_instance_user_endpoint: UpdateAppInstanceUserEndpointRequest => UpdateAppInstanceUserEndpointResponse;
        }
    }

    impl messaging::ChimeSdkMessaging for Echo {
        refuse! {
            associate_channel_flow: messaging::shapes::AssociateChannelFlowRequest => ();
            batch_create_channel_membership: messaging::shapes::BatchCreateChannelMembershipRequest => messaging::shapes::BatchCreateChannelMembershipResponse;
            channel_flow_callback: messaging::shapes::ChannelFlowCallbackRequest => messaging::shapes::ChannelFlowCallbackResponse;
            create_channel: messaging::shapes::CreateChannelRequest => messaging::shapes::CreateChannelResponse;
            create_channel_ban: messaging::shapes::CreateChannelBanRequest => messaging::shapes::CreateChannelBanResponse;
            create_channel_flow: messaging::shapes::CreateChannelFlowRequest => messaging::shapes::CreateChannelFlowResponse;
            create_channel_membership: messaging::shapes::CreateChannelMembershipRequest => messaging::shapes::CreateChannelMembershipResponse;
            create_channel_moderator: messaging::shapes::CreateChannelModeratorRequest => messaging::shapes::CreateChannelModeratorResponse;
            delete_channel: messaging::shapes::DeleteChannelRequest => ();
            delete_channel_ban: messaging::shapes::DeleteChannelBanRequest => ();
            delete_channel_flow: messaging::shapes::DeleteChannelFlowRequest => ();
            delete_channel_membership: messaging::shapes::DeleteChannelMembershipRequest => ();
            delete_channel_message: messaging::shapes::DeleteChannelMessageRequest => ();
            delete_channel_moderator: messaging::shapes::DeleteChannelModeratorRequest => ();
            delete_messaging_streaming_configurations: messaging::shapes::DeleteMessagingStreamingConfigurationsRequest => ();
            describe_channel: messaging::shapes::DescribeChannelRequest => messaging::shapes::DescribeChannelResponse;
            describe_channel_ban: messaging::shapes::DescribeChannelBanRequest => messaging::shapes::DescribeChannelBanResponse;
            describe_channel_flow: messaging::shapes::DescribeChannelFlowRequest => messaging::shapes::DescribeChannelFlowResponse;
            describe_channel_membership: messaging::shapes::DescribeChannelMembershipRequest => messaging::shapes::DescribeChannelMembershipResponse;
            describe_channel_membership_for_app_instance_user: messaging::shapes::DescribeChannelMembershipForAppInstanceUserRequest => messaging::shapes::DescribeChannelMembershipForAppInstanceUserResponse;
            describe_channel_moderated_by_app_instance_user: messaging::shapes::DescribeChannelModeratedByAppInstanceUserRequest => messaging::shapes::DescribeChannelModeratedByAppInstanceUserResponse;
            describe_channel_moderator: messaging::shapes::DescribeChannelModeratorRequest => messaging::shapes::DescribeChannelModeratorResponse;
            disassociate_channel_flow: messaging::shapes::DisassociateChannelFlowRequest => ();
            get_channel_membership_preferences: messaging::shapes::GetChannelMembershipPreferencesRequest => messaging::shapes::GetChannelMembershipPreferencesResponse;
            get_channel_message: messaging::shapes::GetChannelMessageRequest => messaging::shapes::GetChannelMessageResponse;
            get_channel_message_status: messaging::shapes::GetChannelMessageStatusRequest => messaging::shapes::GetChannelMessageStatusResponse;
            get_messaging_session_endpoint: messaging::shapes::GetMessagingSessionEndpointRequest => messaging::shapes::GetMessagingSessionEndpointResponse;
            get_messaging_streaming_configurations: messaging::shapes::GetMessagingStreamingConfigurationsRequest => messaging::shapes::GetMessagingStreamingConfigurationsResponse;
            list_channel_bans: messaging::shapes::ListChannelBansRequest => messaging::shapes::ListChannelBansResponse;
            list_channel_flows: messaging::shapes::ListChannelFlowsRequest => messaging::shapes::ListChannelFlowsResponse;
            list_channel_memberships: messaging::shapes::ListChannelMembershipsRequest => messaging::shapes::ListChannelMembershipsResponse;
            list_channel_memberships_for_app_instance_user: messaging::shapes::ListChannelMembershipsForAppInstanceUserRequest => messaging::shapes::ListChannelMembershipsForAppInstanceUserResponse;
            list_channel_messages: messaging::shapes::ListChannelMessagesRequest => messaging::shapes::ListChannelMessagesResponse;
            list_channel_moderators: messaging::shapes::ListChannelModeratorsRequest => messaging::shapes::ListChannelModeratorsResponse;
            list_channels: messaging::shapes::ListChannelsRequest => messaging::shapes::ListChannelsResponse;
            list_channels_associated_with_channel_flow: messaging::shapes::ListChannelsAssociatedWithChannelFlowRequest => messaging::shapes::ListChannelsAssociatedWithChannelFlowResponse;
            list_channels_moderated_by_app_instance_user: messaging::shapes::ListChannelsModeratedByAppInstanceUserRequest => messaging::shapes::ListChannelsModeratedByAppInstanceUserResponse;
            list_sub_channels: messaging::shapes::ListSubChannelsRequest => messaging::shapes::ListSubChannelsResponse;
            list_tags_for_resource: messaging::shapes::ListTagsForResourceRequest => messaging::shapes::ListTagsForResourceResponse;
            put_channel_expiration_settings: messaging::shapes::PutChannelExpirationSettingsRequest => messaging::shapes::PutChannelExpirationSettingsResponse;
            put_channel_membership_preferences: messaging::shapes::PutChannelMembershipPreferencesRequest => messaging::shapes::PutChannelMembershipPreferencesResponse;
            put_messaging_streaming_configurations: messaging::shapes::PutMessagingStreamingConfigurationsRequest => messaging::shapes::PutMessagingStreamingConfigurationsResponse;
            redact_channel_message: messaging::shapes::RedactChannelMessageRequest => messaging::shapes::RedactChannelMessageResponse;
            search_channels: messaging::shapes::SearchChannelsRequest => messaging::shapes::SearchChannelsResponse;
            send_channel_message: messaging::shapes::SendChannelMessageRequest => messaging::shapes::SendChannelMessageResponse;
            tag_resource: messaging::shapes::TagResourceRequest => ();
            untag_resource: messaging::shapes::UntagResourceRequest => ();
            update_channel: messaging::shapes::UpdateChannelRequest => messaging::shapes::UpdateChannelResponse;
            update_channel_flow: messaging::shapes::UpdateChannelFlowRequest => messaging::shapes::UpdateChannelFlowResponse;
            update_channel_message: messaging::shapes::UpdateChannelMessageRequest => messaging::shapes::UpdateChannelMessageResponse;
            update_channel_read_marker: messaging::shapes::UpdateChannelReadMarkerRequest => messaging::shapes::UpdateChannelReadMarkerResponse;
        }
    }

    /// Runs a future that never waits (the test service's never do).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn ctx() -> RequestContext {
        RequestContext { account: "111122223333".into(), region: "us-east-1".into(), request_id: "r".into() }
    }

    fn request<'a>(method: &'a str, raw_path: &'a str, raw_query: Option<&'a str>, body: &'a [u8]) -> Request<'a> {
        Request { method, raw_path, raw_query, headers: &[], body }
    }

    fn run(wire: &Wire, req: Request<'_>) -> Result<Answer, ApiError> {
        let r = wire.resolve(req)?;
        block_on(wire.call(&Echo, &ctx(), r))
    }

    /// A raw path for a definition's template, every label `x%2Fy`, and its query literals.
    fn example(def: &OperationDef) -> (String, Option<&str>) {
        let (path, query) = def.request_uri.split_once('?').map_or((def.request_uri.as_str(), None), |(p, q)| (p, Some(q)));
        (path.split('/').map(|s| if s.starts_with('{') { "x%2Fy" } else { s }).collect::<Vec<_>>().join("/"), query)
    }

    #[test]
    fn the_served_models_share_their_compiled_patterns() {
        // The ARN pattern is in both models; the server compiles it once.
        let wire = Wire::load().unwrap();
        let (identity, messaging) = (wire.identity_model().shape("ChimeArn"), wire.messaging_model().shape("ChimeArn"));
        assert!(std::ptr::eq(identity.regex().unwrap(), messaging.regex().unwrap()));
    }

    #[test]
    fn every_operation_of_both_services_resolves_to_its_generated_value() {
        let wire = Wire::load().unwrap();
        for op in ServedOperation::all() {
            if matches!(op.name(), "TagResource" | "UntagResource" | "ListTagsForResource") {
                continue; // shared: below
            }
            let def = wire.definition(op).unwrap();
            let (raw, query) = example(def);
            let r = wire.resolve(request(&def.method, &raw, query, b"")).unwrap();
            assert_eq!(r.operation(), op);
            assert!(r.labels().iter().all(|l| l == "x/y"));
        }
    }

    #[test]
    fn tags_go_to_the_service_whose_resource_the_arn_names() {
        let wire = Wire::load().unwrap();
        let instance = "arn:aws:chime:us-east-1:111122223333:app-instance/a";
        let channel = format!("{instance}/channel/c");
        for (arn, messaging) in [(instance.to_string(), false), (format!("{instance}/user/u"), false), (channel.clone(), true)] {
            let body = serde_json::to_vec(&serde_json::json!({"ResourceARN": arn, "Tags": []})).unwrap();
            let r = wire.resolve(request("POST", "/tags", Some("operation=tag-resource"), &body)).unwrap();
            let expected: ServedOperation =
                if messaging { messaging::Operation::TagResource.into() } else { identity::Operation::TagResource.into() };
            assert_eq!(r.operation(), expected, "{arn}");
            let query = format!("arn={}", arn.replace(':', "%3A").replace('/', "%2F"));
            let r = wire.resolve(request("GET", "/tags", Some(&query), b"")).unwrap();
            let expected: ServedOperation =
                if messaging { messaging::Operation::ListTagsForResource.into() } else { identity::Operation::ListTagsForResource.into() };
            assert_eq!(r.operation(), expected, "{arn}");
        }
        // A body that is not JSON goes to Identity, whose binding refuses it.
        let r = wire.resolve(request("POST", "/tags", Some("operation=untag-resource"), b"{")).unwrap();
        assert_eq!(r.operation(), ServedOperation::from(identity::Operation::UntagResource));
    }

    #[test]
    fn a_messaging_call_reaches_the_messaging_method_with_its_bearer() {
        let wire = Wire::load().unwrap();
        let bearer = "arn:aws:chime:us-east-1:111122223333:app-instance/a/user/u";
        let headers: [(&str, &[u8]); 1] = [("X-Amz-Chime-Bearer", bearer.as_bytes())];
        let body = br#"{"AppInstanceArn":"arn:aws:chime:us-east-1:111122223333:app-instance/a","Name":"c","ClientRequestToken":"tok-1"}"#;
        let req = Request { method: "POST", raw_path: "/channels", raw_query: None, headers: &headers, body };
        let r = wire.resolve(req).unwrap();
        assert_eq!(r.operation(), ServedOperation::from(messaging::Operation::CreateChannel));
        assert_eq!(wire.bind(&r).unwrap()["ChimeBearer"], bearer);
        assert_eq!(block_on(wire.call(&Echo, &ctx(), r)).unwrap_err(), ApiError::not_found("create_channel"));
        // Without the bearer the model's required header is missing.
        let r = wire.resolve(request("POST", "/channels", None, body)).unwrap();
        let e = block_on(wire.call(&Echo, &ctx(), r)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        assert!(e.message.contains("chimeBearer"), "{}", e.message);
    }

    #[test]
    fn call_answers_with_the_success_status_and_an_empty_body_for_204() {
        let wire = Wire::load().unwrap();
        let a = run(&wire, request("POST", "/app-instances", None, br#"{"Name":"n","ClientRequestToken":"tok-1"}"#)).unwrap();
        assert_eq!(a, Answer::json(201, br#"{"AppInstanceArn":"arn-for-n"}"#.to_vec()));
        let a = run(&wire, request("DELETE", "/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa", None, b""))
            .unwrap();
        assert_eq!(a, Answer::json(204, Vec::new()));
    }

    #[test]
    fn labels_and_query_reach_the_operation() {
        let wire = Wire::load().unwrap();
        let e = run(&wire, request("DELETE", "/app-instances/arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fab", None, b""))
            .unwrap_err();
        assert_eq!(e, ApiError::not_found("arn:aws:chime:us-east-1:111122223333:app-instance/ab"));
        let e = run(
            &wire,
            request(
                "GET",
                "/app-instance-users",
                Some("app-instance-arn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa&max-results=5"),
                b"",
            ),
        )
        .unwrap_err();
        assert_eq!(e, ApiError::not_found("list_app_instance_users"));
    }

    #[test]
    fn every_stage_fails_with_its_own_message() {
        let wire = Wire::load().unwrap();
        let cases: [(Request<'_>, ErrorKind, &str); 6] = [
            (
                request("GET", "/app-instances", Some("max-results=%FF"), b""),
                ErrorKind::BadRequest,
                "Invalid query string parameter 'max-results': percent-encoding does not decode to UTF-8",
            ),
            (request("GET", "/nope", None, b""), ErrorKind::UnknownOperation, "No operation matches GET /nope"),
            (
                request("GET", "/app-instances/%zz", None, b""),
                ErrorKind::BadRequest,
                "Invalid path label 'appInstanceArn': malformed percent-encoding",
            ),
            (
                request("GET", "/app-instances", Some("max-results=ten"), b""),
                ErrorKind::BadRequest,
                "Invalid value 'ten' for 'maxResults': must be an integer",
            ),
            (
                request("POST", "/app-instances", None, b"[1]"),
                ErrorKind::BadRequest,
                "Could not parse request body into json: the body must be a JSON object",
            ),
            (
                request("POST", "/app-instances", None, br#"{"Name":"n"}"#),
                ErrorKind::BadRequest,
                "1 validation error detected: Value null at 'clientRequestToken' failed to satisfy constraint: Member must not be null",
            ),
        ];
        for (req, kind, message) in cases {
            let e = run(&wire, req).unwrap_err();
            assert_eq!((e.kind, e.message.as_str()), (kind, message));
        }
    }
}
