"""What the web console's browser test (tests/node/console.test.js) shows, made with boto3.

    console_fixture.py populate URL ACCOUNT
        In open mode, account ACCOUNT: an AppInstance (metadata, tags, retention) with two users (one with
        expiration settings), three endpoints, one of them marked INACTIVE through the control plane, a bot
        and an admin. Prints what it made as JSON.
    console_fixture.py wrong-secret URL ACCESS_KEY_ID
        In sigv4 mode: one CreateAppInstance signed with a wrong secret. Prints the error code and the
        canonical request and string to sign boto3 computed, as JSON.
"""
import io
import json
import logging
import sys
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from carillon_util import create_app_instance, create_bot, create_user, lex_configuration, register_endpoint

# A value the console must show as text, never as markup.
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><b>bold</b>'


def client(url, key, secret):
    return boto3.session.Session().client(
        "chime-sdk-identity",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def populate(url, account):
    c = client(url, account, "x")
    app = create_app_instance(c, name="Console demo", Metadata=HOSTILE, Tags=[{"Key": "team", "Value": "push"}])
    c.put_app_instance_retention_settings(AppInstanceArn=app, AppInstanceRetentionSettings={"ChannelRetentionSettings": {"RetentionDays": 30}})
    alice = create_user(c, app, user_id="alice", name="Alice")
    bob = create_user(c, app, user_id="bob", name="Bob", Metadata="second user")
    c.put_app_instance_user_expiration_settings(
        AppInstanceUserArn=bob, ExpirationSettings={"ExpirationDays": 7, "ExpirationCriterion": "CREATED_TIMESTAMP"}
    )
    phone = register_endpoint(c, alice, device_token="alice-phone-token", name="Alice's phone")
    tablet = register_endpoint(c, alice, device_token="alice-tablet-token", endpoint_type="GCM", name="tablet", AllowMessages="NONE")
    laptop = register_endpoint(c, bob, device_token="bob-laptop-token", name="laptop")
    bot = create_bot(c, app, name="Helper bot", Configuration=lex_configuration())
    c.create_app_instance_admin(AppInstanceAdminArn=alice, AppInstanceArn=app)
    # the tablet's push failed: AWS would mark it so
    body = json.dumps(
        {"AppInstanceUserArn": alice, "EndpointId": tablet, "Status": "INACTIVE", "StatusReason": "INVALID_DEVICE_TOKEN"}
    ).encode()
    req = urllib.request.Request(f"{url}/_carillon/endpoint-state", data=body, method="PUT", headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200, resp.status
    return {
        "AppInstanceArn": app,
        "Users": {"alice": alice, "bob": bob},
        "Endpoints": {"phone": phone, "tablet": tablet, "laptop": laptop},
        "BotArn": bot,
        "Hostile": HOSTILE,
    }


def wrong_secret(url, key):
    # botocore logs what it signed at debug level: keep those lines
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.terminator = "\x00"
    auth_log = logging.getLogger("botocore.auth")
    auth_log.setLevel(logging.DEBUG)
    auth_log.addHandler(handler)
    try:
        client(url, key, "not-the-secret").create_app_instance(Name="signed with a wrong secret", ClientRequestToken="console-token-1")
    except ClientError as e:
        code = e.response["Error"]["Code"]
    else:
        raise AssertionError("a request signed with a wrong secret was accepted")
    records = [r for r in log.getvalue().split("\x00") if r.strip()]
    canonical = [r.split("\n", 1)[1] for r in records if r.startswith("CanonicalRequest:")]
    to_sign = [r.split("\n", 1)[1] for r in records if r.startswith("StringToSign:")]
    assert len(canonical) == 1 and len(to_sign) == 1, records
    return {"Code": code, "CanonicalRequest": canonical[0], "StringToSign": to_sign[0]}


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("populate", "wrong-secret"):
        sys.exit(__doc__)
    mode, url, who = sys.argv[1:]
    print(json.dumps(populate(url, who) if mode == "populate" else wrong_secret(url, who)))
