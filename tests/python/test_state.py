"""State export and import, and seed files, through boto3 and the binary (docs/behaviour.md, "State and seeds").

The round trips run on whichever backend the suite runs on (SQLite, or PostgreSQL with CARILLON_TEST_BACKEND);
the offline SQLite -> PostgreSQL path needs CARILLON_TEST_POSTGRES_URL.
"""
import hashlib
import json
import os
import pathlib
import subprocess
import uuid

import pytest

from conftest import REPO, Server, carillon_bin, fresh_postgres_database, new_account
from carillon_util import account_of, create_app_instance, create_bot, create_user, lex_configuration, pinpoint_arn, register_endpoint

EXAMPLE_SEED = REPO / "examples" / "seed.yaml"
SEEDED_APP = "arn:aws:chime:us-east-1:111122223333:app-instance/5a2e0f4c-1b6d-4a8e-9c3f-7d1e2b3a4c5d"
SEEDED_BOT = SEEDED_APP + "/bot/9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"
# A device token only a push-failure marker names: no endpoint holds it, so no export may show it.
MARKED_TOKEN = f"marked-{uuid.uuid4().hex}"


def export(server):
    status, doc = server.control("GET", "/_carillon/state")
    assert status == 200, doc
    assert doc["Format"] == "carillon-state/1"
    return doc


def without_time(doc):
    return {k: v for k, v in doc.items() if k != "ExportedAt"}


def populate(client, server):
    """Two AppInstances with everything a state holds, made in an order that differs from any sort order."""
    apps = []
    for name in ("zeta", "alpha"):
        app = create_app_instance(client, name, Metadata=f"meta-{name}", Tags=[{"Key": "z", "Value": "1"}, {"Key": "a", "Value": "2"}])
        client.tag_resource(ResourceARN=app, Tags=[{"Key": "m", "Value": "3"}, {"Key": "z", "Value": "changed"}])
        apps.append(app)
    app = apps[0]
    client.put_app_instance_retention_settings(
        AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 42}}
    )
    client.put_app_instance_retention_settings(AppInstanceArn=apps[1], AppInstanceRetentionSettings={})
    users = [create_user(client, app, user_id, name=f"name-{user_id}") for user_id in ("u3", "u1", "u2")]
    client.put_app_instance_user_expiration_settings(
        AppInstanceUserArn=users[1], ExpirationSettings={"ExpirationDays": 5, "ExpirationCriterion": "CREATED_TIMESTAMP"}
    )
    client.update_app_instance_user(AppInstanceUserArn=users[2], Name="renamed", Metadata="m")
    client.tag_resource(ResourceARN=users[0], Tags=[{"Key": "k2", "Value": "v"}, {"Key": "k1", "Value": "v"}])
    endpoints = [register_endpoint(client, users[0], name=f"e{i}") for i in range(3)]
    client.update_app_instance_user_endpoint(AppInstanceUserArn=users[0], EndpointId=endpoints[1], AllowMessages="NONE")
    status, body = server.set_endpoint_state(users[0], endpoints[2], "INACTIVE", "INVALID_DEVICE_TOKEN")
    assert status == 200, body
    bot = create_bot(client, app, "helper", Metadata="bot-meta")
    client.create_app_instance_admin(AppInstanceAdminArn=bot, AppInstanceArn=app)
    client.create_app_instance_admin(AppInstanceAdminArn=users[1], AppInstanceArn=app)
    return apps, users, endpoints, bot


