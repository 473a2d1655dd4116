# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option rules shared by the check modules and the monitor_plan filter."""

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils._alerts import AlertOptionError
from ansible_collections.jvmops.deploy.plugins.module_utils._checks import (
    CheckOptionError,
    check_order,
    parse_inode,
    parse_threshold,
    validate_disk,
    validate_process,
    validate_service,
    validate_top,
)

DISK = {"mute_for": 0, "warning": None, "critical": "90%", "thresholds": [], "inode_warning": None,
        "inode_critical": None}
PROCESS = {"pattern": "java", "min": 1, "max": None}
SERVICE = {"type": "tcp", "host": "127.0.0.1", "port": 80, "url": None, "status_codes": [200], "body_pattern": None,
           "timeout": 5.0, "login_user": None, "login_password": None, "login_unix_socket": None, "mute_for": 0}
TOP = {"count": 10, "interval": 1.0, "width": 80}


@pytest.mark.parametrize("value, parsed", [
    ("90%", ("percent", 90.0)), ("0%", ("percent", 0.0)), ("100 %", ("percent", 100.0)), ("10G", ("free", 10 * 1024 ** 3)),
    ("500m", ("free", 500 * 1024 ** 2)), ("1.5TiB", ("free", int(1.5 * 1024 ** 4))), ("4096B", ("free", 4096)),
    ("2P", ("free", 2 * 1024 ** 5)), (None, None),
])
def test_thresholds(value, parsed):
    assert parse_threshold(value, "critical") == parsed


@pytest.mark.parametrize("value, text", [
    ("150%", "critical: '150%' must be a percent from 0% to 100%"),
    ("10X", "critical: '10X' must be a percent used like 90% or bytes free like 10G"),
    ("90", "a bare number is ambiguous"),
    ("-5%", "critical: '-5%' must be"),
])
def test_bad_thresholds(value, text):
    with pytest.raises(CheckOptionError, match=text.replace("(", r"\(")):
        parse_threshold(value, "critical")


def test_inode_thresholds_are_percents():
    assert parse_inode("80", "inode_warning") == 80.0
    assert parse_inode("80%", "inode_warning") == 80.0
    with pytest.raises(CheckOptionError, match="inode_warning: '101%' must be a percent"):
        parse_inode("101", "inode_warning")


def test_a_warning_comes_first():
    check_order(("percent", 80), ("free", 1), "warning")  # of two kinds: no order
    with pytest.raises(CheckOptionError, match="warning: the warning threshold 95% is above the critical one 90%"):
        check_order(("percent", 95), ("percent", 90), "warning")
    with pytest.raises(CheckOptionError, match="the warning threshold 1.0K free is below the critical one 2.0K free"):
        check_order(("free", 1024), ("free", 2048), "warning")


def test_validate_disk_settles_per_mount_thresholds():
    settings = validate_disk({**DISK, "warning": "80%", "mute_for": "1h",
                              "thresholds": [{"mount": "/data/", "warning": None, "critical": "5G"}]})
    assert settings["mute"] == 3600
    assert settings["per_mount"] == {"/data": (("percent", 80.0), ("free", 5 * 1024 ** 3))}
    with pytest.raises(AlertOptionError, match="mute_for: '-5m'"):
        validate_disk({**DISK, "mute_for": "-5m"})


@pytest.mark.parametrize("params, text", [
    ({"pattern": "("}, "pattern: '\\(' is not a Python regular expression"),
    ({"min": -1}, "min: -1 must be 0 or more"),
    ({"min": 2, "max": 1}, "max: 1 is below min 2"),
])
def test_validate_process(params, text):
    assert validate_process(PROCESS).pattern == "java"
    with pytest.raises(CheckOptionError, match=text):
        validate_process({**PROCESS, **params})


@pytest.mark.parametrize("params, text", [
    ({"port": 0}, "port: 0 must be between 1 and 65535"),
    ({"login_user": "u"}, "login_user: only used with type=mysql, not type=tcp"),
    ({"timeout": 0}, "timeout: 0 must be more than 0 seconds"),
    ({"type": "http", "port": None, "url": "ftp://x"}, "url: 'ftp://x' must be an http:// or https:// URL"),
    ({"type": "http", "port": None, "url": "http://x", "status_codes": [600]}, "status_codes: 600 is not an HTTP"),
    ({"type": "http", "port": None, "url": "http://x", "body_pattern": "["}, "body_pattern: '\\[' is not a Python"),
])
def test_validate_service(params, text):
    assert validate_service(SERVICE) == (None, 0)
    with pytest.raises(CheckOptionError, match=text):
        validate_service({**SERVICE, **params})


@pytest.mark.parametrize("params, text", [
    ({"count": 0}, "count: 0 must be from 1 to 100"),
    ({"interval": 10.5}, "interval: 10.5 must be from 0.1 to 10 seconds"),
    ({"width": 9}, "width: 9 must be 10 or more"),
])
def test_validate_top(params, text):
    validate_top(TOP)
    with pytest.raises(CheckOptionError, match=text):
        validate_top({**TOP, **params})
