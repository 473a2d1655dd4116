# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_beanstalk: the naming rules, the reads and the waits, with boto3 stubbed at the client (botocore Stubber)."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from ansible_collections.jvmops.deploy.plugins.module_utils import _beanstalk
from ansible_collections.jvmops.deploy.plugins.module_utils._beanstalk import (
    BeanstalkError, bucket_name_problem, check_names, cname_matches, cname_problem, describe_versions,
    environment_result, wait_for_environment, wait_until_gone)

T0 = datetime.datetime(2026, 1, 6, 9, 30, tzinfo=datetime.timezone.utc)


# ---------------------------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize("name, rule", [
    ("test_2", "must not contain '_'"),
    ("Shop-Artifacts", "must not contain upper-case letters"),
    ("ab", "must be 3 to 63 characters long (got 2)"),
    ("a" * 64, "must be 3 to 63 characters long (got 64)"),
    ("192.168.5.4", "must not be formatted as an IP address"),
    ("xn--shop-artifacts", "must not start with the reserved prefix 'xn--'"),
    ("sthree-shop", "must not start with the reserved prefix 'sthree-'"),
    ("shop-artifacts-s3alias", "must not end with the reserved suffix '-s3alias'"),
    ("shop--ol-s3", "must not end with the reserved suffix '--ol-s3'"),
    ("shop..artifacts", "must not contain two adjacent dots"),
    ("-shop", "must begin and end with a letter or a digit"),
    ("shop.", "must begin and end with a letter or a digit"),
    ("shop artifacts", "may contain only lower-case letters, digits, dots and hyphens"),
])
def test_bucket_names_that_break_a_rule(name, rule):
    assert rule in bucket_name_problem(name)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "shop-artifacts", "shop.artifacts.eu", "192.168.5", "1shop2",
                                  "elasticbeanstalk-us-east-1-123456789012"])
def test_valid_bucket_names(name):
    assert bucket_name_problem(name) is None


def test_check_names_reports_option_value_and_rule_in_option_order():
    problems = check_names({"bucket": "test_2", "environment": "ab", "application": "shop", "cname_prefix": None})
    assert problems == [
        "environment: 'ab' must be 4 to 40 characters long (got 2)",
        "bucket: 'test_2' must not contain '_' (underscores are not allowed in S3 bucket names)",
    ]
    assert check_names({"application": "shop", "environment": "shop-blue", "version_label": "1.4.0 (build 7)",
                        "bucket": "shop-artifacts", "cname_prefix": "shop"}) == []


@pytest.mark.parametrize("option, value, rule", [
    ("environment", "abc", "must be 4 to 40 characters long (got 3)"),
    ("environment", "a" * 41, "must be 4 to 40 characters long (got 41)"),
    ("environment", "shop_blue", "may contain only letters, digits and hyphens"),
    ("environment", "shop.blue", "may contain only letters, digits and hyphens"),
    ("environment", "-shop", "must not begin or end with a hyphen"),
    ("environment", "shop-", "must not begin or end with a hyphen"),
    ("cname_prefix", "a" * 64, "must be 4 to 63 characters long (got 64)"),
    ("application", "", "must be 1 to 100 characters long"),
    ("application", "a" * 101, "must be 1 to 100 characters long"),
    ("application", "shop/web", "must not contain '/'"),
    ("version_label", "1.0\n", "must not contain control characters"),
])
def test_name_rules(option, value, rule):
    assert check_names({option: value}) == [f"{option}: '{value}' {rule}"]


@pytest.mark.parametrize("value", ["shop", "Shop-Live", "a" * 63, "shop.us-east-1.elasticbeanstalk.com"])
def test_valid_cnames(value):
    assert cname_problem(value) is None


