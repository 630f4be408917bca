"""Running the binary (docs/behaviour.md, "Running the server"): startup line, clean stops, bad configuration."""
import json
import os
import signal
import subprocess
import time

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


def run_carillon(args, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARILLON_")}
    env.update(extra_env or {})
    return subprocess.run([str(carillon_bin()), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=30)


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["help", "serve"]])
def test_help_exits_0(args):
    proc = run_carillon(args)
    assert proc.returncode == 0, proc
    assert "Usage: carillon" in proc.stdout and proc.stderr == ""
    if "serve" in args:
        for option, var in [("--listen", "CARILLON_LISTEN"), ("--log-format", "CARILLON_LOG_FORMAT"),
                            ("--quiet", "CARILLON_QUIET"), ("--quota-tags", "CARILLON_QUOTA_TAGS")]:
            assert option in proc.stdout and f"env: {var}" in proc.stdout, proc.stdout


def test_version_exits_0():
    proc = run_carillon(["--version"])
    assert proc.returncode == 0 and proc.stdout.startswith("carillon "), proc


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["serve", "--log-format", "xml"]])
def test_bad_command_line(args):
    proc = run_carillon(args)
    assert_one_line_error(proc)
    assert proc.stderr.startswith("carillon: error: ")


def test_json_log_lines(tmp_path):
    """With --log-format json every stderr line is an object; a request's line has its fields (boto3's request id)."""
    srv = Server(tmp_path / "json.db", extra_args=["--log-format", "json"], log_dir=tmp_path).start()
    try:
        account = new_account()
        c = srv.client(account, region="eu-west-1")
        rid = c.list_app_instances()["ResponseMetadata"]["RequestId"]
        deadline = time.monotonic() + 5
        while rid not in srv.log_text():
            assert time.monotonic() < deadline, srv.log_text()
            time.sleep(0.05)
    finally:
        assert srv.stop() == 0
    objects = [json.loads(line) for line in srv.log_text().splitlines()]
    assert "listening on http://" in objects[0]["message"]
    assert all({"timestamp", "level"} <= o.keys() for o in objects), objects
    line = next(o for o in objects if o.get("request_id") == rid)
    assert (line["account"], line["region"], line["operation"], line["status"], line["path"]) == \
        (account, "eu-west-1", "ListAppInstances", 200, "/app-instances")
    assert line["level"] == "INFO" and isinstance(line["latency_us"], int)
