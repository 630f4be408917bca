"""Fixtures of Carillon's Python suite: a real `carillon serve` on loopback, boto3 clients for it, and raw HTTP.

Every test talks to the binary over 127.0.0.1 exactly as boto3, the AWS CLI or a raw HTTP client would.
One server is shared per test module (module-scoped `server`); tests isolate themselves by account: each
test gets a fresh 12-digit access key id, which the server's open auth mode takes as the account id, so the
AppInstance quota (100 per account and region) and every listing start empty.

Environment:
    CARILLON_BIN   the binary to run (default <repo>/target/debug/carillon)
"""
import atexit
import itertools
import json
import os
import pathlib
import random
import signal
import subprocess
import time
import http.client
import urllib.parse

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "target" / "debug" / "carillon"
MODEL_PATH = REPO / "crates" / "carillon-api" / "model" / "chime-sdk-identity-2021-04-20.json"
SERVICE = "chime-sdk-identity"
STARTUP_TIMEOUT = 30.0

# One botocore session for the whole run: it caches the loaded service model, so that making a client per
# test costs milliseconds instead of re-reading the model every time.
_SESSION = boto3.session.Session()

# Fresh 12-digit account ids for the whole run: a random base (so that two runs against a kept database
# would not collide either) plus a counter.
_ACCOUNTS = itertools.count(random.randrange(100_000_000, 800_000_000) * 1000)


# Every process this suite started, so that none outlives an interrupted run.
_RUNNING = set()


@atexit.register
def _kill_leftovers():
    for proc in list(_RUNNING):
        if proc.poll() is None:
            proc.kill()


def new_account():
    """A 12-digit account id (and access key id) never used before in this run."""
    return f"{next(_ACCOUNTS):012d}"


def carillon_bin():
    path = pathlib.Path(os.environ.get("CARILLON_BIN", DEFAULT_BIN))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"carillon binary not found or not executable at {path}; build it with "
            f"`cargo build --bin carillon` in {REPO} or set CARILLON_BIN",
            pytrace=False,
        )
    return path


class RawResponse:
    """A response read through http.client: status, headers (case-insensitive lookup), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<RawResponse {self.status} {dict(self.headers)} {self.body[:500]!r}>"


def auth_header(account, region="us-east-1"):
    """An Authorization header whose credential scope names `account` and `region` (open auth mode reads
    both without checking the signature)."""
    return (
        f"AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/chime/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
    )


_PG_DATABASES = []


def fresh_postgres_database():
    """With CARILLON_TEST_BACKEND=postgres, a fresh database on the server CARILLON_TEST_POSTGRES_URL
    names (made with psql, dropped at the end of the session); None otherwise."""
    if os.environ.get("CARILLON_TEST_BACKEND") != "postgres":
        return None
    admin = os.environ["CARILLON_TEST_POSTGRES_URL"]
    name = f"carillon_py_{os.getpid()}_{len(_PG_DATABASES)}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    _PG_DATABASES.append((admin, name))
    return admin.rsplit("/", 1)[0] + "/" + name


def pytest_sessionfinish(session, exitstatus):
    for admin, name in _PG_DATABASES:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


class Server:
    """A running `carillon serve` on 127.0.0.1 with its own SQLite file (or, with
    CARILLON_TEST_BACKEND=postgres, its own PostgreSQL database)."""

    def __init__(self, db_path, extra_args=(), log_dir=None):
        self.db_path = pathlib.Path(db_path)
        self.database = fresh_postgres_database() or f"sqlite://{self.db_path}"
        self.extra_args = list(extra_args)
        self.log_dir = pathlib.Path(log_dir or self.db_path.parent)
        self.proc = None
        self.host = None
        self.port = None
        self.starts = 0
        self.last_exit_code = None

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        assert self.proc is None, "server already running"
        binary = carillon_bin()
        self.starts += 1
        self.log_path = self.log_dir / f"carillon-{self.starts}.log"
        log = open(self.log_path, "wb")
        cmd = [str(binary), "serve", "--listen", "127.0.0.1:0", "--database", self.database, *self.extra_args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARILLON_")}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env)
        _RUNNING.add(self.proc)
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            complete = text[: text.rfind("\n") + 1]  # a line still being written is read next time
            for line in complete.splitlines():
                if "listening on http://" in line:
                    addr = line.split("listening on http://", 1)[1].split()[0].rstrip("/")
                    self.host, port = addr.rsplit(":", 1)
                    self.port = int(port)
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"carillon exited with {self.proc.returncode} before listening:\n{text}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"carillon did not print 'listening on http://' within {STARTUP_TIMEOUT}s:\n{text}")
            time.sleep(0.02)

    def stop(self, timeout=20.0):
        """SIGTERM and wait; returns the exit code (docs/behaviour.md, "Running the server": a clean stop exits 0)."""
        if self.proc is None:
            return self.last_exit_code
        proc, self.proc = self.proc, None
        _RUNNING.discard(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RuntimeError("carillon did not stop within the timeout after SIGTERM")
        self.last_exit_code = proc.returncode
        return proc.returncode

    def restart(self):
        """SIGTERM, then start again on the same database (the port may change: rebuild clients)."""
        code = self.stop()
        assert code == 0, f"carillon exited with {code} on SIGTERM (a clean stop exits 0)"
        return self.start()

    def log_text(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    # -- clients ---------------------------------------------------------------------------------------

    def client(self, account=None, region="us-east-1", validate=True):
        """A boto3 chime-sdk-identity client whose access key id is the 12-digit `account`."""
        return _SESSION.client(
            SERVICE,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account or new_account(),
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
        )

    def messaging(self, account=None, region="us-east-1", validate=True):
        """A boto3 chime-sdk-messaging client of the same listener, access key id the 12-digit `account`."""
        return _SESSION.client(
            "chime-sdk-messaging",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account or new_account(),
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
        )

    def signed_client(self, key, secret, region="us-east-1"):
        """A boto3 chime-sdk-identity client signing with the access key `key` and secret `secret` (for a
        server in `--auth sigv4` mode: see `SIGV4_CREDENTIALS`)."""
        return _SESSION.client(SERVICE, endpoint_url=self.url, region_name=region, aws_access_key_id=key,
                               aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))

    def signed_headers(self, method, path, body=b"", *, key, secret, headers=None):
        """The headers of `method path` with `body` (and `headers`) as botocore's own SigV4 signer signs
        them for service `chime` in us-east-1, to send with `raw`."""
        req = AWSRequest(method=method, url=f"{self.url}{path}", data=body, headers=headers or {})
        SigV4Auth(Credentials(key, secret), "chime", "us-east-1").add_auth(req)
        return dict(req.headers.items())

    def raw(self, method, path, body=None, headers=None, account=None, region="us-east-1", timeout=30):
        """One HTTP request on a fresh connection. `body`: bytes, str, or a JSON-able object (dumped);
        `account`: adds an Authorization header with that credential scope."""
        hdrs = {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if account is not None:
            hdrs["Authorization"] = auth_header(account, region)
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return RawResponse(resp.status, resp.headers, data)
        finally:
            conn.close()

    def control(self, method, path, body=None):
        """The server's own control plane under /_carillon/; returns (status, parsed JSON or None)."""
        r = self.raw(method, path, body=body)
        try:
            parsed = r.json() if r.body else None
        except ValueError:
            parsed = None
        return r.status, parsed

    def set_clock_offset(self, seconds):
        status, body = self.control("PUT", "/_carillon/clock", {"offset_seconds": seconds})
        assert status == 200, (status, body)
        return body

    def sweep(self):
        status, body = self.control("POST", "/_carillon/expiration-sweep")
        assert status == 200, (status, body)
        return body["deleted"]

    def set_endpoint_state(self, user_arn, endpoint_id, status, reason=None):
        payload = {"AppInstanceUserArn": user_arn, "EndpointId": endpoint_id, "Status": status}
        if reason is not None:
            payload["StatusReason"] = reason
        return self.control("PUT", "/_carillon/endpoint-state", payload)


