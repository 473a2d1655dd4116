# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_group's groups as bad input: each case fails in the role's argument spec or its check task, before any
provider is asked anything (no AMI lookup, no image stat, no instance listing), with a message that names the
group, the key and the rule, and nothing changed. The runner is test_role_inputs.py's (check mode on localhost,
whose Python is /bin/false: a module task fails instead of running). The valid cases get through the check: their
first failure is the first provider task."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from test_role_inputs import ANSIBLE_PLAYBOOK, COLLECTION, SPEC_TASK, assert_nothing_changed, first_failure, run_case, task_results

CHECK = "Check the node groups"
PROVIDER_TASKS = ("Look for the groups' AMIs", "Look for the groups' model images", "List the groups' EC2 instances",
                  "List the machines of group", "Converge the group to its count of instances")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbpRNMyWTMitAoN9KBcoOt+3rHCjj9ULDDbSOa6bNWE ops@laptop"
WEB = {"name": "web", "count": 2, "provider": "ec2", "image": "ami-0123456789abcdef0", "instance_type": "t3.micro"}
LAB = {"name": "lab", "count": 1, "provider": "local", "image": "/nonexistent/rootfs", "hardware": {"memory": "512M", "cpus": 1}}


def web(**changes):
    return {k: v for k, v in {**WEB, **changes}.items() if v is not None}


def lab(**changes):
    return {k: v for k, v in {**LAB, **changes}.items() if v is not None}


# Each: id, groups, words the failure message must hold, the task it fails in (the check task unless given).
BAD = [
    ("count-negative", [web(count=-1)], ["node_group_groups 'web'", "count must be a whole number, 0 or more", "-1"]),
    ("count-text", [web(count="two")], ["count"], SPEC_TASK),
    ("count-fraction", [web(count="1.5")], ["count"], SPEC_TASK),
    ("count-bool", [web(count=True)], ["count must be a whole number", "True"]),
    ("count-missing", [web(count=None)], ["missing required arguments: count"], SPEC_TASK),
    ("provider-unknown", [web(provider="gce")], ["provider", "gce"], SPEC_TASK),
    ("provider-missing", [web(provider=None)], ["missing required arguments: provider"], SPEC_TASK),
    ("name-missing", [web(name=None)], ["missing required arguments: name"], SPEC_TASK),
    ("name-upper", [web(name="Web")], ["node_group_groups entry 1", "name must match", '"Web"']),
    ("name-underscore", [web(name="web_1")], ["name must match", '"web_1"']),
    ("name-too-long", [web(name="w" * 25)], ["name must match", "at most 24"]),
    ("name-twice", [web(), web(count=1)], ["node_group_groups 'web'", "name must be unique"]),
    ("image-missing", [web(image=None)], ["missing required arguments: image"], SPEC_TASK),
    ("image-not-an-ami", [web(image="debian-12")], ["node_group_groups 'web'", "image must be an AMI id", "debian-12"]),
    ("image-relative", [lab(image="images/rootfs")], ["node_group_groups 'lab'", "image must be the absolute path"]),
    ("instance-type-missing", [web(instance_type=None)], ["instance_type is required for provider ec2"]),
    ("memory-negative", [lab(hardware={"memory": "-512M"})], ["hardware.memory must be a size of at least 32 MiB", "-512M"]),
    ("memory-unit", [lab(hardware={"memory": "1T"})], ["hardware.memory", "1T"]),
    ("memory-too-small", [lab(hardware={"memory": "16M"})], ["hardware.memory must be a size of at least 32 MiB", "16M"]),
    ("memory-kib-too-small", [lab(hardware={"memory": "2048K"})], ["hardware.memory", "2048K"]),
    ("cpus-zero", [lab(hardware={"cpus": 0})], ["hardware.cpus must be a positive number", "got 0"]),
    ("hardware-unknown-key", [lab(hardware={"disk": "10G"})], ["disk"], SPEC_TASK),
    ("unknown-key", [web(size=3)], ["size"], SPEC_TASK),
    ("role-not-fqcn", [web(roles=["nginx"])], ["roles must be role names with their collection", '"nginx"']),
    ("package-with-space", [web(packages=["curl wget"])], ["packages must be package names", '"curl wget"']),
    ("bootstrap-user-bad", [web(bootstrap_user="ad min")], ["bootstrap_user must be a user name"]),
    ("not-a-list", {"name": "web"}, ["node_group_groups"], SPEC_TASK),
    ("all-at-once", [web(count=-1, instance_type=None), lab(name="Lab", hardware={"cpus": "-1"})],
     ["count must be a whole number", "instance_type is required", "name must match", "hardware.cpus"]),
]
# Each: id, groups; the first failure is a provider task (here, where no module can run).
GOOD = [
    ("ec2", [web(), web(name="db", count=0, tags={"env": "prod"}, security_group="db-sg", key_name="ops",
                        subnet_id="subnet-1", packages=["curl", "openjdk-17-jre-headless"],
                        roles=["jvmops.deploy.jdk"], vars={"jdk_packages": [17]}, bootstrap_user="debian")]),
    ("local", [lab(), lab(name="lab-b", count="0", hardware={"memory": 256, "cpus": "0.5"}),
               lab(name="lab-c", hardware={"memory": "32768K"}), lab(name="lab-d", hardware={"memory": "1G"})]),
    ("count-as-text", [web(count="3")]),
    ("none", []),
]


@pytest.fixture(scope="module", name="runs")
def runs_fixture(tmp_path_factory):
    if COLLECTION.parents[1].name != "ansible_collections" or not ANSIBLE_PLAYBOOK.exists():
        pytest.skip("needs the collection in an ansible_collections tree and ansible-playbook beside python")
    base = tmp_path_factory.mktemp("node_group_inputs")
    cases = {case[0]: case[1] for case in BAD + GOOD}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {cid: pool.submit(run_case, base / cid, "node_group",
                                    {"node_group_groups": groups, "node_group_ssh_public_key": KEY}, False)
                   for cid, groups in cases.items()}
        return {cid: future.result() for cid, future in futures.items()}


@pytest.mark.parametrize("case", BAD, ids=[case[0] for case in BAD])
def test_bad_groups_fail_before_any_provider_call(runs, case):
    cid, _groups, words, *task = case
    report, proc = runs[cid]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode != 0
    name, result = first_failure(report)
    assert name and name.startswith(task[0] if task else CHECK), (name, result.get("msg"))
    message = str(result.get("msg", ""))
    for word in words:
        assert word in message, message
    ran = [task_name for task_name, _result in task_results(report)]
    assert not [n for n in ran if n.startswith(PROVIDER_TASKS)], ran
    assert "Traceback" not in json.dumps(result), result.get("exception")
    assert_nothing_changed(report, proc)


@pytest.mark.parametrize("case", GOOD, ids=[case[0] for case in GOOD])
def test_valid_groups_get_through_the_check(runs, case):
    cid, groups = case
    report, proc = runs[cid]
    assert report is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = [task_name for task_name, _result in task_results(report)]
    assert CHECK in names, names
    name, result = first_failure(report)
    if groups:
        # The first module task, which cannot run here: validation let the groups through.
        assert name and name.startswith(PROVIDER_TASKS), (name, result.get("msg"))
    else:
        assert name is None, (name, result.get("msg"))
    assert_nothing_changed(report, proc)