@pytest.mark.parametrize("value, rule", [
    ("abc", "must be 4 to 63 characters long (got 3)"),
    ("shop_live", "may contain only letters, digits and hyphens"),
    ("abc.us-east-1.elasticbeanstalk.com", "has the prefix 'abc', which must be 4 to 63 characters long (got 3)"),
    ("shop..elasticbeanstalk.com", "must not begin or end with a dot or contain two adjacent dots"),
    ("shop.elasticbeanstalk.com.", "must not begin or end with a dot or contain two adjacent dots"),
    ("shop.us_east_1.elasticbeanstalk.com", "has the label 'us_east_1', which may contain only letters, digits and hyphens"),
])
def test_cnames_that_break_a_rule(value, rule):
    assert cname_problem(value) == rule


@pytest.mark.parametrize("cname, env_cname, matches", [
    ("shop", "shop.us-east-1.elasticbeanstalk.com", True),
    ("SHOP", "shop.us-east-1.elasticbeanstalk.com", True),
    ("shop", "shop-green.us-east-1.elasticbeanstalk.com", False),
    ("shop-green", "shop.us-east-1.elasticbeanstalk.com", False),
    ("Shop.US-East-1.elasticbeanstalk.com", "shop.us-east-1.elasticbeanstalk.com", True),
    ("shop.eu-west-1.elasticbeanstalk.com", "shop.us-east-1.elasticbeanstalk.com", False),
    ("shop", None, False),
])
def test_cname_matches(cname, env_cname, matches):
    assert cname_matches(cname, env_cname) is matches


# ---------------------------------------------------------------------------------------------------------------
# Reads and waits, against a stubbed elasticbeanstalk client


