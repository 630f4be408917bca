"""`Carillon`: one `carillon serve` child process on loopback, with its control plane and boto3 clients."""

from __future__ import annotations

import atexit
import http.client
import json
import os
import pathlib
import re
import secrets
import shutil
import string
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.parse
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

__all__ = ["Carillon", "CarillonError", "find_binary"]

SERVICE = "chime-sdk-identity"
MESSAGING_SERVICE = "chime-sdk-messaging"
SIGNING_NAME = "chime"
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
# The operator's own account in sigv4 mode (an operator is also an ordinary caller of its account).
OPERATOR_ACCOUNT = "999999999999"

_ACCOUNT_RE = re.compile(r"[0-9]{12}")
_EXE = "carillon.exe" if os.name == "nt" else "carillon"

# Every process started here, so that none outlives the interpreter.
_RUNNING: "set[subprocess.Popen[bytes]]" = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_RUNNING):
        if proc.poll() is None:
            proc.kill()


class CarillonError(RuntimeError):
    """A control-plane call that the server refused (`status` is its HTTP status, `body` its parsed answer),
    or a server that could not start."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def find_binary() -> pathlib.Path:
    """The `carillon` binary to run: `CARILLON_BIN` when set, else the one installed beside this interpreter
    (the scripts directory of its environment, where `pip install` puts it), else the first on `PATH`."""
    env = os.environ.get("CARILLON_BIN")
    if env:
        path = pathlib.Path(env)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise FileNotFoundError(f"CARILLON_BIN={env} is not an executable file")
        return path
    dirs = [sysconfig.get_path("scripts")]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        dirs.append(sysconfig.get_path("scripts", user_scheme))
    dirs.append(os.path.dirname(sys.executable))
    for directory in dirs:
        if directory:
            candidate = pathlib.Path(directory) / _EXE
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which("carillon")
    if found:
        return pathlib.Path(found)
    raise FileNotFoundError(
        "the carillon binary was not found beside this Python nor on PATH; install the carillon-chime wheel "
        "into this environment or set CARILLON_BIN to the binary"
    )


def _check_account(account: str) -> str:
    if not isinstance(account, str) or not _ACCOUNT_RE.fullmatch(account):
        raise ValueError(f"an account id is a string of 12 digits, got {account!r}")
    return account


def _new_credential() -> Tuple[str, str]:
    alphabet = string.ascii_uppercase + string.digits
    key = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    return key, secrets.token_urlsafe(30)


class Carillon:
    """A Carillon server run as a child process on 127.0.0.1 (a free port), its store in memory.

    >>> with Carillon() as server:
    ...     chime = server.client()
    ...     chime.create_app_instance(Name="chat")

    Options:
        seed: a JSON or YAML seed file (`--seed`): resources created at start.
        auth: `"open"` (any credentials; the 12-digit access key id is the account) or `"sigv4"` (requests must
            be signed with a credential generated here for one of `accounts`; control-plane calls are signed
            with a generated operator credential).
        accounts: in sigv4 mode, the accounts that get a credential (`client()` works for these only).
        clock_offset: seconds to move the service clock by at start (`--clock-offset`).
        journal_size: API requests the server keeps for `journal()` (`--journal-size`).
        database: the store (`--database`); in memory by default.
        extra_args: more `carillon serve` options.
        binary: the binary to run; `find_binary()` by default.
    """

    def __init__(
        self,
        *,
        seed: Union[str, "os.PathLike[str]", None] = None,
        auth: str = "open",
        accounts: Iterable[str] = (DEFAULT_ACCOUNT,),
        clock_offset: int = 0,
        journal_size: int = 1000,
        database: str = "sqlite::memory:",
        extra_args: Sequence[str] = (),
        binary: Union[str, "os.PathLike[str]", None] = None,
        startup_timeout: float = 30.0,
    ) -> None:
        if auth not in ("open", "sigv4"):
            raise ValueError(f"auth is 'open' or 'sigv4', got {auth!r}")
        self.seed = pathlib.Path(seed) if seed is not None else None
        self.auth = auth
        self.clock_offset_at_start = int(clock_offset)
        self.journal_size = int(journal_size)
        self.database = database
        self.extra_args = list(extra_args)
        self.binary = pathlib.Path(binary) if binary is not None else None
        self.startup_timeout = startup_timeout
        self._credentials: Dict[str, Tuple[str, str]] = {}
        self._operator: Optional[Tuple[str, str]] = None
        if auth == "sigv4":
            for account in accounts:
                self._credentials[_check_account(account)] = _new_credential()
            self._operator = _new_credential()
        self._proc: Optional["subprocess.Popen[bytes]"] = None
        self._tmp: Optional[tempfile.TemporaryDirectory[str]] = None
        self._log_path: Optional[pathlib.Path] = None
        self.host: Optional[str] = None
        self.port: Optional[int] = None

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> "Carillon":
        """Starts the server and returns once it accepts requests (its `listening on http://ADDR` line)."""
        if self._proc is not None:
            raise CarillonError("this server is already running")
        binary = self.binary or find_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="carillon-")
        tmp = pathlib.Path(self._tmp.name)
        args = [str(binary), "serve", "--listen", "127.0.0.1:0", "--database", self.database]
        args += ["--journal-size", str(self.journal_size)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if self.clock_offset_at_start:
            args.append(f"--clock-offset={self.clock_offset_at_start}")  # one argument: it may be negative
        if self.auth == "sigv4":
            creds = tmp / "credentials"
            lines = [f"{key}:{secret}:{account}" for account, (key, secret) in self._credentials.items()]
            if self._operator is not None:
                lines.append(f"{self._operator[0]}:{self._operator[1]}:{OPERATOR_ACCOUNT}:admin")
            creds.write_text("\n".join(lines) + "\n", encoding="utf-8")
            args += ["--auth", "sigv4", "--credentials", str(creds)]
        args += self.extra_args
        self._log_path = tmp / "carillon.log"
        # The options above are the whole configuration: none of the caller's CARILLON_* variables apply.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARILLON_")}
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env)
        _RUNNING.add(self._proc)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            text = self.log_text()
            complete = text[: text.rfind("\n") + 1]  # a line still being written is read next time
            for line in complete.splitlines():
                if "listening on http://" in line:
                    addr = line.split("listening on http://", 1)[1].split()[0].rstrip("/")
                    host, port = addr.rsplit(":", 1)
                    self.host, self.port = host, int(port)
                    return self
            code = self._proc.poll()
            if code is not None:
                self._forget()
                raise CarillonError(f"carillon exited with {code} before listening:\n{text}")
            if time.monotonic() > deadline:
                self._proc.kill()
                self._proc.wait()
                self._forget()
                raise CarillonError(f"carillon did not start listening within {self.startup_timeout}s:\n{text}")
            time.sleep(0.01)

    def stop(self, timeout: float = 20.0) -> Optional[int]:
        """Stops the server (SIGTERM, then a kill after `timeout` seconds); returns its exit code (0 when clean)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._forget()
        return proc.returncode

    def _forget(self) -> None:
        if self._proc is not None:
            _RUNNING.discard(self._proc)
        self._proc = None
        self.host = self.port = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Carillon":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def url(self) -> str:
        """The endpoint URL to give an SDK, `http://127.0.0.1:PORT`."""
        if self.host is None:
            raise CarillonError("the server is not running")
        return f"http://{self.host}:{self.port}"

    def log_text(self) -> str:
        """What the server wrote to stderr so far."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    # -- clients ------------------------------------------------------------------------------------------

    @property
    def accounts(self) -> List[str]:
        """In sigv4 mode, the accounts with a credential; empty in open mode (where any account works)."""
        return list(self._credentials)

    def credentials(self, account: str = DEFAULT_ACCOUNT) -> Tuple[str, str]:
        """(access key id, secret access key) of `account`: in open mode the account itself and any secret,
        in sigv4 mode the credential generated for it."""
        _check_account(account)
        if self.auth == "open":
            return account, "x"
        try:
            return self._credentials[account]
        except KeyError:
            raise ValueError(f"no credential for account {account} in sigv4 mode; pass it in accounts=") from None

    def client(self, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, config: Any = None) -> Any:
        """A boto3 `chime-sdk-identity` client of this server acting as `account` (12 digits) in `region`.
        It does not retry (`config` replaces that botocore Config)."""
        return self._client(SERVICE, account, region, config)

    def messaging_client(self, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, config: Any = None) -> Any:
        """A boto3 `chime-sdk-messaging` client of this server, on the same address, acting as `account` in
        `region`; as `client()`, it does not retry unless `config` says so."""
        return self._client(MESSAGING_SERVICE, account, region, config)

    def _client(self, service: str, account: str, region: str, config: Any) -> Any:
        key, secret = self.credentials(account)
        session = _boto3_session()
        if config is None:
            from botocore.config import Config

            config = Config(retries={"max_attempts": 1})
        return session.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=config,
        )

    # -- control plane ------------------------------------------------------------------------------------

    def control(self, method: str, path: str, body: Any = None, query: Optional[Mapping[str, Any]] = None) -> Any:
        """One control-plane request (signed by the operator in sigv4 mode); the parsed JSON answer.
        Raises CarillonError on an answer other than 2xx."""
        url = self.url  # raises when the server is not running
        if query:
            path += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self._operator is not None:
            headers = _sign(self._operator, method, url + path, data, headers)
        conn = http.client.HTTPConnection(self.host or "", self.port, timeout=60)
        try:
            conn.request(method, path, body=data or None, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", errors="replace")
        if not 200 <= resp.status < 300:
            raise CarillonError(f"{method} {path} answered {resp.status}: {parsed}", resp.status, parsed)
        return parsed

    def reset(self, *, account: Optional[str] = None, region: Optional[str] = None, app_instance_arn: Optional[str] = None) -> Dict[str, int]:
        """Deletes every resource in scope (`POST /_carillon/reset`): everything when no scope is given (which
        also sets the clock offset to 0 and removes fault rules), else one account, region, both, or one
        AppInstance. Returns the counts deleted by kind."""
        scope = {"Account": account, "Region": region, "AppInstanceArn": app_instance_arn}
        answer = self.control("POST", "/_carillon/reset", {k: v for k, v in scope.items() if v is not None})
        return dict(answer["Deleted"])

    def journal(
        self,
        *,
        limit: Optional[int] = None,
        operation: Optional[str] = None,
        status: Optional[int] = None,
        account: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """The last API requests the server answered, newest first (`GET /_carillon/requests`), filtered
        exactly by operation name, HTTP status and account; `limit` (default 100) applies after them."""
        query = {"limit": limit, "operation": operation, "status": status, "account": account}
        return list(self.control("GET", "/_carillon/requests", query=query)["Requests"])

    def state(self) -> Dict[str, Any]:
        """All state as one document (`GET /_carillon/state`)."""
        return dict(self.control("GET", "/_carillon/state"))

    def load_state(self, document: Mapping[str, Any]) -> Dict[str, int]:
        """Replaces all state with `document`, as `state()` returns it (`PUT /_carillon/state`)."""
        return dict(self.control("PUT", "/_carillon/state", dict(document))["Imported"])

    def push_outbox(
        self,
        *,
        channel_arn: Optional[str] = None,
        recipient_arn: Optional[str] = None,
        message_id: Optional[str] = None,
        after_id: Optional[int] = None,
    ) -> List[Dict[str, Any]]:
        """The push notifications decided for channel messages, oldest first (`GET /_carillon/push-outbox`):
        one entry per recipient endpoint with its Outcome and Reason, filtered exactly by channel, recipient
        and message, and to entries with an Id above `after_id`."""
        query = {"channel-arn": channel_arn, "recipient-arn": recipient_arn, "message-id": message_id, "after-id": after_id}
        return list(self.control("GET", "/_carillon/push-outbox", query=query)["Entries"])

    def clear_push_outbox(
        self,
        *,
        channel_arn: Optional[str] = None,
        recipient_arn: Optional[str] = None,
        message_id: Optional[str] = None,
    ) -> int:
        """Removes push outbox entries: all of them, or those the filters match; how many."""
        query = {"channel-arn": channel_arn, "recipient-arn": recipient_arn, "message-id": message_id}
        return int(self.control("DELETE", "/_carillon/push-outbox", query=query)["deleted"])

    def fail_pushes(
        self,
        *,
        device_token: Optional[str] = None,
        resource_arn: Optional[str] = None,
        reason: str = "INVALID_DEVICE_TOKEN",
    ) -> Dict[str, Any]:
        """Makes later pushes to a device token, or to a Pinpoint application ARN, fail with `reason`
        (`INVALID_DEVICE_TOKEN` or `INVALID_PINPOINT_ARN`), which turns the endpoint INACTIVE as AWS does
        (`PUT /_carillon/push-failures`). Give exactly one of `device_token` and `resource_arn`. The marker."""
        body: Dict[str, Any] = {"StatusReason": reason}
        if device_token is not None:
            body["DeviceToken"] = device_token
        if resource_arn is not None:
            body["ResourceArn"] = resource_arn
        return dict(self.control("PUT", "/_carillon/push-failures", body)["Marker"])

    def push_failures(self) -> List[Dict[str, Any]]:
        """The push-failure markers (`GET /_carillon/push-failures`); tokens appear only as hashes."""
        return list(self.control("GET", "/_carillon/push-failures")["Markers"])

    def clear_push_failures(self) -> int:
        """Removes every push-failure marker; how many."""
        return int(self.control("DELETE", "/_carillon/push-failures")["deleted"])

    def clock_offset(self) -> int:
        """The service clock's offset from the system clock, in seconds."""
        return int(self.control("GET", "/_carillon/clock")["offset_seconds"])

    def set_clock_offset(self, seconds: int) -> int:
        """Moves the service clock to the system time plus `seconds` (`PUT /_carillon/clock`)."""
        return int(self.control("PUT", "/_carillon/clock", {"offset_seconds": int(seconds)})["offset_seconds"])


_SESSION: Any = None


def _boto3_session() -> Any:
    """One boto3 session for the process: it caches the service model, so a client costs milliseconds."""
    global _SESSION
    if _SESSION is None:
        try:
            import boto3
        except ImportError:
            raise ImportError("Carillon.client() needs boto3: pip install 'carillon-chime[boto3]'") from None
        _SESSION = boto3.session.Session()
    return _SESSION


def _sign(credential: Tuple[str, str], method: str, url: str, data: bytes, headers: Dict[str, str]) -> Dict[str, str]:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise ImportError("sigv4 mode signs control-plane calls with botocore: pip install 'carillon-chime[boto3]'") from None
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(Credentials(*credential), SIGNING_NAME, DEFAULT_REGION).add_auth(request)
    return dict(request.headers.items())
