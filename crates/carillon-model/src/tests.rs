use super::*;
use serde_json::json;

const IDENTITY: &str = include_str!("../../carillon-api/model/chime-sdk-identity-2021-04-20.json");
const MESSAGING: &str = include_str!("../../carillon-api/model/chime-sdk-messaging-2021-05-15.json");

#[test]
fn identity_parses_with_every_operation_and_shape() {
    let m = Model::parse(IDENTITY).unwrap();
    assert_eq!(m.operations.len(), 30);
    assert_eq!(m.shapes.len(), 120);
    assert_eq!(m.metadata.signing_name, "chime");
    assert_eq!(m.metadata.api_version, "2021-04-20");
    let create = m.operation("CreateAppInstance").unwrap();
    assert_eq!((create.method.as_str(), create.request_uri.as_str(), create.success_status), ("POST", "/app-instances", 201));
    assert_eq!(create.idempotency_token.as_deref(), Some("ClientRequestToken"));
    let tag = m.operation("TagResource").unwrap();
    assert_eq!(tag.query_literals, vec![("operation".to_string(), "tag-resource".to_string())]);
    assert_eq!(tag.idempotency_token, None);
    let describe = m.operation("DescribeAppInstance").unwrap();
    assert_eq!(describe.segments, vec![Segment::Literal("app-instances".into()), Segment::Label("appInstanceArn".into())]);
    assert_eq!(m.shape("ThrottledClientException").unwrap().error_status, Some(429));
    assert_eq!(m.error_shapes().count(), 9);
}

#[test]
fn messaging_parses_with_headers_maps_and_booleans() {
    let m = Model::parse(MESSAGING).unwrap();
    assert_eq!(m.operations.len(), 51);
    assert_eq!(m.metadata.signing_name, "chime");
    assert_eq!(m.metadata.endpoint_prefix, "messaging-chime");
    let send = m.operation("SendChannelMessage").unwrap();
    let input = m.shape(send.input.as_deref().unwrap()).unwrap();
    let bearer = input.member("ChimeBearer").unwrap();
    assert_eq!((bearer.location, bearer.location_name.as_str()), (Location::Header, "x-amz-chime-bearer"));
    let map = m.shape("MessageAttributeMap").unwrap();
    assert_eq!(
        (map.kind, map.map_key.as_deref(), map.map_value.as_deref()),
        (ShapeKind::Map, Some("MessageAttributeName"), Some("MessageAttributeValue"))
    );
    assert_eq!(m.shape("NonNullableBoolean").unwrap().kind, ShapeKind::Boolean);
    assert_eq!(m.operation("ChannelFlowCallback").unwrap().idempotency_token.as_deref(), Some("CallbackId"));
}

/// A small, valid model that each test below breaks in one place.
fn base() -> Value {
    json!({
        "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "things", "protocol": "rest-json",
                     "serviceFullName": "Things", "serviceId": "Things", "signingName": "things"},
        "operations": {
            "GetThing": {
                "name": "GetThing",
                "http": {"method": "GET", "requestUri": "/things/{thingId}", "responseCode": 200},
                "input": {"shape": "GetThingRequest"},
                "output": {"shape": "GetThingResponse"},
                "errors": [{"shape": "NotFoundException"}]
            }
        },
        "shapes": {
            "GetThingRequest": {"type": "structure", "required": ["ThingId"], "members": {
                "ThingId": {"shape": "Id", "location": "uri", "locationName": "thingId"},
                "Token": {"shape": "Id", "idempotencyToken": true},
                "Mode": {"shape": "Id", "location": "querystring", "locationName": "mode"}
            }},
            "GetThingResponse": {"type": "structure", "members": {"Names": {"shape": "Names"}, "Attrs": {"shape": "Attrs"}}},
            "Names": {"type": "list", "member": {"shape": "Id"}},
            "Attrs": {"type": "map", "key": {"shape": "Id"}, "value": {"shape": "Id"}},
            "Id": {"type": "string", "pattern": "[a-z]+"},
            "NotFoundException": {"type": "structure", "members": {"Message": {"shape": "Id"}},
                                  "error": {"httpStatusCode": 404}, "exception": true}
        }
    })
}

fn parse(v: &Value) -> Result<Model, ModelError> {
    Model::parse(&v.to_string())
}

/// Breaks the base model with `edit` and returns the reader's complaint.
fn refusal(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = base();
    edit(&mut v);
    match parse(&v) {
        Ok(_) => panic!("the broken model was accepted"),
        Err(e) => e.0,
    }
}

#[test]
fn the_base_model_is_valid() {
    let m = parse(&base()).unwrap();
    assert_eq!(m.operations[0].idempotency_token.as_deref(), Some("Token"));
}

#[test]
fn an_operation_input_output_or_error_must_resolve() {
    let e = refusal(|v| v["operations"]["GetThing"]["input"]["shape"] = json!("Nope"));
    assert!(e.contains("operation GetThing") && e.contains("Nope"), "{e}");
    let e = refusal(|v| v["operations"]["GetThing"]["output"]["shape"] = json!("Missing"));
    assert!(e.contains("operation GetThing: output") && e.contains("Missing"), "{e}");
    let e = refusal(|v| v["operations"]["GetThing"]["errors"][0]["shape"] = json!("GoneException"));
    assert!(e.contains("GoneException"), "{e}");
}

