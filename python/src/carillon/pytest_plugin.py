"""The pytest plugin of Carillon (registered through the `pytest11` entry point).

Fixtures:
    carillon_server  session-scoped: one server for the whole run, its store in memory.
    carillon         function-scoped: the same server with its state reset before the test (to the seed when
                     there is one), the clock offset the test's `carillon` marker asks for (0 otherwise).

Options (command line, or the ini options of the same name with `_` for `-`):
    --carillon-seed FILE       a JSON or YAML seed: the state every test starts from
    --carillon-auth open|sigv4 sigv4: requests must be signed; `carillon.client(account)` signs
    --carillon-accounts LIST   in sigv4 mode, the 12-digit accounts that get a credential

Marker: `@pytest.mark.carillon(clock_offset=SECONDS)` runs a test with the service clock moved by SECONDS.

When a test fails, the API requests it made (from the server's request journal) are added to its report
under "carillon request journal".
"""

from __future__ import annotations

import datetime
import json
import pathlib
from typing import Any, Dict, Generator, Iterator, List, Optional, Tuple

import pytest

from ._server import DEFAULT_ACCOUNT, Carillon, CarillonError

DEFAULT_SIGV4_ACCOUNTS = f"{DEFAULT_ACCOUNT},111111111111,222222222222"
SECTION = "carillon request journal"

# For each test using `carillon`: the server and the newest journal entry before the test ran.
_MARK = pytest.StashKey[Tuple[Carillon, Optional[str]]]()
# With a seed, the seeded state, loaded again after every reset so that each test starts from it.
_BASELINE = pytest.StashKey[Optional[Dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("carillon", "Carillon (Amazon Chime SDK Identity server)")
    group.addoption("--carillon-seed", metavar="FILE", default=None, help="seed file: the state every test starts from")
    group.addoption("--carillon-auth", choices=("open", "sigv4"), default=None, help="authentication mode (default open)")
    group.addoption("--carillon-accounts", metavar="LIST", default=None, help="sigv4 mode: accounts given a credential")
    parser.addini("carillon_seed", "seed file (relative to the ini file)", default="")
    parser.addini("carillon_auth", "authentication mode, open or sigv4", default="open")
    parser.addini("carillon_accounts", "sigv4 mode: comma-separated accounts given a credential", default=DEFAULT_SIGV4_ACCOUNTS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "carillon(clock_offset=SECONDS): run the test with the Carillon service clock moved by SECONDS")


def _seed(config: pytest.Config) -> Optional[pathlib.Path]:
    cli = config.getoption("carillon_seed")
    if cli:
        return pathlib.Path(str(cli)).resolve()
    ini = config.getini("carillon_seed")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return (base / str(ini)).resolve()
    return None


@pytest.fixture(scope="session")
def carillon_server(pytestconfig: pytest.Config) -> Iterator[Carillon]:
    """One Carillon server for the session (in-memory store); prefer `carillon`, which resets it per test."""
    auth = pytestconfig.getoption("carillon_auth") or pytestconfig.getini("carillon_auth") or "open"
    accounts = pytestconfig.getoption("carillon_accounts") or pytestconfig.getini("carillon_accounts")
    server = Carillon(seed=_seed(pytestconfig), auth=auth, accounts=[a.strip() for a in accounts.split(",") if a.strip()])
    server.start()
    pytestconfig.stash[_BASELINE] = server.state() if server.seed is not None else None
    yield server
    server.stop()


@pytest.fixture
def carillon(carillon_server: Carillon, request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Iterator[Carillon]:
    """The session's server, reset for this test: no resources but the seed's, clock offset 0 or the one the
    test's `@pytest.mark.carillon(clock_offset=...)` asks for, no fault rules. `carillon.client(account=...,
    region=...)` gives boto3 clients of it."""
    server = carillon_server
    server.reset()
    baseline = pytestconfig.stash.get(_BASELINE, None)
    if baseline is not None:
        server.load_state(baseline)
    marker = request.node.get_closest_marker("carillon")
    offset = int(marker.kwargs.get("clock_offset", 0)) if marker is not None else 0
    if offset:
        server.set_clock_offset(offset)
    newest = server.journal(limit=1)
    request.node.stash[_MARK] = (server, newest[0]["RequestId"] if newest else None)
    yield server
    if offset and server.running:
        server.set_clock_offset(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    mark = item.stash.get(_MARK, None)
    if mark is None or not report.failed:
        return
    server, before = mark
    if not server.running:
        return
    try:
        text = _journal_since(server, before)
    except (CarillonError, OSError) as err:
        text = f"(the journal could not be read: {err})"
    report.sections.append((f"{SECTION} ({call.when})", text))
    # Once shown, a later failing phase (teardown) shows only what happened after.
    newest = server.journal(limit=1) if server.running else []
    item.stash[_MARK] = (server, newest[0]["RequestId"] if newest else before)


def _journal_since(server: Carillon, before: Optional[str]) -> str:
    """The requests answered after the entry `before` (oldest first), one line each."""
    entries: List[Dict[str, Any]] = server.journal(limit=server.journal_size) if server.journal_size else []
    mine: List[Dict[str, Any]] = []
    complete = before is None
    for entry in entries:
        if entry["RequestId"] == before:
            complete = True
            break
        mine.append(entry)
    if not mine:
        return "no API request"
    lines = [_line(entry) for entry in reversed(mine)]
    if not complete:
        lines.insert(0, f"(older requests of this test fell out of the journal of {server.journal_size})")
    return "\n".join(lines)


def _line(entry: Dict[str, Any]) -> str:
    when = datetime.datetime.fromtimestamp(entry["Time"], datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    path = entry["Path"] + (f"?{entry['Query']}" if entry.get("Query") else "")
    text = f"{when} {entry['Status']} {entry.get('Operation') or '-'} {entry['Method']} {path}"
    text += f" account={entry.get('AccountId')} region={entry.get('Region')} id={entry['RequestId']}"
    if entry.get("ErrorType"):
        text += f"\n    {entry['ErrorType']}: {entry.get('ErrorMessage')}"
    if entry.get("Signature"):
        text += "\n    server's signature computation: " + json.dumps(entry["Signature"], indent=2).replace("\n", "\n    ")
    return text
