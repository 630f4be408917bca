"""Running the binary (docs/behaviour.md, "Running the server"): startup line, clean stops, bad configuration."""
import os
import signal
import subprocess

import pytest

from conftest import Server, carillon_bin, new_account
from carillon_util import create_app_instance


def run_bad(args, tmp_path, timeout=10):
    """Runs `carillon serve ARGS`, which must exit by itself; a server that keeps running fails the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARILLON_")}
    proc = subprocess.Popen([str(carillon_bin()), "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"carillon serve {' '.join(args)} did not exit on bad configuration; stderr: {err!r}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def assert_one_line_error(proc):
    assert proc.returncode != 0, proc
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected a one-line error on stderr, got {proc.stderr!r}"
    assert "listening on" not in proc.stderr


@pytest.mark.parametrize("args", [
    ["--no-such-option"],
    ["--listen", "not-an-address"],
    ["--database", "mysql://x"],
    ["--auth", "nonsense"],
])
def test_bad_configuration(tmp_path, args):
    assert_one_line_error(run_bad(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:", *args], tmp_path))


def test_unreadable_credentials_file(tmp_path):
    assert_one_line_error(run_bad(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:",
                                   "--credentials", str(tmp_path / "missing.txt")], tmp_path))


def test_database_that_cannot_be_opened(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    assert_one_line_error(run_bad(["--listen", "127.0.0.1:0", "--database", f"sqlite://{tmp_path}/a-file/x.db"], tmp_path))
    (tmp_path / "garbage.db").write_bytes(b"this is not an SQLite database" * 100)
    assert_one_line_error(run_bad(["--listen", "127.0.0.1:0", "--database", f"sqlite://{tmp_path}/garbage.db"], tmp_path))


def test_database_held_by_another_server(tmp_path):
    if os.environ.get("CARILLON_TEST_BACKEND") == "postgres":
        pytest.skip("on PostgreSQL several nodes share one database by design")
    first = Server(tmp_path / "held.db", log_dir=tmp_path).start()
    try:
        proc = run_bad(["--listen", "127.0.0.1:0", "--database", first.database], tmp_path)
        assert_one_line_error(proc)
        # The first server is unharmed.
        c = first.client()
        create_app_instance(c, "still fine")
    finally:
        assert first.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_stop(tmp_path, sig):
    srv = Server(tmp_path / "stop.db", log_dir=tmp_path).start()
    account = new_account()
    c = srv.client(account)
    app = create_app_instance(c, "kept")
    srv.proc.send_signal(sig)
    assert srv.proc.wait(timeout=20) == 0
    srv.proc = None
    srv.start()
    try:
        assert srv.client(account).describe_app_instance(AppInstanceArn=app)["AppInstance"]["Name"] == "kept"
    finally:
        srv.stop()


def test_health_and_control_plane(server):
    status, body = server.control("GET", "/_carillon/health")
    assert status == 200 and body.get("status") == "ok"
    r = server.raw("GET", "/_carillon/health")
    assert r.header("Content-Type") and r.header("Content-Type").startswith("application/json")


def test_listening_line(server):
    assert f"listening on http://{server.host}:{server.port}" in server.log_text()
