# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""converged against real files, links, accounts and probes under tmp_path; dpkg-query and systemctl are scripts of
the test's own put first on PATH, sysctl reads a /proc/sys of its own and update-alternatives a private admindir."""

from __future__ import annotations

import base64
import grp
import os
import pwd
import shutil
import stat

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _jdk_alternatives as alternatives
from ansible_collections.jvmops.deploy.plugins.module_utils import _sysctl_profile as profile
from ansible_collections.jvmops.deploy.plugins.modules import converged, jdk_alternatives, sysctl_profile

NO_SUCH_USER = "jvmops-no-such-user"
NO_SUCH_GROUP = "jvmops-no-such-group"
needs_update_alternatives = pytest.mark.skipif(shutil.which("update-alternatives") is None,
                                               reason="needs Debian's update-alternatives")


def text(content, dest, **extra):
    """A state=file entry as the action sends it."""
    data = content.encode() if isinstance(content, str) else content
    return {"dest": str(dest), "content_base64": base64.b64encode(data).decode(), **extra}


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def snapshot(top):
    """Every path under top with its kind, mode, mtime and content (or link target): what must not change."""
    seen = {}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                body = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    body = handle.read()
            else:
                body = None
            seen[os.path.relpath(path, top)] = (stat.S_IFMT(info.st_mode), mode(path), info.st_mtime_ns, body)
    return seen


def file_state(path):
    """One file's inode, mode, mtime and content."""
    info = os.lstat(path)
    with open(path, "rb") as handle:
        return info.st_ino, mode(path), info.st_mtime_ns, handle.read()


def script(path, body):
    path.write_text(f"#!/bin/sh\n{body}")
    path.chmod(0o755)
    return path


@pytest.fixture(name="run")
def run_fixture(invoke, monkeypatch, tmp_path):
    """run(check=False, diff=False, **args) -> Exit; the module's os.environ change (LC_ALL) is undone afterwards."""
    monkeypatch.setenv("LC_ALL", os.environ.get("LC_ALL", "C"))
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")

    def run(check=False, diff=False, **args):
        return invoke(converged.main, args, check=check, diff=diff)

    run.bin = fake_bin
    run.warnings = invoke.warnings
    return run


def assert_converged(result):
    assert not result.failed, result.result
    assert result.result["converged"] is True, result.result
    assert result.result["differences"] == [] and result.result["differing"] == {}, result.result
    assert result.result["changed"] is False


def assert_differs(result, kind, lines):
    assert not result.failed, result.result
    assert result.result["converged"] is False, result.result
    assert result.result["changed"] is False
    assert result.result["differing"] == {kind: lines}, result.result
    assert result.result["differences"] == lines


# Nothing asked

def test_nothing_asked_is_converged(run):
    result = run()
    assert_converged(result)
    assert "diff" not in result.result


# Files

def test_a_file_with_the_content_and_mode_asked_is_converged_and_not_touched(run, tmp_path):
    conf = tmp_path / "etc" / "app.conf"
    conf.parent.mkdir()
    conf.write_text("port = 8080\n")
    conf.chmod(0o640)
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    before = snapshot(tmp_path / "etc")
    for check in (False, True):
        assert_converged(run(files=[text("port = 8080\n", conf, mode="0640", owner=user, group=group)], check=check))
    assert snapshot(tmp_path / "etc") == before


