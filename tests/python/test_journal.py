"""The request journal, `GET /_carillon/requests` (docs/behaviour.md, "Control plane"): the last API requests,
newest first, with filters; for a refused signature what the server computed, which must equal what botocore
computed when it signed; never a secret."""
import json
import urllib.parse

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.exceptions import ClientError

from conftest import quote
from carillon_util import account_of, create_app_instance, create_user, pinpoint_arn, register_endpoint

KEY, SECRET, ACCOUNT = "AKIDJOURNAL", "journal-secret-wJalrXUtnFEMIK7MDENG", "444455556666"
KEY2, SECRET2, ACCOUNT2 = "AKIDJOURNAL2", "second-journal-secret", "777788889999"
OPKEY, OPSECRET = "OPERATORKEY", "operator-secret-value"
# The module's `server` (conftest.py) runs in sigv4 mode with these.
SIGV4_CREDENTIALS = [f"{KEY}:{SECRET}:{ACCOUNT}", f"{KEY2}:{SECRET2}:{ACCOUNT2}", f"{OPKEY}:{OPSECRET}:121212121212:admin"]
WRONG = "not-the-secret-at-all-1234567890"
FIELDS = {"Time", "RequestId", "AccountId", "Region", "Method", "Path", "Query", "Operation", "Status", "ErrorType",
          "ErrorMessage", "LatencyMicros"}


def journal_raw(server, query=""):
    """The journal's answer as text, read with an operator's signature."""
    path = "/_carillon/requests" + (f"?{query}" if query else "")
    r = server.raw("GET", path, headers=server.signed_headers("GET", path, key=OPKEY, secret=OPSECRET))
    assert r.status == 200, r
    return r.body.decode("utf-8")


def journal(server, query=""):
    return json.loads(journal_raw(server, query))["Requests"]


class CapturingSigV4Auth(SigV4Auth):
    """botocore's own signer, keeping the canonical request and string to sign it computed."""
    captured = []

    def string_to_sign(self, request, canonical_request):
        sts = super().string_to_sign(request, canonical_request)
        CapturingSigV4Auth.captured.append((canonical_request, sts))
        return sts


@pytest.fixture
def capturing_signer(monkeypatch):
    CapturingSigV4Auth.captured = []
    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "v4", CapturingSigV4Auth)
    return CapturingSigV4Auth.captured


def refused_request_id(call):
    with pytest.raises(ClientError) as info:
        call()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    return info.value.response["ResponseMetadata"]["RequestId"]


def test_a_wrong_secret_shows_what_the_server_computed_as_botocore_did(server, capturing_signer):
    good = server.signed_client(KEY, SECRET)
    app = create_app_instance(good, "journal-sig")
    wrong = server.signed_client(KEY, WRONG)
    capturing_signer.clear()
    # A plain list with a query, and an ARN percent-encoded in the path, with a JSON body.
    calls = [
        lambda: wrong.list_app_instances(MaxResults=7),
        lambda: wrong.update_app_instance(AppInstanceArn=app, Name="renamed", Metadata="m"),
    ]
    for call in calls:
        before = len(capturing_signer)
        request_id = refused_request_id(call)
        assert len(capturing_signer) == before + 1
        canonical, string_to_sign = capturing_signer[-1]
        [entry] = [e for e in journal(server, "status=403") if e["RequestId"] == request_id]
        sig = entry["Signature"]
        assert sig["CanonicalRequest"] == canonical
        assert sig["StringToSign"] == string_to_sign
        assert sig["SignedHeaders"] == canonical.split("\n")[-2]
        assert sig["CredentialScope"] == string_to_sign.split("\n")[2]
        assert sig["CredentialScope"].endswith("/us-east-1/chime/aws4_request")
        assert (entry["Status"], entry["ErrorType"]) == (403, "InvalidSignatureException")
    [update] = [e for e in journal(server, "status=403&limit=1")]
    assert update["Method"] == "PUT" and update["Path"] == f"/app-instances/{quote(app)}" and update["Query"] is None
    # No secret, no signature sent, no derived key anywhere in the journal.
    text = journal_raw(server, "limit=1000")
    for secret in (SECRET, SECRET2, OPSECRET, WRONG):
        assert secret not in text
    assert "Signature=" not in text and "Authorization" not in text and "authorization" not in text


