# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring plan: selection, the check -> module mapping, defaults, and the checks' validation on the controller."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ansible.errors import AnsibleFilterError
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.collection_loader import AnsibleCollectionConfig
from ansible_collections.jvmops.deploy.plugins.filter import monitor_plan as plan_module
from ansible_collections.jvmops.deploy.plugins.filter.monitor_plan import FilterModule, module_spec, monitor_plan

PASSWORD = "hunter2-Secret"
CHECKS = [
    {"name": "disk", "type": "disk", "description": "Use% of every file system", "critical": "90%", "mute_for": "1h"},
    {"name": "app", "type": "process", "subject": "hello-jvm", "pattern": "jvmops[.]hello"},
    {"name": "mysql", "type": "mysql", "login_user": "monitor", "login_password": PASSWORD},
    {"name": "top", "count": 5},
]


def _collection_modules():
    return {name: module for name, module in sys.modules.items()
            if name == "ansible_collections" or name.startswith("ansible_collections.")}


@pytest.fixture(scope="module", autouse=True)
def collection_loader():
    """The collection loader, set up as ansible-playbook sets it up: the filter reads its modules' documentation
    through it. Left alone when it is there already (ansible-test units). The collection's packages imported
    before (as plain packages, without the loader's metadata) are put aside meanwhile and back afterwards."""
    if AnsibleCollectionConfig.collection_finder is not None:
        yield
        return
    root = Path(plan_module.__file__).resolve().parents[4]  # .../ansible_collections/jvmops/deploy/plugins/filter
    assert root.name == "ansible_collections"
    saved = _collection_modules()
    for name in saved:
        del sys.modules[name]
    init_plugin_loader([str(root.parent)])
    try:
        yield
    finally:
        AnsibleCollectionConfig.collection_finder._remove()  # pylint: disable=protected-access
        for name in _collection_modules():
            del sys.modules[name]
        sys.modules.update(saved)


def fails(checks, *texts, **kwargs):
    """The message of the filter's error; each of texts is in it, and the password never."""
    with pytest.raises(AnsibleFilterError) as caught:
        monitor_plan(checks, **kwargs)
    message = str(caught.value)
    for text in texts:
        assert text in message
    assert PASSWORD not in message
    assert "Traceback" not in message
    return message


def names(plan):
    return {host: [check["name"] for check in checks] for host, checks in plan.items()}


# The plan

def test_the_brief_example_gives_each_check_its_module_and_options():
    plan = monitor_plan({"app1": CHECKS})
    assert plan == {"app1": [
        {"name": "disk", "type": "disk", "module": "disk_alert", "description": "Use% of every file system",
         "options": {"critical": "90%", "mute_for": "1h"}},
        {"name": "app", "type": "process", "module": "process_check", "description": "Number of processes running",
         "options": {"name": "hello-jvm", "pattern": "jvmops[.]hello"}},
        {"name": "mysql", "type": "mysql", "module": "service_check", "description": "MySQL/MariaDB login and SELECT 1",
         "options": {"login_user": "monitor", "login_password": PASSWORD, "type": "mysql"}},
        {"name": "top", "type": "top", "module": "top_processes",
         "description": "Processes using the most CPU or memory", "options": {"count": 5}},
    ]}


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"monitor_plan": monitor_plan}


@pytest.mark.parametrize("kind, module", [("tcp", "service_check"), ("http", "service_check")])
def test_service_types_set_the_modules_type(kind, module):
    extra = {"port": 8000} if kind == "tcp" else {"url": "http://127.0.0.1:8000/health"}
    check = monitor_plan({"a": [{"name": "svc", "type": kind, "subject": "Xitrum", **extra}]})["a"][0]
    assert check["module"] == module
    assert check["options"] == {"name": "Xitrum", "type": kind, **extra}


