"""The developer's workflow through boto3 (docs/behaviour.md, "Control plane"): reset between tests, global and
scoped, and injected faults that the SDK meets exactly as it would meet real ones."""
import time
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from conftest import _SESSION, SERVICE, auth_header, new_account, quote
from carillon_util import create_app_instance, create_bot, create_user, raises, register_endpoint


KINDS = ("AppInstances", "AppInstanceUsers", "AppInstanceBots", "AppInstanceAdmins", "AppInstanceUserEndpoints")
# Kinds these tests never create: always counted, always 0 here.
OTHER_KINDS = ("Channels", "ChannelMemberships", "ChannelModerators", "ChannelMessages", "PushOutboxEntries", "PushFailureMarkers")


def counts(app_instances=0, users=0, bots=0, admins=0, endpoints=0):
    deleted = dict(zip(KINDS, (app_instances, users, bots, admins, endpoints)))
    return {"Deleted": {**deleted, **dict.fromkeys(OTHER_KINDS, 0)}}


def reset(server, body=None):
    status, answer = server.control("POST", "/_carillon/reset", body)
    assert status == 200, answer
    return answer


def set_faults(server, body):
    status, answer = server.control("PUT", "/_carillon/faults", body)
    assert status == 200, answer
    return answer


def populate(client):
    """One AppInstance with a user (an endpoint, an admin role) and a bot (an admin role): 1, 1, 1, 2, 1."""
    app = create_app_instance(client, "app")
    user = create_user(client, app)
    bot = create_bot(client, app)
    register_endpoint(client, user)
    client.create_app_instance_admin(AppInstanceAdminArn=user, AppInstanceArn=app)
    client.create_app_instance_admin(AppInstanceAdminArn=bot, AppInstanceArn=app)
    return app


def names(client):
    return [a["Name"] for a in client.list_app_instances()["AppInstances"]]


def sdk_client(server, account, mode, attempts):
    """A client whose retry mode is `mode`, making at most `attempts` attempts in all."""
    return _SESSION.client(
        SERVICE,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=account,
        aws_secret_access_key="x",
        config=Config(retries={"mode": mode, "total_max_attempts": attempts}),
    )


@pytest.fixture(autouse=True)
def no_faults_left(server):
    yield
    server.control("DELETE", "/_carillon/faults")


# -- reset -------------------------------------------------------------------------------------------------


def test_a_global_reset_empties_every_account_and_restarts_clock_and_faults(server, make_client):
    reset(server)
    first, second = make_client(), make_client()
    populate(first)
    populate(second)
    server.set_clock_offset(3600)
    set_faults(server, {"Rules": [{"Operation": "*", "Account": new_account(), "Count": 1, "Reset": True}]})

    assert reset(server) == counts(2, 2, 2, 4, 2)
    assert names(first) == [] and names(second) == []
    assert server.control("GET", "/_carillon/clock") == (200, {"offset_seconds": 0})
    assert server.control("GET", "/_carillon/faults")[1]["Rules"] == []
    # No body and {} are the same global reset; nothing is left to count.
    assert reset(server, {}) == counts()
    # The same names can be used again at once.
    populate(first)
    assert names(first) == ["app"]


def test_reset_between_tests_leaves_a_clean_account(server, client):
    app = populate(client)
    client.tag_resource(ResourceARN=app, Tags=[{"Key": "k", "Value": "v"}])
    assert reset(server, {"Account": client._request_signer._credentials.access_key}) == counts(1, 1, 1, 2, 1)
    assert names(client) == []
    with pytest.raises(ClientError):
        client.describe_app_instance(AppInstanceArn=app)
    # An idempotency token of the reset account can be used for a new resource.
    token = uuid.uuid4().hex
    arn = client.create_app_instance(Name="again", ClientRequestToken=token)["AppInstanceArn"]
    assert arn != app and names(client) == ["again"]


