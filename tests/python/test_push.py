"""Push notifications of Chime SDK Messaging through boto3 (docs/behaviour.md, "Push notifications"): a
PERSISTENT SendChannelMessage with PushNotification writes, in its own transaction, one outbox entry per
member (when its preferences stop the push or it has no endpoint) or per endpoint of a member user, read
back through `GET /_carillon/push-outbox`. Every row of the decision table has its test; failure markers
(`/_carillon/push-failures`) make pushes FAIL and turn the endpoint INACTIVE."""
import hashlib
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from carillon_util import pinpoint_arn, register_endpoint
from conftest import new_account, quote


def error_of(exc_info):
    e = exc_info.value.response
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"]


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def chat(server, account):
    return server.messaging(account)


@pytest.fixture
def world(client, chat):
    """An AppInstance with users ana, bo, cy and a bot, and a channel of ana's that all of them are members of."""
    instance = client.create_app_instance(Name="push", ClientRequestToken="t-instance")["AppInstanceArn"]
    w = {"instance": instance}
    for uid in ("ana", "bo", "cy"):
        w[uid] = client.create_app_instance_user(
            AppInstanceArn=instance, AppInstanceUserId=uid, Name=uid.title(), ClientRequestToken=f"t-{uid}"
        )["AppInstanceUserArn"]
    w["bot"] = client.create_app_instance_bot(
        AppInstanceArn=instance, Name="helper", ClientRequestToken="t-bot",
        Configuration={"Lex": {"LexBotAliasArn": "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST",
                               "LocaleId": "en_US", "RespondsTo": "STANDARD_MESSAGES"}},
    )["AppInstanceBotArn"]
    w["channel"] = chat.create_channel(AppInstanceArn=instance, Name="room", ChimeBearer=w["ana"])["ChannelArn"]
    for member in ("bo", "cy", "bot"):
        chat.create_channel_membership(ChannelArn=w["channel"], MemberArn=w[member], Type="DEFAULT", ChimeBearer=w["ana"])
    return w


def send(chat, world, push=None, bearer="ana", **kw):
    if push is not None:
        kw["PushNotification"] = push
    return chat.send_channel_message(
        ChannelArn=world["channel"], Content="hello", Type="STANDARD", Persistence=kw.pop("Persistence", "PERSISTENT"),
        ChimeBearer=world[bearer], **kw,
    )["MessageId"]


def outbox(server, **filters):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in filters.items())
    status, body = server.control("GET", "/_carillon/push-outbox" + (f"?{query}" if query else ""))
    assert status == 200, (status, body)
    return body["Entries"]


def by_recipient(server, world, message_id):
    """The message's entries, keyed by the recipient's user id, each a list in outbox order."""
    names = {world[k]: k for k in ("ana", "bo", "cy", "bot")}
    out = {}
    for e in outbox(server, **{"message-id": message_id}):
        out.setdefault(names[e["RecipientArn"]], []).append(e)
    return out


def outcome(entry):
    return entry["Outcome"], entry.get("Reason")


def endpoint_state(client, user_arn, endpoint_id):
    e = client.describe_app_instance_user_endpoint(AppInstanceUserArn=user_arn, EndpointId=endpoint_id)["AppInstanceUserEndpoint"]
    return e["EndpointState"]


def test_delivered_to_every_member_user_sender_included_with_the_payload(server, client, chat, world):
    tokens = {uid: f"tok-{uid}-{uuid.uuid4().hex}" for uid in ("ana", "bo", "cy")}
    app = pinpoint_arn(world["instance"].split(":")[4], app_id="push0app")
    endpoints = {uid: register_endpoint(client, world[uid], device_token=tokens[uid], resource_arn=app) for uid in tokens}
    message_id = send(chat, world, {"Title": "New", "Body": "You have mail", "Type": "DEFAULT"})
    got = by_recipient(server, world, message_id)
    assert set(got) == {"ana", "bo", "cy"}, "the sender is included; the bot gets no entry"
    for uid, (entry,) in got.items():
        assert outcome(entry) == ("DELIVERED", None)
        assert "Reason" not in entry
        assert entry["EndpointId"] == endpoints[uid]
        assert entry["EndpointType"] == "APNS"
        assert entry["DeviceTokenSha256"] == sha256(tokens[uid])
        assert (entry["ChannelArn"], entry["MessageId"], entry["SenderArn"]) == (world["channel"], message_id, world["ana"])
        assert (entry["AppInstanceArn"], entry["AccountId"], entry["Region"]) == (world["instance"], world["instance"].split(":")[4], "us-east-1")
        assert entry["ResourceArn"] == app
        assert (entry["PushType"], entry["Title"], entry["Body"]) == ("DEFAULT", "New", "You have mail")
        assert isinstance(entry["Id"], int) and isinstance(entry["Time"], float)
        payload = entry["Payload"]
        assert payload["pinpoint.notification.title"] == "New" and payload["pinpoint.notification.body"] == "You have mail"
        assert json.loads(payload["pinpoint.jsonBody"]) == {"chime.message_id": message_id, "chime.channel_arn": world["channel"]}
    # Raw device tokens never appear.
    text = server.raw("GET", "/_carillon/push-outbox").body.decode("utf-8")
    assert not any(t in text for t in tokens.values())


