"""Chime SDK Messaging through boto3 and the AWS CLI, on the listener that serves Identity
(docs/behaviour.md, "Messaging"): an AppInstance, users and a bot made with chime-sdk-identity, then
channels of each privacy and mode, memberships, moderators, preferences, read markers and messages, with
every modeled error as its status and type."""
import datetime
import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from test_cli import aws_executable


def error_of(exc_info):
    e = exc_info.value.response
    return e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Code"]


@pytest.fixture
def chat(server, account):
    return server.messaging(account)


@pytest.fixture
def world(client, account):
    """An AppInstance with users ana, bo and cy and a bot, made through Identity."""
    instance = client.create_app_instance(Name="chat", ClientRequestToken="t-instance")["AppInstanceArn"]
    users = {}
    for uid in ("ana", "bo", "cy"):
        users[uid] = client.create_app_instance_user(
            AppInstanceArn=instance, AppInstanceUserId=uid, Name=uid.title(), ClientRequestToken=f"t-{uid}"
        )["AppInstanceUserArn"]
    bot = client.create_app_instance_bot(
        AppInstanceArn=instance, Name="helper", ClientRequestToken="t-bot",
        Configuration={"Lex": {"LexBotAliasArn": "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST",
                               "LocaleId": "en_US", "RespondsTo": "STANDARD_MESSAGES"}},
    )["AppInstanceBotArn"]
    return {"instance": instance, "bot": bot, **users}


def new_channel(chat, world, bearer="ana", **kw):
    return chat.create_channel(AppInstanceArn=world["instance"], Name=kw.pop("Name", "room"), ChimeBearer=world[bearer], **kw)[
        "ChannelArn"
    ]


def test_channels_default_to_public_unrestricted_and_their_creator_moderates(chat, world):
    channel = new_channel(chat, world, Metadata="m")
    c = chat.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])["Channel"]
    assert (c["Privacy"], c["Mode"], c["Name"], c["Metadata"]) == ("PUBLIC", "UNRESTRICTED", "room", "m")
    assert c["CreatedBy"] == {"Arn": world["ana"], "Name": "Ana"}
    assert c["CreatedTimestamp"] == c["LastUpdatedTimestamp"]
    assert "LastMessageTimestamp" not in c
    mods = chat.list_channel_moderators(ChannelArn=channel, ChimeBearer=world["ana"])["ChannelModerators"]
    assert [m["Moderator"]["Arn"] for m in mods] == [world["ana"]]
    m = chat.describe_channel_membership(ChannelArn=channel, MemberArn=world["ana"], ChimeBearer=world["ana"])["ChannelMembership"]
    assert (m["Type"], m["Member"]["Arn"], m["InvitedBy"]["Arn"]) == ("DEFAULT", world["ana"], world["ana"])

    # Any user of the AppInstance sees a public channel; it lists among the AppInstance's public channels.
    assert chat.describe_channel(ChannelArn=channel, ChimeBearer=world["cy"])["Channel"]["ChannelArn"] == channel
    listed = chat.list_channels(AppInstanceArn=world["instance"], ChimeBearer=world["cy"])["Channels"]
    assert [c["ChannelArn"] for c in listed] == [channel]

    # A private channel is hidden from a non-member, and listing private channels needs an admin.
    private = new_channel(chat, world, Name="secret", Privacy="PRIVATE")
    with pytest.raises(ClientError) as e:
        chat.describe_channel(ChannelArn=private, ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")
    with pytest.raises(ClientError) as e:
        chat.list_channels(AppInstanceArn=world["instance"], Privacy="PRIVATE", ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")


def test_update_and_delete_need_a_moderator(chat, world, client):
    channel = new_channel(chat, world)
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["bo"], Type="DEFAULT", ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        chat.update_channel(ChannelArn=channel, Name="mine", ChimeBearer=world["bo"])
    assert error_of(e) == (403, "ForbiddenException")
    before = chat.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])["Channel"]
    time.sleep(0.01)
    chat.update_channel(ChannelArn=channel, Name="renamed", Mode="RESTRICTED", ChimeBearer=world["ana"])
    after = chat.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])["Channel"]
    assert (after["Name"], after["Mode"], after["Privacy"]) == ("renamed", "RESTRICTED", "PUBLIC")
    assert after["LastUpdatedTimestamp"] > before["LastUpdatedTimestamp"]
    with pytest.raises(ClientError) as e:
        chat.delete_channel(ChannelArn=channel, ChimeBearer=world["bo"])
    assert error_of(e) == (403, "ForbiddenException")
    chat.delete_channel(ChannelArn=channel, ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        chat.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])
    assert error_of(e) == (404, "NotFoundException")


