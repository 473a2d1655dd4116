# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operating the load balancers of the site (lb1: HAProxy on 80/443, Nginx on 8080/8443, in front of app1 and app2):
session affinity for SockJS, and maintenance mode.

- Affinity: with `affinity` on the site's backend and upstream (the load balancer roles alone, tests/lab/playbooks/
  load_balancers.yml), an XHR-streaming session of the sample app's SockJS endpoint (/sockjs/<server>/<session>/...)
  keeps landing on one host across many requests while different sessions reach both hosts, through HAProxy and
  through Nginx; a host drained as the deploy drains it (HAProxy's admin socket, Nginx's `down`) loses its sessions to
  the other host and gets them back. Each test puts the site's settings back.
- Maintenance: playbooks/maintenance.yml under load: on -> 503 with Retry-After and the page, through both proxies,
  HAProxy's health checks of the app hosts going on, kept across a re-run of the roles and a reload; off -> 200. No
  connection error at any point; second runs and --check runs change nothing.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from loadgen import LoadGenerator, connect

LB_PLAYBOOK = str(Path(__file__).resolve().parent / "playbooks" / "load_balancers.yml")
MAINTENANCE = "jvmops.deploy.maintenance"
APPS = ("app1", "app2")
PRELUDE = b"h" * 2048 + b"\n"
PROXIES = ("haproxy", "nginx")


def affinity_vars(site_vars, haproxy, nginx):
    """The site's load balancer settings with affinity on its backend and upstream (the roles' defaults otherwise)."""
    return {**site_vars,
            "haproxy_backends": [{"name": "app", "servers_group": "app", "port": 8000, "health_path": "/health",
                                  "affinity": haproxy}],
            "nginx_upstreams": [{"name": "app", "servers_group": "app", "port": 8000, "keepalive": 32, "affinity": nginx}]}


@pytest.fixture(name="restore_lbs")
def restore_lbs_fixture(lab, site, site_vars):
    """Put the load balancers back as site.yml with site_vars makes them, whatever the test did."""
    yield site
    run = lab.playbook(LB_PLAYBOOK, extra_json=site_vars)
    assert run.rc == 0, run


class Session:
    """One SockJS-shaped session through a proxy: an open XHR stream, then xhr_send requests on new connections."""

    def __init__(self, base, server_id, session_id, cookie=None):
        self.base = base
        self.path = f"/sockjs/{server_id}/{session_id}"
        self.cookie = cookie
        self.conn = None
        self.host = None

    def headers(self):
        return {"Content-Length": "0", **({"Cookie": self.cookie} if self.cookie else {})}

    def open(self):
        self.conn = connect(self.base, 10)
        # Heartbeats every 0.5 s: a proxy notices a closed client at its next write, and a drain waits for that.
        self.conn.request("POST", f"{self.path}/xhr_streaming?heartbeat=500", headers=self.headers())
        resp = self.conn.getresponse()
        assert resp.status == 200, (self.base, self.path, resp.status, resp.read())
        data = b""
        while len(data) < len(PRELUDE) + 2:
            chunk = resp.read1(len(PRELUDE) + 2 - len(data))
            assert chunk, f"the stream through {self.base} ended before the open frame"
            data += chunk
        assert data == PRELUDE + b"o\n"
        self.host = resp.getheader("X-Served-By")
        # HAProxy's cookie affinity: the first answer names the server in a cookie the client sends back.
        set_cookie = resp.getheader("Set-Cookie")
        if set_cookie and not self.cookie:
            self.cookie = set_cookie.split(";")[0]
        return self

    def send(self):
        """The host that answered one xhr_send request, on a new connection."""
        conn = connect(self.base, 10)
        try:
            conn.request("POST", f"{self.path}/xhr_send", body=b'["ping"]', headers=self.headers())
            resp = conn.getresponse()
            body = resp.read().decode()
            assert resp.status == 200, (self.base, self.path, resp.status, body)
            assert body.strip() == resp.getheader("X-Served-By")
            return body.strip()
        finally:
            conn.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()


