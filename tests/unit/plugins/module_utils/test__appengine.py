# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules, results and error mapping of module_utils/_appengine.py (no service needed)."""

from __future__ import annotations

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _appengine

gexc = pytest.importorskip("google.api_core.exceptions")
ae = pytest.importorskip("google.cloud.appengine_admin_v1")


@pytest.mark.parametrize("project, rule", [
    ("jvmops-test", None),
    ("a23456", None),
    ("a" * 30, None),
    ("abcde", "must be 6 to 30 characters"),
    ("a" * 31, "must be 6 to 30 characters"),
    ("Jvmops-test", "must not contain upper-case letters"),
    ("1vmops-test", "must start with a letter"),
    ("jvmops-test-", "not end with a hyphen"),
    ("jvmops_test", "only lower-case letters, digits and hyphens"),
])
def test_project_rules(project, rule):
    problem = _appengine.project_problem(project)
    assert (problem is None) if rule is None else (rule in problem and problem.startswith(f"project: '{project}'"))


@pytest.mark.parametrize("value, rule", [
    ("default", None), ("v1", None), ("0", None), ("a" * 63, None),
    ("", "1 to 63"), ("a" * 64, "1 to 63"), ("-v1", "begin and end"), ("v1-", "begin and end"),
    ("V1", "lower-case"), ("v.1", "lower-case"), ("ah-v1", "reserved prefix"),
])
def test_service_and_version_rules(value, rule):
    problem = _appengine.resource_id_problem("version", value)
    assert (problem is None) if rule is None else rule in problem


@pytest.mark.parametrize("runtime, ok", [("java17", True), ("java21", True), ("java8", False), ("python312", False)])
def test_runtimes(runtime, ok):
    assert (_appengine.runtime_problem(runtime) is None) == ok


@pytest.mark.parametrize("split, rule", [
    ({"v1": 1}, None),
    ({"v1": 0.9, "v2": 0.1}, None),
    ({"v1": 0.33, "v2": 0.33, "v3": 0.34}, None),
    ({}, "at least one version"),
    ({"v1": 0.5, "v2": 0.4}, "must sum to 1, they sum to 0.9"),
    ({"v1": 0.333, "v2": 0.667}, "at most 2 decimals"),
    ({"v1": 0, "v2": 1}, "more than 0"),
    ({"v1": "half"}, "must be a number"),
    ({"V1": 1}, "lower-case"),
])
def test_split_rules(split, rule):
    problem = _appengine.split_problem(split)
    assert (problem is None) if rule is None else rule in problem


def test_connection_options():
    assert _appengine.check_connection_options({"auth_kind": "accesstoken"}) == ["auth_kind: accesstoken needs access_token"]
    assert "needs service_account_file" in _appengine.check_connection_options({"auth_kind": "serviceaccount"})[0]
    assert "without a path" in _appengine.check_connection_options({"api_endpoint": "https://x/v1"})[0]
    assert _appengine.check_connection_options({"api_endpoint": "http://127.0.0.1:8080"}) == []
    assert _appengine.auth_kind({"access_token": "t"}) == "accesstoken"
    assert _appengine.auth_kind({"service_account_file": "/k.json"}) == "serviceaccount"
    assert _appengine.auth_kind({}) == "application"
    assert _appengine.auth_kind({"auth_kind": "application", "access_token": "t"}) == "application"


def test_secrets_are_no_log():
    spec = _appengine.appengine_argument_spec()
    assert spec["access_token"]["no_log"] and spec["service_account_contents"]["no_log"]
    assert spec["access_token"]["fallback"][1] == ["GCP_ACCESS_TOKEN"]
    assert spec["auth_kind"]["fallback"][1] == ["GCP_AUTH_KIND"]


def test_version_result_masks_env_and_names_enums():
    version = ae.Version(id="v1", runtime="java17", serving_status=1, env_variables={"PASSWORD": "hunter2"},
                         deployment={"files": {"a.jar": {"sha1_sum": "a" * 40, "source_url": "u"}}})
    result = _appengine.version_result(version)
    assert result["serving_status"] == "SERVING"  # an int from REST comes out as its name
    assert result["env_variables"] == {"PASSWORD": "********"}
    assert "deployment" not in result
    assert "hunter2" not in repr(result)


class _Request:
    method = "PATCH"
    url = "http://127.0.0.1:1/v1/apps/p/services/s?updateMask=split&%24alt=json"


class _Response:
    request = _Request()

    @staticmethod
    def json():
        return {"error": {"code": 400, "message": "Allocations must sum to 1.", "status": "INVALID_ARGUMENT"}}


def test_api_error_carries_googles_message_status_and_request():
    exc = gexc.BadRequest("PATCH http://...: Allocations must sum to 1.", response=_Response())
    error = _appengine.api_error("update the traffic split of service 's'", exc)
    assert str(error) == "Failed to update the traffic split of service 's': Allocations must sum to 1."
    assert error.details() == {"status": 400, "reason": "INVALID_ARGUMENT", "request": "PATCH /v1/apps/p/services/s"}


def test_retry_covers_throttling_and_5xx_but_a_write_only_what_did_nothing():
    read, write = _appengine.AppEngineClient.retry(), _appengine.AppEngineClient.retry(write=True)
    for exc in (gexc.TooManyRequests("x"), gexc.ServiceUnavailable("x")):
        assert read._predicate(exc) and write._predicate(exc)  # pylint: disable=protected-access
    for exc in (gexc.InternalServerError("x"), gexc.BadGateway("x"), gexc.GatewayTimeout("x")):
        assert read._predicate(exc) and not write._predicate(exc)  # pylint: disable=protected-access
    assert not read._predicate(gexc.BadRequest("x"))  # pylint: disable=protected-access
