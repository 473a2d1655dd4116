# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml on clean lab hosts: build1 builds and packages the sample app, app1 and app2 run it, lb1 puts
HAProxy (80, 443) and Nginx (8080, 8443) in front; rolling deploys and reloads under load lose no request."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ANSIBLE_BIN, ansible_env
from loadgen import EventStreamWatcher, LoadGenerator

SITE = "jvmops.deploy.site"
APPS = ("app1", "app2")
RESTART_SUPERVISORD = "TASK [jvmops.deploy.supervisord : Restart supervisor to apply minfds]"
LB_PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "load_balancers.yml")


def get(url, timeout=5, context=None):
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        return response.status, response.read().decode()


def wait_for_http(url, timeout=90):
    """Wait until url answers 200; return the body."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            status, body = get(url, timeout=2)
            if status == 200:
                return body
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 within {timeout}s (last error: {last})")


def installed(lab, host, package):
    return lab.ssh(host, f"dpkg-query -W -f='${{Status}}' {package} 2>/dev/null", check=False).stdout == \
        "install ok installed"


def no_secret(run, tls):
    key_body = tls["key"].strip().splitlines()[1]
    assert key_body not in run.output, "the TLS key appeared in the output"


def versions(fronts, tls):
    out = {}
    for name, base in fronts.items():
        status, body = get(f"{base}/version", context=tls["context"] if base.startswith("https") else None)
        assert status == 200, (name, status)
        out[name] = json.loads(body)
    return out


def test_check_mode_on_clean_hosts_changes_nothing(lab, addresses, site_vars, tls):
    run = lab.playbook(SITE, check=True, diff=True, extra_json=site_vars)
    assert run.rc == 0, run
    no_secret(run, tls)
    for host in APPS:
        assert not installed(lab, host, "supervisor"), host
        assert not installed(lab, host, "openjdk-17-jdk-headless"), host
        assert lab.ssh(host, "test -e /opt/hello", check=False).returncode == 1
        assert lab.ssh(host, "test -e /etc/sysctl.d/60-jvmops-kernel-tuning.conf", check=False).returncode == 1
    assert not installed(lab, "lb1", "haproxy")
    assert not installed(lab, "lb1", "nginx")
    assert lab.ssh("build1", "test -e /srv/build", check=False).returncode == 1
    del addresses


def test_site_converges_behind_haproxy_and_nginx(lab, addresses, site_vars, tls, fronts):
    first = lab.converge(SITE, extra_json=site_vars)
    no_secret(first, tls)
    assert "answers: OK" in first.output
    for host in APPS:
        ip = addresses[host]
        version = json.loads(get(f"http://{ip}/version")[1])
        assert version["name"] == "hello-jvm", version
        assert get(f"http://{ip}/health") == (200, "OK\n")
        assert "hello-jvm" in get(f"http://{ip}/")[1]
        assert lab.ssh(host, "cat /proc/sys/net/ipv4/tcp_fin_timeout").stdout.strip() == "10"
    builds = {v["build"] for v in versions(fronts, tls).values()}
    assert len(builds) == 1, builds
    # The guide's Nginx settings, and the WebSocket upgrade where asked.
    conf = lab.ssh("lb1", "cat /etc/nginx/nginx.conf").stdout
    for line in ("proxy_http_version 1.1;", 'proxy_set_header Connection "";', "keepalive 32;",
                 "map $http_upgrade $connection_upgrade", "proxy_set_header Connection $connection_upgrade;"):
        assert line in conf, line
    # Both app hosts are up in HAProxy; the stats page answers on lb1's loopback only.
    stat = wait_for_server_states(lab, {"app1": "UP", "app2": "UP"})
    assert server_states(stat) == {"app1": "UP", "app2": "UP"}, stat
    assert "Statistics Report" in lab.ssh("lb1", "python3 -c \"import urllib.request as u; "
                                                 "print(u.urlopen('http://127.0.0.1:8404/stats').read().decode())\"").stdout
    with pytest.raises(OSError):
        get(f"http://{addresses['lb1']}:8404/stats", timeout=2)
    # The key is readable by root and haproxy only.
    assert lab.ssh("lb1", "stat -c %a:%U:%G /etc/haproxy/certs/site.pem /etc/nginx/tls/site.key").stdout.split() == \
        ["640:root:haproxy", "600:root:root"]


def server_states(stat_csv, backend="app"):
    rows = [line.split(",") for line in stat_csv.lstrip("# ").splitlines() if line]
    head = rows[0]
    return {row[1]: row[head.index("status")] for row in rows[1:]
            if row[0] == backend and row[1] not in ("BACKEND", "FRONTEND")}


def wait_for_server_states(lab, wanted, timeout=10):
    """Poll HAProxy's stats on lb1 until the app backend's servers have the wanted states; return the last stats.

    A server put back at the end of a run shows "UP 1/2" (in rotation, its health one check short of full) until
    HAProxy's next check, up to `inter` (2 s) later: the wait is for that check, not a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        stat = lab.ssh("lb1", "echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock").stdout
        if server_states(stat) == wanted or time.monotonic() > deadline:
            return stat
        time.sleep(0.2)


