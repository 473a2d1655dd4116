# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""jdk_alternatives against the real update-alternatives, with its own --altdir and --admindir."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _jdk_alternatives as alternatives
from ansible_collections.jvmops.deploy.plugins.modules import jdk_alternatives

pytestmark = pytest.mark.skipif(shutil.which("update-alternatives") is None, reason="needs Debian's update-alternatives")

COMMANDS = ["java", "javac", "jar", "jshell"]


@pytest.fixture(name="alt")
def alt_fixture(invoke, tmp_path, monkeypatch):
    admin = ["--altdir", str(tmp_path / "alternatives"), "--admindir", str(tmp_path / "admin")]
    for name in ("alternatives", "admin", "bin", "jvm"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(alternatives, "ADMIN_ARGS", admin)

    def run(home, register=(), check=False, diff=False, raw=None, **extra):
        """Homes are named under tmp_path/jvm; raw options (select, register too) are passed as they are."""
        args = {"select": str(tmp_path / "jvm" / home), "register": [str(tmp_path / "jvm" / r) for r in register],
                "commands": COMMANDS, "link_dir": str(tmp_path / "bin"), **extra}
        return invoke(jdk_alternatives.main, {**args, **(raw or {})}, check=check, diff=diff)

    def jdk(name, version, commands=("java", "javac", "jar")):
        """A JDK home whose commands print their version as java -version does."""
        bin_dir = tmp_path / "jvm" / name / "bin"
        bin_dir.mkdir(parents=True)
        for command in commands:
            path = bin_dir / command
            path.write_text(f"#!/bin/sh\necho '{command} version \"{version}\" ({name})' >&2\n")
            path.chmod(0o755)
        return tmp_path / "jvm" / name

    def tool(*args):
        return subprocess.run(["update-alternatives", *admin, *args], capture_output=True, text=True, check=True,
                              env={**os.environ, "LC_ALL": "C"}).stdout

    def points(command):
        """The file the generic link finally reaches."""
        return os.path.realpath(tmp_path / "bin" / command)

    def query(command):
        return alternatives.parse_query(tool("--query", command))

    run.jdk, run.tool, run.points, run.query, run.tmp = jdk, tool, points, query, tmp_path
    return run


def test_selects_every_command_of_a_jdk_in_one_call_and_converges(alt):
    home = alt.jdk("jdk-17", "17.0.13")
    first = alt("jdk-17")
    assert not first.failed and first.result["changed"], first.result
    assert alt.points("java") == str(home / "bin" / "java")
    assert alt.points("javac") == str(home / "bin" / "javac")
    assert not (alt.tmp / "bin" / "jshell").exists()  # the JDK has no jshell: nothing to link
    assert alt.query("java")["status"] == "manual"
    assert first.result["selected"] == {c: str(home / "bin" / c) for c in ("java", "javac", "jar")}
    assert first.result["java_version"] == 'java version "17.0.13" (jdk-17)'
    second = alt("jdk-17")
    assert not second.result["changed"] and second.result["actions"] == [], second.result
    assert second.result["selected"] == first.result["selected"]


def test_a_runtime_switches_the_commands_it_has_and_javac_stays(alt):
    jdk17 = alt.jdk("jdk-17", "17.0.13")
    jre25 = alt.jdk("jre-25", "25.0.1", commands=("java", "jar"))
    registered = alt("jdk-17", register=["jre-25"], priority=100)
    assert registered.result["changed"]
    assert alt.points("java") == str(jdk17 / "bin" / "java")  # registered, not selected
    assert alt.query("java")["alternatives"][str(jre25 / "bin" / "java")] == 100
    switched = alt("jre-25", register=["jre-25"], priority=100)
    assert switched.result["actions"] == [["--set", "java", str(jre25 / "bin" / "java")],
                                          ["--set", "jar", str(jre25 / "bin" / "jar")]], switched.result
    assert alt.points("java") == str(jre25 / "bin" / "java")
    assert alt.points("javac") == str(jdk17 / "bin" / "javac")
    assert switched.result["java_version"].startswith('java version "25.0.1"')
    assert not alt("jre-25", register=["jre-25"], priority=100).result["changed"]
    back = alt("jdk-17", register=["jre-25"], priority=100)
    assert back.result["changed"] and alt.points("java") == str(jdk17 / "bin" / "java")


def test_a_package_jdk_in_auto_mode_is_set_manual_and_keeps_its_priority(alt):
    home = alt.jdk("jdk-17", "17.0.13")
    alt.tool("--install", str(alt.tmp / "bin" / "java"), "java", str(home / "bin" / "java"), "1711")
    assert alt.query("java")["status"] == "auto"
    result = alt("jdk-17", priority=100)
    assert ["--set", "java", str(home / "bin" / "java")] in result.result["actions"]
    assert not any(a[0] == "--install" and a[2] == "java" for a in result.result["actions"]), result.result
    java = alt.query("java")
    assert java["status"] == "manual" and java["alternatives"][str(home / "bin" / "java")] == 1711


def test_a_registered_command_with_another_priority_is_registered_again(alt):
    alt.jdk("jdk-17", "17.0.13")
    jdk21 = alt.jdk("jdk-21", "21.0.5")
    alt("jdk-17", register=["jdk-21"], priority=100)
    again = alt("jdk-17", register=["jdk-21"], priority=200)
    assert again.result["changed"]
    assert alt.query("javac")["alternatives"][str(jdk21 / "bin" / "javac")] == 200
    assert not alt("jdk-17", register=["jdk-21"], priority=200).result["changed"]


def test_check_mode_predicts_the_calls_and_changes_nothing(alt):
    alt.jdk("jdk-17", "17.0.13")
    alt.jdk("jdk-21", "21.0.5")
    alt("jdk-17", register=["jdk-21"])
    admin = sorted((alt.tmp / "admin").iterdir())
    before = {p.name: p.read_text() for p in admin}
    checked = alt("jdk-21", register=["jdk-21"], check=True, diff=True)
    assert checked.result["changed"]
    assert {p.name: p.read_text() for p in sorted((alt.tmp / "admin").iterdir())} == before
    assert alt.points("java").endswith("jdk-17/bin/java")
    assert "java: " + str(alt.tmp / "jvm/jdk-17/bin/java") + " (manual)" in checked.result["diff"]["before"]
    assert "java: " + str(alt.tmp / "jvm/jdk-21/bin/java") + " (manual)" in checked.result["diff"]["after"]
    real = alt("jdk-21", register=["jdk-21"])
    assert real.result["actions"] == checked.result["actions"]
    assert real.result["selected"] == checked.result["selected"]


def test_check_mode_on_a_fresh_host_reports_a_jdk_not_unpacked_yet(alt):
    alt.jdk("jdk-17", "17.0.13")
    checked = alt("jdk-17", register=["temurin-25"], check=True)
    assert not checked.failed, checked.result
    assert checked.result["missing_homes"] == [str(alt.tmp / "jvm" / "temurin-25")]
    assert checked.result["java_version"] is None  # nothing links java yet
    assert not (alt.tmp / "bin" / "java").exists()


@pytest.mark.parametrize(("args", "message"), [
    ({"commands": ["java", "../bin/sh"]}, "commands: give command names"),
    ({"commands": []}, "commands: give command names"),
    ({"priority": -1}, "priority: must be 0 or more, got -1"),
    ({"select": "jvm/jdk-17"}, "select: JDK homes must be absolute paths"),
    ({"register": ["relative"]}, "register: JDK homes must be absolute paths"),
    ({"link_dir": "bin"}, "link_dir: must be an absolute path"),
])
def test_bad_input_is_refused_before_any_change(alt, args, message):
    alt.jdk("jdk-17", "17.0.13")
    result = alt("jdk-17", raw=args)
    assert result.failed and message in result.result["msg"], result.result
    assert list((alt.tmp / "admin").iterdir()) == []


def test_a_home_that_is_not_there_or_not_a_jdk_fails_naming_the_option(alt):
    alt.jdk("jdk-17", "17.0.13")
    missing = alt("jdk-17", register=["temurin-25"])
    assert missing.failed and "register: " in missing.result["msg"] and "has no bin directory" in missing.result["msg"]
    (alt.tmp / "jvm" / "empty" / "bin").mkdir(parents=True)
    empty = alt("empty")
    assert empty.failed and "select: " in empty.result["msg"] and "is it a JDK home?" in empty.result["msg"]
    assert list((alt.tmp / "admin").iterdir()) == []


def test_parses_the_query_output_with_followers():
    text = """Name: java
Link: /usr/bin/java
Slaves:
 java.1.gz /usr/share/man/man1/java.1.gz
Status: auto
Best: /usr/lib/jvm/java-17-openjdk-amd64/bin/java
Value: /usr/lib/jvm/java-17-openjdk-amd64/bin/java

Alternative: /usr/lib/jvm/java-17-openjdk-amd64/bin/java
Priority: 1711
Slaves:
 java.1.gz /usr/lib/jvm/java-17-openjdk-amd64/man/man1/java.1.gz

Alternative: /usr/lib/jvm/temurin-25/bin/java
Priority: 100
"""
    assert alternatives.parse_query(text) == {
        "link": "/usr/bin/java", "status": "auto", "value": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
        "alternatives": {"/usr/lib/jvm/java-17-openjdk-amd64/bin/java": 1711, "/usr/lib/jvm/temurin-25/bin/java": 100},
    }
    assert alternatives.parse_query("Name: java\nLink: /usr/bin/java\nStatus: auto\nBest: none\nValue: none\n")["value"] is None