@pytest.fixture(name="eb")
def eb_fixture():
    """(client as the modules get it, Stubber)."""
    client = boto3.client("elasticbeanstalk", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stubber:
        yield RetryingBotoClientWrapper(client, _beanstalk.RETRY), stubber
        stubber.assert_no_pending_responses()


def env(status="Ready", health="Green", name="shop-blue"):
    return {"EnvironmentName": name, "EnvironmentId": "e-abcdef1234", "ApplicationName": "shop", "VersionLabel": "1.4.0",
            "CNAME": "shop.us-east-1.elasticbeanstalk.com", "Status": status, "Health": health,
            "DateCreated": T0, "DateUpdated": T0}


def expect_environments(stubber, *envs, name="shop-blue"):
    stubber.add_response("describe_environments", {"Environments": list(envs)},
                         {"ApplicationName": "shop", "EnvironmentNames": [name]})


def expect_events(stubber, *messages):
    events = [{"EventDate": T0 + datetime.timedelta(seconds=i), "Message": m, "Severity": s, "EnvironmentName": "shop-blue"}
              for i, (s, m) in enumerate(messages)]
    stubber.add_response("describe_events", {"Events": list(reversed(events))},
                         {"ApplicationName": "shop", "EnvironmentName": "shop-blue", "StartTime": T0})


class Clock:
    """A monotonic clock that only sleep() moves."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def wait(eb, clock, timeout=10):
    return wait_for_environment(eb, "shop", "shop-blue", timeout, T0, delay=2.0, clock=clock, sleep=clock.sleep)


def test_wait_returns_green_at_once_without_sleeping(eb):
    client, stubber = eb
    clock = Clock()
    expect_environments(stubber, env())
    expect_events(stubber, ("INFO", "Environment update completed successfully."))
    found, events, outcome = wait(client, clock)
    assert outcome == "green"
    assert found["Status"] == "Ready"
    assert [e["Message"] for e in events] == ["Environment update completed successfully."]
    assert clock.sleeps == []


def test_wait_waits_out_updating_grey_and_yellow_then_green(eb):
    client, stubber = eb
    clock = Clock()
    expect_environments(stubber, env("Updating", "Grey"))
    expect_environments(stubber, env("Ready", "Grey"))
    expect_environments(stubber, env("Ready", "Yellow"))
    expect_environments(stubber, env("Ready", "Green"))
    expect_events(stubber, ("INFO", "Deploying new version to instance(s)."), ("WARN", "Slow start"),
                  ("INFO", "Environment update completed successfully."))
    _found, events, outcome = wait(client, clock)
    assert outcome == "green"
    assert clock.sleeps == [2.0, 2.0, 2.0]
    assert [e["Message"] for e in events][0] == "Deploying new version to instance(s)."  # oldest first
    assert _beanstalk.error_events(events) == ["Slow start"]


def test_wait_stops_at_red(eb):
    client, stubber = eb
    clock = Clock()
    expect_environments(stubber, env("Updating", "Grey"))
    expect_environments(stubber, env("Ready", "Red"))
    expect_events(stubber, ("ERROR", "Instance deployment failed."))
    found, events, outcome = wait(client, clock)
    assert outcome == "red"
    assert found["Health"] == "Red"
    assert _beanstalk.error_events(events) == ["Instance deployment failed."]


def test_wait_reports_a_terminated_environment_as_gone(eb):
    client, stubber = eb
    clock = Clock()
    expect_environments(stubber, env("Terminating", "Grey"))
    expect_events(stubber)
    found, events, outcome = wait(client, clock)
    assert (found, events, outcome) == (None, [], "gone")


def test_wait_times_out_on_a_lasting_yellow(eb):
    client, stubber = eb
    clock = Clock()
    for _poll in range(6):
        expect_environments(stubber, env("Ready", "Yellow"))
    expect_events(stubber)
    found, _events, outcome = wait(client, clock, timeout=10)
    assert outcome == "timeout"
    assert found["Health"] == "Yellow"
    assert clock.now == 10
    assert sum(clock.sleeps) == 10


def test_wait_until_gone(eb):
    client, stubber = eb
    clock = Clock()
    expect_environments(stubber, env("Terminating", "Grey"), name="shop-blue")
    assert wait_until_gone(client, "shop", "shop-blue", 10, clock=clock, sleep=clock.sleep)
    expect_environments(stubber, env("Ready", "Green"))
    expect_environments(stubber, env("Ready", "Green"))
    assert not wait_until_gone(client, "shop", "shop-blue", 2, clock=clock, sleep=clock.sleep)


def test_a_service_error_becomes_beanstalk_error_with_what_failed(eb):
    client, stubber = eb
    stubber.add_client_error("describe_environments", "InvalidParameterValue", "No Application named 'shop' found.")
    with pytest.raises(BeanstalkError, match="Failed to describe environments of application 'shop'") as caught:
        _beanstalk.describe_environment(client, "shop", "shop-blue")
    assert caught.value.exception.response["Error"]["Code"] == "InvalidParameterValue"


def test_versions_are_read_from_every_page_newest_first(eb):
    client, stubber = eb
    v = [{"ApplicationName": "shop", "VersionLabel": f"1.{i}.0", "DateCreated": T0 + datetime.timedelta(days=i)}
         for i in range(3)]
    stubber.add_response("describe_application_versions", {"ApplicationVersions": [v[1], v[0]], "NextToken": "t1"},
                         {"ApplicationName": "shop"})
    stubber.add_response("describe_application_versions", {"ApplicationVersions": [v[2]]},
                         {"ApplicationName": "shop", "NextToken": "t1"})
    assert [x["VersionLabel"] for x in describe_versions(client, "shop")] == ["1.2.0", "1.1.0", "1.0.0"]


def test_environment_result_is_snake_case_with_url_and_iso_dates():
    result = environment_result(env())
    assert result["environment_name"] == "shop-blue"
    assert result["cname"] == "shop.us-east-1.elasticbeanstalk.com"
    assert result["url"] == "http://shop.us-east-1.elasticbeanstalk.com/"
    assert result["date_updated"] == "2026-01-06T09:30:00+00:00"
    assert environment_result({"EnvironmentName": "worker"})["url"] is None