def populate_channels(server, client, app, users, bot):
    """Channels of both privacies in `app` with memberships (DEFAULT and HIDDEN, preferences, a read marker),
    moderators and messages (edited, redacted, with attributes), made through chime-sdk-messaging."""
    chat = server.messaging(account_of(client))
    u3, u1, u2 = users
    public = chat.create_channel(
        AppInstanceArn=app, Name="lobby", ChimeBearer=u3, ChannelId="lobby", Metadata="pub-meta", MemberArns=[u2],
        ModeratorArns=[bot], Tags=[{"Key": "t2", "Value": "x"}, {"Key": "t1", "Value": "y"}],
        ExpirationSettings={"ExpirationDays": 30, "ExpirationCriterion": "LAST_MESSAGE_TIMESTAMP"},
    )["ChannelArn"]
    private = chat.create_channel(AppInstanceArn=app, Name="backroom", ChimeBearer=u2, Privacy="PRIVATE", Mode="RESTRICTED")["ChannelArn"]
    chat.create_channel_membership(ChannelArn=public, MemberArn=u1, Type="HIDDEN", ChimeBearer=u3)
    chat.create_channel_membership(ChannelArn=private, MemberArn=u3, Type="DEFAULT", ChimeBearer=u2)
    chat.create_channel_moderator(ChannelArn=private, ChannelModeratorArn=u3, ChimeBearer=u2)
    prefs = {"PushNotifications": {"AllowNotifications": "FILTERED", "FilterRule": json.dumps({"kind": ["alert"]})}}
    chat.put_channel_membership_preferences(ChannelArn=public, MemberArn=u2, ChimeBearer=u2, Preferences=prefs)
    chat.update_channel_read_marker(ChannelArn=public, ChimeBearer=u2)
    send = lambda channel, bearer, content, **kw: chat.send_channel_message(  # noqa: E731
        ChannelArn=channel, ChimeBearer=bearer, Content=content, Type=kw.pop("Type", "STANDARD"), Persistence="PERSISTENT", **kw
    )["MessageId"]
    send(public, u3, "first", Metadata="m1", ContentType="text/plain", MessageAttributes={"kind": {"StringValues": ["alert", "x"]}})
    edited = send(public, u2, "second")
    chat.update_channel_message(ChannelArn=public, MessageId=edited, Content="second, edited", Metadata="m2", ChimeBearer=u2)
    redacted = send(public, u3, "third", MessageAttributes={"k": {"StringValues": ["v"]}})
    chat.redact_channel_message(ChannelArn=public, MessageId=redacted, ChimeBearer=u3)
    send(public, u3, "ping", Type="CONTROL")
    send(private, u2, "secret")
    # Push: markers on a token and on a Pinpoint application, then a push to u2 (no endpoint) and u3, whose
    # three endpoints give DELIVERED, SKIPPED ENDPOINT_ALLOW_MESSAGES_NONE and SKIPPED ENDPOINT_INACTIVE.
    marked_app = pinpoint_arn(account_of(client), app_id="failingapp")
    for marker in ({"DeviceToken": MARKED_TOKEN, "StatusReason": "INVALID_DEVICE_TOKEN"},
                   {"ResourceArn": marked_app, "StatusReason": "INVALID_PINPOINT_ARN"}):
        status, body = server.control("PUT", "/_carillon/push-failures", marker)
        assert status == 200, body
    send(private, u2, "pushed", PushNotification={"Title": "news", "Body": "read me"})
    # Configuration-only resources: a channel flow associated with the private channel, and streaming.
    processor = {"Name": "moderate", "ExecutionOrder": 1, "FallbackAction": "CONTINUE",
                 "Configuration": {"Lambda": {"ResourceArn": "arn:aws:lambda:us-east-1:123456789012:function:moderate",
                                              "InvocationType": "ASYNC"}}}
    flow = chat.create_channel_flow(AppInstanceArn=app, Name="flow", Processors=[processor], ClientRequestToken="state-flow",
                                    Tags=[{"Key": "f", "Value": "1"}])["ChannelFlowArn"]
    chat.associate_channel_flow(ChannelArn=private, ChannelFlowArn=flow, ChimeBearer=u2)
    chat.put_messaging_streaming_configurations(AppInstanceArn=app, StreamingConfigurations=[
        {"DataType": "Channel", "ResourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/chat"}])
    return chat, [public, private]


