"""Bots, admins, retention and expiration settings, tags (docs/behaviour.md, "Resources") through boto3."""
import datetime
import re
import time

import pytest

from carillon_util import (
    LEX_ALIAS,
    UUID_RE,
    create_app_instance,
    create_bot,
    create_user,
    lex_configuration,
    raises,
    register_endpoint,
    status_of,
    strip_meta,
    tamper,
    token,
)


@pytest.fixture
def app(client):
    return create_app_instance(client, "app")


# -- bots ----------------------------------------------------------------------------------------------


def test_bot_lifecycle(client, app):
    config = {"Lex": {
        "RespondsTo": "STANDARD_MESSAGES",
        "InvokedBy": {"StandardMessages": "MENTIONS", "TargetedMessages": "ALL"},
        "LexBotAliasArn": LEX_ALIAS, "LocaleId": "en_US", "WelcomeIntent": "Welcome_Intent",
    }}
    resp = client.create_app_instance_bot(AppInstanceArn=app, Name="Helper", Metadata="md", Configuration=config,
                                          ClientRequestToken=token())
    assert status_of(resp) == 201
    assert set(strip_meta(resp)) == {"AppInstanceBotArn"}
    bot = resp["AppInstanceBotArn"]
    assert bot.startswith(app + "/bot/") and len(bot.rsplit("/", 1)[1]) == 36
    assert re.fullmatch(UUID_RE, bot.rsplit("/", 1)[1])

    got = client.describe_app_instance_bot(AppInstanceBotArn=bot)
    assert status_of(got) == 200
    b = got["AppInstanceBot"]
    assert set(b) == {"AppInstanceBotArn", "Name", "Configuration", "CreatedTimestamp", "LastUpdatedTimestamp", "Metadata"}
    assert (b["AppInstanceBotArn"], b["Name"], b["Metadata"], b["Configuration"]) == (bot, "Helper", "md", config)
    assert b["CreatedTimestamp"] == b["LastUpdatedTimestamp"]

    resp = client.update_app_instance_bot(AppInstanceBotArn=bot, Name="Helper 2", Metadata="")
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceBotArn": bot}
    b2 = client.describe_app_instance_bot(AppInstanceBotArn=bot)["AppInstanceBot"]
    assert (b2["Name"], b2["Metadata"], b2["Configuration"]) == ("Helper 2", "", config)
    assert b2["LastUpdatedTimestamp"] > b["LastUpdatedTimestamp"] and b2["CreatedTimestamp"] == b["CreatedTimestamp"]

    new_config = lex_configuration(LocaleId="fr_FR")
    client.update_app_instance_bot(AppInstanceBotArn=bot, Name="Helper 3", Metadata="x", Configuration=new_config)
    assert client.describe_app_instance_bot(AppInstanceBotArn=bot)["AppInstanceBot"]["Configuration"] == new_config

    second = create_bot(client, app, name="Second")
    listed = client.list_app_instance_bots(AppInstanceArn=app)
    assert status_of(listed) == 200
    assert listed["AppInstanceArn"] == app
    assert listed["AppInstanceBots"] == [
        {"AppInstanceBotArn": bot, "Name": "Helper 3", "Metadata": "x"},
        {"AppInstanceBotArn": second, "Name": "Second"},
    ]

    assert status_of(client.delete_app_instance_bot(AppInstanceBotArn=bot)) == 204
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_bot(AppInstanceBotArn=bot)
    with raises(client, "NotFoundException", 404):
        client.delete_app_instance_bot(AppInstanceBotArn=bot)
    with raises(client, "NotFoundException", 404):
        client.update_app_instance_bot(AppInstanceBotArn=bot, Name="x", Metadata="")
    assert [x["AppInstanceBotArn"] for x in client.list_app_instance_bots(AppInstanceArn=app)["AppInstanceBots"]] == [second]