def sessions_on_both_hosts(base, make, sends=20, limit=60):
    """Open sessions (make(n) -> Session) until both app hosts have some; each must keep its host over `sends`
    xhr_send requests. Return {host: [sessions]} (closed streams, kept for their paths and cookies)."""
    placed = {}
    for n in range(limit):
        session = make(n).open()
        try:
            answers = [session.send() for _attempt in range(sends)]
            assert set(answers) == {session.host}, f"session {session.path} through {base} moved: {answers}"
        finally:
            session.close()
        placed.setdefault(session.host, []).append(session)
        if set(placed) == set(APPS) and sum(len(s) for s in placed.values()) >= 4:
            return placed
    pytest.fail(f"{limit} sessions through {base} reached only {sorted(placed)}")
    return placed


def haproxy_server(lab, server, state):
    """Drain a server (as playbooks/deploy.yml does) or put it back, through HAProxy's admin socket."""
    args = {"drained": "state=disabled drain=true wait=true wait_interval=1 wait_retries=30",
            "enabled": "state=enabled wait=true wait_interval=1 wait_retries=30"}[state]
    run = lab.adhoc("lb1", "community.general.haproxy", f"{args} host={server} backend=app socket=/run/haproxy/admin.sock")
    assert run.rc == 0, run


def nginx_server(lab, addresses, server, state):
    """Mark a server down in the upstream (as playbooks/deploy.yml does) or put it back."""
    run = lab.adhoc("lb1", "jvmops.deploy.nginx_upstream_server",
                    f"upstream=app server={addresses[server]}:8000 state={state}")
    assert run.rc == 0, run


def check_drain_moves_only_the_drained_hosts_sessions(lab, addresses, proxy, placed):
    """A drained host's sessions go to the other host; the other host's sessions stay; put back, they return."""
    def drain(state):
        if proxy == "haproxy":
            haproxy_server(lab, "app1", state)
        else:
            nginx_server(lab, addresses, "app1", state)

    try:
        drain("drained")
        for session in placed["app1"] + placed["app2"]:
            assert {session.send() for _attempt in range(5)} == {"app2"}, f"{session.path} through {proxy} with app1 drained"
    finally:
        drain("enabled")
    for host, sessions in placed.items():
        for session in sessions:
            assert {session.send() for _attempt in range(5)} == {host}, f"{session.path} through {proxy} after app1 came back"


# Each proxy with one kind of affinity here, the other two cases in `make test-extended`.
@pytest.mark.parametrize("proxy", ["haproxy", pytest.param("nginx", marks=pytest.mark.extended)])
def test_uri_affinity_keeps_a_sockjs_session_on_one_host(lab, restore_lbs, site_vars, fronts, proxy):
    addresses = restore_lbs
    uri = {"by": "uri", "depth": 2}
    lab.converge(LB_PLAYBOOK, extra_json=affinity_vars(site_vars, uri, uri))
    conf = {"haproxy": lab.ssh("lb1", "cat /etc/haproxy/haproxy.cfg").stdout,
            "nginx": lab.ssh("lb1", "cat /etc/nginx/nginx.conf").stdout}
    assert "balance uri depth 2" in conf["haproxy"] and "hash-type consistent" in conf["haproxy"]
    assert "hash $jvmops_affinity_app consistent;" in conf["nginx"]
    # The server id is the second path segment (depth 2: /sockjs/<server>): sessions with one server id share a host.
    placed = sessions_on_both_hosts(fronts[proxy], lambda n: Session(fronts[proxy], n, uuid.uuid4().hex))
    # Without affinity the same requests are spread: the test would fail with round-robin.
    for host, sessions in placed.items():
        again = Session(fronts[proxy], sessions[0].path.split("/")[2], "another").open()
        again.close()
        assert again.host == host, f"another session with server id {sessions[0].path} through {proxy}"
    check_drain_moves_only_the_drained_hosts_sessions(lab, addresses, proxy, placed)