def observed_channels(chat, app, users, channels):
    """What Messaging shows of the channels, to an AppInstanceAdmin (users[1]) and to each member."""
    admin = users[1]
    strip = lambda r: {k: v for k, v in r.items() if k != "ResponseMetadata"}  # noqa: E731
    out = {
        "public": strip(chat.list_channels(AppInstanceArn=app, ChimeBearer=admin)),
        "private": strip(chat.list_channels(AppInstanceArn=app, ChimeBearer=admin, Privacy="PRIVATE")),
    }
    for channel in channels:
        members = strip(chat.list_channel_memberships(ChannelArn=channel, ChimeBearer=admin))
        hidden = strip(chat.list_channel_memberships(ChannelArn=channel, ChimeBearer=admin, Type="HIDDEN"))
        out[channel] = [
            strip(chat.describe_channel(ChannelArn=channel, ChimeBearer=admin)),
            members,
            hidden,
            strip(chat.list_channel_moderators(ChannelArn=channel, ChimeBearer=admin)),
            strip(chat.list_channel_messages(ChannelArn=channel, ChimeBearer=admin, SortOrder="ASCENDING")),
            strip(chat.list_channel_messages(ChannelArn=channel, ChimeBearer=admin, SortOrder="DESCENDING")),
            strip(chat.list_tags_for_resource(ResourceARN=channel)),
        ]
        for m in members["ChannelMemberships"] + hidden["ChannelMemberships"]:
            arn = m["Member"]["Arn"]
            out[channel].append(strip(chat.get_channel_membership_preferences(ChannelArn=channel, MemberArn=arn, ChimeBearer=arn)))
    for user in users:
        out[user] = strip(chat.list_channel_memberships_for_app_instance_user(AppInstanceUserArn=user, ChimeBearer=admin))
    flows = strip(chat.list_channel_flows(AppInstanceArn=app))
    out["flows"] = flows
    for f in flows["ChannelFlows"]:
        arn = f["ChannelFlowArn"]
        out[arn] = [strip(chat.describe_channel_flow(ChannelFlowArn=arn)),
                    strip(chat.list_channels_associated_with_channel_flow(ChannelFlowArn=arn)),
                    strip(chat.list_tags_for_resource(ResourceARN=arn))]
    out["streaming"] = strip(chat.get_messaging_streaming_configurations(AppInstanceArn=app))
    return out


def observed(client, apps, users, bot):
    """What the API shows of the populated state: every Describe, List and tag list."""
    out = {}
    strip = lambda r: {k: v for k, v in r.items() if k != "ResponseMetadata"}  # noqa: E731
    out["apps"] = strip(client.list_app_instances())
    for app in apps:
        out[app] = [
            strip(client.describe_app_instance(AppInstanceArn=app)),
            strip(client.list_tags_for_resource(ResourceARN=app)),
            strip(client.get_app_instance_retention_settings(AppInstanceArn=app)),
            strip(client.list_app_instance_users(AppInstanceArn=app)),
            strip(client.list_app_instance_bots(AppInstanceArn=app)),
            strip(client.list_app_instance_admins(AppInstanceArn=app)),
        ]
    for user in users:
        out[user] = [
            strip(client.describe_app_instance_user(AppInstanceUserArn=user)),
            strip(client.list_tags_for_resource(ResourceARN=user)),
            strip(client.list_app_instance_user_endpoints(AppInstanceUserArn=user)),
        ]
        for e in client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]:
            out[user].append(strip(client.describe_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=e["EndpointId"])))
    out[bot] = strip(client.describe_app_instance_bot(AppInstanceBotArn=bot))
    return out


