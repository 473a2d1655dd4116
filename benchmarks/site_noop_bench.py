# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark a no-change run of site.yml on the lab hosts (lb1, app1, app2, build1).

    make lab-up && ANSIBLE_COLLECTIONS_PATH=.build/collections \\
        .venv/bin/python benchmarks/site_noop_bench.py [--runs 3] [--inventory /var/lib/jvmops-lab/inventory.yml]

It first runs site.yml once so the hosts are converged (not timed), then times --runs no-change runs
(each must report changed=0), as many `--check` runs of site.yml (each must predict changed=0) and,
interleaved with them, the same number of runs of a floor playbook:
the same plays on the same hosts, with facts gathered where site.yml gathers them, and one ping per host
and play. The floor is what Ansible itself costs for that many plays and hosts over SSH, so the ratio
site / floor shows what the collection's own work adds. A second, stricter floor is the one issue 17 states:
one play on all hosts, one fact gathering and one ping per host. It prints the median times, the number of tasks
and hosts, and the ratio; the site.yml time is the baseline later work must beat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

from _ansible_runs import BANNER, run

PLAYBOOK = "jvmops.deploy.site"

# The plays of site.yml, with one fact gathering per host (site.yml's first play gathers for build and app hosts).
FLOOR = """---
- {name: jdk, hosts: "build:app", gather_facts: true, tasks: [{name: ping, ansible.builtin.ping: {}}]}
- {name: build, hosts: "build[0]", gather_facts: false, tasks: [{name: ping, ansible.builtin.ping: {}}]}
- {name: prepare, hosts: app, gather_facts: false, tasks: [{name: ping, ansible.builtin.ping: {}}]}
- {name: lb, hosts: lb, gather_facts: false, tasks: [{name: ping, ansible.builtin.ping: {}}]}
- {name: stage, hosts: app, gather_facts: false, tasks: [{name: ping, ansible.builtin.ping: {}}]}
- {name: deploy, hosts: app, serial: 1, gather_facts: false, tasks: [{name: ping, ansible.builtin.ping: {}}]}
- {name: check, hosts: "app:lb", gather_facts: false, tasks: [{name: ping, ansible.builtin.ping: {}}]}
"""

# The floor: one fact gathering and one no-op module call per host, in one play.
FLOOR_ONE_PLAY = """---
- {name: floor, hosts: "build:app:lb", gather_facts: true, tasks: [{name: ping, ansible.builtin.ping: {}}]}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inventory", default=os.path.join(os.environ.get("JVMOPS_LAB_DIR", "/var/lib/jvmops-lab"),
                                                            "inventory.yml"))
    parser.add_argument("-e", "--extra-vars", action="append", default=[], help="passed to ansible-playbook")
    args = parser.parse_args()
    if not os.path.exists(args.inventory):
        sys.exit(f"no lab inventory at {args.inventory}: run `make lab-up` first")
    extra = [x for value in args.extra_vars for x in ("-e", value)]

    print(f"converging the lab with {PLAYBOOK} (not timed) ...", flush=True)
    run(PLAYBOOK, args.inventory, extra)
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as work:
        floors = {}
        for name, text in (("plays", FLOOR), ("one play", FLOOR_ONE_PLAY)):
            floors[name] = os.path.join(work, name.replace(" ", "-") + ".yml")
            with open(floors[name], "w", encoding="utf-8") as handle:
                handle.write(text)
        site_times, check_times = [], []
        floor_times = {name: [] for name in floors}
        for index in range(args.runs):
            elapsed, output, recap = run(PLAYBOOK, args.inventory, extra)
            changed = {host: r[1] for host, r in recap.items() if r[1]}
            if changed:
                sys.exit(f"run {index + 1} of {PLAYBOOK} was not a no-change run: changed {changed}")
            site_times.append(elapsed)
            checked, _output, check_recap = run(PLAYBOOK, args.inventory, [*extra, "--check"])
            changed = {host: r[1] for host, r in check_recap.items() if r[1]}
            if changed:
                sys.exit(f"--check run {index + 1} of {PLAYBOOK} predicted changes: {changed}")
            check_times.append(checked)
            for name, path in floors.items():
                floor_times[name].append(run(path, args.inventory, extra)[0])
            print(f"  run {index + 1}: site.yml {elapsed:.1f}s, --check {checked:.1f}s, floor {floor_times['plays'][-1]:.1f}s, "
                  f"one-play floor {floor_times['one play'][-1]:.1f}s", flush=True)

    tasks = len(BANNER.findall(output))
    results = sum(r[0] + r[3] + r[4] for r in recap.values())
    site, check = statistics.median(site_times), statistics.median(check_times)
    floor, one_play = statistics.median(floor_times["plays"]), statistics.median(floor_times["one play"])
    print(f"site.yml no-change run: {site:.1f}s (median of {args.runs}) on {len(recap)} hosts, {tasks} tasks, "
          f"{results} task results (ok+failed+skipped over hosts), changed=0")
    print(f"floor (same plays and hosts, facts + one ping each): {floor:.1f}s")
    print(f"site.yml --check on the converged hosts: {check:.1f}s, changed=0")
    print(f"one-play floor (one play on all hosts, facts + one ping each): {one_play:.1f}s")
    print(f"ratio site.yml / floor: {site / floor:.2f}  (baseline for later work: {site:.1f}s)")
    print(f"ratio site.yml --check / floor: {check / floor:.2f}")
    print(f"ratio site.yml / one-play floor: {site / one_play:.2f}, --check: {check / one_play:.2f}")


if __name__ == "__main__":
    main()
