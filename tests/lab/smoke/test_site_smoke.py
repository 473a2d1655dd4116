# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke of site.yml on two clean lab hosts, for each Debian release the collection claims (12 and newer):
app1 builds the sample app and runs it, lb1 runs HAProxy in front. It converges, the app answers on app1's
port 80 and through lb1, a second run and a --check --diff run change nothing.

Needs a lab with the hosts lb1 and app1 (more are left alone): `lab.py up --hosts lb1,app1`, with
JVMOPS_LAB_SUITE=trixie for Debian 13. The scenario writes its own inventory (build and app: app1, lb: lb1).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest
import yaml

from conftest import REPORT_LINES

SITE = "jvmops.deploy.site"
HOSTS = ("lb1", "app1")
# The JDK jdk_packages installs by default on each release (roles/jdk/vars/Debian-<major>.yml).
RELEASE_JDK = {12: "17", 13: "21"}


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module", name="inventory")
def inventory_fixture(lab, tmp_path_factory):
    """The lab's connection settings, with lb1 and app1 only: build and app app1, lb lb1."""
    lab_inventory = yaml.safe_load(lab.inventory.read_text())["all"]
    lab_hosts = lab_inventory["children"]["lab"]["hosts"]
    missing = [host for host in HOSTS if host not in lab_hosts]
    if missing:
        pytest.fail(f"the lab has no {', '.join(missing)}: bring it up with `lab.py up --hosts lb1,app1`", pytrace=False)
    if not os.environ.get("JVMOPS_LAB_KEEP_HOSTS"):  # set it to rerun on hosts the smoke already converged
        lab.reset(*HOSTS)
    inventory = {"all": {
        "vars": lab_inventory["vars"],
        "children": {
            "lab": {"hosts": {host: lab_hosts[host] for host in HOSTS}},
            "build": {"hosts": {"app1": None}},
            "app": {"hosts": {"app1": None}},
            "lb": {"hosts": {"lb1": None}},
        },
    }}
    path = tmp_path_factory.mktemp("smoke") / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


@pytest.fixture(scope="module", name="addresses")
def addresses_fixture(inventory):
    hosts = yaml.safe_load(inventory.read_text())["all"]["children"]["lab"]["hosts"]
    return {host: hosts[host]["ansible_host"] for host in HOSTS}


@pytest.fixture(scope="module", name="release")
def release_fixture(lab, inventory):
    """Debian's major version on the hosts; both must run the same one."""
    del inventory  # the hosts are reset first
    versions = {host: lab.ssh(host, ". /etc/os-release && echo $VERSION_ID").stdout.strip() for host in HOSTS}
    assert len(set(versions.values())) == 1, versions
    return int(versions["app1"])


def timed(lab, what, timings, **kwargs):
    started = time.monotonic()
    run = lab.playbook(SITE, **kwargs)
    timings[what] = time.monotonic() - started
    return run


@pytest.fixture(scope="module", name="timings")
def timings_fixture(release):
    timings = {}
    yield timings
    REPORT_LINES.append(f"site.yml smoke on Debian {release}: " + ", ".join(f"{what} {seconds:.0f}s" for what, seconds in timings.items()))


def test_hosts_are_debian_12_or_newer(release):
    assert release >= 12, f"the lab hosts run Debian {release}"


def test_site_converges_and_the_app_answers_through_the_load_balancer(lab, inventory, addresses, release, timings):
    run = timed(lab, "converge", timings, inventory=inventory)
    assert run.rc == 0, run
    assert set(run.recap) >= set(HOSTS) and not any(r["failed"] or r["unreachable"] for r in run.recap.values()), run
    assert run.changed().get("app1") and run.changed().get("lb1"), run.recap
    # app1 on port 80 (forwarded to the app's 8000), and lb1's HAProxy in front of it, serve the same build.
    app = json.loads(get(f"http://{addresses['app1']}/version")[1])
    assert app["name"] == "hello-jvm", app
    status, body = get(f"http://{addresses['lb1']}/version")
    assert status == 200 and json.loads(body) == app, body
    assert get(f"http://{addresses['lb1']}/health") == (200, "OK\n")
    assert "hello-jvm" in get(f"http://{addresses['lb1']}/")[1]
    assert lab.ssh("lb1", "systemctl is-active haproxy").stdout.strip() == "active"
    # The release's own JDK runs the app.
    java = lab.ssh("app1", "java -version 2>&1").stdout
    if release in RELEASE_JDK:
        assert f'version "{RELEASE_JDK[release]}.' in java, java


def test_second_run_changes_nothing(lab, inventory, timings):
    run = timed(lab, "rerun", timings, inventory=inventory)
    assert run.rc == 0 and not run.changed(), f"second run changed {run.changed()}\n{run}"


def test_check_diff_run_changes_nothing(lab, inventory, timings):
    run = timed(lab, "check", timings, inventory=inventory, check=True, diff=True)
    assert run.rc == 0 and not run.changed(), f"--check --diff run changed {run.changed()}\n{run}"