def test_export_reset_import_export_gives_the_same_document_and_the_same_api_answers(server):
    account = new_account()
    client = server.client(account)
    apps, users, _, bot = populate(client, server)
    chat, channels = populate_channels(server, client, apps[0], users, bot)
    before = observed(client, apps, users, bot)
    before_channels = observed_channels(chat, apps[0], users, channels)
    first = export(server)
    outbox_before = server.control("GET", "/_carillon/push-outbox")
    markers_before = server.control("GET", "/_carillon/push-failures")
    assert server.control("POST", "/_carillon/reset")[0] == 200
    assert export(server)["AppInstances"] == []
    status, answer = server.control("PUT", "/_carillon/state", first)
    assert status == 200, answer
    in_first = [c for a in first["AppInstances"] for c in a["Channels"]]
    assert answer["Imported"] == {
        "AppInstances": len(first["AppInstances"]),
        "AppInstanceUsers": sum(len(a["Users"]) for a in first["AppInstances"]),
        "AppInstanceBots": sum(len(a["Bots"]) for a in first["AppInstances"]),
        "AppInstanceAdmins": sum(len(a["Admins"]) for a in first["AppInstances"]),
        "AppInstanceUserEndpoints": sum(len(u["Endpoints"]) for a in first["AppInstances"] for u in a["Users"]),
        "Channels": len(in_first),
        "ChannelMemberships": sum(len(c["Memberships"]) for c in in_first),
        "ChannelModerators": sum(len(c["Moderators"]) for c in in_first),
        "ChannelMessages": sum(len(c["Messages"]) for c in in_first),
        "ChannelFlows": sum(len(a.get("ChannelFlows", [])) for a in first["AppInstances"]),
        "StreamingConfigurations": sum(len(a.get("StreamingConfigurations", [])) for a in first["AppInstances"]),
        "PushOutboxEntries": len(first["PushOutbox"]),
        "PushFailureMarkers": len(first["PushFailureMarkers"]),
    }
    assert answer["Imported"]["ChannelFlows"] == 1 and answer["Imported"]["StreamingConfigurations"] == 1
    second = export(server)
    assert without_time(second) == without_time(first)
    # The API shows exactly what it showed before: ARNs, timestamps, list order, tag order, endpoint state,
    # and every channel with its members (HIDDEN ones, preferences, read markers), moderators and messages.
    assert observed(client, apps, users, bot) == before
    assert observed_channels(chat, apps[0], users, channels) == before_channels
    mine = [a for a in second["AppInstances"] if f":{account}:" in a["AppInstanceArn"]]
    assert [a["Name"] for a in mine] == ["zeta", "alpha"]
    assert [t["Key"] for t in mine[0]["Tags"]] == ["z", "a", "m"]
    assert [u["AppInstanceUserArn"].rsplit("/", 1)[1] for u in mine[0]["Users"]] == ["u3", "u1", "u2"]
    states = [e["EndpointState"] for e in mine[0]["Users"][0]["Endpoints"]]
    assert states[2] == {"Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}
    assert mine[0]["Retention"]["RetentionDays"] == 42 and "RetentionDays" not in mine[1]["Retention"]
    public, private = mine[0]["Channels"]
    assert (public["ChannelArn"], public["Privacy"], private["Privacy"]) == (channels[0], "PUBLIC", "PRIVATE")
    assert [t["Key"] for t in public["Tags"]] == ["t2", "t1"]
    assert public["ExpirationTimestamp"] == public["LastMessageTimestamp"] + 30 * 86400
    assert [(m["Member"]["Arn"], m["Type"]) for m in public["Memberships"]] == [(users[0], "DEFAULT"), (users[2], "DEFAULT"), (users[1], "HIDDEN")]
    assert "ReadMarkerTimestamp" in public["Memberships"][1] and "Preferences" in public["Memberships"][1]
    assert [m["Moderator"]["Arn"] for m in public["Moderators"]] == [users[0], bot]
    messages = public["Messages"]
    assert [m.get("Content") for m in messages] == ["first", "second, edited", None, "ping"]
    assert messages[0]["MessageAttributes"] == {"kind": {"StringValues": ["alert", "x"]}}
    assert "LastEditedTimestamp" in messages[1] and messages[2]["Redacted"] and "MessageAttributes" not in messages[2]
    assert mine[1]["Channels"] == []
    # The outbox and the markers, as the control plane lists them, ids included; a token only as its SHA-256.
    assert server.control("GET", "/_carillon/push-outbox") == outbox_before
    assert server.control("GET", "/_carillon/push-failures") == markers_before
    assert second["PushOutbox"] == outbox_before[1]["Entries"]
    pushed = [e for e in second["PushOutbox"] if e["ChannelArn"] == channels[1]]
    assert [(e["RecipientArn"], e["Outcome"], e.get("Reason")) for e in pushed] == [
        (users[2], "SKIPPED", "NO_ENDPOINT"),
        (users[0], "DELIVERED", None),
        (users[0], "SKIPPED", "ENDPOINT_ALLOW_MESSAGES_NONE"),
        (users[0], "SKIPPED", "ENDPOINT_INACTIVE"),
    ]
    device_tokens = [e["EndpointAttributes"]["DeviceToken"] for e in mine[0]["Users"][0]["Endpoints"]]
    assert [e["DeviceTokenSha256"] for e in pushed[1:]] == [hashlib.sha256(t.encode()).hexdigest() for t in device_tokens]
    marked_hash = hashlib.sha256(MARKED_TOKEN.encode()).hexdigest()
    assert {"DeviceTokenSha256": marked_hash, "StatusReason": "INVALID_DEVICE_TOKEN"} in [
        {k: v for k, v in m.items() if k != "CreatedTimestamp"} for m in second["PushFailureMarkers"]
    ]
    text = json.dumps(second)
    assert MARKED_TOKEN not in text, "a raw token never appears"
    push_text = json.dumps([second["PushOutbox"], second["PushFailureMarkers"]])
    assert not any(t in push_text for t in device_tokens), "the outbox keeps only SHA-256s"
    # The state is live again: writes work on it as on any other, and a push gets ids above the imported ones.
    client.update_app_instance(AppInstanceArn=apps[0], Name="after", Metadata="x")
    assert client.describe_app_instance(AppInstanceArn=apps[0])["AppInstance"]["Name"] == "after"
    chat.send_channel_message(ChannelArn=channels[1], ChimeBearer=users[2], Content="again", Type="STANDARD",
                              Persistence="PERSISTENT", PushNotification={})
    last = max(e["Id"] for e in second["PushOutbox"])
    status, body = server.control("GET", f"/_carillon/push-outbox?after-id={last}")
    assert status == 200 and len(body["Entries"]) == 4 and all(e["Id"] > last for e in body["Entries"]), body


def invalid_documents(doc):
    """(what, document) pairs that must each be refused whole."""
    app = doc["AppInstances"][0]

    def changed(edit):
        copy = json.loads(json.dumps(doc))
        edit(copy["AppInstances"][0])
        return copy

    yield "malformed JSON", b'{"Format": "carillon-state/1", "AppInstances": ['
    yield "unknown Format", {**doc, "Format": "carillon-state/9"}
    yield "unknown member", {**doc, "Extra": 1}
    yield "wrong type", changed(lambda a: a.update(Name=5))
    yield "a name the model forbids", changed(lambda a: a.update(Name="x" * 257))
    yield "an unknown enum value", changed(lambda a: a["Users"][0]["Endpoints"][0].update(AllowMessages="SOME"))
    yield "a dangling admin", changed(lambda a: a["Admins"].append({"Arn": app["AppInstanceArn"] + "/user/nobody", "CreatedTimestamp": 1.0}))
    yield "a user under another AppInstance", changed(
        lambda a: a["Users"][0].update(AppInstanceUserArn=a["AppInstanceArn"] + "x/user/u3")
    )
    yield "a duplicate user", changed(lambda a: a["Users"].append(a["Users"][0]))
    yield "a duplicate AppInstance", {**doc, "AppInstances": doc["AppInstances"] + [app]}
    yield "a duplicate endpoint id", changed(
        lambda a: a["Users"][0]["Endpoints"].append({**a["Users"][0]["Endpoints"][0], "EndpointAttributes": {"DeviceToken": "other"}})
    )
    yield "a pinpoint ARN of another account", changed(
        lambda a: a["Users"][0]["Endpoints"][0].update(ResourceArn=pinpoint_arn("999999999999"))
    )
    yield "a channel under another AppInstance", changed(
        lambda a: a["Channels"][0].update(ChannelArn=a["AppInstanceArn"] + "x/channel/lobby")
    )
    yield "a member that is no user of the AppInstance", changed(
        lambda a: a["Channels"][0]["Memberships"][0]["Member"].update(Arn=a["AppInstanceArn"] + "/user/nobody")
    )
    yield "a member twice", changed(lambda a: a["Channels"][0]["Memberships"].append(a["Channels"][0]["Memberships"][0]))
    yield "a duplicate message id", changed(lambda a: a["Channels"][0]["Messages"].append(a["Channels"][0]["Messages"][-1]))
    yield "a message content over its size", changed(lambda a: a["Channels"][0]["Messages"][0].update(Content="x" * 4097))
    yield "a redacted message with content", changed(lambda a: a["Channels"][0]["Messages"][2].update(Content="back"))
    yield "a channel mode the model lacks", changed(lambda a: a["Channels"][0].update(Mode="OPEN"))

    def pushed(edit):
        copy = json.loads(json.dumps(doc))
        edit(copy)
        return copy

    yield "an outbox entry with an unknown outcome", pushed(lambda d: d["PushOutbox"][0].update(Outcome="LOST"))
    yield "an outbox entry with a raw token", pushed(lambda d: d["PushOutbox"][-3].update(DeviceTokenSha256="raw-device-token"))
    yield "outbox ids out of order", pushed(lambda d: d["PushOutbox"].append(d["PushOutbox"][0]))
    yield "a marker with a raw token", pushed(lambda d: d["PushFailureMarkers"].append({"DeviceToken": "t", "StatusReason": "INVALID_DEVICE_TOKEN"}))
    yield "a marker with two targets", pushed(lambda d: d["PushFailureMarkers"][0].update(ResourceArn="arn:x", DeviceTokenSha256="0" * 64))


def test_an_invalid_document_is_a_400_and_changes_nothing(server):
    client = server.client()
    apps, users, _, bot = populate(client, server)
    populate_channels(server, client, apps[0], users, bot)
    before = export(server)
    mine = {**before, "AppInstances": [a for a in before["AppInstances"] if a["Users"]][-1:]}
    for what, doc in invalid_documents(mine):
        r = server.raw("PUT", "/_carillon/state", body=doc)
        assert r.status == 400, (what, r.status, r.body)
        assert r.header("x-amzn-ErrorType") == "BadRequestException", what
        message = json.loads(r.body)["Message"]
        assert message, what
        if what.startswith(("an outbox", "outbox", "a marker with two")):
            assert message.startswith(("PushOutbox[", "PushFailureMarkers[")), (what, message)
        assert without_time(export(server)) == without_time(before), what


def run_carillon(*args, env=None):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CARILLON_")}, **(env or {})}
    return subprocess.run([str(carillon_bin()), *args], capture_output=True, text=True, timeout=120, env=env)


def one_line_error(proc):
    assert proc.returncode != 0, proc
    lines = proc.stderr.strip().splitlines()
    # Before the log subscriber is installed the line is plain; after, it is a log line (with a time stamp).
    assert len(lines) == 1 and "carillon: error: " in lines[0], proc.stderr
    return lines[0]


def postgres_database():
    """A fresh PostgreSQL database (dropped at the end of the session)."""
    admin = os.environ["CARILLON_TEST_POSTGRES_URL"]
    name = f"carillon_py_state_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    from conftest import _PG_DATABASES

    _PG_DATABASES.append((admin, name))
    return admin.rsplit("/", 1)[0] + "/" + name


@pytest.mark.skipif(not os.environ.get("CARILLON_TEST_POSTGRES_URL"), reason="needs CARILLON_TEST_POSTGRES_URL")
def test_sqlite_state_moves_to_postgresql_through_the_offline_commands(tmp_path):
    sqlite = tmp_path / "from.db"
    source = Server(sqlite, log_dir=tmp_path)
    source.database = f"sqlite://{sqlite}"
    source.start()
    account = new_account()
    client = source.client(account)
    apps, users, _, bot = populate(client, source)
    chat, channels = populate_channels(source, client, apps[0], users, bot)
    before = observed(client, apps, users, bot)
    before_channels = observed_channels(chat, apps[0], users, channels)
    online = export(source)
    # Neither command touches a database a server holds.
    refused = run_carillon("state", "export", "--database", f"sqlite://{sqlite}")
    assert "in use" in one_line_error(refused)
    assert source.stop() == 0

    exported = tmp_path / "state.json"
    done = run_carillon("state", "export", "--database", f"sqlite://{sqlite}", str(exported))
    assert done.returncode == 0, done.stderr
    assert without_time(json.loads(exported.read_text())) == without_time(online)
    # Without FILE, the document goes to stdout.
    to_stdout = run_carillon("state", "export", "--database", f"sqlite://{sqlite}")
    assert to_stdout.returncode == 0 and without_time(json.loads(to_stdout.stdout)) == without_time(online)

    pg = postgres_database()
    done = run_carillon("state", "import", "--database", pg, str(exported))
    assert done.returncode == 0, done.stderr
    again = tmp_path / "again.json"
    assert run_carillon("state", "export", "--database", pg, str(again)).returncode == 0
    assert without_time(json.loads(again.read_text())) == without_time(online)

    target = Server(tmp_path / "unused.db", log_dir=tmp_path)
    target.database = pg
    target.start()
    try:
        client = target.client(account)
        assert observed(client, apps, users, bot) == before
        assert observed_channels(target.messaging(account), apps[0], users, channels) == before_channels
        # A server holds the PostgreSQL database now: the offline commands refuse it.
        refused = run_carillon("state", "import", "--database", pg, str(exported))
        assert "in use" in one_line_error(refused)
        assert without_time(export(target)) == without_time(online)
    finally:
        target.stop()


def test_state_import_refuses_a_bad_file_with_one_line_and_changes_nothing(tmp_path):
    db = tmp_path / "c.db"
    bad = tmp_path / "bad.json"
    bad.write_text('{"Format": "carillon-state/1", "AppInstances": [{"AppInstanceArn": "nope"}]}')
    line = one_line_error(run_carillon("state", "import", "--database", f"sqlite://{db}", str(bad)))
    assert "bad.json" in line
    missing = one_line_error(run_carillon("state", "import", "--database", f"sqlite://{db}", str(tmp_path / "absent.json")))
    assert "absent.json" in missing
    out = run_carillon("state", "export", "--database", f"sqlite://{db}")
    assert out.returncode == 0 and json.loads(out.stdout)["AppInstances"] == []


# -- seeds -------------------------------------------------------------------------------------------------------


def seeded_view(client):
    users = client.list_app_instance_users(AppInstanceArn=SEEDED_APP)["AppInstanceUsers"]
    endpoints = {
        u["AppInstanceUserArn"]: client.list_app_instance_user_endpoints(AppInstanceUserArn=u["AppInstanceUserArn"])[
            "AppInstanceUserEndpoints"
        ]
        for u in users
    }
    return {
        "app": client.describe_app_instance(AppInstanceArn=SEEDED_APP)["AppInstance"],
        "users": users,
        "endpoints": endpoints,
        "bot": client.describe_app_instance_bot(AppInstanceBotArn=SEEDED_BOT)["AppInstanceBot"],
        "admins": client.list_app_instance_admins(AppInstanceArn=SEEDED_APP)["AppInstanceAdmins"],
        "tags": client.list_tags_for_resource(ResourceARN=SEEDED_APP)["Tags"],
        "retention": client.get_app_instance_retention_settings(AppInstanceArn=SEEDED_APP)["AppInstanceRetentionSettings"],
    }


def test_the_example_seed_gives_its_resources_with_their_arns_twice_across_a_restart(tmp_path):
    srv = Server(tmp_path / "seeded.db", extra_args=["--seed", str(EXAMPLE_SEED)], log_dir=tmp_path).start()
    try:
        client = srv.client("111122223333")
        first = seeded_view(client)
        assert first["app"]["Name"] == "chat-dev" and first["app"]["Metadata"] == "local development"
        assert [u["AppInstanceUserArn"] for u in first["users"]] == [SEEDED_APP + "/user/alice", SEEDED_APP + "/user/bob"]
        alice, bob = first["endpoints"][SEEDED_APP + "/user/alice"], first["endpoints"][SEEDED_APP + "/user/bob"]
        assert [e["EndpointId"] for e in alice] == ["alice-phone"]
        assert bob[0]["EndpointState"] == {"Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}
        assert bob[0]["AllowMessages"] == "NONE"
        assert [a["Admin"]["Arn"] for a in first["admins"]] == [SEEDED_APP + "/user/alice", SEEDED_BOT]
        assert first["tags"] == [{"Key": "team", "Value": "mobile"}]
        assert first["retention"]["ChannelRetentionSettings"]["RetentionDays"] == 30
        assert "seed" in srv.log_text() and '"AppInstances":1' in srv.log_text()
        # A change made through the API survives the next start: the seed only adds what is missing.
        client.update_app_instance_user(AppInstanceUserArn=SEEDED_APP + "/user/bob", Name="Robert", Metadata="")
        client.deregister_app_instance_user_endpoint(AppInstanceUserArn=SEEDED_APP + "/user/alice", EndpointId="alice-phone")
        srv.restart()
        client = srv.client("111122223333")
        second = seeded_view(client)
        assert second["app"] == first["app"]
        assert [u["Name"] for u in second["users"]] == ["Alice", "Robert"]
        # The deleted endpoint was missing, so it is declared again, under its fixed id.
        assert [e["EndpointId"] for e in second["endpoints"][SEEDED_APP + "/user/alice"]] == ["alice-phone"]
        assert second["admins"] == first["admins"] and second["bot"] == first["bot"]
        assert len(client.list_app_instances()["AppInstances"]) == 1
        assert '"AppInstanceUserEndpoints":1' in srv.log_text() and '"AppInstances":0' in srv.log_text()
    finally:
        srv.stop()


def test_a_json_seed_without_ids_gives_the_same_arns_on_two_fresh_servers(tmp_path):
    account = new_account()
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "AppInstances": [
                    {
                        "Account": account,
                        "Region": "eu-west-1",
                        "Name": "derived",
                        "Users": [
                            {
                                "AppInstanceUserId": "carol",
                                "Name": "Carol",
                                "Endpoints": [
                                    {
                                        "Type": "GCM",
                                        "ResourceArn": pinpoint_arn(account, "eu-west-1"),
                                        "EndpointAttributes": {"DeviceToken": "carol-token"},
                                    }
                                ],
                            }
                        ],
                        "Bots": [{"Name": "b", "Configuration": lex_configuration()}],
                    }
                ]
            }
        )
    )
    views = []
    for i in range(2):
        srv = Server(tmp_path / f"d{i}.db", extra_args=["--seed", str(seed)], log_dir=tmp_path / f"log{i}")
        srv.log_dir.mkdir()
        srv.start()
        try:
            client = srv.client(account, region="eu-west-1")
            app = client.list_app_instances()["AppInstances"][0]["AppInstanceArn"]
            user = client.list_app_instance_users(AppInstanceArn=app)["AppInstanceUsers"][0]["AppInstanceUserArn"]
            endpoint = client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"][0]["EndpointId"]
            bot = client.list_app_instance_bots(AppInstanceArn=app)["AppInstanceBots"][0]["AppInstanceBotArn"]
            views.append((app, user, endpoint, bot))
        finally:
            srv.stop()
    assert views[0] == views[1]
    assert views[0][0].startswith(f"arn:aws:chime:eu-west-1:{account}:app-instance/")


