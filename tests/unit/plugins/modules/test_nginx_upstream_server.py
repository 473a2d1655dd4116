# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _nginx
from ansible_collections.jvmops.deploy.plugins.modules import nginx_upstream_server as module

CONFIG = """\
# upstream app { is a comment, not a block
http {
    upstream app {
        server 10.213.7.11:8000 max_fails=1 fail_timeout=5s;
        server 10.213.7.12:8000 max_fails=1 fail_timeout=5s;
        keepalive 32;
    }
    upstream other {
        server 10.213.7.11:8000;
    }
    server {
        listen 80;
        location / { proxy_pass http://app; proxy_set_header Connection ""; }
    }
}
"""

# A stand-in for nginx: records its arguments, and refuses any file given to it that holds `bad_directive`.
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

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
SERVER_HEX = "0B07D50A:1F40"  # 10.213.7.11:8000
MAPPED_HEX = "0000000000000000FFFF00000B07D50A:1F40"  # ::ffff:10.213.7.11:8000


def tcp_line(remote, state="01", local="0107D50A:A1B2"):
    return f"   0: {local} {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000\n"


def executable(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture(name="run")
def run_fixture(invoke, tmp_path, monkeypatch):
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONFIG)
    conf.chmod(0o640)
    log = tmp_path / "calls.log"
    nginx = executable(tmp_path / "nginx", FAKE_NGINX.format(log=log))
    reload = executable(tmp_path / "reload", f"#!/bin/sh\necho reload >>\"{log}\"\n")
    proc_net = tmp_path / "net"
    proc_net.mkdir()
    (proc_net / "tcp").write_text(HEADER)
    (proc_net / "tcp6").write_text(HEADER)
    monkeypatch.setattr(_nginx, "PROC_NET", str(proc_net))

    def run(state="drained", server="10.213.7.11:8000", upstream="app", check=False, diff=False, **extra):
        args = {"upstream": upstream, "server": server, "state": state, "config": str(conf), "main_config": str(conf),
                "nginx_binary": str(nginx), "reload_command": [str(reload)], **extra}
        return invoke(module.main, args, check=check, diff=diff)

    run.conf = conf
    run.nginx = nginx
    run.log = log
    run.warnings = invoke.warnings
    run.calls = lambda: log.read_text().splitlines() if log.exists() else []
    run.proc_net = proc_net
    run.tmp = tmp_path
    run.leftovers = lambda: sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    return run


def test_drain_marks_the_server_down_checks_and_reloads(run):
    out = run("drained")
    assert not out.failed and out.result["changed"], out.result
    text = run.conf.read_text()
    assert text == CONFIG.replace("10.213.7.11:8000 max_fails=1 fail_timeout=5s;", "10.213.7.11:8000 max_fails=1 fail_timeout=5s down;")
    assert "    upstream other {\n        server 10.213.7.11:8000;\n" in text, "other upstreams are left alone"
    calls = run.calls()
    assert len(calls) == 2 and calls[1] == "reload", calls
    assert calls[0].startswith(f"-t -q -c {run.tmp}/.nginx.conf."), "the candidate is checked next to the live file"
    assert out.result["previous_state"] == "enabled" and out.result["state"] == "drained"
    assert out.result["line"] == "server 10.213.7.11:8000 max_fails=1 fail_timeout=5s down;"
    assert out.result["reloaded"] is True and out.result["connections_left"] is None
    assert oct(run.conf.stat().st_mode & 0o777) == "0o640"
    assert not run.leftovers(), "no candidate left behind"


def test_enable_restores_the_line_byte_for_byte(run):
    run("drained")
    out = run("enabled")
    assert out.result["changed"] and out.result["previous_state"] == "drained" and out.result["state"] == "enabled"
    assert out.result["line"] == "server 10.213.7.11:8000 max_fails=1 fail_timeout=5s;"
    assert run.conf.read_bytes() == CONFIG.encode()
    assert run.calls().count("reload") == 2


