# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import errno
import os

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.jvmops.deploy.plugins.module_utils import _sysctl_profile as profile
from ansible_collections.jvmops.deploy.plugins.modules import sysctl_profile


@pytest.fixture(name="run")
def run_fixture(invoke, tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    monkeypatch.setattr(profile, "PROC_ROOT", str(proc))

    def run(parameters, check=False, diff=False, **extra):
        args = {"parameters": parameters, "file": str(tmp_path / "60-test.conf"), **extra}
        return invoke(sysctl_profile.main, args, check=check, diff=diff)

    def kernel(**values):
        for key, value in values.items():
            path = proc.joinpath(*key.split("__"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{value}\n")

    run.kernel = kernel
    run.warnings = invoke.warnings
    run.proc = proc
    run.file = tmp_path / "60-test.conf"
    return run


def refuse_invalid(path, value):
    raise OSError(errno.EINVAL, "Invalid argument", path, value)


def read(run, key):
    return run.proc.joinpath(*key.split(".")).read_text().strip()


def test_applies_persists_and_converges(run):
    run.kernel(net__core__somaxconn="128", net__ipv4__tcp_rmem="4096\t131072\t6291456")
    wanted = {"net.core.somaxconn": 1024, "net.ipv4.tcp_rmem": "4096 87380 16777216"}
    first = run(wanted)
    assert not first.failed and first.result["changed"]
    assert first.result["applied"] == {"net.core.somaxconn": "1024", "net.ipv4.tcp_rmem": "4096 87380 16777216"}
    assert read(run, "net.core.somaxconn") == "1024"
    assert "net.core.somaxconn = 1024" in run.file.read_text()
    second = run(wanted)
    assert not second.result["changed"]
    assert second.result["unchanged"] == ["net.core.somaxconn", "net.ipv4.tcp_rmem"]


def test_whitespace_in_multi_field_values_does_not_count_as_change(run):
    run.kernel(net__ipv4__tcp_wmem="4096\t65536\t16777216")
    result = run({"net.ipv4.tcp_wmem": "4096  65536 16777216"}).result
    assert result["applied"] == {}
    assert result["unchanged"] == ["net.ipv4.tcp_wmem"]


def test_check_mode_changes_nothing_and_predicts(run):
    run.kernel(net__core__somaxconn="128")
    result = run({"net.core.somaxconn": 1024}, check=True, diff=True).result
    assert result["changed"] and result["applied"] == {"net.core.somaxconn": "1024"}
    assert read(run, "net.core.somaxconn") == "128"
    assert not run.file.exists()
    assert "net.core.somaxconn = 128" in result["diff"][1]["before"]
    assert "net.core.somaxconn = 1024" in result["diff"][1]["after"]


def test_missing_parameter_is_skipped_with_a_warning_and_kept_as_comment(run):
    run.kernel(net__core__somaxconn="1024")
    result = run({"net.core.somaxconn": 1024, "net.ipv4.tcp_tw_recycle": 1}).result
    assert result["skipped_parameters"] == {"net.ipv4.tcp_tw_recycle": "not on this kernel or in this network namespace"}
    assert "# net.ipv4.tcp_tw_recycle = 1  (skipped: not on this kernel" in run.file.read_text()
    assert any("net.ipv4.tcp_tw_recycle" in text for text in run.warnings), run.warnings
    assert result["changed"]  # the file was written
    assert not run({"net.core.somaxconn": 1024, "net.ipv4.tcp_tw_recycle": 1}).result["changed"]


def test_refused_value_is_skipped(run, monkeypatch):
    run.kernel(net__core__rmem_max="4194304")

    def refuse(path, value):
        raise OSError(errno.EINVAL, "Invalid argument", path)

    monkeypatch.setattr(profile, "write_value", refuse)
    result = run({"net.core.rmem_max": 16777216}).result
    assert "Invalid argument" in result["skipped_parameters"]["net.core.rmem_max"]
    assert result["live_values"]["net.core.rmem_max"] == "4194304"
    assert result["applied"] == {}


def test_strict_fails_before_changing_anything_when_a_parameter_is_missing(run):
    run.kernel(net__core__somaxconn="128")
    out = run({"net.core.somaxconn": 1024, "net.ipv4.tcp_mem": "1 2 3"}, strict=True)
    assert out.failed
    assert "net.ipv4.tcp_mem" in out.result["msg"] and "nothing was changed" in out.result["msg"]
    assert read(run, "net.core.somaxconn") == "128"
    assert not run.file.exists()


def test_strict_fails_when_the_kernel_refuses(run, monkeypatch):
    run.kernel(net__core__rmem_max="4194304")
    monkeypatch.setattr(profile, "write_value", refuse_invalid)
    out = run({"net.core.rmem_max": 16777216}, strict=True)
    assert out.failed and "net.core.rmem_max" in out.result["msg"]
    assert not run.file.exists()


@pytest.mark.parametrize("params, message", [
    ({"net core": 1}, "is not a kernel parameter name"),
    ({"../etc/passwd": 1}, "is not a kernel parameter name"),
    ({"net.core.somaxconn": None}, "needs a scalar value"),
    ({"net.core.somaxconn": [1, 2]}, "needs a scalar value"),
    ({}, "at least one kernel parameter"),
])
def test_bad_input_is_refused(run, params, message):
    out = run(params)
    assert out.failed and message in out.result["msg"]
    assert out.result["msg"].startswith("parameters:")


def test_check_mode_predicts_a_recorded_refusal_as_no_change(run, monkeypatch):
    run.kernel(net__core__rmem_max="4194304")
    real_write = profile.write_value
    monkeypatch.setattr(profile, "write_value", refuse_invalid)
    assert run({"net.core.rmem_max": 16777216}).result["changed"]  # first run writes the file
    monkeypatch.setattr(profile, "write_value", real_write)
    check = run({"net.core.rmem_max": 16777216}, check=True).result
    assert not check["changed"], check
    assert "Invalid argument" in check["skipped_parameters"]["net.core.rmem_max"]
    # A different wanted value is a different request: predicted as a change.
    assert run({"net.core.rmem_max": 8388608}, check=True).result["changed"]


def test_missing_file_directory_is_refused_before_any_live_change(run, tmp_path):
    run.kernel(net__core__somaxconn="128")
    out = run({"net.core.somaxconn": 1024}, file=str(tmp_path / "nowhere" / "60.conf"))
    assert out.failed and out.result["msg"].startswith("file: directory")
    assert read(run, "net.core.somaxconn") == "128"


def test_a_file_left_at_the_old_fixed_temporary_name_is_not_used(run, tmp_path):
    # Earlier versions wrote through "<file>.jvmops-tmp"; one left there (here a link to another file)
    # must be neither written through nor moved into place.
    victim = tmp_path / "victim"
    victim.write_text("not yours\n")
    stale = tmp_path / "60-test.conf.jvmops-tmp"
    stale.symlink_to(victim)
    run.kernel(net__core__somaxconn="128")
    out = run({"net.core.somaxconn": 1024})
    assert not out.failed and out.result["changed"], out.result
    assert victim.read_text() == "not yours\n" and stale.is_symlink()
    assert "net.core.somaxconn = 1024" in run.file.read_text() and not run.file.is_symlink()
    assert oct(run.file.stat().st_mode & 0o777) == "0o644"


def test_two_writers_of_the_same_file_do_not_collide(run, tmp_path, monkeypatch):
    # A second run writes the file while the first is between writing its temporary file and moving it.
    run.kernel(net__core__somaxconn="128", net__core__rmem_max="4194304")
    real_move = AnsibleModule.atomic_move
    second = []

    def move(self, src, dest, *args, **kwargs):
        if not second:
            second.append(None)
            second[0] = run({"net.core.rmem_max": 8388608})
            assert "net.core.rmem_max = 8388608" in run.file.read_text()
        return real_move(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(AnsibleModule, "atomic_move", move)
    first = run({"net.core.somaxconn": 1024})
    assert not second[0].failed and not first.failed, (second[0].result, first.result)
    assert run.file.read_text() == profile.render_file({"net.core.somaxconn": "1024"}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["60-test.conf", "proc"], "no temporary file is left"


def test_the_temporary_file_is_removed_when_the_move_fails(run, tmp_path, monkeypatch):
    def refuse(self, src, dest, *args, **kwargs):
        self.fail_json(msg=f"Could not replace file: {src} to {dest}: [Errno 18] Invalid cross-device link")

    monkeypatch.setattr(AnsibleModule, "atomic_move", refuse)
    run.kernel(net__core__somaxconn="128")
    assert run({"net.core.somaxconn": 1024}).failed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proc"], "neither the file nor a temporary file"


def assert_refused_before_any_change(run, out, *words):
    assert out.failed, out.result
    for word in words:
        assert word in out.result["msg"], out.result["msg"]
    assert "nothing was changed" in out.result["msg"]
    assert "exception" not in out.result and "Traceback" not in out.result["msg"]
    assert read(run, "net.core.somaxconn") == "128", "no live value was changed"


@pytest.mark.parametrize("check", [False, True])
@pytest.mark.parametrize("key, kind, rule", [
    ("net.core", "directory", "names a group of kernel parameters"),
    ("net", "directory", "names a group of kernel parameters"),
    ("vm.compact_memory", "write-only", "is write-only"),
    ("vm.drop_caches", "write-only", "is write-only"),
    ("net.core.fifo", "fifo", "is not a kernel parameter"),
])
def test_an_entry_that_is_not_a_settable_parameter_is_refused_before_any_change(run, check, key, kind, rule):
    run.kernel(net__core__somaxconn="128", vm__compact_memory="", vm__drop_caches="")
    for name in ("compact_memory", "drop_caches"):
        (run.proc / "vm" / name).chmod(0o200)
    os.mkfifo(run.proc / "net" / "core" / "fifo")
    for strict in (False, True):
        out = run({"net.core.somaxconn": 1024, key: 1}, check=check, strict=strict)
        assert_refused_before_any_change(run, out, f"parameters: '{key}' {rule}")
        assert not run.file.exists()


def test_every_entry_problem_is_named_in_one_message(run):
    run.kernel(net__core__somaxconn="128", vm__compact_memory="")
    (run.proc / "vm" / "compact_memory").chmod(0o200)
    out = run({"net.core.somaxconn": 1024, "net.core": 1, "vm.compact_memory": 1})
    assert_refused_before_any_change(run, out, "'net.core' names a group", "'vm.compact_memory' is write-only")


def unreadable(monkeypatch, key):
    real = profile.read_value

    def read_value(path):
        if path == profile.proc_path(key):
            raise OSError(errno.EACCES, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(profile, "read_value", read_value)


def test_a_parameter_that_cannot_be_read_is_skipped_with_the_reason(run, monkeypatch):
    run.kernel(net__core__somaxconn="128", net__core__rmem_max="4194304")
    unreadable(monkeypatch, "net.core.rmem_max")
    result = run({"net.core.somaxconn": 1024, "net.core.rmem_max": 1}).result
    assert result["skipped_parameters"] == {"net.core.rmem_max": "cannot be read here: " + profile.REASONS[errno.EACCES]}
    assert result["applied"] == {"net.core.somaxconn": "1024"}
    assert "# net.core.rmem_max = 1  (skipped: cannot be read here" in run.file.read_text()


def test_strict_refuses_a_parameter_that_cannot_be_read_before_any_change(run, monkeypatch):
    run.kernel(net__core__somaxconn="128", net__core__rmem_max="4194304")
    unreadable(monkeypatch, "net.core.rmem_max")
    out = run({"net.core.somaxconn": 1024, "net.core.rmem_max": 1}, strict=True)
    assert_refused_before_any_change(run, out, "strict: net.core.rmem_max: cannot be read here")
    assert not run.file.exists()


@pytest.mark.parametrize("check", [False, True])
@pytest.mark.parametrize("make, rule", [
    (lambda path: path.mkdir(), "is a directory"),
    (lambda path: (path.parent / "dir").mkdir() or path.symlink_to(path.parent / "dir"), "is a directory"),
    (os.mkfifo, "is not a regular file"),
    (lambda path: path.write_bytes(b"net.core.somaxconn = 1024 \xff\xfe\n"), "is not UTF-8 text (byte 0xff at offset 26)"),
    (lambda path: path.write_bytes(b"\xe9t\xe9\n"), "is not UTF-8 text (byte 0xe9 at offset 0)"),
])
def test_a_profile_file_that_is_not_a_utf8_file_is_refused_before_any_change(run, check, make, rule):
    run.kernel(net__core__somaxconn="128")
    make(run.file)
    kind = os.lstat(run.file).st_mode
    out = run({"net.core.somaxconn": 1024}, check=check)
    assert_refused_before_any_change(run, out, f"file: {run.file} {rule}")
    assert os.lstat(run.file).st_mode == kind


def test_a_dangling_link_as_profile_file_is_replaced_as_before(run, tmp_path):
    run.kernel(net__core__somaxconn="128")
    run.file.symlink_to(tmp_path / "gone")
    out = run({"net.core.somaxconn": 1024})
    assert not out.failed and "net.core.somaxconn = 1024" in run.file.read_text()


# ---------------------------------------------------------------------------------------------
# Floors: the guide's "1024 or more" never lowers what a host has


def test_a_floor_raises_a_lower_value_and_keeps_a_higher_one_live_and_in_the_file(run):
    run.kernel(net__core__somaxconn="4096", net__ipv4__tcp_max_syn_backlog="512",
               net__ipv4__tcp_rmem="4096 131072 6291456")
    wanted = {"net.core.somaxconn": 1024, "net.ipv4.tcp_max_syn_backlog": 2048,
              "net.ipv4.tcp_rmem": "4096 87380 16777216"}
    floors = ["net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_rmem"]
    checked = run(wanted, check=True, floors=floors).result
    assert checked["applied"] == {"net.ipv4.tcp_max_syn_backlog": "2048", "net.ipv4.tcp_rmem": "4096 131072 16777216"}
    assert read(run, "net.ipv4.tcp_max_syn_backlog") == "512" and not run.file.exists()
    first = run(wanted, floors=floors).result
    assert first["changed"] and first["applied"] == checked["applied"]
    assert first["kept"] == {"net.core.somaxconn": "4096", "net.ipv4.tcp_rmem": "4096 131072 16777216"}
    assert read(run, "net.core.somaxconn") == "4096" and read(run, "net.ipv4.tcp_max_syn_backlog") == "2048"
    text = run.file.read_text()
    # What is persisted is the value kept, so that a reboot does not lower it either; a comment says why.
    assert "net.core.somaxconn = 4096" in text and "net.ipv4.tcp_rmem = 4096 131072 16777216" in text
    assert "# net.core.somaxconn: the floor is 1024; this host had more, which is kept" in text
    again = run(wanted, floors=floors).result
    assert not again["changed"] and again["applied"] == {}
    assert not run(wanted, check=True, floors=floors).result["changed"]


def test_without_floors_a_value_is_set_as_given_even_when_lower(run):
    run.kernel(net__core__somaxconn="4096")
    result = run({"net.core.somaxconn": 1024}).result
    assert result["applied"] == {"net.core.somaxconn": "1024"} and result["kept"] == {}
    assert read(run, "net.core.somaxconn") == "1024"


@pytest.mark.parametrize("params, floors, message", [
    ({"net.core.somaxconn": 1024}, ["net.core.rmem_max"], "floors: net.core.rmem_max not in parameters"),
    ({"net.ipv4.ip_local_port_range": "a b"}, ["net.ipv4.ip_local_port_range"],
     "floors: a floor must be whole numbers separated by spaces, got net.ipv4.ip_local_port_range = a b"),
    ({"net.ipv4.ip_local_reserved_ports": "8000;4430"}, [], "a port list is ports and ranges separated by commas"),
])
def test_bad_floors_and_port_lists_are_refused_before_any_change(run, params, floors, message):
    run.kernel(net__core__somaxconn="128")
    out = run(params, floors=floors)
    assert out.failed and message in out.result["msg"] and "nothing was changed" in out.result["msg"]
    assert read(run, "net.core.somaxconn") == "128" and not run.file.exists()


def test_reserved_ports_compare_as_a_set_as_the_kernel_reads_them_back(run, monkeypatch):
    run.kernel(net__ipv4__ip_local_reserved_ports="")
    real_write = profile.write_value

    def kernel_write(path, value):  # the kernel sorts the ports and merges runs into ranges
        if path.endswith("ip_local_reserved_ports"):
            found = sorted(profile.ports(value))
            value = ",".join(str(port) for port in found).replace("8000,8001", "8000-8001")
        real_write(path, value)

    monkeypatch.setattr(profile, "write_value", kernel_write)
    wanted = {"net.ipv4.ip_local_reserved_ports": "8001,4430,8000"}
    first = run(wanted).result
    assert first["changed"] and first["skipped_parameters"] == {}
    assert read(run, "net.ipv4.ip_local_reserved_ports") == "4430,8000-8001"
    assert "net.ipv4.ip_local_reserved_ports = 8001,4430,8000" in run.file.read_text()
    second = run(wanted).result
    assert not second["changed"] and second["unchanged"] == ["net.ipv4.ip_local_reserved_ports"]
