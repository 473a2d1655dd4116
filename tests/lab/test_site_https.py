# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTPS on the app hosts (issue 18): site.yml with a PKCS12 keystore for app1 and app2 (jvm_app_https_keystore and
its password) makes the sample app serve HTTPS on 4430, which port_forward's 443 -> 4430 rule reaches from outside.

On the lab hosts that site.yml converged (the session's `site` fixture): the keystore goes in, converged (a second run
and a --check run change nothing); https://<app>:443/health answers with a certificate that verifies; the password is
in no output and in no world-readable file on the hosts, nor in the app's environment; a new keystore restarts each
app drained, under load through the load balancers, without a failed request. Then site.yml without the keystore puts
the hosts back as they were (plain HTTP, the keystore files gone; also when a test failed on the way), and a --check
--diff run with the keystore changes nothing and shows no password.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

from loadgen import LoadGenerator

SITE = "jvmops.deploy.site"
APPS = ("app1", "app2")
HTTPS_DIR = "/opt/hello/https"
# Literals the leak checks look for; each keystore has its own password.
PASSWORDS = ("Lab-https-" + "pw-93b1e0", "Lab-https-" + "pw-renewed-4f7d2a")
DRAIN_TASK = "TASK [jvmops.deploy.jvm_app : Drain the server in HAProxy]"
# Where the hosts keep what Ansible and the roles write; the scan reads the world-readable files there.
SCANNED = "/etc /opt /var /srv /tmp /run /home /root /usr/local"


class Keystore(NamedTuple):
    path: Path
    password: str
    context: ssl.SSLContext
    sha256: str


def make_keystore(tmp, name, password, addresses):
    """A self-signed certificate for the app hosts' addresses, as a PKCS12 keystore made by openssl (its defaults)."""
    tmp.mkdir(parents=True)
    san = ",".join(f"IP:{addresses[host]}" for host in APPS)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName={san}", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkcs12", "-export", "-name", name, "-inkey", str(tmp / "key.pem"), "-in", str(tmp / "cert.pem"),
                    "-out", str(tmp / "keystore.p12"), "-passout", "env:JVMOPS_LAB_P12_PASSWORD"],
                   env={**os.environ, "JVMOPS_LAB_P12_PASSWORD": password}, check=True, capture_output=True)
    data = (tmp / "keystore.p12").read_bytes()
    return Keystore(tmp / "keystore.p12", password, ssl.create_default_context(cafile=str(tmp / "cert.pem")),
                    hashlib.sha256(data).hexdigest())


def https_vars(keystore):
    return {"jvm_app_https_keystore": str(keystore.path), "jvm_app_https_keystore_password": keystore.password}


