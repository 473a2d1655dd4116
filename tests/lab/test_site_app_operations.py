# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operating the deployed sample app on app1 and app2 (the `site` fixture converges site.yml, supervisord):
one-off runs (app_run.yml), the logs of both hosts merged by time (app_logs.yml), and jcmd diagnostics of the
running JVMs saved on the controller (app_diagnostics.yml). All three are read-style: changed=0, in check mode too."""

from __future__ import annotations

import hashlib
import re
import shlex
import uuid
from datetime import datetime, timedelta, timezone

APP_RUN = "jvmops.deploy.app_run"
APP_LOGS = "jvmops.deploy.app_logs"
APP_DIAGNOSTICS = "jvmops.deploy.app_diagnostics"
FIBONACCI_BELOW_100 = "0 1 1 2 3 5 8 13 21 34 55 89"
LABELLED = re.compile(r"^(?P<host>app[12]) +\| (?P<line>.*)$")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) ")


def no_change(run):
    assert run.rc == 0, run
    assert not run.changed(exclude=()), f"changed {run.changed(exclude=())}\n{run}"


def test_one_off_run_prints_the_demo_and_changes_nothing(lab, site):
    del site
    # Values with spaces go as JSON (lab.playbook passes extra_vars as key=value); run_args as one string is split.
    request = {"run_args": "demo 100", "target": "app1"}
    for run in (lab.playbook(APP_RUN, extra_json=request), lab.playbook(APP_RUN, extra_json=request)):
        no_change(run)
        assert FIBONACCI_BELOW_100 in run.output, run
        assert "as hello: exit 0" in run.output, run
        assert set(run.recap) == {"localhost", "app1"}, run.recap
    check = lab.playbook(APP_RUN, extra_json=request, check=True, diff=True)
    no_change(check)
    assert "check mode: would run" in check.output and FIBONACCI_BELOW_100 not in check.output, check


def test_failing_run_shows_its_output_and_exit_status_and_fails(lab, site):
    del site
    run = lab.playbook(APP_RUN, extra_json={"run_args": ["demo", "many"], "target": "app2"})
    assert run.rc != 0, run
    assert "usage: demo N (N a whole number)" in run.output, run
    assert "exited 2 on app2" in run.output, run
    assert run.recap["app2"]["failed"] == 1, run.recap
    ignored = lab.playbook(APP_RUN, {"run_ignore_errors": "true"}, extra_json={"run_args": "demo many", "target": "app2"})
    no_change(ignored)
    assert "exit 2" in ignored.output and "usage: demo N" in ignored.output, ignored


def test_run_has_the_apps_user_environment_and_directory_and_masks_secrets(lab, site):
    del site
    secret = f"s3cret-{uuid.uuid4().hex}"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    command = ('id -un; pwd -P; echo "port=$PORT probe=$JVMOPS_PROBE"; '
               'printf %s "$JVMOPS_PROBE" | sha256sum; echo "level=$LOG_LEVEL"')
    run = lab.playbook(APP_RUN, args=("-v",), extra_json={
        "target": "app1", "run_command": command,
        "jvm_app_env": {"JVMOPS_PROBE": secret, "LOG_LEVEL": "INFO"}, "jvm_app_run_show_env": ["LOG_LEVEL"]})
    no_change(run)
    assert "\"hello\"" in run.output, run  # id -un: the app's user
    current = lab.ssh("app1", "readlink -f /opt/hello/current").stdout.strip()
    assert f'"{current}"' in run.output, run
    assert "port=8000 probe=********" in run.output, run
    assert digest in run.output, run  # the value reached the command
    assert "level=INFO" in run.output, run  # a value named in jvm_app_run_show_env is shown
    assert secret not in run.output, "a value of jvm_app_env appeared in the output"


def test_run_on_more_than_one_host_is_refused_unless_asked(lab, site):
    del site
    refused = lab.playbook(APP_RUN, extra_json={"target": "app", "run_args": "demo 10"})
    assert refused.rc != 0, refused
    assert "A one-off run goes to one host: target 'app' matches 2 (app1, app2)" in refused.output, refused
    assert "0 1 1 2 3 5 8" not in refused.output, refused
    both = lab.playbook(APP_RUN, extra_json={"target": "app", "run_args": "demo 10", "run_many": True})
    no_change(both)
    assert both.output.count("0 1 1 2 3 5 8") == 2, both
    assert set(both.recap) == {"localhost", "app1", "app2"}, both.recap


def merged_lines(path):
    lines = path.read_text().splitlines()
    parsed = [LABELLED.match(line) for line in lines]
    assert all(parsed), lines
    return [(m["host"], m["line"]) for m in parsed]


def test_logs_of_both_hosts_are_merged_by_time_with_labels(lab, site, tmp_path):
    del site
    merged = tmp_path / "merged.log"
    lab.converge(APP_LOGS, {"logs_lines": "20", "logs_file": str(merged)})
    lines = merged_lines(merged)
    assert {host for host, _line in lines} == {"app1", "app2"}, lines
    times = [STAMP.match(line)[1] for _host, line in lines if STAMP.match(line)]
    assert len(times) >= 2 and times == sorted(times), lines
    for host in ("app1", "app2"):  # what each host's log really holds, in the same order
        own = [line for h, line in lines if h == host]
        tail = lab.ssh(host, "tail -n 200 /opt/hello/log/stdout.log").stdout.splitlines()
        assert own == tail[-len(own):], (host, own, tail)


def test_logs_keep_stack_traces_with_their_line_and_search(lab, site, tmp_path):
    del site
    marker = uuid.uuid4().hex
    base = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = [(base + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ") for s in (1, 2, 3)]
    files = {
        "app1": [f"{stamp[0]} ERROR {marker} first", f"java.lang.IllegalStateException: {marker}",
                 "\tat jvmops.hello.HelloApp.handle(HelloApp.java:42)", f"{stamp[2]} INFO {marker} third",
                 f"{stamp[2]} INFO unrelated"],
        "app2": [f"{stamp[1]} WARN {marker} second"],
    }
    path = f"/tmp/jvmops-test-{marker}.log"
    try:
        for host, content in files.items():
            lab.ssh(host, f"printf '%s' {shlex.quote(''.join(line + chr(10) for line in content))} > {path}")
        merged = tmp_path / "search.log"
        run = lab.playbook(APP_LOGS, {"logs_search": marker, "logs_file": str(merged), "jvm_app_logs_path": path})
        no_change(run)
        expected = [("app1", line) for line in files["app1"][:3]]
        expected += [("app2", files["app2"][0]), ("app1", files["app1"][3])]
        assert merged_lines(merged) == expected
    finally:
        lab.ssh("app1", f"rm -f {path}")
        lab.ssh("app2", f"rm -f {path}")


def test_logs_bad_search_fails_before_reading(lab, site):
    del site
    run = lab.playbook(APP_LOGS, {"logs_search": "(unclosed"})
    assert run.rc != 0, run
    assert "merge_logs: search must be a Python regular expression" in run.output, run
    assert "app1" not in run.recap and "app2" not in run.recap, run.recap


def test_diagnostics_are_saved_per_host_and_check_mode_takes_none(lab, site, tmp_path):
    del site
    out = tmp_path / "diag"
    run = lab.playbook(APP_DIAGNOSTICS, {"diagnostics_dir": str(out)})
    no_change(run)
    for host in ("app1", "app2"):
        pid = lab.ssh(host, "supervisorctl pid hello").stdout.strip()
        files = {p.name.split("-", 1)[1]: p for p in (out / host).iterdir()}
        assert set(files) == {"Thread.print.txt", "GC.heap_info.txt", "VM.flags.txt"}, files
        assert all(re.match(r"^\d{8}T\d{6}Z-", p.name) for p in files.values()), files
        dump = files["Thread.print.txt"].read_text()
        assert dump.startswith(f"{pid}:\n"), dump[:200]  # the running app's JVM, as supervisord knows it
        assert "Full thread dump" in dump, dump[:500]
        assert "Metaspace" in files["GC.heap_info.txt"].read_text(), files["GC.heap_info.txt"].read_text()
        assert "-XX:" in files["VM.flags.txt"].read_text(), files["VM.flags.txt"].read_text()
    before = sorted(p for p in out.rglob("*"))
    check = lab.playbook(APP_DIAGNOSTICS, {"diagnostics_dir": str(out)}, check=True)
    no_change(check)
    assert "check mode: would run jcmd" in check.output, check
    assert sorted(p for p in out.rglob("*")) == before