def test_an_empty_push_is_default_without_title_or_body(server, client, chat, world):
    register_endpoint(client, world["bo"])
    message_id = send(chat, world, {})
    (entry,) = by_recipient(server, world, message_id)["bo"]
    assert (entry["PushType"], outcome(entry)) == ("DEFAULT", ("DELIVERED", None))
    assert "Title" not in entry and "Body" not in entry
    assert set(entry["Payload"]) == {"pinpoint.jsonBody"}


def test_preference_none_and_filter_rules_come_before_the_endpoints(server, client, chat, world):
    for uid in ("bo", "cy"):
        register_endpoint(client, world[uid])
        register_endpoint(client, world[uid])
    chat.put_channel_membership_preferences(
        ChannelArn=world["channel"], MemberArn=world["bo"], ChimeBearer=world["bo"],
        Preferences={"PushNotifications": {"AllowNotifications": "NONE"}},
    )
    rule = json.dumps({"mention": ["cy", "all"], "team": [{"anything-but": ["ops"]}]})
    chat.put_channel_membership_preferences(
        ChannelArn=world["channel"], MemberArn=world["cy"], ChimeBearer=world["cy"],
        Preferences={"PushNotifications": {"AllowNotifications": "FILTERED", "FilterRule": rule}},
    )
    message_id = send(chat, world, {"Type": "DEFAULT"}, MessageAttributes={"mention": {"StringValues": ["bo"]}})
    got = by_recipient(server, world, message_id)
    # One entry each, without an endpoint, however many endpoints the member has.
    assert [outcome(e) for e in got["bo"]] == [("SKIPPED", "MEMBERSHIP_PREFERENCE_NONE")]
    assert [outcome(e) for e in got["cy"]] == [("SKIPPED", "FILTER_RULE_NO_MATCH")]
    assert "EndpointId" not in got["bo"][0] and "EndpointId" not in got["cy"][0]
    assert [outcome(e) for e in got["ana"]] == [("SKIPPED", "NO_ENDPOINT")]

    # A matching message reaches both of cy's endpoints; anything-but refuses a listed value.
    message_id = send(chat, world, {}, MessageAttributes={"mention": {"StringValues": ["all"]}, "team": {"StringValues": ["dev"]}})
    assert [outcome(e) for e in by_recipient(server, world, message_id)["cy"]] == [("DELIVERED", None)] * 2
    message_id = send(chat, world, {}, MessageAttributes={"mention": {"StringValues": ["all"]}, "team": {"StringValues": ["ops"]}})
    assert [outcome(e) for e in by_recipient(server, world, message_id)["cy"]] == [("SKIPPED", "FILTER_RULE_NO_MATCH")]


def test_no_endpoint_and_bots(server, chat, world):
    message_id = send(chat, world, {"Title": "t"})
    got = by_recipient(server, world, message_id)
    assert {uid: [outcome(e) for e in entries] for uid, entries in got.items()} == {
        uid: [("SKIPPED", "NO_ENDPOINT")] for uid in ("ana", "bo", "cy")
    }
    assert all("EndpointId" not in e[0] and "DeviceTokenSha256" not in e[0] for e in got.values())


