# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import nginx_upstream_server as module

CONFIG = """\
# upstream app { is a comment, not a block
http {
    upstream app {
        server 10.0.0.11:8000 max_fails=1 fail_timeout=5s;
        server 10.0.0.12:8000 max_fails=1 fail_timeout=5s;
        keepalive 32;
    }
    upstream other {
        server 10.0.0.11:8000;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; proxy_set_header Connection ""; }
    }
}
"""

# A stand-in for nginx: records its arguments, and refuses any file that holds `bad_directive`.
FAKE_NGINX = """#!/bin/sh
echo "$@" >>"{log}"
for arg in "$@"; do
  if [ -f "$arg" ] && grep -q bad_directive "$arg"; then
    echo "nginx: [emerg] unknown directive \\"bad_directive\\" in $arg:1" >&2
    exit 1
  fi
done
exit 0
"""


@pytest.fixture(name="run")
def run_fixture(invoke, tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONFIG)
    conf.chmod(0o640)
    log = tmp_path / "calls.log"
    nginx = tmp_path / "nginx"
    nginx.write_text(FAKE_NGINX.format(log=log))
    nginx.chmod(0o755)
    reload = tmp_path / "reload"
    reload.write_text(f"#!/bin/sh\necho reload >>\"{log}\"\n")
    reload.chmod(0o755)
    proc_net = tmp_path / "net"
    proc_net.mkdir()
    (proc_net / "tcp").write_text(HEADER)
    (proc_net / "tcp6").write_text(HEADER)

    def run(state="drained", server="10.0.0.11:8000", upstream="app", check=False, diff=False, **extra):
        args = {"upstream": upstream, "server": server, "state": state, "config": str(conf), "main_config": str(conf),
                "nginx_binary": str(nginx), "reload_command": [str(reload)], "proc_net": str(proc_net), **extra}
        return invoke(module.main, args, check=check, diff=diff)

    run.conf = conf
    run.warnings = invoke.warnings
    run.calls = lambda: log.read_text().splitlines() if log.exists() else []
    run.proc_net = proc_net
    run.tmp = tmp_path
    return run


HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def tcp_line(remote, state="01"):
    return f"   0: 0A07D50A:A1B2 {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 1 1\n"


def test_drain_marks_the_server_down_checks_and_reloads(run):
    out = run("drained")
    assert not out.failed and out.result["changed"], out.result
    text = run.conf.read_text()
    assert "server 10.0.0.11:8000 max_fails=1 fail_timeout=5s down;" in text
    assert "server 10.0.0.12:8000 max_fails=1 fail_timeout=5s;" in text
    assert "    upstream other {\n        server 10.0.0.11:8000;\n" in text, "other upstreams are left alone"
    calls = run.calls()
    assert calls[0].startswith("-t -q -c ") and calls[1] == "reload", calls
    assert out.result["previous_state"] == "enabled" and out.result["state"] == "drained"
    assert out.result["reloaded"] is True
    assert oct(run.conf.stat().st_mode & 0o777) == "0o640"
    assert not [p for p in run.tmp.iterdir() if p.name.startswith(".nginx.conf")], "no candidate left behind"


def test_enable_restores_the_line_byte_for_byte(run):
    run("drained")
    out = run("enabled")
    assert out.result["changed"] and out.result["previous_state"] == "drained"
    assert run.conf.read_text() == CONFIG


def test_space_before_the_semicolon_survives_a_round_trip(run):
    run.conf.write_text(CONFIG.replace("10.0.0.12:8000 max_fails=1 fail_timeout=5s;", "10.0.0.12:8000 ;"))
    original = run.conf.read_text()
    run("drained", server="10.0.0.12:8000")
    assert "server 10.0.0.12:8000 down ;" in run.conf.read_text()
    run("enabled", server="10.0.0.12:8000")
    assert run.conf.read_text() == original


def test_repeat_changes_nothing_and_calls_nothing(run):
    run("drained")
    calls = len(run.calls())
    out = run("drained")
    assert not out.result["changed"] and not out.result["reloaded"]
    assert len(run.calls()) == calls
    assert not run("enabled", server="10.0.0.12:8000").result["changed"]


