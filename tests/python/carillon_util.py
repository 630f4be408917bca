"""Helpers shared by the test modules: making resources through boto3 and asserting AWS-shaped errors."""
import contextlib
import datetime
import re
import uuid

import pytest
from botocore.exceptions import ClientError

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ENDPOINT_ID_RE = re.compile(r"[a-z0-9]{1,64}")
REQUEST_ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
LEX_ALIAS = "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST"


def token():
    """A fresh ClientRequestToken."""
    return uuid.uuid4().hex


def status_of(resp_or_err):
    if isinstance(resp_or_err, ClientError):
        return resp_or_err.response["ResponseMetadata"]["HTTPStatusCode"]
    return resp_or_err["ResponseMetadata"]["HTTPStatusCode"]


def strip_meta(resp):
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


@contextlib.contextmanager
def raises(client, name, status, message=None):
    """Asserts that the block raises the modeled exception `name` (client.exceptions.<name>) with HTTP
    `status`, and, when given, that the message contains `message`. Yields the pytest ExceptionInfo."""
    exc_class = getattr(client.exceptions, name)
    with pytest.raises(exc_class) as info:
        yield info
    err = info.value
    assert err.response["Error"]["Code"] == name, err.response
    assert status_of(err) == status, f"expected HTTP {status} for {name}, got {status_of(err)}: {err.response}"
    if message is not None:
        got = err.response["Error"]["Message"]
        assert message in got, f"expected message containing {message!r}, got {got!r}"


def app_instance_arn_re(account, region="us-east-1"):
    return re.compile(rf"arn:aws:chime:{region}:{account}:app-instance/{UUID_RE}")


def fake_app_instance_arn(account, region="us-east-1"):
    return f"arn:aws:chime:{region}:{account}:app-instance/{uuid.uuid4()}"


def pinpoint_arn(account, region="us-east-1", app_id=None):
    return f"arn:aws:mobiletargeting:{region}:{account}:apps/{app_id or uuid.uuid4().hex}"


def account_of(client):
    return client._request_signer._credentials.access_key


def region_of(client):
    return client.meta.region_name


def create_app_instance(client, name="app", **kw):
    kw.setdefault("ClientRequestToken", token())
    resp = client.create_app_instance(Name=name, **kw)
    assert status_of(resp) == 201, resp
    return resp["AppInstanceArn"]


def create_user(client, app_arn, user_id=None, name="user", **kw):
    kw.setdefault("ClientRequestToken", token())
    resp = client.create_app_instance_user(
        AppInstanceArn=app_arn, AppInstanceUserId=user_id or f"u-{uuid.uuid4().hex[:12]}", Name=name, **kw
    )
    assert status_of(resp) == 201, resp
    return resp["AppInstanceUserArn"]


def lex_configuration(**over):
    lex = {"LexBotAliasArn": LEX_ALIAS, "LocaleId": "en_US", "RespondsTo": "STANDARD_MESSAGES"}
    lex.update(over)
    return {"Lex": lex}


def create_bot(client, app_arn, name="bot", **kw):
    kw.setdefault("ClientRequestToken", token())
    kw.setdefault("Configuration", lex_configuration())
    resp = client.create_app_instance_bot(AppInstanceArn=app_arn, Name=name, **kw)
    assert status_of(resp) == 201, resp
    return resp["AppInstanceBotArn"]


def register_endpoint(client, user_arn, device_token=None, endpoint_type="APNS", name="phone", resource_arn=None, **kw):
    kw.setdefault("ClientRequestToken", token())
    attrs = kw.pop("EndpointAttributes", None) or {"DeviceToken": device_token or f"dt-{uuid.uuid4().hex}"}
    if resource_arn is None:
        resource_arn = pinpoint_arn(account_of(client), region_of(client))
    args = dict(AppInstanceUserArn=user_arn, Type=endpoint_type, ResourceArn=resource_arn, EndpointAttributes=attrs, **kw)
    if name is not None:
        args["Name"] = name
    resp = client.register_app_instance_user_endpoint(**args)
    assert status_of(resp) == 201, resp
    return resp["EndpointId"]


def list_all(call, key, **kw):
    """Follows NextToken to the end; returns (items, pages)."""
    items, pages, next_token = [], 0, None
    while True:
        args = dict(kw)
        if next_token:
            args["NextToken"] = next_token
        resp = call(**args)
        pages += 1
        items.extend(resp.get(key, []))
        next_token = resp.get("NextToken")
        if not next_token:
            return items, pages
        assert pages < 1000, "pagination does not end"


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def tamper(tok):
    """A token with one character in the middle changed (to another character of the same kind)."""
    i = len(tok) // 2
    c = tok[i]
    if c.isdigit():
        repl = "0" if c != "0" else "1"
    elif c.isalpha():
        repl = "A" if c != "A" else "B"
    else:
        repl = "a"
    return tok[:i] + repl + tok[i + 1:]