@pytest.mark.parametrize("line", [
    "server 10.213.7.12:8000 ;",
    "server 10.213.7.12:8000\tweight=2  max_fails=3 ;",
    "server 10.213.7.12:8000 weight=2 # a comment\n            max_fails=3;",
])
def test_unusual_lines_survive_a_round_trip(run, line):
    original = CONFIG.replace("server 10.213.7.12:8000 max_fails=1 fail_timeout=5s;", line)
    run.conf.write_text(original)
    assert run("drained", server="10.213.7.12:8000").result["state"] == "drained"
    assert run.conf.read_text() != original
    assert run("enabled", server="10.213.7.12:8000").result["changed"]
    assert run.conf.read_text() == original


def test_crlf_and_non_utf8_bytes_are_kept(run):
    original = CONFIG.replace("\n", "\r\n").encode().replace(b"is a comment", b"is a caf\xe9 comment")
    run.conf.write_bytes(original)
    run("drained")
    assert b"fail_timeout=5s down;\r\n" in run.conf.read_bytes()
    run("enabled")
    assert run.conf.read_bytes() == original


def test_a_down_written_by_hand_is_removed_with_its_space_only(run):
    run.conf.write_text(CONFIG.replace("10.213.7.12:8000 max_fails=1", "10.213.7.12:8000 down max_fails=1"))
    out = run("enabled", server="10.213.7.12:8000")
    assert out.result["previous_state"] == "drained"
    assert out.result["line"] == "server 10.213.7.12:8000 max_fails=1 fail_timeout=5s;"
    assert run.conf.read_text() == CONFIG


def test_a_down_after_a_comment_keeps_the_comment_closed(run):
    run.conf.write_text(CONFIG.replace("10.213.7.12:8000 max_fails=1 fail_timeout=5s;",
                                       "10.213.7.12:8000 # drained by hand\n            down;"))
    run("enabled", server="10.213.7.12:8000")
    assert "server 10.213.7.12:8000 # drained by hand\n            ;" in run.conf.read_text()


def test_repeat_changes_nothing_and_calls_nothing(run):
    run("drained")
    calls = len(run.calls())
    out = run("drained", wait_timeout=5)
    assert not out.result["changed"] and not out.result["reloaded"]
    assert out.result["connections_left"] is None, "an unchanged server is not waited for"
    assert out.result["previous_state"] == out.result["state"] == "drained"
    assert len(run.calls()) == calls
    assert not run("enabled", server="10.213.7.12:8000").result["changed"]
    assert len(run.calls()) == calls


def test_check_mode_predicts_and_writes_nothing(run):
    (run.proc_net / "tcp").write_text(HEADER + tcp_line(SERVER_HEX))
    out = run("drained", check=True, wait_timeout=30)
    assert out.result["changed"] and out.result["state"] == "drained" and out.result["previous_state"] == "enabled"
    assert out.result["line"] == "server 10.213.7.11:8000 max_fails=1 fail_timeout=5s down;"
    assert out.result["reloaded"] is False and out.result["connections_left"] is None
    assert "diff" not in out.result
    assert run.conf.read_text() == CONFIG
    assert not run.calls() and not run.leftovers()


def test_diff_shows_the_whole_file_before_and_after(run):
    for check in (True, False):
        diff = run("drained", check=check, diff=True).result["diff"]
        assert diff["before_header"] == diff["after_header"] == str(run.conf)
        assert diff["before"] == CONFIG
        assert diff["after"] == CONFIG.replace("fail_timeout=5s;\n        server 10.213.7.12",
                                               "fail_timeout=5s down;\n        server 10.213.7.12")
    assert run.conf.read_text() == CONFIG.replace("fail_timeout=5s;\n        server 10.213.7.12",
                                                  "fail_timeout=5s down;\n        server 10.213.7.12")


def test_invalid_candidate_fails_with_nginx_message_and_leaves_the_live_file(run):
    broken = CONFIG.replace("keepalive 32;", "keepalive 32;\n        bad_directive on;")
    run.conf.write_text(broken)
    inode = run.conf.stat().st_ino
    out = run("drained")
    assert out.failed
    assert out.result["msg"].startswith("Failed to validate the configuration with server '10.213.7.11:8000' drained")
    assert 'nginx: [emerg] unknown directive "bad_directive"' in out.result["msg"]
    assert "the live file is unchanged" in out.result["msg"]
    assert run.conf.read_text() == broken and run.conf.stat().st_ino == inode
    assert oct(run.conf.stat().st_mode & 0o777) == "0o640"
    assert "reload" not in run.calls() and len(run.calls()) == 1
    assert not run.leftovers()