@pytest.mark.parametrize("lex, message", [
    (lex_configuration(LexBotAliasArn="arn:aws:lex:us-east-1:123456789012:bot-alias/abcdefghij/KLMNOPQRST"),
     "Value 'arn:aws:lex:us-east-1:123456789012:bot-alias/abcdefghij/KLMNOPQRST' at 'configuration.lex.lexBotAliasArn' "
     "failed to satisfy constraint: Member must satisfy regular expression pattern: "
     "arn:aws:lex:[a-z]{2}-[a-z]+-\\d{1}:\\d{12}:bot-alias/[A-Z0-9]{10}/[A-Z0-9]{10}"),
    (lex_configuration(LexBotAliasArn="arn:aws:chime:us-east-1:123456789012:app-instance/x"),
     "at 'configuration.lex.lexBotAliasArn' failed to satisfy constraint: Member must satisfy regular expression pattern"),
    ({"Lex": {"LexBotAliasArn": LEX_ALIAS}},
     "Value null at 'configuration.lex.localeId' failed to satisfy constraint: Member must not be null"),
    ({"Lex": {"LocaleId": "en_US"}},
     "Value null at 'configuration.lex.lexBotAliasArn' failed to satisfy constraint: Member must not be null"),
    ({}, "Value null at 'configuration.lex' failed to satisfy constraint: Member must not be null"),
    (lex_configuration(InvokedBy={"StandardMessages": "ALL"}),
     "Value null at 'configuration.lex.invokedBy.targetedMessages' failed to satisfy constraint: Member must not be null"),
    (lex_configuration(InvokedBy={"StandardMessages": "SOME", "TargetedMessages": "ALL"}),
     "Value 'SOME' at 'configuration.lex.invokedBy.standardMessages' failed to satisfy constraint: "
     "Member must satisfy enum value set: [AUTO, ALL, MENTIONS, NONE]"),
    (lex_configuration(WelcomeIntent="Bad Intent"),
     "Value 'Bad Intent' at 'configuration.lex.welcomeIntent' failed to satisfy constraint: "
     "Member must satisfy regular expression pattern: ^([A-Za-z]_?)+$"),
    (lex_configuration(RespondsTo="EVERYTHING"),
     "Value 'EVERYTHING' at 'configuration.lex.respondsTo' failed to satisfy constraint: "
     "Member must satisfy enum value set: [STANDARD_MESSAGES]"),
])
def test_bot_configuration_is_validated(client, raw_client, app, lex, message):
    with raises(raw_client, "BadRequestException", 400, message):
        raw_client.create_app_instance_bot(AppInstanceArn=app, Name="b", Configuration=lex, ClientRequestToken=token())
    bot = create_bot(client, app)
    with raises(raw_client, "BadRequestException", 400, message):
        raw_client.update_app_instance_bot(AppInstanceBotArn=bot, Name="b", Metadata="", Configuration=lex)
    assert client.list_app_instance_bots(AppInstanceArn=app)["AppInstanceBots"] == [{"AppInstanceBotArn": bot, "Name": "bot"}]


def test_bot_update_requires_name_and_metadata(client, raw_client, app):
    bot = create_bot(client, app)
    with raises(raw_client, "BadRequestException", 400, "Value null at 'metadata' failed to satisfy constraint: Member must not be null"):
        raw_client.update_app_instance_bot(AppInstanceBotArn=bot, Name="n")
    with raises(raw_client, "BadRequestException", 400, "Value null at 'name' failed to satisfy constraint: Member must not be null"):
        raw_client.update_app_instance_bot(AppInstanceBotArn=bot, Metadata="m")


def test_bot_idempotency_and_errors(client, make_client, account, app):
    tok = token()
    args = dict(AppInstanceArn=app, Name="idem", Configuration=lex_configuration(), ClientRequestToken=tok)
    a = client.create_app_instance_bot(**args)
    b = client.create_app_instance_bot(**args)
    assert status_of(a) == status_of(b) == 201 and a["AppInstanceBotArn"] == b["AppInstanceBotArn"]
    with raises(client, "BadRequestException", 400):
        client.create_app_instance_bot(**dict(args, Name="other"))
    missing = f"arn:aws:chime:us-east-1:{account}:app-instance/00000000-0000-4000-8000-000000000000"
    with raises(client, "NotFoundException", 404):
        create_bot(client, missing)
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_bot(AppInstanceBotArn=f"{app}/bot/00000000-0000-4000-8000-000000000000")
    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.describe_app_instance_bot(AppInstanceBotArn=a["AppInstanceBotArn"])
    with raises(stranger, "ForbiddenException", 403):
        create_bot(stranger, app)