def test_entries_have_every_field_and_control_plane_requests_are_left_out(server):
    c = server.signed_client(KEY2, SECRET2, region="eu-west-1")
    app = create_app_instance(c, "journal-fields")
    with pytest.raises(ClientError):
        c.describe_app_instance(AppInstanceArn=app.replace("app-instance/", "app-instance/0"))
    journal(server)  # a control-plane request: not journaled
    entries = journal(server, f"account={ACCOUNT2}&limit=2")
    missing, created = entries
    assert set(missing) == FIELDS and set(created) == FIELDS
    assert (missing["Operation"], missing["Status"], missing["Method"]) == ("DescribeAppInstance", 404, "GET")
    assert missing["ErrorType"] == "NotFoundException" and missing["ErrorMessage"]
    assert (missing["AccountId"], missing["Region"]) == (ACCOUNT2, "eu-west-1")
    assert (created["Operation"], created["Status"], created["ErrorType"], created["ErrorMessage"]) == (
        "CreateAppInstance", 201, None, None)
    assert created["Path"] == "/app-instances" and isinstance(created["LatencyMicros"], int)
    assert missing["Time"] >= created["Time"]
    assert all(not e["Path"].startswith("/_carillon/") for e in journal(server, "limit=1000"))


def test_user_ids_in_paths_are_hidden(server):
    c = server.signed_client(KEY, SECRET)
    app = create_app_instance(c, "journal-users")
    user = create_user(c, app, "alice@example.com", "Alice")
    c.describe_app_instance_user(AppInstanceUserArn=user)
    [entry] = journal(server, "operation=DescribeAppInstanceUser&limit=1")
    assert entry["Path"].endswith("%2Fuser%2F***"), entry["Path"]
    assert "alice" not in journal_raw(server, "limit=1000")


def test_filters_and_limit(server):
    c = server.signed_client(KEY2, SECRET2)
    for _ in range(3):
        c.list_app_instances(MaxResults=2)
    listed = journal(server, f"operation=ListAppInstances&account={ACCOUNT2}&status=200")
    assert len(listed) >= 3
    assert all((e["Operation"], e["AccountId"], e["Status"]) == ("ListAppInstances", ACCOUNT2, 200) for e in listed)
    assert listed[0]["Query"] == "max-results=2"
    assert [e["RequestId"] for e in journal(server, "operation=ListAppInstances&limit=2")] == \
        [e["RequestId"] for e in listed[:2]]
    assert journal(server, "status=599") == []
    assert journal(server, "account=000000000000") == []
    # newest first
    times = [e["Time"] for e in journal(server, "limit=1000")]
    assert times == sorted(times, reverse=True)


def test_a_bad_filter_is_a_bad_request(server):
    for query in ("limit=x", "status=abc", "colour=red"):
        path = f"/_carillon/requests?{query}"
        r = server.raw("GET", path, headers=server.signed_headers("GET", path, key=OPKEY, secret=OPSECRET))
        assert r.status == 400 and r.header("x-amzn-ErrorType") == "BadRequestException", (query, r)


def test_the_journal_is_a_ring_of_its_size(make_server):
    srv = make_server(["--journal-size", "3"])
    c = srv.client()
    names = [f"ring-{i}" for i in range(5)]
    for name in names:
        create_app_instance(c, name)
    status, body = srv.control("GET", "/_carillon/requests?limit=100")
    assert status == 200
    assert [e["Operation"] for e in body["Requests"]] == ["CreateAppInstance"] * 3
    assert len(srv.control("GET", "/_carillon/requests?limit=2")[1]["Requests"]) == 2


def test_size_zero_turns_it_off(make_server):
    srv = make_server(["--journal-size", "0"])
    srv.client().list_app_instances()
    assert srv.control("GET", "/_carillon/requests") == (200, {"Requests": []})


def bodies_of(srv, operation):
    status, body = srv.control("GET", f"/_carillon/requests?operation={operation}&limit=1")
    assert status == 200, body
    [entry] = body["Requests"]
    return entry["RequestBody"], entry["ResponseBody"]


