# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start, stop and report on the local Elastic Beanstalk + S3 service (server.py) from outside it.

The same three verbs as tests/heroku_fake/control.py: the setup_beanstalk target runs `control.py start`,
the test harness (hacking/run_tests.py) stops it and reads its report.

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        contract statistics, and no secret key in its log or LOGs

start prints `started` or `running` and leaves DIR/server.json (endpoint_url, proxy_url, region, access_key,
secret_key, account_id, pid) for the caller; report exits 1 when a request or response missed botocore's
model, no Elastic Beanstalk request was checked at all, or the secret key shows in a log.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from leaks import find_leaks  # noqa: E402 pylint: disable=wrong-import-position

SERVER = HERE / "server.py"
# The stats endpoint is on 127.0.0.1: never through a proxy that http_proxy may name.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def server_info(state_dir):
    """server.json as a dict, or None when there is none."""
    try:
        return json.loads((Path(state_dir) / "server.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        # Reap it if it is our own child (a test's), so that a finished service is not a zombie.
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(state_dir, timeout=5.0):
    """server.json when the service it names answers its stats endpoint, else None."""
    info = server_info(state_dir)
    if not info or not _alive(info.get("pid", -1)):
        return None
    try:
        with _DIRECT.open(info["endpoint_url"] + "/__fake__/stats", timeout=timeout) as response:
            return info if response.status == 200 else None
    except (OSError, ValueError, KeyError):
        return None


def start(state_dir, python=sys.executable, timeout=60.0):
    """Start the service unless it runs; ('started' or 'running', server.json)."""
    state_dir = Path(state_dir)
    info = running(state_dir)
    if info:
        return "running", info
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (state_dir / "server.json").unlink(missing_ok=True)
    with open(state_dir / "server.log", "ab") as log:
        proc = subprocess.Popen([python, str(SERVER), "--state-dir", str(state_dir)],  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = server_info(state_dir)
        if info and info.get("pid") == proc.pid:
            return "started", info
        if proc.poll() is not None:
            raise RuntimeError(f"the Elastic Beanstalk service exited with status {proc.returncode}; see {state_dir / 'server.log'}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the Elastic Beanstalk service was not ready after {timeout} s; see {state_dir / 'server.log'}")


def stop(state_dir, grace=20.0):
    """Stop the service server.json names, if it runs: SIGTERM, then SIGKILL after grace seconds."""
    info = server_info(state_dir)
    pid = (info or {}).get("pid")
    if not pid:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return True


@dataclass
class Report:
    """What one run of the service saw."""

    lines: list = field(default_factory=list)
    contract_ok: bool = False
    leaks: list = field(default_factory=list)
    started: bool = True


def report(state_dir, logs=None):
    """Read stats.json and scan the service's log and logs ({name: text or Path}) for the secret key."""
    state_dir = Path(state_dir)
    result = Report()
    try:
        stats = json.loads((state_dir / "stats.json").read_text(encoding="utf-8"))
        secret_key = (server_info(state_dir) or {})["secret_key"]
    except (OSError, ValueError, KeyError):
        result.started = False
        result.lines.append("Elastic Beanstalk service: no statistics written (did no Elastic Beanstalk target run?)")
        return result
    violations = stats.get("violations", [])
    requests, responses = stats.get("requests_validated", 0), stats.get("responses_validated", 0)
    result.lines.append(f"Elastic Beanstalk contract: {requests} Elastic Beanstalk requests and {responses} responses checked "
                        f"against botocore's model ({len(stats.get('operations', {}))} operations), {len(violations)} violations, "
                        f"{stats.get('faults_injected', 0)} faults injected, {stats.get('s3_requests', 0)} S3 requests to moto")
    result.lines.extend(f"  violation: {violation}" for violation in violations[:20])
    result.contract_ok = not violations and requests > 0
    sources = {"server.log": state_dir / "server.log", **(logs or {})}
    sources.update((str(path), path) for path in sorted((state_dir / "environments").glob("*/*/app.log")))
    result.leaks = find_leaks({"the AWS secret key": secret_key}, sources)
    for label, name in result.leaks:
        result.lines.append(f"  leak: {label} in {name}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verb", choices=("start", "stop", "report"))
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--timeout", type=float, default=60.0, help="start: seconds to wait until it is ready")
    parser.add_argument("logs", nargs="*", type=Path, help="report: more logs to scan for the secret key")
    args = parser.parse_args(argv)
    if args.verb == "start":
        try:
            state, _info = start(args.state_dir, timeout=args.timeout)
        except RuntimeError as exc:
            print(f"control.py: {exc}", file=sys.stderr)
            return 1
        print(state)
        return 0
    if args.verb == "stop":
        print("stopped" if stop(args.state_dir) else "not running")
        return 0
    result = report(args.state_dir, {str(path): path for path in args.logs})
    print("\n".join(result.lines))
    return 0 if result.started and result.contract_ok and not result.leaks else 1


if __name__ == "__main__":
    sys.exit(main())
