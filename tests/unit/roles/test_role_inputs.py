# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the roles: each case runs a role with ansible-playbook on localhost and asserts that it fails
in the role's validation (its argument spec or its check task, for most roles the jvmops.deploy.converged task that
fails with the role's problems before it looks at the host) with a message that names the variable,
without a traceback, within a time bound, and with nothing reported changed.

Nothing on this machine can change: the play runs in check mode, and the host's Python is /bin/false, so a
task that would run a module here fails instead of running (assert, fail and the argument spec check run on
the controller). Cases that need the module itself (sysctl_profile through kernel_tuning) use the real
Python, still in check mode, and stop at that module's own validation. The "valid" cases show that values
like the lab's and the defaults get through validation: their first failure is the first module task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

COLLECTION = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
TIME_BOUND = 120  # seconds for one run; a hang fails the case
SPEC_TASK = "Validating arguments against arg spec"
CHECK_TASKS = {
    "port_forward": "Check the port forwarding rules and whether the forwarding is in place",
    "kernel_tuning": "Check the kernel tuning settings and whether the kernel parameters and the open files limit are in place",
    "nginx": "Check the Nginx settings and whether Nginx is in place",
    "haproxy": "Check the HAProxy settings and whether HAProxy is in place",
    "supervisord": "Check the programs and whether supervisord and its programs are in place",
    "jvm_app": "Check the app settings and whether the user, the directories and the release are in place",
    "jdk": "Check the JDK choices and whether the JDKs and the default JDK's commands are in place",
    "build": "Check the build settings",
    "monitor": "Check this host's checks",
    "monitor_timer": "Check the monitor timer settings",
}
SYSCTL_TASK = "Apply and persist the kernel parameters"
# What each role needs to get past its required variables.
BASE = {
    "jvm_app": {"jvm_app_name": "hello", "jvm_app_archive": "/nonexistent/hello.tar.gz"},
    "build": {"build_src": "/nonexistent/hello-jvm"},
    "port_forward": {"port_forward_interface": "eth0"},
}
LAB_TLS = "-----BEGIN X-----\nAAAA\n-----END X-----\n"
NGINX_SERVERS = [{"address": "unix:/run/app.sock"}, {"address": "10.0.0.2:8000", "options": "backup"}]


def case(role, variables, *words, task=None, real_python=False, case_id=None):
    return pytest.param(role, variables, words, task, real_python, id=case_id or f"{role}-{'-'.join(variables)}")


