"""AppInstances and AppInstanceUsers (docs/behaviour.md, "Resources") through boto3: lifecycle, limits, ownership, cascades."""
import datetime

import pytest

from carillon_util import (
    app_instance_arn_re,
    create_app_instance,
    create_bot,
    create_user,
    fake_app_instance_arn,
    list_all,
    raises,
    register_endpoint,
    status_of,
    strip_meta,
    token,
)

NAME_TOO_LONG = ("1 validation error detected: Value at 'name' failed to satisfy constraint: "
                 "Member must have length less than or equal to 256")
USER_NAME_TOO_LONG = ("1 validation error detected: Value at 'name' failed to satisfy constraint: "
                      "Member must have length less than or equal to 100")


def describe_app(client, arn):
    resp = client.describe_app_instance(AppInstanceArn=arn)
    assert status_of(resp) == 200
    return resp["AppInstance"]


def describe_user(client, arn):
    resp = client.describe_app_instance_user(AppInstanceUserArn=arn)
    assert status_of(resp) == 200
    return resp["AppInstanceUser"]


# -- AppInstances --------------------------------------------------------------------------------------


def test_app_instance_lifecycle(client, account):
    resp = client.create_app_instance(Name="My app", ClientRequestToken=token())
    assert status_of(resp) == 201
    assert set(strip_meta(resp)) == {"AppInstanceArn"}
    arn = resp["AppInstanceArn"]
    assert app_instance_arn_re(account).fullmatch(arn), arn

    app = describe_app(client, arn)
    assert set(app) == {"AppInstanceArn", "Name", "CreatedTimestamp", "LastUpdatedTimestamp"}, \
        "Metadata left out at creation must be absent from Describe"
    assert app["AppInstanceArn"] == arn and app["Name"] == "My app"
    assert isinstance(app["CreatedTimestamp"], datetime.datetime)
    assert app["CreatedTimestamp"] == app["LastUpdatedTimestamp"]

    resp = client.update_app_instance(AppInstanceArn=arn, Name="Renamed", Metadata="meta")
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceArn": arn}
    updated = describe_app(client, arn)
    assert (updated["Name"], updated["Metadata"]) == ("Renamed", "meta")
    assert updated["CreatedTimestamp"] == app["CreatedTimestamp"]
    assert updated["LastUpdatedTimestamp"] > app["LastUpdatedTimestamp"]

    resp = client.update_app_instance(AppInstanceArn=arn, Name="Renamed", Metadata="")
    assert status_of(resp) == 200
    assert describe_app(client, arn)["Metadata"] == ""

    listed = client.list_app_instances()
    assert status_of(listed) == 200
    assert listed["AppInstances"] == [{"AppInstanceArn": arn, "Name": "Renamed", "Metadata": ""}]
    assert "NextToken" not in listed

    resp = client.delete_app_instance(AppInstanceArn=arn)
    assert status_of(resp) == 204
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance(AppInstanceArn=arn)
    with raises(client, "NotFoundException", 404):
        client.delete_app_instance(AppInstanceArn=arn)
    with raises(client, "NotFoundException", 404):
        client.update_app_instance(AppInstanceArn=arn, Name="x", Metadata="y")
    assert client.list_app_instances()["AppInstances"] == []


def test_app_instance_with_metadata_and_same_names(client):
    a = create_app_instance(client, "same", Metadata="m1")
    b = create_app_instance(client, "same")
    assert a != b
    assert describe_app(client, a)["Metadata"] == "m1"
    assert "Metadata" not in describe_app(client, b)
    listed = client.list_app_instances()["AppInstances"]
    assert listed == [{"AppInstanceArn": a, "Name": "same", "Metadata": "m1"}, {"AppInstanceArn": b, "Name": "same"}]


@pytest.mark.parametrize("char", ["é", "😀", "中"])
def test_app_instance_name_length_in_code_points(client, raw_client, char):
    arn = create_app_instance(client, char * 256, Metadata=char * 1024)
    app = describe_app(client, arn)
    assert app["Name"] == char * 256 and app["Metadata"] == char * 1024
    with raises(raw_client, "BadRequestException", 400) as info:
        raw_client.create_app_instance(Name=char * 257, ClientRequestToken=token())
    assert info.value.response["Error"]["Message"] == NAME_TOO_LONG
    with raises(raw_client, "BadRequestException", 400) as info:
        raw_client.update_app_instance(AppInstanceArn=arn, Name=char * 257, Metadata="")
    assert info.value.response["Error"]["Message"] == NAME_TOO_LONG
    with raises(raw_client, "BadRequestException", 400) as info:
        raw_client.create_app_instance(Name="n", Metadata=char * 1025, ClientRequestToken=token())
    assert info.value.response["Error"]["Message"] == (
        "1 validation error detected: Value at 'metadata' failed to satisfy constraint: "
        "Member must have length less than or equal to 1024")


