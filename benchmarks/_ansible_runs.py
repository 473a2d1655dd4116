# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the playbook benchmarks share: run ansible-playbook from this Python's environment, time it, read the recap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)
BANNER = re.compile(r"^(TASK|RUNNING HANDLER) \[", re.M)


def run(playbook, inventory, extra, env=None):
    """Run a playbook; exit with its output when it fails. Returns (seconds, output, {host: [ok, changed, ...]})."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook, *extra]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **(env or {}))
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{playbook} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    recap = {m[1]: [int(x) for x in m.groups()[1:]] for m in RECAP.finditer(proc.stdout)}
    return elapsed, proc.stdout, recap
