# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""appengine_version against the local App Engine Admin API + Cloud Storage service (tests/appengine_fake), started
in-process. Versions are deployed with appengine_deploy from builds of examples/hello-jvm that differ in their
build.properties, so the front end shows which build answers; the service's calls log shows every write."""

from __future__ import annotations

import json
import urllib.error
import zipfile

import pytest

# Imported first, as it skips this module without the Google libraries. fake_fixture, fast_fixture and svc_fixture
# are the fixtures fake, fast (autouse) and svc: pytest finds them here.
# pylint: disable-next=unused-import
from ansible_collections.jvmops.deploy.tests.unit.plugins.modules.appengine_support import (
    PROJECT, build_hello_jvm, calls, control, fake_fixture, fast_fixture, get, svc_fixture, writes)
from ansible_collections.jvmops.deploy.plugins.modules import appengine_deploy, appengine_version

HOST = f"{PROJECT}.uc.r.appspot.com"


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """{n: a hello-jvm.jar whose /version says 1.0.n}, for n in 1..3: examples/hello-jvm built once with its
    build.sh, then copied with another build.properties."""
    root = tmp_path_factory.mktemp("hello")
    built = build_hello_jvm(root)
    out = {}
    for n in (1, 2, 3):
        target = root / f"build{n}" / "hello-jvm.jar"
        target.parent.mkdir()
        with zipfile.ZipFile(built) as source, zipfile.ZipFile(target, "w") as dest:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "build.properties":
                    data = f"version=1.0.{n}\nbuild=build{n}\n".encode()
                dest.writestr(info, data)
        out[n] = target
    return out


@pytest.fixture(name="three")
def three_fixture(invoke, svc, builds):
    """v1, v2 and v3 deployed in that order (builds 1.0.1 to 1.0.3), each promoted: v3 has all the traffic, v1
    and v2 serve none and still run. The calls log starts empty."""
    for n in (1, 2, 3):
        deployed = invoke(appengine_deploy.main, {**connection(svc), "src": str(builds[n]), "version": f"v{n}"})
        assert not deployed.failed, deployed.result
    control(svc, "/__fake__/reset-calls", {})
    return svc


def connection(fake):
    return {"project": PROJECT, "access_token": fake.token, "api_endpoint": fake.endpoint,
            "storage_endpoint": fake.storage.endpoint}


def run(invoke, fake, check=False, diff=False, **options):
    return invoke(appengine_version.main, {**connection(fake), **options}, check=check, diff=diff)


def ok(invoke, fake, check=False, diff=False, **options):
    result = run(invoke, fake, check=check, diff=diff, **options)
    assert not result.failed, result.result
    return result.result


def served(fake, host):
    """The build that answers /version for a hostname, or the HTTP status when it does not answer."""
    try:
        return get(fake, host)["version"]
    except urllib.error.HTTPError as exc:
        return exc.code


def by_id(result):
    return {row["id"]: (row["serving_status"], row["traffic"]) for row in result["versions"]}


def test_list_newest_first_with_traffic_and_status(invoke, three):
    result = ok(invoke, three)
    assert not result["changed"]
    assert [row["id"] for row in result["versions"]] == ["v3", "v2", "v1"]
    assert by_id(result) == {"v3": ("SERVING", 1.0), "v2": ("SERVING", 0.0), "v1": ("SERVING", 0.0)}
    assert result["versions"][0]["version_url"] == f"https://v3-dot-default-dot-{HOST}"
    assert result["split"] == result["split_before"] == {"v3": 1.0}
    assert (result["deleted"], result["stopped"], result["started"]) == ([], [], [])
    assert "rolled_back_to" not in result
    assert writes(three) == [] and calls(three)
    assert three.token not in json.dumps(result)
    # A service that does not exist has no versions.
    empty = ok(invoke, three, service="api")
    assert (empty["changed"], empty["versions"], empty["split"]) == (False, [], {})