def quote(value):
    """Percent-encodes a whole value for one path segment or query value (`:` `/` `@` included)."""
    return urllib.parse.quote(value, safe="")


def start_server(tmp_dir, extra_args=()):
    tmp_dir = pathlib.Path(tmp_dir)
    return Server(tmp_dir / "carillon.db", extra_args=extra_args, log_dir=tmp_dir).start()


def start_sigv4_server(tmp_dir, credentials, extra_args=()):
    """A server in `--auth sigv4` mode knowing exactly `credentials`, lines of the credentials file
    (`ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID[:admin]`, docs/behaviour.md), written after a comment
    and a blank line, which the file may hold."""
    creds = pathlib.Path(tmp_dir) / "credentials"
    creds.write_text("# test credentials\n\n" + "".join(f"{line}\n" for line in credentials))
    return start_server(tmp_dir, ["--auth", "sigv4", "--credentials", str(creds), *extra_args])


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One server per test module, on a fresh temporary SQLite file. A module that sets
    `SIGV4_CREDENTIALS` (lines of the credentials file) gets it in `--auth sigv4` mode knowing exactly
    those (`start_sigv4_server`)."""
    tmp = tmp_path_factory.mktemp("carillon")
    credentials = getattr(request.module, "SIGV4_CREDENTIALS", None)
    srv = start_server(tmp) if credentials is None else start_sigv4_server(tmp, credentials)
    yield srv
    code = srv.stop()
    assert code in (0, None), f"carillon exited with {code} on SIGTERM"


@pytest.fixture
def make_server(tmp_path_factory):
    """Starts extra servers owned by one test (own database each); all stopped at the end of the test."""
    started = []

    def make(extra_args=()):
        srv = start_server(tmp_path_factory.mktemp("carillon-extra"), extra_args)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def account():
    """A fresh 12-digit account for this test."""
    return new_account()


@pytest.fixture
def client(server, account):
    """A boto3 client of the module's server in this test's fresh account, us-east-1."""
    return server.client(account)


@pytest.fixture
def raw_client(server, account):
    """Like `client` but without botocore's parameter validation, for the server's own validation."""
    return server.client(account, validate=False)


@pytest.fixture
def make_client(server):
    """make_client(account=None, region='us-east-1', validate=True) -> boto3 client of the module's server."""

    def make(account=None, region="us-east-1", validate=True):
        return server.client(account, region=region, validate=validate)

    return make
