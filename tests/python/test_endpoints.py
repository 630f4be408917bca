"""The AppInstanceUserEndpoint lifecycle (docs/behaviour.md, "Resources"), through boto3."""
import datetime
import time

import pytest

from carillon_util import (
    ENDPOINT_ID_RE,
    create_app_instance,
    create_user,
    list_all,
    pinpoint_arn,
    raises,
    register_endpoint,
    status_of,
    strip_meta,
    token,
)

DESCRIBE_MEMBERS = {
    "AppInstanceUserArn", "EndpointId", "Name", "Type", "ResourceArn", "EndpointAttributes",
    "CreatedTimestamp", "LastUpdatedTimestamp", "AllowMessages", "EndpointState",
}
SUMMARY_MEMBERS = {"AppInstanceUserArn", "EndpointId", "Name", "Type", "AllowMessages", "EndpointState"}


@pytest.fixture
def user(client):
    app = create_app_instance(client, "endpoints")
    return create_user(client, app, "alice", "Alice")


def describe(client, user_arn, endpoint_id):
    resp = client.describe_app_instance_user_endpoint(AppInstanceUserArn=user_arn, EndpointId=endpoint_id)
    assert status_of(resp) == 200
    return resp["AppInstanceUserEndpoint"]


def test_register_describe_list_deregister(client, account, user):
    resource = pinpoint_arn(account)
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    resp = client.register_app_instance_user_endpoint(
        AppInstanceUserArn=user, Name="Alice's phone", Type="APNS", ResourceArn=resource,
        EndpointAttributes={"DeviceToken": "device-token-1", "VoipDeviceToken": "voip-token-1"},
        ClientRequestToken=token(),
    )
    assert status_of(resp) == 201
    assert set(strip_meta(resp)) == {"AppInstanceUserArn", "EndpointId"}
    assert resp["AppInstanceUserArn"] == user
    eid = resp["EndpointId"]
    assert ENDPOINT_ID_RE.fullmatch(eid), eid

    ep = describe(client, user, eid)
    assert set(ep) == DESCRIBE_MEMBERS, ep
    assert ep["AppInstanceUserArn"] == user
    assert ep["EndpointId"] == eid
    assert ep["Name"] == "Alice's phone"
    assert ep["Type"] == "APNS"
    assert ep["ResourceArn"] == resource
    assert ep["EndpointAttributes"] == {"DeviceToken": "device-token-1", "VoipDeviceToken": "voip-token-1"}
    assert ep["AllowMessages"] == "ALL"
    assert ep["EndpointState"] == {"Status": "ACTIVE"}
    assert isinstance(ep["CreatedTimestamp"], datetime.datetime)
    assert isinstance(ep["LastUpdatedTimestamp"], datetime.datetime)
    assert ep["CreatedTimestamp"] == ep["LastUpdatedTimestamp"]
    after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)
    assert before <= ep["CreatedTimestamp"] <= after

    listed = client.list_app_instance_user_endpoints(AppInstanceUserArn=user)
    assert status_of(listed) == 200
    assert "NextToken" not in listed
    assert listed["AppInstanceUserEndpoints"] == [{
        "AppInstanceUserArn": user, "EndpointId": eid, "Name": "Alice's phone", "Type": "APNS",
        "AllowMessages": "ALL", "EndpointState": {"Status": "ACTIVE"},
    }]

    resp = client.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)
    assert status_of(resp) == 204
    with raises(client, "NotFoundException", 404):
        describe(client, user, eid)
    with raises(client, "NotFoundException", 404):
        client.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)
    with raises(client, "NotFoundException", 404):
        client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="x")
    assert client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"] == []