def test_update_app_instance_requires_name_and_metadata(client, raw_client):
    arn = create_app_instance(client, "needs both")
    with raises(raw_client, "BadRequestException", 400,
                "Value null at 'metadata' failed to satisfy constraint: Member must not be null"):
        raw_client.update_app_instance(AppInstanceArn=arn, Name="only name")
    with raises(raw_client, "BadRequestException", 400,
                "Value null at 'name' failed to satisfy constraint: Member must not be null"):
        raw_client.update_app_instance(AppInstanceArn=arn, Metadata="only metadata")
    with raises(raw_client, "BadRequestException", 400) as info:
        raw_client.update_app_instance(AppInstanceArn=arn, Name="", Metadata="")
    assert "Value at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1" in \
        info.value.response["Error"]["Message"]
    assert describe_app(client, arn)["Name"] == "needs both"


def test_create_app_instance_idempotency(client):
    tok = token()
    first = client.create_app_instance(Name="idem", Metadata="m", ClientRequestToken=tok)
    second = client.create_app_instance(Name="idem", Metadata="m", ClientRequestToken=tok)
    assert status_of(first) == status_of(second) == 201
    assert first["AppInstanceArn"] == second["AppInstanceArn"]
    assert len(client.list_app_instances()["AppInstances"]) == 1
    with raises(client, "BadRequestException", 400):
        client.create_app_instance(Name="idem", Metadata="other", ClientRequestToken=tok)
    assert len(client.list_app_instances()["AppInstances"]) == 1


def test_app_instance_of_another_account_or_region_is_forbidden(client, make_client, account):
    arn = create_app_instance(client, "mine")
    stranger = make_client()
    for call in (
        lambda c: c.describe_app_instance(AppInstanceArn=arn),
        lambda c: c.update_app_instance(AppInstanceArn=arn, Name="x", Metadata=""),
        lambda c: c.delete_app_instance(AppInstanceArn=arn),
        lambda c: c.list_app_instance_users(AppInstanceArn=arn),
        lambda c: c.create_app_instance_user(AppInstanceArn=arn, AppInstanceUserId="u", Name="u", ClientRequestToken=token()),
    ):
        with raises(stranger, "ForbiddenException", 403):
            call(stranger)
    elsewhere = make_client(account, region="eu-west-1")
    with raises(elsewhere, "ForbiddenException", 403):
        elsewhere.describe_app_instance(AppInstanceArn=arn)
    with raises(elsewhere, "ForbiddenException", 403):
        elsewhere.delete_app_instance(AppInstanceArn=arn)
    assert elsewhere.list_app_instances()["AppInstances"] == []
    assert stranger.list_app_instances()["AppInstances"] == []
    assert describe_app(client, arn)["Name"] == "mine"


def test_app_instance_that_does_not_exist(client, account):
    ghost = fake_app_instance_arn(account)
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance(AppInstanceArn=ghost)
    with raises(client, "NotFoundException", 404):
        client.delete_app_instance(AppInstanceArn=ghost)
    with raises(client, "NotFoundException", 404):
        client.list_app_instance_users(AppInstanceArn=ghost)


def test_app_instance_quota(make_server):
    srv = make_server(["--quota-app-instances", "3"])
    c = srv.client()
    for i in range(3):
        create_app_instance(c, f"a{i}")
    with raises(c, "ResourceLimitExceededException", 400):
        create_app_instance(c, "one too many")
    other = srv.client()
    create_app_instance(other, "another account has its own quota")


# -- AppInstanceUsers ---------------------------------------------------------------------------------