def test_options_are_returned_as_given_not_with_the_defaults():
    thresholds = [{"mount": "/data", "critical": "5G"}]
    check = monitor_plan({"a": [{"name": "disk", "warning": "80%", "thresholds": thresholds}]})["a"][0]
    assert check["options"] == {"warning": "80%", "thresholds": [{"mount": "/data", "critical": "5G"}]}
    check = monitor_plan({"a": [{"name": "top", "count": "5", "interval": 2}]})["a"][0]
    assert check["options"] == {"count": "5", "interval": 2}  # the module converts them as the filter checked them


def test_null_options_count_as_not_given():
    check = monitor_plan({"a": [{"name": "app", "type": "process", "pattern": "x", "max": None, "subject": None}]})
    assert check["a"][0]["options"] == {"pattern": "x"}


def test_a_description_is_kept():
    assert monitor_plan({"a": [{"name": "disk", "description": "Disks"}]})["a"][0]["description"] == "Disks"


class _OmitType:  # the class of Ansible's omit, as the filter recognises it
    pass


@pytest.mark.parametrize("value", [None, _OmitType(), "__omit_place_holder__1234abcd"])
def test_a_host_without_checks_gets_the_disk_check(value):
    assert monitor_plan({"a": value, "b": []}) == {
        "a": [{"name": "disk", "type": "disk", "module": "disk_alert",
               "description": "Use% and inode use of the mounted file systems", "options": {}}],
        "b": [],
    }


def test_host_order_and_check_order_are_kept():
    plan = monitor_plan({"z": CHECKS, "a": list(reversed(CHECKS))})
    assert list(plan) == ["z", "a"]
    assert names(plan) == {"z": ["disk", "app", "mysql", "top"], "a": ["top", "mysql", "app", "disk"]}


# Defaults

def test_mute_for_and_state_file_go_to_the_checks_that_have_them_and_do_not_set_them():
    plan = monitor_plan({"a": CHECKS}, mute_for="30m", state_file="/srv/alerts.json")["a"]
    assert plan[0]["options"] == {"critical": "90%", "mute_for": "1h", "state_file": "/srv/alerts.json"}
    assert plan[1]["options"] == {"name": "hello-jvm", "pattern": "jvmops[.]hello", "mute_for": "30m",
                                  "state_file": "/srv/alerts.json"}
    assert plan[2]["options"]["mute_for"] == "30m"
    assert plan[3]["options"] == {"count": 5}  # top_processes keeps no alert state


def test_no_defaults_when_none_given():
    plan = monitor_plan({"a": [{"name": "app", "type": "process", "pattern": "x"}]}, mute_for=None, state_file=None)
    assert plan["a"][0]["options"] == {"pattern": "x"}


@pytest.mark.parametrize("mute_for, text", [
    ("-5m", "monitor_mute_for: '-5m' must be a duration like 90s, 30m, 1h or 2d, not negative"),
    ("soon", "monitor_mute_for: 'soon' must be a duration"),
])
def test_a_bad_default_mute_for_fails(mute_for, text):
    fails({"a": CHECKS}, text, mute_for=mute_for)


@pytest.mark.parametrize("state_file", [["/x"], 3])
def test_a_bad_default_state_file_fails(state_file):
    fails({"a": CHECKS}, "monitor_state_file: must be the path of a file", state_file=state_file)


def test_empty_defaults_are_not_set():
    """ansible-core before 2.19 turns a none passed through a variable into an empty string."""
    plain = monitor_plan({"a": CHECKS})
    assert monitor_plan({"a": CHECKS}, mute_for="", state_file="  ") == plain


# Selection

HOSTS = {
    "app1": CHECKS,
    "db1": [{"name": "disk"}, {"name": "mysql", "login_user": "monitor", "login_password": PASSWORD},
            {"name": "data", "type": "disk", "mounts": ["/data"]}],
}


