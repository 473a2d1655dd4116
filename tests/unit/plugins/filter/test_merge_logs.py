# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""merge_logs: the hosts' log lines merged by time, stack traces kept with their line, labels, options."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.jvmops.deploy.plugins.filter.merge_logs import FilterModule, line_time, merge_logs

APP1 = [
    "2026-11-22T07:00:00Z INFO hello-jvm 1.0.0 listening on 0.0.0.0:8000",
    "2026-11-22T07:00:05Z ERROR request failed",
    "java.lang.IllegalStateException: boom",
    "\tat jvmops.hello.HelloApp.handle(HelloApp.java:42)",
    "2026-11-22T07:00:09Z INFO stopping",
]
APP2 = [
    "2026-11-22T07:00:02Z INFO hello-jvm 1.0.0 listening on 0.0.0.0:8000",
    "2026-11-22T07:00:07Z WARN slow request",
]


def test_merges_by_time_with_host_labels_and_keeps_stack_traces_with_their_line():
    merged = merge_logs({"app1": APP1, "app2": APP2})
    assert merged["lines"] == [
        "app1 | 2026-11-22T07:00:00Z INFO hello-jvm 1.0.0 listening on 0.0.0.0:8000",
        "app2 | 2026-11-22T07:00:02Z INFO hello-jvm 1.0.0 listening on 0.0.0.0:8000",
        "app1 | 2026-11-22T07:00:05Z ERROR request failed",
        "app1 | java.lang.IllegalStateException: boom",
        "app1 | \tat jvmops.hello.HelloApp.handle(HelloApp.java:42)",
        "app2 | 2026-11-22T07:00:07Z WARN slow request",
        "app1 | 2026-11-22T07:00:09Z INFO stopping",
    ]
    assert merged["hosts"] == {"app1": 3, "app2": 2}
    assert merged["records"][2] == {"host": "app1", "time": "2026-11-22T07:00:05Z",
                                    "lines": APP1[1:4]}


def test_labels_are_padded_to_the_longest_host_name():
    merged = merge_logs({"app1": APP1[:1], "app-long": APP2[:1]})
    assert merged["lines"] == ["app1     | " + APP1[0], "app-long | " + APP2[0]]


def test_no_labels():
    assert merge_logs({"app1": APP1[:1]}, label=False)["lines"] == [APP1[0]]


def test_equal_times_keep_the_input_order_of_hosts_then_of_lines():
    same = "2026-11-22T07:00:00Z INFO"
    merged = merge_logs({"b": [same + " b1", same + " b2"], "a": [same + " a1"]})
    assert merged["lines"] == [f"b | {same} b1", f"b | {same} b2", f"a | {same} a1"]
    merged = merge_logs({"a": [same + " a1"], "b": [same + " b1", same + " b2"]})
    assert merged["lines"] == [f"a | {same} a1", f"b | {same} b1", f"b | {same} b2"]


def test_lines_without_a_first_timestamp_form_a_record_with_no_time_that_sorts_first():
    merged = merge_logs({"app1": ["\tat cut.Off(X.java:1)", APP1[0]], "app2": APP2[:1]})
    assert merged["lines"][0] == "app1 | \tat cut.Off(X.java:1)"
    assert merged["records"][0]["time"] is None
    assert merged["lines"][1:] == ["app1 | " + APP1[0], "app2 | " + APP2[0]]


@pytest.mark.parametrize("line, starts, iso", [
    ("2026-11-22T07:00:00Z INFO x", True, "2026-11-22T07:00:00+00:00"),
    ("2026-11-22T07:00:00.250Z INFO x", True, "2026-11-22T07:00:00.250000+00:00"),
    ("2026-11-22T08:00:00+01:00 INFO x", True, "2026-11-22T07:00:00+00:00"),
    ("2026-11-22T08:00:00+0100 INFO x", True, "2026-11-22T07:00:00+00:00"),
    ("2026-11-22 07:00:00,123 INFO [main] x", True, "2026-11-22T07:00:00.123000+00:00"),  # logback's %d
    ("2026-11-22 07:00:00.123 [main] INFO x - y", True, "2026-11-22T07:00:00.123000+00:00"),
    ("2026-11-22T07:00 x", True, "2026-11-22T07:00:00+00:00"),
    ("[2026-11-22T07:00:00Z] INFO x", True, "2026-11-22T07:00:00+00:00"),
    ("2026-11-22T07:00:00", True, "2026-11-22T07:00:00+00:00"),
    # runit's svlogd -tt prefix: its time counts; a record starts only where the app's own timestamp follows
    ("2026-11-22_07:00:01.12345 2026-11-22T07:00:00Z INFO x", True, "2026-11-22T07:00:01.123450+00:00"),
    ("2026-11-22_07:00:01.12345 \tat a.B(C.java:1)", False, "2026-11-22T07:00:01.123450+00:00"),
    ("\tat a.B(C.java:1)", False, None),
    ("Caused by: java.io.IOException: 2026-11-22T07:00:00Z", False, None),
    ("2026-13-40T07:00:00Z not a date", False, None),
    ("2026-11-22T07:00:00Zulu", False, None),
    ("", False, None),
])
def test_line_time(line, starts, iso):
    got_starts, stamp = line_time(line)
    assert got_starts is starts
    assert (stamp.isoformat() if stamp else None) == iso


