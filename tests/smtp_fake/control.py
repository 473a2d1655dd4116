# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and report on the local SMTP service (server.py) from outside it.

The same three verbs as tests/heroku_fake/control.py; what they share is in tests/service_control.py.

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        messages received, failed logins, and no password in a log

start prints `started` or `running` and leaves DIR/server.json (host, port, tls_port, ca_path, username,
password, control_url, pid) for the caller; report exits 1 when no message was received or the SMTP password
shows in its log or LOGs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import service_control  # noqa: E402 pylint: disable=wrong-import-position

SERVER = HERE / "server.py"
_SERVICE = service_control.ServiceControl("the SMTP service", SERVER, "control_url", service_control.open_direct)
server_info = service_control.server_info
running = _SERVICE.running
start = _SERVICE.start
stop = service_control.stop


@dataclass
class Report(service_control.ServiceReport):
    """What one run of the service saw (lines, leaks, started), and whether it received any message."""

    received: bool = False


def report(state_dir, logs=None):
    """Read stats.json and scan the service's log and logs ({name: text or Path}) for the SMTP password."""
    state_dir = Path(state_dir)
    result = Report()
    loaded = result.read_stats(state_dir, "password", "SMTP service: no statistics written (did no alert target run?)")
    if loaded is None:
        return result
    stats, password = loaded
    result.lines.append(f"SMTP service: {stats.get('messages', 0)} messages received in {stats.get('sessions', 0)} sessions, "
                        f"{stats.get('auth_ok', 0)} logins, {stats.get('auth_failed', 0)} failed logins")
    result.received = stats.get("messages", 0) > 0
    result.scan_logs({"the SMTP password": password}, state_dir, logs or {})
    return result


def main(argv=None):
    return _SERVICE.main(argv, __doc__.splitlines()[0], report, lambda result: result.received, "more logs to scan for the password")


if __name__ == "__main__":
    sys.exit(main())