@pytest.mark.parametrize("only, expected", [
    ([], {"app1": ["disk", "app", "mysql", "top"], "db1": ["disk", "mysql", "data"]}),
    (None, {"app1": ["disk", "app", "mysql", "top"], "db1": ["disk", "mysql", "data"]}),
    (["disk"], {"app1": ["disk"], "db1": ["disk"]}),
    ("app, data", {"app1": ["app"], "db1": ["data"]}),
    ("", {"app1": ["disk", "app", "mysql", "top"], "db1": ["disk", "mysql", "data"]}),
    (["process"], {"app1": [], "db1": []}),  # a type: known, but only chooses by name
])
def test_only_chooses_by_name(only, expected):
    assert names(monitor_plan(HOSTS, only=only)) == expected


@pytest.mark.parametrize("tags, expected", [
    (["all"], {"app1": ["disk", "app", "mysql", "top"], "db1": ["disk", "mysql", "data"]}),
    (None, {"app1": ["disk", "app", "mysql", "top"], "db1": ["disk", "mysql", "data"]}),
    (["disk"], {"app1": ["disk"], "db1": ["disk", "data"]}),  # name of some, type of data
    (["app", "mysql"], {"app1": ["app", "mysql"], "db1": ["mysql"]}),
    (["process"], {"app1": ["app"], "db1": []}),
    (["always"], {"app1": [], "db1": []}),
    (["tagged", "top"], {"app1": ["top"], "db1": []}),
])
def test_tags_choose_by_name_or_type(tags, expected):
    assert names(monitor_plan(HOSTS, tags=tags)) == expected


@pytest.mark.parametrize("skip_tags, expected", [
    (["disk"], {"app1": ["app", "mysql", "top"], "db1": ["mysql"]}),
    (["data", "top"], {"app1": ["disk", "app", "mysql"], "db1": ["disk", "mysql"]}),
    (["process", "nothing-like-it"], {"app1": ["disk", "mysql", "top"], "db1": ["disk", "mysql", "data"]}),
])
def test_skip_tags_leave_out_by_name_or_type(skip_tags, expected):
    assert names(monitor_plan(HOSTS, tags=["all"], skip_tags=skip_tags)) == expected


def test_only_tags_and_skip_tags_together():
    plan = monitor_plan(HOSTS, only=["disk", "data", "mysql"], tags=["disk", "mysql"], skip_tags=["data"])
    assert names(plan) == {"app1": ["disk", "mysql"], "db1": ["disk", "mysql"]}


def test_a_listing_run_selects_nothing():
    assert monitor_plan(HOSTS, tags=["list"]) == {"app1": [], "db1": []}
    assert monitor_plan(HOSTS, tags=["all", "list"], only=["disk"]) == {"app1": [], "db1": []}


def test_a_listing_run_still_validates():
    fails({"a": [{"name": "disk", "critical": "150%"}]}, "critical: '150%'", tags=["list"])
    fails(HOSTS, "monitor_only: 'nope'", tags=["list"], only=["nope"])


@pytest.mark.parametrize("only", [["nope"], "disk,nope", ["disk", "nope", "nope"]])
def test_an_unknown_name_in_only_fails(only):
    message = fails(HOSTS, "monitor_only: 'nope' is not the name or the type of any check; the names and types "
                           "known are app, data, disk, mysql, process, top", only=only)
    assert message.count("'nope'") == 1


def test_an_unknown_tag_fails():
    fails(HOSTS, "--tags: 'nginx', 'web' are not the name or the type of any check", tags=["nginx", "disk", "web"])


def test_special_and_play_tags_are_not_checks():
    plan = monitor_plan(HOSTS, tags=["always", "never", "tagged", "untagged", "report"], play_tags=["report"])
    assert names(plan) == {"app1": [], "db1": []}
    fails(HOSTS, "--tags: 'report'", tags=["report"])


def test_a_name_in_only_that_is_on_one_host_only():
    assert names(monitor_plan(HOSTS, only=["top"])) == {"app1": ["top"], "db1": []}


@pytest.mark.parametrize("option, value", [("only", 3), ("tags", {"a": 1}), ("skip_tags", [1])])
def test_bad_selection_arguments_fail(option, value):
    fails(HOSTS, "must be a list of names", **{option: value})


# Bad input