def processes(lab, name):
    """PIDs of a daemon's master and workers on lb1."""
    master = lab.ssh("lb1", f"systemctl show -p MainPID --value {name}").stdout.strip()
    workers = lab.ssh("lb1", f"pgrep -P {master}", check=False).stdout.split()
    return master, set(workers)


def report_line(report):
    return (f"{report['requests']} requests through HAProxy and Nginx (HTTP and TLS) in {report['duration']:.0f}s: "
            f"{report['failures']} failed, {report['retries']} retried after a closed keep-alive connection "
            f"({report['retry_reasons']}), statuses {report['statuses']}"
            + (f"; failures: {report['failure_samples']}" if report['failures'] else ""))


def test_rolling_deploy_and_reloads_lose_no_request(lab, addresses, site_vars, tls, fronts, capsys):
    before = versions(fronts, tls)
    with LoadGenerator(list(fronts.values()), workers=8, rate=250, paths=("/health", "/version", "/")) as load:
        assert load.wait_for_requests(200, timeout=30), load.snapshot()
        deploy = lab.playbook(SITE, extra_json={**site_vars, "build_version": "2.0.0-lab"})
        assert deploy.rc == 0, deploy
        assert deploy.changed().get("app1") and deploy.changed().get("app2"), deploy.changed()
        after = versions(fronts, tls)
        assert {v["version"] for v in after.values()} == {"2.0.0-lab"}, after
        assert {v["build"] for v in after.values()} != {v["build"] for v in before.values()}
        for host in APPS:
            assert json.loads(get(f"http://{addresses[host]}/version")[1])["version"] == "2.0.0-lab"
        # Each host was drained and put back, one at a time.
        assert deploy.output.count("Drain the server in HAProxy") == 2, deploy
        assert deploy.output.count("Take the server out of the Nginx upstream") == 2, deploy

        # Streams through each proxy stay open across 5 reloads of each, each with a changed config.
        streams = {name: EventStreamWatcher(fronts[name], path="/events?interval=200") for name in ("haproxy", "nginx")}
        for stream in streams.values():
            stream.start()
            assert stream.wait_open(10), stream
        masters = {name: processes(lab, name)[0] for name in ("haproxy", "nginx")}
        workers_seen = {name: processes(lab, name)[1] for name in ("haproxy", "nginx")}
        for mark in range(1, 6):
            run = lab.playbook(LB_PLAYBOOK, extra_json={**site_vars, "haproxy_extra_global": [f"# reload {mark}"],
                                                        "nginx_extra_http_config": f"# reload {mark}"})
            assert run.rc == 0 and run.changed().get("lb1"), run
            assert "Reload HAProxy" in run.output and "RUNNING HANDLER [jvmops.deploy.nginx : Reload Nginx]" in run.output
            for name in ("haproxy", "nginx"):
                master, workers = processes(lab, name)
                assert master == masters[name], f"{name} was restarted, not reloaded"
                assert workers - workers_seen[name], f"{name} has no new worker after reload {mark}"
                workers_seen[name] |= workers
        for name, stream in streams.items():
            ticks = stream.ticks
            assert stream.wait_ticks(ticks + 3, 10), f"the stream through {name} stopped: {stream.end_reason}"
            assert stream.is_alive(), f"the stream through {name} ended: {stream.end_reason}"
            stream.close()
        assert load.wait_for_requests(10_000, timeout=300), load.snapshot()
    report = load.report()
    with capsys.disabled():
        print(f"\n    load: {report_line(report)}")
    assert report["requests"] >= 10_000, report
    assert report["failures"] == 0, report
    assert set(report["statuses"]) == {"200"}, report