def test_memberships_hidden_batch_and_for_a_user(chat, world):
    channel = new_channel(chat, world)
    # A user adds itself to a public unrestricted channel.
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["cy"], Type="DEFAULT", ChimeBearer=world["cy"])
    with pytest.raises(ClientError) as e:
        chat.create_channel_membership(ChannelArn=channel, MemberArn=world["cy"], Type="DEFAULT", ChimeBearer=world["cy"])
    assert error_of(e) == (409, "ConflictException")
    # HIDDEN members: only a moderator or admin adds and lists them.
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["bot"], Type="HIDDEN", ChimeBearer=world["ana"])
    default = chat.list_channel_memberships(ChannelArn=channel, ChimeBearer=world["cy"])["ChannelMemberships"]
    assert world["bot"] not in [m["Member"]["Arn"] for m in default]
    hidden = chat.list_channel_memberships(ChannelArn=channel, Type="HIDDEN", ChimeBearer=world["ana"])["ChannelMemberships"]
    assert [m["Member"]["Arn"] for m in hidden] == [world["bot"]]
    with pytest.raises(ClientError) as e:
        chat.list_channel_memberships(ChannelArn=channel, Type="HIDDEN", ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")

    # A batch: per-member errors, the rest added.
    ghost = world["instance"] + "/user/ghost"
    out = chat.batch_create_channel_membership(
        ChannelArn=channel, MemberArns=[world["bo"], world["cy"], ghost], ChimeBearer=world["ana"]
    )
    added = [m["Arn"] for m in out["BatchChannelMemberships"]["Members"]]
    assert added == [world["bo"]]
    errors = {e["MemberArn"]: e["ErrorCode"] for e in out["Errors"]}
    assert errors == {world["cy"]: "Conflict", ghost: "NotFound"}

    mine = chat.list_channel_memberships_for_app_instance_user(ChimeBearer=world["bo"])["ChannelMemberships"]
    assert [m["ChannelSummary"]["ChannelArn"] for m in mine] == [channel]
    assert mine[0]["AppInstanceUserMembershipSummary"]["Type"] == "DEFAULT"

    # A member leaves; the moderator removes another.
    chat.delete_channel_membership(ChannelArn=channel, MemberArn=world["cy"], ChimeBearer=world["cy"])
    with pytest.raises(ClientError) as e:
        chat.delete_channel_membership(ChannelArn=channel, MemberArn=world["bo"], ChimeBearer=world["cy"])
    assert error_of(e)[0] in (403, 404)
    chat.delete_channel_membership(ChannelArn=channel, MemberArn=world["bo"], ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        chat.describe_channel_membership(ChannelArn=channel, MemberArn=world["bo"], ChimeBearer=world["ana"])
    assert error_of(e) == (404, "NotFoundException")


def test_restricted_and_private_channels_limit_who_adds_members(chat, world):
    restricted = new_channel(chat, world, Mode="RESTRICTED")
    chat.create_channel_membership(ChannelArn=restricted, MemberArn=world["bo"], Type="DEFAULT", ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        chat.create_channel_membership(ChannelArn=restricted, MemberArn=world["cy"], Type="DEFAULT", ChimeBearer=world["bo"])
    assert error_of(e) == (403, "ForbiddenException")
    with pytest.raises(ClientError) as e:
        chat.create_channel_membership(ChannelArn=restricted, MemberArn=world["cy"], Type="DEFAULT", ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")
    private = new_channel(chat, world, Privacy="PRIVATE")
    with pytest.raises(ClientError) as e:
        chat.create_channel_membership(ChannelArn=private, MemberArn=world["cy"], Type="DEFAULT", ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")


def test_moderators(chat, world):
    channel = new_channel(chat, world)
    chat.create_channel_moderator(ChannelArn=channel, ChannelModeratorArn=world["bo"], ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        chat.create_channel_moderator(ChannelArn=channel, ChannelModeratorArn=world["bo"], ChimeBearer=world["ana"])
    assert error_of(e) == (409, "ConflictException")
    d = chat.describe_channel_moderator(ChannelArn=channel, ChannelModeratorArn=world["bo"], ChimeBearer=world["ana"])
    assert d["ChannelModerator"]["CreatedBy"]["Arn"] == world["ana"]
    # Moderation does not need membership: bo, a moderator only, renames the channel.
    chat.update_channel(ChannelArn=channel, Name="by bo", ChimeBearer=world["bo"])
    with pytest.raises(ClientError) as e:
        chat.create_channel_moderator(ChannelArn=channel, ChannelModeratorArn=world["cy"], ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")
    chat.delete_channel_moderator(ChannelArn=channel, ChannelModeratorArn=world["bo"], ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        chat.describe_channel_moderator(ChannelArn=channel, ChannelModeratorArn=world["bo"], ChimeBearer=world["ana"])
    assert error_of(e) == (404, "NotFoundException")


def test_preferences_and_read_markers(chat, world):
    channel = new_channel(chat, world)
    got = chat.get_channel_membership_preferences(ChannelArn=channel, MemberArn=world["ana"], ChimeBearer=world["ana"])
    assert got["Preferences"] == {}
    with pytest.raises(ClientError) as e:
        chat.put_channel_membership_preferences(
            ChannelArn=channel, MemberArn=world["ana"], ChimeBearer=world["ana"],
            Preferences={"PushNotifications": {"AllowNotifications": "FILTERED"}},
        )
    assert error_of(e) == (400, "BadRequestException")
    rule = json.dumps({"mention": ["ana"]})
    prefs = {"PushNotifications": {"AllowNotifications": "FILTERED", "FilterRule": rule}}
    put = chat.put_channel_membership_preferences(ChannelArn=channel, MemberArn=world["ana"], ChimeBearer=world["ana"], Preferences=prefs)
    assert put["Preferences"] == prefs
    got = chat.get_channel_membership_preferences(ChannelArn=channel, MemberArn=world["ana"], ChimeBearer=world["ana"])
    assert got["Preferences"] == prefs
    # Only one's own preferences.
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["bo"], Type="DEFAULT", ChimeBearer=world["bo"])
    with pytest.raises(ClientError) as e:
        chat.get_channel_membership_preferences(ChannelArn=channel, MemberArn=world["ana"], ChimeBearer=world["bo"])
    assert error_of(e) == (403, "ForbiddenException")

    chat.update_channel_read_marker(ChannelArn=channel, ChimeBearer=world["bo"])
    mine = chat.list_channel_memberships_for_app_instance_user(ChimeBearer=world["bo"])["ChannelMemberships"]
    assert "ReadMarkerTimestamp" in mine[0]["AppInstanceUserMembershipSummary"]
    with pytest.raises(ClientError) as e:
        chat.update_channel_read_marker(ChannelArn=channel, ChimeBearer=world["cy"])
    assert error_of(e) == (403, "ForbiddenException")


def send(chat, channel, bearer, content, **kw):
    return chat.send_channel_message(
        ChannelArn=channel, Content=content, Type=kw.pop("Type", "STANDARD"), Persistence=kw.pop("Persistence", "PERSISTENT"),
        ChimeBearer=bearer, **kw,
    )["MessageId"]


def all_pages(chat, **kw):
    seen, token = [], None
    while True:
        page = chat.list_channel_messages(**kw, **({"NextToken": token} if token else {}))
        seen += page["ChannelMessages"]
        token = page.get("NextToken")
        if not token:
            return seen


def test_messages_listed_both_ways_with_time_bounds_and_pages(chat, world):
    channel = new_channel(chat, world)
    ids, times = [], []
    for i in range(7):
        ids.append(send(chat, channel, world["ana"], f"m{i}", Metadata=f"meta{i}"))
        times.append(chat.get_channel_message(ChannelArn=channel, MessageId=ids[-1], ChimeBearer=world["ana"])["ChannelMessage"]["CreatedTimestamp"])
        time.sleep(0.005)
    assert all(len(i) == 64 and all(c in "0123456789abcdef" for c in i) for i in ids)
    newest_first = all_pages(chat, ChannelArn=channel, ChimeBearer=world["ana"], MaxResults=3)
    assert [m["MessageId"] for m in newest_first] == ids[::-1]
    oldest_first = all_pages(chat, ChannelArn=channel, ChimeBearer=world["ana"], MaxResults=2, SortOrder="ASCENDING")
    assert [m["MessageId"] for m in oldest_first] == ids
    assert oldest_first[0]["Content"] == "m0" and oldest_first[0]["Sender"]["Arn"] == world["ana"]
    # Inclusive bounds.
    bounded = all_pages(chat, ChannelArn=channel, ChimeBearer=world["ana"], SortOrder="ASCENDING", NotBefore=times[2], NotAfter=times[4])
    assert [m["MessageId"] for m in bounded] == ids[2:5]
    # The channel knows its last message.
    c = chat.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])["Channel"]
    assert c["LastMessageTimestamp"] == times[-1]
    with pytest.raises(ClientError) as e:
        chat.list_channel_messages(ChannelArn=channel, ChimeBearer=world["ana"], NotBefore=times[4], NotAfter=times[2])
    assert error_of(e) == (400, "BadRequestException")


def test_message_sizes_and_types(chat, world):
    channel = new_channel(chat, world)
    send(chat, channel, world["ana"], "é" * 2048)  # 4,096 bytes
    with pytest.raises(ClientError) as e:
        send(chat, channel, world["ana"], "é" * 2048 + "x")
    assert error_of(e) == (400, "BadRequestException")
    send(chat, channel, world["ana"], "x" * 30, Type="CONTROL")
    with pytest.raises(ClientError) as e:
        send(chat, channel, world["ana"], "x" * 31, Type="CONTROL")
    assert error_of(e) == (400, "BadRequestException")
    with pytest.raises(ClientError) as e:
        send(chat, channel, world["ana"], "hi", Type="CONTROL", Metadata="")
    assert error_of(e) == (400, "BadRequestException")


def test_update_redact_delete_and_idempotent_sends(chat, world, client):
    channel = new_channel(chat, world)
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["bo"], Type="DEFAULT", ChimeBearer=world["bo"])
    mid = send(chat, channel, world["bo"], "hello", Metadata="keep", ClientRequestToken="send-1")
    assert send(chat, channel, world["bo"], "hello", Metadata="keep", ClientRequestToken="send-1") == mid
    with pytest.raises(ClientError) as e:
        send(chat, channel, world["bo"], "other", ClientRequestToken="send-1")
    assert error_of(e) == (400, "BadRequestException")
    assert len(all_pages(chat, ChannelArn=channel, ChimeBearer=world["bo"])) == 1

    chat.update_channel_message(ChannelArn=channel, MessageId=mid, Content="hello again", ChimeBearer=world["bo"])
    m = chat.get_channel_message(ChannelArn=channel, MessageId=mid, ChimeBearer=world["ana"])["ChannelMessage"]
    assert (m["Content"], m["Metadata"], m["Redacted"]) == ("hello again", "keep", False)
    assert m["LastEditedTimestamp"] >= m["CreatedTimestamp"]
    assert m["Status"] == {"Value": "SENT"}
    chat.redact_channel_message(ChannelArn=channel, MessageId=mid, ChimeBearer=world["ana"])
    m = chat.get_channel_message(ChannelArn=channel, MessageId=mid, ChimeBearer=world["bo"])["ChannelMessage"]
    assert m["Redacted"] is True and "Content" not in m and "Metadata" not in m
    with pytest.raises(ClientError) as e:
        chat.update_channel_message(ChannelArn=channel, MessageId=mid, Content="back", ChimeBearer=world["bo"])
    assert error_of(e) == (409, "ConflictException")

    # Only an AppInstanceAdmin deletes.
    with pytest.raises(ClientError) as e:
        chat.delete_channel_message(ChannelArn=channel, MessageId=mid, ChimeBearer=world["ana"])
    assert error_of(e) == (403, "ForbiddenException")
    client.create_app_instance_admin(AppInstanceArn=world["instance"], AppInstanceAdminArn=world["cy"])
    chat.delete_channel_message(ChannelArn=channel, MessageId=mid, ChimeBearer=world["cy"])
    with pytest.raises(ClientError) as e:
        chat.get_channel_message(ChannelArn=channel, MessageId=mid, ChimeBearer=world["ana"])
    assert error_of(e) == (404, "NotFoundException")
    assert all_pages(chat, ChannelArn=channel, ChimeBearer=world["ana"]) == []


def test_who_may_send(chat, world):
    channel = new_channel(chat, world)
    with pytest.raises(ClientError) as e:
        send(chat, channel, world["cy"], "not a member")
    assert error_of(e) == (403, "ForbiddenException")
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["bot"], Type="HIDDEN", ChimeBearer=world["ana"])
    with pytest.raises(ClientError) as e:
        send(chat, channel, world["bot"], "hidden members do not send")
    assert error_of(e) == (403, "ForbiddenException")


def test_bearer_errors(server, chat, world, account):
    with pytest.raises(ClientError) as e:
        chat.list_channels(AppInstanceArn=world["instance"], ChimeBearer=world["instance"] + "/user/ghost")
    assert error_of(e) == (401, "UnauthorizedClientException")
    with pytest.raises(ClientError) as e:
        chat.list_channels(AppInstanceArn=world["instance"], ChimeBearer=world["ana"].replace(account, "999999999999"))
    assert error_of(e) == (403, "ForbiddenException")
    raw = server.messaging(account, validate=False)
    with pytest.raises(ClientError) as e:
        raw.list_channels(AppInstanceArn=world["instance"], ChimeBearer="")
    assert error_of(e) == (400, "BadRequestException")
    # Another account cannot reach a channel at all.
    channel = new_channel(chat, world)
    other = server.messaging()
    with pytest.raises(ClientError) as e:
        other.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])
    assert error_of(e) == (403, "ForbiddenException")


def test_user_deletion_takes_its_memberships_and_app_instance_deletion_its_channels(chat, world, client):
    channel = new_channel(chat, world)
    chat.create_channel_membership(ChannelArn=channel, MemberArn=world["bo"], Type="DEFAULT", ChimeBearer=world["bo"])
    send(chat, channel, world["bo"], "still here after bo")
    client.delete_app_instance_user(AppInstanceUserArn=world["bo"])
    members = chat.list_channel_memberships(ChannelArn=channel, ChimeBearer=world["ana"])["ChannelMemberships"]
    assert [m["Member"]["Arn"] for m in members] == [world["ana"]]
    assert [m["Content"] for m in all_pages(chat, ChannelArn=channel, ChimeBearer=world["ana"])] == ["still here after bo"]
    client.delete_app_instance(AppInstanceArn=world["instance"])
    with pytest.raises(ClientError) as e:
        chat.describe_channel(ChannelArn=channel, ChimeBearer=world["ana"])
    assert error_of(e)[0] in (401, 404)


def test_tags_on_channels(chat, world):
    channel = new_channel(chat, world, Tags=[{"Key": "team", "Value": "blue"}])
    assert chat.list_tags_for_resource(ResourceARN=channel)["Tags"] == [{"Key": "team", "Value": "blue"}]
    chat.tag_resource(ResourceARN=channel, Tags=[{"Key": "env", "Value": "dev"}])
    chat.untag_resource(ResourceARN=channel, TagKeys=["team"])
    assert chat.list_tags_for_resource(ResourceARN=channel)["Tags"] == [{"Key": "env", "Value": "dev"}]


def test_unimplemented_operations_answer_501(chat, world):
    channel = new_channel(chat, world)
    with pytest.raises(ClientError) as e:
        chat.create_channel_ban(ChannelArn=channel, MemberArn=world["bo"], ChimeBearer=world["ana"])
    assert error_of(e) == (501, "NotImplementedException")
    assert "CreateChannelBan" in e.value.response["Error"]["Message"]


def test_session_endpoint(server, chat):
    url = chat.get_messaging_session_endpoint()["Endpoint"]["Url"]
    assert url == f"{server.host}:{server.port}"


def test_cli_chat(server, world, account, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": account, "AWS_SECRET_ACCESS_KEY": "x", "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "",
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    })

    def aws(*args):
        cmd = [aws_executable(), "chime-sdk-messaging", *args, "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{args} -> {proc.returncode}\n{proc.stderr}"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    channel = aws("create-channel", "--app-instance-arn", world["instance"], "--name", "cli", "--chime-bearer", world["ana"])["ChannelArn"]
    mid = aws("send-channel-message", "--channel-arn", channel, "--content", "from the cli", "--type", "STANDARD",
              "--persistence", "PERSISTENT", "--chime-bearer", world["ana"])["MessageId"]
    listed = aws("list-channel-messages", "--channel-arn", channel, "--chime-bearer", world["ana"])["ChannelMessages"]
    assert [(m["MessageId"], m["Content"]) for m in listed] == [(mid, "from the cli")]
    aws("delete-channel", "--channel-arn", channel, "--chime-bearer", world["ana"])


def test_channel_expiration_and_message_retention_through_the_clock(make_server, account):
    """One sweep deletes expired channels and the messages retention has run out (docs/behaviour.md,
    "Messaging"); a server of its own, since the clock moves."""
    srv = make_server()
    identity, chat = srv.client(account), srv.messaging(account)
    instance = identity.create_app_instance(Name="clock", ClientRequestToken="t-clock")["AppInstanceArn"]
    ana = identity.create_app_instance_user(AppInstanceArn=instance, AppInstanceUserId="ana", Name="Ana",
                                            ClientRequestToken="t-ana")["AppInstanceUserArn"]
    short = chat.create_channel(AppInstanceArn=instance, Name="short", ChimeBearer=ana,
                                ExpirationSettings={"ExpirationDays": 1, "ExpirationCriterion": "CREATED_TIMESTAMP"})["ChannelArn"]
    kept = chat.create_channel(AppInstanceArn=instance, Name="kept", ChimeBearer=ana)["ChannelArn"]
    old = send(chat, kept, ana, "old")
    identity.put_app_instance_retention_settings(AppInstanceArn=instance,
                                                 AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 1}})
    srv.set_clock_offset(2 * 86400)
    new = send(chat, kept, ana, "new")
    # Retention hides the old message at once; the expired channel acts alive until the sweep.
    with pytest.raises(ClientError) as e:
        chat.get_channel_message(ChannelArn=kept, MessageId=old, ChimeBearer=ana)
    assert error_of(e) == (404, "NotFoundException")
    assert [m["MessageId"] for m in all_pages(chat, ChannelArn=kept, ChimeBearer=ana)] == [new]
    assert chat.describe_channel(ChannelArn=short, ChimeBearer=ana)["Channel"]["Name"] == "short"
    status, swept = srv.control("POST", "/_carillon/expiration-sweep")
    assert status == 200 and swept == {"deleted": 0, "channels": 1, "messages": 0}, swept
    with pytest.raises(ClientError) as e:
        chat.describe_channel(ChannelArn=short, ChimeBearer=ana)
    assert error_of(e) == (404, "NotFoundException")
    # Thirty days after the retention was put, the sweep deletes the hidden message for good.
    srv.set_clock_offset(32 * 86400)
    status, swept = srv.control("POST", "/_carillon/expiration-sweep")
    assert status == 200 and swept["messages"] >= 1, swept
    identity.put_app_instance_retention_settings(AppInstanceArn=instance, AppInstanceRetentionSettings={})
    assert old not in [m["MessageId"] for m in all_pages(chat, ChannelArn=kept, ChimeBearer=ana)]