def test_included_file_is_put_back_when_the_whole_config_fails(run):
    main = run.tmp / "main.conf"
    main.write_text("include nginx.conf;\nbad_directive on;\n")
    out = run("drained", main_config=str(main))
    assert out.failed and 'unknown directive "bad_directive"' in out.result["msg"]
    assert f"{run.conf} was put back as it was" in out.result["msg"]
    assert run.conf.read_bytes() == CONFIG.encode()
    assert oct(run.conf.stat().st_mode & 0o777) == "0o640"
    assert not run.leftovers() and "reload" not in run.calls()
    main.write_text("include nginx.conf;\n")
    out = run("drained", main_config=str(main))
    assert not out.failed and "fail_timeout=5s down;" in run.conf.read_text()
    assert run.calls()[-2:] == [f"-t -q -c {main}", "reload"]


def test_included_file_needs_an_existing_main_config(run):
    out = run("drained", main_config=str(run.tmp / "missing.conf"))
    assert out.failed and out.result["msg"].startswith("main_config: ")
    assert run.conf.read_text() == CONFIG and not run.calls()


def test_failed_reload_puts_the_file_back(run):
    out = run("drained", reload_command=["/bin/sh", "-c", "echo 'nginx.service is not active' >&2; exit 1"])
    assert out.failed and out.result["msg"].startswith("Failed to reload nginx: ")
    assert "nginx.service is not active" in out.result["msg"] and "was put back" in out.result["msg"]
    assert run.conf.read_text() == CONFIG and not run.leftovers()


@pytest.mark.parametrize("command, message", [
    (["/nonexistent/reload-nginx"], "/nonexistent/reload-nginx could not run: No such file or directory"),
    (["{tmp}/nginx.conf"], "nginx.conf could not run: Permission denied"),
    (["/bin/sh", "-c", "exit 7"], "/bin/sh -c exit 7 exited 7"),
])
def test_a_reload_that_cannot_run_puts_the_file_back_and_names_the_command(run, command, message):
    out = run("drained", reload_command=[arg.format(tmp=run.tmp) for arg in command])
    assert out.failed and out.result["msg"].startswith("Failed to reload nginx: "), out.result
    assert message in out.result["msg"] and "was put back as it was" in out.result["msg"]
    assert "exception" not in out.result and "Traceback" not in out.result["msg"]
    assert run.conf.read_text() == CONFIG and not run.leftovers()
    assert oct(run.conf.stat().st_mode & 0o777) == "0o640"


def test_a_missing_nginx_binary_puts_an_included_file_back(run):
    main = run.tmp / "main.conf"
    main.write_text("include nginx.conf;\n")
    out = run("drained", main_config=str(main), nginx_binary=str(run.tmp / "no-nginx"))
    assert out.failed and "no-nginx -t -q -c" in out.result["msg"] and "could not run" in out.result["msg"]
    assert f"{run.conf} was put back as it was" in out.result["msg"]
    assert run.conf.read_text() == CONFIG and not run.leftovers()


def test_no_reload_when_told(run):
    (run.proc_net / "tcp").write_text(HEADER + tcp_line(SERVER_HEX))
    out = run("drained", reload=False, wait_timeout=30)
    assert out.result["changed"] and not out.result["reloaded"] and out.result["connections_left"] is None
    assert run.calls() and "reload" not in run.calls()


def test_default_reload_without_systemd_signals_nginx(run, monkeypatch):
    monkeypatch.setattr(module, "SYSTEMD_RUN", str(run.tmp / "no-systemd"))
    assert run("drained", reload_command=None).result["reloaded"]
    assert run.calls()[-1] == f"-s reload -c {run.conf}"


@pytest.mark.parametrize("active, expected", [(0, "systemctl reload nginx"), (3, "-s reload -c {conf}")])
def test_default_reload_with_systemd_uses_the_unit_only_when_active(run, monkeypatch, active, expected):
    bin_dir = run.tmp / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "systemctl", f"#!/bin/sh\necho systemctl \"$@\" >>\"{run.log}\"\n"
                                      f"[ \"$1\" = is-active ] && exit {active}\nexit 0\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(module, "SYSTEMD_RUN", str(run.tmp))
    assert run("drained", reload_command=None).result["reloaded"]
    assert "systemctl is-active --quiet nginx" in run.calls()
    assert run.calls()[-1] == expected.format(conf=run.conf)


