"""User expiration (docs/behaviour.md, "Expiration"): the sweep deletes users whose CreatedTimestamp + ExpirationDays has
passed, with their cascade. The test moves the server clock, so this module has a server of its own."""
import pytest

from carillon_util import create_app_instance, create_user, raises, register_endpoint

DAY = 86400
ONE_DAY = {"ExpirationDays": 1, "ExpirationCriterion": "CREATED_TIMESTAMP"}
FIVE_DAYS = {"ExpirationDays": 5, "ExpirationCriterion": "CREATED_TIMESTAMP"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import start_server

    # A long automatic interval so that only the control-plane sweep runs during the test.
    srv = start_server(tmp_path_factory.mktemp("carillon-expiration"), ["--expiration-sweep-interval", "3600"])
    yield srv
    srv.stop()


def test_expired_user_is_swept_with_its_cascade(server, client):
    app = create_app_instance(client, "expiring")
    doomed = create_user(client, app, "doomed", ExpirationSettings=ONE_DAY, Tags=[{"Key": "k", "Value": "v"}])
    later = create_user(client, app, "later", ExpirationSettings=FIVE_DAYS)
    forever = create_user(client, app, "forever")
    put_later = create_user(client, app, "put:later@x")
    client.put_app_instance_user_expiration_settings(AppInstanceUserArn=put_later, ExpirationSettings=ONE_DAY)
    removed = create_user(client, app, "removed", ExpirationSettings=ONE_DAY)
    client.put_app_instance_user_expiration_settings(AppInstanceUserArn=removed)
    eids = [register_endpoint(client, doomed) for _ in range(2)]
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=doomed)
    client.create_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=forever)

    # Until its time has come, an expiring user looks and acts alive.
    assert server.sweep() == 0
    assert client.describe_app_instance_user(AppInstanceUserArn=doomed)["AppInstanceUser"]["ExpirationSettings"] == ONE_DAY
    client.update_app_instance_user(AppInstanceUserArn=doomed, Name="still here", Metadata="")

    try:
        server.set_clock_offset(2 * DAY)
        assert server.sweep() == 2
        for gone in (doomed, put_later):
            with raises(client, "NotFoundException", 404):
                client.describe_app_instance_user(AppInstanceUserArn=gone)
        for eid in eids:
            with raises(client, "NotFoundException", 404):
                client.describe_app_instance_user_endpoint(AppInstanceUserArn=doomed, EndpointId=eid)
        with raises(client, "NotFoundException", 404):
            client.describe_app_instance_admin(AppInstanceArn=app, AppInstanceAdminArn=doomed)
        with raises(client, "NotFoundException", 404):
            client.list_app_instance_user_endpoints(AppInstanceUserArn=doomed)
        with raises(client, "NotFoundException", 404):
            client.list_tags_for_resource(ResourceARN=doomed)
        users = [u["AppInstanceUserArn"] for u in client.list_app_instance_users(AppInstanceArn=app)["AppInstanceUsers"]]
        assert users == [later, forever, removed]
        admins = [a["Admin"]["Arn"] for a in client.list_app_instance_admins(AppInstanceArn=app)["AppInstanceAdmins"]]
        assert admins == [forever]
        assert server.sweep() == 0

        server.set_clock_offset(6 * DAY)
        assert server.sweep() == 1
        with raises(client, "NotFoundException", 404):
            client.describe_app_instance_user(AppInstanceUserArn=later)
        users = [u["AppInstanceUserArn"] for u in client.list_app_instance_users(AppInstanceArn=app)["AppInstanceUsers"]]
        assert users == [forever, removed]
    finally:
        server.set_clock_offset(0)


def test_background_sweep_runs_at_the_configured_interval(make_server):
    import time

    srv = make_server(["--expiration-sweep-interval", "1", "--clock-offset", "0"])
    c = srv.client()
    app = create_app_instance(c, "bg")
    user = create_user(c, app, "bg", ExpirationSettings=ONE_DAY)
    srv.set_clock_offset(2 * DAY)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            c.describe_app_instance_user(AppInstanceUserArn=user)
        except c.exceptions.NotFoundException:
            return
        time.sleep(0.2)
    pytest.fail("the background sweep (interval 1 s) did not delete the expired user within 10 s")