def test_create_channel_keeps_to_the_moderator_quota(make_server, account):
    """The creator and ModeratorArns count against --quota-channel-moderators, as
    CreateChannelModerator's do (docs/behaviour.md, "Limits")."""
    srv = make_server(["--quota-channel-moderators", "3"])
    identity, chat = srv.client(account), srv.messaging(account)
    instance = identity.create_app_instance(Name="mods", ClientRequestToken="t-mods")["AppInstanceArn"]
    users = [identity.create_app_instance_user(AppInstanceArn=instance, AppInstanceUserId=f"u{i}", Name=f"U{i}",
                                               ClientRequestToken=f"t-u{i}")["AppInstanceUserArn"] for i in range(4)]
    with pytest.raises(ClientError) as e:
        chat.create_channel(AppInstanceArn=instance, Name="many", ChimeBearer=users[0], ModeratorArns=users[1:])
    assert error_of(e) == (400, "ResourceLimitExceededException")
    assert chat.list_channels(AppInstanceArn=instance, ChimeBearer=users[0])["Channels"] == []
    channel = chat.create_channel(AppInstanceArn=instance, Name="enough", ChimeBearer=users[0], ModeratorArns=users[1:3])["ChannelArn"]
    mods = chat.list_channel_moderators(ChannelArn=channel, ChimeBearer=users[0])["ChannelModerators"]
    assert [m["Moderator"]["Arn"] for m in mods] == users[:3]


