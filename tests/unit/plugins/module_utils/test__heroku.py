# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Heroku client, with HTTP replaced at open_url (the client's boundary)."""

from __future__ import annotations

import io
import json
import urllib.error
from email.message import Message

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _heroku
from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    HerokuClient, HerokuError, check_connection_options, parse_exit_status, redact)

KEY = "hrku-test-0123456789abcdef"


class Module:
    """What the client needs of an AnsibleModule."""

    def __init__(self, **params):
        self.params = {"api_key": KEY, "api_url": "https://api.example.test", "validate_certs": True, "ca_path": None,
                       "timeout": 30, "retries": 3, "retry_delay": 1.0, **params}
        self.failed = None

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise SystemExit(1)


class Response(io.BytesIO):
    def __init__(self, status=200, body=None, headers=None):
        super().__init__(json.dumps(body).encode() if body is not None else b"")
        self.status = status
        self.headers = headers or {}


def http_error(url, status, body, headers=None):
    message = Message()
    for key, value in (headers or {}).items():
        message[key] = value
    return urllib.error.HTTPError(url, status, "error", message, io.BytesIO(json.dumps(body).encode()))


@pytest.fixture(name="http")
def http_fixture(monkeypatch):
    """Queue answers for open_url; every call is recorded."""
    calls, answers = [], []

    def fake_open_url(url, data=None, headers=None, method=None, **kwargs):
        calls.append({"url": url, "data": data, "headers": dict(headers or {}), "method": method, **kwargs})
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(_heroku, "open_url", fake_open_url)
    return calls, answers


def client(sleeps=None, **params):
    return HerokuClient(Module(**params), sleep=(sleeps.append if sleeps is not None else lambda _s: None))


def test_requests_carry_the_version_header_and_the_key(http):
    calls, answers = http
    answers.append(Response(201, {"name": "app1"}, {"RateLimit-Remaining": "4000"}))
    assert client().call("POST", "/apps", {"name": "app1"}, what=("create", "app", "app1")) == {"name": "app1"}
    call = calls[0]
    assert call["url"] == "https://api.example.test/apps"
    assert call["method"] == "POST"
    assert call["headers"]["Accept"] == "application/vnd.heroku+json; version=3"
    assert call["headers"]["Authorization"] == "Bearer " + KEY
    assert call["headers"]["Content-Type"] == "application/json"
    assert json.loads(call["data"]) == {"name": "app1"}
    assert call["validate_certs"] is True


def test_errors_name_the_verb_resource_and_api_message(http):
    _calls, answers = http
    answers.append(http_error("u", 422, {"id": "invalid_params", "message": "Name is already taken"}, {"Request-Id": "req-1"}))
    with pytest.raises(HerokuError) as caught:
        client().call("POST", "/apps", {"name": "x"}, what=("create", "app", "taken-name"))
    assert str(caught.value) == "Failed to create app 'taken-name': invalid_params: Name is already taken (HTTP 422)"
    assert caught.value.details() == {"status": 422, "error_id": "invalid_params", "request_id": "req-1"}


def test_429_is_retried_with_growing_delays_then_succeeds(http):
    calls, answers = http
    for _attempt in range(3):
        answers.append(http_error("u", 429, {"id": "rate_limit", "message": "Your account reached the API rate limit"},
                                  {"RateLimit-Remaining": "0"}))
    answers.append(Response(200, {"ok": True}, {"RateLimit-Remaining": "4000"}))
    sleeps = []
    c = client(sleeps)
    assert c.call("POST", "/apps", {}, what=("create", "app", "a")) == {"ok": True}
    assert len(calls) == 4
    assert c.retried == 3
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2]
    assert 0.75 <= sleeps[0] <= 1.0


def test_retry_after_header_wins(http):
    _calls, answers = http
    answers.append(http_error("u", 503, {"id": "unavailable", "message": "down"}, {"Retry-After": "7"}))
    answers.append(Response(200, []))
    sleeps = []
    client(sleeps).call("GET", "/apps", what=("list", "apps", ""))
    assert sleeps == [7.0]


def test_retries_run_out_with_the_api_error(http):
    calls, answers = http
    for _attempt in range(4):
        answers.append(http_error("u", 429, {"id": "rate_limit", "message": "slow down"}))
    with pytest.raises(HerokuError, match="rate_limit: slow down"):
        client().call("GET", "/apps", what=("list", "apps", ""))
    assert len(calls) == 4  # the first try and 3 retries


@pytest.mark.parametrize("method, status, tries", [("POST", 500, 1), ("GET", 500, 2), ("POST", 503, 2), ("PATCH", 502, 2),
                                                   ("POST", 422, 1), ("GET", 404, 1)])
