"""Durability (docs/behaviour.md, "Durability and concurrency"): everything a 2xx answered is there after the server restarts on the same database."""
import pytest

from carillon_util import (
    create_app_instance,
    create_bot,
    create_user,
    lex_configuration,
    list_all,
    register_endpoint,
    strip_meta,
    token,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import start_server

    srv = start_server(tmp_path_factory.mktemp("carillon-durability"))
    yield srv
    srv.stop()


def snapshot(client, world):
    """Every read of the world, full responses minus ResponseMetadata."""
    app, users, bot, endpoints = world["app"], world["users"], world["bot"], world["endpoints"]
    s = {
        "apps": list_all(client.list_app_instances, "AppInstances")[0],
        "app": strip_meta(client.describe_app_instance(AppInstanceArn=app)),
        "users": strip_meta(client.list_app_instance_users(AppInstanceArn=app)),
        "bots": strip_meta(client.list_app_instance_bots(AppInstanceArn=app)),
        "bot": strip_meta(client.describe_app_instance_bot(AppInstanceBotArn=bot)),
        "admins": strip_meta(client.list_app_instance_admins(AppInstanceArn=app)),
        "retention": strip_meta(client.get_app_instance_retention_settings(AppInstanceArn=app)),
        "app_tags": strip_meta(client.list_tags_for_resource(ResourceARN=app)),
        "bot_tags": strip_meta(client.list_tags_for_resource(ResourceARN=bot)),
    }
    for u in users:
        s[f"user {u}"] = strip_meta(client.describe_app_instance_user(AppInstanceUserArn=u))
        s[f"user tags {u}"] = strip_meta(client.list_tags_for_resource(ResourceARN=u))
        s[f"endpoints {u}"] = strip_meta(client.list_app_instance_user_endpoints(AppInstanceUserArn=u))
        s[f"admin {u}"] = strip_meta(client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=u))
    for u, eid in endpoints:
        s[f"endpoint {u} {eid}"] = strip_meta(client.describe_app_instance_user_endpoint(AppInstanceUserArn=u, EndpointId=eid))
    s["paged users"] = list_all(client.list_app_instance_users, "AppInstanceUsers", AppInstanceArn=app, MaxResults=1)[0]
    return s


def test_everything_survives_a_restart(server, account):
    client = server.client(account)
    app_token = token()
    app = create_app_instance(client, "Durable ✓ 日本語", Metadata="méta 😀", Tags=[{"Key": "clé", "Value": "valeur 😀"}],
                              ClientRequestToken=app_token)
    create_app_instance(client, "second")
    alice = create_user(client, app, "alice:a@b.c", "Alice Ünïcødé",
                        Metadata="m", Tags=[{"Key": "t1", "Value": "v1"}, {"Key": "t0", "Value": "v0"}],
                        ExpirationSettings={"ExpirationDays": 5475, "ExpirationCriterion": "CREATED_TIMESTAMP"})
    bob = create_user(client, app, "bob", "Bob")
    bot = create_bot(client, app, name="Bøt 🤖", Metadata="bot-md", Tags=[{"Key": "b", "Value": "c"}],
                     Configuration=lex_configuration(InvokedBy={"StandardMessages": "AUTO", "TargetedMessages": "NONE"},
                                                     WelcomeIntent="Hello"))
    for u in (alice, bob):
        client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=u)
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=bot)
    endpoints = []
    for i, (u, name) in enumerate([(alice, "Téléphone d'Alice 📱"), (alice, "平板"), (bob, "")]):
        eid = register_endpoint(client, u, name=name, endpoint_type=["APNS", "GCM", "APNS_SANDBOX"][i],
                                AllowMessages=["ALL", "NONE", "ALL"][i])
        endpoints.append((u, eid))
    client.update_app_instance_user_endpoint(AppInstanceUserArn=alice, EndpointId=endpoints[0][1], Name="Renamed 📱", AllowMessages="NONE")
    status, _ = server.set_endpoint_state(bob, endpoints[2][1], "INACTIVE", "INVALID_PINPOINT_ARN")
    assert status == 200
    client.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 42}})
    client.tag_resource(ResourceARN=app, Tags=[{"Key": "added", "Value": "later"}])
    client.update_app_instance(AppInstanceArn=app, Name="Durable ✓ 日本語 v2", Metadata="méta 😀")
    gone = create_user(client, app, "gone")
    client.delete_app_instance_user(AppInstanceUserArn=gone)

    world = {"app": app, "users": [alice, bob], "bot": bot, "endpoints": endpoints}
    before = snapshot(client, world)
    assert before["app"]["AppInstance"]["Name"] == "Durable ✓ 日本語 v2"
    assert before["endpoint %s %s" % endpoints[0]]["AppInstanceUserEndpoint"]["Name"] == "Renamed 📱"

    server.restart()
    client = server.client(account)
    after = snapshot(client, world)
    assert after == before
    with pytest.raises(client.exceptions.NotFoundException):
        client.describe_app_instance_user(AppInstanceUserArn=gone)

    # Idempotency records survive too: the replayed Create answers the same ARN and makes nothing new.
    replay = client.create_app_instance(Name="Durable ✓ 日本語", Metadata="méta 😀", Tags=[{"Key": "clé", "Value": "valeur 😀"}],
                                        ClientRequestToken=app_token)
    assert replay["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert replay["AppInstanceArn"] == app
    assert snapshot(client, world) == before

    # A second restart changes nothing either.
    server.restart()
    client = server.client(account)
    assert snapshot(client, world) == before


def test_acknowledged_writes_survive_sigkill(server, account):
    """A 2xx means the change is stored: kill -9 right after the answers, start again, everything is there."""
    import concurrent.futures

    client = server.client(account)
    app = create_app_instance(client, "crash")
    clients = [server.client(account) for _ in range(4)]

    def work(i):
        c = clients[i % 4]
        user = create_user(c, app, f"crash-{i}", f"Crash {i} ✓")
        eid = register_endpoint(c, user, name=f"端末 {i}")
        c.tag_resource(ResourceARN=user, Tags=[{"Key": "i", "Value": str(i)}])
        return user, eid

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        made = list(pool.map(work, range(24)))
    client.update_app_instance(AppInstanceArn=app, Name="crash after update", Metadata="last write")

    server.proc.kill()
    server.proc.wait()
    server.proc = None
    server.start()
    client = server.client(account)
    assert client.describe_app_instance(AppInstanceArn=app)["AppInstance"]["Metadata"] == "last write"
    users = list_all(client.list_app_instance_users, "AppInstanceUsers", AppInstanceArn=app)[0]
    assert sorted(u["AppInstanceUserArn"] for u in users) == sorted(u for u, _ in made)
    for user, eid in made:
        ep = client.describe_app_instance_user_endpoint(AppInstanceUserArn=user, EndpointId=eid)["AppInstanceUserEndpoint"]
        assert ep["Name"].startswith("端末 ")
        assert client.list_tags_for_resource(ResourceARN=user)["Tags"][0]["Key"] == "i"