def test_last_message_expiration_counts_from_a_last_message_timestamp_that_never_moves_back(make_server, account):
    """A send made while the service clock is set back moves neither LastMessageTimestamp nor the
    LAST_MESSAGE_TIMESTAMP expiration that counts from it (docs/behaviour.md, "Messaging")."""
    srv = make_server()
    identity, chat = srv.client(account), srv.messaging(account)
    instance = identity.create_app_instance(Name="exp", ClientRequestToken="t-exp")["AppInstanceArn"]
    ana = identity.create_app_instance_user(AppInstanceArn=instance, AppInstanceUserId="ana", Name="Ana",
                                            ClientRequestToken="t-ana")["AppInstanceUserArn"]
    channel = chat.create_channel(AppInstanceArn=instance, Name="room", ChimeBearer=ana,
                                  ExpirationSettings={"ExpirationDays": 1, "ExpirationCriterion": "LAST_MESSAGE_TIMESTAMP"})["ChannelArn"]
    send(chat, channel, ana, "now")
    last = chat.describe_channel(ChannelArn=channel, ChimeBearer=ana)["Channel"]["LastMessageTimestamp"]
    srv.set_clock_offset(-12 * 3600)
    send(chat, channel, ana, "earlier")
    assert chat.describe_channel(ChannelArn=channel, ChimeBearer=ana)["Channel"]["LastMessageTimestamp"] == last
    # 13 hours after the last message: a day has not passed since it, so the channel stays.
    srv.set_clock_offset(13 * 3600)
    status, swept = srv.control("POST", "/_carillon/expiration-sweep")
    assert status == 200 and swept["channels"] == 0, swept
    assert chat.describe_channel(ChannelArn=channel, ChimeBearer=ana)["Channel"]["Name"] == "room"
    srv.set_clock_offset(25 * 3600)
    status, swept = srv.control("POST", "/_carillon/expiration-sweep")
    assert status == 200 and swept["channels"] == 1, swept