ROLLBACK = "jvmops.deploy.rollback"
LOCK = "/var/lib/jvmops/locks/hello.lock"


def releases(lab, host):
    """The release current points at, and the releases newest deploy first."""
    out = lab.ssh(host, "readlink /opt/hello/current; ls -1t /opt/hello/releases").stdout.split()
    return out[0].split("/")[-1], out[1:]


def test_rollback_under_load_goes_back_to_the_previous_build_drained(lab, addresses, site_vars, tls, fronts, capsys):
    """After the rolling deploy of 2.0.0-lab: rollback.yml puts every host back on the first build, one at a time,
    drained, with no failed request; a second run and a --check run change nothing."""
    before = versions(fronts, tls)
    assert {v["version"] for v in before.values()} == {"2.0.0-lab"}, before
    current, newest_first = releases(lab, "app1")
    assert current == newest_first[0] and len(newest_first) >= 2, newest_first
    with LoadGenerator(list(fronts.values()), workers=8, rate=250, paths=("/health", "/version", "/")) as load:
        assert load.wait_for_requests(200, timeout=30), load.snapshot()
        run = lab.converge(ROLLBACK, extra_json={**site_vars, "deploy_reason": "lab rollback"})
        assert run.output.count("Drain the server in HAProxy") == 2, run
        assert run.output.count("Take the server out of the Nginx upstream") == 2, run
        for host in APPS:
            assert releases(lab, host)[0] == newest_first[1], releases(lab, host)
        after = versions(fronts, tls)
        assert "2.0.0-lab" not in {v["version"] for v in after.values()}, after
        assert len({v["build"] for v in after.values()}) == 1, after
        assert load.wait_for_requests(2_000, timeout=120), load.snapshot()
    report = load.report()
    with capsys.disabled():
        print(f"\n    rollback under load: {report_line(report)}")
    assert report["failures"] == 0, report
    assert set(report["statuses"]) == {"200"}, report
    # No lock is left behind, and a named release that is not there fails before any host changes.
    assert lab.ssh("app1", f"test -e {LOCK}", check=False).returncode == 1
    missing = lab.playbook(ROLLBACK, {"rollback_to": "0000000"}, extra_json=site_vars)
    assert missing.rc != 0 and "rollback_to: 0000000 matches no release" in missing.output, missing
    assert newest_first[0] in missing.output, missing
    assert not missing.changed(), missing.changed()
    # Forward again by name (what a deploy of the newest archive also does).
    forward = lab.playbook(ROLLBACK, {"rollback_to": newest_first[0][:8]}, extra_json=site_vars)
    assert forward.rc == 0, forward
    assert {v["version"] for v in versions(fronts, tls).values()} == {"2.0.0-lab"}


def test_a_concurrent_run_is_refused_by_the_deploy_lock(lab, site_vars, tls, fronts):
    """A deploy holds the app's lock on its hosts: a rollback started meanwhile refuses, naming the deploy and why,
    and changes nothing; the lock is gone when the deploy ends."""
    cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(lab.inventory), SITE,
           "-e", json.dumps({**site_vars, "build_version": "2.1.0-lab", "deploy_reason": "release 2.1.0"})]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ansible_env())
    try:
        deadline = time.monotonic() + 300
        holder = {}
        while holder.get("pid") != first.pid:
            assert first.poll() is None, f"the deploy ended before its lock was seen:\n{first.communicate()[0]}"
            assert time.monotonic() < deadline, f"the deploy took no lock within 300 s (the lock: {holder})"
            time.sleep(0.2)
            holder = json.loads(lab.ssh("app2", f"cat {LOCK} 2>/dev/null || echo '{{}}'").stdout)
        assert holder["operation"] == "deploy" and holder["why"] == "release 2.1.0", holder
        second = lab.playbook(ROLLBACK, extra_json=site_vars)
        assert second.rc != 0, second
        assert re.search(r"is locked: deploy by \S+ \(pid %d\) since \S+, why: release 2.1.0" % first.pid,
                         second.output), second
        assert not second.changed(), second.changed()
        output = first.communicate(timeout=600)[0]
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, output
    for host in APPS:
        assert lab.ssh(host, f"test -e {LOCK}", check=False).returncode == 1, f"the lock stayed on {host}"
    assert {v["version"] for v in versions(fronts, tls).values()} == {"2.1.0-lab"}


