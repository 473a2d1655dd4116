# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module as Ansible runs it: argument spec, check and diff mode flags, exit_json / fail_json."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.jvmops.deploy.plugins.modules import xitrum_package


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def exit_json(_self, **kwargs):
    raise ExitJson(kwargs)


def fail_json(_self, msg, **kwargs):
    kwargs["msg"] = msg
    raise FailJson(kwargs)


@pytest.fixture(autouse=True)
def fixture_capture(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


@pytest.fixture(name="proj")
def fixture_proj(tmp_path):
    root = tmp_path / "app"
    for rel, data in (("target/app.jar", b"app"), ("lib_managed/dep.jar", b"dep"),
                      ("config/xitrum.conf", b"conf"), ("public/index.html", b"<html/>")):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def call(args, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises((ExitJson, FailJson)) as caught:
            xitrum_package.main()
    kind = "exit" if caught.type is ExitJson else "fail"
    return kind, caught.value.args[0]


def base(proj, **kw):
    args = {"project_dir": str(proj), "main_jar": "target/app.jar", "main_class": "quickstart.Boot",
            "jars": ["lib_managed/*.jar"]}
    args.update(kw)
    return args


def test_check_run_repeat_check(proj):
    dest = proj / "target" / "xitrum"
    kind, checked = call(base(proj), check=True)
    assert kind == "exit" and checked["changed"] is True and not dest.exists()
    kind, first = call(base(proj))
    assert kind == "exit" and first["changed"] is True
    assert first["added"] == checked["added"] and first["package_checksum"] == checked["package_checksum"]
    assert sorted(os.listdir(dest / "lib")) == ["app.jar", "dep.jar"]
    kind, second = call(base(proj))
    assert kind == "exit" and second["changed"] is False and second["added"] == []
    kind, again = call(base(proj), check=True)
    assert kind == "exit" and again["changed"] is False


def test_defaults_and_return_keys(proj):
    _kind, result = call(base(proj))
    assert result["dest"] == str(proj / "target" / "xitrum")
    assert result["files"] == 6
    assert set(result) >= {"changed", "dest", "files", "added", "changed_files", "removed", "archive",
                           "archive_checksum", "package_checksum", "not_copied"}
    assert "diff" not in result
    runner = (proj / "target" / "xitrum" / "script" / "runner").read_text()
    assert runner.rstrip().endswith("exec \"$JAVA\" $JAVA_OPTS -cp 'lib/*:config' 'quickstart.Boot' \"$@\"")


def test_diff_mode_returns_prepared_listing(proj):
    _kind, result = call(base(proj), diff=True)
    prepared = result["diff"]["prepared"]
    assert "+ lib/app.jar\n" in prepared and "+ script/runner\n" in prepared
    (proj / "public" / "index.html").unlink()
    _kind, result = call(base(proj), diff=True, check=True)
    assert result["diff"]["prepared"].startswith("- public/index.html\n")


def test_archive_options(proj):
    kind, result = call(base(proj, archive="target/app.tar.gz", archive_prefix="app-1.0"))
    assert kind == "exit" and result["archive"] == str(proj / "target" / "app.tar.gz")
    assert len(result["archive_checksum"]) == 64
    kind, again = call(base(proj, archive="target/app.tar.gz", archive_prefix="app-1.0"))
    assert again["changed"] is False and again["archive_checksum"] == result["archive_checksum"]


def test_user_mistake_is_a_clean_failure(proj):
    kind, result = call(base(proj, main_jar="target/missing.jar"))
    assert kind == "fail"
    assert result["msg"].startswith("main_jar 'target/missing.jar' does not exist")
    assert not (proj / "target" / "xitrum").exists()


def test_bad_main_class_fails(proj):
    kind, result = call(base(proj, main_class="not a class"))
    assert kind == "fail" and "main_class 'not a class' is not a valid Java class name" in result["msg"]


def test_archive_prefix_requires_archive(proj):
    kind, result = call(base(proj, archive_prefix="x"))
    assert kind == "fail" and "archive_prefix" in result["msg"] and "archive" in result["msg"]


def test_required_options(proj):
    kind, result = call({"project_dir": str(proj)})
    assert kind == "fail" and "main_class" in result["msg"] and "main_jar" in result["msg"]
