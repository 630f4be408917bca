"""Further rules of docs/behaviour.md through boto3 and raw HTTP: check order, idempotency scope, quotas by configuration,
transactions under concurrent requests, and timestamps."""
import concurrent.futures
import threading
import uuid


from conftest import quote
from carillon_util import (
    create_app_instance,
    create_user,
    pinpoint_arn,
    raises,
    register_endpoint,
    status_of,
    token,
)


# -- order: authentication, routing, binding and type checks, constraints, existence and state -------------


def test_routing_before_binding(server, account):
    r = server.raw("POST", "/no-such-operation", b"{not json", {"Content-Type": "application/json"}, account=account)
    assert r.status == 404 and r.header("x-amzn-ErrorType") == "UnknownOperationException", r


def test_constraints_before_existence_and_ownership(raw_client, account):
    foreign = f"arn:aws:chime:us-east-1:999999999999:app-instance/{uuid.uuid4()}"
    missing = f"arn:aws:chime:us-east-1:{account}:app-instance/{uuid.uuid4()}"
    for arn in (foreign, missing):
        with raises(raw_client, "BadRequestException", 400, "at 'name' failed to satisfy constraint"):
            raw_client.update_app_instance(AppInstanceArn=arn, Name="x" * 257, Metadata="")
        with raises(raw_client, "BadRequestException", 400, "Value null at 'metadata'"):
            raw_client.update_app_instance(AppInstanceArn=arn, Name="x")


def test_several_violations_are_counted(server, account):
    r = server.raw("POST", "/app-instances", {}, account=account)
    assert r.status == 400, r
    msg = r.json()["Message"]
    assert msg.startswith("2 validation errors detected: "), msg
    assert "Value null at 'name' failed to satisfy constraint: Member must not be null" in msg
    assert "Value null at 'clientRequestToken' failed to satisfy constraint: Member must not be null" in msg
    assert msg.count("; ") == 1, msg
    r = server.raw("POST", "/app-instances", {"Name": "é" * 257, "ClientRequestToken": "x", "Metadata": "m" * 1025}, account=account)
    msg = r.json()["Message"]
    assert msg.startswith("3 validation errors detected: "), msg


def test_type_errors_before_constraints(server, account):
    r = server.raw("POST", "/app-instances", {"Name": 5, "ClientRequestToken": "x"}, account=account)
    assert r.status == 400 and r.header("x-amzn-ErrorType") == "BadRequestException", r


# -- idempotency scope ---------------------------------------------------------------------------------


def test_idempotency_is_per_operation_and_account(client, make_client):
    tok = token()
    app = create_app_instance(client, "tok", ClientRequestToken=tok)
    # The same token for another operation is another token.
    user = create_user(client, app, "u", ClientRequestToken=tok)
    assert user.endswith("/user/u")
    # The same token in another account makes a new AppInstance there.
    other = make_client()
    other_app = create_app_instance(other, "tok", ClientRequestToken=tok)
    assert other_app != app
    # And in another region of the same account.
    elsewhere = make_client(client._request_signer._credentials.access_key, region="eu-west-1")
    there = create_app_instance(elsewhere, "tok", ClientRequestToken=tok)
    assert ":eu-west-1:" in there and there != app
    assert len(client.list_app_instances()["AppInstances"]) == 1


def test_sdk_fills_in_the_token(client):
    """boto3 generates a ClientRequestToken when the caller leaves it out: two calls, two AppInstances."""
    a = client.create_app_instance(Name="auto")["AppInstanceArn"]
    b = client.create_app_instance(Name="auto")["AppInstanceArn"]
    assert a != b


# -- quotas from configuration -------------------------------------------------------------------------


