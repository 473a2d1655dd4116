# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""beanstalk_swap: option checks before any call, the swap, its wait, check mode and idempotence.

AWS is stubbed at the client boundary: AnsibleAWSModule.client hands out real boto3 clients wrapped as amazon.aws
wraps them, with a botocore Stubber that checks every call's parameters against the service model.
"""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import beanstalk_swap

T0 = datetime.datetime(2026, 1, 6, 9, 30, tzinfo=datetime.timezone.utc)
LIVE = "shop.us-east-1.elasticbeanstalk.com"
SPARE = "shop-green.us-east-1.elasticbeanstalk.com"
ARGS = {"application": "shop", "environment": "shop-green", "cname": "shop", "wait_timeout": 60}


class FakeTime:
    """Stands for the time module in beanstalk_swap: monotonic() moves only with sleep()."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch):
    clock = FakeTime()
    monkeypatch.setattr(beanstalk_swap, "time", clock)
    return clock


def env(name, cname, status="Ready", health="Green", version="1.4.0"):
    return {"EnvironmentName": name, "EnvironmentId": f"e-{name}", "ApplicationName": "shop", "VersionLabel": version,
            "CNAME": cname, "Status": status, "Health": health, "DateCreated": T0, "DateUpdated": T0}


def blue(cname=LIVE, status="Ready"):
    return env("shop-blue", cname, status, version="1.3.2")


def green(cname=SPARE, status="Ready"):
    return env("shop-green", cname, status)


def expect_all(aws, *envs):
    aws.eb.add_response("describe_environments", {"Environments": list(envs)}, {"ApplicationName": "shop"})


def expect_pair(aws, *envs):
    aws.eb.add_response("describe_environments", {"Environments": list(envs)},
                        {"ApplicationName": "shop", "EnvironmentNames": ["shop-green", "shop-blue"]})


def expect_swap(aws):
    aws.eb.add_response("swap_environment_cnames", {},
                        {"SourceEnvironmentName": "shop-green", "DestinationEnvironmentName": "shop-blue"})


@pytest.mark.parametrize("args, message", [
    ({"application": "shop/web"}, "application: 'shop/web' must not contain '/'"),
    ({"environment": "shop_green"}, "environment: 'shop_green' may contain only letters, digits and hyphens"),
    ({"environment": "abc"}, "environment: 'abc' must be 4 to 40 characters long (got 3)"),
    ({"cname": "abc"}, "cname: 'abc' must be 4 to 63 characters long (got 3)"),
    ({"cname": "shop..us-east-1.elasticbeanstalk.com"}, "cname: 'shop..us-east-1.elasticbeanstalk.com' must not begin or end"),
    ({"cname": "http://shop"}, "cname: 'http://shop' may contain only letters, digits and hyphens"),
    ({"wait_timeout": 0}, "wait_timeout: must be 1 second or more, got 0"),
])
def test_bad_options_fail_before_any_call(invoke, aws, args, message):
    result = invoke(beanstalk_swap.main, {**ARGS, **args})
    assert result.failed
    assert message in result.result["msg"]
    assert aws.calls == [] and aws.asked == []


def test_every_bad_option_is_reported_at_once(invoke, aws):
    result = invoke(beanstalk_swap.main, {**ARGS, "environment": "abc", "cname": "a_b"})
    assert result.failed
    assert result.result["msg"] == ("environment: 'abc' must be 4 to 40 characters long (got 3); "
                                    "cname: 'a_b' must be 4 to 63 characters long (got 3)")
    assert aws.calls == []


def test_swap_moves_the_cname_waits_and_reads_back(invoke, aws, clock):
    expect_all(aws, blue(), green())
    expect_swap(aws)
    expect_pair(aws, blue(status="Updating"), green(status="Updating"))  # the swap is under way
    expect_pair(aws, blue(SPARE), green(LIVE, status="Updating"))
    expect_pair(aws, blue(SPARE), green(LIVE))
    result = invoke(beanstalk_swap.main, ARGS, diff=True)
    assert not result.failed, result.result["msg"]
    assert result.result["changed"]
    assert result.result["environment"]["environment_name"] == "shop-green"
    assert result.result["environment"]["cname"] == LIVE
    assert result.result["environment"]["url"] == f"http://{LIVE}/"
    assert result.result["previous"]["environment_name"] == "shop-blue"
    assert result.result["previous"]["cname"] == SPARE
    assert result.result["cname"] == LIVE
    assert result.result["diff"] == {"before": {"cname": LIVE, "holder": "shop-blue"},
                                     "after": {"cname": LIVE, "holder": "shop-green"}}
    assert aws.calls == ["DescribeEnvironments", "SwapEnvironmentCNAMEs"] + ["DescribeEnvironments"] * 3
    assert clock.sleeps == [beanstalk_swap.POLL_DELAY] * 2


def test_the_repeat_changes_nothing(invoke, aws):
    expect_all(aws, blue(SPARE), green(LIVE))
    result = invoke(beanstalk_swap.main, ARGS, diff=True)
    assert not result.failed, result.result["msg"]
    assert not result.result["changed"]
    assert result.result["environment"]["cname"] == LIVE
    assert "previous" not in result.result
    assert result.result["diff"]["before"] == result.result["diff"]["after"] == {"cname": LIVE, "holder": "shop-green"}
    assert "SwapEnvironmentCNAMEs" not in aws.calls