def test_register_without_name_and_other_types(client, user):
    gcm = register_endpoint(client, user, endpoint_type="GCM", name=None, AllowMessages="NONE")
    sandbox = register_endpoint(client, user, endpoint_type="APNS_SANDBOX", name="")
    ep = describe(client, user, gcm)
    assert ep["Type"] == "GCM"
    assert ep["AllowMessages"] == "NONE"
    assert "VoipDeviceToken" not in ep["EndpointAttributes"]
    ep2 = describe(client, user, sandbox)
    assert ep2["Type"] == "APNS_SANDBOX"
    assert ep2["Name"] == ""
    assert gcm != sandbox


def test_list_pagination(client, user):
    ids = [register_endpoint(client, user, name=f"ep{i}") for i in range(5)]
    for page_size in (1, 2, 3, 5):
        items, pages = list_all(client.list_app_instance_user_endpoints, "AppInstanceUserEndpoints",
                                AppInstanceUserArn=user, MaxResults=page_size)
        assert [e["EndpointId"] for e in items] == ids, f"MaxResults={page_size}"
        assert pages == -(-5 // page_size), f"MaxResults={page_size}: {pages} pages (the last page has no NextToken)"
        assert [e["Name"] for e in items] == [f"ep{i}" for i in range(5)]
    first = client.list_app_instance_user_endpoints(AppInstanceUserArn=user, MaxResults=1)
    assert len(first["AppInstanceUserEndpoints"]) == 1 and first["NextToken"]
    last = client.list_app_instance_user_endpoints(AppInstanceUserArn=user, MaxResults=5)
    assert len(last["AppInstanceUserEndpoints"]) == 5
    assert "NextToken" not in last


def test_update_name_only_allow_only_both_neither(client, user):
    eid = register_endpoint(client, user, name="original")
    created = describe(client, user, eid)

    resp = client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="renamed")
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceUserArn": user, "EndpointId": eid}
    ep = describe(client, user, eid)
    assert ep["Name"] == "renamed" and ep["AllowMessages"] == "ALL"
    assert ep["CreatedTimestamp"] == created["CreatedTimestamp"]
    assert ep["LastUpdatedTimestamp"] > created["LastUpdatedTimestamp"]
    previous = ep

    resp = client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, AllowMessages="NONE")
    assert status_of(resp) == 200
    ep = describe(client, user, eid)
    assert ep["Name"] == "renamed" and ep["AllowMessages"] == "NONE"
    assert ep["LastUpdatedTimestamp"] > previous["LastUpdatedTimestamp"]
    previous = ep

    resp = client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="both", AllowMessages="ALL")
    assert status_of(resp) == 200
    ep = describe(client, user, eid)
    assert ep["Name"] == "both" and ep["AllowMessages"] == "ALL"
    assert ep["LastUpdatedTimestamp"] > previous["LastUpdatedTimestamp"]
    previous = ep

    time.sleep(0.01)
    resp = client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)
    assert status_of(resp) == 200
    assert strip_meta(resp) == {"AppInstanceUserArn": user, "EndpointId": eid}
    ep = describe(client, user, eid)
    assert ep == previous, "an Update with neither Name nor AllowMessages must change nothing"

    resp = client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="")
    assert status_of(resp) == 200
    ep = describe(client, user, eid)
    assert ep["Name"] == ""
    assert ep["AllowMessages"] == "ALL"
    # Type, ResourceArn and attributes are never touched by Update.
    for k in ("Type", "ResourceArn", "EndpointAttributes", "EndpointState", "CreatedTimestamp"):
        assert ep[k] == created[k], k


def test_idempotent_register_replay(client, account, user):
    tok = token()
    resource = pinpoint_arn(account)
    args = dict(AppInstanceUserArn=user, Name="p", Type="GCM", ResourceArn=resource,
                EndpointAttributes={"DeviceToken": "replayed-token"}, ClientRequestToken=tok)
    first = client.register_app_instance_user_endpoint(**args)
    second = client.register_app_instance_user_endpoint(**args)
    assert status_of(first) == status_of(second) == 201
    assert strip_meta(first) == strip_meta(second)
    listed = client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]
    assert [e["EndpointId"] for e in listed] == [first["EndpointId"]]

    changed = dict(args, Name="another name")
    with raises(client, "BadRequestException", 400):
        client.register_app_instance_user_endpoint(**changed)
    changed = dict(args, EndpointAttributes={"DeviceToken": "another-device"})
    with raises(client, "BadRequestException", 400):
        client.register_app_instance_user_endpoint(**changed)
    assert len(client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]) == 1