@pytest.mark.parametrize("proxy", [pytest.param("haproxy", marks=pytest.mark.extended), "nginx"])
def test_cookie_affinity_keeps_a_sockjs_session_on_one_host(lab, restore_lbs, site_vars, fronts, proxy):
    addresses = restore_lbs
    lab.converge(LB_PLAYBOOK, extra_json=affinity_vars(site_vars, {"by": "cookie", "name": "SERVERID"},
                                                       {"by": "cookie", "name": "JSESSIONID"}))
    if proxy == "haproxy":
        # No cookie at first: HAProxy picks a server (round-robin) and names it in SERVERID, which the client sends back.
        def make(n):
            return Session(fronts[proxy], 100, f"s{n}")
    else:
        # Nginx hashes the app's own cookie (here the client's, as if the app had set it).
        def make(n):
            return Session(fronts[proxy], 100, f"s{n}", cookie=f"JSESSIONID={uuid.uuid4().hex}")
    placed = sessions_on_both_hosts(fronts[proxy], make)
    if proxy == "haproxy":
        assert all(s.cookie == f"SERVERID={host}" for host, sessions in placed.items() for s in sessions), placed
    check_drain_moves_only_the_drained_hosts_sessions(lab, addresses, proxy, placed)


# ----------------------------------------------------------------------------------------------- maintenance