def test_a_lock_left_behind(lab, site_vars):
    """A lock from another controller refuses until lock=break; one from a run of this controller that has ended is
    taken over, saying so."""
    other = {"id": "elsewhere-1", "user": "bob", "controller": "ops9", "pid": 4242, "operation": "deploy",
             "since": "2026-11-27T10:00:00Z"}
    lab.ssh("app1", f"mkdir -p {Path(LOCK).parent} && echo '{json.dumps(other)}' > {LOCK}")
    refused = lab.playbook(ROLLBACK, {"rollback_to": ""}, extra_json=site_vars)
    assert refused.rc != 0 and "is locked: deploy by bob@ops9 (pid 4242)" in refused.output, refused
    assert "lock=break" in refused.output and not refused.changed()
    broken = lab.playbook(ROLLBACK, {"lock": "break"}, extra_json=site_vars)
    assert broken.rc == 0, broken
    assert "Took over the deploy lock of deploy by bob@ops9" in broken.output, broken
    # This controller's run that ended without releasing its lock (a process that is gone).
    gone = subprocess.Popen(["true"])
    gone.wait()
    mine = {**other, "id": "ended-1", "controller": os.uname().nodename, "pid": gone.pid}
    lab.ssh("app2", f"echo '{json.dumps(mine)}' > {LOCK}")
    taken = lab.playbook(ROLLBACK, extra_json=site_vars)
    assert taken.rc == 0, taken
    assert "its run has ended" in taken.output, taken
    for host in APPS:
        assert lab.ssh(host, f"test -e {LOCK}", check=False).returncode == 1


@pytest.mark.parametrize("proxy, extra, message", [
    ("haproxy", {"haproxy_extra_defaults": ["no-such-keyword on"], "lab_nginx": False},
     "unknown keyword 'no-such-keyword' in 'defaults' section"),
    ("nginx", {"nginx_extra_http_config": "no_such_directive on;", "lab_haproxy": False},
     'unknown directive \\"no_such_directive\\"'),
])
def test_broken_config_is_refused_and_the_old_one_keeps_serving(lab, site_vars, tls, fronts, proxy, extra, message):
    config = {"haproxy": "/etc/haproxy/haproxy.cfg", "nginx": "/etc/nginx/nginx.conf"}[proxy]
    live = lab.ssh("lb1", f"sha256sum {config}").stdout
    pids = processes(lab, proxy)
    with LoadGenerator([fronts[proxy], fronts[f"{proxy}-tls"]], workers=2, rate=100) as load:
        run = lab.playbook(LB_PLAYBOOK, extra_json={**site_vars, **extra})
        assert run.rc != 0, run
        # As ansible.builtin.template words it, then the file and the checker's output.
        assert message in run.output and f'"msg": "failed to validate {config}: ' in run.output, run
        assert load.wait_for_requests(300, timeout=30), load.snapshot()
    assert lab.ssh("lb1", f"sha256sum {config}").stdout == live
    assert processes(lab, proxy) == pids
    report = load.report()
    assert report["failures"] == 0, report
    assert lab.ssh("lb1", f"systemctl is-active {proxy}").stdout.strip() == "active"


NGINX_MASTER = "$(systemctl show -p MainPID --value nginx)"
RELOAD_FAILURES = {
    # haproxy -c passes a listener on an address lb1 does not have (it binds nothing); the reload cannot bind it.
    "haproxy": ({"lab_nginx": False, "haproxy_stats_bind": "10.213.7.99:8404"},
                "ip addr del 10.213.7.99/32 dev host0", "ip addr add 10.213.7.99/32 dev host0",
                "Check that HAProxy loaded the new configuration"),
    # nginx -t binds what it checks, so here the master cannot act on the reload: stopped, it starts no new workers
    # (the old ones keep serving), as when it cannot load what it was sent.
    "nginx": ({"lab_haproxy": False, "nginx_extra_http_config": "# a change that needs a reload"},
              f"kill -STOP {NGINX_MASTER}", f"kill -CONT {NGINX_MASTER}",
              "Nginx did not load the new configuration"),
}


