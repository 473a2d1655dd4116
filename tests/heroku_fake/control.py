# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and report on the local Heroku API service (server.py) from outside it.

The integration targets start it (the setup_heroku role runs `control.py start`), the test harness
(hacking/run_tests.py) stops it and reads its report; a next local service (Beanstalk, App Engine)
keeps the same three verbs beside its own server. What they share is in tests/service_control.py.

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        schema statistics, and no secret in its log or LOGs

start prints `started` or `running` and leaves DIR/server.json (api_url, ca_path, pid, api_key) for the
caller; report exits 1 when a request or response missed the schema, no request was validated at all,
or the API key or a test config var value (`jvmops-secret-...`) shows in a log.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import service_control  # noqa: E402 pylint: disable=wrong-import-position

SERVER = HERE / "server.py"
# Every config var value the targets set starts with this, so a leak of any of them is found.
SECRET_VALUE_MARKER = "jvmops-secret-"

_SERVICE = service_control.ServiceControl("the Heroku API service", SERVER, "api_url", service_control.open_https)
server_info = service_control.server_info
running = _SERVICE.running
start = _SERVICE.start
stop = service_control.stop


@dataclass
class Report(service_control.ServiceReport):
    """What one run of the service saw (lines, leaks, started), and whether every request and response met the schema."""

    schema_ok: bool = False


def report(state_dir, logs=None):
    """Read stats.json and scan the service's log and logs ({name: text or Path}) for the key and config values."""
    state_dir = Path(state_dir)
    result = Report()
    loaded = result.read_stats(state_dir, "api_key", "Heroku API service: no statistics written (did no Heroku target run?)")
    if loaded is None:
        return result
    stats, api_key = loaded
    mismatches = stats.get("mismatches", [])
    result.lines.append(f"Heroku API schema: {stats.get('requests_validated', 0)} requests and "
                        f"{stats.get('responses_validated', 0)} responses validated, {len(mismatches)} mismatches, "
                        f"{stats.get('faults_injected', 0)} faults injected")
    result.lines.extend(f"  mismatch: {mismatch}" for mismatch in mismatches[:20])
    result.schema_ok = not mismatches and stats.get("requests_validated", 0) > 0
    result.scan_logs({"the API key": api_key, "a config var value": SECRET_VALUE_MARKER}, state_dir, logs or {})
    return result


def main(argv=None):
    return _SERVICE.main(argv, __doc__.splitlines()[0], report, lambda result: result.schema_ok, "more logs to scan for secrets")


if __name__ == "__main__":
    sys.exit(main())