def test_check_mode_predicts_and_writes_nothing(run):
    out = run("drained", check=True, diff=True)
    assert out.result["changed"] and out.result["state"] == "drained"
    assert run.conf.read_text() == CONFIG
    assert not run.calls()
    assert "fail_timeout=5s down;" in out.result["diff"]["after"]
    assert out.result["diff"]["before"] == CONFIG


def test_invalid_candidate_fails_and_leaves_the_live_file(run):
    broken = CONFIG.replace("keepalive 32;", "keepalive 32;\n        bad_directive on;")
    run.conf.write_text(broken)
    out = run("drained")
    assert out.failed
    assert "Failed to validate" in out.result["msg"] and 'unknown directive "bad_directive"' in out.result["msg"]
    assert run.conf.read_text() == broken
    assert "reload" not in run.calls()
    assert not [p for p in run.tmp.iterdir() if p.name.startswith(".nginx.conf")]


def test_included_file_is_put_back_when_the_whole_config_fails(run):
    main = run.tmp / "main.conf"
    main.write_text("bad_directive on;\n")
    out = run("drained", main_config=str(main))
    assert out.failed and "bad_directive" in out.result["msg"]
    assert run.conf.read_text() == CONFIG
    main.write_text("include nginx.conf;\n")
    out = run("drained", main_config=str(main))
    assert not out.failed and "down;" in run.conf.read_text()
    assert f"-t -q -c {main}" in run.calls()


@pytest.mark.parametrize("args, message", [
    ({"upstream": "missing"}, "upstream: there is no upstream block named 'missing'"),
    ({"server": "10.0.0.99:8000"}, "server: '10.0.0.99:8000' is not in upstream 'app' (it has: 10.0.0.11:8000, 10.0.0.12:8000)"),
    ({"server": "bad value;"}, "server must be an address"),
    ({"wait_timeout": -1}, "wait_timeout must be 0 or more"),
])
def test_bad_input_is_refused_before_any_change(run, args, message):
    out = run(**args)
    assert out.failed and message in out.result["msg"], out.result
    assert run.conf.read_text() == CONFIG and not run.calls()


def test_server_listed_twice_is_refused(run):
    run.conf.write_text(CONFIG.replace("keepalive 32;", "server 10.0.0.11:8000;\n        keepalive 32;"))
    out = run()
    assert out.failed and "listed 2 times" in out.result["msg"]


def test_connections_are_counted_from_the_kernel_tables(run):
    # 10.0.0.11:8000 -> 0B00000A:1F40; an IPv4-mapped IPv6 peer; a closed one and another server.
    (run.proc_net / "tcp").write_text(HEADER + tcp_line("0B00000A:1F40") + tcp_line("0B00000A:1F40", "06")
                                      + tcp_line("0C00000A:1F40"))
    (run.proc_net / "tcp6").write_text(HEADER + tcp_line("0000000000000000FFFF00000B00000A:1F40"))
    ips, port = module.addresses("10.0.0.11:8000")
    assert module.count_connections(str(run.proc_net), ips, port) == 2


def test_wait_reports_what_is_left_after_the_timeout(run):
    (run.proc_net / "tcp").write_text(HEADER + tcp_line("0B00000A:1F40"))
    out = run("drained", wait_timeout=1)
    assert not out.failed and out.result["connections_left"] == 1
    assert any("1 connection(s) to 10.0.0.11:8000 still open" in w for w in run.warnings), run.warnings


def test_wait_ends_when_the_connections_are_gone(run):
    out = run("drained", wait_timeout=5)
    assert out.result["connections_left"] == 0


def test_comment_and_quoted_braces_do_not_confuse_the_parser():
    text = 'upstream app {\n    # } not the end\n    server a:1 "x}";\n    server b:2;\n}\n'
    start, end = module.find_server(text, "app", "b:2")
    assert text[start:end] == "server b:2;"
