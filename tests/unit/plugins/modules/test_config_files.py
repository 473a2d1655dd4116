# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_files against real files and directories under tmp_path (contents as the action plugin sends them)."""

from __future__ import annotations

import base64
import grp
import hashlib
import os
import pwd
import stat

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import config_files


def text(content, dest, **extra):
    """A state=file entry as the action sends it."""
    data = content.encode() if isinstance(content, str) else content
    return {"dest": str(dest), "content_base64": base64.b64encode(data).decode(), **extra}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(directory):
    """Hidden candidate files left in a directory."""
    return sorted(name for name in os.listdir(directory) if name.startswith("."))


@pytest.fixture(name="run")
def run_fixture(invoke):
    def run(files, check=False, diff=False):
        return invoke(config_files.main, {"files": files}, check=check, diff=diff)

    return run


def test_creates_files_then_a_rerun_changes_nothing(run, tmp_path):
    conf, script = tmp_path / "app.conf", tmp_path / "check.sh"
    files = [text("port = 8080\n", conf, mode="0640"), text("#!/bin/sh\nexit 0\n", script, mode="0755")]
    first = run(files)
    assert not first.failed and first.result["changed"], first.result
    assert conf.read_text() == "port = 8080\n" and mode(conf) == 0o640
    assert script.read_text() == "#!/bin/sh\nexit 0\n" and mode(script) == 0o755
    assert first.result["files"] == [
        {"dest": str(conf), "state": "file", "changed": True, "checksum": hashlib.sha1(b"port = 8080\n").hexdigest()},
        {"dest": str(script), "state": "file", "changed": True, "checksum": hashlib.sha1(b"#!/bin/sh\nexit 0\n").hexdigest()},
    ]
    assert leftovers(tmp_path) == []
    inode = os.stat(conf).st_ino
    second = run(files, diff=True)
    assert not second.failed and not second.result["changed"], second.result
    assert [item["changed"] for item in second.result["files"]] == [False, False]
    assert second.result["diff"] == []
    assert os.stat(conf).st_ino == inode  # not written again


