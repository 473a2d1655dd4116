# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""This tree as an AWX / Automation Controller project: job templates on playbooks/*.yml.

AWX's project update (awx/playbooks/project_update.yml) checks the repository out and runs
`ansible-galaxy collection install -r collections/requirements.yml` into the project's cache
(requirements_collections); each job gets a copy of the project without .git (RunProjectUpdate.make_local_copy) and
ANSIBLE_COLLECTIONS_PATH with that requirements_collections first, then the execution environment's own collections
(RunJob.build_env in awx/main/tasks/jobs.py). This does the same with the collection built from this tree and checks
that every playbook of the project parses with the collection resolved from there.

Galaxy is not reachable from the test machines, so the one substitution: the jvmops.deploy entry of
collections/requirements.yml is checked against the built tarball's version with ansible-galaxy's own version
matching, then replaced by that tarball (type: file) and installed with --offline --no-deps. Its dependencies, which
AWX's install would take from Galaxy, are the `ansible` package's bundled copies on the Python path (searched after
ANSIBLE_COLLECTIONS_PATH), standing for the execution environment's /usr/share/ansible/collections.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_build import BIN, TREE, VERSION, run  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = sorted(str(p.relative_to(TREE)) for p in TREE.glob("playbooks/*.yml"))


def requirements():
    return yaml.safe_load((TREE / "collections" / "requirements.yml").read_text())


def offline_requirements(data, tarball):
    """The requirements with the jvmops.deploy entry resolved to the built tarball, the rest as they are."""
    entries = []
    for entry in data["collections"]:
        if isinstance(entry, dict) and entry.get("name") == "jvmops.deploy":
            entry = {"name": str(tarball), "type": "file"}
        entries.append(entry)
    return dict(data, collections=entries)


@pytest.fixture(scope="module", name="project")
def project_fixture(tmp_path_factory):
    work = tmp_path_factory.mktemp("awx")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_") and key != "PYTHONPATH"}
    env.update(ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{os.environ.get('PATH', '')}", HOME=str(work / "home"))
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work, TREE], work, env)
    tarball = work / f"jvmops-deploy-{VERSION}.tar.gz"
    # The job's copy of the project: the repository without .git.
    project = work / "project"
    shutil.copytree(TREE, project, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    offline = work / "requirements-offline.yml"
    offline.write_text(yaml.safe_dump(offline_requirements(requirements(), tarball)))
    installed = work / "requirements_collections"
    # The bundled collections stay out of sight of the install (as on AWX's control node, which has none).
    run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-r", offline, "-p", installed],
        project, dict(env, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false"))
    job_env = dict(env, ANSIBLE_COLLECTIONS_PATH=str(installed))
    return {"work": work, "project": project, "installed": installed, "tarball": tarball, "env": env,
            "job_env": job_env}


def test_requirements_name_this_collection_at_its_own_version():
    entries = requirements()["collections"]
    (entry,) = [e for e in entries if isinstance(e, dict) and e.get("name") == "jvmops.deploy"]
    assert meets_requirements(VERSION, entry["version"]), f"{entry['version']} does not take galaxy.yml's {VERSION}"
    # The playbooks of a checkout call that checkout's roles: no other release may stand in for it.
    major, minor, patch = (int(part) for part in VERSION.split("."))
    for other in (f"{major}.{minor}.{patch + 1}", f"{major}.{minor + 1}.0", f"{major + 1}.0.0"):
        assert not meets_requirements(other, entry["version"]), other
    # What AWX looks for (collections/requirements.yml or .yaml), and only one of them.
    assert not (TREE / "collections" / "requirements.yaml").exists()


def test_requirements_stay_out_of_the_tarball(project):
    assert "collections" in yaml.safe_load((TREE / "galaxy.yml").read_text())["build_ignore"]
    with tarfile.open(project["tarball"]) as tar:
        names = tar.getnames()
    assert "playbooks/site.yml" in names
    assert not [n for n in names if n == "collections" or n.startswith("collections/")]


def test_project_update_installs_the_collection_where_jobs_find_it(project):
    listed = run([BIN / "ansible-galaxy", "collection", "list", "jvmops.deploy", "--format", "json"], project["project"],
                 project["job_env"])
    locations = {path: found for path, found in json.loads(listed).items() if "jvmops.deploy" in found}
    assert list(locations) == [str(project["installed"] / "ansible_collections")], locations
    assert locations[str(project["installed"] / "ansible_collections")]["jvmops.deploy"]["version"] == VERSION


def test_every_playbook_parses_in_the_project_with_the_installed_collection(project):
    assert "playbooks/site.yml" in PLAYBOOKS and len(PLAYBOOKS) >= 9
    out = run([BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", *PLAYBOOKS], project["project"],
              project["job_env"])
    for playbook in PLAYBOOKS:
        assert f"playbook: {playbook}" in out, out


def awx_playbook_choices(project):
    """The files AWX offers as a job template's playbook (awx/main/models/projects.py Project.playbooks with
    awx/main/utils/ansible.py skip_directory and could_be_playbook): .yml/.yaml files outside roles, tasks,
    group_vars, host_vars and dot directories, with a line that starts a play, an include or an import_playbook."""
    starts = re.compile(r"^\s*-?\s*(?:hosts|(?:ansible\.builtin\.)?include|(?:ansible\.builtin\.)?import_playbook):")
    found = set()
    for dirpath, _dirnames, filenames in os.walk(project):
        parts = Path(dirpath).parts
        if {"roles", "tasks", "group_vars", "host_vars"} & set(parts) or any(p.startswith(".") for p in parts):
            continue
        for filename in filenames:
            path = Path(dirpath) / filename
            if path.suffix in (".yml", ".yaml") and any(map(starts.match, path.read_text(errors="ignore").splitlines())):
                found.add(str(path.relative_to(project)))
    return found


def test_awx_offers_every_playbook_for_job_templates(project):
    choices = awx_playbook_choices(project["project"])
    assert set(PLAYBOOKS) <= choices, sorted(set(PLAYBOOKS) - choices)
    assert "roles/jdk/tasks/main.yml" not in choices


def test_a_project_of_one_s_own_imports_the_playbooks(project):
    """docs/awx.md: a project needs no copy of the playbooks, one import_playbook line each."""
    own = project["work"] / "own-project"
    (own / "playbooks").mkdir(parents=True)
    (own / "collections").mkdir()
    shutil.copy(TREE / "collections" / "requirements.yml", own / "collections")
    for playbook in PLAYBOOKS:
        (own / playbook).write_text(f"---\n- ansible.builtin.import_playbook: jvmops.deploy.{Path(playbook).stem}\n")
    assert set(PLAYBOOKS) <= awx_playbook_choices(own)
    out = run([BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", *PLAYBOOKS], own, project["job_env"])
    for playbook in PLAYBOOKS:
        assert f"playbook: {playbook}" in out, out


def test_without_the_project_update_the_playbooks_do_not_parse(project):
    """The check above can fail: with the requirements not installed, the roles the playbooks call are missing."""
    env = dict(project["job_env"], ANSIBLE_COLLECTIONS_PATH=str(project["work"] / "empty"))
    proc = subprocess.run([BIN / "ansible-playbook", "--syntax-check", "-i", "localhost,", "playbooks/site.yml"],
                          cwd=project["project"], env=env, text=True, capture_output=True, check=False)
    assert proc.returncode != 0
    assert "jvmops.deploy.jdk" in proc.stdout + proc.stderr
