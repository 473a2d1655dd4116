# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for scenarios on the lab hosts: the lab itself and a playbook runner.

The lab must be up (`make lab-test` and `make test` bring it up); its inventory is read from
$JVMOPS_LAB_DIR/inventory.yml. Playbooks run as users run them: `ansible-playbook
jvmops.deploy.<name>` against the collection in ANSIBLE_COLLECTIONS_PATH.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/awx_job.py, tests/leaks.py
from awx_job import run_job  # noqa: E402  pylint: disable=wrong-import-position
LAB_DIR = Path(os.environ.get("JVMOPS_LAB_DIR", "/var/lib/jvmops-lab"))
INVENTORY = LAB_DIR / "inventory.yml"
ANSIBLE_BIN = Path(sys.executable).parent
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M,
)
REPORT_LINES = []  # lines a scenario adds for the end of the run (what a local service saw)


@dataclass(repr=False)
class Run:
    """One ansible-playbook run: exit status, output and the recap per host."""

    rc: int
    output: str

    @property
    def recap(self):
        return {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
                for m in RECAP.finditer(self.output)}

    def changed(self, exclude=("localhost",)):
        return {h: r["changed"] for h, r in self.recap.items() if h not in exclude and r["changed"]}

    def __repr__(self):
        return f"ansible exited {self.rc}; its output:\n{self.output}"


def ansible_env():
    env = dict(os.environ)
    env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="True",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0",
               PATH=f"{ANSIBLE_BIN}:{env.get('PATH', '')}")
    return env


class Lab:
    """The running lab: its inventory, and hosts to stop, start or reach over SSH."""

    inventory = INVENTORY

    def __init__(self):
        self._lab = [sys.executable, str(HERE / "lab.py")]

    def _call(self, *args, check=True, **kwargs):
        proc = subprocess.run([*self._lab, *args], check=False, text=True, capture_output=True, **kwargs)
        if check and proc.returncode != 0:
            pytest.fail(f"lab.py {' '.join(args)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}", pytrace=False)
        return proc

    def stop(self, host):
        self._call("stop", host)

    def start(self, host):
        self._call("start", host)

    def restart(self, *hosts):
        """Power off and boot again, keeping what is installed."""
        self._call("restart", *hosts)

    def reset(self, *hosts):
        """Back to the clean image: what earlier scenarios installed is gone."""
        self._call("reset", *hosts)

    def ssh(self, host, command, check=True):
        return self._call("ssh", host, command, check=check)

    def playbook(self, playbook, extra_vars=None, check=False, diff=False, stdin=subprocess.DEVNULL, timeout=900,
                 extra_json=None, inventory=None, args=()):
        """extra_vars are passed as key=value (strings); extra_json as one JSON document (any types); inventory
        replaces the lab's (a copy with group_vars beside it); args are more ansible-playbook arguments."""
        cmd = [str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(inventory or self.inventory), playbook, *args]
        for key, value in (extra_vars or {}).items():
            cmd += ["-e", f"{key}={value}"]
        if extra_json:
            cmd += ["-e", json.dumps(extra_json)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        proc = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=ansible_env(), timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout)

    def converge(self, playbook, extra_vars=None, extra_json=None, inventory=None):
        """Apply, then assert a second run and a --check run change nothing; return the first run.

        Values in extra_vars that are not strings go as JSON."""
        strings = {k: v for k, v in (extra_vars or {}).items() if isinstance(v, str)}
        structured = {**{k: v for k, v in (extra_vars or {}).items() if not isinstance(v, str)}, **(extra_json or {})}
        first = self.playbook(playbook, strings, extra_json=structured, inventory=inventory)
        assert first.rc == 0, first
        second = self.playbook(playbook, strings, extra_json=structured, inventory=inventory)
        assert second.rc == 0 and not second.changed(), f"second run changed {second.changed()}\n{second}"
        check = self.playbook(playbook, strings, check=True, diff=True, extra_json=structured, inventory=inventory)
        assert check.rc == 0 and not check.changed(), f"--check run changed {check.changed()}\n{check}"
        return first

    def adhoc(self, pattern, module, args=None, timeout=300):
        cmd = [str(ANSIBLE_BIN / "ansible"), "-i", str(self.inventory), pattern, "-m", module]
        if args:
            cmd += ["-a", args]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=ansible_env(), timeout=timeout, check=False)
        return Run(proc.returncode, proc.stdout)


