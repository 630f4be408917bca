"""restJson1 wire details (docs/behaviour.md, "Wire protocol") through raw HTTP: routing, body parsing, error shape, headers, JSON."""
import json
import re
import socket
import uuid

import pytest

from conftest import quote
from carillon_util import REQUEST_ID_RE

ERROR_CODES = {
    "BadRequestException": (400, "BadRequest"),
    "ResourceLimitExceededException": (400, "ResourceLimitExceeded"),
    "ForbiddenException": (403, "Forbidden"),
    "NotFoundException": (404, "NotFound"),
    "ConflictException": (409, "Conflict"),
}


def assert_request_id(r):
    rid = r.header("x-amzn-RequestId")
    assert rid is not None, f"no x-amzn-RequestId: {r}"
    assert REQUEST_ID_RE.fullmatch(rid), rid
    return rid


def assert_error(r, shape, message=None):
    status, code = ERROR_CODES[shape]
    assert r.status == status, r
    assert r.header("x-amzn-ErrorType") == shape, r
    assert (r.header("Content-Type") or "").startswith("application/json"), r
    assert_request_id(r)
    body = r.json()
    assert set(body) == {"Code", "Message"}, f"error body must be exactly Code and Message: {body}"
    assert body["Code"] == code
    assert isinstance(body["Message"], str) and body["Message"]
    if message is not None:
        assert message in body["Message"], body
    return body


def assert_no_nulls(node, path="$"):
    if isinstance(node, dict):
        for k, v in node.items():
            assert v is not None, f"null member at {path}.{k}"
            assert_no_nulls(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            assert v is not None, f"null at {path}[{i}]"
            assert_no_nulls(v, f"{path}[{i}]")


def timestamps(node, found=None):
    found = [] if found is None else found
    if isinstance(node, dict):
        for k, v in node.items():
            if k.endswith("Timestamp"):
                found.append((k, v))
            else:
                timestamps(v, found)
    elif isinstance(node, list):
        for v in node:
            timestamps(v, found)
    return found


@pytest.fixture
def api(server, account):
    """Raw HTTP in this test's account: api(method, path, body=None, headers=None) -> RawResponse."""
    def call(method, path, body=None, headers=None, **kw):
        return server.raw(method, path, body=body, headers=headers, account=account, **kw)
    return call


def create_app(api, name="wire", **extra):
    r = api("POST", "/app-instances", {"Name": name, "ClientRequestToken": uuid.uuid4().hex, **extra})
    assert r.status == 201, r
    return r.json()["AppInstanceArn"]


def create_user(api, app, user_id="u1", **extra):
    r = api("POST", "/app-instance-users", {"AppInstanceArn": app, "AppInstanceUserId": user_id, "Name": "U",
                                            "ClientRequestToken": uuid.uuid4().hex, **extra})
    assert r.status == 201, r
    return r.json()["AppInstanceUserArn"]


# -- routing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("GET", "/no-such-thing"),
    ("POST", "/app-instances/x/y/z/w"),
    ("PATCH", "/app-instances"),
    ("DELETE", "/app-instances"),
    ("GET", "/"),
    ("POST", "/tags?operation=frobnicate-resource"),
    ("POST", "/tags"),
])
def test_unknown_operation(api, method, path):
    r = api(method, path)
    assert r.status == 404, r
    assert r.header("x-amzn-ErrorType") == "UnknownOperationException", r
    assert (r.header("Content-Type") or "").startswith("application/json"), r
    assert_request_id(r)
    body = r.json()
    assert isinstance(body, dict) and "__type" not in body and body.get("Message"), body


def test_arn_with_unencoded_slash_does_not_route(api, account):
    app = create_app(api)
    assert api("GET", "/app-instances/" + quote(app)).status == 200
    # Unencoded, the ARN's `/` splits the path into more segments: no label is greedy.
    r = api("GET", "/app-instances/" + app)
    assert r.status == 404 and r.header("x-amzn-ErrorType") == "UnknownOperationException", r


