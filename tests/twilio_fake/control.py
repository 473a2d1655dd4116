# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and report on the local Twilio API and webhook receiver (server.py) from outside it.

The same three verbs as tests/heroku_fake/control.py; what they share is in tests/service_control.py.

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        contract statistics, and no token in its log or LOGs

start prints `started` or `running` and leaves DIR/server.json (base_url, hook_url, ca_path, account_sid,
auth_token, hook_token, pid) for the caller; report exits 1 when a request or response missed Twilio's
OpenAPI description, no request was validated at all, or the auth token or the webhook token shows in a log.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import service_control  # noqa: E402 pylint: disable=wrong-import-position

SERVER = HERE / "server.py"
_SERVICE = service_control.ServiceControl("the Twilio API service", SERVER, "base_url", service_control.open_https)
server_info = service_control.server_info
running = _SERVICE.running
start = _SERVICE.start
stop = service_control.stop


@dataclass
class Report(service_control.ServiceReport):
    """What one run of the service saw (lines, leaks, started), and whether every request met the description."""

    contract_ok: bool = False


def report(state_dir, logs=None):
    """Read stats.json and scan the service's log and logs ({name: text or Path}) for the tokens."""
    state_dir = Path(state_dir)
    result = Report()
    loaded = result.read_stats(state_dir, "auth_token", "Twilio API service: no statistics written (did no alert target run?)")
    if loaded is None:
        return result
    stats, auth_token = loaded
    violations = stats.get("violations", [])
    validated = stats.get("requests_validated", 0)
    result.lines.append(f"{validated} Twilio requests validated against the OpenAPI description, {len(violations)} violations "
                        f"({stats.get('responses_validated', 0)} responses validated, {stats.get('auth_failures', 0)} failed "
                        f"authentications, {stats.get('hooks', 0)} webhook posts)")
    result.lines.extend(f"  violation: {violation}" for violation in violations[:20])
    result.contract_ok = not violations and validated > 0
    hook_token = (service_control.server_info(state_dir) or {}).get("hook_token")
    result.scan_logs({"the Twilio auth token": auth_token, "the webhook token": hook_token}, state_dir, logs or {})
    return result


def main(argv=None):
    return _SERVICE.main(argv, __doc__.splitlines()[0], report, lambda result: result.contract_ok, "more logs to scan for the tokens")


if __name__ == "__main__":
    sys.exit(main())
