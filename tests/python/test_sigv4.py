"""SigV4 authentication (docs/behaviour.md, "Accounts, regions and signatures"; `--auth sigv4`) with botocore's real signer: ARNs with `%2F`, `%3A` and
`%40` in the path, presigned URLs, the clock window, and the AWS-wide failure codes."""
import json
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from carillon_util import create_app_instance, create_user, pinpoint_arn, register_endpoint, status_of

KEY, SECRET, ACCOUNT = "AKIDEXAMPLE", "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY", "444455556666"
# A 12-digit access key id that is configured: the configured account wins over the key's digits.
KEY2, SECRET2, ACCOUNT2 = "111122223333", "second-secret-value", "777788889999"
# An operator's key (fourth field `admin`): it may use the control plane.
OPKEY, OPSECRET, OPACCOUNT = "OPERATORKEY", "operator-secret", "121212121212"
# The module's `server` (conftest.py) runs in sigv4 mode with these.
SIGV4_CREDENTIALS = [f"{KEY}:{SECRET}:{ACCOUNT}", f"{KEY2}:{SECRET2}:{ACCOUNT2}", f"{OPKEY}:{OPSECRET}:{OPACCOUNT}:admin"]


def error_of(call):
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], status_of(info.value), info.value.response["Error"].get("Message", "")


def test_signed_requests_work_with_encoded_arns(server):
    c = server.signed_client(KEY, SECRET)
    app = create_app_instance(c, "signed")
    assert app.startswith(f"arn:aws:chime:us-east-1:{ACCOUNT}:app-instance/")
    user = create_user(c, app, "user:a@b.c", "Signed user")
    eid = register_endpoint(c, user, resource_arn=pinpoint_arn(ACCOUNT))
    c.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="renamed")
    ep = c.describe_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)["AppInstanceUserEndpoint"]
    assert ep["Name"] == "renamed"
    assert [e["EndpointId"] for e in c.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]] == [eid]
    assert c.list_tags_for_resource(ResourceARN=user)["Tags"] == []
    assert status_of(c.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)) == 204
    assert status_of(c.delete_app_instance(AppInstanceArn=app)) == 204


def test_configured_account_and_signing_region(server):
    c = server.signed_client(KEY2, SECRET2, region="eu-west-1")
    app = create_app_instance(c, "configured")
    assert app.startswith(f"arn:aws:chime:eu-west-1:{ACCOUNT2}:app-instance/"), app


def test_wrong_secret(server):
    c = server.signed_client(KEY, "not-the-secret")
    code, status, message = error_of(lambda: c.list_app_instances())
    assert (code, status) == ("InvalidSignatureException", 403)
    assert SECRET not in message and "not-the-secret" not in message


def test_unknown_access_key(server):
    c = server.signed_client("AKIDUNKNOWN", "whatever")
    assert error_of(lambda: c.list_app_instances())[:2] == ("UnrecognizedClientException", 403)


def test_no_credentials(server):
    r = server.raw("GET", "/app-instances")
    assert r.status == 403 and r.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException", r
    assert r.header("x-amzn-RequestId")
    # AWS's front door answers authentication errors without a Code: the name is the header's
    assert set(r.json()) == {"Message"}


def test_authentication_comes_before_routing(server):
    r = server.raw("GET", "/no-such-operation")
    assert r.status == 403 and r.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException", r
    r = server.raw("GET", "/no-such-operation", headers=server.signed_headers("GET", "/no-such-operation", key=KEY, secret=SECRET))
    assert r.status == 404 and r.header("x-amzn-ErrorType") == "UnknownOperationException", r


def test_signature_for_another_request(server):
    headers = server.signed_headers("GET", "/app-instances", key=KEY, secret=SECRET)
    ok = server.raw("GET", "/app-instances", headers=headers)
    assert ok.status == 200, ok
    moved = server.raw("GET", "/app-instances?max-results=1", headers=headers)
    assert moved.status == 403 and moved.header("x-amzn-ErrorType") == "InvalidSignatureException", moved
    body = json.dumps({"Name": "x", "ClientRequestToken": "tok-123456"})
    signed = server.signed_headers("POST", "/app-instances", body, key=KEY, secret=SECRET, headers={"Content-Type": "application/json"})
    tampered = server.raw("POST", "/app-instances", body=body.replace('"x"', '"y"'), headers=signed)
    assert tampered.status == 403 and tampered.header("x-amzn-ErrorType") == "InvalidSignatureException", tampered


