# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection: `ansible-galaxy collection build` output installs and works from the install."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

TREE = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((TREE / "galaxy.yml").read_text())["version"]


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module", name="installed")
def installed_fixture(tmp_path_factory):
    """Build the tarball and install it offline into an empty collections path."""
    work = tmp_path_factory.mktemp("build")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(work / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_DEPRECATION_WARNINGS="0", PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    env.pop("PYTHONPATH", None)  # the source tree must not shadow the installed copy
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work], TREE, env)
    tarball = work / f"jvmops-deploy-{VERSION}.tar.gz"
    assert tarball.exists()
    run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", work / "collections",
         tarball], work, env)
    return {"env": env, "work": work, "tarball": tarball,
            "root": work / "collections" / "ansible_collections" / "jvmops" / "deploy"}


def test_tarball_holds_the_collection_and_no_build_clutter(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names
    assert "playbooks/run_command.yml" in names
    assert "plugins/filter/command_report.py" in names
    assert "meta/runtime.yml" in names
    assert not [n for n in names if n.startswith((".venv", ".build", ".git", "hacking", "tests/output"))]
    assert not [n for n in names if n.rsplit("/", 1)[-1] == ".gitignore"], names


def test_ansible_doc_reads_the_installed_filter(installed):
    out = run([BIN / "ansible-doc", "-t", "filter", "jvmops.deploy.command_report"], installed["work"],
              installed["env"])
    assert str(installed["root"]) in out
    assert "Group the results of one command" in out or "Takes the registered result" in out


def test_installed_playbook_runs_by_its_name(installed):
    out = run([BIN / "ansible-playbook", "-i", "localhost,", "-c", "local", "jvmops.deploy.run_command",
               "-e", "target=localhost", "-e", "command='echo from-the-installed-copy'", "-e", "confirm=true",
               "-e", "readonly=true"], installed["work"], installed["env"])
    assert "== localhost: ok, rc=0 ==" in out
    assert "from-the-installed-copy" in out


# -- dependencies: declared, and resolved from local tarballs on a controller with ansible-core alone --------

# A collection named in a task key (`community.general.haproxy:`), an action or role name, or an import.
FQCN_USE = re.compile(r"(?:^\s*(?:-\s+)?|\b(?:name|action|module|role):\s+[\"']?)([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+[\"']?:?\s*$",
                      re.M)
PY_IMPORT = re.compile(r"\bansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.")
OWN = {"ansible.builtin", "ansible.legacy", "jvmops.deploy"}


def used_collections():
    """{collection: [files]} for every collection the roles, playbooks and plugins call."""
    used = {}
    for path in sorted([*TREE.glob("roles/**/*.yml"), *TREE.glob("playbooks/**/*.yml")]):
        for name in FQCN_USE.findall(path.read_text()):
            used.setdefault(name, []).append(str(path.relative_to(TREE)))
    for path in sorted(TREE.glob("plugins/**/*.py")):
        for namespace, name in PY_IMPORT.findall(path.read_text()):
            used.setdefault(f"{namespace}.{name}", []).append(str(path.relative_to(TREE)))
    return {name: files for name, files in used.items() if name not in OWN}


def test_galaxy_yml_declares_exactly_the_collections_the_content_calls():
    declared = set(yaml.safe_load((TREE / "galaxy.yml").read_text())["dependencies"] or {})
    used = used_collections()
    missing = {name: files for name, files in used.items() if name not in declared}
    assert not missing, f"galaxy.yml dependencies lack collections the content calls: {missing}"
    assert declared <= set(used), f"galaxy.yml declares collections nothing calls: {sorted(declared - set(used))}"


def bundled_collection_tarball(name, dest):
    """A collection tarball made from the copy the `ansible` package bundles (Galaxy is not reachable here).

    An installed collection keeps MANIFEST.json and FILES.json, which is all a tarball holds besides the files;
    the `ansible` package leaves some files out, so FILES.json is cut down to what is there and MANIFEST.json
    gets its new checksum (ansible-galaxy checks both on install).
    """
    import ansible_collections  # pylint: disable=import-outside-toplevel

    namespace, short = name.split(".")
    root = next(Path(p) / namespace / short for p in ansible_collections.__path__ if (Path(p) / namespace / short).is_dir())
    manifest = json.loads((root / "MANIFEST.json").read_text())
    files = json.loads((root / "FILES.json").read_text())
    files["files"] = [f for f in files["files"] if f["name"] == "." or (root / f["name"]).exists()]
    files_json = json.dumps(files).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    info = manifest["collection_info"]
    tarball = dest / f"{namespace}-{short}-{info['version']}.tar.gz"
    with tarfile.open(tarball, "w:gz", compresslevel=1) as tar:
        for arcname, data in (("MANIFEST.json", json.dumps(manifest).encode()), ("FILES.json", files_json)):
            member = tarfile.TarInfo(arcname)
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
        for entry in files["files"]:
            if entry["name"] != ".":
                tar.add(root / entry["name"], arcname=entry["name"], recursive=False)
    return tarball, info["version"], list(info.get("dependencies") or {})


@pytest.fixture(scope="module", name="core_only")
def core_only_fixture(installed):
    """An empty collections path, and an environment in which the `ansible` package's bundled collections are
    invisible (as on a controller with ansible-core alone)."""
    work = installed["work"]
    env = dict(installed["env"], ANSIBLE_COLLECTIONS_PATH=str(work / "core-only"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    # The declared dependencies and theirs (community.general needs community.library_inventory_filtering_v1).
    pending, tarballs, seen = list(yaml.safe_load((TREE / "galaxy.yml").read_text())["dependencies"]), [], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        tarball, _version, requires = bundled_collection_tarball(name, work)
        tarballs.append(tarball)
        pending.extend(requires)
    return {"env": env, "work": work, "tarballs": tarballs, "path": work / "core-only"}


def test_install_without_the_dependencies_fails_offline(installed, core_only):
    proc = subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", core_only["path"] / "none",
                           installed["tarball"]], cwd=core_only["work"], env=core_only["env"], text=True,
                          capture_output=True, check=False)
    assert proc.returncode != 0
    # ansible-galaxy names the first dependency it cannot find.
    dependencies = yaml.safe_load((TREE / "galaxy.yml").read_text())["dependencies"]
    assert any(name in proc.stdout + proc.stderr for name in dependencies), proc
    # ... and the bundled copies really are out of sight there.
    env = dict(core_only["env"], ANSIBLE_COLLECTIONS_PATH=str(core_only["path"] / "none"))
    proc = subprocess.run([BIN / "ansible-doc", "community.general.ini_file"], cwd=core_only["work"], env=env, text=True,
                          capture_output=True, check=False)
    assert proc.returncode != 0 or "not found" in proc.stdout + proc.stderr


def test_tarball_installs_with_its_dependencies_from_local_tarballs_and_runs(installed, core_only, tmp_path):
    env = core_only["env"]
    run([BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", core_only["path"], installed["tarball"],
         *core_only["tarballs"]], core_only["work"], env)
    listed = run([BIN / "ansible-galaxy", "collection", "list", "--format", "json"], core_only["work"], env)
    found = {name for location in json.loads(listed).values() for name in location}
    assert {"jvmops.deploy", *yaml.safe_load((TREE / "galaxy.yml").read_text())["dependencies"]} <= found
    playbook = tmp_path / "uses-dependencies.yml"
    ini = tmp_path / "probe.ini"
    playbook.write_text(yaml.safe_dump([{
        "name": "Use the collection and what it depends on", "hosts": "localhost", "connection": "local",
        "gather_facts": False, "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [
            {"name": "A dependency's module", "community.general.ini_file": {"path": str(ini), "section": "probe",
                                                                             "option": "from", "value": "dependency",
                                                                             "mode": "0600"}},
            {"name": "The collection's filter", "ansible.builtin.debug": {
                "msg": "{{ {'localhost': {'rc': 0, 'stdout': 'x'}} | jvmops.deploy.command_report | length }}"}},
            # A module on amazon.aws's module_utils, from the installed dependency: it gets as far as its own check.
            {"name": "A module that imports amazon.aws", "jvmops.deploy.beanstalk_deploy": {
                "application": "probe", "artifact": str(ini), "bucket": "test_2", "region": "us-east-1"},
             "register": "bad_bucket", "ignore_errors": True},
            {"name": "It reached its input check", "ansible.builtin.assert": {
                "that": ["bad_bucket.msg is search(\"bucket: 'test_2' must not contain '_'\")"]}},
        ]}]))
    out = run([BIN / "ansible-playbook", "-i", "localhost,", playbook], core_only["work"], env)
    assert "failed=0" in out
    assert "from = dependency" in ini.read_text()