def test_percent_encoding_is_decoded_per_segment(api):
    app = create_app(api)
    user = create_user(api, app, "a:b@c.d")
    r = api("GET", "/app-instance-users/" + quote(user))
    assert r.status == 200, r
    assert r.json()["AppInstanceUser"]["AppInstanceUserArn"] == user
    # `%2f` in lower case is the same thing.
    lower = quote(user).replace("%2F", "%2f").replace("%3A", "%3a")
    r = api("GET", "/app-instance-users/" + lower)
    assert r.status == 200, r
    # Query values are percent-encoded the same way.
    r = api("GET", "/app-instance-users?app-instance-arn=" + quote(app))
    assert r.status == 200 and [u["AppInstanceUserArn"] for u in r.json()["AppInstanceUsers"]] == [user], r


def test_unknown_query_parameters_are_ignored(api):
    app = create_app(api)
    r = api("GET", f"/app-instances/{quote(app)}?foo=bar&x-id=1")
    assert r.status == 200, r
    r = api("GET", "/app-instances?max-results=5&unknown=1")
    assert r.status == 200, r


def test_non_integer_max_results_in_query(api):
    r = api("GET", "/app-instances?max-results=abc")
    assert_error(r, "BadRequestException")
    r = api("GET", "/app-instances?max-results=1.5")
    assert_error(r, "BadRequestException")


# -- request bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{", b"{\"Name\": }", b"not json", b"{\"Name\": \"x\",}", b"\xff\xfe"])
def test_malformed_json(api, body):
    assert_error(api("POST", "/app-instances", body, {"Content-Type": "application/json"}), "BadRequestException")


@pytest.mark.parametrize("body", [b"[]", b"\"string\"", b"42", b"null", b"true", b"[{\"Name\": \"x\"}]"])
def test_body_not_an_object(api, body):
    assert_error(api("POST", "/app-instances", body, {"Content-Type": "application/json"}), "BadRequestException")


@pytest.mark.parametrize("body", [
    {"Name": 5, "ClientRequestToken": "tok-12345"},
    {"Name": ["x"], "ClientRequestToken": "tok-12345"},
    {"Name": {"x": 1}, "ClientRequestToken": "tok-12345"},
    {"Name": True, "ClientRequestToken": "tok-12345"},
    {"Name": "x", "ClientRequestToken": 12345},
    {"Name": "x", "ClientRequestToken": "tok-12345", "Tags": {"Key": "k", "Value": "v"}},
    {"Name": "x", "ClientRequestToken": "tok-12345", "Tags": ["k"]},
])
def test_wrong_json_type(api, body):
    assert_error(api("POST", "/app-instances", body), "BadRequestException")
    assert api("GET", "/app-instances").json()["AppInstances"] == []


@pytest.mark.parametrize("days", ["30", 30.5, True, [30]])
def test_non_integer_where_an_integer_belongs(api, days):
    app = create_app(api)
    r = api("PUT", f"/app-instances/{quote(app)}/retention-settings",
            {"AppInstanceRetentionSettings": {"ChannelRetentionSettings": {"RetentionDays": days}}})
    assert_error(r, "BadRequestException")