def test_runit_lines_keep_stack_traces_with_their_line():
    runit = ["2026-11-22_07:00:05.00001 2026-11-22T07:00:05Z ERROR failed",
             "2026-11-22_07:00:05.00002 \tat a.B(C.java:1)"]
    merged = merge_logs({"app1": runit, "app2": ["2026-11-22T07:00:05.000015Z INFO between"]})
    assert merged["records"][0]["lines"] == runit
    assert [r["host"] for r in merged["records"]] == ["app1", "app2"]


def test_lines_keeps_the_last_records_of_each_host():
    merged = merge_logs({"app1": APP1, "app2": APP2}, lines=1)
    assert merged["lines"] == ["app2 | " + APP2[1], "app1 | " + APP1[4]]
    merged = merge_logs({"app1": APP1}, lines=2)
    assert merged["lines"][0] == "app1 | " + APP1[1]
    assert len(merged["lines"]) == 4  # the ERROR record keeps its stack trace
    assert merge_logs({"app1": APP1}, lines=0)["hosts"] == {"app1": 3}
    assert merge_logs({"app1": APP1}, lines="2")["hosts"] == {"app1": 2}


def test_search_keeps_records_with_a_matching_line():
    merged = merge_logs({"app1": APP1, "app2": APP2}, search="IllegalState|WARN")
    assert merged["lines"] == ["app1 | " + line for line in APP1[1:4]] + ["app2 | " + APP2[1]]
    assert merge_logs({"app1": APP1}, search="nothing like this")["lines"] == []


def test_since_an_absolute_time_or_an_age():
    merged = merge_logs({"app1": APP1, "app2": APP2}, since="2026-11-22T07:00:07Z")
    assert merged["lines"] == ["app2 | " + APP2[1], "app1 | " + APP1[4]]
    merged = merge_logs({"app1": APP1, "app2": APP2}, since="2026-11-22T08:00:07+01:00")
    assert merged["hosts"] == {"app1": 1, "app2": 1}
    merged = merge_logs({"app1": APP1, "app2": APP2}, since="3s", now="2026-11-22T07:00:10Z")
    assert merged["hosts"] == {"app1": 1, "app2": 1}
    merged = merge_logs({"app1": APP1}, since="1m", now="2026-11-22T07:01:04Z")
    assert merged["hosts"] == {"app1": 2}
    assert merge_logs({"app1": APP1}, since="1d", now="2026-11-23T07:00:00Z")["hosts"] == {"app1": 3}
    assert merge_logs({"app1": APP1}, since="1h", now="2026-11-22T08:00:06Z")["hosts"] == {"app1": 1}
    assert merge_logs({"app1": APP1}, since="90s", now="2026-11-22T07:01:40Z")["hosts"] == {"app1": 0}


def test_since_drops_records_with_no_time():
    merged = merge_logs({"app1": ["orphan", APP1[0]]}, since="2020-01-01T00:00:00Z")
    assert merged["lines"] == ["app1 | " + APP1[0]]


def test_a_string_log_and_an_unreached_host():
    merged = merge_logs({"app1": "\n".join(APP2) + "\n", "app2": None})
    assert merged["lines"] == ["app1 | " + APP2[0], "app1 | " + APP2[1]]
    assert merged["hosts"] == {"app1": 2, "app2": 0}


@pytest.mark.parametrize("options, message", [
    ({"search": "(unclosed"}, r"search must be a Python regular expression; '\(unclosed' is not: missing \)"),
    ({"search": ["ERROR"]}, "search must be a regular expression .a string., got a list"),
    ({"lines": -1}, "lines must be a whole number, 0 or more .0: all., got -1"),
    ({"lines": "ten"}, "lines must be a whole number"),
    ({"lines": True}, "lines must be a whole number"),
    ({"since": "yesterday"}, "since must be an ISO 8601 time such as .* or an age such as 15m, 2h or 1d, got 'yesterday'"),
    ({"since": "5w"}, "since must be an ISO 8601 time"),
    ({"now": "soon"}, "now must be an ISO 8601 time such as 2026-11-22T07:00:00Z, got 'soon'"),
])
def test_bad_options_fail_naming_the_option_and_the_rule(options, message):
    with pytest.raises(AnsibleFilterError, match=f"^merge_logs: {message}"):
        merge_logs({}, **options)


@pytest.mark.parametrize("bad, kind", [(["app1"], "a list"), ("x", "a string"), (None, "null")])
def test_rejects_input_that_is_not_a_mapping(bad, kind):
    with pytest.raises(AnsibleFilterError, match=f"mapping of host name to log lines, got {kind}$"):
        merge_logs(bad)


def test_rejects_a_host_log_that_is_not_lines():
    with pytest.raises(AnsibleFilterError, match="app1 has a mapping$"):
        merge_logs({"app1": {"line": 1}})


def test_registered_under_its_name():
    assert FilterModule().filters()["merge_logs"] is merge_logs