def test_same_device_token_other_client_token_conflicts(client, user):
    register_endpoint(client, user, device_token="shared-device")
    with raises(client, "ConflictException", 409):
        register_endpoint(client, user, device_token="shared-device")
    with raises(client, "ConflictException", 409):
        register_endpoint(client, user, device_token="shared-device", endpoint_type="GCM", name="other")
    assert len(client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]) == 1


def test_same_device_token_for_another_user_is_fine(client, user):
    app = user.split("/user/")[0]
    other = create_user(client, app, "bob", "Bob")
    a = register_endpoint(client, user, device_token="same-device")
    b = register_endpoint(client, other, device_token="same-device")
    assert describe(client, user, a)["EndpointAttributes"]["DeviceToken"] == "same-device"
    assert describe(client, other, b)["EndpointAttributes"]["DeviceToken"] == "same-device"


def test_eleventh_endpoint_exceeds_quota(client, user):
    ids = [register_endpoint(client, user) for _ in range(10)]
    with raises(client, "ResourceLimitExceededException", 400):
        register_endpoint(client, user)
    assert len(list_all(client.list_app_instance_user_endpoints, "AppInstanceUserEndpoints", AppInstanceUserArn=user)[0]) == 10
    client.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=ids[0])
    register_endpoint(client, user)


def test_deregistered_endpoint_id_not_reused(client, user):
    first = register_endpoint(client, user, device_token="dev")
    client.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=first)
    second = register_endpoint(client, user, device_token="dev")
    assert second != first


def test_endpoint_id_of_another_user_is_not_found(client, user):
    app = user.split("/user/")[0]
    other = create_user(client, app, "carol", "Carol")
    theirs = register_endpoint(client, other)
    with raises(client, "NotFoundException", 404):
        describe(client, user, theirs)
    with raises(client, "NotFoundException", 404):
        client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=theirs, Name="hijack")
    with raises(client, "NotFoundException", 404):
        client.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=theirs)
    assert describe(client, other, theirs)["Name"] == "phone"


def test_voip_device_token_with_gcm_is_rejected(client, user):
    with raises(client, "BadRequestException", 400):
        register_endpoint(client, user, endpoint_type="GCM",
                          EndpointAttributes={"DeviceToken": "d", "VoipDeviceToken": "v"})
    register_endpoint(client, user, endpoint_type="APNS_SANDBOX",
                      EndpointAttributes={"DeviceToken": "d", "VoipDeviceToken": "v"})


@pytest.mark.parametrize("resource", [
    "arn:aws:sns:us-east-1:{account}:app/GCM/myapp",
    "arn:aws:mobiletargeting:us-east-1:{account}:apps",
    "arn:aws:mobiletargeting:us-east-1:{account}:segments/abc",
    "arn:aws:chime:us-east-1:{account}:app-instance/abc",
])
def test_resource_arn_not_a_pinpoint_app(client, account, user, resource):
    with raises(client, "BadRequestException", 400):
        register_endpoint(client, user, resource_arn=resource.format(account=account))


def test_resource_arn_of_another_account_or_region_is_forbidden(client, account, user):
    with raises(client, "ForbiddenException", 403):
        register_endpoint(client, user, resource_arn=pinpoint_arn("999999999999"))
    with raises(client, "ForbiddenException", 403):
        register_endpoint(client, user, resource_arn=pinpoint_arn(account, region="eu-west-1"))


