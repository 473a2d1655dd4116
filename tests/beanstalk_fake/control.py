# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and report on the local Elastic Beanstalk + S3 service (server.py) from outside it.

The same three verbs as tests/heroku_fake/control.py: the setup_beanstalk target runs `control.py start`,
the test harness (hacking/run_tests.py) stops it and reads its report. What they share is in tests/service_control.py.

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        contract statistics, and no secret key in its log or LOGs

start prints `started` or `running` and leaves DIR/server.json (endpoint_url, proxy_url, region, access_key,
secret_key, account_id, pid) for the caller; report exits 1 when a request or response missed botocore's
model, no Elastic Beanstalk request was checked at all, or the secret key shows in a log.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import service_control  # noqa: E402 pylint: disable=wrong-import-position

SERVER = HERE / "server.py"
_SERVICE = service_control.ServiceControl("the Elastic Beanstalk service", SERVER, "endpoint_url",
                                          service_control.open_direct)
server_info = service_control.server_info
running = _SERVICE.running
start = _SERVICE.start
stop = service_control.stop


@dataclass
class Report(service_control.ServiceReport):
    """What one run of the service saw (lines, leaks, started), and whether every call met botocore's model."""

    contract_ok: bool = False


def report(state_dir, logs=None):
    """Read stats.json and scan the service's log and logs ({name: text or Path}) for the secret key."""
    state_dir = Path(state_dir)
    result = Report()
    loaded = result.read_stats(state_dir, "secret_key", "Elastic Beanstalk service: no statistics written (did no Elastic Beanstalk target run?)")
    if loaded is None:
        return result
    stats, secret_key = loaded
    violations = stats.get("violations", [])
    requests, responses = stats.get("requests_validated", 0), stats.get("responses_validated", 0)
    result.lines.append(f"Elastic Beanstalk contract: {requests} Elastic Beanstalk requests and {responses} responses checked "
                        f"against botocore's model ({len(stats.get('operations', {}))} operations), {len(violations)} violations, "
                        f"{stats.get('faults_injected', 0)} faults injected, {stats.get('s3_requests', 0)} S3 requests to moto")
    result.lines.extend(f"  violation: {violation}" for violation in violations[:20])
    result.contract_ok = not violations and requests > 0
    app_logs = {str(path): path for path in sorted((state_dir / "environments").glob("*/*/app.log"))}
    result.scan_logs({"the AWS secret key": secret_key}, state_dir, {**(logs or {}), **app_logs})
    return result


def main(argv=None):
    return _SERVICE.main(argv, __doc__.splitlines()[0], report, lambda result: result.contract_ok, "more logs to scan for the secret key")


if __name__ == "__main__":
    sys.exit(main())