# Nginx's case takes two minutes more: `make test-extended`.
@pytest.mark.parametrize("proxy", ["haproxy", pytest.param("nginx", marks=pytest.mark.extended)])
def test_a_reload_that_failed_is_tried_again_by_the_next_run(lab, site, site_vars, fronts, proxy):
    """The new configuration is written and checked, but the running daemon does not load it: the run fails and the
    old configuration keeps serving. The next run finds the file already written; before, it reported nothing to
    change and the old configuration ran on. Now it reloads again, until the reload works."""
    del site  # converged (make test-extended runs this test without the scenarios before it)
    extra, breaks, repairs, failure = RELOAD_FAILURES[proxy]
    lab.ssh("lb1", breaks, check=False)
    try:
        with LoadGenerator([fronts[proxy]], workers=2, rate=100) as load:
            for _attempt in range(2):
                run = lab.playbook(LB_PLAYBOOK, extra_json={**site_vars, **extra})
                assert run.rc != 0 and failure in run.output, run
            assert load.wait_for_requests(200, timeout=30), load.snapshot()
        assert load.report()["failures"] == 0, load.report()
        lab.ssh("lb1", repairs)
        fixed = lab.playbook(LB_PLAYBOOK, extra_json={**site_vars, **extra})
        assert fixed.rc == 0 and fixed.changed().get("lb1"), fixed
        if proxy == "haproxy":
            assert "10.213.7.99:8404" in lab.ssh("lb1", "ss -Hltn").stdout
        again = lab.playbook(LB_PLAYBOOK, extra_json={**site_vars, **extra})
        assert again.rc == 0 and not again.changed(), again
    finally:
        lab.ssh("lb1", repairs, check=False)
        assert lab.playbook(LB_PLAYBOOK, extra_json=site_vars).rc == 0
        lab.ssh("lb1", "ip addr del 10.213.7.99/32 dev host0", check=False)


def test_failed_deploy_stops_the_rollout_and_puts_the_host_back_on_its_previous_release(lab, addresses, site_vars,
                                                                                        tls, fronts):
    """A deploy whose health check fails on app1 (its program gets a PORT the app refuses) stops the rollout: app1
    goes back to its last good release and program, drained, and serves again; app2 is not touched."""
    app2_pid = lab.ssh("app2", "supervisorctl pid hello").stdout.strip()
    good_program = lab.ssh("app1", "cat /etc/supervisor/conf.d/hello.conf").stdout
    release = releases(lab, "app1")[0]
    broken = {**site_vars, "jvm_app_env": {"PORT": "not-a-port"}, "jvm_app_health_timeout": 10}
    with LoadGenerator([fronts["haproxy"], fronts["nginx"]], workers=4, rate=150) as load:
        run = lab.playbook(SITE, extra_json=broken)
        assert run.rc != 0, run
        assert re.search(r"app1\s+:.*failed=1", run.output), run
        assert "it is back on its last good release releases/" + release + ", serving" in run.output, run
        assert "app2" not in run.recap or run.recap["app2"]["changed"] == 0, run.recap
        assert lab.ssh("app2", "supervisorctl pid hello").stdout.strip() == app2_pid
        # app1 runs its previous program again, and is back in both proxies.
        assert lab.ssh("app1", "cat /etc/supervisor/conf.d/hello.conf").stdout == good_program
        assert releases(lab, "app1")[0] == release
        assert get(f"http://{addresses['app1']}/health") == (200, "OK\n")
        stat = wait_for_server_states(lab, {"app1": "UP", "app2": "UP"})
        assert server_states(stat) == {"app1": "UP", "app2": "UP"}, stat
        assert "down;" not in lab.ssh("lb1", "cat /etc/nginx/nginx.conf").stdout
        assert load.wait_for_requests(500, timeout=60), load.snapshot()
    assert load.report()["failures"] == 0, load.report()
    # The failed run's lock on app1 was taken over by the next run of this controller; it converges with nothing
    # to change on app1.
    again = lab.playbook(SITE, extra_json=site_vars)
    assert again.rc == 0, again
    assert "its run has ended" in again.output, again
    assert lab.ssh("app1", f"test -e {LOCK}", check=False).returncode == 1


def inventory_nofile(lab):
    return next(line.split(":")[1].strip() for line in lab.inventory.read_text().splitlines()
                if line.strip().startswith("kernel_tuning_nofile:"))