#[test]
fn member_list_and_map_targets_must_resolve() {
    let e = refusal(|v| v["shapes"]["GetThingResponse"]["members"]["Names"]["shape"] = json!("Nameless"));
    assert!(e.contains("member GetThingResponse.Names") && e.contains("Nameless"), "{e}");
    let e = refusal(|v| v["shapes"]["Names"]["member"]["shape"] = json!("Ghost"));
    assert!(e.contains("list Names member") && e.contains("Ghost"), "{e}");
    let e = refusal(|v| v["shapes"]["Attrs"]["key"]["shape"] = json!("Ghost"));
    assert!(e.contains("map Attrs key"), "{e}");
    let e = refusal(|v| v["shapes"]["Attrs"]["value"]["shape"] = json!("Ghost"));
    assert!(e.contains("map Attrs value"), "{e}");
}

#[test]
fn an_error_must_be_an_exception_with_a_status() {
    let e = refusal(|v| v["shapes"]["NotFoundException"]["error"] = json!({}));
    assert!(e.contains("error shape NotFoundException") && e.contains("httpStatusCode"), "{e}");
    let e = refusal(|v| v["shapes"]["NotFoundException"]["exception"] = json!(false));
    assert!(e.contains("NotFoundException is not an exception"), "{e}");
    let e = refusal(|v| v["shapes"]["NotFoundException"]["error"]["httpStatusCode"] = json!(1000));
    assert!(e.contains("1000"), "{e}");
}

#[test]
fn every_label_needs_one_required_uri_member() {
    let e = refusal(|v| v["operations"]["GetThing"]["http"]["requestUri"] = json!("/things/{thingId}/{other}"));
    assert!(e.contains("label other") && e.contains("no uri member"), "{e}");
    let e = refusal(|v| v["shapes"]["GetThingRequest"]["required"] = json!([]));
    assert!(e.contains("GetThingRequest.ThingId must be required"), "{e}");
    let e = refusal(|v| v["operations"]["GetThing"]["http"]["requestUri"] = json!("/things/{thingId+}"));
    assert!(e.contains("greedy"), "{e}");
}

#[test]
fn every_uri_member_names_a_label() {
    let e = refusal(|v| v["operations"]["GetThing"]["http"]["requestUri"] = json!("/things"));
    assert!(e.contains("uri member GetThingRequest.ThingId names thingId"), "{e}");
}

#[test]
fn query_and_header_members_need_a_location_name() {
    let e = refusal(|v| {
        v["shapes"]["GetThingRequest"]["members"]["Mode"].as_object_mut().unwrap().remove("locationName");
    });
    assert!(e.contains("member GetThingRequest.Mode") && e.contains("locationName"), "{e}");
    let e = refusal(|v| v["shapes"]["GetThingRequest"]["members"]["Bearer"] = json!({"shape": "Id", "location": "header"}));
    assert!(e.contains("member GetThingRequest.Bearer"), "{e}");
    let e = refusal(|v| v["shapes"]["GetThingRequest"]["members"]["Mode"]["location"] = json!("headers"));
    assert!(e.contains("location `headers`"), "{e}");
}

#[test]
fn an_input_has_at_most_one_idempotency_token() {
    let e = refusal(|v| v["shapes"]["GetThingRequest"]["members"]["Other"] = json!({"shape": "Id", "idempotencyToken": true}));
    assert!(e.contains("operation GetThing") && e.contains("two idempotency token members, Token and Other"), "{e}");
}

#[test]
fn unknown_shape_types_are_refused() {
    let e = refusal(|v| v["shapes"]["Blobby"] = json!({"type": "blob"}));
    assert!(e.contains("shape Blobby") && e.contains("`blob`"), "{e}");
    let e = refusal(|v| v["shapes"]["Untyped"] = json!({}));
    assert!(e.contains("shape Untyped: no type"), "{e}");
}

#[test]
fn required_names_must_be_members() {
    let e = refusal(|v| v["shapes"]["GetThingRequest"]["required"] = json!(["ThingId", "Ghost"]));
    assert!(e.contains("required member Ghost"), "{e}");
}

#[test]
fn only_rest_json_models_are_read() {
    let e = refusal(|v| v["metadata"]["protocol"] = json!("json"));
    assert!(e.contains("protocol `json`"), "{e}");
    let e = refusal(|v| v["metadata"] = json!({"protocol": "rest-json"}));
    assert!(e.contains("no signingName"), "{e}");
}

#[test]
fn the_signing_name_defaults_to_the_endpoint_prefix() {
    let mut v = base();
    v["metadata"].as_object_mut().unwrap().remove("signingName");
    assert_eq!(parse(&v).unwrap().metadata.signing_name, "things");
}

#[test]
fn escapes_of_every_width_translate() {
    assert_eq!(translate_escapes(r"[\u0009\u0020-\uD7FF\u10000-\u10FFFF]"), r"[\x{0009}\x{0020}-\x{D7FF}\x{10000}-\x{10FFFF}]");
    assert_eq!(translate_escapes(r"a\.b\u00"), r"a\.b\u00");
    assert!(matches_everything(".*") && !matches_everything(".+"));
}