def test_a_content_change_is_shown_as_a_diff_and_keeps_the_files_mode(run, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("port = 8000\nheap = 1g\n")
    conf.chmod(0o600)
    result = run([text("port = 8080\nheap = 1g\n", conf)], diff=True)
    assert not result.failed and result.result["changed"], result.result
    assert conf.read_text() == "port = 8080\nheap = 1g\n"
    assert mode(conf) == 0o600  # no mode given: the live file's is kept
    assert result.result["diff"] == [{"before_header": str(conf), "after_header": str(conf),
                                      "before": "port = 8000\nheap = 1g\n", "after": "port = 8080\nheap = 1g\n"}]


def test_a_new_file_without_mode_gets_the_umask_default(run, tmp_path):
    conf = tmp_path / "new.conf"
    old = os.umask(0o027)
    try:
        assert not run([text("x\n", conf)]).failed
    finally:
        os.umask(old)
    assert mode(conf) == 0o640


def test_a_mode_only_change_converges_without_writing(run, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("port = 8080\n")
    conf.chmod(0o644)
    inode = os.stat(conf).st_ino
    predicted = run([text("port = 8080\n", conf, mode="0600")], check=True, diff=True)
    assert predicted.result["changed"] and mode(conf) == 0o644
    result = run([text("port = 8080\n", conf, mode="0600")], diff=True)
    assert not result.failed and result.result["changed"], result.result
    assert mode(conf) == 0o600 and os.stat(conf).st_ino == inode
    assert result.result["diff"] == predicted.result["diff"] == [
        {"before_header": str(conf), "after_header": str(conf),
         "before": f"path: {conf}\nmode: 0644\n", "after": f"path: {conf}\nmode: 0600\n"}]
    assert not run([text("port = 8080\n", conf, mode="0600")]).result["changed"]


def test_symbolic_modes_and_owner_and_group_by_name(run, tmp_path):
    conf = tmp_path / "app.conf"
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    first = run([text("x\n", conf, mode="u=rw,g=r,o=", owner=user, group=group)])
    assert not first.failed, first.result
    assert mode(conf) == 0o640 and os.stat(conf).st_uid == os.getuid()
    assert not run([text("x\n", conf, mode="u=rw,g=r,o=", owner=user, group=group)]).result["changed"]


def test_check_mode_predicts_everything_and_writes_nothing(run, tmp_path):
    live = tmp_path / "live.conf"
    live.write_text("old\n")
    new_dir = tmp_path / "etc" / "app"
    files = [
        {"dest": str(new_dir), "state": "directory", "mode": "0750"},
        text("inside\n", new_dir / "app.conf", mode="0640", validate="false %s"),
        text("new\n", live),
        {"dest": str(tmp_path / "gone.conf"), "state": "absent"},
    ]
    predicted = run(files, check=True, diff=True)
    assert not predicted.failed and predicted.result["changed"], predicted.result
    assert not (tmp_path / "etc").exists()
    assert live.read_text() == "old\n"
    assert [item["changed"] for item in predicted.result["files"]] == [True, True, True, False]
    assert predicted.result["diff"] == [
        {"before_header": str(new_dir), "after_header": str(new_dir),
         "before": f"path: {new_dir}\nstate: absent\n", "after": f"path: {new_dir}\nstate: directory\n"},
        {"before_header": str(new_dir / "app.conf"), "after_header": str(new_dir / "app.conf"), "before": "", "after": "inside\n"},
        {"before_header": str(live), "after_header": str(live), "before": "old\n", "after": "new\n"},
    ]
    assert leftovers(tmp_path) == []
    applied = run(files[:1] + [text("inside\n", new_dir / "app.conf", mode="0640")] + files[2:], diff=True)
    assert not applied.failed, applied.result
    assert applied.result["diff"] == predicted.result["diff"]
    assert (new_dir / "app.conf").read_text() == "inside\n" and mode(new_dir) == 0o750
    assert mode(tmp_path / "etc") == 0o750  # a parent made on the way gets the attributes too, as with file
    assert not run(files[:1] + files[2:], check=True).result["changed"]


def test_check_mode_counts_a_file_in_a_missing_directory_as_changed(run, tmp_path):
    # On a new host the directory comes from an earlier task (a package install), which check mode did not run.
    missing = tmp_path / "not-installed-yet" / "app.conf"
    predicted = run([text("x\n", missing, validate="false %s")], check=True, diff=True)
    assert not predicted.failed and predicted.result["changed"], predicted.result
    assert predicted.result["diff"] == [{"before_header": str(missing), "after_header": str(missing), "before": "", "after": "x\n"}]
    assert not missing.parent.exists()
    # Outside check mode the same entry fails, before anything is written.
    assert run([text("x\n", missing)]).failed


def test_validate_checks_the_candidate_in_the_destinations_directory_before_it_goes_live(run, tmp_path):
    conf_dir = tmp_path / "conf.d"
    conf_dir.mkdir()
    seen = tmp_path / "seen"
    checker = tmp_path / "checker.sh"
    checker.write_text(f'#!/bin/sh\necho "$1" > {seen}\ngrep -q "^port = " "$1"\n')
    checker.chmod(0o755)
    conf = conf_dir / "app.conf"
    result = run([text("port = 8080\n", conf, mode="0644", validate=f"{checker} %s")])
    assert not result.failed and result.result["changed"], result.result
    candidate = seen.read_text().strip()
    assert os.path.dirname(candidate) == str(conf_dir) and os.path.basename(candidate).startswith(".app.conf.")
    assert conf.read_text() == "port = 8080\n" and mode(conf) == 0o644
    assert leftovers(conf_dir) == []


def test_a_failed_validate_leaves_the_live_file_byte_identical(run, tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_bytes(b"port = 8000\n")
    conf.chmod(0o644)
    before = os.stat(conf)
    result = run([text("prot = 8080\n", conf, mode="0600", validate="sh -c 'echo \"line 1: unknown key prot\" >&2; exit 3' %s")])
    assert result.failed and not result.result["changed"]
    assert result.result["msg"].startswith(f"failed to validate {conf}: line 1: unknown key prot"), result.result
    assert result.result["rc"] == 3
    assert conf.read_bytes() == b"port = 8000\n"
    after = os.stat(conf)
    assert (after.st_ino, after.st_mtime_ns, mode(conf)) == (before.st_ino, before.st_mtime_ns, 0o644)
    assert leftovers(tmp_path) == []


def test_stops_at_the_first_failure_and_keeps_what_was_done(run, tmp_path):
    first, last = tmp_path / "first.conf", tmp_path / "last.conf"
    missing = tmp_path / "no-such-dir" / "app.conf"
    result = run([text("1\n", first), text("2\n", missing), text("3\n", last)])
    assert result.failed and result.result["changed"]
    message = result.result["msg"]
    assert f"Failed to write {missing}: its directory {tmp_path / 'no-such-dir'} does not exist" in message
    assert f"files[1]; changed before it: {first}" in message
    assert first.read_text() == "1\n" and not last.exists()
    assert result.result["files"] == [{"dest": str(first), "state": "file", "changed": True, "checksum": hashlib.sha1(b"1\n").hexdigest()}]


def test_a_failed_validate_after_other_changes_names_them(run, tmp_path):
    first, second = tmp_path / "first.conf", tmp_path / "second.conf"
    result = run([text("1\n", first), text("2\n", second, validate="false %s")])
    assert result.failed and result.result["changed"]
    assert result.result["msg"] == f"failed to validate {second}: exit status 1 (files[1]; changed before it: {first})"
    assert first.exists() and not second.exists() and leftovers(tmp_path) == []


def test_absent_removes_files_links_and_empty_directories_but_not_full_ones(run, tmp_path):
    victim, link, empty, full = tmp_path / "old.conf", tmp_path / "link", tmp_path / "empty", tmp_path / "full"
    victim.write_text("x")
    link.symlink_to(tmp_path / "nowhere")
    empty.mkdir()
    full.mkdir()
    (full / "keep").write_text("x")
    entries = [{"dest": str(path), "state": "absent"} for path in (victim, link, empty, tmp_path / "never")]
    predicted = run(entries, check=True)
    assert [item["changed"] for item in predicted.result["files"]] == [True, True, True, False]
    assert victim.exists() and link.is_symlink() and empty.exists()
    result = run(entries, diff=True)
    assert [item["changed"] for item in result.result["files"]] == [True, True, True, False]
    assert not victim.exists() and not link.is_symlink() and not empty.exists()
    assert result.result["diff"][0] == {"before_header": str(victim), "after_header": str(victim),
                                        "before": f"path: {victim}\nstate: file\n", "after": f"path: {victim}\nstate: absent\n"}
    assert not run(entries).result["changed"]
    refused = run([{"dest": str(full), "state": "absent"}])
    assert refused.failed and "is a directory that is not empty" in refused.result["msg"]
    assert (full / "keep").exists()


def test_directory_makes_parents_converges_mode_and_refuses_a_file_in_the_way(run, tmp_path):
    deep = tmp_path / "a" / "b"
    first = run([{"dest": str(deep), "state": "directory", "mode": "0700"}])
    assert not first.failed and first.result["changed"] and deep.is_dir()
    assert mode(tmp_path / "a") == 0o700 and mode(deep) == 0o700
    assert not run([{"dest": str(deep), "state": "directory", "mode": "0700"}]).result["changed"]
    changed = run([{"dest": str(deep), "state": "directory", "mode": "0755"}], diff=True)
    assert changed.result["changed"] and mode(deep) == 0o755
    assert changed.result["diff"][0]["after"] == f"path: {deep}\nmode: 0755\n"
    (tmp_path / "plain").write_text("x")
    blocked = run([{"dest": str(tmp_path / "plain"), "state": "directory"}])
    assert blocked.failed and "is not a directory" in blocked.result["msg"]


def test_a_directory_in_the_way_of_a_file_fails(run, tmp_path):
    (tmp_path / "app.conf").mkdir()
    result = run([text("x", tmp_path / "app.conf")])
    assert result.failed and result.result["msg"].startswith(f"Failed to write {tmp_path / 'app.conf'}: it is a directory")


def test_a_symlink_at_dest_is_replaced_by_the_file(run, tmp_path):
    target, link = tmp_path / "target", tmp_path / "app.conf"
    target.write_text("target\n")
    link.symlink_to(target)
    result = run([text("own\n", link)], diff=True)
    assert result.result["changed"] and not link.is_symlink() and link.read_text() == "own\n"
    assert target.read_text() == "target\n"
    assert result.result["diff"][0]["before"] == f"[symbolic link to {target}]\n"


def test_binary_and_large_contents_show_a_placeholder_in_the_diff(run, tmp_path):
    binary = bytes(range(256))
    large = b"x" * 200_000
    result = run([text(binary, tmp_path / "keystore.p12"), text(large, tmp_path / "big.txt")], diff=True)
    assert not result.failed, result.result
    assert (tmp_path / "keystore.p12").read_bytes() == binary and (tmp_path / "big.txt").read_bytes() == large
    after = [diff["after"] for diff in result.result["diff"]]
    assert after == [f"[binary content of 256 bytes, sha1 {hashlib.sha1(binary).hexdigest()}]\n",
                     f"[content of 200000 bytes, over 104448, sha1 {hashlib.sha1(large).hexdigest()}]\n"]


@pytest.mark.parametrize("entry, message", [
    ({"dest": "etc/app.conf", "content_base64": "eAo="}, "files[1] (dest etc/app.conf): dest must be an absolute path"),
    ({"dest": "/tmp/x.conf"}, "files[1] (dest /tmp/x.conf): state=file needs content (from template, src or content)"),
    ({"dest": "/tmp/x.conf", "content_base64": "eAo=", "validate": "true"}, "files[1] (dest /tmp/x.conf): validate must contain %s"),
    ({"dest": "/tmp/x.conf", "content_base64": "eAo=", "validate": "check %d %s"}, "files[1] (dest /tmp/x.conf): validate must contain %s"),
    ({"dest": "/tmp/x.d", "state": "directory", "validate": "true %s"}, "files[1] (dest /tmp/x.d): validate only applies to state=file"),
    ({"dest": "/tmp/x.conf", "content_base64": "not base64!"}, "files[1] (dest /tmp/x.conf): content_base64 is not base64"),
    ({"dest": "/tmp/x.conf", "template": "x.j2"}, "files[1] (dest /tmp/x.conf): template must be resolved by the action plugin"),
    ({"dest": "/tmp/x.conf", "content_base64": "eAo=", "owner": "no-such-user-here"},
     "files[1] (dest /tmp/x.conf): owner: no user named 'no-such-user-here' on this host"),
])
def test_bad_input_fails_before_anything_is_touched(run, tmp_path, entry, message):
    first = tmp_path / "first.conf"
    result = run([text("1\n", first), entry])
    assert result.failed and result.result["msg"].startswith(message), result.result
    assert not first.exists()


def test_an_unknown_key_is_refused_by_the_argument_spec(run, tmp_path):
    result = run([{"dest": str(tmp_path / "x"), "content_base64": "eAo=", "backup": True}])
    assert result.failed and "backup" in result.result["msg"]