def https_get(url, context, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        return response.status, response.read().decode()


def no_password(run):
    for password in PASSWORDS:
        assert password not in run.output, "a keystore password appeared in the output"


def leaked_files(lab, host, password):
    """World-readable files on the host that hold the password (paths only)."""
    script = (f"find {SCANNED} -xdev -type f -perm -o=r -size -20M -print0 2>/dev/null"
              f" | xargs -0 -r grep -lsF -e {shlex.quote(password)} || true")
    return lab.ssh(host, script).stdout.split()


def app_pid(lab, host):
    return lab.ssh(host, "pgrep -u hello -f 'jvmops[.]hello[.]Main'").stdout.split()


@pytest.fixture(scope="module", name="keystores")
def keystores_fixture(tmp_path_factory, addresses):
    tmp = tmp_path_factory.mktemp("https")
    return [make_keystore(tmp / f"ks{n}", f"hello-{n}", password, addresses) for n, password in enumerate(PASSWORDS)]


@pytest.fixture(scope="module", name="https_site")
def https_site_fixture(lab, site, site_vars):
    """The converged site; afterwards, site.yml without the keystore (unless the last test did it) so that the lab is as
    the other scenarios expect it."""
    state = {"restored": False}
    yield state
    if not state["restored"]:
        run = lab.playbook(SITE, extra_json=site_vars)
        assert run.rc == 0, run
    del site


def test_site_serves_https_on_443_from_the_keystore(lab, https_site, site_vars, addresses, keystores):
    keystore = keystores[0]
    first = lab.converge(SITE, extra_json={**site_vars, **https_vars(keystore)})
    no_password(first)
    assert set(first.changed()) >= set(APPS), first.changed()
    for host in APPS:
        ip = addresses[host]
        # 443 is forwarded to 4430; the certificate verifies for the host's address.
        assert https_get(f"https://{ip}/health", keystore.context) == (200, "OK\n")
        assert https_get(f"https://{ip}:4430/version", keystore.context)[0] == 200
        # /health stays on HTTP (80 -> 8000), for jvm_app's checks and the load balancers.
        assert https_get(f"http://{ip}/health", None) == (200, "OK\n")
        # Outside releases/: root owns them, the app's group reads them, nobody else.
        modes = lab.ssh(host, f"stat -c %a:%U:%G {HTTPS_DIR} {HTTPS_DIR}/keystore.p12 {HTTPS_DIR}/keystore.password").stdout
        assert modes.split() == ["750:root:hello", "640:root:hello", "640:root:hello"], modes
        assert lab.ssh(host, f"sha256sum {HTTPS_DIR}/keystore.p12").stdout.split()[0] == keystore.sha256
        assert lab.ssh(host, f"cat {HTTPS_DIR}/keystore.password").stdout == keystore.password
        # The app is told where the files are, never the password itself.
        pids = app_pid(lab, host)
        assert len(pids) == 1, pids
        environ = lab.ssh(host, f"tr '\\0' '\\n' < /proc/{pids[0]}/environ").stdout.splitlines()
        assert "HTTPS_PORT=4430" in environ and f"HTTPS_KEYSTORE={HTTPS_DIR}/keystore.p12" in environ, environ
        assert f"HTTPS_KEYSTORE_PASSWORD_FILE={HTTPS_DIR}/keystore.password" in environ, environ
        assert not [line for line in environ if keystore.password in line]
        assert leaked_files(lab, host, keystore.password) == [], host


@pytest.mark.extended
def test_a_new_keystore_restarts_the_apps_drained_under_load(lab, https_site, site_vars, addresses, fronts, keystores):
    old, new = keystores
    pids = {host: app_pid(lab, host) for host in APPS}
    with LoadGenerator(list(fronts.values()), workers=6, rate=150, paths=("/health", "/version")) as load:
        assert load.wait_for_requests(100, timeout=30), load.snapshot()
        run = lab.playbook(SITE, extra_json={**site_vars, **https_vars(new)})
        done = load.snapshot()["requests"]
        assert load.wait_for_requests(done + 100, timeout=30), load.snapshot()
    report = load.snapshot()
    assert run.rc == 0, run
    no_password(run)
    assert report["failures"] == 0, report
    # Only the keystore changed: each app host was drained in HAProxy and restarted, one at a time.
    assert set(run.changed()) >= set(APPS), run.changed()
    drained = run.output.split(DRAIN_TASK)
    assert len(drained) == len(APPS) + 1, run
    for host in APPS:
        ip = addresses[host]
        assert app_pid(lab, host) != pids[host], host
        assert https_get(f"https://{ip}/health", new.context) == (200, "OK\n")
        with pytest.raises(urllib.error.URLError):  # the old certificate is gone
            https_get(f"https://{ip}/health", old.context)
        assert lab.ssh(host, f"sha256sum {HTTPS_DIR}/keystore.p12").stdout.split()[0] == new.sha256
        for password in PASSWORDS:
            assert leaked_files(lab, host, password) == [], host


@pytest.mark.extended
def test_without_the_keystore_the_site_is_plain_http_again(lab, https_site, site_vars, addresses):
    run = lab.playbook(SITE, extra_json=site_vars, diff=True)
    assert run.rc == 0, run
    https_site["restored"] = True
    no_password(run)
    for host in APPS:
        ip = addresses[host]
        assert lab.ssh(host, f"test -e {HTTPS_DIR}", check=False).returncode == 1, host
        assert https_get(f"http://{ip}/health", None) == (200, "OK\n")
        # 443 is still forwarded to 4430, where nothing listens now.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((ip, 443), timeout=5).close()
        environ = lab.ssh(host, f"tr '\\0' '\\n' < /proc/{app_pid(lab, host)[0]}/environ").stdout
        assert "HTTPS_" not in environ, environ
    # As the other scenarios find the lab: converged with the shared settings.
    again = lab.playbook(SITE, extra_json=site_vars)
    assert again.rc == 0 and not again.changed(), f"a second run changed {again.changed()}\n{again}"


@pytest.mark.extended
def test_check_mode_with_a_keystore_changes_nothing_and_shows_no_password(lab, https_site, site_vars, addresses, keystores):
    pids = {host: app_pid(lab, host) for host in APPS}
    run = lab.playbook(SITE, extra_json={**site_vars, **https_vars(keystores[0])}, check=True, diff=True)
    assert run.rc == 0, run
    no_password(run)
    # It says what would change (the keystore files, the program's environment), and changes none of it.
    assert set(run.changed()) >= set(APPS), run.changed()
    for host in APPS:
        assert lab.ssh(host, f"test -e {HTTPS_DIR}", check=False).returncode == 1, host
        assert app_pid(lab, host) == pids[host], host
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((addresses[host], 443), timeout=5).close()
