#!/usr/bin/env python3
"""Generates botocore_vectors.json: requests signed by botocore (the signer of boto3 and the
AWS CLI), captured from a real `chime-sdk-identity` client just before they would be sent.

    python3 crates/carillon-sigv4/tests/data/gen_botocore.py > crates/carillon-sigv4/tests/data/botocore_vectors.json

Each vector: method, raw path, raw query, headers (as sent; `host` added from the URL, as
urllib3 sends it), body (base64), `now` (the X-Amz-Date as Unix seconds), the credential and
region, and `kind` (client / presigned / date-header). No network access: a `before-send`
handler answers every request.
"""
import base64
import calendar
import datetime
import json
import random
import sys
from urllib.parse import urlsplit

import botocore
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

KEYS = [
    ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    ("carillon_dev", "s3cr3t:with:colons+and/slashes="),
]
REGIONS = ["us-east-1", "eu-west-2", "ap-southeast-1", "xx-mars-7"]
POOL = list("abZ07-_.~ :/@!$&'()*+,;=?#[]%\"<>^`{|}\\") + ["é", "ß", "中", "🎉", "ሴ", "Ω"]
rng = random.Random(20261128)


def text(n):
    return "".join(rng.choice(POOL) for _ in range(rng.randint(1, n)))


def epoch(amz_date):
    return calendar.timegm(datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").timetuple())


class FakeHttp:
    """Captures the prepared request and answers 200 {}."""

    def __init__(self):
        self.captured = None

    def __call__(self, request, **kwargs):
        self.captured = request
        raw = type("Raw", (), {"stream": lambda self, *a, **k: iter([b"{}"])})()
        return AWSResponse(request.url, 200, {"x-amzn-requestid": "x"}, raw)


def vector(kind, method, url, headers, body, akid, region, now):
    parts = urlsplit(url)
    hdrs = [["host", parts.netloc]]
    for k, v in headers.items():
        hdrs.append([k, v.decode() if isinstance(v, bytes) else v])
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode()
    elif hasattr(body, "read"):
        body = body.read()
    return {
        "kind": kind,
        "method": method,
        "path": parts.path,
        "query": parts.query if "?" in url else None,
        "headers": hdrs,
        "body_b64": base64.b64encode(body).decode(),
        "access_key_id": akid,
        "region": region,
        "now": now,
    }


def main():
    session = botocore.session.get_session()
    vectors = []
    for i in range(120):
        akid, secret = rng.choice(KEYS)
        region = rng.choice(REGIONS)
        client = session.create_client(
            "chime-sdk-identity",
            region_name=region,
            endpoint_url=rng.choice(["http://localhost:8080", "https://identity-chime.%s.amazonaws.com" % region]),
            aws_access_key_id=akid,
            aws_secret_access_key=secret,
            aws_session_token=("FwoGZXIvYXdzEXAMPLE//token+=%d" % i) if rng.random() < 0.2 else None,
        )
        http = FakeHttp()
        client.meta.events.register("before-send", http)
        instance = "arn:aws:chime:%s:123456789012:app-instance/%08x" % (region, rng.getrandbits(32))
        user = "%s/user/%s" % (instance, text(12))
        calls = [
            ("create_app_instance", dict(Name=text(20), Metadata=text(30), ClientRequestToken="t-%d" % i)),
            ("describe_app_instance", dict(AppInstanceArn=instance)),
            ("describe_app_instance_user", dict(AppInstanceUserArn=user)),
            ("describe_app_instance_user_endpoint", dict(AppInstanceUserArn=user, EndpointId=text(8))),
            ("delete_app_instance_admin", dict(AppInstanceArn=instance, AppInstanceAdminArn=user)),
            ("list_app_instance_users", dict(AppInstanceArn=instance, MaxResults=rng.randint(1, 50), NextToken=text(16))),
            ("list_app_instances", dict(MaxResults=rng.randint(1, 50), NextToken=text(16))),
            ("list_tags_for_resource", dict(ResourceARN=user)),
            ("tag_resource", dict(ResourceARN=instance, Tags=[{"Key": text(5), "Value": text(5)}])),
            ("update_app_instance_user", dict(AppInstanceUserArn=user, Name=text(10), Metadata=text(10))),
            ("put_app_instance_user_expiration_settings", dict(AppInstanceUserArn=user, ExpirationSettings={"ExpirationDays": 3, "ExpirationCriterion": "CREATED_TIMESTAMP"})),
        ]
        name, params = calls[i % len(calls)]
        getattr(client, name)(**params)
        req = http.captured
        now = epoch(req.headers["X-Amz-Date"].decode() if isinstance(req.headers["X-Amz-Date"], bytes) else req.headers["X-Amz-Date"])
        vectors.append(vector("client:" + name, req.method, req.url, req.headers, req.body, akid, region, now))

        if i % 3 == 0:
            # presigned (SigV4QueryAuth: UNSIGNED-PAYLOAD, signature in the query)
            pname, pparams = calls[1 + i % 7]
            expires = rng.choice([60, 900, 3600, 604800])
            url = client.generate_presigned_url(pname, Params=pparams, ExpiresIn=expires)
            q = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))
            method = client.meta.service_model.operation_model(
                client.meta.method_to_api_mapping[pname]).http["method"]
            vectors.append(vector("presigned:" + pname, method, url, {}, b"", akid, region, epoch(q["X-Amz-Date"])))

    # The `Date` header instead of `x-amz-date` (botocore's own canonicalization, called
    # directly: its add_auth always sets X-Amz-Date).
    for i in range(10):
        akid, secret = KEYS[0]
        region = rng.choice(REGIONS)
        when = datetime.datetime(2026, 11, 28, 12, 0, 0) + datetime.timedelta(seconds=rng.randint(0, 10**7))
        url = "http://localhost:8080/app-instances/%s" % "arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Aapp-instance%2Fx"
        body = json.dumps({"Name": text(8)}).encode()
        req = AWSRequest(method="PUT", url=url, data=body, headers={
            "Date": when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "Content-Type": "application/x-amz-json-1.1" if i % 2 else "application/json",
        })
        auth = SigV4Auth(Credentials(akid, secret), "chime", region)
        req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        canonical = auth.canonical_request(req)
        signature = auth.signature(auth.string_to_sign(req, canonical), req)
        scope = "%s/%s/%s/chime/aws4_request" % (akid, when.strftime("%Y%m%d"), region)
        req.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s" % (
            scope, auth.signed_headers(auth.headers_to_sign(req)), signature)
        vectors.append(vector("date-header", "PUT", url, req.headers, body, akid, region,
                              calendar.timegm(when.timetuple())))

    json.dump({"botocore_version": botocore.__version__, "vectors": vectors}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