class AwxJobs:
    """Playbooks of the collection run as AWX runs job templates (tests/awx_job.py): the lab's inventory without
    the key file, the key as the Machine credential, the collection as the project."""

    def __init__(self, work):
        self.work = work
        self.count = 0
        inventory = yaml.safe_load(INVENTORY.read_text())
        self.ssh_key = Path(inventory["all"]["vars"].pop("ansible_ssh_private_key_file")).read_text()
        self.inventory = inventory
        self.project = HERE.parents[1]

    @staticmethod
    def inventory_text(text):
        """An inventory file's text (the lab's or a copy of it) without the private key file."""
        return "".join(line for line in text.splitlines(keepends=True)
                       if not line.strip().startswith("ansible_ssh_private_key_file:"))

    def run(self, playbook, extravars=None, inventory=None, envvars=None, **kwargs):
        """playbook: a file under playbooks/; inventory: the lab's (default) or an inventory file."""
        self.count += 1
        envvars = {"ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH", ""), **(envvars or {})}
        return run_job(self.work / f"job{self.count}", self.project, f"playbooks/{playbook}",
                       inventory or self.inventory, extravars, envvars, ssh_key=self.ssh_key, **kwargs)


def pytest_configure(config):
    config.addinivalue_line("markers", "extended: a variant `make test` leaves to `make test-extended` (and `make test-matrix`)")


def pytest_terminal_summary(terminalreporter):
    for line in REPORT_LINES:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def awx(lab, tmp_path_factory):
    """Run a collection playbook as an AWX job template on the lab."""
    del lab
    return AwxJobs(tmp_path_factory.mktemp("awx"))


@pytest.fixture(scope="session", name="model_image")
def model_image_fixture():
    """The root filesystem of the lab's cached base image: the model image local_vm's machines boot from (root only)."""
    if os.geteuid() != 0:
        pytest.skip("local machines need root")
    sys.path.insert(0, str(HERE))
    import lab as labpy  # pylint: disable=import-outside-toplevel
    image = labpy.image_path(labpy.Config())
    if not (image / ".complete").exists():
        pytest.fail(f"no base image at {image}: `python3 tests/lab/lab.py image` builds it")
    return str(image / "rootfs")


@pytest.fixture(scope="session")
def lab():
    if not INVENTORY.exists():
        pytest.fail(f"no lab inventory at {INVENTORY}: run `make lab-up` first (make test does)")
    return Lab()


# The site's lab hosts (lb1, build1, app1, app2), shared by the site scenarios (tests/lab/test_site*.py): reset once
# per session by the first scenario that asks for them, converged by test_site.py or by the `site` fixture.
APPS = ("app1", "app2")
SITE = "jvmops.deploy.site"


@pytest.fixture(scope="session", name="addresses")
def addresses_fixture(lab):
    if not os.environ.get("JVMOPS_LAB_KEEP_HOSTS"):  # set it to rerun single tests on converged hosts
        lab.reset("lb1", "build1", *APPS)
    lab.ssh("build1", "true")
    return {host: lab.ssh(host, "hostname -I").stdout.split()[0] for host in ("lb1", *APPS)}


@pytest.fixture(scope="session", name="tls")
def tls_fixture(tmp_path_factory, addresses):
    """A self-signed certificate for lb1's address."""
    tmp = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=lb1", "-addext", f"subjectAltName=IP:{addresses['lb1']}",
                    "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   check=True, capture_output=True)
    return {"cert": (tmp / "cert.pem").read_text(), "key": (tmp / "key.pem").read_text(),
            "context": ssl.create_default_context(cafile=str(tmp / "cert.pem"))}


@pytest.fixture(scope="session", name="site_vars")
def site_vars_fixture(tls):
    return {
        "site_load_balancers": ["haproxy", "nginx"],
        "nginx_http_port": 8080, "nginx_https_port": 8443,
        "haproxy_tls_certificate": tls["cert"], "haproxy_tls_key": tls["key"],
        "nginx_tls_certificate": tls["cert"], "nginx_tls_key": tls["key"],
        "haproxy_stats_enabled": True,
    }


@pytest.fixture(scope="session", name="fronts")
def fronts_fixture(addresses):
    """Base URLs of the four ways in: HAProxy and Nginx, plain and TLS."""
    lb = addresses["lb1"]
    return {"haproxy": f"http://{lb}", "nginx": f"http://{lb}:8080",
            "haproxy-tls": f"https://{lb}", "nginx-tls": f"https://{lb}:8443"}


@pytest.fixture(scope="session", name="site")
def site_fixture(lab, addresses, site_vars):
    """The site converged with site_vars (a no-change run when test_site.py ran first); the lab's addresses."""
    run = lab.playbook(SITE, extra_json=site_vars)
    assert run.rc == 0, run
    return addresses