def test_bot_quota(make_server):
    srv = make_server(["--quota-bots", "2"])
    c = srv.client()
    app = create_app_instance(c, "bots")
    create_bot(c, app)
    create_bot(c, app)
    with raises(c, "ResourceLimitExceededException", 400):
        create_bot(c, app)


# -- admins --------------------------------------------------------------------------------------------


def test_admin_lifecycle(client, app):
    user = create_user(client, app, "boss", "The Boss")
    bot = create_bot(client, app, name="Robo")
    resp = client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    assert status_of(resp) == 201
    assert strip_meta(resp) == {"AppInstanceAdmin": {"Arn": user, "Name": "The Boss"}, "AppInstanceArn": app}
    resp = client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=bot)
    assert strip_meta(resp) == {"AppInstanceAdmin": {"Arn": bot, "Name": "Robo"}, "AppInstanceArn": app}

    got = client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    assert status_of(got) == 200
    admin = got["AppInstanceAdmin"]
    assert set(admin) == {"Admin", "AppInstanceArn", "CreatedTimestamp"}
    assert admin["Admin"] == {"Arn": user, "Name": "The Boss"}
    assert admin["AppInstanceArn"] == app
    assert isinstance(admin["CreatedTimestamp"], datetime.datetime)

    listed = client.list_app_instance_admins(AppInstanceArn=app)
    assert status_of(listed) == 200
    assert listed["AppInstanceArn"] == app
    assert listed["AppInstanceAdmins"] == [{"Admin": {"Arn": user, "Name": "The Boss"}}, {"Admin": {"Arn": bot, "Name": "Robo"}}]
    assert "NextToken" not in listed

    # The Describe shows the current name of the user.
    client.update_app_instance_user(AppInstanceUserArn=user, Name="New Boss", Metadata="")
    assert client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)["AppInstanceAdmin"]["Admin"]["Name"] == "New Boss"

    assert status_of(client.delete_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)) == 204
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    with raises(client, "NotFoundException", 404):
        client.delete_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    # Demoting keeps the user.
    assert client.describe_app_instance_user(AppInstanceUserArn=user)["AppInstanceUser"]["Name"] == "New Boss"
    assert [a["Admin"]["Arn"] for a in client.list_app_instance_admins(AppInstanceArn=app)["AppInstanceAdmins"]] == [bot]
    # And the user can be promoted again.
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)


def test_admin_errors(client, make_client, app):
    user = create_user(client, app, "u")
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    with raises(client, "ConflictException", 409):
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)

    other_app = create_app_instance(client, "other")
    foreign_user = create_user(client, other_app, "f")
    foreign_bot = create_bot(client, other_app)
    with raises(client, "BadRequestException", 400):
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=foreign_user)
    with raises(client, "BadRequestException", 400):
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=foreign_bot)

    with raises(client, "NotFoundException", 404):
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=f"{app}/user/nobody")
    with raises(client, "NotFoundException", 404):
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=f"{app}/bot/00000000-0000-4000-8000-000000000000")
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=f"{app}/user/nobody")

    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.list_app_instance_admins(AppInstanceArn=app)
    with raises(stranger, "ForbiddenException", 403):
        stranger.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    with raises(stranger, "ForbiddenException", 403):
        stranger.delete_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)


def test_admin_quota(make_server):
    srv = make_server(["--quota-admins", "1"])
    c = srv.client()
    app = create_app_instance(c, "admins")
    a, b = create_user(c, app, "a"), create_user(c, app, "b")
    c.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=a)
    with raises(c, "ResourceLimitExceededException", 400):
        c.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=b)


def test_deleting_a_bot_removes_its_admin_role_and_tags(client, app):
    bot = create_bot(client, app, Tags=[{"Key": "k", "Value": "v"}])
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=bot)
    client.delete_app_instance_bot(AppInstanceBotArn=bot)
    assert client.list_app_instance_admins(AppInstanceArn=app)["AppInstanceAdmins"] == []
    with raises(client, "NotFoundException", 404):
        client.list_tags_for_resource(ResourceARN=bot)