def test_endpoint_allow_messages_none_and_inactive(server, client, chat, world):
    muted = register_endpoint(client, world["bo"], AllowMessages="NONE")
    inactive = register_endpoint(client, world["cy"])
    status, _ = server.set_endpoint_state(world["cy"], inactive, "INACTIVE", "INVALID_DEVICE_TOKEN")
    assert status == 200
    message_id = send(chat, world, {"Body": "b"})
    got = by_recipient(server, world, message_id)
    assert [(e["EndpointId"], outcome(e)) for e in got["bo"]] == [(muted, ("SKIPPED", "ENDPOINT_ALLOW_MESSAGES_NONE"))]
    assert [(e["EndpointId"], outcome(e)) for e in got["cy"]] == [(inactive, ("SKIPPED", "ENDPOINT_INACTIVE"))]


def test_voip_needs_an_apns_voip_token(server, client, chat, world):
    gcm_token, plain_token = f"gcm-{uuid.uuid4().hex}", f"apns-{uuid.uuid4().hex}"
    voip_device, voip_token = f"dev-{uuid.uuid4().hex}", f"voip-{uuid.uuid4().hex}"
    gcm = register_endpoint(client, world["bo"], device_token=gcm_token, endpoint_type="GCM")
    plain = register_endpoint(client, world["bo"], device_token=plain_token)
    voip = register_endpoint(client, world["cy"], EndpointAttributes={"DeviceToken": voip_device, "VoipDeviceToken": voip_token})
    message_id = send(chat, world, {"Type": "VOIP", "Title": "call"})
    got = by_recipient(server, world, message_id)
    bo = {e["EndpointId"]: e for e in got["bo"]}
    assert outcome(bo[gcm]) == ("SKIPPED", "VOIP_NOT_SUPPORTED") and bo[gcm]["DeviceTokenSha256"] == sha256(gcm_token)
    assert outcome(bo[plain]) == ("SKIPPED", "VOIP_NOT_SUPPORTED") and bo[plain]["DeviceTokenSha256"] == sha256(plain_token)
    (cy,) = got["cy"]
    assert (cy["EndpointId"], outcome(cy), cy["PushType"]) == (voip, ("DELIVERED", None), "VOIP")
    assert cy["DeviceTokenSha256"] == sha256(voip_token), "a VOIP push goes to the VoipDeviceToken"
    # The same endpoint gets a DEFAULT push on its DeviceToken.
    message_id = send(chat, world, {"Type": "DEFAULT"})
    assert by_recipient(server, world, message_id)["cy"][0]["DeviceTokenSha256"] == sha256(voip_device)