# Each: the role, its variables, words the failure message must hold (the variable and the rule).
BAD = [
    # port_forward: missing keys, ports out of range, duplicates, and their neighbours.
    case("port_forward", {"port_forward_rules": [{"from": 80}]}, "to", "port_forward_rules", case_id="pf-no-to"),
    case("port_forward", {"port_forward_rules": [{"to": 8000}]}, "from", "port_forward_rules", case_id="pf-no-from"),
    case("port_forward", {"port_forward_rules": [{"from": 80, "to": 8000, "too": 1}]}, "too", "port_forward_rules",
         case_id="pf-unknown-key"),
    case("port_forward", {"port_forward_rules": ["80:8000"]}, "port_forward_rules", case_id="pf-not-a-dict"),
    case("port_forward", {"port_forward_rules": [{"from": 80, "to": "http"}]}, "to", "port_forward_rules",
         case_id="pf-port-not-a-number"),
    case("port_forward", {"port_forward_rules": [{"from": 0, "to": 8000}]}, "port_forward_rules", "from=0",
         case_id="pf-port-0"),
    case("port_forward", {"port_forward_rules": [{"from": -80, "to": 8000}]}, "port_forward_rules", "from=-80",
         case_id="pf-port-negative"),
    case("port_forward", {"port_forward_rules": [{"from": 80, "to": 65536}]}, "port_forward_rules needs entries",
         "to=65536", case_id="pf-port-65536"),
    case("port_forward", {"port_forward_rules": [{"from": 80, "to": 8000}, {"from": 80, "to": 8001}]},
         "port_forward_rules: port 80 is forwarded twice", case_id="pf-duplicate-from"),
    case("port_forward", {"port_forward_rules": []}, "port_forward_rules", "empty", case_id="pf-empty"),
    case("port_forward", {"port_forward_rules": [{"from": 0, "to": 70000}], "port_forward_interface": "eth0\nx"},
         "from=0", "to=70000", "port_forward_interface", case_id="pf-all-problems-at-once"),
    # kernel_tuning: limits.conf domain, open files, and sysctl_profile's own refusals passed through.
    case("kernel_tuning", {"kernel_tuning_nofile_domain": "*\n* hard core unlimited"}, "kernel_tuning_nofile_domain",
         case_id="kt-domain-newline"),
    case("kernel_tuning", {"kernel_tuning_nofile_domain": "app users"}, "kernel_tuning_nofile_domain",
         case_id="kt-domain-space"),
    case("kernel_tuning", {"kernel_tuning_nofile_domain": ""}, "kernel_tuning_nofile_domain", case_id="kt-domain-empty"),
    case("kernel_tuning", {"kernel_tuning_nofile": 0}, "kernel_tuning_nofile", case_id="kt-nofile-0"),
    case("kernel_tuning", {"kernel_tuning_nofile": -1}, "kernel_tuning_nofile", case_id="kt-nofile-negative"),
    case("kernel_tuning", {"kernel_tuning_sysctl_overrides": ["net.core.somaxconn"]}, "kernel_tuning_sysctl_overrides",
         case_id="kt-overrides-not-a-dict"),
    case("kernel_tuning", {"kernel_tuning_reserved_ports": [8000, 70000]}, "kernel_tuning_reserved_ports must be ports",
         case_id="kt-reserved-port-70000"),
    case("kernel_tuning", {"kernel_tuning_reserved_ports": ["8000", "0"]}, "kernel_tuning_reserved_ports must be ports",
         case_id="kt-reserved-port-0-as-text"),
    case("kernel_tuning", {"kernel_tuning_reserved_ports": ["http"]}, "kernel_tuning_reserved_ports",
         case_id="kt-reserved-port-not-a-number"),
    case("kernel_tuning", {"kernel_tuning_sysctl": {"net.core": 1}}, "parameters: 'net.core' names a group",
         task=SYSCTL_TASK, real_python=True, case_id="kt-sysctl-directory"),
    case("kernel_tuning", {"kernel_tuning_sysctl": {"vm.compact_memory": 1}}, "parameters: 'vm.compact_memory' is write-only",
         task=SYSCTL_TASK, real_python=True, case_id="kt-sysctl-write-only"),
    case("kernel_tuning", {"kernel_tuning_sysctl": {"net.core.somaxconn": 1024}, "kernel_tuning_sysctl_file": "/etc"},
         "file: /etc is a directory", task=SYSCTL_TASK, real_python=True, case_id="kt-sysctl-file-directory"),
    case("kernel_tuning", {"kernel_tuning_sysctl": {"net.core.somaxconn": 1024},
                           "kernel_tuning_sysctl_file": "/nonexistent/60.conf"},
         "file: directory /nonexistent does not exist", task=SYSCTL_TASK, real_python=True,
         case_id="kt-sysctl-file-no-directory"),
    # nginx
    case("nginx", {"nginx_upstreams": [{"servers_group": "app"}]}, "name", "nginx_upstreams", case_id="nginx-upstream-no-name"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "servers": [{"options": "down"}]}]}, "address", "servers",
         case_id="nginx-server-no-address"),
    case("nginx", {"nginx_servers": [{"listen": [80], "upstream": "app"}]}, "name", "nginx_servers",
         case_id="nginx-server-no-name"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "port": 0}]}, "nginx_upstreams", "port", case_id="nginx-upstream-port-0"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "keepalive": -1}]}, "nginx_upstreams", "keepalive",
         case_id="nginx-keepalive-negative"),
    case("nginx", {"nginx_http_port": 65536}, "nginx_http_port", case_id="nginx-http-port-65536"),
    case("nginx", {"nginx_https_port": -443}, "nginx_https_port", case_id="nginx-https-port-negative"),
    case("nginx", {"nginx_servers": [{"name": "app", "listen": [0], "upstream": "app"}]}, "nginx_servers", "listen",
         case_id="nginx-listen-port-0"),
    case("nginx", {"nginx_servers": [{"name": "app", "tls_listen": ["[::]:70000"]}]}, "nginx_servers",
         '"[::]:70000"', case_id="nginx-tls-listen-port-70000"),
    case("nginx", {"nginx_servers": [{"name": "app", "upstream": "api"}]}, "nginx_servers", "api",
         case_id="nginx-server-unknown-upstream"),
    case("nginx", {"nginx_worker_connections": 0}, "nginx_worker_connections", case_id="nginx-worker-connections-0"),
    case("nginx", {"nginx_upstreams": [{"name": "app"}, {"name": "app"}]}, "nginx_upstreams", "unique",
         case_id="nginx-upstream-twice"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "affinity": {"by": "ip"}}]}, "nginx_upstreams", "by",
         case_id="nginx-affinity-unknown-kind"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "affinity": {"by": "uri", "depth": 101}}]}, "nginx_upstreams",
         "depth", "1-100", case_id="nginx-affinity-depth-101"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "affinity": {"by": "cookie", "name": "X-Session"}}]},
         "nginx_upstreams", "name", "$cookie_<name>", case_id="nginx-affinity-cookie-with-a-hyphen"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "affinity": {"by": "uri", "name": "SERVERID"}}]},
         "nginx_upstreams", "by uri takes depth", case_id="nginx-affinity-uri-with-a-name"),
    # haproxy
    case("haproxy", {"haproxy_backends": [{"port": 8000}]}, "name", "haproxy_backends", case_id="haproxy-backend-no-name"),
    case("haproxy", {"haproxy_frontends": [{"bind": ["*:80"]}]}, "name", "haproxy_frontends",
         case_id="haproxy-frontend-no-name"),
    case("haproxy", {"haproxy_retries": -1}, "haproxy_retries", case_id="haproxy-retries-negative"),
    case("haproxy", {"haproxy_timeouts": {"connect": "-5s"}}, "haproxy_timeouts", "connect", case_id="haproxy-timeout-negative"),
    case("haproxy", {"haproxy_timeouts": {"client": "1 h"}}, "haproxy_timeouts", "client", case_id="haproxy-timeout-not-a-time"),
    case("haproxy", {"haproxy_maxconn": 0}, "haproxy_maxconn", case_id="haproxy-maxconn-0"),
    case("haproxy", {"haproxy_http_port": 0}, "haproxy_http_port", case_id="haproxy-http-port-0"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "port": 70000}]}, "haproxy_backends", "port",
         case_id="haproxy-backend-port-70000"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "servers": [{"name": "a", "address": "10.0.0.1", "port": -1}]}]},
         "haproxy_backends", "port", case_id="haproxy-server-port-negative"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "affinity": {"by": "source"}}]}, "haproxy_backends", "by",
         case_id="haproxy-affinity-unknown-kind"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "affinity": {"by": "uri", "depth": 0}}]}, "haproxy_backends",
         "depth", "1-100", case_id="haproxy-affinity-depth-0"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "balance": "roundrobin", "affinity": {"by": "uri"}}]},
         "haproxy_backends", "both balance and affinity", case_id="haproxy-affinity-uri-and-balance"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "affinity": {"by": "cookie", "name": "a b"}}]},
         "haproxy_backends", "name", case_id="haproxy-affinity-cookie-name-with-a-space"),
    # jvm_app
    case("jvm_app", {"jvm_app_env": {"MY VAR": "1"}}, "jvm_app_env", "MY VAR", case_id="app-env-space"),
    case("jvm_app", {"jvm_app_env": {"1ST": "1"}}, "jvm_app_env", "1ST", case_id="app-env-digit-first"),
    case("jvm_app", {"jvm_app_env": {"A=B": "1"}}, "jvm_app_env", "A=B", case_id="app-env-equals"),
    case("jvm_app", {"jvm_app_env": {"A\nB": "1"}}, "jvm_app_env", case_id="app-env-newline"),
    case("jvm_app", {"jvm_app_load_balancers": [{"type": "traefik", "host": "lb1"}]}, "type", "traefik",
         case_id="app-lb-unknown-kind"),
    case("jvm_app", {"jvm_app_load_balancers": [{"type": "nginx"}]}, "host", "jvm_app_load_balancers",
         case_id="app-lb-no-host"),
    case("jvm_app", {"jvm_app_load_balancers": [{"host": "lb1"}]}, "type", "jvm_app_load_balancers",
         case_id="app-lb-no-type"),
    case("jvm_app", {"jvm_app_load_balancers": [{"type": "nginx", "host": "lb1"}]}, "jvm_app_load_balancers", "server",
         case_id="app-lb-nginx-no-server"),
    case("jvm_app", {"jvm_app_port": 0}, "jvm_app_port", case_id="app-port-0"),
    case("jvm_app", {"jvm_app_port": 65536}, "jvm_app_port", case_id="app-port-65536"),
    case("jvm_app", {"jvm_app_health_timeout": -1}, "jvm_app_health_timeout", case_id="app-health-timeout-negative"),
    case("jvm_app", {"jvm_app_drain_timeout": -1}, "jvm_app_drain_timeout", case_id="app-drain-timeout-negative"),
    case("jvm_app", {"jvm_app_nofile": 0}, "jvm_app_nofile", case_id="app-nofile-0"),
    # supervisord
    case("supervisord", {"supervisord_programs": [{"command": "/bin/true"}]}, "supervisord_programs", "name",
         case_id="sup-program-no-name"),
    case("supervisord", {"supervisord_programs": [{"name": "a", "command": "/bin/true", "environment": {"A B": "1"}}]},
         "supervisord_programs", "A B", case_id="sup-env-name"),
    case("supervisord", {"supervisord_programs": [{"name": "a", "command": "/bin/true\nuser=root"}]},
         "supervisord_programs", "command", "newline", case_id="sup-value-newline"),
    case("supervisord", {"supervisord_minfds": 0}, "supervisord_minfds", case_id="sup-minfds-0"),
    case("supervisord", {"supervisord_minfds": "1024\nLimitCORE=infinity"}, "supervisord_minfds",
         case_id="sup-minfds-newline"),
    # jdk, build
    case("jdk", {"jdk_tarballs": [{"name": "jdk21", "src": "x.tar.gz", "version": "21"}]}, "checksum", "jdk_tarballs",
         case_id="jdk-tarball-no-checksum"),
    case("jdk", {"jdk_packages": [0], "jdk_default": "0"}, "jdk_packages", case_id="jdk-package-0"),
    case("jdk", {"jdk_alternatives_priority": -1}, "jdk_alternatives_priority", case_id="jdk-priority-negative"),
    case("build", {"build_name": "hello world"}, "build_name", case_id="build-name-space"),
    case("build", {"build_command": []}, "build_command", case_id="build-command-empty"),
    case("build", {"build_output": ""}, "build_output", case_id="build-output-empty"),
    case("build", {"build_package": "maybe"}, "build_package", case_id="build-package-not-bool"),
    # monitor, monitor_timer
    case("monitor", {"monitor_checks": [{"name": "disk", "critical": "150%"}]}, "check 'disk'", "critical", "150%",
         case_id="monitor-threshold-150"),
    case("monitor", {"monitor_checks": [{"name": "disk", "critical": "10X"}]}, "critical", "10X",
         case_id="monitor-unknown-unit"),
    case("monitor", {"monitor_mute_for": "-5m"}, "monitor_mute_for", "negative", case_id="monitor-negative-window"),
    case("monitor", {"monitor_only": ["nosuch"]}, "monitor_only", "nosuch", case_id="monitor-unknown-check"),
    case("monitor", {"monitor_checks": [{"name": "db", "type": "mysql", "login_user": "m", "login_password": "pw-Xy9",
                                         "port": 70000}]}, "check 'db'", "port", case_id="monitor-bad-port"),
    case("monitor", {"monitor_checks": "disk"}, "monitor_checks", case_id="monitor-checks-not-a-list"),
    case("monitor_timer", {"monitor_timer_every": "5min\nExecStartPre=/bin/true"}, "monitor_timer_every",
         "one line", case_id="timer-every-newline"),
    case("monitor_timer", {"monitor_timer_user": "Bad User"}, "monitor_timer_user", case_id="timer-bad-user"),
]