# -- retention -----------------------------------------------------------------------------------------


def test_retention_settings(client, raw_client, app):
    resp = client.get_app_instance_retention_settings(AppInstanceArn=app)
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceRetentionSettings": {}}

    put_at = time.time()
    resp = client.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 60}})
    assert status_of(resp) == 200
    assert resp["AppInstanceRetentionSettings"] == {"ChannelRetentionSettings": {"RetentionDays": 60}}
    initiate = resp["InitiateDeletionTimestamp"]
    assert isinstance(initiate, datetime.datetime)
    assert abs(initiate.timestamp() - (put_at + 30 * 86400)) < 60, "InitiateDeletionTimestamp must be the Put time + 30 days"

    got = client.get_app_instance_retention_settings(AppInstanceArn=app)
    assert strip_meta(got) == strip_meta(resp)

    client.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 5475}})
    assert client.get_app_instance_retention_settings(AppInstanceArn=app)["AppInstanceRetentionSettings"] == \
        {"ChannelRetentionSettings": {"RetentionDays": 5475}}

    # Turning retention off.
    client.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {}})
    off = client.get_app_instance_retention_settings(AppInstanceArn=app)["AppInstanceRetentionSettings"]
    assert "RetentionDays" not in off.get("ChannelRetentionSettings", {}), off

    for days, msg in ((0, "Member must have value greater than or equal to 1"), (5476, "Member must have value less than or equal to 5475")):
        with raises(raw_client, "BadRequestException", 400,
                    f"Value '{days}' at 'appInstanceRetentionSettings.channelRetentionSettings.retentionDays' failed to satisfy constraint: {msg}"):
            raw_client.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": days}})
    with raises(raw_client, "BadRequestException", 400,
                "Value null at 'appInstanceRetentionSettings' failed to satisfy constraint: Member must not be null"):
        raw_client.put_app_instance_retention_settings(AppInstanceArn=app)


def test_retention_errors(client, make_client, account, app):
    missing = f"arn:aws:chime:us-east-1:{account}:app-instance/00000000-0000-4000-8000-000000000000"
    with raises(client, "NotFoundException", 404):
        client.get_app_instance_retention_settings(AppInstanceArn=missing)
    with raises(client, "NotFoundException", 404):
        client.put_app_instance_retention_settings(AppInstanceArn=missing, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 1}})
    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.get_app_instance_retention_settings(AppInstanceArn=app)
    with raises(stranger, "ForbiddenException", 403):
        stranger.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 1}})


# -- expiration settings -------------------------------------------------------------------------------


def test_expiration_settings(client, raw_client, make_client, app):
    settings = {"ExpirationDays": 3, "ExpirationCriterion": "CREATED_TIMESTAMP"}
    user = create_user(client, app, "temp", ExpirationSettings=settings)
    assert client.describe_app_instance_user(AppInstanceUserArn=user)["AppInstanceUser"]["ExpirationSettings"] == settings

    plain = create_user(client, app, "plain")
    assert "ExpirationSettings" not in client.describe_app_instance_user(AppInstanceUserArn=plain)["AppInstanceUser"]
    new = {"ExpirationDays": 5475, "ExpirationCriterion": "CREATED_TIMESTAMP"}
    resp = client.put_app_instance_user_expiration_settings(AppInstanceUserArn=plain, ExpirationSettings=new)
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceUserArn": plain, "ExpirationSettings": new}
    assert client.describe_app_instance_user(AppInstanceUserArn=plain)["AppInstanceUser"]["ExpirationSettings"] == new

    # A Put without ExpirationSettings removes them.
    resp = client.put_app_instance_user_expiration_settings(AppInstanceUserArn=user)
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceUserArn": user}
    assert "ExpirationSettings" not in client.describe_app_instance_user(AppInstanceUserArn=user)["AppInstanceUser"]

    for bad, msg in (
        ({"ExpirationDays": 0, "ExpirationCriterion": "CREATED_TIMESTAMP"},
         "Value '0' at 'expirationSettings.expirationDays' failed to satisfy constraint: Member must have value greater than or equal to 1"),
        ({"ExpirationDays": 5476, "ExpirationCriterion": "CREATED_TIMESTAMP"},
         "Value '5476' at 'expirationSettings.expirationDays' failed to satisfy constraint: Member must have value less than or equal to 5475"),
        ({"ExpirationDays": 1, "ExpirationCriterion": "LAST_MESSAGE_TIMESTAMP"},
         "Value 'LAST_MESSAGE_TIMESTAMP' at 'expirationSettings.expirationCriterion' failed to satisfy constraint: Member must satisfy enum value set: [CREATED_TIMESTAMP]"),
        ({"ExpirationDays": 1},
         "Value null at 'expirationSettings.expirationCriterion' failed to satisfy constraint: Member must not be null"),
    ):
        with raises(raw_client, "BadRequestException", 400, msg):
            raw_client.put_app_instance_user_expiration_settings(AppInstanceUserArn=plain, ExpirationSettings=bad)
        with raises(raw_client, "BadRequestException", 400, msg):
            raw_client.create_app_instance_user(AppInstanceArn=app, AppInstanceUserId="x", Name="x", ExpirationSettings=bad, ClientRequestToken=token())

    with raises(client, "NotFoundException", 404):
        client.put_app_instance_user_expiration_settings(AppInstanceUserArn=f"{app}/user/ghost", ExpirationSettings=settings)
    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.put_app_instance_user_expiration_settings(AppInstanceUserArn=plain, ExpirationSettings=settings)