def test_an_account_reset_leaves_other_accounts_and_keeps_clock_and_faults(server, make_client):
    mine, theirs = new_account(), new_account()
    me, them = make_client(mine), make_client(theirs)
    me_west = make_client(mine, region="us-west-2")
    populate(me)
    populate(me_west)
    kept = populate(them)
    server.set_clock_offset(60)
    rule = {"Operation": "DescribeAppInstanceBot", "Account": new_account(), "Count": 1, "LatencyMs": 1}
    set_faults(server, {"Rules": [rule]})
    try:
        # Account alone covers every region.
        assert reset(server, {"Account": mine}) == counts(2, 2, 2, 4, 2)
        assert names(me) == [] and names(me_west) == []
        assert names(them) == ["app"]
        assert them.describe_app_instance(AppInstanceArn=kept)["AppInstance"]["Name"] == "app"
        assert len(them.list_app_instance_users(AppInstanceArn=kept)["AppInstanceUsers"]) == 1
        assert server.control("GET", "/_carillon/clock") == (200, {"offset_seconds": 60})
        assert len(server.control("GET", "/_carillon/faults")[1]["Rules"]) == 1
    finally:
        server.set_clock_offset(0)


def test_a_region_reset_covers_every_account_of_that_region(server, make_client):
    east, west, other_west = make_client(), make_client(region="eu-west-3"), make_client(region="eu-west-3")
    populate(east)
    populate(west)
    populate(other_west)
    assert reset(server, {"Region": "eu-west-3"}) == counts(2, 2, 2, 4, 2)
    assert names(west) == [] and names(other_west) == []
    assert names(east) == ["app"]


def test_an_app_instance_reset_leaves_its_siblings(server, client):
    doomed = populate(client)
    sibling = create_app_instance(client, "sibling")
    create_user(client, sibling)
    account = client._request_signer._credentials.access_key
    assert reset(server, {"AppInstanceArn": doomed, "Account": account, "Region": "us-east-1"}) == counts(1, 1, 1, 2, 1)
    assert names(client) == ["sibling"]
    assert len(client.list_app_instance_users(AppInstanceArn=sibling)["AppInstanceUsers"]) == 1
    assert reset(server, {"AppInstanceArn": doomed}) == counts()