BAD_SEEDS = {
    "not YAML": ("bad.yaml", "AppInstances: [unclosed\n"),
    "an unknown member": ("bad.yaml", "AppInstances:\n  - Name: a\n    Colour: red\n"),
    "a name the model forbids": ("bad.json", json.dumps({"AppInstances": [{"Name": "ok"}, {"Name": ""}]})),
    "an admin that is not declared": ("bad.yaml", "AppInstances:\n  - Name: a\n    Admins:\n      - AppInstanceUserId: ghost\n"),
    "a missing file": ("absent.yaml", None),
}


@pytest.mark.parametrize("case", sorted(BAD_SEEDS))
def test_a_bad_seed_is_one_line_and_a_non_zero_exit_with_nothing_applied(tmp_path, case):
    name, text = BAD_SEEDS[case]
    seed = tmp_path / name
    if text is not None:
        seed.write_text(text)
    db = tmp_path / "c.db"
    proc = run_carillon("serve", "--listen", "127.0.0.1:0", "--database", f"sqlite://{db}", "--seed", str(seed))
    line = one_line_error(proc)
    assert name in line, line
    if db.exists():
        out = run_carillon("state", "export", "--database", f"sqlite://{db}")
        assert out.returncode == 0 and json.loads(out.stdout)["AppInstances"] == [], out
