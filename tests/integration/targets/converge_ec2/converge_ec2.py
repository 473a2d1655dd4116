# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/converge.yml with EC2 groups against moto, step by step (runme.sh starts moto and calls this).

Each step runs converge_report.yml (jvmops.deploy.converge, then a report of node_group_nodes and the converge_*
inventory groups) with ansible-playbook, then compares what the playbook said (its recap, its report) with what
moto holds (boto3). Bootstrap and configure are off: moto's instances are records, nothing answers SSH on them,
so what is checked is who WOULD be bootstrapped: the converge_new group.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
TAG = "jvmops:group"
BOOTSTRAP = "Bootstrap the new nodes with the admin user"
CONFIGURE = "Configure every node with its group's packages and roles"


class StepFailed(Exception):
    pass


def check(condition, message, log=None):
    if not condition:
        tail = "" if log is None else "\n--- last lines of the log ---\n" + "\n".join(log.splitlines()[-40:])
        raise StepFailed(message + tail)


def wait_for_moto(endpoint, pid, timeout=60):
    """Until moto answers (or its process is gone, or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(endpoint + "/moto-api/", timeout=2):
                return
        except OSError:
            pass
        try:
            os.kill(pid, 0)
        except OSError as exc:
            raise StepFailed(f"moto_server (pid {pid}) exited before answering at {endpoint}") from exc
        if time.monotonic() > deadline:
            raise StepFailed(f"moto_server did not answer at {endpoint} within {timeout}s")
        time.sleep(0.2)


class Scenario:
    def __init__(self, endpoint, out):
        self.endpoint = endpoint
        self.out = out
        self.ec2 = boto3.client("ec2", endpoint_url=endpoint)
        images = self.ec2.describe_images(Filters=[{"Name": "name", "Values": ["ubuntu/images/*"]}])["Images"]
        check(images, "moto lists no ubuntu AMI among its default images")
        self.ami = sorted(i["ImageId"] for i in images)[0]
        vpc = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        self.ec2.create_security_group(GroupName="it-web-sg", Description="converge_ec2", VpcId=vpc)

    def spec(self, web, db=None, **web_extra):
        groups = [{"name": "web", "count": web, "provider": "ec2", "image": self.ami, "instance_type": "t3.micro",
                   "security_group": "it-web-sg", "tags": {"env": "it"}, "packages": ["curl"], **web_extra}]
        if db is not None:
            groups.append({"name": "db", "count": db, "provider": "ec2", "image": self.ami,
                           "instance_type": "t3.small", "bootstrap_user": "debian"})
        return groups

    def converge(self, name, groups, *args, fail=False):
        """Run the playbook (JSON output); (the report task's message, changed count of the recap, log)."""
        extra = {"converge_groups": groups, "converge_bootstrap": False, "converge_configure": False,
                 "aws_endpoint_url": self.endpoint}
        (self.out / f"{name}.vars.json").write_text(json.dumps(extra))
        proc = subprocess.run(["ansible-playbook", "-i", "localhost,", str(HERE / "converge_report.yml"),
                               "-e", f"@{self.out / f'{name}.vars.json'}", *args],
                              env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
                              capture_output=True, text=True, timeout=300, check=False)
        log = proc.stdout + proc.stderr
        (self.out / f"{name}.log").write_text(log)
        check("Traceback" not in log, f"{name}: a traceback in the output", log)
        check(os.environ["AWS_SECRET_ACCESS_KEY"] not in log, f"{name}: the secret key shows in the output")
        try:
            output = json.loads(proc.stdout)
        except ValueError:
            output = {"plays": [], "stats": {}}
        if fail:
            check(proc.returncode != 0, f"{name}: the run should have failed", log)
            check(any(s.get("failures") for s in output["stats"].values()) or not proc.stdout.strip(),
                  f"{name}: no task failed", log)
            return None, None, log
        check(proc.returncode == 0, f"{name}: the run failed (rc {proc.returncode})", log)
        changed = sum(s.get("changed", 0) for s in output["stats"].values())
        reports = [t["hosts"]["localhost"]["msg"] for play in output["plays"] for t in play["tasks"]
                   if t["task"]["name"] == "Report"]
        check(len(reports) == 1, f"{name}: no report", log)
        # The hosts each play ran on (bootstrap and configure are off, so their tasks are skipped there).
        reports[0]["plays"] = {play["play"]["name"]: sorted({h for t in play["tasks"] for h in t["hosts"]})
                               for play in output["plays"]}
        return reports[0], changed, log

    def live(self, group=None):
        """Instances pending or running (of one group), oldest first: [(id, launch time)]."""
        filters = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
        if group:
            filters.append({"Name": f"tag:{TAG}", "Values": [group]})
        found = [i for r in self.ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
        return [(i["InstanceId"], i["LaunchTime"]) for i in sorted(found, key=lambda i: (i["LaunchTime"], i["InstanceId"]))]

    def ids(self, group=None):
        return [i for i, _launched in self.live(group)]


def bad_input(sc):
    """Each fails before any change: no instance exists after any of them (they run at the same time)."""
    missing_ami = "ami-0000000000deadbeef"
    cases = {
        "bad-negative-count": (sc.spec(-1, 1), ["node_group_groups 'web'", "count must be a whole number, 0 or more", "-1"]),
        "bad-unknown-provider": (sc.spec(1, provider="gce"), ["provider", "gce"]),
        "bad-missing-ami": (sc.spec(1, 1, image=missing_ami), ["image must be an AMI that exists", missing_ami, "web"]),
        "bad-duplicate-name": (sc.spec(1) + sc.spec(2), ["node_group_groups 'web'", "must be unique"]),
        "bad-no-name": ([{"count": 1, "provider": "ec2", "image": sc.ami, "instance_type": "t3.micro"}],
                        ["missing required arguments: name"]),
        "bad-no-instance-type": (sc.spec(1, instance_type=""), ["instance_type is required for provider ec2"]),
    }
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        runs = {name: pool.submit(sc.converge, name, groups, fail=True) for name, (groups, _words) in cases.items()}
        for name, (_groups, words) in cases.items():
            _report, _changed, log = runs[name].result()
            for word in words:
                check(word in log, f"{name}: the failure does not say {word!r}", log)
            check(": Converge the group to its count" not in log and ": Terminate every instance" not in log,
                  f"{name}: a group was converged although the input is bad", log)
    check(sc.live() == [], f"bad input created instances: {sc.live()}")
    print(f"bad input: {len(cases)} cases failed before any change, no instance exists")


def scenario(sc):
    # --check on nothing: reports the launches, launches nothing.
    report, changed, log = sc.converge("check-2", sc.spec(2, 1), "--check", "--diff")
    check(changed > 0, "check-2: --check does not report the launches", log)
    check(sc.live() == [], f"check-2: --check launched instances: {sc.live()}")
    check(report["nodes"] == [] and report["groups"].get("converge_new", []) == [], "check-2: nodes reported", log)

    # To 2 (and db to 1): every node is new, so every node would be bootstrapped.
    report, changed, log = sc.converge("to-2", sc.spec(2, 1))
    web, db = sc.ids("web"), sc.ids("db")
    check(len(web) == 2 and len(db) == 1, f"to-2: web {web}, db {db}", log)
    check(changed > 0, "to-2: nothing reported changed", log)
    check(sorted(report["groups"]["converge_web"]) == sorted(web), f"to-2: converge_web {report['groups']}", log)
    check(report["groups"]["converge_db"] == db, f"to-2: converge_db {report['groups']}", log)
    check(sorted(report["groups"]["converge_new"]) == sorted(web + db), f"to-2: converge_new {report['groups']}", log)
    check(sorted(report["groups"]["converge_nodes"]) == sorted(web + db), "to-2: converge_nodes", log)
    check(sorted(n["id"] for n in report["new_nodes"]) == sorted(web + db), "to-2: node_group_new_nodes", log)
    users = {h["converge_group"]: h["converge_bootstrap_user"] for h in report["hostvars"]}
    check(users == {"web": "admin", "db": "debian"}, f"to-2: bootstrap users {users}", log)
    check(all(h["ansible_host"] for h in report["hostvars"]), f"to-2: a node without an address {report['hostvars']}")
    tags = sc.ec2.describe_instances(InstanceIds=web)["Reservations"][0]["Instances"][0]["Tags"]
    check({"Key": "env", "Value": "it"} in tags and {"Key": TAG, "Value": "web"} in tags, f"to-2: tags {tags}")
    print(f"to 2: web {web}, db {db}, all in converge_new")

    # Again: no change, no new node, nobody to bootstrap; --check on the converged groups: no change either.
    for name, args in (("again-2", ()), ("again-2-check", ("--check", "--diff"))):
        report, changed, log = sc.converge(name, sc.spec(2, 1), *args)
        check(changed == 0, f"{name}: changed={changed} on a converged group", log)
        check(sc.ids("web") == web and sc.ids("db") == db, f"{name}: instances changed", log)
        check(report["groups"].get("converge_new", []) == [], f"{name}: converge_new {report['groups']}", log)
        check(not report["plays"].get(BOOTSTRAP), f"{name}: the bootstrap play ran on {report['plays']}", log)
        check(sorted(report["groups"]["converge_nodes"]) == sorted(web + db), f"{name}: converge_nodes", log)
    print("again: changed=0, converge_new empty (also with --check)")

    # To 3: one new node, and only it is new (--check of a launch: check-2).
    report, changed, log = sc.converge("to-3", sc.spec(3, 1))
    web3 = sc.ids("web")
    added = [i for i in web3 if i not in web]
    check(len(web3) == 3 and len(added) == 1, f"to-3: web {web3}", log)
    check(report["groups"]["converge_new"] == added, f"to-3: converge_new {report['groups'].get('converge_new')}", log)
    check(report["plays"].get(BOOTSTRAP) == added, f"to-3: the bootstrap play ran on {report['plays']}", log)
    check(report["plays"].get(CONFIGURE) == sorted(web3 + db), f"to-3: the configure play ran on {report['plays']}", log)
    check([n["id"] for n in report["new_nodes"]] == added, "to-3: node_group_new_nodes", log)
    check(sorted(report["groups"]["converge_web"]) == sorted(web3), "to-3: converge_web", log)
    check(sc.ids("db") == db, "to-3: db changed", log)
    print(f"to 3: {added[0]} new, the only one in converge_new")

    inventory(sc, {"web": web3, "db": db})

    # To 1: the oldest go (amazon.aws: least recently launched first), so the one left is the newest.
    launched = dict(sc.live("web"))
    check(all(launched[added[0]] > launched[i] for i in web),
          f"to-1: the third node was not launched after the first two {launched}: the order cannot be checked")
    report, changed, log = sc.converge("to-1", sc.spec(1, 1))
    check(sc.ids("web") == added, f"to-1: left {sc.ids('web')}, expected the newest {added}", log)
    check(changed > 0 and report["groups"].get("converge_new", []) == [], "to-1: converge_new not empty", log)
    check(report["groups"]["converge_web"] == added, "to-1: converge_web", log)
    gone = sc.ec2.describe_instances(InstanceIds=web)["Reservations"]
    states = {i["InstanceId"]: i["State"]["Name"] for r in gone for i in r["Instances"]}
    check(set(states.values()) <= {"shutting-down", "terminated"}, f"to-1: the oldest are {states}")
    print(f"to 1: the two oldest terminated, {added[0]} left")

    # To 0 (state absent, since exact_count 0 means "no count" to ec2_instance): --check, then all gone, then again.
    _report, changed, log = sc.converge("check-0", sc.spec(0, 0), "--check")
    check(sorted(sc.ids()) == sorted(added + db), f"check-0: --check terminated instances: {sc.ids()}", log)
    check(changed > 0, "check-0: --check reports no change", log)
    report, changed, log = sc.converge("to-0", sc.spec(0, 0))
    check(sc.live() == [], f"to-0: instances left {sc.live()}", log)
    check(changed > 0 and report["nodes"] == [] and "converge_nodes" not in report["groups"], "to-0: nodes reported", log)
    _report, changed, log = sc.converge("again-0", sc.spec(0, 0))
    check(changed == 0, f"again-0: changed={changed}", log)
    print("to 0: every instance terminated; again: changed=0")


def inventory(sc, expected):
    """The aws_ec2 inventory plugin, pointed at moto, groups the instances by their jvmops:group tag."""
    path = sc.out / "converge.aws_ec2.yml"
    path.write_text((HERE / "inventory.aws_ec2.yml").read_text() + f"endpoint_url: {sc.endpoint}\n")
    proc = subprocess.run(["ansible-inventory", "-i", str(path), "--list"], capture_output=True, text=True,
                          timeout=120, check=False)
    (sc.out / "inventory.log").write_text(proc.stdout + proc.stderr)
    check(proc.returncode == 0, f"ansible-inventory failed: {proc.stderr[-2000:]}")
    listed = json.loads(proc.stdout)
    for group, ids in expected.items():
        hosts = listed.get(f"converge_{group}", {}).get("hosts", [])
        check(sorted(hosts) == sorted(ids), f"inventory: converge_{group} holds {hosts}, expected {ids}")
    address = listed["_meta"]["hostvars"][expected["web"][0]]["ansible_host"]
    address = address.get("__ansible_unsafe") if isinstance(address, dict) else address  # --list marks it unsafe
    check(re.match(r"^[0-9.]+$", address), f"inventory: ansible_host {address!r}")
    print(f"inventory: converge_web {len(expected['web'])} hosts, converge_db {len(expected['db'])}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--moto-pid", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.monotonic()
    try:
        wait_for_moto(args.endpoint, args.moto_pid)
        sc = Scenario(args.endpoint, args.out)
        bad_input(sc)
        scenario(sc)
    except StepFailed as exc:
        print(f"converge_ec2: {exc}", file=sys.stderr)
        return 1
    print(f"converge_ec2: passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
