"""A server in sigv4 mode, started with the `Carillon` class: requests must be signed with the credentials it
generated, and its control plane only answers the operator's signature."""

import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from carillon import Carillon, CarillonError


@pytest.fixture(scope="module")
def server():
    with Carillon(auth="sigv4", accounts=["111111111111"]) as server:
        yield server


def test_signed_client_works(server):
    chime = server.client(account="111111111111")
    chime.create_app_instance(Name="signed")
    assert [a["Name"] for a in chime.list_app_instances()["AppInstances"]] == ["signed"]
    assert server.journal(operation="CreateAppInstance")[0]["AccountId"] == "111111111111"
    assert server.reset(account="111111111111")["AppInstances"] == 1


def test_a_wrong_secret_is_refused(server):
    key, _ = server.credentials("111111111111")
    chime = boto3.client("chime-sdk-identity", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key,
                         aws_secret_access_key="not-the-secret", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as info:
        chime.list_app_instances()
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert server.journal(status=403, limit=1)[0]["Signature"]["CredentialScope"].endswith("/us-east-1/chime/aws4_request")


def test_no_credential_for_an_unlisted_account(server):
    with pytest.raises(ValueError, match="no credential for account 222222222222"):
        server.client(account="222222222222")


def control_error(server, headers):
    request = urllib.request.Request(f"{server.url}/_carillon/reset", data=b"{}", headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    return info.value.code, info.value.headers["x-amzn-ErrorType"]


def test_the_control_plane_wants_the_operators_signature(server):
    assert control_error(server, {}) == (403, "MissingAuthenticationTokenException")
    # A tenant's valid signature is not enough.
    signed = AWSRequest(method="POST", url=f"{server.url}/_carillon/reset", data=b"{}")
    SigV4Auth(Credentials(*server.credentials("111111111111")), "chime", "us-east-1").add_auth(signed)
    assert control_error(server, dict(signed.headers.items())) == (403, "ForbiddenException")
    # The server's own calls are signed by its operator; a refused one raises CarillonError.
    assert server.clock_offset() == 0
    with pytest.raises(CarillonError) as bad:
        server.reset(account="12345")
    assert bad.value.status == 400
