# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Heroku client, with HTTP replaced at open_url (the client's boundary)."""

from __future__ import annotations

import io
import json
import pathlib
import re
import urllib.error
from email.message import Message

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _heroku
from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    HerokuClient, HerokuError, HerokuModuleError, check_connection_options, parse_exit_status, redact)

KEY = "hrku-test-0123456789abcdef"


class Module:
    """What the client needs of an AnsibleModule."""

    def __init__(self, **params):
        self.params = {"api_key": KEY, "api_url": "https://api.example.test", "validate_certs": True, "ca_path": None,
                       "timeout": 30, "retries": 3, "retry_delay": 1.0, **params}


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
    assert client().post("/apps", {"name": "app1"}, app="app1") == {"name": "app1"}
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
        client().post("/apps", {"name": "x"}, app="taken-name")
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
    assert c.post("/apps", {}, app="a") == {"ok": True}
    assert len(calls) == 4
    assert c.retried == 3
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2]
    assert 0.75 <= sleeps[0] <= 1.0


def test_retry_after_header_wins(http):
    _calls, answers = http
    answers.append(http_error("u", 503, {"id": "unavailable", "message": "down"}, {"Retry-After": "7"}))
    answers.append(Response(200, []))
    sleeps = []
    client(sleeps).get("/apps")
    assert sleeps == [7.0]


def test_retries_run_out_with_the_api_error(http):
    calls, answers = http
    for _attempt in range(4):
        answers.append(http_error("u", 429, {"id": "rate_limit", "message": "slow down"}))
    with pytest.raises(HerokuError, match="rate_limit: slow down"):
        client().get("/apps")
    assert len(calls) == 4  # the first try and 3 retries


@pytest.mark.parametrize("method, status, tries", [("POST", 500, 1), ("GET", 500, 2), ("POST", 503, 2), ("PATCH", 502, 2),
                                                   ("POST", 422, 1), ("GET", 404, 1)])
def test_which_failures_are_retried(http, method, status, tries):
    calls, answers = http
    answers.append(http_error("u", status, {"id": "e", "message": "m"}))
    answers.append(Response(200, {}))
    try:
        client().call(method, "/apps/{app}", {} if method != "GET" else None, app="t")
    except HerokuError:
        pass
    assert len(calls) == tries


def test_low_rate_limit_spaces_out_requests(http):
    _calls, answers = http
    answers.append(Response(200, {}, {"RateLimit-Remaining": "5"}))
    answers.append(Response(200, {}, {"RateLimit-Remaining": "4"}))
    sleeps = []
    c = client(sleeps)
    c.get("/apps/{app}", app="a")
    assert not sleeps
    c.get("/apps/{app}", app="a")
    assert sleeps == [1.0]


def test_list_follows_next_range(http):
    calls, answers = http
    answers.append(Response(206, [{"id": 1}, {"id": 2}], {"Next-Range": "]2..; max=2"}))
    answers.append(Response(206, [{"id": 3}, {"id": 4}], {"Next-Range": "]4..; max=2"}))
    answers.append(Response(200, [{"id": 5}]))
    items = client().list("/apps")
    assert [i["id"] for i in items] == [1, 2, 3, 4, 5]
    assert "Range" not in calls[0]["headers"]
    assert calls[1]["headers"]["Range"] == "]2..; max=2"
    assert calls[2]["headers"]["Range"] == "]4..; max=2"


def test_get_or_none_is_none_for_404_only(http):
    _calls, answers = http
    answers.append(http_error("u", 404, {"id": "not_found", "message": "Couldn't find that app."}))
    answers.append(http_error("u", 403, {"id": "forbidden", "message": "no access"}))
    c = client()
    assert c.get_or_none("/apps/{app}", app="x") is None
    with pytest.raises(HerokuError, match="Failed to read app 'x': forbidden: no access"):
        c.get_or_none("/apps/{app}", app="x")


def test_connection_errors_are_not_retried_for_post(http):
    calls, answers = http
    answers.append(urllib.error.URLError("connection refused"))
    with pytest.raises(HerokuError, match="connection_error: cannot reach https://api.example.test: connection refused"):
        client().post("/apps", {}, app="a")
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
    with pytest.raises(HerokuModuleError) as caught:
        HerokuClient(Module(**params))
    assert message in str(caught.value)
    assert KEY not in str(caught.value)


def test_exit_status_marker_is_parsed_and_removed():
    output = "0 1 1 2\n\uFFFF heroku-command-exit-status: 3\n"
    assert parse_exit_status(output) == ("0 1 1 2\n", 3)
    assert parse_exit_status("no marker\n") == ("no marker\n", None)
    # Output that contains the text of the marker itself (for example the echoed command) uses the last one.
    assert parse_exit_status("x\n\uFFFF heroku-command-exit-status: 1\n\uFFFF heroku-command-exit-status: 0\n")[1] == 0


