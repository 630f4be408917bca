"""The plugin seen from outside: pytest run on small test files, as a user's CI would run them."""

import subprocess
import sys

FAILING = '''
def test_passes(carillon):
    carillon.client().list_app_instances()


def test_fails(carillon):
    chime = carillon.client()
    chime.create_app_instance(Name="made-before-failing")
    chime.describe_app_instance(
        AppInstanceArn="arn:aws:chime:us-east-1:000000000000:app-instance/00000000-0000-4000-8000-000000000000")
'''

SIGNED = '''
def test_signed(carillon):
    chime = carillon.client(account="111111111111")
    chime.create_app_instance(Name="signed")
    assert carillon.journal(operation="CreateAppInstance", limit=1)[0]["AccountId"] == "111111111111"


def test_reset_in_sigv4_mode_too(carillon):
    assert carillon.client(account="111111111111").list_app_instances()["AppInstances"] == []
    assert carillon.client(account="222222222222").list_app_instances()["AppInstances"] == []
'''


def run_pytest(tmp_path, source, *args):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_it.py").write_text(source)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, "test_it.py"]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_a_failing_test_shows_its_request_journal(tmp_path):
    result = run_pytest(tmp_path, FAILING)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 1 passed" in out, out
    assert "carillon request journal (call)" in out, out
    section = out.split("carillon request journal (call)", 1)[1].split("=====", 1)[0]
    lines = [line for line in section.splitlines() if line.strip().strip("-")]
    # Only the failing test's requests, oldest first, the refused one with its error.
    assert "201 CreateAppInstance POST /app-instances" in lines[0], section
    assert "404 DescribeAppInstance GET /app-instances/" in lines[1], section
    assert "NotFoundException" in lines[2], section
    assert len(lines) == 3, section
    assert "ListAppInstances" not in section


def test_the_plugin_in_sigv4_mode(tmp_path):
    result = run_pytest(tmp_path, SIGNED, "--carillon-auth", "sigv4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