def test_signature_for_another_service(server):
    req = AWSRequest(method="GET", url=f"{server.url}/app-instances")
    SigV4Auth(Credentials(KEY, SECRET), "identity-chime", "us-east-1").add_auth(req)
    r = server.raw("GET", "/app-instances", headers=dict(req.headers.items()))
    assert r.status == 403, r


@pytest.mark.parametrize("offset, ok", [(16 * 60, False), (-16 * 60, False), (10 * 60, True), (-10 * 60, True)])
def test_clock_window(server, offset, ok):
    """Signatures are accepted within 15 minutes of the server's clock: a request signed with a
    clock `offset` seconds off (botocore's own signer, its clock moved) is refused beyond that.
    (The server's --clock-offset moves the service's clock for expiration, not the signature check.)"""
    import datetime
    from unittest import mock

    shifted = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=offset)
    c = server.signed_client(KEY, SECRET)
    with mock.patch("botocore.auth.get_current_datetime", return_value=shifted):
        if ok:
            assert status_of(c.list_app_instances()) == 200
        else:
            assert error_of(lambda: c.list_app_instances())[:2] == ("InvalidSignatureException", 403)


def test_presigned_url(server):
    c = server.signed_client(KEY, SECRET)
    app = create_app_instance(c, "presigned")
    user = create_user(c, app, "p:q@r")
    url = c.generate_presigned_url("describe_app_instance_user", Params={"AppInstanceUserArn": user}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url and "X-Amz-Credential=" in url
    with urllib.request.urlopen(url) as resp:
        assert resp.status == 200
        assert json.loads(resp.read())["AppInstanceUser"]["AppInstanceUserArn"] == user
    bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(bad)
    assert info.value.code == 403 and info.value.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_secret_never_logged(server):
    try:
        server.signed_client(KEY, "leaky-wrong-secret").list_app_instances()
    except ClientError:
        pass
    log = server.log_text()
    assert SECRET not in log and SECRET2 not in log and "leaky-wrong-secret" not in log


def test_unsigned_payload_is_refused(server):
    """A signature over UNSIGNED-PAYLOAD would let a captured request be replayed with another body."""
    body = json.dumps({"Name": "unsigned", "ClientRequestToken": "tok-unsigned-1"})
    h = server.signed_headers("POST", "/app-instances", body, key=KEY, secret=SECRET, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
                                                                        "Content-Type": "application/json"})
    for sent in (body, body.replace("unsigned", "replayed")):
        r = server.raw("POST", "/app-instances", body=sent, headers=h)
        assert r.status == 403 and r.header("x-amzn-ErrorType") == "InvalidSignatureException", r
    assert "unsigned" not in json.dumps(server.signed_client(KEY, SECRET).list_app_instances()["AppInstances"])


def test_repeated_query_parameter_is_a_bad_request(server):
    path = "/app-instances?max-results=1&max-results=50"
    r = server.raw("GET", path, headers=server.signed_headers("GET", path, key=KEY, secret=SECRET))
    assert r.status == 400 and r.header("x-amzn-ErrorType") == "BadRequestException", r


def test_control_plane_needs_an_operator(server):
    assert server.raw("GET", "/_carillon/health").status == 200
    body = json.dumps({"offset_seconds": 0})
    tenant = server.raw("PUT", "/_carillon/clock", body=body, headers=server.signed_headers("PUT", "/_carillon/clock", body, key=KEY, secret=SECRET))
    assert tenant.status == 403 and tenant.header("x-amzn-ErrorType") == "ForbiddenException", tenant
    op = server.raw("PUT", "/_carillon/clock", body=body,
                    headers=server.signed_headers("PUT", "/_carillon/clock", body, key=OPKEY, secret=OPSECRET))
    assert op.status == 200 and op.json() == {"offset_seconds": 0}, op