def test_a_new_open_files_limit_restarts_supervisord_drained_one_host_at_a_time(lab, site_vars, fronts):
    """supervisord reads minfds only at start, and restarting it restarts the app: the deploy stages the new limit
    on both app hosts at once but restarts supervisord one host at a time, drained, under load."""
    def daemons():
        return {host: lab.ssh(host, "systemctl show -p MainPID --value supervisor").stdout.strip() for host in APPS}

    def app_limits():
        return {host: lab.ssh(host, "grep 'Max open files' /proc/$(supervisorctl pid hello)/limits").stdout.split()[3:5]
                for host in APPS}

    # Below the inventory's limit, which is the test machine's hard limit: supervisord cannot start above it.
    lower = str(int(inventory_nofile(lab)) // 2)
    before = daemons()
    with LoadGenerator([fronts["haproxy"], fronts["nginx"]], workers=4, rate=150) as load:
        assert load.wait_for_requests(100, timeout=30), load.snapshot()
        run = lab.playbook(SITE, extra_json={**site_vars, "jvm_app_nofile": int(lower)})
        assert run.rc == 0, run
        assert run.output.count(RESTART_SUPERVISORD) == 2, run
        assert run.output.count("Drain the server in HAProxy") == 2, run
        # Both hosts stage in one play; neither restarts there.
        stage = run.output.split("PLAY [Stage the release")[1].split("PLAY [Roll the app out")[0]
        assert RESTART_SUPERVISORD not in stage, run
        assert load.wait_for_requests(load.snapshot()["requests"] + 300, timeout=60), load.snapshot()
    assert load.report()["failures"] == 0, load.report()
    after = daemons()
    assert all(after[host] != before[host] for host in APPS), (before, after)
    assert app_limits() == {host: [lower, lower] for host in APPS}
    # Back to the inventory's limit (the next test checks it).
    again = lab.playbook(SITE, extra_json=site_vars)
    assert again.rc == 0 and again.output.count(RESTART_SUPERVISORD) == 2, again


def test_app_runs_with_the_configured_open_files_limit(lab, addresses):
    nofile = inventory_nofile(lab)
    for host in APPS:
        pid = lab.ssh(host, "supervisorctl pid hello").stdout.strip()
        limits = lab.ssh(host, f"grep 'Max open files' /proc/{pid}/limits").stdout.split()
        assert limits[3:5] == [nofile, nofile], limits
        assert "java" in lab.ssh(host, f"cat /proc/{pid}/comm").stdout
    del addresses


def test_app_and_forwarding_come_back_after_a_restart(lab, addresses):
    lab.restart("app2")
    body = wait_for_http(f"http://{addresses['app2']}/health")
    assert body == "OK\n"


@pytest.mark.parametrize("manager", ["systemd", "runit", "supervisord"])
def test_switching_the_process_manager(lab, addresses, site_vars, fronts, manager):
    """Each host moves to the other manager drained, one at a time, as in a deploy: no request fails."""
    with LoadGenerator([fronts["haproxy"], fronts["nginx"]], workers=4, rate=150) as load:
        switched = lab.converge(SITE, extra_json={**site_vars, "jvm_app_process_manager": manager})
        assert load.wait_for_requests(300, timeout=60), load.snapshot()
    assert load.report()["failures"] == 0, load.report()
    # Proxies retry a refused connection on the other server, which would hide a host that stops undrained: the
    # output shows each host drained before the old manager stops the app.
    previous = {"systemd": "supervisord", "runit": "systemd", "supervisord": "runit"}[manager]
    stop = {"supervisord": "Remove the program file", "systemd": "Stop the unit", "runit": "Stop the service"}[previous]
    batches = [part.split("\nPLAY [")[0] for part in switched.output.split("PLAY [Roll the app out")[1:]]
    assert len(batches) == len(APPS), switched
    for batch in batches:
        assert batch.index("Drain the server in HAProxy]") < batch.index(f"jvmops.deploy.jvm_app : {stop}]"), batch
    for host in APPS:
        assert get(f"http://{addresses[host]}/health") == (200, "OK\n")
        javas = lab.ssh(host, "pgrep -c -f jvmops.hello.Main", check=False).stdout.strip()
        assert javas == "1", f"{host} runs {javas} copies of the app under {manager}"


def test_artifact_checksum_names_the_release(lab):
    archive = lab.inventory.parent / "artifacts" / "hello-jvm.tar.gz"
    release = hashlib.sha256(archive.read_bytes()).hexdigest()[:12]
    for host in APPS:
        assert lab.ssh(host, "readlink /opt/hello/current").stdout.strip() == f"releases/{release}"


BUILD_PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "build.yml")
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello-jvm"


def task_result(run, task, host):
    """The status (ok, changed, skipping ...) a build role task reported for host."""
    found = re.search(rf"TASK \[jvmops\.deploy\.build : {re.escape(task)}\][^\n]*\n(\w+): \[{host}\]", run.output)
    return found.group(1) if found else None


