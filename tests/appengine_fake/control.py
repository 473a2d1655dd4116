# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and report on the local App Engine Admin API + Cloud Storage service (server.py) from outside it.

The same three verbs as tests/heroku_fake/control.py and tests/beanstalk_fake/control.py; what they share is
in tests/service_control.py.

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        contract statistics, and no token or private key in a log

start prints `started` or `running` and leaves DIR/server.json (api_endpoint, proxy_url, storage_endpoint,
project, default_hostname, code_bucket, token, service_account_file, service_account_email, token_uri,
private_key_marker, pid) for the caller; the token is APPENGINE_FAKE_TOKEN when that is set. report exits 1
when a request or response missed the discovery document, no request was checked at all, or the access token
or the service account's private key shows in DIR/server.log, a version's app.log or a given LOG.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import service_control  # noqa: E402 pylint: disable=wrong-import-position

SERVER = HERE / "server.py"
_SERVICE = service_control.ServiceControl("the App Engine Admin API service", SERVER, "api_endpoint",
                                          service_control.open_direct)
server_info = service_control.server_info
running = _SERVICE.running
start = _SERVICE.start
stop = service_control.stop


@dataclass
class Report(service_control.ServiceReport):
    """What one run of the service saw (lines, leaks, started), and whether every call met the discovery document."""

    contract_ok: bool = False


def report(state_dir, logs=None):
    """Read stats.json and scan the service's log, the versions' logs and logs ({name: text or Path}) for the secrets."""
    state_dir = Path(state_dir)
    result = Report()
    loaded = result.read_stats(state_dir, "token", "App Engine Admin API service: no statistics written (did no App Engine target run?)")
    if loaded is None:
        return result
    stats, token = loaded
    violations = stats.get("violations", [])
    requests, responses = stats.get("requests_validated", 0), stats.get("responses_validated", 0)
    result.lines.append(f"App Engine Admin API service: {requests} requests validated, {len(violations)} violations "
                        f"({responses} responses checked against the v1 discovery document, {len(stats.get('methods', {}))} methods, "
                        f"{stats.get('faults_injected', 0)} faults injected, {stats.get('token_requests', 0)} token requests, "
                        f"{stats.get('proxied_requests', 0)} requests to versions)")
    result.lines.extend(f"  violation: {violation}" for violation in violations[:20])
    result.contract_ok = not violations and requests > 0
    marker = (server_info(state_dir) or {}).get("private_key_marker", "")
    app_logs = {str(path): path for path in sorted((state_dir / "versions").glob("*/*/*/app.log"))}
    result.scan_logs({"the access token": token, "the service account's private key": marker}, state_dir, {**(logs or {}), **app_logs})
    return result


def main(argv=None):
    return _SERVICE.main(argv, __doc__.splitlines()[0], report, lambda result: result.contract_ok,
                         "more logs to scan for the token and the private key")


if __name__ == "__main__":
    sys.exit(main())
