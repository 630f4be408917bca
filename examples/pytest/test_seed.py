"""The seed (../seed.yaml): its resources, with fixed ARNs, are there at the start of every test."""

import pytest

ACCOUNT = "111122223333"
CHAT_DEV = f"arn:aws:chime:us-east-1:{ACCOUNT}:app-instance/5a2e0f4c-1b6d-4a8e-9c3f-7d1e2b3a4c5d"
ALICE = f"{CHAT_DEV}/user/alice"
BOB = f"{CHAT_DEV}/user/bob"


@pytest.fixture
def chime(carillon):
    return carillon.client(account=ACCOUNT)


def test_seeded_app_instance_and_users(chime):
    assert chime.describe_app_instance(AppInstanceArn=CHAT_DEV)["AppInstance"]["Name"] == "chat-dev"
    users = chime.list_app_instance_users(AppInstanceArn=CHAT_DEV)["AppInstanceUsers"]
    assert [u["AppInstanceUserArn"] for u in users] == [ALICE, BOB]
    tags = chime.list_tags_for_resource(ResourceARN=CHAT_DEV)["Tags"]
    assert tags == [{"Key": "team", "Value": "mobile"}]


def test_seeded_endpoint_state(chime):
    endpoints = chime.list_app_instance_user_endpoints(AppInstanceUserArn=BOB)["AppInstanceUserEndpoints"]
    assert [(e["EndpointId"], e["EndpointState"]["Status"]) for e in endpoints] == [("bob-tablet", "INACTIVE")]


def test_a_test_may_delete_seeded_resources(chime):
    chime.delete_app_instance_user(AppInstanceUserArn=ALICE)
    with pytest.raises(chime.exceptions.NotFoundException):
        chime.describe_app_instance_user(AppInstanceUserArn=ALICE)


def test_the_next_test_has_them_again(chime):
    user = chime.describe_app_instance_user(AppInstanceUserArn=ALICE)["AppInstanceUser"]
    assert user["Name"] == "Alice"
    endpoints = chime.list_app_instance_user_endpoints(AppInstanceUserArn=ALICE)["AppInstanceUserEndpoints"]
    assert [e["EndpointId"] for e in endpoints] == ["alice-phone"]