# -- tags ----------------------------------------------------------------------------------------------


def tags_of(client, arn):
    resp = client.list_tags_for_resource(ResourceARN=arn)
    assert status_of(resp) == 200
    return resp["Tags"]


def test_tags_order_replace_untag(client, app):
    user = create_user(client, app, "tagged", Tags=[{"Key": "b", "Value": "1"}, {"Key": "a", "Value": "2"}])
    bot = create_bot(client, app)
    assert tags_of(client, app) == []
    assert tags_of(client, user) == [{"Key": "b", "Value": "1"}, {"Key": "a", "Value": "2"}]

    for arn in (app, user, bot):
        resp = client.tag_resource(ResourceARN=arn, Tags=[{"Key": "zeta", "Value": "z"}, {"Key": "alpha", "Value": "a"}])
        assert status_of(resp) == 204
        resp = client.tag_resource(ResourceARN=arn, Tags=[{"Key": "mid", "Value": "m"}, {"Key": "zeta", "Value": "Z2"}])
        assert status_of(resp) == 204
    expected = [{"Key": "zeta", "Value": "Z2"}, {"Key": "alpha", "Value": "a"}, {"Key": "mid", "Value": "m"}]
    assert tags_of(client, app) == expected
    assert tags_of(client, bot) == expected
    assert tags_of(client, user) == [{"Key": "b", "Value": "1"}, {"Key": "a", "Value": "2"}] + expected

    resp = client.untag_resource(ResourceARN=app, TagKeys=["alpha", "not-there"])
    assert status_of(resp) == 204
    assert tags_of(client, app) == [{"Key": "zeta", "Value": "Z2"}, {"Key": "mid", "Value": "m"}]
    resp = client.untag_resource(ResourceARN=app, TagKeys=["never-set"])
    assert status_of(resp) == 204
    assert tags_of(client, app) == [{"Key": "zeta", "Value": "Z2"}, {"Key": "mid", "Value": "m"}]


def test_tags_at_creation(client):
    app = create_app_instance(client, "tagged", Tags=[{"Key": "env", "Value": "prod"}, {"Key": "é😀", "Value": "v" * 256}])
    assert tags_of(client, app) == [{"Key": "env", "Value": "prod"}, {"Key": "é😀", "Value": "v" * 256}]


@pytest.mark.parametrize("tags", [
    [{"Key": "aws:reserved", "Value": "v"}],
    [{"Key": "ok", "Value": "v"}, {"Key": "aws:x", "Value": "v"}],
    [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}],
])
def test_bad_tags_are_rejected(client, app, tags):
    client.tag_resource(ResourceARN=app, Tags=[{"Key": "keep", "Value": "k"}])
    with raises(client, "BadRequestException", 400):
        client.tag_resource(ResourceARN=app, Tags=tags)
    assert tags_of(client, app) == [{"Key": "keep", "Value": "k"}], "a rejected request must change nothing"
    with raises(client, "BadRequestException", 400):
        create_app_instance(client, "bad tags", Tags=tags)
    with raises(client, "BadRequestException", 400):
        create_user(client, app, "badtags", Tags=tags)
    assert [a["AppInstanceArn"] for a in client.list_app_instances()["AppInstances"]] == [app]
    assert client.list_app_instance_users(AppInstanceArn=app)["AppInstanceUsers"] == []


