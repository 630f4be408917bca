"""The AWS CLI (v1, from the test environment) against Carillon through --endpoint-url."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from carillon_util import ENDPOINT_ID_RE, app_instance_arn_re


def aws_executable():
    candidate = pathlib.Path(sys.executable).parent / "aws"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("aws")
    if not found:
        pytest.fail("the AWS CLI (`aws`, awscli from tests/python/requirements.txt) is not installed", pytrace=False)
    return found


@pytest.fixture
def aws(server, account, tmp_path):
    exe = aws_executable()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    })

    def run(*args, check=True):
        cmd = [exe, "chime-sdk-identity", *args, "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert proc.returncode == 0, f"{' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc

    return run


def test_cli_endpoint_lifecycle(aws, account):
    app = aws("create-app-instance", "--name", "cli app", "--client-request-token", "cli-token-1")["AppInstanceArn"]
    assert app_instance_arn_re(account).fullmatch(app), app
    user = aws("create-app-instance-user", "--app-instance-arn", app, "--app-instance-user-id", "user:a@b.c",
               "--name", "CLI user", "--client-request-token", "cli-token-2")["AppInstanceUserArn"]
    assert user == f"{app}/user/user:a@b.c"

    resource = f"arn:aws:mobiletargeting:us-east-1:{account}:apps/cliapp"
    reg = aws("register-app-instance-user-endpoint", "--app-instance-user-arn", user, "--name", "CLI phone",
              "--type", "APNS", "--resource-arn", resource, "--endpoint-attributes", "DeviceToken=cli-device",
              "--client-request-token", "cli-token-3")
    assert reg["AppInstanceUserArn"] == user
    eid = reg["EndpointId"]
    assert ENDPOINT_ID_RE.fullmatch(eid)

    upd = aws("update-app-instance-user-endpoint", "--app-instance-user-arn", user, "--endpoint-id", eid,
              "--name", "Renamed phone", "--allow-messages", "NONE")
    assert upd == {"AppInstanceUserArn": user, "EndpointId": eid}

    ep = aws("describe-app-instance-user-endpoint", "--app-instance-user-arn", user, "--endpoint-id", eid)["AppInstanceUserEndpoint"]
    assert ep["AppInstanceUserArn"] == user and ep["EndpointId"] == eid
    assert ep["Name"] == "Renamed phone" and ep["Type"] == "APNS" and ep["ResourceArn"] == resource
    assert ep["EndpointAttributes"] == {"DeviceToken": "cli-device"}
    assert ep["AllowMessages"] == "NONE"
    assert ep["EndpointState"] == {"Status": "ACTIVE"}
    # AWS CLI v1 prints timestamps as the wire sent them (cli_timestamp_format "none"): epoch seconds.
    assert isinstance(ep["CreatedTimestamp"], (int, float)) and ep["CreatedTimestamp"] < ep["LastUpdatedTimestamp"]

    listed = aws("list-app-instance-user-endpoints", "--app-instance-user-arn", user)
    assert [(e["EndpointId"], e["Name"], e["AllowMessages"]) for e in listed["AppInstanceUserEndpoints"]] == \
        [(eid, "Renamed phone", "NONE")]

    assert aws("deregister-app-instance-user-endpoint", "--app-instance-user-arn", user, "--endpoint-id", eid) is None
    assert aws("list-app-instance-user-endpoints", "--app-instance-user-arn", user)["AppInstanceUserEndpoints"] == []


def test_cli_error(aws, account):
    missing = f"arn:aws:chime:us-east-1:{account}:app-instance/00000000-0000-4000-8000-000000000000"
    proc = aws("describe-app-instance", "--app-instance-arn", missing, check=False)
    assert proc.returncode in (254, 255), (proc.returncode, proc.stderr)
    assert "NotFoundException" in proc.stderr, proc.stderr
    proc = aws("create-app-instance-user", "--app-instance-arn", missing, "--app-instance-user-id=-bad-",
               "--name", "x", check=False)
    assert proc.returncode in (254, 255), (proc.returncode, proc.stderr)
    assert "BadRequestException" in proc.stderr and "appInstanceUserId" in proc.stderr, proc.stderr