# Values the lab scenarios and the playbooks pass, and the defaults: they must get through validation.
GOOD = [
    case("port_forward", {}, case_id="pf-defaults"),
    case("port_forward", {"port_forward_rules": [{"from": "80", "to": "8000"}], "port_forward_interface": ""},
         case_id="pf-ports-as-text"),
    case("kernel_tuning", {}, case_id="kt-defaults"),
    case("kernel_tuning", {"kernel_tuning_nofile_domain": "@app", "kernel_tuning_strict": "true"}, case_id="kt-group-domain"),
    case("nginx", {}, case_id="nginx-defaults"),
    case("nginx", {"nginx_http_port": 8080, "nginx_https_port": 8443, "nginx_tls_certificate": LAB_TLS,
                   "nginx_tls_key": LAB_TLS}, case_id="nginx-lab"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "keepalive": 0, "servers": NGINX_SERVERS}],
                   "nginx_servers": [{"name": "app", "listen": ["[::]:80", "127.0.0.1:8080"], "upstream": "app",
                                      "locations": [{"path": "/", "options": ["proxy_buffering off;"]}]}]},
         case_id="nginx-servers-and-addresses"),
    case("nginx", {"nginx_upstreams": [{"name": "app", "affinity": {"by": "uri", "depth": "2"}},
                                       {"name": "api", "servers": NGINX_SERVERS[:1], "affinity": {"by": "cookie"}}]},
         case_id="nginx-affinity"),
    case("haproxy", {}, case_id="haproxy-defaults"),
    case("haproxy", {"haproxy_backends": [{"name": "app", "affinity": {"by": "uri", "depth": 3}},
                                          {"name": "api", "balance": "leastconn", "affinity": {"by": "cookie", "name": "SRV"},
                                           "servers": [{"name": "a", "address": "10.0.0.1"}]}]}, case_id="haproxy-affinity"),
    case("haproxy", {"haproxy_tls_certificate": LAB_TLS, "haproxy_tls_key": LAB_TLS, "haproxy_stats_enabled": True,
                     "haproxy_extra_defaults": ["no-such-keyword on"], "haproxy_retries": 0,
                     "haproxy_timeouts": {"connect": "5000", "tunnel": "1h", "client": "1500ms"}}, case_id="haproxy-lab"),
    case("jvm_app", {"jvm_app_env": {"PORT": "not-a-port", "_X1": ""}, "jvm_app_health_timeout": 10,
                     "jvm_app_load_balancers": [
                         {"type": "haproxy", "host": "lb1", "backend": "app", "upstream": "app",
                          "socket": "/run/haproxy/admin.sock", "config": "/etc/nginx/nginx.conf", "server": "app1"},
                         {"type": "nginx", "host": "lb1", "backend": "app", "upstream": "app",
                          "socket": "/run/haproxy/admin.sock", "config": "/etc/nginx/nginx.conf",
                          "server": "10.0.0.1:8000"}],
                     "jvm_app_drain_timeout": "30", "jvm_app_expected_version": ""}, case_id="app-lab"),
    case("jvm_app", {"jvm_app_process_manager": "runit"}, case_id="app-runit"),
    case("supervisord", {"supervisord_programs": [
        {"name": "alpha", "command": "/bin/sleep infinity", "startsecs": "1", "environment": {"COLOUR": "red"}},
        {"name": "beta", "command": "/bin/sleep infinity", "startsecs": 1, "state": "absent"}]}, case_id="sup-lab"),
    case("jdk", {"jdk_packages": [17]}, case_id="jdk-lab"),
    case("build", {}, case_id="build-defaults"),
    case("build", {"build_command": ["./build.sh", "--war"], "build_output": "build/hello-jvm.war", "build_package": "false"},
         case_id="build-war"),
    case("monitor", {}, case_id="monitor-defaults"),
    case("monitor", {"monitor_mute_for": "30m", "monitor_checks": [
        {"name": "disk", "critical": "95%", "warning": "10G"},
        {"name": "app", "type": "process", "subject": "hello-jvm", "pattern": "jvmops[.]hello", "min": 1},
        {"name": "health", "type": "http", "url": "http://127.0.0.1:8000/health", "status_codes": [200, 204]},
        {"name": "db", "type": "mysql", "login_user": "monitor", "login_password": "pw"},
        {"name": "top", "count": 5}]}, case_id="monitor-lab"),
    case("monitor_timer", {}, case_id="timer-defaults"),
]