def test_stop_and_start_then_unchanged(invoke, three):
    stopped = ok(invoke, three, state="stopped", version="v2", diff=True)
    assert stopped["changed"] and stopped["stopped"] == ["v2"]
    assert by_id(stopped)["v2"] == ("STOPPED", 0.0)
    assert stopped["diff"]["before"]["versions"]["v2"] == "SERVING"
    assert stopped["diff"]["after"]["versions"]["v2"] == "STOPPED"
    assert writes(three) == ["apps.services.versions.patch"]
    assert served(three, f"v2-dot-default-dot-{HOST}") == 503

    control(three, "/__fake__/reset-calls", {})
    again = ok(invoke, three, state="stopped", version="v2")
    assert not again["changed"] and again["stopped"] == [] and writes(three) == []

    started = ok(invoke, three, state="started", version="v2")
    assert started["changed"] and started["started"] == ["v2"]
    assert by_id(started)["v2"] == ("SERVING", 0.0)
    assert served(three, f"v2-dot-default-dot-{HOST}") == "1.0.2"
    control(three, "/__fake__/reset-calls", {})
    assert not ok(invoke, three, state="started", version="v2")["changed"]
    assert writes(three) == []


def test_stopping_the_serving_version_warns(invoke, three):
    result = ok(invoke, three, state="stopped", version="v3")
    assert result["changed"] and by_id(result)["v3"] == ("STOPPED", 1.0)
    assert any("'v3'" in text and "100%" in text for text in invoke.warnings)


def test_absent_refuses_a_version_with_traffic_and_deletes_one_without(invoke, three):
    refused = run(invoke, three, state="absent", version="v3")
    assert refused.failed
    assert refused.result["msg"].startswith("Refusing to delete version 'v3' of service 'default': it receives 100% "
                                            "of the traffic")
    assert "Move its traffic to other versions first" in refused.result["msg"]
    assert writes(three) == []

    deleted = ok(invoke, three, state="absent", version="v1", diff=True)
    assert deleted["changed"] and deleted["deleted"] == ["v1"]
    assert [row["id"] for row in deleted["versions"]] == ["v3", "v2"]
    assert deleted["diff"]["before"]["versions"] == {"v1": "SERVING", "v2": "SERVING", "v3": "SERVING"}
    assert deleted["diff"]["after"]["versions"] == {"v2": "SERVING", "v3": "SERVING"}
    assert writes(three) == ["apps.services.versions.delete"]
    assert served(three, f"v1-dot-default-dot-{HOST}") == 404

    control(three, "/__fake__/reset-calls", {})
    again = ok(invoke, three, state="absent", version="v1")
    assert not again["changed"] and again["deleted"] == [] and writes(three) == []


def test_prune_keeps_the_newest_and_the_serving_one(invoke, three):
    ok(invoke, three, state="rolled_back", to_version="v1")
    control(three, "/__fake__/reset-calls", {})
    predicted = ok(invoke, three, state="pruned", keep=1, check=True, diff=True)
    assert predicted["changed"] and predicted["deleted"] == ["v2"]
    assert [row["id"] for row in predicted["versions"]] == ["v3", "v1"]
    assert predicted["diff"]["after"]["versions"] == {"v1": "SERVING", "v3": "SERVING"}
    assert writes(three) == []

    pruned = ok(invoke, three, state="pruned", keep=1)
    assert pruned["changed"] and pruned["deleted"] == ["v2"]
    assert by_id(pruned) == {"v3": ("SERVING", 0.0), "v1": ("SERVING", 1.0)}
    assert writes(three) == ["apps.services.versions.delete"]
    assert served(three, HOST) == "1.0.1"

    control(three, "/__fake__/reset-calls", {})
    again = ok(invoke, three, state="pruned", keep=1)
    assert not again["changed"] and again["deleted"] == [] and writes(three) == []