@pytest.mark.parametrize("args, message", [
    ({"upstream": "missing"}, "upstream: there is no upstream block named 'missing' in "),
    ({"server": "10.213.7.99:8000"},
     "server: '10.213.7.99:8000' is not in upstream 'app' of {conf} (it has: 10.213.7.11:8000, 10.213.7.12:8000)"),
    ({"server": "bad value;"}, "server: must be the address"),
    ({"upstream": "a{"}, "upstream: must be the name"),
    ({"wait_timeout": -1}, "wait_timeout: must be 0 or more"),
    ({"reload_command": []}, "reload_command: must be a command"),
    ({"reload_command": [" "]}, "reload_command: must be a command"),
    ({"config": "/nonexistent/nginx.conf"}, "Failed to read config /nonexistent/nginx.conf: "),
])
def test_bad_input_is_refused_before_any_change(run, args, message):
    out = run(**args)
    assert out.failed and message.format(conf=run.conf) in out.result["msg"], out.result
    assert "exception" not in out.result
    assert run.conf.read_text() == CONFIG and not run.calls()


def test_server_listed_twice_is_refused(run):
    run.conf.write_text(CONFIG.replace("keepalive 32;", "server 10.213.7.11:8000;\n        keepalive 32;"))
    out = run()
    assert out.failed
    assert "server: '10.213.7.11:8000' is listed 2 times in upstream 'app'" in out.result["msg"]
    assert "(lines 4, 6)" in out.result["msg"]
    assert not run.calls()


def test_upstream_defined_twice_is_refused(run):
    run.conf.write_text(CONFIG.replace("upstream other {", "upstream app {"))
    out = run()
    assert out.failed and "upstream: 'app' is defined 2 times" in out.result["msg"]


def test_commented_upstream_is_not_a_block(run):
    run.conf.write_text("# upstream ghost {\n#    server 10.213.7.11:8000;\n# }\n" + CONFIG)
    out = run(upstream="ghost")
    assert out.failed and "there is no upstream block named 'ghost'" in out.result["msg"]
    assert run(upstream="app").result["changed"], "the unbalanced brace in the comment does not count"


def test_unreadable_structure_fails_clearly(run):
    run.conf.write_text(CONFIG + "}\n")
    out = run()
    assert out.failed and out.result["msg"] == f"Failed to parse config {run.conf}: unexpected '}}' on line 16"


def write_tables(run, tcp="", tcp6=""):
    (run.proc_net / "tcp").write_text(HEADER + tcp)
    (run.proc_net / "tcp6").write_text(HEADER + tcp6)


def test_wait_reports_what_is_left_after_the_timeout(run):
    write_tables(run, tcp=tcp_line(SERVER_HEX), tcp6=tcp_line(MAPPED_HEX))
    out = run("drained", wait_timeout=1)
    assert not out.failed and out.result["connections_left"] == 2
    assert any("2 connection(s) to 10.213.7.11:8000 still open after 1s" in w for w in run.warnings), run.warnings


def test_wait_ends_when_the_connections_are_gone(run, monkeypatch):
    write_tables(run, tcp=tcp_line(SERVER_HEX) + tcp_line(SERVER_HEX), tcp6=tcp_line(MAPPED_HEX))
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        if len(polls) == 3:  # the requests in progress end
            write_tables(run)

    monkeypatch.setattr(module.time, "sleep", sleep)
    out = run("drained", wait_timeout=60)
    assert out.result["connections_left"] == 0
    assert polls == [0.2, 0.2, 0.2]
    assert not run.warnings


def test_wait_is_skipped_with_a_warning_for_a_unix_socket(run):
    run.conf.write_text(CONFIG.replace("10.213.7.12:8000", "unix:/run/app.sock"))
    out = run("drained", server="unix:/run/app.sock", wait_timeout=5)
    assert out.result["changed"] and out.result["connections_left"] is None
    assert any("Not waiting for the connections to unix:/run/app.sock" in w for w in run.warnings), run.warnings


def test_the_kernel_tables_are_not_an_option(run):
    out = run(proc_net=str(run.proc_net))
    assert out.failed and "proc_net" in out.result["msg"], out.result
    assert run.conf.read_text() == CONFIG and not run.calls()
