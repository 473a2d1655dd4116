# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""beanstalk_info: option checks before any call, what is read and how it is returned.

AWS is stubbed at the client boundary: AnsibleAWSModule.client hands out real boto3 clients wrapped as amazon.aws
wraps them, with a botocore Stubber that checks every call's parameters against the service model.
"""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import beanstalk_info

T0 = datetime.datetime(2026, 1, 6, 9, 30, tzinfo=datetime.timezone.utc)


def app(name):
    return {"ApplicationName": name, "DateCreated": T0, "DateUpdated": T0, "Versions": ["1.4.0", "1.3.2"]}


def version(label, days, application="shop"):
    return {"ApplicationName": application, "VersionLabel": label, "Status": "PROCESSED",
            "SourceBundle": {"S3Bucket": "shop-artifacts", "S3Key": f"shop/shop-{label}.war"},
            "DateCreated": T0 + datetime.timedelta(days=days), "DateUpdated": T0 + datetime.timedelta(days=days)}


def env(name, label, status="Ready", health="Green", application="shop", health_status=None):
    found = {"EnvironmentName": name, "EnvironmentId": f"e-{name}", "ApplicationName": application, "VersionLabel": label,
             "CNAME": f"{name}.us-east-1.elasticbeanstalk.com", "Status": status, "Health": health,
             "DateCreated": T0, "DateUpdated": T0}
    if health_status:
        found["HealthStatus"] = health_status
    return found


SHOP_ENVS = [env("shop-green", "1.3.2"), env("shop-blue", "1.4.0"), env("shop-old", "1.3.2", "Terminated", "Grey")]


def expect_shop(aws, envs=None, versions=True):
    aws.eb.add_response("describe_applications", {"Applications": [app("shop")]}, {"ApplicationNames": ["shop"]})
    aws.eb.add_response("describe_environments", {"Environments": SHOP_ENVS if envs is None else envs},
                        {"ApplicationName": "shop"})
    if versions:
        aws.eb.add_response("describe_application_versions", {"ApplicationVersions": [version("1.3.2", 1)], "NextToken": "n"},
                            {"ApplicationName": "shop"})
        aws.eb.add_response("describe_application_versions",
                            {"ApplicationVersions": [version("1.4.0", 2), version("1.2.0", 0)]},
                            {"ApplicationName": "shop", "NextToken": "n"})


@pytest.mark.parametrize("args, message", [
    ({"application": "shop/web"}, "application: 'shop/web' must not contain '/'"),
    ({"application": "a" * 101}, "must be 1 to 100 characters long"),
    ({"environments": ["shop-blue", "shop_green"]}, "environments: 'shop_green' may contain only letters, digits and hyphens"),
    ({"environments": ["abc"]}, "environments: 'abc' must be 4 to 40 characters long (got 3)"),
    ({"version_labels": ["1.4.0", "release/1.4"]}, "version_labels: 'release/1.4' must not contain '/'"),
    ({"version_labels": ["1.4.0"], "include_versions": False},
     "version_labels: filters the versions, which include_versions=false leaves out"),
])
def test_bad_options_fail_before_any_call(invoke, aws, args, message):
    result = invoke(beanstalk_info.main, {"application": "shop", **args})
    assert result.failed
    assert message in result.result["msg"]
    assert aws.calls == [] and aws.asked == []


@pytest.mark.parametrize("check", [False, True])
def test_one_application_its_versions_newest_first_and_live_environments(invoke, aws, check):
    expect_shop(aws)
    result = invoke(beanstalk_info.main, {"application": "shop"}, check=check)
    assert not result.failed, result.result["msg"]
    assert result.result["changed"] is False
    assert [a["application_name"] for a in result.result["applications"]] == ["shop"]
    assert result.result["applications"][0]["date_created"] == "2026-01-06T09:30:00+00:00"
    versions = result.result["versions"]
    assert [(v["version_label"], v["deployed_to"]) for v in versions] == [
        ("1.4.0", ["shop-blue"]), ("1.3.2", ["shop-green"]), ("1.2.0", [])]  # shop-old is terminated
    assert versions[0]["source_bundle"] == {"s3_bucket": "shop-artifacts", "s3_key": "shop/shop-1.4.0.war"}
    envs = result.result["environments"]
    assert [e["environment_name"] for e in envs] == ["shop-blue", "shop-green"]
    assert envs[0]["url"] == "http://shop-blue.us-east-1.elasticbeanstalk.com/"
    assert "health_details" not in envs[0]
    assert "DescribeEnvironmentHealth" not in aws.calls


def test_filters_by_environment_and_label_keep_deployed_to_whole(invoke, aws):
    aws.eb.add_response("describe_applications", {"Applications": [app("shop")]}, {"ApplicationNames": ["shop"]})
    aws.eb.add_response("describe_environments", {"Environments": SHOP_ENVS + [env("shop-canary", "1.3.2")]},
                        {"ApplicationName": "shop"})
    aws.eb.add_response("describe_application_versions", {"ApplicationVersions": [version("1.3.2", 1)]},
                        {"ApplicationName": "shop", "VersionLabels": ["1.3.2"]})
    result = invoke(beanstalk_info.main, {"application": "shop", "environments": ["shop-blue", "shop-old"],
                                          "version_labels": ["1.3.2"]})
    assert not result.failed, result.result["msg"]
    assert [v["version_label"] for v in result.result["versions"]] == ["1.3.2"]
    assert result.result["versions"][0]["deployed_to"] == ["shop-canary", "shop-green"]
    assert [e["environment_name"] for e in result.result["environments"]] == ["shop-blue"]


def test_terminated_environments_on_request(invoke, aws):
    expect_shop(aws, versions=False)
    result = invoke(beanstalk_info.main, {"application": "shop", "include_versions": False, "include_terminated": True})
    assert not result.failed, result.result["msg"]
    assert "versions" not in result.result
    assert [(e["environment_name"], e["status"]) for e in result.result["environments"]] == [
        ("shop-blue", "Ready"), ("shop-green", "Ready"), ("shop-old", "Terminated")]


def test_health_enhanced_basic_and_terminated(invoke, aws):
    envs = [env("shop-blue", "1.4.0", health="Yellow", health_status="Warning"), env("shop-green", "1.3.2"),
            env("shop-old", "1.3.2", "Terminated", "Grey")]
    expect_shop(aws, envs=envs, versions=False)
    aws.eb.add_response("describe_environment_health", {
        "EnvironmentName": "shop-blue", "HealthStatus": "Warning", "Status": "Ready", "Color": "Yellow",
        "Causes": ["20 % of the requests are failing with HTTP 5xx."],
        "InstancesHealth": {"Ok": 1, "Warning": 1}, "RefreshedAt": T0,
    }, {"EnvironmentName": "shop-blue", "AttributeNames": ["All"]})
    aws.eb.add_client_error("describe_environment_health", "InvalidRequestException",
                            "Enhanced health reporting is not enabled for this environment.",
                            expected_params={"EnvironmentName": "shop-green", "AttributeNames": ["All"]})
    result = invoke(beanstalk_info.main, {"application": "shop", "include_versions": False, "include_health": True,
                                          "include_terminated": True})
    assert not result.failed, result.result["msg"]
    details = {e["environment_name"]: e["health_details"] for e in result.result["environments"]}
    assert details["shop-blue"] == {
        "enhanced": True, "environment_name": "shop-blue", "health_status": "Warning", "status": "Ready", "color": "Yellow",
        "causes": ["20 % of the requests are failing with HTTP 5xx."], "instances_health": {"ok": 1, "warning": 1},
        "refreshed_at": "2026-01-06T09:30:00+00:00"}
    assert details["shop-green"] == {"enhanced": False, "environment_name": "shop-green", "color": "Green",
                                     "health_status": None, "status": "Ready", "causes": []}
    assert details["shop-old"]["enhanced"] is False and details["shop-old"]["status"] == "Terminated"
    assert aws.calls.count("DescribeEnvironmentHealth") == 2  # not for the terminated one
    assert result.result["changed"] is False


def test_other_health_errors_fail(invoke, aws):
    expect_shop(aws, envs=[env("shop-blue", "1.4.0")], versions=False)
    aws.eb.add_client_error("describe_environment_health", "AccessDenied", "not authorized to DescribeEnvironmentHealth")
    result = invoke(beanstalk_info.main, {"application": "shop", "include_versions": False, "include_health": True})
    assert result.failed
    assert result.result["msg"].startswith("Failed to describe the health of environment 'shop-blue': ")
    assert "not authorized" in result.result["msg"]


def test_every_application_when_none_is_given(invoke, aws):
    aws.eb.add_response("describe_applications", {"Applications": [app("shop"), app("admin")]}, {})
    aws.eb.add_response("describe_environments", {"Environments": [
        env("shop-blue", "1.4.0"), env("admin-prod", "1.4.0", application="admin")]}, {})
    aws.eb.add_response("describe_application_versions", {"ApplicationVersions": [version("1.4.0", 3, "admin")]},
                        {"ApplicationName": "admin"})
    aws.eb.add_response("describe_application_versions", {"ApplicationVersions": [version("1.4.0", 2)]},
                        {"ApplicationName": "shop"})
    result = invoke(beanstalk_info.main, {})
    assert not result.failed, result.result["msg"]
    assert [a["application_name"] for a in result.result["applications"]] == ["admin", "shop"]
    # Same label in two applications: each version is deployed only to its own application's environments.
    assert [(v["application_name"], v["deployed_to"]) for v in result.result["versions"]] == [
        ("admin", ["admin-prod"]), ("shop", ["shop-blue"])]
    assert [e["environment_name"] for e in result.result["environments"]] == ["admin-prod", "shop-blue"]


def test_an_application_that_does_not_exist_gives_empty_lists(invoke, aws):
    aws.eb.add_response("describe_applications", {"Applications": []}, {"ApplicationNames": ["shop"]})
    result = invoke(beanstalk_info.main, {"app_name": "shop", "include_health": True})
    assert not result.failed, result.result["msg"]
    assert result.result == {**result.result, "changed": False, "applications": [], "versions": [], "environments": []}
    assert aws.calls == ["DescribeApplications"]


def test_a_service_error_names_what_failed(invoke, aws):
    aws.eb.add_client_error("describe_applications", "AccessDenied", "not authorized to DescribeApplications")
    result = invoke(beanstalk_info.main, {})
    assert result.failed
    assert result.result["msg"].startswith("Failed to describe applications: ")