def test_user_lifecycle(client):
    app = create_app_instance(client, "users")
    resp = client.create_app_instance_user(AppInstanceArn=app, AppInstanceUserId="alice", Name="Alice", ClientRequestToken=token())
    assert status_of(resp) == 201
    assert strip_meta(resp) == {"AppInstanceUserArn": f"{app}/user/alice"}
    arn = resp["AppInstanceUserArn"]
    user = describe_user(client, arn)
    assert set(user) == {"AppInstanceUserArn", "Name", "CreatedTimestamp", "LastUpdatedTimestamp"}
    assert user["Name"] == "Alice"
    assert user["CreatedTimestamp"] == user["LastUpdatedTimestamp"]

    resp = client.update_app_instance_user(AppInstanceUserArn=arn, Name="Alice B", Metadata="")
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceUserArn": arn}
    updated = describe_user(client, arn)
    assert (updated["Name"], updated["Metadata"]) == ("Alice B", "")
    assert updated["CreatedTimestamp"] == user["CreatedTimestamp"]
    assert updated["LastUpdatedTimestamp"] > user["LastUpdatedTimestamp"]

    bob = create_user(client, app, "bob", "Bob", Metadata="bm")
    listed = client.list_app_instance_users(AppInstanceArn=app)
    assert listed["AppInstanceArn"] == app
    assert listed["AppInstanceUsers"] == [
        {"AppInstanceUserArn": arn, "Name": "Alice B", "Metadata": ""},
        {"AppInstanceUserArn": bob, "Name": "Bob", "Metadata": "bm"},
    ]
    assert "NextToken" not in listed

    assert status_of(client.delete_app_instance_user(AppInstanceUserArn=arn)) == 204
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_user(AppInstanceUserArn=arn)
    with raises(client, "NotFoundException", 404):
        client.delete_app_instance_user(AppInstanceUserArn=arn)
    with raises(client, "NotFoundException", 404):
        client.update_app_instance_user(AppInstanceUserArn=arn, Name="x", Metadata="")
    assert [u["AppInstanceUserArn"] for u in client.list_app_instance_users(AppInstanceArn=app)["AppInstanceUsers"]] == [bob]


def test_user_name_limits(client, raw_client):
    app = create_app_instance(client, "names")
    arn = create_user(client, app, "long", "é" * 100, Metadata="😀" * 1024)
    assert describe_user(client, arn)["Name"] == "é" * 100
    with raises(raw_client, "BadRequestException", 400) as info:
        raw_client.create_app_instance_user(AppInstanceArn=app, AppInstanceUserId="longer", Name="é" * 101, ClientRequestToken=token())
    assert info.value.response["Error"]["Message"] == USER_NAME_TOO_LONG
    with raises(raw_client, "BadRequestException", 400) as info:
        raw_client.update_app_instance_user(AppInstanceUserArn=arn, Name="😀" * 101, Metadata="")
    assert info.value.response["Error"]["Message"] == USER_NAME_TOO_LONG
    with raises(raw_client, "BadRequestException", 400, "Member must satisfy regular expression pattern"):
        raw_client.create_app_instance_user(AppInstanceArn=app, AppInstanceUserId="blank", Name="   ", ClientRequestToken=token())


@pytest.mark.parametrize("user_id", ["a", "a" * 64, "user:a@b.c", "A-b_c.d:e@f9"])
def test_user_id_accepted(client, user_id):
    app = create_app_instance(client, "ids")
    arn = create_user(client, app, user_id)
    assert arn == f"{app}/user/{user_id}"
    assert describe_user(client, arn)["AppInstanceUserArn"] == arn


@pytest.mark.parametrize("user_id", ["a" * 65, "-abc", "abc-", "a/b", "a b", "é"])
def test_user_id_rejected(client, raw_client, user_id):
    app = create_app_instance(client, "ids")
    with raises(raw_client, "BadRequestException", 400, "at 'appInstanceUserId' failed to satisfy constraint"):
        raw_client.create_app_instance_user(AppInstanceArn=app, AppInstanceUserId=user_id, Name="n", ClientRequestToken=token())


def test_duplicate_user_id_conflicts(client):
    app = create_app_instance(client, "dups")
    create_user(client, app, "same")
    with raises(client, "ConflictException", 409):
        create_user(client, app, "same", "Other")
    other_app = create_app_instance(client, "other")
    create_user(client, other_app, "same")


def test_create_user_idempotency(client):
    app = create_app_instance(client, "idem")
    tok = token()
    args = dict(AppInstanceArn=app, AppInstanceUserId="idem", Name="Idem", ClientRequestToken=tok)
    first = client.create_app_instance_user(**args)
    second = client.create_app_instance_user(**args)
    assert status_of(first) == status_of(second) == 201
    assert first["AppInstanceUserArn"] == second["AppInstanceUserArn"]
    with raises(client, "BadRequestException", 400):
        client.create_app_instance_user(**dict(args, Name="Different"))


def test_user_in_missing_app_instance(client, account):
    with raises(client, "NotFoundException", 404):
        create_user(client, fake_app_instance_arn(account), "u")


