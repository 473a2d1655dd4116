# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""beanstalk_deploy with botocore's Stubber at the client boundary: every call the module makes must be one the
test queued, with the parameters it expects, so an unexpected write fails the test."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.jvmops.deploy.plugins.module_utils import _beanstalk
from ansible_collections.jvmops.deploy.plugins.modules import beanstalk_deploy

NOW = datetime.datetime(2026, 11, 27, 1, 0, 0, tzinfo=datetime.timezone.utc)
ENV_ARN = "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/test2/development"


@pytest.fixture(name="aws")
def aws_fixture(monkeypatch):
    """Stubbed elasticbeanstalk and s3 clients handed to the module; both stubbers are checked at the end."""
    session = boto3.session.Session(aws_access_key_id="AKIAUNITTEST", aws_secret_access_key="unit-test-secret",
                                    region_name="us-east-1")
    eb = session.client("elasticbeanstalk")
    s3 = session.client("s3")
    stubs = Stubber(eb), Stubber(s3)
    for stub in stubs:
        stub.activate()
    made = []

    def clients(_module):
        made.append(True)
        return RetryingBotoClientWrapper(eb, _beanstalk.RETRY), RetryingBotoClientWrapper(s3, _beanstalk.RETRY)

    monkeypatch.setattr(beanstalk_deploy, "clients", clients)
    yield {"eb": stubs[0], "s3": stubs[1], "made": made}
    for stub in stubs:
        stub.assert_no_pending_responses()


@pytest.fixture(name="war")
def war_fixture(tmp_path):
    path = tmp_path / "test2-0.1.0.war"
    path.write_bytes(b"PK\x03\x04 not really a war, but bytes with a hash")
    return path


def args(war, **extra):
    return {"application": "test2", "artifact": str(war), "region": "us-east-1", "access_key": "AKIAUNITTEST",
            "secret_key": "unit-test-secret", **extra}


def env(label, status="Ready", health="Green"):
    return {"EnvironmentName": "development", "EnvironmentId": "e-abc123", "ApplicationName": "test2",
            "VersionLabel": label, "Status": status, "Health": health, "HealthStatus": "Ok",
            "SolutionStackName": "64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 17",
            "CNAME": "test2-dev.us-east-1.elasticbeanstalk.com", "EnvironmentArn": ENV_ARN, "DateCreated": NOW,
            "DateUpdated": NOW, "Description": ""}


def label_of(war):
    return beanstalk_deploy.default_label(str(war), _beanstalk.sha256_file(str(war)))


@pytest.mark.parametrize("bucket, rule", [
    ("test_2", "must not contain '_'"),
    ("Test2", "must not contain upper-case letters"),
    ("ab", "must be 3 to 63 characters long"),
    ("a" * 64, "must be 3 to 63 characters long"),
    ("192.168.5.4", "must not be formatted as an IP address"),
    ("xn--test2", "reserved prefix 'xn--'"),
    ("test2-s3alias", "reserved suffix '-s3alias'"),
    ("test2..war", "two adjacent dots"),
])
def test_a_bad_bucket_name_fails_before_any_client_is_made(invoke, aws, war, bucket, rule):
    result = invoke(beanstalk_deploy.main, args(war, bucket=bucket))
    assert result.failed
    assert result.result["msg"].startswith(f"bucket: '{bucket}'")
    assert rule in result.result["msg"]
    assert not aws["made"]


def test_every_bad_option_is_named_at_once(invoke, aws, tmp_path):
    jar = tmp_path / "app.tar"
    jar.write_bytes(b"x")
    result = invoke(beanstalk_deploy.main, args(jar, environment="dev", cname_prefix="-x", wait_timeout=0,
                                                keep_versions=-1))
    msg = result.result["msg"]
    for part in ("environment: 'dev' must be 4 to 40", "cname_prefix: '-x'", "artifact: ", "must be a .war, .jar or .zip",
                 "wait_timeout: must be 1 or more", "keep_versions: must be 0"):
        assert part in msg
    assert not aws["made"]


def test_default_label_is_the_name_and_the_content_hash(war):
    label = label_of(war)
    assert label.startswith("test2-0.1.0-")
    assert len(label.rsplit("-", 1)[1]) == 12
    assert label == label_of(war)