def test_configured_quotas(make_server):
    srv = make_server(["--quota-app-instances", "2", "--quota-users", "2", "--quota-endpoints", "1", "--quota-tags", "2"])
    acct = f"{uuid.uuid4().int % 10**12:012d}"
    c = srv.client(acct)
    apps = [create_app_instance(c, "a"), create_app_instance(c, "b")]
    with raises(c, "ResourceLimitExceededException", 400):
        create_app_instance(c, "c")
    # The quota is per account and region.
    create_app_instance(srv.client(acct, region="us-west-2"), "west")
    users = [create_user(c, apps[0], "u1"), create_user(c, apps[0], "u2")]
    with raises(c, "ResourceLimitExceededException", 400):
        create_user(c, apps[0], "u3")
    create_user(c, apps[1], "u3")
    register_endpoint(c, users[0])
    with raises(c, "ResourceLimitExceededException", 400):
        register_endpoint(c, users[0])
    c.tag_resource(ResourceARN=apps[0], Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    with raises(c, "ResourceLimitExceededException", 400):
        c.tag_resource(ResourceARN=apps[0], Tags=[{"Key": "c", "Value": "3"}])
    with raises(c, "ResourceLimitExceededException", 400):
        create_app_instance(srv.client(acct, region="us-west-2"), "tags", Tags=[{"Key": str(i), "Value": "v"} for i in range(3)])
    # Freeing room makes room.
    c.delete_app_instance_user(AppInstanceUserArn=users[1])
    create_user(c, apps[0], "u4")


# -- one transaction per operation, under concurrent requests -------------------------------------------


def _parallel(n, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return ("ok", fn(i))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            resp = getattr(e, "response", None)
            if resp is None:
                return ("exception", repr(e))
            return (resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"])

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_registers_of_one_device_token(server, account):
    c = server.client(account)
    user = create_user(c, create_app_instance(c, "race"), "racer")
    clients = [server.client(account) for _ in range(12)]
    results = _parallel(12, lambda i: register_endpoint(clients[i], user, device_token="the-one-device"))
    oks = [r for r in results if r[0] == "ok"]
    assert len(oks) == 1, results
    assert all(r == ("ConflictException", 409) for r in results if r[0] != "ok"), results
    assert len(c.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]) == 1


def test_concurrent_registers_respect_the_quota(server, account):
    c = server.client(account)
    user = create_user(c, create_app_instance(c, "race"), "racer")
    clients = [server.client(account) for _ in range(16)]
    results = _parallel(16, lambda i: register_endpoint(clients[i], user))
    assert sum(r[0] == "ok" for r in results) == 10, results
    assert all(r == ("ResourceLimitExceededException", 400) for r in results if r[0] != "ok"), results
    assert len(c.list_app_instance_user_endpoints(AppInstanceUserArn=user, MaxResults=50)["AppInstanceUserEndpoints"]) == 10


def test_concurrent_replays_of_one_token(server, account):
    c = server.client(account)
    user = create_user(c, create_app_instance(c, "race"), "racer")
    tok = token()
    resource = pinpoint_arn(account)
    clients = [server.client(account) for _ in range(10)]

    def call(i):
        resp = clients[i].register_app_instance_user_endpoint(
            AppInstanceUserArn=user, Type="GCM", ResourceArn=resource, EndpointAttributes={"DeviceToken": "d"},
            ClientRequestToken=tok)
        return (status_of(resp), resp["EndpointId"])

    results = _parallel(10, call)
    assert all(r[0] == "ok" for r in results), results
    assert len({r[1] for r in results}) == 1, results
    assert {r[1][0] for r in results} == {201}
    assert len(c.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]) == 1


def test_concurrent_duplicate_user_ids(server, account):
    c = server.client(account)
    app = create_app_instance(c, "race")
    clients = [server.client(account) for _ in range(10)]
    results = _parallel(10, lambda i: create_user(clients[i], app, "same-id"))
    assert sum(r[0] == "ok" for r in results) == 1, results
    assert all(r == ("ConflictException", 409) for r in results if r[0] != "ok"), results


def test_delete_app_instance_while_registering(server, account):
    """A cascade is one transaction: nothing of the AppInstance survives, whatever ran beside it."""
    c = server.client(account)
    app = create_app_instance(c, "doomed")
    users = [create_user(c, app, f"u{i}") for i in range(4)]
    clients = [server.client(account) for _ in range(9)]

    def work(i):
        if i == 0:
            return c.delete_app_instance(AppInstanceArn=app)["ResponseMetadata"]["HTTPStatusCode"]
        return register_endpoint(clients[i], users[i % 4])

    results = _parallel(9, work)
    assert all(r[0] == "ok" or r == ("NotFoundException", 404) for r in results), results
    for u in users:
        with raises(c, "NotFoundException", 404):
            c.list_app_instance_user_endpoints(AppInstanceUserArn=u)
    # The user id can be used again in a new AppInstance with nothing left over.
    app2 = create_app_instance(c, "again")
    u = create_user(c, app2, "u1")
    assert c.list_app_instance_user_endpoints(AppInstanceUserArn=u)["AppInstanceUserEndpoints"] == []


# -- timestamps ---------------------------------------------------------------------------------------


def test_last_updated_moves_on_every_change(client):
    app = create_app_instance(client, "ts")
    user = create_user(client, app, "ts")
    before = client.describe_app_instance_user(AppInstanceUserArn=user)["AppInstanceUser"]
    client.put_app_instance_user_expiration_settings(
        AppInstanceUserArn=user, ExpirationSettings={"ExpirationDays": 10, "ExpirationCriterion": "CREATED_TIMESTAMP"})
    after = client.describe_app_instance_user(AppInstanceUserArn=user)["AppInstanceUser"]
    assert after["CreatedTimestamp"] == before["CreatedTimestamp"]
    assert after["LastUpdatedTimestamp"] > before["LastUpdatedTimestamp"]
    # Updates in quick succession still move it.
    stamps = []
    for i in range(5):
        client.update_app_instance(AppInstanceArn=app, Name=f"n{i}", Metadata="")
        stamps.append(client.describe_app_instance(AppInstanceArn=app)["AppInstance"]["LastUpdatedTimestamp"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 5, stamps


# -- raw paths --------------------------------------------------------------------------------------------


def test_colons_and_at_signs_may_travel_unencoded(server, account):
    c = server.client(account)
    app = create_app_instance(c, "raw")
    user = create_user(c, app, "user:a@b.c")
    raw_path = "/app-instance-users/" + user.replace("/", "%2F")
    assert ":" in raw_path and "@" in raw_path
    r = server.raw("GET", raw_path, account=account)
    assert r.status == 200, r
    assert r.json()["AppInstanceUser"]["AppInstanceUserArn"] == user
    r = server.raw("GET", "/tags?arn=" + quote(user), account=account)
    assert r.status == 200 and r.json() == {"Tags": []}, r


def test_request_id_is_logged(server, account):
    r = server.raw("GET", "/app-instances", account=account)
    rid = r.header("x-amzn-RequestId")
    import time
    deadline = time.monotonic() + 5
    while rid not in server.log_text():
        assert time.monotonic() < deadline, f"request id {rid} not in the server log"
        time.sleep(0.05)


# -- throttling ---------------------------------------------------------------------------------------


def test_no_throttling_by_default(server, account):
    c = server.client(account)
    app = create_app_instance(c, "busy")
    clients = [server.client(account) for _ in range(8)]
    results = _parallel(8, lambda i: [clients[i].describe_app_instance(AppInstanceArn=app) for _ in range(10)])
    assert all(r[0] == "ok" for r in results), results
    for _ in range(8):
        create_app_instance(c, "fast")


def test_aws_rate_profile(make_server):
    srv = make_server(["--throttle", "aws"])
    acct = f"{uuid.uuid4().int % 10**12:012d}"
    c = srv.client(acct)
    outcomes = []
    for i in range(25):  # CreateAppInstance: 5 per second per account
        try:
            create_app_instance(c, f"t{i}")
            outcomes.append("ok")
        except c.exceptions.ThrottledClientException as e:
            assert status_of(e) == 429
            assert e.response["Error"]["Code"] == "ThrottledClientException"
            outcomes.append("throttled")
    assert "throttled" in outcomes, "25 CreateAppInstance calls in a burst must exceed 5 per second"
    assert outcomes.count("ok") >= 5, outcomes
    # A throttled request changed nothing.
    assert len(c.list_app_instances()["AppInstances"]) == outcomes.count("ok")
    # Another account has its own budget.
    create_app_instance(srv.client(), "other account")