@pytest.mark.parametrize("bad", [["app1"], "app1", None, 3])
def test_the_input_must_be_a_mapping(bad):
    fails(bad, "monitor_plan: expects a mapping of host name to list of checks")


@pytest.mark.parametrize("checks, kind", [("disk", "a string"), ({"name": "disk"}, "a mapping"), (3, "an int")])
def test_a_hosts_checks_must_be_a_list(checks, kind):
    fails({"app1": checks}, f"monitor_checks of app1: must be a list of checks, got {kind}")


@pytest.mark.parametrize("check, text", [
    ({"name": "disk", "critical": "150%"},
     "monitor_checks of app1, check 'disk': critical: '150%' must be a percent from 0% to 100%"),
    ({"name": "disk", "critical": "10X"},
     "monitor_checks of app1, check 'disk': critical: '10X' must be a percent used like 90% or bytes free like 10G, "
     "500M (units B, K, M, G, T, P)"),
    ({"name": "disk", "mute_for": "-5m"},
     "monitor_checks of app1, check 'disk': mute_for: '-5m' must be a duration like 90s, 30m, 1h or 2d, not negative"),
    ({"name": "disk", "mute_for": -300}, "mute_for: -300 must be a duration"),
    ({"name": "disk", "warning": "80"}, "warning: '80' must be a percent used like 90% or bytes free like 10G, 500M "
                                        "(units B, K, M, G, T, P); a bare number is ambiguous"),
    ({"name": "disk", "warning": "95%", "critical": "90%"},
     "warning: the warning threshold 95% is above the critical one 90%; a warning comes first"),
    ({"name": "disk", "warning": "5G", "critical": "10G"}, "warning: the warning threshold 5.0G free is below"),
    ({"name": "disk", "inode_critical": "101"}, "inode_critical: '101%' must be a percent from 0% to 100%"),
    ({"name": "disk", "inode_warning": "96%", "inode_critical": "95%"}, "inode_warning: the warning threshold 96%"),
    ({"name": "disk", "thresholds": [{"mount": "data"}]}, "thresholds[0]: mount 'data' must be an absolute mount point"),
    ({"name": "disk", "thresholds": [{"mount": "/d"}, {"mount": "/d/"}]}, "thresholds[1]: mount /d is given twice"),
    ({"name": "disk", "thresholds": [{"critical": "5G"}]}, "thresholds: each entry needs mount"),
    ({"name": "disk", "thresholds": [{"mount": "/", "critcal": "5G"}]},
     "thresholds.critcal: not an option here; the options are critical, mount, warning"),
    ({"name": "disk", "thresholds": [{"mount": "/", "critical": "200%"}]},
     "thresholds[0].critical: '200%' must be a percent from 0% to 100%"),
    ({"name": "disk", "include_readonly": "maybe"}, "include_readonly: must be of type bool"),
    ({"name": "disk", "mounts": "/"}, None),  # a string is a list of one, as for the module
    ({"name": "disk", "critical": ["90%"]}, "critical: must be a string, got a list"),
    ({"name": "disk", "level": "critical"}, "level: not an option of a disk check; the options are critical, fs_types, "
                                            "host_label, include_readonly, inode_critical, inode_warning, mounts, "
                                            "mute_for, state_file, thresholds, warning"),
    ({"name": "disk", "subject": "/"}, "subject: not an option of a disk check (disk_alert has no alert subject)"),
    ({"name": "app", "type": "process"}, "monitor_checks of app1, check 'app': pattern: missing; it is required"),
    ({"name": "app", "type": "process", "pattern": "java ("}, "pattern: 'java (' is not a Python regular expression"),
    ({"name": "app", "type": "process", "pattern": "x", "min": -1}, "min: -1 must be 0 or more"),
    ({"name": "app", "type": "process", "pattern": "x", "min": 3, "max": 2}, "max: 2 is below min 3"),
    ({"name": "app", "type": "process", "pattern": "x", "min": "many"}, "min: must be of type int"),
    ({"name": "app", "type": "process", "pattern": "x", "level": "fatal"},
     "level: 'fatal' must be one of warning, critical"),
    ({"name": "app", "type": "process", "pattern": "x", "mute_for": "1w"}, "mute_for: '1w' must be a duration"),
    ({"name": "app", "type": "process", "pattern": "x", "subject": ["a"]}, "subject: must be a string, got a list"),
    ({"name": "app", "type": "process", "pattern": "x", "count": 2}, "count: not an option of a process check; the "
                                                                     "options are host_label, level, max, min"),
    ({"name": "tcp"}, "monitor_checks of app1, check 'tcp': port: missing; a tcp check needs it"),
    ({"name": "tcp", "port": 70000}, "port: 70000 must be between 1 and 65535"),
    ({"name": "tcp", "port": 0}, "port: 0 must be between 1 and 65535"),
    ({"name": "tcp", "port": 80, "url": "http://x/"}, "url: only used with type=http, not type=tcp"),
    ({"name": "tcp", "port": 80, "timeout": 0}, "timeout: 0.0 must be more than 0 seconds"),
    ({"name": "tcp", "port": 80, "host": " "}, "host: must not be empty"),
    ({"name": "http"}, "url: missing; a http check needs it"),
    ({"name": "http", "url": "ftp://x/"}, "url: 'ftp://x/' must be an http:// or https:// URL with a host"),
    ({"name": "http", "url": "http:///path"}, "must be an http:// or https:// URL with a host"),
    ({"name": "http", "url": "http://x/", "port": 80}, "port: not used with type=http; give the port in url"),
    ({"name": "http", "url": "http://x/", "status_codes": [200, 99]}, "status_codes: 99 is not an HTTP status"),
    ({"name": "http", "url": "http://x/", "status_codes": [600]}, "status_codes: 600 is not an HTTP status (100 to 599)"),
    ({"name": "http", "url": "http://x/", "status_codes": []}, "status_codes: must list at least one status"),
    ({"name": "http", "url": "http://x/", "status_codes": ["ok"]}, "status_codes: every element must be of type int"),
    ({"name": "http", "url": "http://x/", "body_pattern": "["}, "body_pattern: '[' is not a Python regular expression"),
    ({"name": "http", "url": "http://x/", "login_user": "u"}, "login_user: only used with type=mysql, not type=http"),
    ({"name": "mysql"}, "login_user: missing; a mysql check needs it"),
    ({"name": "mysql", "login_user": "u", "body_pattern": "x"}, "body_pattern: only used with type=http, not type=mysql"),
    ({"name": "top", "count": 0}, "monitor_checks of app1, check 'top': count: 0 must be from 1 to 100"),
    ({"name": "top", "count": 101}, "count: 101 must be from 1 to 100"),
    ({"name": "top", "interval": 0.05}, "interval: 0.05 must be from 0.1 to 10 seconds"),
    ({"name": "top", "interval": 11}, "interval: 11.0 must be from 0.1 to 10 seconds"),
    ({"name": "top", "width": 9}, "width: 9 must be 10 or more"),
    ({"name": "top", "sort": "io"}, "sort: 'io' must be one of cpu, memory"),
    ({"name": "top", "mute_for": "1h"}, "mute_for: not an option of a top check; the options are count, interval, "
                                        "sort, user, width"),
    ({"name": "top", "subject": "x"}, "subject: not an option of a top check (top_processes has no alert subject)"),
])
def test_a_bad_check_fails_naming_host_check_option_and_rule(check, text):
    if text is None:
        monitor_plan({"app1": [check]})
        return
    fails({"app1": [check]}, text)