def test_untag_aws_prefix_rejected(client, app):
    with raises(client, "BadRequestException", 400):
        client.untag_resource(ResourceARN=app, TagKeys=["aws:x"])


def test_tag_limit(client, raw_client, app):
    client.tag_resource(ResourceARN=app, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    assert len(tags_of(client, app)) == 50
    # Replacing the value of an existing key is not a new tag.
    client.tag_resource(ResourceARN=app, Tags=[{"Key": "k00", "Value": "changed"}])
    assert tags_of(client, app)[0] == {"Key": "k00", "Value": "changed"}
    with raises(client, "ResourceLimitExceededException", 400):
        client.tag_resource(ResourceARN=app, Tags=[{"Key": "k50", "Value": "v"}])
    with raises(client, "ResourceLimitExceededException", 400):
        client.tag_resource(ResourceARN=app, Tags=[{"Key": "k01", "Value": "x"}, {"Key": "k51", "Value": "v"}])
    assert len(tags_of(client, app)) == 50
    assert tags_of(client, app)[1] == {"Key": "k01", "Value": "v"}, "a rejected request must change nothing"
    # 51 tags in one request is a model violation.
    with raises(raw_client, "BadRequestException", 400,
                "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"):
        raw_client.tag_resource(ResourceARN=app, Tags=[{"Key": f"n{i}", "Value": "v"} for i in range(51)])


def test_tag_errors(client, make_client, account, app):
    missing = f"arn:aws:chime:us-east-1:{account}:app-instance/00000000-0000-4000-8000-000000000000"
    with raises(client, "NotFoundException", 404):
        client.tag_resource(ResourceARN=missing, Tags=[{"Key": "k", "Value": "v"}])
    with raises(client, "NotFoundException", 404):
        client.untag_resource(ResourceARN=missing, TagKeys=["k"])
    with raises(client, "NotFoundException", 404):
        client.list_tags_for_resource(ResourceARN=missing)
    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.tag_resource(ResourceARN=app, Tags=[{"Key": "k", "Value": "v"}])
    with raises(stranger, "ForbiddenException", 403):
        stranger.untag_resource(ResourceARN=app, TagKeys=["k"])
    with raises(stranger, "ForbiddenException", 403):
        stranger.list_tags_for_resource(ResourceARN=app)


# -- pagination of the five lists ----------------------------------------------------------------------


def _make_lists(client):
    """Five of each listable thing in a fresh account; returns {name: (call, key, kwargs, arns, other kwargs)}."""
    apps = [create_app_instance(client, f"app{i}") for i in range(5)]
    app, other = apps[0], apps[1]
    users = [create_user(client, app, f"user{i}", f"User {i}") for i in range(5)]
    create_user(client, other, "otheruser")
    bots = [create_bot(client, app, name=f"Bot {i}") for i in range(5)]
    create_bot(client, other)
    admins = users[:3] + bots[:2]
    for a in admins:
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=a)
    other_admin = create_user(client, other, "otheradmin")
    client.create_app_instance_admin(AppInstanceArn=other, AppInstanceAdminArn=other_admin)
    endpoints = [register_endpoint(client, users[0], name=f"ep{i}") for i in range(5)]
    register_endpoint(client, users[1])
    return {
        "apps": (client.list_app_instances, "AppInstances", {}, apps, None, lambda x: x["AppInstanceArn"]),
        "users": (client.list_app_instance_users, "AppInstanceUsers", {"AppInstanceArn": app}, users,
                  {"AppInstanceArn": other}, lambda x: x["AppInstanceUserArn"]),
        "bots": (client.list_app_instance_bots, "AppInstanceBots", {"AppInstanceArn": app}, bots,
                 {"AppInstanceArn": other}, lambda x: x["AppInstanceBotArn"]),
        "admins": (client.list_app_instance_admins, "AppInstanceAdmins", {"AppInstanceArn": app}, admins,
                   {"AppInstanceArn": other}, lambda x: x["Admin"]["Arn"]),
        "endpoints": (client.list_app_instance_user_endpoints, "AppInstanceUserEndpoints", {"AppInstanceUserArn": users[0]},
                      endpoints, {"AppInstanceUserArn": users[1]}, lambda x: x["EndpointId"]),
    }


