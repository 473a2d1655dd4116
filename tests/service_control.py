# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The start, stop and report verbs every local test service's control.py shares (tests/<service>_fake/control.py).

A service's control.py names its server script, the server.json key of its URL, how to reach its stats
endpoint and its own report; this module starts the server in the background, waits until it wrote
DIR/server.json, probes it, stops it, and runs the command line

    control.py start  --state-dir DIR [--timeout 60]   start it in the background unless it already runs
    control.py stop   --state-dir DIR                  stop it (SIGTERM, SIGKILL after 20 s)
    control.py report --state-dir DIR [LOG ...]        the service's report; exits 1 unless it passed
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from leaks import find_leaks

# A service on 127.0.0.1 is never reached through a proxy that http_proxy may name.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def server_info(state_dir):
    """server.json as a dict, or None when there is none."""
    try:
        return json.loads((Path(state_dir) / "server.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def alive(pid):
    """Whether the process pid still runs (reaping it first when it is our own finished child)."""
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
        if not alive(pid):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    return True


def open_direct(info, url, timeout):  # pylint: disable=unused-argument
    """Open url of a service that speaks plain HTTP on 127.0.0.1, without a proxy."""
    return _DIRECT.open(url, timeout=timeout)


def open_https(info, url, timeout):
    """Open url of a service that speaks HTTPS with its own CA (server.json's ca_path)."""
    return urllib.request.urlopen(url, timeout=timeout, context=ssl.create_default_context(cafile=info["ca_path"]))


@dataclass
class ServiceReport:
    """What one run of a service saw: its report's lines, the secrets found in its logs, whether it wrote statistics.

    Each service's Report adds the field that says whether its own checks held (schema_ok, contract_ok).
    """

    lines: list = field(default_factory=list)
    leaks: list = field(default_factory=list)
    started: bool = True

    def read_stats(self, state_dir, secret_key, missing):
        """(stats.json, server.json's secret_key value); None, with the line missing, when the service wrote no statistics."""
        state_dir = Path(state_dir)
        try:
            stats = json.loads((state_dir / "stats.json").read_text(encoding="utf-8"))
            return stats, (server_info(state_dir) or {})[secret_key]
        except (OSError, ValueError, KeyError):
            self.started = False
            self.lines.append(missing)
            return None

    def scan_logs(self, secrets, state_dir, logs):
        """Scan the service's server.log and logs ({name: text or Path}) for secrets ({label: secret}), a line per leak."""
        self.leaks = find_leaks(secrets, {"server.log": Path(state_dir) / "server.log", **logs})
        self.lines.extend(f"  leak: {label} in {name}" for label, name in self.leaks)


class ServiceControl:
    """One local service: its name in messages, its server script, its URL key in server.json, its probe.

    open_url(info, url, timeout) opens url (the service's stats endpoint) the way the service is reached:
    open_https for an HTTPS one with its own CA, open_direct for one on 127.0.0.1.
    """

    def __init__(self, name, server, url_key, open_url):
        self.name = name
        self.server = Path(server)
        self.url_key = url_key
        self.open_url = open_url

    def running(self, state_dir, timeout=5.0):
        """server.json when the service it names answers its stats endpoint, else None."""
        info = server_info(state_dir)
        if not info or not alive(info.get("pid", -1)):
            return None
        try:
            with self.open_url(info, info[self.url_key] + "/__fake__/stats", timeout) as response:
                return info if response.status == 200 else None
        except (OSError, ValueError, KeyError):
            return None

    def start(self, state_dir, python=sys.executable, timeout=60.0):
        """Start the service unless it runs; ('started' or 'running', server.json)."""
        state_dir = Path(state_dir)
        info = self.running(state_dir)
        if info:
            return "running", info
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        (state_dir / "server.json").unlink(missing_ok=True)
        with open(state_dir / "server.log", "ab") as log:
            proc = subprocess.Popen([python, str(self.server), "--state-dir", str(state_dir)],  # pylint: disable=consider-using-with
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = server_info(state_dir)
            if info and info.get("pid") == proc.pid:
                return "started", info
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {proc.returncode}; see {state_dir / 'server.log'}")
            time.sleep(0.1)
        proc.kill()
        raise RuntimeError(f"{self.name} was not ready after {timeout} s; see {state_dir / 'server.log'}")

    def main(self, argv, description, report, passed, logs_help):
        """The command line; report(state_dir, logs) gives the report, passed(result) whether its checks held."""
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("verb", choices=("start", "stop", "report"))
        parser.add_argument("--state-dir", required=True, type=Path)
        parser.add_argument("--timeout", type=float, default=60.0, help="start: seconds to wait until it is ready")
        parser.add_argument("logs", nargs="*", type=Path, help=f"report: {logs_help}")
        args = parser.parse_intermixed_args(argv)  # LOGs may follow --state-dir DIR
        if args.verb == "start":
            try:
                state = self.start(args.state_dir, timeout=args.timeout)[0]
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
        return 0 if result.started and passed(result) and not result.leaks else 1