def fetch(url, method="GET"):
    """(status, headers, body) of one request on a new connection (after a reload, the new worker answers it)."""
    parts = urllib.parse.urlsplit(url)
    conn = connect(f"{parts.scheme}://{parts.netloc}", 10)
    try:
        conn.request(method, parts.path or "/", headers={"Content-Length": "0"} if method == "POST" else {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode(errors="replace")
    finally:
        conn.close()


def wait_for_states(lab, wanted, timeout=15):
    """HAProxy's states of the app backend's servers, once they are as wanted (or the timeout is over)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [line.split(",") for line in lab.ssh("lb1", "echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock")
                .stdout.lstrip("# ").splitlines() if line]
        states = {row[1]: row[rows[0].index("status")] for row in rows[1:]
                  if row[0] == "app" and row[1] not in ("BACKEND", "FRONTEND")}
        if states == wanted or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def app_pid(lab, host):
    """The app's process on an app host, whichever process manager runs it."""
    pid = lab.ssh(host, "pgrep -f jvmops.hello.Main", check=False).stdout.split()
    assert len(pid) == 1, f"{host} runs {len(pid)} copies of the app"
    return pid[0]


def maintenance_vars(state, **more):
    return {"site_load_balancers": ["haproxy", "nginx"], "maintenance": state, "maintenance_backend": "app", **more}


def test_maintenance_on_and_off_under_load(lab, site, fronts, site_vars, tmp_path):
    page = tmp_path / "maintenance.html"
    marker = f"back soon {uuid.uuid4().hex}"
    page.write_text(f"<!DOCTYPE html><title>Maintenance</title><p>{marker}</p>\n")
    pids = {host: app_pid(lab, host) for host in APPS}
    try:
        with LoadGenerator([fronts["haproxy"], fronts["nginx"], fronts["haproxy-tls"], fronts["nginx-tls"]],
                           workers=8, rate=200, paths=("/health", "/version", "/")) as load:
            assert load.wait_for_requests(200, timeout=30), load.snapshot()
            lab.converge(MAINTENANCE, extra_json=maintenance_vars("on", maintenance_retry_after=120,
                                                                  maintenance_page=str(page)))
            for name, base in fronts.items():
                for method, path in (("GET", "/"), ("GET", "/version"), ("POST", "/sockjs/1/abc/xhr_send")):
                    status, headers, body = fetch(base + path, method=method)
                    assert (status, headers.get("retry-after")) == (503, "120"), (name, path, status, headers)
                    assert marker in body and "text/html" in headers["content-type"], (name, path, body)
            # The app hosts are not touched, and HAProxy's health checks of them go on.
            assert wait_for_states(lab, {"app1": "UP", "app2": "UP"}) == {"app1": "UP", "app2": "UP"}
            for host in APPS:
                assert app_pid(lab, host) == pids[host]
                assert fetch(f"http://{site[host]}/health")[0] == 200
            # A re-run of the roles (as site.yml runs them) keeps the maintenance and finds nothing to change or reload.
            rerun = lab.playbook(LB_PLAYBOOK, extra_json=site_vars)
            assert rerun.rc == 0 and not rerun.changed(), rerun
            # So does a reload: HAProxy and Nginx read the maintenance map from disk.
            lab.ssh("lb1", "systemctl reload haproxy nginx")
            for name in PROXIES:
                status, headers, _body = fetch(fronts[name] + "/")
                assert (status, headers.get("retry-after")) == (503, "120"), (name, status, headers)
            in_maintenance = load.snapshot()
            assert load.wait_for_requests(in_maintenance["requests"] + 400, timeout=60), load.snapshot()
            lab.converge(MAINTENANCE, extra_json=maintenance_vars("off"))
            for name, base in fronts.items():
                status, headers, body = fetch(base + "/version")
                assert status == 200 and "retry-after" not in headers, (name, status, headers)
                assert json.loads(body)["name"] == "hello-jvm"
            after = load.snapshot()["requests"]
            assert load.wait_for_requests(after + 400, timeout=60), load.snapshot()
        report = load.report()
        # 503 answers while in maintenance, and nothing else failed: no refused, reset or timed out connection.
        assert set(report["failure_kinds"]) == {"http_503"}, report
        assert report["statuses"].get("503", 0) >= 400 and report["statuses"].get("200", 0) >= 400, report
    finally:
        off = lab.playbook(MAINTENANCE, extra_json=maintenance_vars("off"))
        assert off.rc == 0, off
    # Out of maintenance, every request is answered again.
    with LoadGenerator(list(fronts.values()), workers=4, rate=150) as load:
        assert load.wait_for_requests(300, timeout=60), load.snapshot()
    assert load.report()["failures"] == 0, load.report()


@pytest.mark.extended
def test_maintenance_default_page_and_retry_after(lab, site, fronts):
    try:
        lab.converge(MAINTENANCE, extra_json=maintenance_vars("on"))
        for name in PROXIES:
            status, headers, body = fetch(fronts[name] + "/")
            assert (status, headers.get("retry-after")) == (503, "300"), (name, status, headers)
            assert "Down for maintenance" in body, body
    finally:
        off = lab.playbook(MAINTENANCE, extra_json=maintenance_vars("off"))
        assert off.rc == 0, off
    del site


@pytest.mark.parametrize("extra, words", [
    ({"maintenance": "maybe"}, ["maintenance must be on or off", '"maybe"']),
    ({"maintenance_backend": "no such"}, ["maintenance_backend must name the backend"]),
    ({"maintenance_retry_after": "soon"}, ["maintenance_retry_after must be a whole number of seconds", '"soon"']),
    ({"maintenance_page": "/nonexistent/page.html"}, ["maintenance_page must be a file on the controller"]),
    ({"maintenance_backend": "api"}, ['"api" is not an upstream with maintenance support']),
])
def test_maintenance_refuses_bad_input_before_changing_anything(lab, site, extra, words):
    run = lab.playbook(MAINTENANCE, extra_json={**maintenance_vars("on"), **extra})
    assert run.rc != 0, run
    for word in words:
        assert word in run.output, (word, run.output)
    assert not run.changed(), run
    assert "app 300" not in lab.ssh("lb1", "cat /etc/haproxy/maintenance/backends.map /etc/nginx/maintenance/upstreams.map").stdout
    del site


def test_maintenance_unknown_haproxy_backend_is_refused(lab, site):
    run = lab.playbook(MAINTENANCE, extra_json={**maintenance_vars("on", maintenance_backend="api"),
                                                "site_load_balancers": ["haproxy"]})
    assert run.rc != 0 and '"api" is not a backend of the running HAProxy (app' in run.output, run
    assert not run.changed(), run
    del site