def test_body_over_one_mebibyte(server, account):
    """A body over 1 MiB is a 400 BadRequestException; the server may answer before reading it all."""
    size = 1024 * 1024 + 1
    body = b'{"Name": "' + b"a" * (size - 40) + b'", "ClientRequestToken": "tok-12345"}'
    assert len(body) > 1024 * 1024
    sock = socket.create_connection((server.host, server.port), timeout=30)
    try:
        head = (f"POST /app-instances HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                f"Authorization: AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/chime/aws4_request, "
                f"SignedHeaders=host, Signature=00\r\nConnection: close\r\n\r\n").encode()
        sock.sendall(head)
        try:
            for i in range(0, len(body), 65536):
                sock.sendall(body[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: allowed ("read no further")
        import http.client
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        data = resp.read()
    finally:
        sock.close()
    assert resp.status == 400, (resp.status, data[:300])
    assert resp.getheader("x-amzn-ErrorType") == "BadRequestException"
    assert set(json.loads(data)) == {"Code", "Message"}
    assert server.raw("GET", "/app-instances", account=account).json()["AppInstances"] == []


def test_body_of_exactly_one_mebibyte_is_read(api):
    prefix, suffix = b'{"Name": "x", "ClientRequestToken": "' + uuid.uuid4().hex.encode() + b'", "Pad": "', b'"}'
    body = prefix + b"p" * (1024 * 1024 - len(prefix) - len(suffix)) + suffix
    assert len(body) == 1024 * 1024
    r = api("POST", "/app-instances", body, {"Content-Type": "application/json"})
    assert r.status == 201, r


@pytest.mark.parametrize("content_type", ["application/json", "application/x-amz-json-1.1", None])
def test_accepted_content_types(api, content_type):
    body = json.dumps({"Name": "ct", "ClientRequestToken": uuid.uuid4().hex}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    r = api("POST", "/app-instances", body, headers)
    assert r.status == 201, r


def test_empty_body_is_an_empty_object(api):
    r = api("POST", "/app-instances", b"")
    assert_error(r, "BadRequestException", "Value null at 'name' failed to satisfy constraint: Member must not be null")
    app = create_app(api)
    user = create_user(api, app)
    r = api("PUT", f"/app-instance-users/{quote(user)}/expiration-settings", b"")
    assert r.status == 200, r
    r = api("PUT", f"/app-instance-users/{quote(user)}/expiration-settings", b"  \n")
    assert r.status == 200, r


def test_unknown_members_are_ignored(api):
    r = api("POST", "/app-instances", {"Name": "x", "ClientRequestToken": uuid.uuid4().hex, "Bogus": {"a": [1, None]},
                                       "name": 5})
    assert r.status == 201, r


def test_explicit_null_members_are_absent_members(api):
    r = api("POST", "/app-instances", {"Name": "x", "ClientRequestToken": uuid.uuid4().hex, "Metadata": None})
    assert r.status == 201, r
    arn = r.json()["AppInstanceArn"]
    assert "Metadata" not in api("GET", "/app-instances/" + quote(arn)).json()["AppInstance"]


# -- responses ----------------------------------------------------------------------------------------


def test_every_response_has_a_request_id(api, server):
    ids = set()
    for r in (
        api("GET", "/app-instances"),
        api("POST", "/app-instances", {"Name": "x", "ClientRequestToken": uuid.uuid4().hex}),
        api("GET", "/nope"),
        api("POST", "/app-instances", b"{"),
        api("GET", "/app-instances/" + quote("arn:aws:chime:us-east-1:111111111111:app-instance/x")),
    ):
        ids.add(assert_request_id(r))
    assert len(ids) == 5, "request ids must be unique"
    app = create_app(api)
    r = api("DELETE", "/app-instances/" + quote(app))
    assert r.status == 204 and r.body == b"", r
    assert_request_id(r)


def test_error_shapes(api, account):
    app = create_app(api)
    assert_error(api("GET", "/app-instances/" + quote(f"arn:aws:chime:us-east-1:{account}:app-instance/{uuid.uuid4()}")), "NotFoundException")
    assert_error(api("GET", "/app-instances/" + quote(app.replace(account, "999999999999"))), "ForbiddenException")
    create_user(api, app, "dup")
    r = api("POST", "/app-instance-users", {"AppInstanceArn": app, "AppInstanceUserId": "dup", "Name": "U",
                                            "ClientRequestToken": uuid.uuid4().hex})
    assert_error(r, "ConflictException")
    assert_error(api("POST", "/app-instances", {"Name": ""}), "BadRequestException")


def test_error_message_leaks_nothing(api):
    r = api("GET", "/app-instances/" + quote("arn:aws:chime:us-east-1:111111111111:app-instance/x';DROP TABLE x;--"))
    body = r.json()
    for leak in ("SELECT", "sqlite", "panicked", "/src/", ".rs:"):
        assert leak not in body.get("Message", ""), body


def test_success_bodies_have_no_nulls_and_numeric_timestamps(api, account):
    app = create_app(api, "no nulls")
    user = create_user(api, app, "u:1@x")
    r = api("POST", f"/app-instance-users/{quote(user)}/endpoints", {
        "Type": "GCM", "ResourceArn": f"arn:aws:mobiletargeting:us-east-1:{account}:apps/abc",
        "EndpointAttributes": {"DeviceToken": "d"}, "ClientRequestToken": uuid.uuid4().hex})
    assert r.status == 201, r
    eid = r.json()["EndpointId"]
    r = api("POST", "/app-instance-bots", {"AppInstanceArn": app, "ClientRequestToken": uuid.uuid4().hex,
                                           "Configuration": {"Lex": {"LexBotAliasArn": "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST", "LocaleId": "en_US"}}})
    assert r.status == 201, r
    bot = r.json()["AppInstanceBotArn"]
    r = api("POST", f"/app-instances/{quote(app)}/admins", {"AppInstanceAdminArn": user})
    assert r.status == 201, r

    responses = [
        api("GET", "/app-instances"),
        api("GET", "/app-instances/" + quote(app)),
        api("GET", "/app-instance-users?app-instance-arn=" + quote(app)),
        api("GET", "/app-instance-users/" + quote(user)),
        api("GET", f"/app-instance-users/{quote(user)}/endpoints"),
        api("GET", f"/app-instance-users/{quote(user)}/endpoints/{eid}"),
        api("GET", "/app-instance-bots?app-instance-arn=" + quote(app)),
        api("GET", "/app-instance-bots/" + quote(bot)),
        api("GET", f"/app-instances/{quote(app)}/admins"),
        api("GET", f"/app-instances/{quote(app)}/admins/{quote(user)}"),
        api("GET", f"/app-instances/{quote(app)}/retention-settings"),
        api("PUT", f"/app-instances/{quote(app)}/retention-settings", {"AppInstanceRetentionSettings": {"ChannelRetentionSettings": {"RetentionDays": 3}}}),
        api("GET", f"/app-instances/{quote(app)}/retention-settings"),
        api("GET", "/tags?arn=" + quote(app)),
        api("PUT", f"/app-instance-users/{quote(user)}/endpoints/{eid}", {}),
        api("PUT", f"/app-instance-users/{quote(user)}/expiration-settings", {}),
    ]
    seen_ts = []
    for r in responses:
        assert r.status == 200, r
        assert (r.header("Content-Type") or "").startswith("application/json"), r
        assert_request_id(r)
        body = r.json()
        assert isinstance(body, dict)
        assert_no_nulls(body)
        for name, value in timestamps(body):
            assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{name} is not a JSON number: {value!r}"
            assert 1.5e9 < value < 4e9, f"{name}={value} is not epoch seconds"
            text = re.search(rf'"{name}"\s*:\s*([^,}}\]]+)', r.body.decode()).group(1)
            assert re.fullmatch(r"\d+(\.\d{1,3})?", text.strip()), f"{name} must be epoch seconds with at most a millisecond fraction: {text}"
            seen_ts.append(name)
    assert {"CreatedTimestamp", "LastUpdatedTimestamp", "InitiateDeletionTimestamp"} <= set(seen_ts)
    assert api("GET", f"/app-instances/{quote(app)}/retention-settings").json() != {}


def test_retention_get_before_put_is_exact(api):
    app = create_app(api)
    r = api("GET", f"/app-instances/{quote(app)}/retention-settings")
    assert r.status == 200 and r.json() == {"AppInstanceRetentionSettings": {}}, r


def test_no_content_responses_are_empty(api):
    app = create_app(api)
    for method, path, body in (
        ("POST", "/tags?operation=tag-resource", {"ResourceARN": app, "Tags": [{"Key": "k", "Value": "v"}]}),
        ("POST", "/tags?operation=untag-resource", {"ResourceARN": app, "TagKeys": ["k"]}),
        ("DELETE", "/app-instances/" + quote(app), None),
    ):
        r = api(method, path, body)
        assert r.status == 204 and r.body == b"", r
        assert_request_id(r)


def test_health(server):
    status, body = server.control("GET", "/_carillon/health")
    assert status == 200 and body["status"] == "ok", body


def test_region_comes_from_the_credential_scope(server, account):
    r = server.raw("POST", "/app-instances", {"Name": "x", "ClientRequestToken": uuid.uuid4().hex}, account=account, region="eu-central-1")
    assert r.status == 201, r
    arn = r.json()["AppInstanceArn"]
    assert arn.startswith(f"arn:aws:chime:eu-central-1:{account}:app-instance/"), arn
    # Without a signature: us-east-1 and account 000000000000.
    r = server.raw("GET", "/app-instances/" + quote(arn))
    assert_error(r, "ForbiddenException")


# -- connection-level limits: always an answer in protocol shape, never a dropped connection -------------


def _raw_exchange(server, head, body_chunks=(), timeout=15):
    """Sends a hand-made request on one socket; returns (status, headers, body) of the answer."""
    import http.client
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, resp.headers, resp.read()
    finally:
        sock.close()


def test_huge_declared_content_length_is_refused_at_once(server):
    head = (b"POST /app-instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000000\r\n\r\n")
    status, headers, body = _raw_exchange(server, head, timeout=10)
    assert status == 400 and headers["x-amzn-ErrorType"] == "BadRequestException", (status, body)
    assert set(json.loads(body)) == {"Code", "Message"}


def test_chunked_body_over_one_mebibyte(server):
    head = b"POST /app-instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"a" * 65536
    chunks = [b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(20)] + [b"0\r\n\r\n"]
    status, headers, body = _raw_exchange(server, head, chunks)
    assert status == 400 and headers["x-amzn-ErrorType"] == "BadRequestException", (status, body)


def test_small_chunked_body_is_read(server, account):
    payload = json.dumps({"Name": "chunked", "ClientRequestToken": uuid.uuid4().hex}).encode()
    head = (b"POST /app-instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=" + account.encode() + b"/20260101/us-east-1/chime/aws4_request, "
            b"SignedHeaders=host, Signature=00\r\nConnection: close\r\n\r\n")
    status, _, body = _raw_exchange(server, head, [b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n\r\n"])
    assert status == 201, body


def test_overlong_request_target_is_an_error_in_protocol_shape(api):
    r = api("GET", "/app-instances?next-token=" + "x" * 9000)
    assert_error(r, "BadRequestException")


def test_keep_alive_survives_errors(server, account):
    import http.client
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    from conftest import auth_header
    h = {"Content-Type": "application/json", "Authorization": auth_header(account)}
    try:
        for body, status in ((b"{", 400), (b"[]", 400), (json.dumps({"Name": "k", "ClientRequestToken": uuid.uuid4().hex}).encode(), 201)):
            conn.request("POST", "/app-instances", body=body, headers=h)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == status
        conn.request("GET", "/nope", headers=h)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 404
        conn.request("GET", "/app-instances", headers=h)
        resp = conn.getresponse()
        assert resp.status == 200 and len(json.loads(resp.read())["AppInstances"]) == 1
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/app-instances/%ZZ", "/app-instances/%C3%28", "/app-instance-users/%FF/endpoints"])
def test_bad_percent_encoding_is_an_error_in_protocol_shape(api, path):
    r = api("GET", path)
    assert r.status in (400, 404), r
    assert r.header("x-amzn-ErrorType") in ("BadRequestException", "UnknownOperationException"), r
    assert "Message" in r.json()
