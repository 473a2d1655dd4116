# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection: `ansible-galaxy collection build` output installs and works from the install."""

from __future__ import annotations

import os
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