def test_which_failures_are_retried(http, method, status, tries):
    calls, answers = http
    answers.append(http_error("u", status, {"id": "e", "message": "m"}))
    answers.append(Response(200, {}))
    try:
        client().call(method, "/x", {} if method != "GET" else None, what=("do", "thing", "t"))
    except HerokuError:
        pass
    assert len(calls) == tries


def test_low_rate_limit_spaces_out_requests(http):
    _calls, answers = http
    answers.append(Response(200, {}, {"RateLimit-Remaining": "5"}))
    answers.append(Response(200, {}, {"RateLimit-Remaining": "4"}))
    sleeps = []
    c = client(sleeps)
    c.call("GET", "/a", what=("read", "a", "a"))
    assert not sleeps
    c.call("GET", "/a", what=("read", "a", "a"))
    assert sleeps == [1.0]


def test_list_follows_next_range(http):
    calls, answers = http
    answers.append(Response(206, [{"id": 1}, {"id": 2}], {"Next-Range": "]2..; max=2"}))
    answers.append(Response(206, [{"id": 3}, {"id": 4}], {"Next-Range": "]4..; max=2"}))
    answers.append(Response(200, [{"id": 5}]))
    items = client().list("/apps", what=("list", "apps", ""))
    assert [i["id"] for i in items] == [1, 2, 3, 4, 5]
    assert "Range" not in calls[0]["headers"]
    assert calls[1]["headers"]["Range"] == "]2..; max=2"
    assert calls[2]["headers"]["Range"] == "]4..; max=2"


def test_get_or_none_is_none_for_404_only(http):
    _calls, answers = http
    answers.append(http_error("u", 404, {"id": "not_found", "message": "Couldn't find that app."}))
    answers.append(http_error("u", 403, {"id": "forbidden", "message": "no access"}))
    c = client()
    assert c.get_or_none("/apps/x", what=("read", "app", "x")) is None
    with pytest.raises(HerokuError, match="Failed to read app 'x': forbidden: no access"):
        c.get_or_none("/apps/x", what=("read", "app", "x"))


def test_connection_errors_are_not_retried_for_post(http):
    calls, answers = http
    answers.append(urllib.error.URLError("connection refused"))
    with pytest.raises(HerokuError, match="connection_error: cannot reach https://api.example.test: connection refused"):
        client().call("POST", "/apps", {}, what=("create", "app", "a"))
    assert len(calls) == 1


def test_uploads_never_carry_the_api_key(http):
    calls, answers = http
    answers.append(Response(200))
    client().put_blob("https://blobs.example.test/put?sig=1", b"tarball", what=("upload", "source of app", "a"))
    assert calls[0]["method"] == "PUT"
    assert calls[0]["data"] == b"tarball"
    assert "Authorization" not in calls[0]["headers"]
    assert KEY not in json.dumps(calls[0]["headers"])


def test_stream_lines_reads_until_the_end_without_the_key(http):
    calls, answers = http
    answers.append(Response(200))
    answers[0] = io.BytesIO(b"-----> Building\r\n       Done\n")
    assert list(client().stream_lines("https://streams.example.test/1", 5, what=("follow", "build", "a"))) == [
        "-----> Building", "       Done"]
    assert "Authorization" not in calls[0]["headers"]


@pytest.mark.parametrize("params, message", [
    ({"api_key": None}, "api_key: no API key; set api_key or the HEROKU_API_KEY environment variable"),
    ({"api_url": "ftp://x"}, "api_url: must be an http(s) URL"),
    ({"timeout": 0}, "timeout: must be more than 0 seconds, got 0"),
    ({"retries": -1}, "retries: must be 0 or more, got -1"),
])
def test_connection_options_are_checked(params, message):
    problems = check_connection_options(Module(**params).params)
    assert any(p.startswith(message) for p in problems), problems
    module = Module(**params)
    with pytest.raises(SystemExit):
        HerokuClient(module)
    assert message in module.failed["msg"]
    assert KEY not in module.failed["msg"]


def test_exit_status_marker_is_parsed_and_removed():
    output = "0 1 1 2\n\uFFFF heroku-command-exit-status: 3\n"
    assert parse_exit_status(output) == ("0 1 1 2\n", 3)
    assert parse_exit_status("no marker\n") == ("no marker\n", None)
    # Output that contains the text of the marker itself (for example the echoed command) uses the last one.
    assert parse_exit_status("x\n\uFFFF heroku-command-exit-status: 1\n\uFFFF heroku-command-exit-status: 0\n")[1] == 0


def test_redact_hides_values_unless_asked():
    assert redact({"A": "secret"}, False) == {"A": "********"}
    assert redact({"A": "secret"}, True) == {"A": "secret"}
