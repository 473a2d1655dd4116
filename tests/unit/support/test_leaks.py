# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/leaks.py, the secret-leak scanner the harness and the integration targets share."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

LEAKS = Path(__file__).resolve().parents[2] / "leaks.py"
spec = importlib.util.spec_from_file_location("jvmops_test_leaks", LEAKS)
leaks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(leaks)


def test_find_leaks_in_texts_and_files(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("token=s3cr3t\n")
    found = leaks.find_leaks({"key": "s3cr3t", "marker": "jvmops-secret-", "unset": ""},
                             {"output": "nothing here", "run.log": log, "gone.log": tmp_path / "gone.log"})
    assert found == [("key", "run.log")]


def run(args, env=None):
    return subprocess.run([sys.executable, str(LEAKS), *args], capture_output=True, text=True, check=False,
                          env=env)


def test_command_line_names_the_label_and_file_never_the_secret(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("Bearer HRKU-abc123 and jvmops-secret-x\n")
    proc = run(["--secret", "api key=TEST_KEY", "--text", "value=jvmops-secret-", str(log)],
               env={"TEST_KEY": "HRKU-abc123", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"leak: api key in {log}", f"leak: value in {log}"]
    assert "HRKU-abc123" not in proc.stdout + proc.stderr


def test_command_line_clean_and_usage_errors(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("clean\n")
    proc = run(["--secret", "api key=TEST_KEY", str(log)], env={"TEST_KEY": "HRKU-abc123", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stdout.strip() == "no secret in 1 files"
    proc = run(["--secret", "api key=UNSET_VARIABLE", str(log)], env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "UNSET_VARIABLE is not set" in proc.stderr
    proc = run(["--secret", "nolabel", str(log)])
    assert proc.returncode == 2 and "expected LABEL=VALUE" in proc.stderr