def test_the_holder_is_not_ready_is_no_matter_when_nothing_is_to_do(invoke, aws):
    expect_all(aws, blue(SPARE, status="Updating"), green(LIVE))
    result = invoke(beanstalk_swap.main, {**ARGS, "cname": LIVE.upper()})
    assert not result.failed and not result.result["changed"]


@pytest.mark.parametrize("cname", ["shop", "SHOP", LIVE, "Shop.US-East-1.ElasticBeanstalk.com"])
def test_check_mode_predicts_without_writing(invoke, aws, cname):
    expect_all(aws, blue(), green())
    result = invoke(beanstalk_swap.main, {**ARGS, "cname": cname}, check=True, diff=True)
    assert not result.failed, result.result["msg"]
    assert result.result["changed"]
    assert result.result["environment"]["environment_name"] == "shop-green"
    assert result.result["environment"]["cname"] == LIVE
    assert result.result["previous"]["environment_name"] == "shop-blue"
    assert result.result["previous"]["cname"] == SPARE
    assert result.result["cname"] == LIVE
    assert result.result["diff"]["after"] == {"cname": LIVE, "holder": "shop-green"}
    assert aws.calls == ["DescribeEnvironments"]


def test_swapping_back_is_running_again_with_the_previous_environment(invoke, aws, clock):
    expect_all(aws, blue(SPARE), green(LIVE))
    aws.eb.add_response("swap_environment_cnames", {},
                        {"SourceEnvironmentName": "shop-blue", "DestinationEnvironmentName": "shop-green"})
    aws.eb.add_response("describe_environments", {"Environments": [blue(LIVE), green(SPARE)]},
                        {"ApplicationName": "shop", "EnvironmentNames": ["shop-blue", "shop-green"]})
    result = invoke(beanstalk_swap.main, {**ARGS, "environment": "shop-blue"})
    assert not result.failed, result.result["msg"]
    assert result.result["changed"]
    assert result.result["environment"]["environment_name"] == "shop-blue"
    assert result.result["previous"]["environment_name"] == "shop-green"
    assert clock.sleeps == []


@pytest.mark.parametrize("envs, message", [
    ([blue(), green(status="Updating")],
     "Cannot swap the CNAME 'shop.us-east-1.elasticbeanstalk.com' to environment 'shop-green': environment "
     "'shop-green' is Updating, and it must be Ready to give it the CNAME"),
    ([blue(status="Launching"), green()],
     "environment 'shop-blue' is Launching, and it must be Ready to take the CNAME from it"),
    ([blue(SPARE.replace("shop-green", "shop-old")), green()],
     "No live environment of application 'shop' has the CNAME 'shop' (its live environments: "
     "shop-blue (shop-old.us-east-1.elasticbeanstalk.com), shop-green (shop-green.us-east-1.elasticbeanstalk.com))"),
    ([blue()], "Application 'shop' has no live environment 'shop-green' (its live environments: "
               "shop-blue (shop.us-east-1.elasticbeanstalk.com))"),
    ([blue(), env("shop-green", SPARE, status="Terminated")], "Application 'shop' has no live environment 'shop-green'"),
])
def test_refusals_make_no_write(invoke, aws, envs, message):
    expect_all(aws, *envs)
    result = invoke(beanstalk_swap.main, ARGS)
    assert result.failed
    assert message in result.result["msg"]
    assert not result.result.get("changed")
    assert aws.calls == ["DescribeEnvironments"]


def test_a_prefix_does_not_match_a_longer_prefix(invoke, aws):
    expect_all(aws, env("shop-blue", "shop-live.us-east-1.elasticbeanstalk.com"), green())
    result = invoke(beanstalk_swap.main, {**ARGS, "cname": "shop-liv"})
    assert result.failed
    assert "No live environment of application 'shop' has the CNAME 'shop-liv'" in result.result["msg"]


def test_a_swap_that_does_not_finish_fails_at_the_timeout_as_a_change(invoke, aws, clock):
    expect_all(aws, blue(), green())
    expect_swap(aws)
    for _poll in range(4):
        expect_pair(aws, blue(SPARE, status="Updating"), green(LIVE))
    result = invoke(beanstalk_swap.main, {**ARGS, "wait_timeout": 12})
    assert result.failed
    assert result.result["changed"]
    assert result.result["msg"].startswith("Timed out after 12 s waiting for the CNAME swap between environments "
                                           "'shop-green' and 'shop-blue' to finish")
    assert "'shop-blue' is Updating" in result.result["msg"]
    assert result.result["previous"]["environment_name"] == "shop-blue"
    assert clock.now == 12


def test_an_environment_terminated_during_the_wait_fails_as_a_change(invoke, aws, clock):
    expect_all(aws, blue(), green())
    expect_swap(aws)
    expect_pair(aws, green(LIVE))
    result = invoke(beanstalk_swap.main, ARGS)
    assert result.failed and result.result["changed"]
    assert "Environment 'shop-blue' of application 'shop' was terminated" in result.result["msg"]


def test_a_refused_swap_fails_with_the_service_message(invoke, aws):
    expect_all(aws, blue(), green())
    aws.eb.add_client_error("swap_environment_cnames", "InvalidParameterValue",
                            "Environment named shop-blue is in an invalid state for this operation. Must be Ready.")
    result = invoke(beanstalk_swap.main, ARGS)
    assert result.failed
    assert result.result["msg"].startswith("Failed to swap the CNAMEs of environments 'shop-green' and 'shop-blue': ")
    assert result.result["msg"].endswith("Environment named shop-blue is in an invalid state for this operation. Must be Ready.")
    assert result.result["error"]["code"] == "InvalidParameterValue"