def test_build_copies_and_builds_only_a_changed_source(lab, addresses, tmp_path):
    running = json.loads(get(f"http://{addresses['app1']}/version")[1])["build"]
    src = tmp_path / "hello-jvm"
    shutil.copytree(SAMPLE, src, symlinks=True)
    for path in src.rglob("*"):  # touched: new modification times, same content
        os.utime(path, (time.time() + 60, time.time() + 60))
    touched = lab.playbook(BUILD_PLAYBOOK, {"build_src": str(src)})
    assert touched.rc == 0 and not touched.changed(), touched
    assert task_result(touched, "Copy the source", "build1") == "skipping", touched
    assert task_result(touched, "Build the app", "build1") == "skipping", touched
    assert f"build_id={running} build_main_class=jvmops.hello.Main" in touched.output, touched

    (src / "README.md").write_text((src / "README.md").read_text() + "\nOne more line.\n")
    edited = lab.playbook(BUILD_PLAYBOOK, {"build_src": str(src)})
    assert edited.rc == 0 and edited.changed().get("build1"), edited
    assert task_result(edited, "Copy the source", "build1") == "changed", edited
    assert task_result(edited, "Build the app", "build1") == "changed", edited
    assert "One more line." in lab.ssh("build1", "cat /srv/build/hello-jvm/README.md").stdout
    # The README is not part of the jar or the package: same build id, same archive.
    assert f"build_id={running} " in edited.output, edited
    assert task_result(edited, "Fetch the package archive to the controller", "build1") == "skipping", edited
    again = lab.playbook(BUILD_PLAYBOOK, {"build_src": str(src)})
    assert again.rc == 0 and not again.changed(), again

    # The sample's own source again (as the other scenarios left it): copied back, nothing else differs.
    back = lab.playbook(BUILD_PLAYBOOK)
    assert back.rc == 0 and task_result(back, "Copy the source", "build1") == "changed", back


# ----------------------------------------------------------------------------------------------- as AWX jobs


def awx_secrets(tls, awx):
    return {"the TLS key": tls["key"].strip().splitlines()[1],
            "the Machine credential's key": awx.ssh_key.strip().splitlines()[1]}


# The next test deploys the archive this job built: keep them together (neither is marked extended).
def test_site_as_an_awx_job_rolls_out_a_new_build_under_load(lab, awx, site_vars, tls, fronts):
    """The job template users schedule: site.yml builds a new version and rolls it out, losing no request."""
    with LoadGenerator([fronts["haproxy"], fronts["nginx"]], workers=4, rate=150) as load:
        job = awx.run("site.yml", {**site_vars, "build_version": "3.0.0-awx"}, cmdline="--diff")
        assert job.status == "successful" and job.rc == 0, job
        assert load.wait_for_requests(300, timeout=60), load.snapshot()
    assert load.report()["failures"] == 0, load.report()
    names = job.event_names()
    assert names.index("playbook_on_start") < names.index("playbook_on_play_start") and names[-1] == "playbook_on_stats"
    assert not {"runner_on_failed", "runner_on_unreachable"} & set(names), job
    assert set(job.task_results("Drain the server in HAProxy")) == set(APPS), job
    assert {v["version"] for v in versions(fronts, tls).values()} == {"3.0.0-awx"}
    stat = wait_for_server_states(lab, {"app1": "UP", "app2": "UP"})
    assert server_states(stat) == {"app1": "UP", "app2": "UP"}, stat
    assert job.leaks(awx_secrets(tls, awx)) == []


def test_deploy_as_an_awx_job_of_the_running_build_changes_nothing(awx, site_vars, tls):
    """deploy.yml as its own job template, given the archive the site.yml job built (in AWX: a file in the project
    or on a path exposed to jobs): the hosts run it already, so no host is drained and nothing changes."""
    archive = max(awx.work.glob("job*/inventory/artifacts/hello-jvm.tar.gz"), key=lambda p: p.stat().st_mtime)
    job = awx.run("deploy.yml", {**site_vars, "deploy_archive": str(archive)})
    assert job.status == "successful" and job.rc == 0, job
    assert job.changed(exclude=()) == {}, job.stats
    assert set(job.stats["ok"]) == set(APPS), job.stats
    assert job.task_results("Drain the server in HAProxy") == {}, job
    assert job.leaks(awx_secrets(tls, awx)) == []