def test_prune_spares_protected_versions(invoke, three):
    pruned = ok(invoke, three, state="pruned", keep=1, protect=["v1"])
    assert pruned["deleted"] == ["v2"]
    assert [row["id"] for row in pruned["versions"]] == ["v3", "v1"]
    everything = ok(invoke, three, state="pruned", keep=5)
    assert not everything["changed"]


def test_rollback_moves_traffic_to_the_previous_build_then_is_unchanged(invoke, three):
    assert served(three, HOST) == "1.0.3"
    result = ok(invoke, three, state="rolled_back", stop_previous=True, diff=True)
    assert result["changed"]
    assert (result["rolled_back_to"], result["rolled_back_from"]) == ("v2", "v3")
    assert (result["split_before"], result["split"]) == ({"v3": 1.0}, {"v2": 1.0})
    assert (result["stopped"], result["started"], result["deleted"]) == (["v3"], [], [])
    assert by_id(result) == {"v3": ("STOPPED", 0.0), "v2": ("SERVING", 1.0), "v1": ("SERVING", 0.0)}
    assert result["diff"]["before"]["split"] == {"v3": 1.0}
    assert result["diff"]["after"] == {"split": {"v2": 1.0},
                                       "versions": {"v1": "SERVING", "v2": "SERVING", "v3": "STOPPED"}}
    assert writes(three) == ["apps.services.patch", "apps.services.versions.patch"]
    assert served(three, HOST) == "1.0.2"
    assert served(three, f"default-dot-{HOST}") == "1.0.2"

    # The second run does not roll back one more version: v3, newer than v2, is the one rolled back from.
    control(three, "/__fake__/reset-calls", {})
    again = ok(invoke, three, state="rolled_back", stop_previous=True)
    assert not again["changed"]
    assert (again["rolled_back_to"], again["rolled_back_from"]) == ("v2", None)
    assert writes(three) == []
    assert served(three, HOST) == "1.0.2"


def test_rollback_to_a_stopped_version_starts_it_first(invoke, three):
    ok(invoke, three, state="stopped", version="v1")
    control(three, "/__fake__/reset-calls", {})
    result = ok(invoke, three, state="rolled_back", to_version="v1")
    assert result["changed"] and result["started"] == ["v1"] and result["split"] == {"v1": 1.0}
    assert result["rolled_back_from"] == "v3"
    assert writes(three) == ["apps.services.versions.patch", "apps.services.patch"]
    assert served(three, HOST) == "1.0.1"
    control(three, "/__fake__/reset-calls", {})
    assert not ok(invoke, three, state="rolled_back", to_version="v1")["changed"]
    assert writes(three) == []


def test_rollback_of_a_canary_takes_all_traffic_back(invoke, three, builds):
    # v2 90 %, v3 10 %: a canary of v3 (appengine_deploy only moves the split: v3 exists with the same files).
    canary = invoke(appengine_deploy.main, {**connection(three), "src": str(builds[3]), "version": "v3",
                                            "split": {"v2": 0.9, "v3": 0.1}})
    assert not canary.failed, canary.result
    assert not canary.result["created"]
    result = ok(invoke, three, state="rolled_back")
    assert (result["rolled_back_to"], result["rolled_back_from"]) == ("v2", "v3")
    assert (result["split_before"], result["split"]) == ({"v2": 0.9, "v3": 0.1}, {"v2": 1.0})
    assert served(three, HOST) == "1.0.2"
    assert not ok(invoke, three, state="rolled_back")["changed"]


