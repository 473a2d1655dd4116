# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""monitor_report: registered check results -> outcomes -> one summary table and the alerts to send."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.jvmops.deploy.plugins.filter.monitor_report import FilterModule, monitor_report

DISK = {"name": "disk", "type": "disk", "module": "disk_alert", "options": {}}
APP = {"name": "app", "type": "process", "module": "process_check", "options": {"name": "hello-jvm"}}
DB = {"name": "mysql", "type": "mysql", "module": "service_check", "options": {"login_password": "secret"}}
TOP = {"name": "top", "type": "top", "module": "top_processes", "options": {}}


def alert(level, subject="/data", value=95, message="Use% over 90: /data is at 95%", check="disk"):
    return {"host": "app2", "check": check, "subject": subject, "level": level, "value": value, "threshold": "90%",
            "message": message}


def registered(*results):
    return {"changed": False, "results": list(results)}


def test_outcome_statuses():
    disks = registered(
        {"item": DISK, "measurements": [{"mount": "/", "use_percent": 40}, {"mount": "/data", "use_percent": 95}],
         "alerts": [alert("critical")], "all_alerts": [alert("critical")]},
        {"item": {**DISK, "name": "disk-muted"}, "measurements": [], "alerts": [],
         "all_alerts": [alert("warning")]},
    )
    apps = registered({"item": APP, "count": 1, "alerts": [], "all_alerts": []})
    dbs = registered({"item": DB, "failed": True, "msg": "Failed to import the required Python library (PyMySQL)"})
    tops = registered({"item": TOP, "report": "load average: 0.10\n    PID USER", "processes": []})
    skipped = {"skipped": True, "results": [], "skip_reason": "No items in the list"}
    found = monitor_report([disks, apps, dbs, tops, skipped], "outcomes", host="app2")
    by_name = {o["name"]: o for o in found}
    assert [o["name"] for o in found] == ["disk", "disk-muted", "app", "mysql", "top"]
    assert by_name["disk"]["status"] == "critical" and by_name["disk"]["detail"] == "Use% over 90: /data is at 95%"
    assert by_name["disk"]["alerts"] == [alert("critical")] and by_name["disk"]["host"] == "app2"
    assert by_name["disk-muted"]["status"] == "muted" and by_name["disk-muted"]["alerts"] == []
    assert by_name["disk-muted"]["detail"].startswith("warning, muted: Use% over 90")
    assert by_name["app"] == {"host": "app2", "name": "app", "type": "process", "alerts": [], "all_alerts": [],
                              "status": "ok", "detail": "1 running"}
    assert by_name["mysql"]["status"] == "error" and "PyMySQL" in by_name["mysql"]["detail"]
    assert "secret" not in str(found)
    assert by_name["top"]["status"] == "ok" and by_name["top"]["report"].startswith("load average")


def test_ok_disk_detail_names_the_fullest_mount():
    [found] = monitor_report([registered({"item": DISK, "alerts": [], "all_alerts": [], "measurements": [
        {"mount": "/", "use_percent": 40}, {"mount": "/srv", "use_percent": 71}]})], "outcomes", host="h")
    assert found["detail"] == "2 file systems, highest Use% 71% (/srv)"


def test_worst_level_wins():
    [found] = monitor_report([registered({"item": DISK, "measurements": [], "all_alerts": [],
                                          "alerts": [alert("recovery"), alert("critical", subject="/")]})],
                             "outcomes", host="h")
    assert found["status"] == "critical"


def test_summary_table_alerts_and_counts():
    outcome = monitor_report([registered({"item": DISK, "measurements": [], "alerts": [alert("critical")],
                                          "all_alerts": [alert("critical")]},
                                         {"item": {**DISK, "name": "disk2"}, "measurements": [], "alerts": [],
                                          "all_alerts": []})], "outcomes", host="app2")
    error = monitor_report([registered({"item": DB, "failed": True, "msg": "no PyMySQL"})], "outcomes", host="app1")
    top = monitor_report([registered({"item": TOP, "report": "load average: 0.10\nline two"})], "outcomes", host="app1")
    result = monitor_report({
        "lb1": {"unreachable": "Failed to connect to the host via ssh: timed out", "error": "", "outcomes": []},
        "app1": {"unreachable": "", "error": "", "outcomes": error + top},
        "app2": {"outcomes": outcome},
        "build1": {"error": "the host left the play"},
    }, "summary")
    lines = result["lines"]
    assert lines[0].split() == ["HOST", "CHECK", "STATUS", "DETAIL"]
    assert lines[1].split()[:3] == ["lb1", "-", "UNREACHABLE"]
    assert lines[2].split()[:3] == ["app1", "mysql", "ERROR"]
    assert lines[4].split()[:3] == ["app2", "disk", "CRITICAL"] and lines[5].split()[:3] == ["app2", "disk2", "OK"]
    assert lines[6].split()[:3] == ["build1", "-", "ERROR"]
    status_column, detail_column = lines[0].index("STATUS"), lines[0].index("DETAIL")
    for line in lines[1:-1]:  # the columns line up under their headers
        assert line[status_column - 2:status_column] == "  " and line[status_column] != " "
        assert line[detail_column - 2:detail_column] == "  " and line[detail_column] != " "
    assert lines[-1] == "== 4 hosts, 6 results: 1 critical, 2 error, 1 unreachable, 2 ok; 4 alerts to send =="
    checks = [(a["host"], a["check"], a["level"]) for a in result["alerts"]]
    assert checks == [("lb1", "ssh", "critical"), ("app1", "mysql", "critical"), ("app2", "disk", "critical"),
                      ("build1", "monitor", "critical")]
    assert result["alerts"][0]["message"] == "lb1 does not answer SSH: Failed to connect to the host via ssh: timed out"
    assert result["unreachable"] == ["lb1"] and set(result["errors"]) == {"app1/mysql", "build1"}
    assert result["reports"] == ["== app1: top ==", "  load average: 0.10", "  line two"]


def test_summary_from_hostvars_reads_each_hosts_entry():
    hostvars = {"app1": {"__monitor_entry": {"outcomes": []}}, "app2": {"other": 1}}
    result = monitor_report(["app1", "app2"], "summary", hostvars=hostvars)
    assert result["errors"] == {"app2": "the host left the play"}
    assert result["lines"][-1] == "== 2 hosts, 1 result: 1 error; 1 alert to send =="


def test_long_details_are_cut():
    long = "x" * 300
    result = monitor_report({"h": {"error": long}}, "summary")
    assert result["lines"][1].endswith("...") and len(result["lines"][1]) < 130
    assert result["alerts"][0]["value"] == long  # the alert keeps all of it


def test_listing():
    lines = monitor_report({"app1": [{**DISK, "description": "Use%"}, {**APP, "description": "The JVM runs"}],
                            "lb1": []}, "listing")
    assert lines == ["== app1: 2 checks ==", "  disk  [disk]     Use%", "  app   [process]  The JVM runs",
                     "== lb1: 0 checks =="]


@pytest.mark.parametrize("value, what, words", [
    ({"a": 1}, "outcomes", "list of registered loop results"),
    (["a"], "summary", "map each host"),
    (["a"], "listing", "map each host"),
    ({}, "table", "one of outcomes, summary, listing"),
    ("app1", "summary", "list of host names"),
])
def test_bad_input(value, what, words):
    kwargs = {"hostvars": {}} if value == "app1" else {}
    with pytest.raises(AnsibleFilterError, match=words):
        monitor_report(value, what, **kwargs)


def test_registered():
    assert FilterModule().filters() == {"monitor_report": monitor_report}