@pytest.mark.parametrize("check, text", [
    ("disk", "monitor_checks of app1: entry 1 must be a mapping with a name, a type and the module's options, "
             "got a string"),
    ({"type": "disk"}, "monitor_checks of app1: entry 1: name: missing; every check needs a name"),
    ({"name": ""}, "entry 1: name: missing"),
    ({"name": "Disk"}, "entry 1: name: 'Disk' must be lower case letters, digits, _ and -, starting with a letter or "
                       "digit, at most 40 characters"),
    ({"name": "-disk"}, "name: '-disk' must be lower case"),
    ({"name": "d" * 41}, "at most 40 characters"),
    ({"name": 7}, "entry 1: name: an int must be lower case"),
    ({"name": "data"}, "monitor_checks of app1, check 'data': type: missing; give one of disk, process, tcp, http, "
                       "mysql, top (it may be left out when the name is one of them)"),
    ({"name": "data", "type": "df"}, "check 'data': type: 'df' must be one of disk, process, tcp, http, mysql, top"),
    ({"name": "disk", "description": ["x"]}, "check 'disk': description: must be a string, got a list"),
])
def test_a_check_needs_a_valid_name_and_type(check, text):
    fails({"app1": [check]}, text)


def test_a_name_only_once_per_host():
    fails({"app1": [{"name": "disk"}, {"name": "disk", "critical": "95%"}]},
          "monitor_checks of app1, check 'disk': name: given twice; the names of a host's checks must differ")
    assert names(monitor_plan({"a": [{"name": "disk"}], "b": [{"name": "disk"}]})) == {"a": ["disk"], "b": ["disk"]}