def test_user_of_another_account_or_region_is_forbidden(client, make_client, account):
    app = create_app_instance(client, "mine")
    arn = create_user(client, app, "mine")
    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.describe_app_instance_user(AppInstanceUserArn=arn)
    with raises(stranger, "ForbiddenException", 403):
        stranger.update_app_instance_user(AppInstanceUserArn=arn, Name="x", Metadata="")
    with raises(stranger, "ForbiddenException", 403):
        stranger.delete_app_instance_user(AppInstanceUserArn=arn)
    elsewhere = make_client(account, region="ap-south-1")
    with raises(elsewhere, "ForbiddenException", 403):
        elsewhere.describe_app_instance_user(AppInstanceUserArn=arn)
    assert describe_user(client, arn)["Name"] == "user"


def test_update_user_requires_name_and_metadata(client, raw_client):
    app = create_app_instance(client, "u")
    arn = create_user(client, app, "u")
    with raises(raw_client, "BadRequestException", 400, "Value null at 'metadata' failed to satisfy constraint: Member must not be null"):
        raw_client.update_app_instance_user(AppInstanceUserArn=arn, Name="n")
    with raises(raw_client, "BadRequestException", 400, "Value null at 'name' failed to satisfy constraint: Member must not be null"):
        raw_client.update_app_instance_user(AppInstanceUserArn=arn, Metadata="m")
    resp = client.update_app_instance_user(AppInstanceUserArn=arn, Name="n", Metadata="")
    assert status_of(resp) == 200


def test_user_list_pagination(client):
    app = create_app_instance(client, "many users")
    arns = [create_user(client, app, f"user{i}") for i in range(7)]
    items, pages = list_all(client.list_app_instance_users, "AppInstanceUsers", AppInstanceArn=app, MaxResults=3)
    assert [u["AppInstanceUserArn"] for u in items] == arns
    assert pages == 3


# -- cascades ----------------------------------------------------------------------------------------


def test_deleting_a_user_cascades(client):
    app = create_app_instance(client, "cascade")
    arn = create_user(client, app, "victim", Tags=[{"Key": "team", "Value": "blue"}])
    keep = create_user(client, app, "keeper")
    eids = [register_endpoint(client, arn) for _ in range(3)]
    keep_eid = register_endpoint(client, keep)
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=arn)
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=keep)
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "blue"}]

    assert status_of(client.delete_app_instance_user(AppInstanceUserArn=arn)) == 204
    for eid in eids:
        with raises(client, "NotFoundException", 404):
            client.describe_app_instance_user_endpoint(AppInstanceUserArn=arn, EndpointId=eid)
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=arn)
    admins = client.list_app_instance_admins(AppInstanceArn=app)["AppInstanceAdmins"]
    assert [a["Admin"]["Arn"] for a in admins] == [keep]
    with raises(client, "NotFoundException", 404):
        client.list_tags_for_resource(ResourceARN=arn)

    # The same id again starts with nothing: no endpoints, no admin role, no tags.
    again = create_user(client, app, "victim")
    assert again == arn
    assert client.list_app_instance_user_endpoints(AppInstanceUserArn=again)["AppInstanceUserEndpoints"] == []
    assert client.list_tags_for_resource(ResourceARN=again)["Tags"] == []
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=again)
    # The other user is untouched.
    assert client.describe_app_instance_user_endpoint(AppInstanceUserArn=keep, EndpointId=keep_eid)["AppInstanceUserEndpoint"]["EndpointId"] == keep_eid


def test_deleting_an_app_instance_cascades(client):
    app = create_app_instance(client, "doomed", Tags=[{"Key": "k", "Value": "v"}])
    other = create_app_instance(client, "survivor")
    user = create_user(client, app, "u1")
    bot = create_bot(client, app)
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=bot)
    eid = register_endpoint(client, user)
    client.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 7}})
    survivor_user = create_user(client, other, "u1")

    assert status_of(client.delete_app_instance(AppInstanceArn=app)) == 204
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_user(AppInstanceUserArn=user)
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_bot(AppInstanceBotArn=bot)
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=user)
    with raises(client, "NotFoundException", 404):
        client.list_app_instance_users(AppInstanceArn=app)
    with raises(client, "NotFoundException", 404):
        client.list_app_instance_bots(AppInstanceArn=app)
    with raises(client, "NotFoundException", 404):
        client.list_app_instance_admins(AppInstanceArn=app)
    with raises(client, "NotFoundException", 404):
        client.get_app_instance_retention_settings(AppInstanceArn=app)
    with raises(client, "NotFoundException", 404):
        client.list_tags_for_resource(ResourceARN=app)
    assert [a["AppInstanceArn"] for a in client.list_app_instances()["AppInstances"]] == [other]
    assert describe_user(client, survivor_user)["AppInstanceUserArn"] == survivor_user