@pytest.mark.parametrize("body", [
    "{",
    "[]",
    '{"Account": "1234"}',
    '{"Account": 123456789012}',
    '{"Region": "US-EAST-1"}',
    '{"Region": ""}',
    '{"AppInstanceArn": "arn:aws:chime:us-east-1:123456789012:app-instance/a/user/b"}',
    '{"AppInstanceArn": "not an arn"}',
    '{"AppInstanceArn": "arn:aws:chime:us-east-1:123456789012:app-instance/a", "Account": "210987654321"}',
    '{"AppInstanceArn": "arn:aws:chime:us-east-1:123456789012:app-instance/a", "Region": "us-west-2"}',
    '{"Accounts": "123456789012"}',
])
def test_a_bad_reset_body_is_a_400_and_deletes_nothing(server, client, body):
    populate(client)
    r = server.raw("POST", "/_carillon/reset", body=body, headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert r.header("x-amzn-ErrorType") == "BadRequestException"
    assert names(client) == ["app"]


# -- faults ------------------------------------------------------------------------------------------------


def test_standard_retries_an_injected_503_and_succeeds_on_the_third_try(server, account):
    client = sdk_client(server, account, "standard", 3)
    set_faults(server, {"Seed": 1, "Rules": [
        {"Operation": "ListAppInstances", "Account": account, "Count": 2, "Error": "ServiceUnavailableException"},
    ]})
    resp = client.list_app_instances()
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2
    status, faults = server.control("GET", "/_carillon/faults")
    assert faults["Seed"] == 1 and faults["Rules"][0]["Fired"] == 2
    assert faults["Rules"][0]["Error"] == "ServiceUnavailableException"


def test_legacy_retries_an_injected_429_and_standard_does_not(server, account):
    rules = {"Rules": [{"Operation": "ListAppInstances", "Account": account, "Count": 2, "Error": "ThrottledClientException",
                        "Message": "Slow down."}]}
    set_faults(server, rules)
    legacy = sdk_client(server, account, "legacy", 3)
    assert legacy.list_app_instances()["ResponseMetadata"]["RetryAttempts"] == 2

    set_faults(server, rules)
    standard = sdk_client(server, account, "standard", 3)
    with raises(standard, "ThrottledClientException", 429, "Slow down.") as info:
        standard.list_app_instances()
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert server.control("GET", "/_carillon/faults")[1]["Rules"][0]["Fired"] == 1


def test_an_injected_error_is_a_real_one_but_for_the_request_id(server, client, account):
    app = create_app_instance(client)
    path = f"/app-instance-bots/{quote(app + '/bot/' + str(uuid.uuid4()))}"
    headers = {"Authorization": auth_header(account)}
    real = server.raw("GET", path, headers=headers)
    assert real.status == 404 and real.header("x-amzn-ErrorType") == "NotFoundException", real
    set_faults(server, {"Rules": [{"Operation": "DescribeAppInstanceBot", "Account": account, "Count": 1,
                                   "Error": "NotFoundException", "Message": real.json()["Message"]}]})
    injected = server.raw("GET", path, headers=headers)
    assert server.control("GET", "/_carillon/faults")[1]["Rules"][0]["Fired"] == 1, "the fault answered"
    assert (injected.status, injected.body) == (real.status, real.body)

    def comparable(r):
        return sorted((k.lower(), v) for k, v in r.headers.items() if k.lower() not in ("x-amzn-requestid", "date"))

    assert comparable(injected) == comparable(real)
    assert injected.header("x-amzn-RequestId") != real.header("x-amzn-RequestId")
    # The rule is spent: an existing bot is described again.
    bot = create_bot(client, app)
    assert client.describe_app_instance_bot(AppInstanceBotArn=bot)["AppInstanceBot"]["AppInstanceBotArn"] == bot


def test_an_injected_error_on_a_write_changes_nothing(server, client, account):
    app = create_app_instance(client, "before")
    set_faults(server, {"Rules": [
        {"Operation": "UpdateAppInstance", "Account": account, "EveryNth": 1, "Error": "ServiceFailureException"},
        {"Operation": "CreateAppInstance", "Account": account, "EveryNth": 1, "Error": "ConflictException"},
        {"Operation": "DeleteAppInstance", "Account": account, "EveryNth": 1, "Error": "ThrottledClientException"},
    ]})
    with raises(client, "ServiceFailureException", 500):
        client.update_app_instance(AppInstanceArn=app, Name="after", Metadata="m")
    with raises(client, "ConflictException", 409):
        client.create_app_instance(Name="other", ClientRequestToken=uuid.uuid4().hex)
    with raises(client, "ThrottledClientException", 429):
        client.delete_app_instance(AppInstanceArn=app)
    server.control("DELETE", "/_carillon/faults")
    assert names(client) == ["before"]
    assert client.describe_app_instance(AppInstanceArn=app)["AppInstance"]["Name"] == "before"


def test_a_reset_rule_makes_the_sdk_raise_a_connection_error(server, client, account):
    once = sdk_client(server, account, "standard", 1)
    set_faults(server, {"Rules": [{"Operation": "CreateAppInstance", "Account": account, "Count": 1, "Reset": True}]})
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        once.create_app_instance(Name="lost", ClientRequestToken=uuid.uuid4().hex)
    assert names(client) == []
    assert server.control("GET", "/_carillon/faults")[1]["Rules"][0]["Fired"] == 1
    # The server goes on answering.
    assert create_app_instance(client, "kept")


def firing_sequence(server, account, seed, n=24):
    """Which of `n` requests (one attempt each) a rule of probability 0.5 failed."""
    client = sdk_client(server, account, "standard", 1)
    set_faults(server, {"Seed": seed, "Rules": [{"Operation": "ListAppInstances", "Account": account,
                                                  "Probability": 0.5, "Error": "ServiceUnavailableException"}]})
    fired = []
    for _ in range(n):
        try:
            client.list_app_instances()
            fired.append(False)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ServiceUnavailableException"
            fired.append(True)
    assert server.control("GET", "/_carillon/faults")[1]["Rules"][0]["Fired"] == sum(fired)
    return fired


def test_the_same_seed_gives_the_same_firing_sequence(server, account):
    first = firing_sequence(server, account, 42)
    assert True in first and False in first
    assert firing_sequence(server, account, 42) == first
    assert firing_sequence(server, account, 43) != first


def test_every_nth_and_latency(server, client, account):
    set_faults(server, {"Rules": [{"Operation": "ListAppInstances", "Account": account, "EveryNth": 3, "LatencyMs": 300}]})
    took = []
    for _ in range(6):
        started = time.monotonic()
        client.list_app_instances()
        took.append(time.monotonic() - started)
    slow = [t >= 0.3 for t in took]
    assert slow == [False, False, True, False, False, True], took
    assert server.control("GET", "/_carillon/faults")[1]["Rules"][0]["Fired"] == 2


def test_fault_rules_are_listed_and_cleared(server):
    rule = {"Operation": "*", "Account": new_account(), "Probability": 0.25, "Error": "ServiceFailureException"}
    answer = set_faults(server, {"Seed": 9, "Rules": [rule]})
    assert answer == {"Seed": 9, "Rules": [dict(rule, Fired=0)]}
    assert server.control("GET", "/_carillon/faults") == (200, answer)
    status, cleared = server.control("DELETE", "/_carillon/faults")
    assert status == 200 and cleared["Rules"] == []


@pytest.mark.parametrize("body", [
    {"Rules": [{"Operation": "*", "Count": 1, "Error": "NotFoundException"}]},
    {"Rules": [{"Operation": "ListAppInstances", "Count": 1, "Error": "NotFoundException"}]},
    {"Rules": [{"Operation": "NoSuchOperation", "Count": 1, "Reset": True}]},
    {"Rules": [{"Operation": "*", "Count": 1, "EveryNth": 2, "Reset": True}]},
    {"Rules": [{"Operation": "*", "Reset": True}]},
    {"Rules": [{"Operation": "*", "Count": 1}]},
    {"Rules": [{"Operation": "*", "Count": 1, "Reset": True, "LatencyMs": 5}]},
    {"Rules": [{"Operation": "*", "Probability": 2, "Reset": True}]},
    {"Rules": [{"Operation": "*", "Count": -1, "Reset": True}]},
    {"Rules": [{"Count": 1, "Reset": True}]},
    {"Seed": "x", "Rules": []},
    {"Rules": {}},
])
def test_a_bad_fault_rule_is_a_400_and_keeps_the_rules(server, body):
    kept = set_faults(server, {"Rules": [{"Operation": "*", "Account": new_account(), "Count": 1, "Reset": True}]})
    r = server.raw("PUT", "/_carillon/faults", body=body)
    assert r.status == 400 and r.header("x-amzn-ErrorType") == "BadRequestException", r
    assert server.control("GET", "/_carillon/faults") == (200, kept)


def test_a_reset_takes_the_journal_entries_of_its_scope(server):
    a, b = new_account(), new_account()
    create_app_instance(server.client(a), "journaled")
    create_app_instance(server.client(b), "kept")

    def accounts():
        status, body = server.control("GET", "/_carillon/requests?limit=1000")
        assert status == 200, body
        return {e["AccountId"] for e in body["Requests"]}

    assert {a, b} <= accounts()
    reset(server, {"Account": a})
    assert a not in accounts() and b in accounts()
    reset(server)
    assert accounts() == set()
