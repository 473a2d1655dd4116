# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the test stages in order and close with one pytest-style summary line.

    run_tests.py --tree DIR sanity lint units build integration lab    (make test)
    run_tests.py --tree DIR lab-extended                                 (make test-extended)
    run_tests.py --tree DIR lab-matrix                                   (make test-matrix)

The lab stage runs every scenario on a lab of Debian 12 hosts except the variants marked `extended` (a second
proxy, a second keystore, ...: each feature keeps at least one case in the lab stage); lab-extended runs those
variants, then the site.yml smoke (tests/lab/smoke) on a second lab of two Debian 13 hosts; lab-matrix runs every
scenario and the smoke on each suite.

Every stage runs even when an earlier one failed, so one run shows everything that is wrong; the exit status
is non-zero when any check failed. The units stage runs beside the integration stage (its output is shown when
both have ended; JVMOPS_TEST_SERIAL=1 runs them one after the other). Set JVMOPS_LAB_KEEP=1 to leave the lab up
after the lab stage (to look around); by default it is removed again.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PYVER = f"{sys.version_info[0]}.{sys.version_info[1]}"
TARGET_PYVER = "3.11"  # Debian 12's python3, on the lab hosts and most managed servers
OUT = REPO / ".build" / "results"

# Each local test service keeps its start, stop and report code beside it (tests/<service>_fake/control.py).
sys.path.insert(0, str(REPO / "tests" / "heroku_fake"))
import control as heroku_fake  # noqa: E402 pylint: disable=wrong-import-position


def _load_control(service):
    """tests/<service>/control.py as its own module (every service's file is called control.py)."""
    spec = importlib.util.spec_from_file_location(f"{service}_control", REPO / "tests" / service / "control.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


beanstalk_fake = _load_control("beanstalk_fake")
appengine_fake = _load_control("appengine_fake")


@dataclass
class Result:
    stage: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)
    seconds: float = 0.0
    output: list = field(default_factory=list)


# A stage run beside another (units beside integration) writes into its thread's buffer, shown when it ends.
_OUTPUT = threading.local()


