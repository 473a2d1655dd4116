# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local Elastic Beanstalk + S3 service (tests/beanstalk_fake), started in-process and used with boto3."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")
from botocore.auth import SigV4Auth  # noqa: E402 pylint: disable=wrong-import-position
from botocore.awsrequest import AWSRequest  # noqa: E402 pylint: disable=wrong-import-position
from botocore.config import Config  # noqa: E402 pylint: disable=wrong-import-position
from botocore.credentials import Credentials  # noqa: E402 pylint: disable=wrong-import-position
from botocore.exceptions import ClientError  # noqa: E402 pylint: disable=wrong-import-position

FAKE = Path(__file__).resolve().parents[2] / "beanstalk_fake"
JAVA_SE = "64bit Amazon Linux 2023 v4.3.0 running Corretto 17"
TOMCAT = "64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 17"
SERVLET_API = Path("/usr/share/java/tomcat10-servlet-api.jar")
APP_JAVA = """
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
public class App {
    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(System.getenv("PORT"))), 0);
        server.createContext("/", exchange -> {
            byte[] body = ("jar " + System.getenv().getOrDefault("GREETING", "-") + " " + exchange.getRequestURI().getPath()).getBytes();
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }
}
"""
SERVLET_JAVA = """
import jakarta.servlet.http.*;
import java.io.IOException;
public class Hello extends HttpServlet {
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setContentType("text/plain");
        resp.getWriter().print("war " + req.getServletPath());
    }
}
"""
WEB_XML = """<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0">
  <servlet><servlet-name>hello</servlet-name><servlet-class>Hello</servlet-class></servlet>
  <servlet-mapping><servlet-name>hello</servlet-name><url-pattern>/</url-pattern></servlet-mapping>
</web-app>
"""