def test_redact_hides_values_unless_asked():
    assert redact({"A": "secret"}, False) == {"A": "********"}
    assert redact({"A": "secret"}, True) == {"A": "secret"}


# -- the words of error messages come from the call ------------------------------------------------------------

# Every API call the modules make (method, path template) and the start of its error message for app 'my-app'.
CALLS = [
    ("GET", "/apps/{app}", "Failed to read app 'my-app'"),
    ("POST", "/apps", "Failed to create app 'my-app'"),
    ("POST", "/teams/apps", "Failed to create app 'my-app'"),
    ("PATCH", "/apps/{app}", "Failed to update app 'my-app'"),
    ("DELETE", "/apps/{app}", "Failed to delete app 'my-app'"),
    ("GET", "/apps/{app}/config-vars", "Failed to read config vars of app 'my-app'"),
    ("PATCH", "/apps/{app}/config-vars", "Failed to set config vars of app 'my-app'"),
    ("GET", "/apps/{app}/buildpack-installations", "Failed to read buildpacks of app 'my-app'"),
    ("PUT", "/apps/{app}/buildpack-installations", "Failed to set buildpacks of app 'my-app'"),
    ("GET", "/apps/{app}/formation", "Failed to read formation of app 'my-app'"),
    ("PATCH", "/apps/{app}/formation", "Failed to scale formation of app 'my-app'"),
    ("GET", "/apps/{app}/releases", "Failed to read releases of app 'my-app'"),
    ("POST", "/apps/{app}/releases", "Failed to roll back app 'my-app'"),
    ("GET", "/apps/{app}/releases/{version}", "Failed to read release of app 'my-app'"),
    ("GET", "/apps/{app}/releases/{release}", "Failed to read release of app 'my-app'"),
    ("GET", "/apps/{app}/releases/{version}/config-vars", "Failed to read config vars of app 'my-app'"),
    ("GET", "/apps/{app}/builds", "Failed to read builds of app 'my-app'"),
    ("POST", "/apps/{app}/builds", "Failed to create build of app 'my-app'"),
    ("GET", "/apps/{app}/builds/{build}", "Failed to read build of app 'my-app'"),
    ("POST", "/sources", "Failed to create source upload for app 'my-app'"),
    ("POST", "/apps/{app}/dynos", "Failed to start one-off dyno of app 'my-app'"),
    ("POST", "/apps/{app}/log-sessions", "Failed to open log session of app 'my-app'"),
    ("GET", "/dyno-sizes/{size}", "Failed to read dyno size 'my-app'"),
]
PLUGINS = pathlib.Path(__file__).resolve().parents[4] / "plugins"


@pytest.mark.parametrize("method, template, start", CALLS)
def test_every_call_words_its_errors(http, method, template, start):
    calls, answers = http
    answers.append(http_error("u", 422, {"id": "invalid_params", "message": "Bad\nthing"}, {"Request-Id": "r"}))
    params = {field: "v 1" for field in _heroku.path_fields(template) if field != "app"}
    with pytest.raises(HerokuError) as caught:
        client().call(method, template, {} if method in ("POST", "PATCH", "PUT") else None, app="my-app", **params)
    assert str(caught.value) == f"{start}: invalid_params: Bad thing (HTTP 422)"
    assert calls[0]["method"] == method
    assert calls[0]["url"] == "https://api.example.test" + template.replace("{app}", "my-app").replace("{version}", "v%201") \
        .replace("{release}", "v%201").replace("{build}", "v%201").replace("{size}", "v%201")


def test_every_path_in_the_modules_has_its_wording_checked():
    """A new API call in a module or in _heroku.py must be added to CALLS, so its error message is looked at."""
    sources = [PLUGINS / "module_utils" / "_heroku.py", *sorted((PLUGINS / "modules").glob("heroku_*.py"))]
    used = set()
    for source in sources:
        code = source.read_text().split('RETURN = r"""', 1)[-1]  # the code, not the documentation
        used.update(re.findall(r'"(/(?:apps|teams|sources|dyno-sizes)[^"\s]*)"', code))
    assert used, "no path templates found"
    assert used <= {template for _method, template, _start in CALLS}, used - {template for _m, template, _s in CALLS}


def test_call_words_derive_from_method_and_template():
    assert _heroku.call_words("GET", "/apps") == ("read", "apps")
    assert _heroku.call_words("DELETE", "/apps/{app}/builds/{build}") == ("delete", "build of app")
    assert _heroku.call_words("GET", "/apps/{app}/addon-attachments") == ("read", "addon attachments of app")
    assert _heroku.failure(None) == "Failed to call API"


def test_path_parameters_are_quoted_and_checked():
    c = client()
    assert c.path("/apps/{app}/releases/{version}", {"app": "a b/c", "version": 3}) == "/apps/a%20b%2Fc/releases/3"
    assert c.path("/apps", {"app": "named-in-messages-only"}) == "/apps"
    with pytest.raises(TypeError, match="has no parameter dyno"):
        c.path("/apps/{app}", {"app": "a", "dyno": "web.1"})
    with pytest.raises(KeyError):
        c.path("/apps/{app}/builds/{build}", {"app": "a"})