def emit(text):
    buffer = getattr(_OUTPUT, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        buffer.append(text)


def banner(text):
    emit(f"\n{'=' * 20} {text} {'=' * max(0, 58 - len(text))}\n")


def stream(cmd, cwd, env=None):
    """Run a command, showing its output as it comes, and return (returncode, output)."""
    emit(f"$ {' '.join(str(c) for c in cmd)}\n")
    full_env = dict(os.environ, **(env or {}))
    full_env["PATH"] = f"{VENV_BIN}:{full_env.get('PATH', '')}"
    with subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as proc:
        lines = []
        for line in proc.stdout:
            emit(line)
            lines.append(line)
        return proc.wait(), "".join(lines)


def count_junit(path, result, label=None):
    """Add a pytest junit file's counts to result (failures named with label first, when given)."""
    if not path.exists():
        result.failed += 1
        result.failures.append(f"{path.name}: no report written")
        return
    root = ET.parse(path).getroot()
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            name = f"{label + ': ' if label else ''}{case.get('classname')}::{case.get('name')}"
            if case.find("failure") is not None or case.find("error") is not None:
                result.failed += 1
                result.failures.append(name)
            elif case.find("skipped") is not None:
                result.skipped += 1
            else:
                result.passed += 1


def parse_ansible_test(kind, ran, output, returncode, result):
    """Count ansible-test's sanity tests or integration targets: each one that ran passed unless listed failed."""
    block = re.search(rf"The \d+ {kind} test\(s\) listed below \(out of \d+\) failed[^\n]*\n((?:[\w.-]+\n)+)", output)
    failed = set(block.group(1).split()) if block else set()
    for name in dict.fromkeys(ran):
        one(result, f"{kind}: {name}", 1 if name in failed else 0)
    if returncode and not failed:
        one(result, f"{kind}: ansible-test exited {returncode}", returncode)


def one(result, name, returncode):
    if returncode == 0:
        result.passed += 1
    else:
        result.failed += 1
        result.failures.append(name)


def stage_sanity(tree):
    result = Result("sanity")
    code, output = stream(["ansible-test", "sanity", "--venv", "--python", PYVER, "--color", "no"], tree)
    ran = re.findall(r'^Running sanity test "([^"]+)"', output, re.M)
    parse_ansible_test("sanity", ran, output, code, result)
    result.skipped += len(set(re.findall(r'^WARNING: Skipping sanity test "([^"]+)"', output, re.M)))
    # Modules run on the managed hosts' Python (Debian 12: 3.11), not the controller's.
    if PYVER != TARGET_PYVER and shutil.which(f"python{TARGET_PYVER}"):
        code, output = stream(["ansible-test", "sanity", "--venv", "--python", TARGET_PYVER, "--color", "no",
                               "--test", "compile", "--test", "import"], tree)
        ran = [f"{name} (Python {TARGET_PYVER})" for name in re.findall(r'^Running sanity test "([^"]+)"', output, re.M)]
        parse_ansible_test("sanity", ran, output, code, result)
    return result


def stage_lint(tree):
    result = Result("lint")
    code, _out = stream(["ansible-lint", "--offline", "--profile", "production", "--nocolor"], tree)
    one(result, "lint: ansible-lint --profile production", code)
    code, _out = stream(["antsibull-changelog", "lint"], tree)
    one(result, "lint: antsibull-changelog lint", code)
    code, _out = stream([sys.executable, "hacking/role_readmes.py", "--check"], tree)
    one(result, "lint: role READMEs match argument_specs", code)
    return result


def pytest(result, tree, paths, junit, env=None, extra=(), label=None):
    OUT.mkdir(parents=True, exist_ok=True)
    junit = OUT / junit
    junit.unlink(missing_ok=True)
    env = dict(env or {})
    env["PYTHONPATH"] = str(Path(tree).parents[2])
    stream([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "console_output_style=classic",
            "-rfE", f"--junitxml={junit}", *extra, *paths], tree, env)
    count_junit(junit, result, label)
    return result


def stage_units(tree):
    return pytest(Result("units"), tree, ["tests/unit"], "units.xml")


def stage_build(tree):
    return pytest(Result("build"), tree, ["tests/build"], "build.xml")


def stage_integration(tree):
    result = Result("integration")
    fake_dir = Path(tree) / "tests" / "output" / "heroku-fake"
    heroku_fake.stop(fake_dir)
    shutil.rmtree(fake_dir, ignore_errors=True)
    beanstalk_dir = Path(tree) / "tests" / "output" / "beanstalk-fake"
    beanstalk_fake.stop(beanstalk_dir)
    shutil.rmtree(beanstalk_dir, ignore_errors=True)
    appengine_dir = Path(tree) / "tests" / "output" / "appengine-fake"
    appengine_fake.stop(appengine_dir)
    shutil.rmtree(appengine_dir, ignore_errors=True)
    code, output = stream(["ansible-test", "integration", "--local", "--python", PYVER, "--color", "no",
                           "--continue-on-error"], tree)
    ran = re.findall(r"^Running (\S+) integration test (?:role|script)", output, re.M)
    parse_ansible_test("integration", ran, output, code, result)
    heroku_fake.stop(fake_dir)
    beanstalk_fake.stop(beanstalk_dir)
    appengine_fake.stop(appengine_dir)
    # The service's statistics, and neither its API key nor a config var value in any log of the run.
    logs = {"the integration output": output}
    logs.update((str(path), path) for path in sorted((Path(tree) / "tests" / "output" / ".tmp" / "output_dir").glob("**/*.log")))
    report = heroku_fake.report(fake_dir, logs)
    emit("\n".join(report.lines) + "\n")
    one(result, "integration: every Heroku API request and response matched the schema", 0 if report.schema_ok else 1)
    one(result, "integration: no Heroku API key or config var value in the test logs", 1 if report.leaks else 0)
    report = beanstalk_fake.report(beanstalk_dir, logs)
    emit("\n".join(report.lines) + "\n")
    one(result, "integration: every Elastic Beanstalk request and response matched botocore's model", 0 if report.contract_ok else 1)
    one(result, "integration: no AWS secret key in the test logs", 1 if report.leaks else 0)
    report = appengine_fake.report(appengine_dir, logs)
    emit("\n".join(report.lines) + "\n")
    one(result, "integration: every App Engine Admin API request and response matched the v1 discovery document",
        0 if report.contract_ok else 1)
    one(result, "integration: no Google access token or service-account key in the test logs", 1 if report.leaks else 0)
    return result


# The Debian 13 lab, beside the default Debian 12 one: its own state, bridge, network, apt proxy port and machine names.
DEBIAN13_LAB = {"JVMOPS_LAB_SUITE": "trixie", "JVMOPS_LAB_DIR": "/var/lib/jvmops-lab13", "JVMOPS_LAB_BRIDGE": "jvlab13",
                "JVMOPS_LAB_NET": "10.213.13", "JVMOPS_LAB_PROXY_PORT": "3144", "JVMOPS_LAB_PREFIX": "j13"}
SMOKE = "tests/lab/smoke"


def lab_session(result, tree, label, env, hosts, paths, junit):
    """A fresh lab (env: its JVMOPS_LAB_* settings), the scenarios in paths on it, then the lab removed."""
    lab = [sys.executable, str(REPO / "tests" / "lab" / "lab.py")]
    stream([*lab, "down"], REPO, env)
    code, _out = stream([*lab, "up", *(["--hosts", hosts] if hosts else [])], REPO, env)
    one(result, f"{label}: lab up", code)
    if code == 0:
        pytest(result, tree, paths, junit, env=env, extra=["-v"], label=label)
    if os.environ.get("JVMOPS_LAB_KEEP") != "1":
        code, _out = stream([*lab, "down"], REPO, env)
        one(result, f"{label}: lab down", code)


def stage_lab(tree):
    """Every scenario on Debian 12 hosts but the variants marked extended."""
    result = Result("lab")
    lab_session(result, tree, "lab", {}, None, ["tests/lab", f"--ignore={SMOKE}", "-m", "not extended"], "lab.xml")
    return result


def stage_lab_extended(tree):
    """The variants marked extended on Debian 12 hosts, then the site.yml smoke on two Debian 13 hosts."""
    result = Result("lab-extended")
    lab_session(result, tree, "lab (extended)", {}, None, ["tests/lab", f"--ignore={SMOKE}", "-m", "extended"],
                "lab-extended.xml")
    lab_session(result, tree, "lab (Debian 13)", DEBIAN13_LAB, "lb1,app1", [SMOKE], "lab-debian13.xml")
    return result


def stage_lab_matrix(tree):
    """Every scenario and the smoke on Debian 12 and on Debian 13 (make test-matrix)."""
    result = Result("lab-matrix")
    for label, env, junit in (("Debian 12", {}, "matrix-debian12.xml"), ("Debian 13", DEBIAN13_LAB, "matrix-debian13.xml")):
        lab_session(result, tree, label, env, None, ["tests/lab"], junit)
    return result


STAGES = {
    "sanity": stage_sanity,
    "lint": stage_lint,
    "units": stage_units,
    "build": stage_build,
    "integration": stage_integration,
    "lab": stage_lab,
    "lab-extended": stage_lab_extended,
    "lab-matrix": stage_lab_matrix,
}


def run_stage(name, tree, results, buffer=None):
    """One stage, its banner first; with a buffer, its output is kept in it (result.output) instead of shown."""
    _OUTPUT.buffer = buffer
    try:
        banner(name)
        started = time.monotonic()
        result = STAGES[name](tree)
        result.seconds = time.monotonic() - started
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a broken stage is a failure, not the end
        emit(traceback.format_exc())
        result = Result(name, failed=1, failures=[f"{name}: {exc!r}"])
    finally:
        _OUTPUT.buffer = None
    result.output = buffer or []
    results[name] = result
    return result


def summary_line(results):
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True, help="the ansible_collections/jvmops/deploy copy to test")
    parser.add_argument("stages", nargs="+", choices=list(STAGES))
    args = parser.parse_args(argv)
    # The Twilio test service checks requests against the published description in shared/ beside the repository,
    # wherever the tree under test was copied to.
    os.environ.setdefault("TWILIO_OPENAPI", str(REPO.parent / "shared" / "twilio-api" / "twilio_api_v2010.json"))
    results = {}
    began = time.monotonic()
    beside = {}  # stage -> the stage that runs in a thread beside it
    if ({"units", "integration"} <= set(args.stages) and os.environ.get("JVMOPS_TEST_SERIAL") != "1"
            and args.stages.index("units") < args.stages.index("integration")):
        # The unit tests keep one core busy, the integration targets mostly wait on their local services: side by
        # side they take the time of the longer one (JVMOPS_TEST_SERIAL=1 runs them one after the other).
        beside["integration"] = "units"
    for name in args.stages:
        if name in beside.values():
            continue
        thread = None
        if name in beside:
            other = beside[name]
            thread = threading.Thread(target=run_stage, args=(other, args.tree, results, []), daemon=True)
            thread.start()
        results[name] = run_stage(name, args.tree, results)
        if thread is not None:
            thread.join()
            emit(f"\n(the {other} stage ran beside the {name} stage; its output:)\n")
            emit("".join(results[other].output))
    results = [results[name] for name in args.stages]
    banner("summary")
    for r in results:
        print(f"{r.stage:<12} {r.passed:>4} passed {r.failed:>4} failed {r.skipped:>4} skipped  {r.seconds:7.1f}s")
    for r in results:
        for failure in r.failures:
            print(f"FAILED {failure}")
    print(f"total: {summary_line(results)} in {time.monotonic() - began:.0f}s", flush=True)
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