@pytest.fixture
def lists(client):
    return _make_lists(client)


@pytest.mark.parametrize("kind", ["apps", "users", "bots", "admins", "endpoints"])
def test_list_pagination(client, raw_client, make_client, lists, kind):
    call, key, kwargs, expected, other_kwargs, ident = lists[kind]
    # Default page size 50: one page.
    whole = call(**kwargs)
    assert [ident(x) for x in whole[key]] == expected
    assert "NextToken" not in whole
    for size in (1, 2, 4, 5, 50):
        pages, got, tok = 0, [], None
        while True:
            resp = call(**kwargs, MaxResults=size, **({"NextToken": tok} if tok else {}))
            pages += 1
            assert len(resp[key]) <= size
            got += [ident(x) for x in resp[key]]
            tok = resp.get("NextToken")
            if not tok:
                break
            assert len(resp[key]) == size
        assert got == expected, f"MaxResults={size}"
        assert pages == -(-len(expected) // size), f"MaxResults={size}: {pages} pages"

    first = call(**kwargs, MaxResults=2)
    tok = first["NextToken"]
    assert isinstance(tok, str) and tok
    for bad in (tamper(tok), tok[:-4], tok[: len(tok) // 2], "not-a-token", tok + "x"):
        if bad == tok:
            continue
        with raises(client, "BadRequestException", 400):
            call(**kwargs, MaxResults=2, NextToken=bad)
    if other_kwargs is not None:
        with raises(client, "BadRequestException", 400):
            call(**other_kwargs, MaxResults=2, NextToken=tok)
    # A token is tied to the caller: another account's list rejects it.
    stranger = make_client()
    if kind == "apps":
        with raises(stranger, "BadRequestException", 400):
            getattr(stranger, call.__name__)(MaxResults=2, NextToken=tok)
    # A token of another operation.
    if kind != "apps":
        with raises(client, "BadRequestException", 400):
            client.list_app_instances(MaxResults=2, NextToken=tok)
    for bad_size, msg in ((0, "greater than or equal to 1"), (51, "less than or equal to 50")):
        with raises(raw_client, "BadRequestException", 400,
                    f"Value '{bad_size}' at 'maxResults' failed to satisfy constraint: Member must have value {msg}"):
            getattr(raw_client, call.__name__)(**kwargs, MaxResults=bad_size)


def test_pagination_stable_under_concurrent_changes(client):
    app = create_app_instance(client, "churn")
    users = [create_user(client, app, f"u{i}") for i in range(6)]
    page = client.list_app_instance_users(AppInstanceArn=app, MaxResults=2)
    seen = [u["AppInstanceUserArn"] for u in page["AppInstanceUsers"]]
    assert seen == users[:2]
    # Delete an item already seen, the item the token points after, and one not yet seen.
    client.delete_app_instance_user(AppInstanceUserArn=users[0])
    client.delete_app_instance_user(AppInstanceUserArn=users[1])
    client.delete_app_instance_user(AppInstanceUserArn=users[4])
    new = create_user(client, app, "late")
    tok = page["NextToken"]
    while tok:
        page = client.list_app_instance_users(AppInstanceArn=app, MaxResults=2, NextToken=tok)
        seen += [u["AppInstanceUserArn"] for u in page["AppInstanceUsers"]]
        tok = page.get("NextToken")
    assert len(seen) == len(set(seen)), "an item came twice"
    for survivor in (users[2], users[3], users[5]):
        assert survivor in seen, "an item that existed throughout was skipped"
    assert users[4] not in seen
    assert seen[:2] == users[:2]
    assert seen[2:4] == [users[2], users[3]]
    if new in seen:
        assert seen.index(users[5]) < seen.index(new)

