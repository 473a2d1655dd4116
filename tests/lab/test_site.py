# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml on clean lab hosts: build1 builds and packages the sample app, app1 and app2 run it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

SITE = "jvmops.deploy.site"
APPS = ("app1", "app2")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
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


@pytest.fixture(scope="module", name="addresses")
def addresses_fixture(lab):
    lab.reset("build1", *APPS)
    lab.ssh("build1", "true")
    return {host: lab.ssh(host, "hostname -I").stdout.split()[0] for host in APPS}


def installed(lab, host, package):
    return lab.ssh(host, f"dpkg-query -W -f='${{Status}}' {package} 2>/dev/null", check=False).stdout == \
        "install ok installed"


def test_check_mode_on_clean_hosts_changes_nothing(lab, addresses):
    run = lab.playbook(SITE, check=True, diff=True)
    assert run.rc == 0, run
    for host in APPS:
        assert not installed(lab, host, "supervisor"), host
        assert not installed(lab, host, "openjdk-17-jdk-headless"), host
        assert lab.ssh(host, "test -e /opt/hello", check=False).returncode == 1
        assert lab.ssh(host, "test -e /etc/sysctl.d/60-jvmops-kernel-tuning.conf", check=False).returncode == 1
    assert lab.ssh("build1", "test -e /srv/build", check=False).returncode == 1
    del addresses


def test_site_converges_and_serves_on_port_80(lab, addresses):
    first = lab.converge(SITE)
    assert "answers: OK" in first.output
    for host, ip in addresses.items():
        version = json.loads(get(f"http://{ip}/version")[1])
        assert version["name"] == "hello-jvm", version
        assert get(f"http://{ip}/health") == (200, "OK\n")
        assert "hello-jvm" in get(f"http://{ip}/")[1]
        assert lab.ssh(host, "cat /proc/sys/net/ipv4/tcp_fin_timeout").stdout.strip() == "10"


def test_app_runs_with_the_configured_open_files_limit(lab, addresses):
    nofile = next(line.split(":")[1].strip() for line in lab.inventory.read_text().splitlines()
                  if line.strip().startswith("kernel_tuning_nofile:"))
    for host in addresses:
        pid = lab.ssh(host, "supervisorctl pid hello").stdout.strip()
        limits = lab.ssh(host, f"grep 'Max open files' /proc/{pid}/limits").stdout.split()
        assert limits[3:5] == [nofile, nofile], limits
        assert "java" in lab.ssh(host, f"cat /proc/{pid}/comm").stdout


def test_app_and_forwarding_come_back_after_a_restart(lab, addresses):
    lab.restart("app2")
    body = wait_for_http(f"http://{addresses['app2']}/health")
    assert body == "OK\n"


@pytest.mark.parametrize("manager", ["systemd", "runit", "supervisord"])
def test_switching_the_process_manager(lab, addresses, manager):
    lab.converge(SITE, {"jvm_app_process_manager": manager})
    for host, ip in addresses.items():
        assert get(f"http://{ip}/health") == (200, "OK\n")
        javas = lab.ssh(host, "pgrep -c -f jvmops.hello.Main", check=False).stdout.strip()
        assert javas == "1", f"{host} runs {javas} copies of the app under {manager}"
