"""Chime SDK Messaging on the same server: a channel, a message sent with a push notification, and the push
outbox, which says what each recipient's endpoints would have received; `fail_pushes` makes a device token fail
as Pinpoint would, which turns its endpoint INACTIVE."""

ACCOUNT = "111122223333"  # the seed's AppInstance (../seed.yaml): Alice is its admin, Bob's endpoint takes no messages
APP = f"arn:aws:chime:us-east-1:{ACCOUNT}:app-instance/5a2e0f4c-1b6d-4a8e-9c3f-7d1e2b3a4c5d"
ALICE = f"{APP}/user/alice"
BOB = f"{APP}/user/bob"


def channel_of_alice_and_bob(carillon):
    chat = carillon.messaging_client(account=ACCOUNT)
    channel = chat.create_channel(AppInstanceArn=APP, Name="general", ChimeBearer=ALICE)["ChannelArn"]
    chat.create_channel_membership(ChannelArn=channel, MemberArn=BOB, Type="DEFAULT", ChimeBearer=ALICE)
    return chat, channel


def send(chat, channel, text):
    return chat.send_channel_message(
        ChannelArn=channel,
        Content=text,
        Type="STANDARD",
        Persistence="PERSISTENT",
        PushNotification={"Title": "general", "Body": text, "Type": "DEFAULT"},
        ChimeBearer=ALICE,
    )["MessageId"]


def test_a_message_is_pushed_to_the_endpoints_that_take_it(carillon):
    chat, channel = channel_of_alice_and_bob(carillon)
    message = send(chat, channel, "lunch?")
    listed = chat.list_channel_messages(ChannelArn=channel, ChimeBearer=BOB)["ChannelMessages"]
    assert [m["Content"] for m in listed] == ["lunch?"]
    entries = carillon.push_outbox(message_id=message)
    assert {(e["RecipientArn"], e.get("EndpointId"), e["Outcome"], e.get("Reason")) for e in entries} == {
        (ALICE, "alice-phone", "DELIVERED", None),
        (BOB, "bob-tablet", "SKIPPED", "ENDPOINT_ALLOW_MESSAGES_NONE"),
    }
    assert all("alice-device-token" not in str(e) for e in entries)  # tokens appear only as hashes


def test_a_failing_device_token_turns_its_endpoint_inactive(carillon):
    chat, channel = channel_of_alice_and_bob(carillon)
    carillon.fail_pushes(device_token="alice-device-token")
    message = send(chat, channel, "still there?")
    alice = [e for e in carillon.push_outbox(message_id=message) if e["RecipientArn"] == ALICE]
    assert [(e["Outcome"], e["Reason"]) for e in alice] == [("FAILED", "INVALID_DEVICE_TOKEN")]
    endpoint = carillon.client(account=ACCOUNT).describe_app_instance_user_endpoint(AppInstanceUserArn=ALICE, EndpointId="alice-phone")
    assert endpoint["AppInstanceUserEndpoint"]["EndpointState"] == {"Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}


def test_the_next_test_starts_with_no_channel_outbox_or_marker(carillon):
    chat = carillon.messaging_client(account=ACCOUNT)
    assert chat.list_channels(AppInstanceArn=APP, ChimeBearer=ALICE)["Channels"] == []
    assert carillon.push_outbox() == []
    assert carillon.push_failures() == []
    endpoint = carillon.client(account=ACCOUNT).describe_app_instance_user_endpoint(AppInstanceUserArn=ALICE, EndpointId="alice-phone")
    assert endpoint["AppInstanceUserEndpoint"]["EndpointState"] == {"Status": "ACTIVE"}