def test_a_failing_token_fails_and_turns_the_endpoint_inactive_until_the_marker_goes(server, client, chat, world):
    token = f"bad-{uuid.uuid4().hex}"
    endpoint = register_endpoint(client, world["bo"], device_token=token)
    status, body = server.control("PUT", "/_carillon/push-failures", {"DeviceToken": token, "StatusReason": "INVALID_DEVICE_TOKEN"})
    assert (status, body) == (200, {"Marker": {"DeviceTokenSha256": sha256(token), "StatusReason": "INVALID_DEVICE_TOKEN"}})
    status, body = server.control("GET", "/_carillon/push-failures")
    assert status == 200 and {"DeviceTokenSha256": sha256(token), "StatusReason": "INVALID_DEVICE_TOKEN"} in body["Markers"]
    assert token not in json.dumps(body)

    first = send(chat, world, {"Body": "1"})
    assert [outcome(e) for e in by_recipient(server, world, first)["bo"]] == [("FAILED", "INVALID_DEVICE_TOKEN")]
    assert endpoint_state(client, world["bo"], endpoint) == {"Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}

    second = send(chat, world, {"Body": "2"})
    assert [outcome(e) for e in by_recipient(server, world, second)["bo"]] == [("SKIPPED", "ENDPOINT_INACTIVE")]

    # Only the control plane makes it ACTIVE again, and while the marker exists the next push fails again.
    assert server.set_endpoint_state(world["bo"], endpoint, "ACTIVE")[0] == 200
    third = send(chat, world, {"Body": "3"})
    assert [outcome(e) for e in by_recipient(server, world, third)["bo"]] == [("FAILED", "INVALID_DEVICE_TOKEN")]
    assert endpoint_state(client, world["bo"], endpoint)["Status"] == "INACTIVE"

    status, body = server.control("DELETE", "/_carillon/push-failures")
    assert status == 200 and body["deleted"] >= 1
    assert server.control("GET", "/_carillon/push-failures") == (200, {"Markers": []})
    assert server.set_endpoint_state(world["bo"], endpoint, "ACTIVE")[0] == 200
    fourth = send(chat, world, {"Body": "4"})
    assert [outcome(e) for e in by_recipient(server, world, fourth)["bo"]] == [("DELIVERED", None)]


def test_a_failing_pinpoint_app_fails_its_endpoints_with_the_markers_reason(server, client, chat, world):
    account = world["instance"].split(":")[4]
    app = pinpoint_arn(account, app_id=uuid.uuid4().hex)
    endpoint = register_endpoint(client, world["cy"], resource_arn=app)
    status, body = server.control("PUT", "/_carillon/push-failures", {"ResourceArn": app, "StatusReason": "INVALID_PINPOINT_ARN"})
    assert (status, body) == (200, {"Marker": {"ResourceArn": app, "StatusReason": "INVALID_PINPOINT_ARN"}})
    message_id = send(chat, world, {})
    assert [outcome(e) for e in by_recipient(server, world, message_id)["cy"]] == [("FAILED", "INVALID_PINPOINT_ARN")]
    assert endpoint_state(client, world["cy"], endpoint) == {"Status": "INACTIVE", "StatusReason": "INVALID_PINPOINT_ARN"}
    assert server.control("DELETE", "/_carillon/push-failures")[0] == 200


def test_hidden_members_are_included(server, client, chat, world, account):
    dee = client.create_app_instance_user(AppInstanceArn=world["instance"], AppInstanceUserId="dee", Name="Dee", ClientRequestToken="t-dee")[
        "AppInstanceUserArn"
    ]
    chat.create_channel_membership(ChannelArn=world["channel"], MemberArn=dee, Type="HIDDEN", ChimeBearer=world["ana"])
    register_endpoint(client, dee)
    message_id = send(chat, world, {})
    entries = outbox(server, **{"message-id": message_id, "recipient-arn": dee})
    assert [outcome(e) for e in entries] == [("DELIVERED", None)]


def test_non_persistent_messages_and_replays_push_nothing(server, client, chat, world):
    register_endpoint(client, world["bo"])
    send(chat, world, {"Title": "ephemeral"}, Persistence="NON_PERSISTENT")
    assert outbox(server, **{"channel-arn": world["channel"]}) == []
    first = send(chat, world, {"Title": "once"}, ClientRequestToken="same-token")
    before = outbox(server, **{"channel-arn": world["channel"]})
    assert len(before) == 3
    assert send(chat, world, {"Title": "once"}, ClientRequestToken="same-token") == first
    assert outbox(server, **{"channel-arn": world["channel"]}) == before
    # Without PushNotification nothing is pushed either.
    send(chat, world)
    assert outbox(server, **{"channel-arn": world["channel"]}) == before


def test_outbox_filters_after_id_and_delete(server, client, chat, world):
    register_endpoint(client, world["bo"])
    m1 = send(chat, world, {})
    m2 = send(chat, world, {})
    mine = outbox(server, **{"channel-arn": world["channel"]})
    assert [e["MessageId"] for e in mine] == [m1] * 3 + [m2] * 3
    assert [e["Id"] for e in mine] == sorted(e["Id"] for e in mine), "oldest first"
    later = outbox(server, **{"channel-arn": world["channel"], "after-id": mine[2]["Id"]})
    assert later == mine[3:]
    assert [e["RecipientArn"] for e in outbox(server, **{"channel-arn": world["channel"], "recipient-arn": world["bo"]})] == [world["bo"]] * 2

    status, body = server.control("DELETE", f"/_carillon/push-outbox?message-id={m1}")
    assert (status, body) == (200, {"deleted": 3})
    assert outbox(server, **{"channel-arn": world["channel"]}) == mine[3:]
    for bad in ("after-id=-1", "after-id=x", "limit=5"):
        status, body = server.control("GET", f"/_carillon/push-outbox?{bad}")
        assert status == 400 and "Message" in body, (bad, body)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"DeviceToken": "t"},
        {"DeviceToken": "t", "StatusReason": "BROKEN"},
        {"DeviceToken": "t", "ResourceArn": "arn:x", "StatusReason": "INVALID_DEVICE_TOKEN"},
        {"DeviceToken": 7, "StatusReason": "INVALID_DEVICE_TOKEN"},
        {"DeviceToken": "t", "StatusReason": "INVALID_DEVICE_TOKEN", "Other": 1},
        [],
    ],
)
def test_bad_marker_bodies_are_400(server, body):
    status, answer = server.control("PUT", "/_carillon/push-failures", body)
    assert status == 400 and answer["Code"] == "BadRequest", answer