def test_check_mode_predicts_without_any_write(invoke, three):
    for options in ({"state": "rolled_back", "stop_previous": True}, {"state": "stopped", "version": "v3"},
                    {"state": "absent", "version": "v1"}, {"state": "pruned", "keep": 1},
                    {"state": "rolled_back", "to_version": "v1"}):
        predicted = ok(invoke, three, check=True, diff=True, **options)
        assert predicted["changed"], options
        assert predicted["diff"]["before"] != predicted["diff"]["after"], options
    assert writes(three) == []
    predicted = ok(invoke, three, state="rolled_back", stop_previous=True, check=True)
    real = ok(invoke, three, state="rolled_back", stop_previous=True)
    assert ({key: predicted[key] for key in ("split", "stopped", "rolled_back_to", "rolled_back_from")}
            == {key: real[key] for key in ("split", "stopped", "rolled_back_to", "rolled_back_from")})
    assert by_id(predicted) == by_id(real)


@pytest.mark.parametrize("options, message", [
    ({"state": "absent"}, "version: state=absent needs the version to change"),
    ({"state": "stopped", "version": "V2"}, "version: 'V2' may hold only lower-case letters"),
    ({"state": "started", "version": "ah-builtin"}, "reserved prefix 'ah-'"),
    ({"state": "pruned"}, "keep: state=pruned needs how many"),
    ({"state": "pruned", "keep": 0}, "keep: must be 1 or more, got 0"),
    ({"state": "pruned", "keep": 2, "protect": ["Old_One"]}, "protect: 'Old_One' may hold only"),
    ({"state": "rolled_back", "to_version": "-v1"}, "to_version: '-v1' may hold only"),
    ({"state": "rolled_back", "version": "v1"}, "version: only for state=stopped, started or absent, not "
                                                "state=rolled_back (give to_version)"),
    ({"keep": 2}, "keep: only for state=pruned, and state is not given (the module only reads)"),
    ({"version": "v1"}, "version: only for state=stopped, started or absent, and state is not given"),
    ({"state": "absent", "version": "v1", "to_version": "v2"}, "to_version: only for state=rolled_back"),
    ({"service": "My_Service"}, "service: 'My_Service' may hold only"),
    ({"project": "Jvmops-Test"}, "project: 'Jvmops-Test' must not contain upper-case letters"),
    ({"state": "stopped", "version": "v1", "wait_timeout": 0}, "wait_timeout: must be 1 or more"),
])
def test_bad_input_fails_before_any_call(invoke, svc, options, message):
    control(svc, "/__fake__/reset-calls", {})
    result = run(invoke, svc, **options)
    assert result.failed
    assert message in result.result["msg"]
    assert calls(svc) == []


def test_unknown_versions_fail_clearly_after_the_read(invoke, three):
    unknown = run(invoke, three, state="rolled_back", to_version="v9")
    assert unknown.failed
    assert unknown.result["msg"] == "to_version: service 'default' has no version 'v9' (it has: v3, v2, v1)"
    missing = run(invoke, three, state="stopped", version="v9")
    assert missing.failed and missing.result["msg"] == "version: service 'default' has no version 'v9' (it has: v3, v2, v1)"
    assert writes(three) == [] and calls(three)


def test_rollback_without_an_older_version_fails_clearly(invoke, svc, builds):
    deployed = invoke(appengine_deploy.main, {**connection(svc), "src": str(builds[1]), "version": "v1"})
    assert not deployed.failed, deployed.result
    control(svc, "/__fake__/reset-calls", {})
    result = run(invoke, svc, state="rolled_back")
    assert result.failed
    assert result.result["msg"] == ("Service 'default' has no version older than 'v1' that can serve (versions: v1), "
                                    "so there is none to roll back to")
    assert writes(svc) == []
    nothing = run(invoke, svc, state="rolled_back", service="api")
    assert nothing.failed and "has no version that receives traffic" in nothing.result["msg"]


def test_google_errors_name_the_call(invoke, three):
    control(three, "/__fake__/faults", {"fail": {"apps.services.versions.delete": {"status": 500, "count": 1}}})
    result = run(invoke, three, state="absent", version="v1")
    assert result.failed
    assert result.result["msg"].startswith("Failed to delete version 'v1' of service 'default':")
    assert result.result["status"] == 500
    assert three.token not in json.dumps(result.result)