def test_check_mode_from_nothing_predicts_without_writing(invoke, aws, war):
    aws["eb"].add_response("describe_applications", {"Applications": []}, {"ApplicationNames": ["test2"]})
    aws["s3"].add_response("head_object", {"Metadata": {}}, {"Bucket": "test2-artifacts", "Key": ANY})
    aws["eb"].add_response("list_available_solution_stacks", {"SolutionStacks": [
        "64bit Amazon Linux 2023 v4.3.0 running Corretto 17",
        "64bit Amazon Linux 2023 v5.3.1 running Tomcat 10 Corretto 17",
        "64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 21"]})
    result = invoke(beanstalk_deploy.main, args(war, bucket="test2-artifacts"), check=True, diff=True)
    assert not result.failed, result.result
    assert result.result["changed"]
    assert result.result["upload"]["key"] == f"test2/{label_of(war)}.war"
    assert result.result["diff"]["after"]["version_label"] == label_of(war)
    assert result.result["previous_version"] is None


def test_unchanged_artifact_and_settings_make_no_write(invoke, aws, war):
    label = label_of(war)
    aws["eb"].add_response("describe_applications", {"Applications": [{"ApplicationName": "test2"}]})
    aws["eb"].add_response("describe_application_versions", {"ApplicationVersions": [{
        "ApplicationName": "test2", "VersionLabel": label, "DateCreated": NOW,
        "SourceBundle": {"S3Bucket": "test2-artifacts", "S3Key": f"test2/{label}.war"}}]},
        {"ApplicationName": "test2", "VersionLabels": [label]})
    aws["eb"].add_response("describe_environments", {"Environments": [env(label)]},
                           {"ApplicationName": "test2", "EnvironmentNames": ["development"]})
    aws["eb"].add_response("describe_environments", {"Environments": [env(label)]},
                           {"ApplicationName": "test2", "EnvironmentNames": ["development"]})
    result = invoke(beanstalk_deploy.main, args(war, bucket="test2-artifacts"))
    assert not result.failed, result.result
    assert not result.result["changed"]
    assert result.result["upload"]["bytes"] == 0
    assert result.result["health"] == "Green"
    assert result.result["url"] == "http://test2-dev.us-east-1.elasticbeanstalk.com/"


def test_a_red_deploy_rolls_back_and_fails_with_the_events(invoke, aws, war, monkeypatch):
    label = label_of(war)
    monkeypatch.setattr(beanstalk_deploy, "wait_for_environment", _scripted_waits([
        (env(label, health="Red"), [{"EventDate": NOW, "Severity": "ERROR", "Message": "Failed to deploy application."}], "red"),
        (env("old-1"), [{"EventDate": NOW, "Severity": "INFO", "Message": "Environment update completed successfully."}], "green"),
    ]))
    aws["eb"].add_response("describe_applications", {"Applications": [{"ApplicationName": "test2"}]})
    aws["eb"].add_response("describe_application_versions", {"ApplicationVersions": [{
        "ApplicationName": "test2", "VersionLabel": label, "DateCreated": NOW,
        "SourceBundle": {"S3Bucket": "test2-artifacts", "S3Key": f"test2/{label}.war"}}]})
    aws["eb"].add_response("describe_environments", {"Environments": [env("old-1")]})
    aws["eb"].add_response("update_environment", {}, {"ApplicationName": "test2", "EnvironmentName": "development",
                                                      "VersionLabel": label})
    aws["eb"].add_response("update_environment", {}, {"ApplicationName": "test2", "EnvironmentName": "development",
                                                      "VersionLabel": "old-1"})
    result = invoke(beanstalk_deploy.main, args(war, bucket="test2-artifacts"))
    assert result.failed
    assert result.result["rolled_back_to"] == "old-1"
    assert "Failed to deploy application." in result.result["msg"]
    assert "rolled back to version 'old-1', which is Green now" in result.result["msg"]
    assert "unit-test-secret" not in str(result.result)


def _scripted_waits(outcomes):
    outcomes = list(outcomes)

    def wait(*_args, **_kwargs):
        return outcomes.pop(0)
    return wait