def test_the_outbox_keeps_the_newest_entries(make_server):
    srv = make_server(["--push-outbox-limit", "4"])
    acct = new_account()
    client, chat = srv.client(acct), srv.messaging(acct)
    instance = client.create_app_instance(Name="p", ClientRequestToken="tt")["AppInstanceArn"]
    ana = client.create_app_instance_user(AppInstanceArn=instance, AppInstanceUserId="ana", Name="A", ClientRequestToken="tt")[
        "AppInstanceUserArn"
    ]
    channel = chat.create_channel(AppInstanceArn=instance, Name="r", ChimeBearer=ana)["ChannelArn"]
    ids = [
        chat.send_channel_message(ChannelArn=channel, Content="x", Type="STANDARD", Persistence="PERSISTENT", ChimeBearer=ana,
                                  PushNotification={})["MessageId"]
        for _ in range(6)
    ]
    status, body = srv.control("GET", "/_carillon/push-outbox")
    assert status == 200 and [e["MessageId"] for e in body["Entries"]] == ids[2:]


def test_reset_removes_the_scopes_outbox_entries(make_server):
    srv = make_server()
    acct = new_account()
    client, chat = srv.client(acct), srv.messaging(acct)
    instance = client.create_app_instance(Name="p", ClientRequestToken="tt")["AppInstanceArn"]
    ana = client.create_app_instance_user(AppInstanceArn=instance, AppInstanceUserId="ana", Name="A", ClientRequestToken="tt")[
        "AppInstanceUserArn"
    ]
    channel = chat.create_channel(AppInstanceArn=instance, Name="r", ChimeBearer=ana)["ChannelArn"]
    chat.send_channel_message(ChannelArn=channel, Content="x", Type="STANDARD", Persistence="PERSISTENT", ChimeBearer=ana, PushNotification={})
    assert srv.control("PUT", "/_carillon/push-failures", {"DeviceToken": "z", "StatusReason": "INVALID_DEVICE_TOKEN"})[0] == 200
    status, body = srv.control("POST", "/_carillon/reset", {"AppInstanceArn": instance})
    assert status == 200 and (body["Deleted"]["PushOutboxEntries"], body["Deleted"]["PushFailureMarkers"]) == (1, 0)
    status, body = srv.control("POST", "/_carillon/reset", {})
    assert status == 200 and (body["Deleted"]["PushOutboxEntries"], body["Deleted"]["PushFailureMarkers"]) == (0, 1)
    assert srv.control("GET", "/_carillon/push-outbox") == (200, {"Entries": []})


def filter_rule_put(chat, world, rule):
    return chat.put_channel_membership_preferences(
        ChannelArn=world["channel"], MemberArn=world["bo"], ChimeBearer=world["bo"],
        Preferences={"PushNotifications": {"AllowNotifications": "FILTERED", "FilterRule": rule}},
    )


def test_filter_rule_limits_at_put(chat, world):
    values = lambda n: [str(i) for i in range(n)]  # noqa: E731
    ok = [
        {"a": values(19)},  # complexity 20
        {"x": ["1"], "$or": [{"a": ["1"]}, {"b": ["2"]}, {"c": ["3"]}, {"d": ["4"]}, {"e": ["5"]}]},
    ]
    for rule in ok:
        filter_rule_put(chat, world, json.dumps(rule))
    bad = [
        "{}",
        "not json",
        json.dumps({"a": values(20)}),  # complexity 21
        json.dumps({"$or": [{"a": ["1"]}]}),
        json.dumps({"$or": [{"a": ["1"]}] * 6}),
        json.dumps({"$or": [{"a": ["1"]}, {"$or": [{"b": ["1"]}, {"c": ["1"]}]}]}),
        json.dumps({"a": [{"prefix": "x"}]}),
        json.dumps({"a": []}),
        json.dumps({"a": ["x" * 2100]}),
        json.dumps({"$or": [{"a": values(8)}, {"b": values(8)}], "c": ["1", "2"]}),  # 3 names + 18 values
        # A key written twice: a JSON reader would keep one "$or" silently.
        '{"$or": [{"a": ["1"]}, {"b": ["2"]}], "a": ["x"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}',
    ]
    for rule in bad:
        with pytest.raises(ClientError) as e:
            filter_rule_put(chat, world, rule)
        assert error_of(e) == (400, "BadRequestException"), rule