def test_user_that_does_not_exist(client, user):
    ghost = user.rsplit("/", 1)[0] + "/nobody"
    with raises(client, "NotFoundException", 404):
        register_endpoint(client, ghost)
    with raises(client, "NotFoundException", 404):
        client.list_app_instance_user_endpoints(AppInstanceUserArn=ghost)
    with raises(client, "NotFoundException", 404):
        describe(client, ghost, "abc")
    with raises(client, "NotFoundException", 404):
        client.deregister_app_instance_user_endpoint(AppInstanceUserArn=ghost, EndpointId="abc")


def test_endpoint_of_another_account_is_forbidden(client, make_client, user):
    eid = register_endpoint(client, user)
    stranger = make_client()
    with raises(stranger, "ForbiddenException", 403):
        stranger.describe_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)
    with raises(stranger, "ForbiddenException", 403):
        stranger.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="x")
    with raises(stranger, "ForbiddenException", 403):
        stranger.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)
    with raises(stranger, "ForbiddenException", 403):
        stranger.list_app_instance_user_endpoints(AppInstanceUserArn=user)
    with raises(stranger, "ForbiddenException", 403):
        register_endpoint(stranger, user)
    assert describe(client, user, eid)["Name"] == "phone"


@pytest.mark.parametrize("user_id", ["user:a@b.c", "a.b-c_d:e@f", "x@y"])
def test_user_ids_with_colon_and_at_through_every_operation(client, account, user_id):
    app = create_app_instance(client, "special ids")
    user = create_user(client, app, user_id, "Special")
    assert user == f"{app}/user/{user_id}"
    got = client.describe_app_instance_user(AppInstanceUserArn=user)["AppInstanceUser"]
    assert got["AppInstanceUserArn"] == user

    eid = register_endpoint(client, user, name="special")
    ep = describe(client, user, eid)
    assert ep["AppInstanceUserArn"] == user and ep["Name"] == "special"
    resp = client.update_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid, Name="renamed", AllowMessages="NONE")
    assert strip_meta(resp) == {"AppInstanceUserArn": user, "EndpointId": eid}
    ep = describe(client, user, eid)
    assert (ep["Name"], ep["AllowMessages"]) == ("renamed", "NONE")
    listed = client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]
    assert [(e["EndpointId"], e["AppInstanceUserArn"]) for e in listed] == [(eid, user)]
    assert status_of(client.deregister_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)) == 204
    with raises(client, "NotFoundException", 404):
        describe(client, user, eid)
    assert status_of(client.delete_app_instance_user(AppInstanceUserArn=user)) == 204
    with raises(client, "NotFoundException", 404):
        client.describe_app_instance_user(AppInstanceUserArn=user)


def test_inactive_state_from_control_plane(server, client, user):
    eid = register_endpoint(client, user, name="dying")
    other = register_endpoint(client, user, name="healthy")
    status, body = server.set_endpoint_state(user, eid, "INACTIVE", "INVALID_DEVICE_TOKEN")
    assert status == 200, body
    ep = describe(client, user, eid)
    assert ep["EndpointState"] == {"Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}
    listed = {e["EndpointId"]: e for e in client.list_app_instance_user_endpoints(AppInstanceUserArn=user)["AppInstanceUserEndpoints"]}
    assert listed[eid]["EndpointState"] == {"Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}
    assert listed[other]["EndpointState"] == {"Status": "ACTIVE"}

    status, body = server.set_endpoint_state(user, other, "INACTIVE", "INVALID_PINPOINT_ARN")
    assert status == 200, body
    assert describe(client, user, other)["EndpointState"] == {"Status": "INACTIVE", "StatusReason": "INVALID_PINPOINT_ARN"}

    status, body = server.set_endpoint_state(user, eid, "ACTIVE")
    assert status == 200, body
    assert describe(client, user, eid)["EndpointState"] == {"Status": "ACTIVE"}
