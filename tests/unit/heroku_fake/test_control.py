# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/heroku_fake/control.py: start, stop and report, as the harness and the setup_heroku target use them."""

from __future__ import annotations

import importlib.util
import json
import os
import ssl
import sys
import urllib.request
from pathlib import Path

import pytest

CONTROL = Path(__file__).resolve().parents[2] / "heroku_fake" / "control.py"


def load():
    spec = importlib.util.spec_from_file_location("heroku_fake_control", CONTROL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


control = load()


def api_get(info, path):
    request = urllib.request.Request(info["api_url"] + path, headers={
        "Accept": "application/vnd.heroku+json; version=3", "Authorization": "Bearer " + info["api_key"]})
    context = ssl.create_default_context(cafile=info["ca_path"])
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        return json.loads(response.read())


@pytest.fixture(name="service")
def service_fixture(tmp_path):
    state, info = control.start(tmp_path / "fake")
    yield state, info, tmp_path / "fake"
    control.stop(tmp_path / "fake")


def test_start_is_idempotent_and_stop_ends_the_process(service):
    state, info, state_dir = service
    assert state == "started"
    assert control.start(state_dir) == ("running", info)
    assert control.running(state_dir) == info
    assert control.stop(state_dir) is True
    assert control.running(state_dir) is None
    with pytest.raises(ProcessLookupError):
        os.kill(info["pid"], 0)
    assert control.stop(state_dir) is False


def test_report_counts_requests_and_finds_leaked_secrets(service, tmp_path):
    _state, info, state_dir = service
    assert api_get(info, "/account")["email"] == "ops@example.com"
    control.stop(state_dir)
    clean = tmp_path / "clean.log"
    clean.write_text("ok: [localhost]\n")
    result = control.report(state_dir, {"clean.log": clean})
    assert result.schema_ok and not result.leaks
    assert result.lines[0].startswith("Heroku API schema: 1 requests and 1 responses validated, 0 mismatches")
    leaky = tmp_path / "leaky.log"
    leaky.write_text(f"Authorization: Bearer {info['api_key']}\nAUTH_PASS=jvmops-secret-1\n")
    result = control.report(state_dir, {"leaky.log": leaky})
    assert result.leaks == [("the API key", "leaky.log"), ("a config var value", "leaky.log")]
    assert all(info["api_key"] not in line for line in result.lines)


def test_report_without_a_run_fails(tmp_path):
    result = control.report(tmp_path / "never-started")
    assert not result.started and not result.schema_ok
    assert control.main(["report", "--state-dir", str(tmp_path / "never-started")]) == 1


def test_command_line_start_and_stop(tmp_path, capsys):
    state_dir = tmp_path / "cli"
    try:
        assert control.main(["start", "--state-dir", str(state_dir)]) == 0
        assert capsys.readouterr().out.strip() == "started"
        assert control.main(["start", "--state-dir", str(state_dir)]) == 0
        assert capsys.readouterr().out.strip() == "running"
    finally:
        assert control.main(["stop", "--state-dir", str(state_dir)]) == 0
    assert capsys.readouterr().out.strip() == "stopped"
    assert control.main(["report", "--state-dir", str(state_dir)]) == 1  # no API request was made
    assert sys.executable  # the service ran on the test's own Python
