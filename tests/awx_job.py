# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a collection playbook the way AWX runs a job template, and check the job.

AWX (and Automation Controller) hands a job to ansible-runner as a private data directory:

    project/...            the synced project (here: the collection tree, whose playbooks/ are the job templates')
    inventory/hosts        the inventory, as JSON
    env/extravars          the job's extra variables and survey answers
    env/envvars            what the credentials' injectors set (HEROKU_API_KEY, AWS_*, GCP_*, ...) and AWX's own
                           settings (ANSIBLE_COLLECTIONS_PATH with the project's collections, host key checking off)
    env/ssh_key            the Machine credential's private key (ansible-runner loads it into an ssh-agent)
    env/settings           job timeouts
    args/cmdline           verbosity and --diff from the template

and runs `ansible-runner run <dir> -p <playbook>`: no standard input, nobody to answer a prompt, and an
environment that holds only what the job was given. The result is the job's status, its return code, its
event stream (artifacts/<id>/job_events/*.json) and its stdout.

Used by the lab scenarios (tests/lab/test_site_awx.py) through `run_job`, and by the integration targets'
shell scripts through the command line:

    python tests/awx_job.py --dir OUT --project TREE --playbook playbooks/deploy_heroku.yml \\
        --localhost --extra-vars-file secrets.yml --extra-var heroku_app_name=x --env HEROKU_API_KEY ... \\
        --cmdline '-vvv --diff' --expect-changed 0 --stdout OUT/again.log \\
        --secret 'the API key=HEROKU_API_KEY' --text 'a config var value=jvmops-secret-'

It exits 0 when the job succeeded, every expectation held and no secret shows in any file ansible-runner wrote;
otherwise it prints why (never a secret) and exits 1.

One file ansible-runner always writes holds the job's environment: artifacts/<id>/command (mode 0600), with the
values the credentials injected. That is ansible-runner's record of its input, not output of the collection: AWX
deletes the private data directory after the job and shows that environment masked. The check here reads that
file too and allows a secret there only as the value of an injected variable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from leaks import find_leaks  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.prefix) / "bin"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What AWX itself puts into every job's environment (awx/main/tasks/jobs.py, RunJob.build_env), as far as it
# matters outside AWX's own callback plugin.
AWX_ENV = {
    "ANSIBLE_FORCE_COLOR": "False",
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
    "ANSIBLE_RETRY_FILES_ENABLED": "False",
    "ANSIBLE_DEPRECATION_WARNINGS": "False",
    "JOB_ID": "1",
}
STATS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")


@dataclass(repr=False)
class Job:
    """A finished job: what ansible-runner reports and wrote."""

    status: str
    rc: int
    stdout: str
    events: list = field(default_factory=list)
    artifacts: Path | None = None
    injected: dict = field(default_factory=dict)

    @property
    def stats(self):
        """{ok: {host: n}, changed: {...}, failures, dark, skipped, rescued, ignored} of the last play recap."""
        for event in reversed(self.events):
            if event.get("event") == "playbook_on_stats":
                data = event.get("event_data", {})
                return {key: dict(data.get(key) or {}) for key in STATS}
        return {}

    def changed(self, exclude=("localhost",)):
        return {h: n for h, n in self.stats.get("changed", {}).items() if n and h not in exclude}

    def event_names(self):
        return [event.get("event") for event in self.events]

    def task_results(self, task_name):
        """{host: res} of the runner_on_ok/failed events of a task, by its name."""
        found = {}
        for event in self.events:
            data = event.get("event_data", {})
            if event.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("task") == task_name:
                found[data.get("host")] = data.get("res", {})
        return found

    def leaks(self, secrets):
        """[(label, file)] for every secret in a file ansible-runner wrote; see the module docstring for `command`."""
        sources = {}
        for path in sorted(self.artifacts.rglob("*")) if self.artifacts else ():
            if not path.is_file():
                continue
            if path.name == "command" and path.parent == self.artifacts:
                record = json.loads(path.read_text(encoding="utf-8"))
                env = dict(record.get("env") or {})
                for name in self.injected:
                    env.pop(name, None)
                sources[f"{path} (command, cwd and the environment beside the injected variables)"] = json.dumps(
                    {"command": record.get("command"), "cwd": record.get("cwd"), "env": env})
                continue
            sources[str(path)] = path
        return find_leaks(secrets, sources)

    def __repr__(self):
        return f"AWX job {self.status} (rc {self.rc}); its output:\n{self.stdout}"


def localhost_inventory():
    """The inventory AWX gives a job that runs on the controller (its built-in localhost)."""
    return {"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}


def run_job(work, project, playbook, inventory, extravars=None, envvars=None, ssh_key=None, cmdline=None,
            job_timeout=1800, idle_timeout=900):
    """Write the private data directory under work (emptied first), run the job, return a Job.

    inventory: a dict in the JSON inventory format, or an inventory file (its directory is copied, with the
    group_vars and host_vars beside it); envvars: what the credentials inject (only these and AWX's
    own settings reach the job); ssh_key: the Machine credential's private key text."""
    work = Path(work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "env").mkdir(parents=True)
    if isinstance(inventory, dict):
        (work / "inventory").mkdir()
        (work / "inventory" / "hosts.json").write_text(json.dumps(inventory, indent=2))
    else:  # an inventory file with its group_vars and host_vars beside it, as an inventory source from a project
        shutil.copytree(Path(inventory).parent, work / "inventory", symlinks=True)
    (work / "env" / "extravars").write_text(json.dumps(extravars or {}))
    injected = dict(envvars or {})
    env_file = {**AWX_ENV, **injected}
    (work / "env" / "envvars").write_text(json.dumps(env_file))
    (work / "env" / "settings").write_text(json.dumps({"job_timeout": job_timeout, "idle_timeout": idle_timeout}))
    if ssh_key:
        (work / "env" / "ssh_key").write_text(ssh_key)
    if cmdline:
        (work / "env" / "cmdline").write_text(cmdline)
    for path in (work / "env").iterdir():
        path.chmod(0o600)
    # The runner's own environment: a PATH to ansible-playbook and ssh-agent, a home and a locale, nothing else.
    env = {"PATH": f"{BIN}:{SYSTEM_PATH}", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    cmd = [str(BIN / "ansible-runner"), "run", str(work), "--project-dir", str(project), "-p", playbook,
           "--ident", "job", "--quiet"]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, timeout=job_timeout + 120, check=False)
    artifacts = work / "artifacts" / "job"
    status = _read(artifacts / "status") or f"runner exited {proc.returncode}"
    rc_text = _read(artifacts / "rc")
    stdout = _read(artifacts / "stdout") or proc.stdout
    events = []
    for path in sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0])):
        events.append(json.loads(path.read_text(encoding="utf-8")))
    return Job(status=status.strip(), rc=int(rc_text) if rc_text.strip().lstrip("-").isdigit() else proc.returncode,
               stdout=stdout, events=events, artifacts=artifacts if artifacts.is_dir() else None, injected=injected)


def _read(path):
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _pair(value):
    label, sep, rest = value.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{label}'")
    return label, rest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="the private data directory to write (emptied)")
    parser.add_argument("--project", required=True, type=Path, help="the project directory (the collection tree)")
    parser.add_argument("--playbook", required=True, help="the job template's playbook, relative to the project")
    parser.add_argument("--inventory", type=Path, help="an inventory file (its directory goes with it)")
    parser.add_argument("--localhost", action="store_true", help="the inventory is AWX's localhost")
    parser.add_argument("--extra-vars-file", type=Path, action="append", default=[], help="YAML extra variables")
    parser.add_argument("--extra-var", type=_pair, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--extra-vars-json", action="append", default=[], help="extra variables as a JSON object")
    parser.add_argument("--env", action="append", default=[], metavar="NAME",
                        help="inject this variable's value from the current environment, as a credential does")
    parser.add_argument("--cmdline", default="", help="arguments from the template (verbosity, --diff, --check)")
    parser.add_argument("--expect-changed", type=int, help="the number of changed tasks the recap must show")
    parser.add_argument("--stdout", type=Path, help="copy the job's stdout here")
    parser.add_argument("--secret", type=_pair, action="append", default=[], metavar="LABEL=VARIABLE",
                        help="a secret, from the environment variable VARIABLE, that no artifact may hold")
    parser.add_argument("--text", type=_pair, action="append", default=[], metavar="LABEL=TEXT",
                        help="a marker text that no artifact may hold")
    args = parser.parse_args(argv)

    # Only the command line reads YAML files.
    import yaml  # pylint: disable=import-outside-toplevel

    if args.localhost == bool(args.inventory):
        parser.error("give exactly one of --inventory and --localhost")
    inventory = localhost_inventory() if args.localhost else args.inventory
    extravars = {}
    for path in args.extra_vars_file:
        extravars.update(yaml.safe_load(path.read_text()) or {})
    for text in args.extra_vars_json:
        extravars.update(json.loads(text))
    extravars.update(dict(args.extra_var))
    missing = [name for name in args.env if name not in os.environ]
    if missing:
        parser.error(f"--env names variables that are not set: {', '.join(missing)}")
    envvars = {name: os.environ[name] for name in args.env}

    job = run_job(args.dir, args.project.resolve(), args.playbook, inventory, extravars, envvars,
                  cmdline=args.cmdline or None)
    if args.stdout:
        args.stdout.write_text(job.stdout)
    problems = []
    if job.status != "successful" or job.rc != 0:
        problems.append(f"the job ended {job.status} with rc {job.rc}")
    if "playbook_on_stats" not in job.event_names():
        problems.append("the event stream has no playbook_on_stats event")
    changed = sum(job.stats.get("changed", {}).values())
    if args.expect_changed is not None and changed != args.expect_changed:
        problems.append(f"the recap counts {changed} changed tasks, expected {args.expect_changed}: "
                        f"{job.stats.get('changed')}")
    secrets = {label: os.environ.get(variable, "") for label, variable in args.secret}
    secrets.update(dict(args.text))
    for label, source in job.leaks(secrets):
        problems.append(f"{label} shows in {source}")
    if problems:
        print(job.stdout[-6000:], file=sys.stderr)
        for problem in problems:
            print(f"AWX job {args.playbook}: {problem}", file=sys.stderr)
        return 1
    files = sum(1 for p in job.artifacts.rglob("*") if p.is_file())
    print(f"AWX job {args.playbook}: {job.status}, {len(job.events)} events, changed={changed}, "
          f"no secret in the {files} files ansible-runner wrote")
    return 0


if __name__ == "__main__":
    sys.exit(main())