def test_bodies_are_recorded_with_sensitive_members_hidden(make_server):
    srv = make_server(["--journal-bodies"])
    c = srv.client()
    app = create_app_instance(c, "bodies-app", Metadata="app-metadata-secret")
    user = create_user(c, app, "bodies-user", "Bodies Person", Metadata="user-metadata-secret")
    device_token, voip_token = "device-token-d3adb33f", "voip-token-c0ffee42"
    endpoint = register_endpoint(c, user, name="bodies-phone",
                                 EndpointAttributes={"DeviceToken": device_token, "VoipDeviceToken": voip_token})
    described = c.describe_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=endpoint)
    assert described["AppInstanceUserEndpoint"]["EndpointAttributes"]["DeviceToken"] == device_token

    request, response = bodies_of(srv, "RegisterAppInstanceUserEndpoint")
    assert request["EndpointAttributes"] == {"DeviceToken": "***", "VoipDeviceToken": "***"}
    assert (request["Name"], request["Type"]) == ("***", "APNS")
    assert request["ResourceArn"].startswith("arn:aws:mobiletargeting:") and request["ClientRequestToken"]
    hidden_user = user.rsplit("/", 1)[0] + "/***"
    assert response == {"AppInstanceUserArn": hidden_user, "EndpointId": endpoint}
    _, response = bodies_of(srv, "DescribeAppInstanceUserEndpoint")
    got = response["AppInstanceUserEndpoint"]
    assert got["EndpointAttributes"] == {"DeviceToken": "***", "VoipDeviceToken": "***"}
    assert (got["Name"], got["EndpointId"], got["Type"]) == ("***", endpoint, "APNS")
    request, response = bodies_of(srv, "CreateAppInstanceUser")
    assert (request["AppInstanceUserId"], request["Name"], request["Metadata"]) == ("***", "***", "***")
    assert request["AppInstanceArn"] == app and response == {"AppInstanceUserArn": hidden_user}
    # A GET has no body: null, as is the empty answer of a 204.
    request, _ = bodies_of(srv, "DescribeAppInstanceUserEndpoint")
    assert request is None
    c.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=endpoint)
    assert bodies_of(srv, "DeregisterAppInstanceUserEndpoint") == (None, None)

    text = srv.raw("GET", "/_carillon/requests?limit=1000").body.decode("utf-8")
    for secret in (device_token, voip_token, "app-metadata-secret", "user-metadata-secret", "Bodies Person",
                   "bodies-phone", "bodies-app", "bodies-user"):
        assert secret not in text, secret


def test_error_and_unreadable_bodies_are_recorded_as_they_are(make_server):
    srv = make_server(["--journal-bodies"])
    c = srv.client()
    account = account_of(c)
    with pytest.raises(ClientError):
        c.describe_app_instance(AppInstanceArn=f"arn:aws:chime:us-east-1:{account}:app-instance/none")
    request, response = bodies_of(srv, "DescribeAppInstance")
    assert request is None
    assert response["Code"] == "NotFound" and response["Message"]
    # A body that is not JSON is never shown (it may hold anything); one to no known operation has every value hidden.
    assert srv.raw("POST", "/app-instances", body=b"not json {lost-token-2", account=account).status == 400
    assert srv.raw("POST", "/no-such-operation", body=b'{"DeviceToken": "lost-token", "N": [1]}', account=account).status == 404
    status, body = srv.control("GET", "/_carillon/requests?limit=2")
    unknown, garbled = body["Requests"]
    assert garbled["RequestBody"].startswith("(22 bytes, not JSON") and garbled["ResponseBody"]["Code"] == "BadRequest"
    assert "lost-token" not in json.dumps(body)
    assert unknown["Operation"] is None and unknown["RequestBody"] == {"DeviceToken": "***", "N": ["***"]}


def test_without_the_flag_no_body_is_kept(server):
    c = server.signed_client(KEY, SECRET)
    app = create_app_instance(c, "no-bodies")
    user = create_user(c, app, "no-bodies-user", "No Bodies")
    register_endpoint(c, user, device_token="device-token-unrecorded-77", resource_arn=pinpoint_arn(ACCOUNT))
    [entry] = journal(server, "operation=RegisterAppInstanceUserEndpoint&limit=1")
    assert "RequestBody" not in entry and "ResponseBody" not in entry
    assert "device-token-unrecorded-77" not in journal_raw(server, "limit=1000")