def run_case(tmp, role, variables, real_python):
    """ansible-playbook's JSON report of one role run in check mode on localhost, and its stdout and stderr."""
    tmp.mkdir(parents=True)
    python = sys.executable if real_python else "/bin/false"
    (tmp / "inventory.ini").write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={python}\n"
        "[app]\napp1 ansible_host=192.0.2.10\n[lb]\nlb1 ansible_host=192.0.2.20\n")
    (tmp / "play.yml").write_text(json.dumps([{
        "name": "Bad input", "hosts": "localhost", "gather_facts": False,
        "tasks": [
            # Facts without gathering them (gathering runs a module here): what the jdk role's vars read.
            {"name": "Stand in for the facts", "ansible.builtin.set_fact": {"ansible_facts": {"architecture": "x86_64"}}},
            {"name": "Run the role", "ansible.builtin.include_role": {"name": f"jvmops.deploy.{role}"}},
        ],
    }]))
    (tmp / "vars.json").write_text(json.dumps({**BASE.get(role, {}), **variables}))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTION.parents[2]), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOME": str(tmp / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp / "tmp"),
           "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_ROLES_PATH": str(tmp / "roles"),
           "ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_FORCE_HANDLERS": "0"}
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(tmp / "inventory.ini"), "--check", "--diff",
                           "-e", f"@{tmp / 'vars.json'}", str(tmp / "play.yml")],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=TIME_BOUND, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    return report, proc