def _load(name):
    spec = importlib.util.spec_from_file_location(f"beanstalk_fake_{name}", FAKE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


server = _load("server")
control = _load("control")
eb_runtime = sys.modules["eb_runtime"]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    service = server.FakeBeanstalk(tmp_path_factory.mktemp("beanstalk"), boot_timeout=30, min_transition=0.3, stop_grace=3).start()
    service.expected_violations = 0
    yield service
    service.stop()
    # Only the violations the tests provoked on purpose.
    assert len(service.stats.data["violations"]) == service.expected_violations, service.stats.data["violations"]


def _client(fake, service, **overrides):
    options = {"endpoint_url": fake.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": fake.access_key,
               "aws_secret_access_key": fake.secret_key, "config": Config(retries={"total_max_attempts": 1})}
    options.update(overrides)
    return boto3.client(service, **options)


@pytest.fixture(scope="module")
def eb(fake):
    return _client(fake, "elasticbeanstalk")


@pytest.fixture(scope="module")
def s3(fake):
    return _client(fake, "s3")


@pytest.fixture(scope="module")
def bucket(eb):
    return eb.create_storage_location()["S3Bucket"]


def _control(fake, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(fake.endpoint_url + path, data=data, method=method)
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
        return json.loads(response.read())


def _through_proxy(fake, cname, path="/"):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": fake.endpoint_url}))
    with opener.open(f"http://{cname}{path}", timeout=10) as response:
        return response.status, response.read().decode()


def _wait_ready(eb, name, timeout=40):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        env = eb.describe_environments(EnvironmentNames=[name], IncludeDeleted=False)["Environments"][0]
        if env["Status"] == "Ready":
            return env
        time.sleep(0.2)
    raise AssertionError(f"{name} not Ready after {timeout} s")


def _javac(tmp_path, source_name, source, classpath=None):
    if not shutil.which("javac") or not shutil.which("jar"):
        pytest.skip("javac and jar (a JDK) are needed to build the test applications")
    (tmp_path / source_name).write_text(source, encoding="utf-8")
    classes = tmp_path / "classes"
    classes.mkdir(exist_ok=True)
    subprocess.run(["javac", *(["-cp", str(classpath)] if classpath else []), "-d", str(classes), str(tmp_path / source_name)], check=True)
    return classes


@pytest.fixture(scope="module")
def jar_bundle(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("jar")
    classes = _javac(tmp_path, "App.java", APP_JAVA)
    (tmp_path / "manifest.txt").write_text("Main-Class: App\n", encoding="utf-8")
    subprocess.run(["jar", "cfm", str(tmp_path / "app.jar"), str(tmp_path / "manifest.txt"), "-C", str(classes), "."], check=True)
    return (tmp_path / "app.jar").read_bytes()


def test_s3_is_moto_through_the_same_endpoint(fake, s3, bucket):
    s3.put_object(Bucket=bucket, Key="some/key.txt", Body=b"hello")
    assert s3.head_object(Bucket=bucket, Key="some/key.txt")["ContentLength"] == 5
    assert server.MotoS3().read(bucket, "some/key.txt") == b"hello"
    wrong = _client(fake, "s3", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as info:
        wrong.put_object(Bucket=bucket, Key="other", Body=b"x")
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_credentials_are_checked(fake):
    with pytest.raises(ClientError) as info:
        _client(fake, "elasticbeanstalk", aws_access_key_id="AKIAIOSFODNN7EXAMPLE").describe_applications()
    assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as info:
        _client(fake, "elasticbeanstalk", aws_secret_access_key="y" * 40).describe_applications()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_requests_and_responses_are_checked_against_botocore(fake, eb, s3, bucket):
    before = json.loads(json.dumps(fake.stats.data))
    app = eb.create_application(ApplicationName="contract", Description="first", Tags=[{"Key": "team", "Value": "ops"}])["Application"]
    assert app["ApplicationArn"] == "arn:aws:elasticbeanstalk:us-east-1:123456789012:application/contract"
    assert eb.update_application(ApplicationName="contract", Description="second")["Application"]["Description"] == "second"
    s3.put_object(Bucket=bucket, Key="contract/v1.jar", Body=b"PK")
    for label in ("v1", "v2", "v3"):
        eb.create_application_version(ApplicationName="contract", VersionLabel=label, SourceBundle={"S3Bucket": bucket, "S3Key": "contract/v1.jar"})
    with pytest.raises(ClientError) as info:
        eb.create_application_version(ApplicationName="contract", VersionLabel="v1", SourceBundle={"S3Bucket": bucket, "S3Key": "contract/v1.jar"})
    assert info.value.response["Error"]["Message"] == "Application Version v1 already exists."
    page = eb.describe_application_versions(ApplicationName="contract", MaxRecords=2)
    assert [version["VersionLabel"] for version in page["ApplicationVersions"]] == ["v3", "v2"]
    rest = eb.describe_application_versions(ApplicationName="contract", MaxRecords=2, NextToken=page["NextToken"])
    assert [version["VersionLabel"] for version in rest["ApplicationVersions"]] == ["v1"] and "NextToken" not in rest
    assert eb.list_tags_for_resource(ResourceArn=app["ApplicationArn"])["ResourceTags"] == [{"Key": "team", "Value": "ops"}]
    assert eb.check_dns_availability(CNAMEPrefix="contract-free")["Available"] is True
    stacks = eb.list_available_solution_stacks()
    assert TOMCAT in stacks["SolutionStacks"] and JAVA_SE in stacks["SolutionStacks"]
    eb.delete_application_version(ApplicationName="contract", VersionLabel="v3", DeleteSourceBundle=True)
    assert server.MotoS3().read(bucket, "contract/v1.jar") is None
    eb.delete_application(ApplicationName="contract")
    assert eb.describe_applications(ApplicationNames=["contract"])["Applications"] == []
    after = fake.stats.data
    assert after["requests_validated"] - before["requests_validated"] == 14
    assert after["responses_validated"] - before["responses_validated"] == 14
    assert len(after["violations"]) == fake.expected_violations


def test_missing_source_bundle(eb, bucket):
    eb.create_application(ApplicationName="nobundle")
    with pytest.raises(ClientError) as info:
        eb.create_application_version(ApplicationName="nobundle", VersionLabel="v1", SourceBundle={"S3Bucket": bucket, "S3Key": "absent.jar"})
    assert info.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert info.value.response["Error"]["Message"] == f"Unable to download from S3 location (Bucket: {bucket} Key: absent.jar). Reason: Not Found"


def test_unknown_parameter_is_a_violation(fake):
    body = "Action=DescribeApplications&Version=2010-12-01&Bogus=1"
    request = AWSRequest(method="POST", url=fake.endpoint_url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(fake.access_key, fake.secret_key), "elasticbeanstalk", "us-east-1").add_auth(request)
    raw = urllib.request.Request(request.url, data=body.encode(), headers=dict(request.headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(raw, timeout=10)
    assert info.value.code == 400
    assert b"<Code>InvalidParameterValue</Code>" in info.value.read()
    fake.expected_violations += 1
    assert fake.stats.data["violations"][-1]["error"] == "Unknown parameter in the request: Bogus"


def test_throttling_fault(fake, eb):
    _control(fake, "POST", "/__fake__/faults", {"throttle": {"DescribeEnvironments": 1}})
    with pytest.raises(ClientError) as info:
        eb.describe_environments()
    assert info.value.response["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    eb.describe_environments()
    _control(fake, "POST", "/__fake__/faults", {"fail": {"DescribeApplications": {"code": "ServiceUnavailable", "status": 503, "message": "Try later."}}})
    with pytest.raises(ClientError) as info:
        eb.describe_applications()
    assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    _control(fake, "POST", "/__fake__/reset-calls")
    eb.describe_applications()
    assert _control(fake, "GET", "/__fake__/calls") == [{"service": "elasticbeanstalk", "operation": "DescribeApplications", "write": False}]


def test_jar_environment_lifecycle(fake, eb, s3, bucket, jar_bundle):
    s3.put_object(Bucket=bucket, Key="hello/app.jar", Body=jar_bundle)
    eb.create_application(ApplicationName="hello")
    for label in ("v1", "red"):
        eb.create_application_version(ApplicationName="hello", VersionLabel=label, SourceBundle={"S3Bucket": bucket, "S3Key": "hello/app.jar"})
    env = eb.create_environment(ApplicationName="hello", EnvironmentName="hello-jar", CNAMEPrefix="hello-jar", VersionLabel="v1",
                                SolutionStackName=JAVA_SE, OptionSettings=[{"Namespace": "aws:elasticbeanstalk:application:environment",
                                                                            "OptionName": "GREETING", "Value": "hi"}])
    assert (env["Status"], env["Health"], env["HealthStatus"]) == ("Launching", "Grey", "Pending")
    assert env["CNAME"] == "hello-jar.us-east-1.elasticbeanstalk.com"
    assert eb.check_dns_availability(CNAMEPrefix="hello-jar")["Available"] is False
    env = _wait_ready(eb, "hello-jar")
    assert (env["Health"], env["HealthStatus"]) == ("Green", "Ok")
    assert _through_proxy(fake, env["CNAME"], "/version") == (200, "jar hi /version")
    messages = [event["Message"] for event in eb.describe_events(EnvironmentName="hello-jar")["Events"]]
    assert messages[0] == "Environment health has transitioned from Pending to Ok."
    assert messages[-1] == "createEnvironment is starting." and "Successfully launched environment: hello-jar" in messages
    settings = eb.describe_configuration_settings(ApplicationName="hello", EnvironmentName="hello-jar")["ConfigurationSettings"][0]
    assert {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "GREETING", "Value": "hi"} in settings["OptionSettings"]

    _control(fake, "POST", "/__fake__/faults", {"red_versions": ["red"]})
    assert eb.update_environment(EnvironmentName="hello-jar", VersionLabel="red")["Status"] == "Updating"
    with pytest.raises(ClientError) as info:
        eb.update_environment(EnvironmentName="hello-jar", VersionLabel="v1")
    assert info.value.response["Error"]["Message"] == "Environment named hello-jar is in an invalid state for this operation. Must be Ready."
    env = _wait_ready(eb, "hello-jar")
    assert (env["Health"], env["HealthStatus"], env["VersionLabel"]) == ("Red", "Severe", "red")
    errors = [event["Message"] for event in eb.describe_events(EnvironmentName="hello-jar", Severity="ERROR")["Events"]]
    assert errors[0] == "Failed to deploy application."
    health = eb.describe_environment_health(EnvironmentName="hello-jar", AttributeNames=["All"])
    assert (health["Status"], health["Color"], health["HealthStatus"]) == ("Ready", "Red", "Severe") and health["Causes"]
    with pytest.raises(ClientError) as info:
        eb.delete_application_version(ApplicationName="hello", VersionLabel="red")
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"

    process = fake.service.environments[-1].process
    eb.terminate_environment(EnvironmentName="hello-jar")
    deadline = time.monotonic() + 20
    while eb.describe_environments(EnvironmentNames=["hello-jar"])["Environments"][0]["Status"] != "Terminated":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert not process.alive()
    with pytest.raises(urllib.error.HTTPError) as proxied:
        _through_proxy(fake, env["CNAME"])
    assert proxied.value.code == 502


def test_tomcat_war_environment(fake, eb, s3, bucket, tmp_path):
    if not eb_runtime.tomcat_installed():
        pytest.skip("Debian's Tomcat 10 (tomcat10-common, /usr/share/tomcat10) is not installed")
    classes = _javac(tmp_path, "Hello.java", SERVLET_JAVA, SERVLET_API)
    root = tmp_path / "root"
    shutil.copytree(classes, root / "WEB-INF" / "classes")
    (root / "WEB-INF" / "web.xml").write_text(WEB_XML, encoding="utf-8")
    subprocess.run(["jar", "cf", str(tmp_path / "app.war"), "-C", str(root), "."], check=True)
    s3.put_object(Bucket=bucket, Key="war/app.war", Body=(tmp_path / "app.war").read_bytes())
    eb.create_application(ApplicationName="tomcat")
    eb.create_application_version(ApplicationName="tomcat", VersionLabel="w1", SourceBundle={"S3Bucket": bucket, "S3Key": "war/app.war"})
    eb.create_environment(ApplicationName="tomcat", EnvironmentName="tomcat-war", VersionLabel="w1", SolutionStackName=TOMCAT)
    env = _wait_ready(eb, "tomcat-war")
    assert (env["Health"], env["HealthStatus"]) == ("Green", "Ok")
    assert env["CNAME"].startswith("tomcat-war.eba-") and env["CNAME"].endswith(".us-east-1.elasticbeanstalk.com")
    assert _through_proxy(fake, env["CNAME"], "/health") == (200, "war /health")
    eb.delete_application(ApplicationName="tomcat", TerminateEnvByForce=True)


def test_control_start_report_stop(tmp_path):
    state, info = control.start(tmp_path / "svc")
    assert state == "started" and info["endpoint_url"].startswith("http://127.0.0.1:")
    assert control.start(tmp_path / "svc")[0] == "running"
    client = boto3.client("elasticbeanstalk", endpoint_url=info["endpoint_url"], region_name=info["region"],
                          aws_access_key_id=info["access_key"], aws_secret_access_key=info["secret_key"])
    client.describe_applications()
    assert control.stop(tmp_path / "svc")
    result = control.report(tmp_path / "svc", {"a log": f"... {info['secret_key']} ..."})
    assert result.contract_ok
    assert result.leaks == [("the AWS secret key", "a log")]
    assert "1 Elastic Beanstalk requests and 1 responses checked against botocore's model (1 operations), 0 violations" in result.lines[0]
