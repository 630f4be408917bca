//! The one entry of the wire layer. [`Wire::resolve`] turns a request's method, raw path and raw
//! query into the generated [`Operation`] it addresses; [`Wire::call`] binds and validates its input,
//! calls the operation on the service and serializes the answer with the operation's success
//! status. Every failure of every stage is an [`ApiError`].
//!
//! The [`Wire`] is built once at start-up from the committed models, so that a broken model stops
//! the server before it listens rather than failing a request.

use crate::error::ApiError;
use crate::model::{Model, OperationDef};
use crate::route::{Router, parse_query};
use crate::{ChimeSdkIdentity, Operation, RequestContext};
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
    operation: Operation,
    definition: OperationDef,
}

/// The parsed, checked model of the served service and its route table.
#[derive(Debug)]
pub struct Wire {
    identity: Model,
    router: Router<Served>,
}

/// A request whose operation is known, ready for [`Wire::call`].
#[derive(Debug)]
pub struct Resolved<'a> {
    operation: Operation,
    definition: &'a OperationDef,
    /// Decoded path labels, in template order.
    labels: Vec<String>,
    query: Vec<(String, String)>,
    headers: &'a [(&'a str, &'a [u8])],
    body: &'a [u8],
}

impl Resolved<'_> {
    /// The operation the request addresses.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The decoded path labels, in template order.
    pub fn labels(&self) -> &[String] {
        &self.labels
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
    /// Parses and checks the served model (Identity) and builds its route table.
    /// The server calls this before it listens; an error here is a start-up error.
    pub fn load() -> Result<Wire, String> {
        // Only the served model: Messaging is checked by the tests until it is served.
        let identity = Model::parse(crate::model::MODEL_JSON).map_err(|e| format!("the Chime SDK Identity model: {e}"))?;
        Wire::from_model(identity)
    }

    /// The generated code lists the operations in the model's order; a difference means it has
    /// drifted from the model.
    fn from_model(identity: Model) -> Result<Wire, String> {
        let names: Vec<&str> = identity.operations.iter().map(|d| d.name.as_str()).collect();
        let generated: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
        if names != generated {
            return Err(format!("the generated operations {generated:?} are not the model's {names:?}: regenerate them"));
        }
        let targets: Vec<Served> = Operation::ALL
            .iter()
            .zip(&identity.operations)
            .map(|(&operation, def)| Served { operation, definition: def.clone() })
            .collect();
        let router = Router::new(&[(&identity, &targets)]).map_err(|e| format!("the Chime SDK Identity model: {e}"))?;
        Ok(Wire { identity, router })
    }

    /// The served model.
    pub fn model(&self) -> &Model {
        &self.identity
    }

    /// The model's definition of `operation`.
    pub fn definition(&self, operation: Operation) -> Option<&OperationDef> {
        self.identity.operations.iter().find(|d| d.name == operation.name())
    }

    /// Checks a raw query's form (escapes, no parameter named twice) as [`Wire::resolve`] reads it:
    /// the front calls it before authentication, so that what a signature covered and what the
    /// router reads can never differ.
    pub fn check_query(&self, raw_query: Option<&str>) -> Result<(), ApiError> {
        parse_query(raw_query).map(|_| ())
    }

    /// Parses the query and routes the request on its raw path.
    pub fn resolve<'a>(&'a self, req: Request<'a>) -> Result<Resolved<'a>, ApiError> {
        let query = parse_query(req.raw_query)?;
        let route = self.router.route(req.method, req.raw_path, &query)?;
        let Served { operation, definition } = route.entry.target();
        Ok(Resolved { operation: *operation, definition, labels: route.labels, query, headers: req.headers, body: req.body })
    }

    /// Binds the request's path labels, query, headers and body into the operation's input, and
    /// validates it against the model.
    pub fn bind(&self, r: &Resolved<'_>) -> Result<Value, ApiError> {
        crate::bind::bind(&self.identity, r.definition, &r.labels, &r.query, r.headers, r.body)
    }

    /// Binds and validates the input, calls the operation on `svc` and serializes its output.
    pub async fn call<S: ChimeSdkIdentity>(&self, svc: &S, ctx: &RequestContext, r: Resolved<'_>) -> Result<Answer, ApiError> {
        let input = self.bind(&r)?;
        let body = crate::dispatch(svc, ctx, r.operation, input).await?;
        let status = r.operation.success_status();
        Ok(Answer::json(status, if status == 204 { Vec::new() } else { body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::shapes::*;

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

    #[test]
    fn every_operation_resolves_to_its_generated_value() {
        let wire = Wire::load().unwrap();
        for &op in Operation::ALL {
            let def = wire.definition(op).unwrap();
            let (path, query) = def.request_uri.split_once('?').map_or((def.request_uri.as_str(), None), |(p, q)| (p, Some(q)));
            let raw: String = path.split('/').map(|s| if s.starts_with('{') { "x%2Fy" } else { s }).collect::<Vec<_>>().join("/");
            let r = wire.resolve(request(&def.method, &raw, query, b"")).unwrap();
            assert_eq!(r.operation(), op);
            assert!(r.labels().iter().all(|l| l == "x/y"));
        }
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