@pytest.fixture(scope="module", name="runs")
def runs_fixture(tmp_path_factory, request):
    """Every selected case run once, several at a time; case id -> (report, process)."""
    if COLLECTION.parents[1].name != "ansible_collections" or not ANSIBLE_PLAYBOOK.exists():
        pytest.skip("needs the collection in an ansible_collections tree and ansible-playbook beside python")
    base = tmp_path_factory.mktemp("role_inputs")
    selected = {item.callspec.id for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    params = {p.id: p.values for p in BAD + GOOD if p.id in selected}
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as pool:
        futures = {cid: pool.submit(run_case, base / cid, v[0], v[1], v[4]) for cid, v in params.items()}
        return {cid: future.result() for cid, future in futures.items()}


def task_results(report):
    """(task name, localhost's result) of every task run, in order."""
    for play in report["plays"]:
        for task in play["tasks"]:
            # "jvmops.deploy.<role> : <task name>"
            yield task["task"]["name"].split(" : ", 1)[-1], task["hosts"].get("localhost", {})


def first_failure(report):
    return next(((name, result) for name, result in task_results(report) if result.get("failed")), (None, {}))


def assert_nothing_changed(report, proc):
    changed = [name for name, result in task_results(report) if result.get("changed")]
    assert not changed, f"tasks reported changed: {changed}"
    assert report["stats"]["localhost"]["changed"] == 0
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("role, variables, words, task, real_python", BAD)
def test_bad_input_fails_in_validation_naming_the_variable(runs, request, role, variables, words, task, real_python):
    del variables, real_python
    report, proc = runs[request.node.callspec.id]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode != 0
    name, result = first_failure(report)
    expected = [task] if task else [SPEC_TASK, CHECK_TASKS[role]]
    assert name and any(name.startswith(e) for e in expected), (name, result.get("msg"))
    message = str(result.get("msg", ""))
    for word in words:
        assert word in message, message
    # ansible-core 2.19+ gives every failure an "exception" key, "(traceback unavailable)" when there is none.
    assert "Traceback" not in json.dumps(result), result.get("exception")
    assert_nothing_changed(report, proc)


@pytest.mark.parametrize("role, variables, words, task, real_python", GOOD)
def test_valid_input_gets_through_validation(runs, request, role, variables, words, task, real_python):
    del variables, words, task, real_python
    report, proc = runs[request.node.callspec.id]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = [task_name for task_name, _result in task_results(report)]
    assert any(name.startswith(SPEC_TASK) for name in names), names
    assert CHECK_TASKS[role] in names, names
    name, result = first_failure(report)
    assert name is None or not name.startswith(SPEC_TASK), (name, result.get("msg"))
    # Most roles check their settings in their jvmops.deploy.converged task, which then runs a module (and fails here,
    # where the host's Python is /bin/false): what must not come from it is the role's own refusal.
    assert name != CHECK_TASKS[role] or not str(result.get("msg", "")).startswith(f"{role}: "), (name, result.get("msg"))
    assert_nothing_changed(report, proc)