def test_other_content_is_a_difference_and_the_file_stays_as_it_is(run, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("port = 8000\n")
    before = snapshot(tmp_path)
    for check in (False, True):
        result = run(files=[text("port = 8080\n", conf)], check=check, diff=True)
        assert_differs(result, "files", [f"file {conf} differs"])
        assert "diff" not in result.result and "port" not in repr(result.result)  # the path only, never the content
    assert snapshot(tmp_path) == before


def test_another_mode_is_a_difference_and_is_not_applied(run, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("x\n")
    conf.chmod(0o644)
    before = snapshot(tmp_path)
    assert_differs(run(files=[text("x\n", conf, mode="0600")]), "files", [f"file {conf} differs"])
    assert mode(conf) == 0o644 and snapshot(tmp_path) == before


def test_a_file_in_a_missing_directory_is_a_difference_not_a_failure(run, tmp_path):
    missing = tmp_path / "not-installed-yet" / "app.conf"
    assert_differs(run(files=[text("x\n", missing, mode="0644")]), "files", [f"file {missing} differs"])
    assert not missing.parent.exists()


def test_an_absent_path_that_is_there_is_a_difference_and_stays(run, tmp_path):
    old, never = tmp_path / "old.conf", tmp_path / "never.conf"
    old.write_text("x\n")
    before = snapshot(tmp_path)
    assert_converged(run(files=[{"dest": str(never), "state": "absent"}]))
    result = run(files=[{"dest": str(old), "state": "absent"}, {"dest": str(never), "state": "absent"}])
    assert_differs(result, "files", [f"absent {old} differs"])
    assert snapshot(tmp_path) == before


def test_directories_are_compared_and_never_made(run, tmp_path):
    there, missing = tmp_path / "there", tmp_path / "a" / "b"
    there.mkdir()
    there.chmod(0o750)
    before = snapshot(tmp_path)
    assert_converged(run(files=[{"dest": str(there), "state": "directory", "mode": "0750"}]))
    result = run(files=[{"dest": str(there), "state": "directory", "mode": "0755"},
                        {"dest": str(missing), "state": "directory", "mode": "0700"}])
    assert_differs(result, "files", [f"directory {there} differs", f"directory {missing} differs"])
    assert snapshot(tmp_path) == before and not (tmp_path / "a").exists()


def test_validate_is_accepted_and_not_run(run, tmp_path):
    conf = tmp_path / "conf" / "app.conf"
    conf.parent.mkdir()
    conf.write_text("port = 8080\n")
    marker = tmp_path / "validate-ran"
    validate = f"sh -c 'touch {marker}; exit 1' %s"
    assert_converged(run(files=[text("port = 8080\n", conf, validate="false %s")]))
    assert_converged(run(files=[text("port = 8080\n", conf, validate=validate)]))
    before = snapshot(tmp_path / "conf")
    result = run(files=[text("port = 9090\n", conf, validate=validate)])
    assert_differs(result, "files", [f"file {conf} differs"])
    assert not marker.exists(), "validate must not run"
    assert snapshot(tmp_path / "conf") == before  # no candidate file was left beside it


def test_a_directory_where_a_file_should_be_is_a_difference_not_a_failure(run, tmp_path):
    (tmp_path / "app.conf").mkdir()
    result = run(files=[text("x\n", tmp_path / "app.conf")])
    assert_differs(result, "files", [f"files: Failed to write {tmp_path / 'app.conf'}: it is a directory "
                                     "(files[0]; nothing changed before it)"])
    assert (tmp_path / "app.conf").is_dir()


def test_a_file_in_a_directory_an_earlier_entry_would_make_is_one_difference_each(run, tmp_path):
    new_dir = tmp_path / "etc" / "app"
    result = run(files=[{"dest": str(new_dir), "state": "directory"}, text("x\n", new_dir / "app.conf")])
    assert_differs(result, "files", [f"directory {new_dir} differs", f"file {new_dir / 'app.conf'} differs"])
    assert not (tmp_path / "etc").exists()


def test_an_unknown_file_option_is_refused_by_the_argument_spec(run, tmp_path):
    result = run(files=[{"dest": str(tmp_path / "x"), "content_base64": "eAo=", "backup": True}])
    assert result.failed and "backup" in result.result["msg"]


# Links

def test_links_must_point_where_asked_as_written(run, tmp_path):
    (tmp_path / "releases" / "a").mkdir(parents=True)
    (tmp_path / "releases" / "b").mkdir()
    good, elsewhere, plain, missing = (tmp_path / name for name in ("good", "elsewhere", "plain", "missing"))
    good.symlink_to("releases/a")
    elsewhere.symlink_to("releases/b")
    plain.write_text("not a link\n")
    dangling = tmp_path / "dangling"
    dangling.symlink_to("releases/not-there-yet")
    before = snapshot(tmp_path)
    assert_converged(run(links=[{"dest": str(good), "src": "releases/a"}, {"dest": str(dangling), "src": "releases/not-there-yet"}]))
    # The same place written another way is a difference: the link is compared as written, not resolved.
    result = run(links=[
        {"dest": str(good), "src": "releases/a"},
        {"dest": str(good), "src": str(tmp_path / "releases" / "a")},
        {"dest": str(elsewhere), "src": "releases/a"},
        {"dest": str(plain), "src": "releases/a"},
        {"dest": str(missing), "src": "releases/a"},
    ])
    assert_differs(result, "links", [
        f"link {good} points at releases/a, not {tmp_path / 'releases' / 'a'}",
        f"link {elsewhere} points at releases/b, not releases/a",
        f"{plain} is not a link",
        f"link {missing} is missing",
    ])
    assert snapshot(tmp_path) == before


# Groups and users

def other_group():
    """A group that exists and is not this process's primary group, or None."""
    return next((entry.gr_name for entry in grp.getgrall() if entry.gr_gid != os.getgid()), None)


def test_the_current_user_and_group_exist_as_they_are(run):
    me = pwd.getpwuid(os.getuid())
    group = grp.getgrgid(os.getgid()).gr_name
    assert_converged(run(groups=[group], users=[{"name": me.pw_name}]))
    assert_converged(run(users=[{"name": me.pw_name, "group": group, "home": me.pw_dir, "shell": me.pw_shell}]))


def test_missing_accounts_and_other_attributes_are_differences_under_users(run):
    me = pwd.getpwuid(os.getuid())
    group = grp.getgrgid(os.getgid()).gr_name
    result = run(groups=[group, NO_SUCH_GROUP], users=[
        {"name": NO_SUCH_USER, "home": "/nowhere"},
        {"name": me.pw_name, "home": "/nonexistent/home", "shell": "/bin/jvmops-no-such-shell"},
        {"name": me.pw_name, "group": NO_SUCH_GROUP},
    ])
    assert_differs(result, "users", [
        f"group {NO_SUCH_GROUP} does not exist",
        f"user {NO_SUCH_USER} does not exist",
        f"user {me.pw_name}'s home is {me.pw_dir}, not /nonexistent/home",
        f"user {me.pw_name}'s shell is {me.pw_shell}, not /bin/jvmops-no-such-shell",
        f"user {me.pw_name}'s primary group is not {NO_SUCH_GROUP}",
    ])


def test_a_group_that_exists_but_is_not_the_primary_one_is_a_difference(run):
    me = pwd.getpwuid(os.getuid())
    group = other_group()
    if group is None:
        pytest.skip("this host has a single group")
    assert_differs(run(users=[{"name": me.pw_name, "group": group}]), "users", [f"user {me.pw_name}'s primary group is not {group}"])


# Commands

def test_a_probe_converges_on_the_asked_exit_status(run):
    assert_converged(run(commands=[{"argv": ["true"]}, {"argv": ["false"], "rc": 1}, {"argv": ["sh", "-c", "exit 3"], "rc": 3}]))
    result = run(commands=[{"argv": ["true"]}, {"argv": ["false"]}, {"argv": ["sh", "-c", "exit 3"], "rc": 2}])
    assert_differs(result, "commands", ["command false exited 1, not 0", "command sh -c exit 3 exited 3, not 2"])


def test_a_probe_output_must_match_the_regular_expression(run):
    assert_converged(run(commands=[
        {"argv": ["sh", "-c", "echo 'openjdk version \"17.0.13\"'"], "output": r'version "17\.'},
        {"argv": ["sh", "-c", "echo 'java version \"21\"' >&2"], "output": "^java version"},  # standard error counts too
    ]))
    result = run(commands=[
        {"argv": ["sh", "-c", "echo 'openjdk version \"17.0.13\"'"], "output": r'version "21\.'},
        {"argv": ["sh", "-c", "echo 17; exit 1"], "output": "17"},  # a wrong exit status is reported first
    ])
    assert_differs(result, "commands", [
        'command sh -c echo \'openjdk version "17.0.13"\' printed no match for version "21\\.',
        "command sh -c echo 17; exit 1 exited 1, not 0",
    ])


def test_a_missing_or_not_executable_command_is_a_difference_not_a_failure(run, tmp_path):
    not_executable = tmp_path / "not-executable"
    not_executable.write_text("#!/bin/sh\nexit 0\n")
    not_executable.chmod(0o644)
    result = run(commands=[
        {"argv": [str(tmp_path / "no-such-command")]},
        {"argv": ["jvmops-no-such-command", "--version"]},
        {"argv": [str(not_executable)]},
        {"argv": []},
    ])
    assert_differs(result, "commands", [
        f"command {tmp_path / 'no-such-command'} not found",
        "command jvmops-no-such-command not found",
        f"command {not_executable} not found",
        "commands: an empty argv",
    ])


def test_a_relative_command_is_found_on_path_and_gets_its_arguments(run, tmp_path):
    seen = tmp_path / "seen"
    script(run.bin / "jvmops-probe", f'printf "%s|" "$@" > {seen}\necho "probe says $1"\n')
    assert_converged(run(commands=[{"argv": ["jvmops-probe", "a b", "c"], "output": "^probe says a b$"}]))
    assert seen.read_text() == "a b|c|"  # no shell: the arguments arrive as given


def test_probes_run_with_the_c_locale(run, monkeypatch):
    monkeypatch.setenv("LC_ALL", "POSIX")
    assert_converged(run(commands=[{"argv": ["sh", "-c", 'echo "LC_ALL=$LC_ALL"'], "output": "^LC_ALL=C$"}]))


# Packages

@pytest.fixture(name="dpkg")
def dpkg_fixture(run, tmp_path):
    """A dpkg-query that prints what the test sets and records its arguments."""
    output, args = tmp_path / "dpkg-output", tmp_path / "dpkg-args"
    script(run.bin / "dpkg-query", f'printf "%s\\n" "$@" > {args}\ncat {output}\n')

    def dpkg(lines):
        output.write_text("".join(f"{line}\n" for line in lines))

    dpkg.args = args
    return dpkg


def test_installed_packages_are_converged(run, dpkg):
    dpkg(["haproxy ii ", "openjdk-17-jre-headless ii "])
    assert_converged(run(packages=["haproxy", "openjdk-17-jre-headless"]))
    assert dpkg.args.read_text().splitlines() == ["-W", "-f", "${Package} ${db:Status-Abbrev}\\n", "--", "haproxy",
                                                  "openjdk-17-jre-headless"]


def test_packages_not_installed_are_differences(run, dpkg):
    # rc: removed with its configuration left; un: known, never installed; missing: dpkg knows nothing of it.
    dpkg(["haproxy ii ", "nginx rc ", "curl un ", "garbage"])
    result = run(packages=["haproxy", "nginx", "curl", "jq"])
    assert_differs(result, "packages", ["package nginx is not installed", "package curl is not installed", "package jq is not installed"])


def test_without_dpkg_query_packages_are_a_difference(run, monkeypatch):
    monkeypatch.setenv("PATH", str(run.bin))  # the fake bin directory is empty: no dpkg-query anywhere
    assert_differs(run(packages=["haproxy"]), "packages", ["packages: dpkg-query not found"])


def test_no_packages_asked_does_not_run_dpkg_query(run, dpkg):
    dpkg([])
    assert_converged(run(packages=[]))
    assert not dpkg.args.exists()


# Services

def show(**units):
    """systemctl show output: one block per unit, properties as (UnitFileState, ActiveState, LoadState)."""
    blocks = []
    for unit, (unit_file_state, active, load) in units.items():
        blocks.append(f"Id={unit}\nLoadState={load}\nActiveState={active}\nUnitFileState={unit_file_state}\n")
    return "\n".join(blocks)


@pytest.fixture(name="systemctl")
def systemctl_fixture(run, tmp_path):
    """A systemctl that prints what the test sets, exits as it sets, and records its arguments."""
    output, args, status = tmp_path / "systemctl-output", tmp_path / "systemctl-args", tmp_path / "systemctl-rc"
    script(run.bin / "systemctl", f'printf "%s\\n" "$@" > {args}\ncat {output}\nexit $(cat {status})\n')

    def systemctl(printed, rc=0):
        output.write_text(printed)
        status.write_text(str(rc))

    systemctl.args = args
    return systemctl


def test_services_in_the_asked_states_are_converged(run, systemctl):
    systemctl(show(**{"haproxy.service": ("enabled", "active", "loaded"),
                      "systemd-journald.service": ("static", "active", "loaded"),
                      "old.service": ("", "inactive", "not-found"),
                      "cleanup.timer": ("disabled", "inactive", "loaded")}))
    services = [{"name": "haproxy", "enabled": True, "active": True},
                {"name": "systemd-journald", "enabled": True},  # static counts as enabled
                {"name": "old", "enabled": False, "active": False},  # a unit that does not exist is disabled
                {"name": "cleanup.timer", "enabled": False, "active": False}]
    assert_converged(run(services=services))
    assert systemctl.args.read_text().splitlines() == [
        "show", "--property=Id,UnitFileState,ActiveState,LoadState", "--",
        "haproxy.service", "systemd-journald.service", "old.service", "cleanup.timer"]


def test_services_in_other_states_are_differences(run, systemctl):
    systemctl(show(**{"haproxy.service": ("disabled", "failed", "loaded"),
                      "old.service": ("enabled", "active", "loaded"),
                      "gone.service": ("", "inactive", "not-found"),
                      "manual.service": ("disabled", "active", "loaded")}))
    result = run(services=[{"name": "haproxy", "enabled": True, "active": True},
                           {"name": "old", "enabled": False, "active": False},
                           {"name": "gone", "enabled": True},
                           {"name": "manual", "active": True}])  # enabled left out: not looked at
    assert_differs(result, "services", [
        "service haproxy.service is not enabled",
        "service haproxy.service is not active (failed)",
        "service old.service is enabled",
        "service old.service is active (active)",
        "service gone.service is not enabled (no such unit)",
    ])


@pytest.mark.parametrize("output, rc, line", [
    ("", 1, "services: systemctl show failed: exit status 1"),
    ("Failed to connect to bus: No such file or directory\n", 1, "services: systemctl show failed: Failed to connect to bus: No such file or directory"),
    ("Id=haproxy.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n", 0,
     "services: systemctl show failed: Id=haproxy.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled"),
])
def test_a_systemctl_that_fails_or_answers_for_fewer_units_is_a_difference(run, systemctl, output, rc, line):
    systemctl(output, rc)
    result = run(services=[{"name": "haproxy", "active": True}, {"name": "nginx", "active": True}])
    assert_differs(result, "services", [line])


# sysctl

@pytest.fixture(name="kernel")
def kernel_fixture(monkeypatch, tmp_path):
    """A /proc/sys of the test's own; kernel(key=value) sets live values (dots as __)."""
    proc = tmp_path / "proc"
    proc.mkdir()
    monkeypatch.setattr(profile, "PROC_ROOT", str(proc))

    def kernel(**values):
        for key, value in values.items():
            path = proc.joinpath(*key.split("__"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{value}\n")

    kernel.proc = proc
    kernel.file = tmp_path / "etc" / "60-test.conf"
    kernel.file.parent.mkdir()
    return kernel


def test_sysctl_differs_until_the_profile_is_applied_and_the_check_writes_nothing(run, invoke, kernel):
    kernel(net__core__somaxconn="128", vm__swappiness="60")
    sysctl = {"parameters": {"net.core.somaxconn": 1024, "vm.swappiness": 60}, "file": str(kernel.file)}
    before = snapshot(kernel.proc)
    for check in (False, True):
        assert_differs(run(sysctl=sysctl, check=check), "sysctl", ["kernel parameters differ: net.core.somaxconn"])
    assert snapshot(kernel.proc) == before and not kernel.file.exists()
    applied = invoke(sysctl_profile.main, sysctl)
    assert not applied.failed and applied.result["changed"], applied.result
    after = snapshot(kernel.proc.parent)
    assert_converged(run(sysctl=sysctl))
    assert snapshot(kernel.proc.parent) == after


def test_sysctl_with_live_values_right_and_the_file_not_is_a_file_difference(run, kernel):
    kernel(net__core__somaxconn="1024")
    sysctl = {"parameters": {"net.core.somaxconn": 1024}, "file": str(kernel.file)}
    assert_differs(run(sysctl=sysctl), "sysctl", [f"file {kernel.file} differs"])  # no file yet
    kernel.file.write_text(profile.render_file({"net.core.somaxconn": "1024"}, {}))
    assert_converged(run(sysctl=sysctl))
    kernel.file.write_text(profile.render_file({"net.core.somaxconn": "1024"}, {}) + "vm.swappiness = 1\n")
    before = snapshot(kernel.proc.parent)
    assert_differs(run(sysctl=sysctl), "sysctl", [f"file {kernel.file} differs"])
    assert snapshot(kernel.proc.parent) == before


def test_a_live_value_that_drifted_is_a_difference(run, kernel):
    kernel(net__core__somaxconn="1024")
    kernel.file.write_text(profile.render_file({"net.core.somaxconn": "1024"}, {}))
    kernel(net__core__somaxconn="4096")
    before = snapshot(kernel.proc.parent)
    assert_differs(run(sysctl={"parameters": {"net.core.somaxconn": 1024}, "file": str(kernel.file)}), "sysctl",
                   ["kernel parameters differ: net.core.somaxconn"])
    assert snapshot(kernel.proc.parent) == before


def test_a_parameter_this_kernel_lacks_is_not_a_difference_but_warned_about(run, invoke, kernel):
    kernel(net__core__somaxconn="1024")
    sysctl = {"parameters": {"net.core.somaxconn": 1024, "net.ipv4.tcp_tw_recycle": 1}, "file": str(kernel.file)}
    assert not invoke(sysctl_profile.main, sysctl).failed  # persists the skip as a comment
    run.warnings.clear()
    assert_converged(run(sysctl=sysctl))
    assert run.warnings == [f"kernel parameter net.ipv4.tcp_tw_recycle skipped: {profile.MISSING}"]
    # strict: the module would refuse it, so it is a difference, named as that module names it
    result = run(sysctl={**sysctl, "strict": True})
    assert_differs(result, "sysctl", ["sysctl: strict: these kernel parameters do not exist here: net.ipv4.tcp_tw_recycle; "
                                      "nothing was changed"])


def test_a_sysctl_profile_the_module_would_refuse_is_a_difference(run, kernel):
    kernel(net__core__somaxconn="1024")
    result = run(sysctl={"parameters": {"net core": 1}, "file": str(kernel.file)})
    assert_differs(result, "sysctl", ["sysctl: parameters: 'net core' is not a kernel parameter name (dotted, like net.core.somaxconn)"])


# Alternatives

@pytest.fixture(name="alt")
def alt_fixture(invoke, tmp_path, monkeypatch):
    admin = ["--altdir", str(tmp_path / "alternatives"), "--admindir", str(tmp_path / "admin")]
    for name in ("alternatives", "admin", "link-bin", "jvm"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(alternatives, "ADMIN_ARGS", admin)

    def jdk(name, commands=("java", "javac")):
        bin_dir = tmp_path / "jvm" / name / "bin"
        bin_dir.mkdir(parents=True)
        for command in commands:
            script(bin_dir / command, f"echo '{command} {name}' >&2\n")
        return str(tmp_path / "jvm" / name)

    def params(select, register=()):
        return {"select": select, "register": list(register), "commands": ["java", "javac"], "link_dir": str(tmp_path / "link-bin")}

    def setup(select, register=()):
        result = invoke(jdk_alternatives.main, params(select, register))
        assert not result.failed and result.result["changed"], result.result

    def state():
        return snapshot(tmp_path / "admin"), snapshot(tmp_path / "alternatives"), snapshot(tmp_path / "link-bin")

    jdk.params, jdk.setup, jdk.state, jdk.tmp = params, setup, state, tmp_path
    return jdk


@needs_update_alternatives
def test_alternatives_differ_before_and_converge_after_jdk_alternatives(run, alt):
    jdk17, jdk21 = alt("jdk-17"), alt("jdk-21")
    link_dir = alt.tmp / "link-bin"
    before = alt.state()
    for check in (False, True):
        assert_differs(run(alternatives=alt.params(jdk17, [jdk21]), check=check), "alternatives", [
            f"update-alternatives --install {link_dir / 'java'} java {jdk21}/bin/java 100",
            f"update-alternatives --install {link_dir / 'javac'} javac {jdk21}/bin/javac 100",
            f"update-alternatives --install {link_dir / 'java'} java {jdk17}/bin/java 100",
            f"update-alternatives --set java {jdk17}/bin/java",
            f"update-alternatives --install {link_dir / 'javac'} javac {jdk17}/bin/javac 100",
            f"update-alternatives --set javac {jdk17}/bin/javac",
        ])
    assert alt.state() == before
    alt.setup(jdk17, [jdk21])
    after = alt.state()
    assert_converged(run(alternatives=alt.params(jdk17, [jdk21])))
    switched = run(alternatives=alt.params(jdk21, [jdk21]))
    assert_differs(switched, "alternatives", [f"update-alternatives --set java {jdk21}/bin/java",
                                              f"update-alternatives --set javac {jdk21}/bin/javac"])
    assert alt.state() == after


@needs_update_alternatives
def test_a_jdk_home_not_unpacked_yet_is_a_difference(run, alt):
    jdk17 = alt("jdk-17")
    alt.setup(jdk17)
    missing = str(alt.tmp / "jvm" / "temurin-25")
    assert_differs(run(alternatives=alt.params(jdk17, [missing])), "alternatives", [f"JDK homes missing: {missing}"])
    assert not os.path.exists(missing)


@needs_update_alternatives
def test_alternatives_the_module_would_refuse_are_a_difference(run, alt):
    alt("jdk-17")
    result = run(alternatives={**alt.params(str(alt.tmp / "jvm" / "jdk-17")), "priority": -1})
    assert_differs(result, "alternatives", ["alternatives: priority: must be 0 or more, got -1"])


# Everything at once

def test_every_kind_is_reported_in_one_call_under_its_own_key(run, dpkg, systemctl, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("old\n")
    dpkg(["haproxy rc "])
    systemctl(show(**{"haproxy.service": ("enabled", "inactive", "loaded")}))
    before = file_state(conf)
    args = {
        "groups": [NO_SUCH_GROUP],
        "files": [text("new\n", conf)],
        "links": [{"dest": str(tmp_path / "current"), "src": "releases/1"}],
        "packages": ["haproxy"],
        "services": [{"name": "haproxy", "active": True}],
        "commands": [{"argv": ["false"]}],
    }
    expected = {
        "users": [f"group {NO_SUCH_GROUP} does not exist"],
        "files": [f"file {conf} differs"],
        "links": [f"link {tmp_path / 'current'} is missing"],
        "packages": ["package haproxy is not installed"],
        "services": ["service haproxy.service is not active (inactive)"],
        "commands": ["command false exited 1, not 0"],
    }
    for check in (False, True):
        result = run(check=check, diff=True, **args)
        assert not result.failed and result.result["changed"] is False and result.result["converged"] is False
        assert result.result["differing"] == expected
        assert result.result["differences"] == [line for lines in expected.values() for line in lines]
        assert "diff" not in result.result
    assert file_state(conf) == before and not os.path.lexists(tmp_path / "current")


# Fixed after review

def test_a_held_package_counts_as_installed(run, dpkg):
    dpkg(["haproxy hi ", "nginx ii ", "curl iF "])  # held and installed; installed; half-configured (not installed)
    assert_differs(run(packages=["haproxy", "nginx", "curl"]), "packages", ["package curl is not installed"])


def test_an_owner_or_group_the_host_does_not_have_yet_is_a_difference(run, tmp_path):
    existing = tmp_path / "app.conf"
    existing.write_text("x\n")
    before = existing.stat()
    result = run(files=[
        {"dest": str(tmp_path), "state": "directory", "group": NO_SUCH_GROUP},
        {"dest": str(existing), "content_base64": "eAo=", "owner": NO_SUCH_USER},
    ])
    assert_differs(result, "files", [
        f"directory {tmp_path} differs (group: no group named {NO_SUCH_GROUP!r} on this host)",
        f"file {existing} differs (owner: no user named {NO_SUCH_USER!r} on this host)",
    ])
    assert existing.stat() == before


def test_a_numeric_primary_group_is_compared_by_id(run):
    me = pwd.getpwuid(os.getuid())
    assert_converged(run(users=[{"name": me.pw_name, "group": str(me.pw_gid)}]))
    assert_differs(run(users=[{"name": me.pw_name, "group": str(me.pw_gid + 4242)}]), "users",
                   [f"user {me.pw_name}'s primary group is not {me.pw_gid + 4242}"])


def test_an_output_that_is_not_a_regular_expression_fails_naming_the_option(run):
    result = run(commands=[{"argv": ["true"]}, {"argv": ["true"], "output": "("}])
    assert result.failed
    assert result.result["msg"].startswith("commands[1].output: not a regular expression"), result.result
    assert "Traceback" not in str(result.result)