# -- the retry helper ---------------------------------------------------------------------------------------------

def test_with_retries_backs_off_and_gives_up_with_the_last_error():
    sleeps = []
    c = client(sleeps, retries=2, retry_delay=1.0)
    tries = []

    def send():
        tries.append(1)
        raise ConnectionResetError("reset")

    with pytest.raises(ConnectionResetError):
        c.with_retries(send, lambda exc: (True, None))
    assert len(tries) == 3
    assert 0.75 <= sleeps[0] <= 1.0 and 1.5 <= sleeps[1] <= 2.0
    assert c.retried == 2


def test_with_retries_raises_what_it_may_not_retry_at_once():
    sleeps = []
    c = client(sleeps)
    answers = [urllib.error.URLError("refused"), "ok"]

    def send():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises(urllib.error.URLError):
        c.with_retries(send, lambda exc: (False, None))
    assert not sleeps
    assert c.with_retries(send, lambda exc: (False, None)) == "ok"


def test_delays_are_capped_and_retry_after_wins():
    c = client()
    assert c._delay(0, retry_after=7) == 7
    assert c._delay(0, retry_after=600) == _heroku.MAX_DELAY
    assert c._delay(20) <= _heroku.MAX_DELAY


def test_connection_errors_are_retried_for_get(http):
    calls, answers = http
    answers.append(urllib.error.URLError("connection refused"))
    answers.append(Response(200, {"name": "a"}))
    assert client().get("/apps/{app}", app="a") == {"name": "a"}
    assert len(calls) == 2


@pytest.mark.parametrize("first, tries", [(500, 2), (503, 2), (429, 1), (403, 1), ("refused", 1)])
def test_uploads_retry_server_errors_only(http, first, tries):
    calls, answers = http
    answers.append(urllib.error.URLError(first) if first == "refused" else http_error("u", first, {"message": "x"}))
    answers.append(Response(200))
    try:
        client().put_blob("https://blobs.example.test/put", b"t", what=("upload", "source of app", "a"))
    except HerokuError as exc:
        assert str(exc).startswith("Failed to upload source of app 'a': upload_failed: ")
    assert len(calls) == tries


# -- shared reads ---------------------------------------------------------------------------------------------------

def test_current_release_asks_for_the_newest_one(http):
    calls, answers = http
    answers.append(Response(206, [{"version": 7}]))
    answers.append(Response(200, []))
    c = client()
    assert _heroku.current_release(c, "my-app") == {"version": 7}
    assert calls[0]["url"] == "https://api.example.test/apps/my-app/releases"
    assert calls[0]["headers"]["Range"] == "version ..; order=desc, max=1"
    assert _heroku.current_release(c, "my-app") is None


def test_releases_without_limit_reads_every_page_newest_first(http):
    _calls, answers = http
    answers.append(Response(206, [{"version": 1}, {"version": 2}], {"Next-Range": "]2..; max=2"}))
    answers.append(Response(200, [{"version": 3}]))
    assert [r["version"] for r in _heroku.releases(client(), "my-app")] == [3, 2, 1]


def test_log_lines_are_parsed_once_for_every_module():
    assert _heroku.parse_log_line("2026-11-22T14:20:11.123456+00:00 heroku[run.1234]: Process exited with status 3") == {
        "timestamp": "2026-11-22T14:20:11.123456+00:00", "source": "heroku", "dyno": "run.1234",
        "message": "Process exited with status 3"}
    assert _heroku.parse_log_line("2026-11-22T14:20:11Z app[web.1]:")["message"] == ""
    assert _heroku.parse_log_line("not a log line") is None


def test_log_lines_open_a_session_and_read_its_stream_without_the_key(http):
    calls, answers = http
    answers.append(Response(201, {"logplex_url": "https://logs.example.test/s/1"}))
    answers.append(io.BytesIO(b"2026-11-22T14:20:11Z app[web.1]: hello\n"))
    lines = list(_heroku.log_lines(client(), "my-app", {"lines": 5}, 3))
    assert lines == ["2026-11-22T14:20:11Z app[web.1]: hello"]
    assert calls[0]["url"] == "https://api.example.test/apps/my-app/log-sessions"
    assert json.loads(calls[0]["data"]) == {"lines": 5}
    assert "Authorization" not in calls[1]["headers"]


def test_an_answer_that_is_not_json_is_an_api_error(http):
    _calls, answers = http
    answers.append(io.BytesIO(b"<html>proxy error</html>"))
    answers[0].status, answers[0].headers = 200, {}
    with pytest.raises(HerokuError) as caught:
        client().get("/apps/{app}", app="my-app")
    assert str(caught.value) == "Failed to read app 'my-app': invalid_response: the answer is not JSON: <html>proxy error</html> (HTTP 200)"