def test_every_mistake_is_reported_once_with_its_hosts():
    bad = [{"name": "disk", "critical": "150%"}]
    message = fails({f"app{n}": bad for n in range(1, 8)} | {"db1": [{"name": "top", "count": 0}]},
                    "monitor_checks of app1, app2, app3, app4, app5 and 2 more hosts, check 'disk': critical: '150%'",
                    "monitor_checks of db1, check 'top': count: 0", only=["nope"])
    assert message.splitlines()[-1].startswith("monitor_only: 'nope'")
    assert len(message.splitlines()) == 3


# Secrets

@pytest.mark.parametrize("check", [
    {"name": "mysql", "login_user": "u", "login_password": PASSWORD, "port": PASSWORD},
    {"name": "mysql", "login_user": "u", "login_password": PASSWORD, "timeout": PASSWORD},
    {"name": "mysql", "login_user": "u", "login_password": PASSWORD, "level": PASSWORD},
    {"name": "mysql", "login_user": "u", "login_password": PASSWORD, "login_unix_socket": ["x"], "mute_for": PASSWORD},
    {"name": "mysql", "login_user": "u", "login_password": [PASSWORD]},
    {"name": "mysql", "login_user": "u", "login_password": {"value": PASSWORD}},
    {"name": "mysql", "login_password": PASSWORD},
    {"name": "mysql", "login_user": "u", "login_password": PASSWORD, "host": ""},
    {"name": "tcp", "port": 3306, "login_password": PASSWORD},
    {"name": "http", "url": f"http://monitor:{PASSWORD}@db1/", "login_password": PASSWORD},
    {"name": "mysql", "login_user": "u", "login_password": PASSWORD, "login_passwd": "x"},
])
def test_no_password_in_a_message(check):
    fails({"db1": [check]}, "monitor_checks of db1, check")


def test_the_password_stays_in_the_options():
    plan = monitor_plan({"db1": [{"name": "mysql", "login_user": "u", "login_password": PASSWORD}]})
    assert plan["db1"][0]["options"]["login_password"] == PASSWORD


# The modules' documentation is the source of the options

def test_the_options_come_from_the_documentation_with_the_fragments():
    spec = module_spec("disk_alert")
    assert spec["critical"] == {"type": "str", "default": "90%"}
    assert spec["mounts"] == {"type": "list", "elements": "str", "default": ["*"]}
    assert spec["thresholds"]["options"]["mount"] == {"type": "str", "required": True}
    assert spec["mute_for"] == {"type": "raw", "default": 0}  # from the jvmops.deploy.alerts fragment
    assert spec["state_file"]["type"] == "path"
    assert module_spec("service_check")["login_password"]["no_log"] is True
    assert module_spec("service_check")["type"]["choices"] == ["tcp", "http", "mysql"]
    assert "mute_for" not in module_spec("top_processes")