def test_a_message_retention_hides_cannot_be_deleted_and_shows_again(make_server, account):
    """Retention hides a message from Delete too (404): turning retention off before the sweep shows it
    again, whole (docs/behaviour.md, "Messaging")."""
    srv = make_server()
    identity, chat = srv.client(account), srv.messaging(account)
    instance = identity.create_app_instance(Name="kept", ClientRequestToken="t-kept")["AppInstanceArn"]
    ana = identity.create_app_instance_user(AppInstanceArn=instance, AppInstanceUserId="ana", Name="Ana",
                                            ClientRequestToken="t-ana")["AppInstanceUserArn"]
    identity.create_app_instance_admin(AppInstanceAdminArn=ana, AppInstanceArn=instance)
    channel = chat.create_channel(AppInstanceArn=instance, Name="room", ChimeBearer=ana)["ChannelArn"]
    old = send(chat, channel, ana, "old")
    identity.put_app_instance_retention_settings(AppInstanceArn=instance,
                                                 AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 1}})
    srv.set_clock_offset(2 * 86400)
    with pytest.raises(ClientError) as e:
        chat.delete_channel_message(ChannelArn=channel, MessageId=old, ChimeBearer=ana)
    assert error_of(e) == (404, "NotFoundException")
    identity.put_app_instance_retention_settings(AppInstanceArn=instance, AppInstanceRetentionSettings={})
    assert chat.get_channel_message(ChannelArn=channel, MessageId=old, ChimeBearer=ana)["ChannelMessage"]["Content"] == "old"


def test_the_websocket_session_is_not_served_yet(server):
    r = server.raw("GET", "/connect?userArn=arn%3Aaws%3Achime%3Aus-east-1%3A111122223333%3Aapp-instance%2Fa%2Fuser%2Fu&sessionId=1")
    assert r.status == 501
    assert r.headers["x-amzn-ErrorType"].startswith("NotImplementedException")
    assert r.json() == {"Code": "NotImplemented", "Message": "Carillon does not implement the messaging session (GET /connect) yet"}
