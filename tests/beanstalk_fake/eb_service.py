# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Elastic Beanstalk model: applications, versions, environments, events, and the operations on them.

`Beanstalk.call(action, params, region, request_id)` runs one operation with parameters as botocore's
model names them (already checked by eb_contract) and returns the result as a dict of output members,
or raises AwsError with the code, message and status AWS would answer. Environment launches, updates
and terminations run in background threads that really start the version (eb_runtime) and poll its
health, so an environment goes Launching -> Ready in the time its application takes to boot.
"""

from __future__ import annotations

import base64
import datetime
import random
import re
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from eb_runtime import AppProcess, DeployError

ACCOUNT_ID = "123456789012"
ENV_PROPERTIES = "aws:elasticbeanstalk:application:environment"
SEVERITIES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
HEALTH_ATTRIBUTES = ["Status", "Color", "Causes", "ApplicationMetrics", "InstancesHealth", "HealthStatus", "RefreshedAt"]
# (solution stack name, platform name and version as in the platform ARN, permitted file types)
SOLUTION_STACKS = [
    ("64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 21", "Tomcat 10 with Corretto 21 running on 64bit Amazon Linux 2023/5.4.0", ["war", "zip"]),
    ("64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 17", "Tomcat 10 with Corretto 17 running on 64bit Amazon Linux 2023/5.4.0", ["war", "zip"]),
    ("64bit Amazon Linux 2023 v4.3.0 running Corretto 21", "Corretto 21 running on 64bit Amazon Linux 2023/4.3.0", ["jar", "zip"]),
    ("64bit Amazon Linux 2023 v4.3.0 running Corretto 17", "Corretto 17 running on 64bit Amazon Linux 2023/4.3.0", ["jar", "zip"]),
]
READ_PREFIXES = ("Describe", "List", "Check", "Retrieve", "Validate")


class AwsError(Exception):
    """An answer of the service other than success: AWS's error code, message and HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def is_write(action):
    """Whether an operation changes something (everything but Describe*, List*, Check*, ...)."""
    return not action.startswith(READ_PREFIXES)


def now():
    """The current time in UTC, to the millisecond (what the XML carries)."""
    value = datetime.datetime.now(datetime.timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _random(length, alphabet=string.ascii_lowercase + string.digits):
    return "".join(random.choice(alphabet) for _index in range(length))


def platform_arn(region, name):
    """The ARN of an Elastic Beanstalk platform version (name/version) in a region."""
    return f"arn:aws:elasticbeanstalk:{region}::platform/{name}"


def _invalid(message):
    return AwsError("InvalidParameterValue", message)


def _page(items, max_records, token):
    """(one page of items, NextToken or None); tokens are opaque offsets."""
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError as exc:
            raise _invalid("Invalid NextToken.") from exc
    end = len(items) if not max_records else start + max_records
    next_token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], next_token


def _tags(tags):
    for tag in tags or []:
        if tag["Key"].startswith(("aws:", "elasticbeanstalk:")):
            raise _invalid(f"Tag key '{tag['Key']}' is reserved: keys starting with aws: or elasticbeanstalk: are for AWS.")
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


@dataclass
class Version:
    """An application version: a label for a source bundle in S3."""

    arn: str
    application: str
    label: str
    description: str | None
    source_bundle: dict | None
    status: str
    tags: dict
    created: datetime.datetime = field(default_factory=now)
    updated: datetime.datetime = field(default_factory=now)

    def describe(self):
        """ApplicationVersionDescription."""
        return {"ApplicationVersionArn": self.arn, "ApplicationName": self.application, "Description": self.description,
                "VersionLabel": self.label, "SourceBundle": self.source_bundle, "DateCreated": self.created,
                "DateUpdated": self.updated, "Status": self.status}


@dataclass
class Application:
    """An application: a name, its versions and tags."""

    arn: str
    name: str
    description: str | None
    lifecycle: dict | None
    tags: dict
    versions: dict = field(default_factory=dict)
    created: datetime.datetime = field(default_factory=now)
    updated: datetime.datetime = field(default_factory=now)

    def describe(self):
        """ApplicationDescription (versions newest first, as AWS lists them)."""
        return {"ApplicationArn": self.arn, "ApplicationName": self.name, "Description": self.description,
                "DateCreated": self.created, "DateUpdated": self.updated, "Versions": list(reversed(self.versions)),
                "ConfigurationTemplates": [], "ResourceLifecycleConfig": self.lifecycle}


@dataclass
class Environment:  # pylint: disable=too-many-instance-attributes
    """An environment: where one application version runs, with its status, health and settings."""

    arn: str
    env_id: str
    name: str
    application: str
    region: str
    version_label: str | None
    stack: str
    platform: str
    tier: dict
    description: str | None
    cname: str | None
    endpoint_url: str | None
    options: dict
    tags: dict
    status: str = "Launching"
    health: str = "Grey"
    health_status: str = "Pending"
    causes: list = field(default_factory=list)
    process: AppProcess | None = None
    generation: int = 0
    created: datetime.datetime = field(default_factory=now)
    updated: datetime.datetime = field(default_factory=now)

    def describe(self):
        """EnvironmentDescription."""
        return {"EnvironmentName": self.name, "EnvironmentId": self.env_id, "ApplicationName": self.application,
                "VersionLabel": self.version_label, "SolutionStackName": self.stack, "PlatformArn": self.platform,
                "Description": self.description, "EndpointURL": self.endpoint_url, "CNAME": self.cname,
                "DateCreated": self.created, "DateUpdated": self.updated, "Status": self.status,
                "AbortableOperationInProgress": self.status == "Updating", "Health": self.health,
                "HealthStatus": self.health_status, "Tier": self.tier, "EnvironmentLinks": [], "EnvironmentArn": self.arn}

    def option_list(self):
        """The option settings as ConfigurationOptionSetting dicts."""
        result = []
        for (resource, namespace, name), value in sorted(self.options.items(), key=lambda item: (item[0][1], item[0][2], item[0][0] or "")):
            setting = {"Namespace": namespace, "OptionName": name, "Value": value}
            if resource:
                setting["ResourceName"] = resource
            result.append(setting)
        return result

    def env_vars(self):
        """The environment properties, which the application gets as environment variables."""
        return {name: value for (_res, namespace, name), value in self.options.items() if namespace == ENV_PROPERTIES}

    def health_path(self):
        """The health check path: the option settings' own, else /health."""
        for key in ((None, "aws:elasticbeanstalk:environment:process:default", "HealthCheckPath"),
                    (None, "aws:elasticbeanstalk:application", "Application Healthcheck URL")):
            if self.options.get(key):
                return self.options[key]
        return "/health"


def _options(settings):
    return {(item.get("ResourceName"), item.get("Namespace", ""), item.get("OptionName", "")): item.get("Value", "")
            for item in settings or []}


class Beanstalk:  # pylint: disable=too-many-public-methods
    """All the state of one account, and the operations; thread-safe (one lock, never held while waiting)."""

    def __init__(self, state_dir, s3, boot_timeout=60.0, min_transition=0.3, stop_grace=5.0, log=print):
        self.state_dir = Path(state_dir)
        self.s3 = s3
        self.boot_timeout = boot_timeout
        self.min_transition = min_transition
        self.stop_grace = stop_grace
        self.log = log
        self.lock = threading.RLock()
        self.applications = {}
        self.environments = []
        self.events = []
        self.red_versions = set()
        self.threads = []
        self.operations = {
            "CreateApplication": self.create_application, "DescribeApplications": self.describe_applications,
            "UpdateApplication": self.update_application, "DeleteApplication": self.delete_application,
            "CreateApplicationVersion": self.create_application_version,
            "DescribeApplicationVersions": self.describe_application_versions,
            "DeleteApplicationVersion": self.delete_application_version,
            "CreateEnvironment": self.create_environment, "DescribeEnvironments": self.describe_environments,
            "UpdateEnvironment": self.update_environment, "TerminateEnvironment": self.terminate_environment,
            "SwapEnvironmentCNAMEs": self.swap_environment_cnames, "CheckDNSAvailability": self.check_dns_availability,
            "DescribeEvents": self.describe_events, "DescribeEnvironmentHealth": self.describe_environment_health,
            "DescribeConfigurationSettings": self.describe_configuration_settings,
            "ListAvailableSolutionStacks": self.list_available_solution_stacks,
            "CreateStorageLocation": self.create_storage_location,
            "ListTagsForResource": self.list_tags_for_resource, "UpdateTagsForResource": self.update_tags_for_resource,
        }

    # Helpers ------------------------------------------------------------------------------------------

    def call(self, action, params, region, request_id):
        """Run one operation; its result members, or AwsError."""
        handler = self.operations.get(action)
        if handler is None:
            raise AwsError("NotImplemented", f"The operation {action} is not implemented by this local service.", 501)
        with self.lock:
            return handler(params, region, request_id)

    def _event(self, message, severity="INFO", application=None, env=None, version=None, request_id=None):
        event = {"EventDate": now(), "Message": message, "Severity": severity,
                 "ApplicationName": application or (env.application if env else None),
                 "EnvironmentName": env.name if env else None,
                 "VersionLabel": version if version is not None else (env.version_label if env else None),
                 "RequestId": request_id}
        if self.events and event["EventDate"] <= self.events[-1]["EventDate"]:
            event["EventDate"] = self.events[-1]["EventDate"] + datetime.timedelta(milliseconds=1)
        self.events.append(event)

    def _application(self, name):
        if name not in self.applications:
            raise _invalid(f"No Application named '{name}' found.")
        return self.applications[name]

    def _live(self):
        return [env for env in self.environments if env.status != "Terminated"]

    def _environment(self, params, name_key="EnvironmentName", id_key="EnvironmentId"):
        name, env_id = params.get(name_key), params.get(id_key)
        if not name and not env_id:
            raise AwsError("MissingParameter", f"Either {name_key} or {id_key} must be specified.")
        for env in self._live():
            if (env_id and env.env_id == env_id) or (not env_id and env.name == name):
                if params.get("ApplicationName") and env.application != params["ApplicationName"]:
                    continue
                return env
        if env_id:
            raise _invalid(f"No Environment found for EnvironmentId = '{env_id}'.")
        raise _invalid(f"No Environment found for EnvironmentName = '{name}'.")

    @staticmethod
    def _must_be_ready(env):
        if env.status != "Ready":
            raise _invalid(f"Environment named {env.name} is in an invalid state for this operation. Must be Ready.")

    def _platform(self, params, region, current=None):
        """(solution stack name, platform ARN) from SolutionStackName or PlatformArn, else current."""
        stack, arn = params.get("SolutionStackName"), params.get("PlatformArn")
        if stack and arn:
            raise AwsError("InvalidParameterCombination", "You can't specify both SolutionStackName and PlatformArn.")
        for name, platform, _types in SOLUTION_STACKS:
            if stack == name or arn == platform_arn(region, platform):
                return name, platform_arn(region, platform)
        if stack:
            raise _invalid(f"No Solution Stack named '{stack}' found.")
        if arn:
            raise _invalid(f"No Platform named '{arn}' found.")
        if params.get("TemplateName"):
            raise _invalid(f"No Configuration Template named '{params['ApplicationName']}/{params['TemplateName']}' found.")
        if current:
            return current
        raise AwsError("MissingParameter", "A solution stack name, platform ARN or configuration template must be specified.")

    def _cname_taken(self, cname):
        return any(env.cname and env.cname.lower() == cname.lower() for env in self._live())

    def environment_for_host(self, host):
        """The live environment whose CNAME is host (the proxy's lookup), or None."""
        with self.lock:
            for env in self._live():
                if env.cname and env.cname.lower() == host.lower():
                    return env
        return None

    # Applications and versions ------------------------------------------------------------------------

    def create_application(self, params, region, request_id):
        name = params["ApplicationName"]
        if name in self.applications:
            raise _invalid(f"Application {name} already exists.")
        app = Application(f"arn:aws:elasticbeanstalk:{region}:{ACCOUNT_ID}:application/{name}", name,
                          params.get("Description"), params.get("ResourceLifecycleConfig"), _tags(params.get("Tags")))
        self.applications[name] = app
        self.log(f"application {name} created")
        return {"Application": app.describe()}

    def describe_applications(self, params, _region, _request_id):
        names = params.get("ApplicationNames")
        return {"Applications": [app.describe() for app in self.applications.values() if not names or app.name in names]}

    def update_application(self, params, _region, _request_id):
        app = self._application(params["ApplicationName"])
        if "Description" in params:
            app.description = params["Description"]
            app.updated = now()
        return {"Application": app.describe()}

    def delete_application(self, params, _region, request_id):
        app = self._application(params["ApplicationName"])
        envs = [env for env in self._live() if env.application == app.name]
        if envs and not params.get("TerminateEnvByForce"):
            raise _invalid(f"Unable to delete application {app.name} because it has running environments: "
                           f"{', '.join(env.name for env in envs)}. Terminate them first or set TerminateEnvByForce.")
        for env in envs:
            self._start_termination(env, request_id)
        del self.applications[app.name]
        self.log(f"application {app.name} deleted")
        return {}

    def create_application_version(self, params, region, request_id):
        name, label = params["ApplicationName"], params["VersionLabel"]
        if name not in self.applications and params.get("AutoCreateApplication"):
            self.create_application({"ApplicationName": name}, region, request_id)
        app = self._application(name)
        if label in app.versions:
            raise _invalid(f"Application Version {label} already exists.")
        bundle = params.get("SourceBundle")
        if bundle is not None:
            if not bundle.get("S3Bucket") or not bundle.get("S3Key"):
                raise _invalid("SourceBundle needs both S3Bucket and S3Key.")
            if self.s3.read(bundle["S3Bucket"], bundle["S3Key"]) is None:
                raise AwsError("InvalidParameterCombination", f"Unable to download from S3 location (Bucket: {bundle['S3Bucket']} "
                                                              f"Key: {bundle['S3Key']}). Reason: Not Found")
            bundle = {"S3Bucket": bundle["S3Bucket"], "S3Key": bundle["S3Key"]}
        version = Version(f"arn:aws:elasticbeanstalk:{region}:{ACCOUNT_ID}:applicationversion/{name}/{label}", name, label,
                          params.get("Description"), bundle, "Processed" if params.get("Process") else "Unprocessed",
                          _tags(params.get("Tags")))
        app.versions[label] = version
        app.updated = now()
        return {"ApplicationVersion": version.describe()}

    def describe_application_versions(self, params, _region, _request_id):
        labels = params.get("VersionLabels")
        versions = [version for app in self.applications.values() if params.get("ApplicationName") in (None, app.name)
                    for version in app.versions.values() if not labels or version.label in labels]
        versions.sort(key=lambda version: version.created, reverse=True)
        page, token = _page(versions, params.get("MaxRecords"), params.get("NextToken"))
        return {"ApplicationVersions": [version.describe() for version in page], "NextToken": token}

    def delete_application_version(self, params, _region, request_id):
        app = self._application(params["ApplicationName"])
        label = params["VersionLabel"]
        if label not in app.versions:
            raise _invalid(f"No Application Version named '{label}' found.")
        users = [env.name for env in self._live() if env.application == app.name and env.version_label == label]
        if users:
            raise _invalid(f"Unable to delete application version '{label}' because it is being used by the following "
                           f"environments: {', '.join(users)}.")
        version = app.versions.pop(label)
        if params.get("DeleteSourceBundle") and version.source_bundle:
            self.s3.delete(version.source_bundle["S3Bucket"], version.source_bundle["S3Key"])
        return {}

    # Environments -------------------------------------------------------------------------------------

    def create_environment(self, params, region, request_id):  # pylint: disable=too-many-locals
        app = self._application(params["ApplicationName"])
        name = params.get("EnvironmentName")
        if not name:
            raise AwsError("MissingParameter", "The request must contain the parameter EnvironmentName.")
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?", name):
            raise _invalid(f"Value {name} at 'EnvironmentName' failed to satisfy constraint: Member must contain only letters, "
                           "digits, and the dash character and may not start or end with a dash")
        if any(env.name == name for env in self._live()):
            raise _invalid(f"Environment {name} already exists.")
        label = params.get("VersionLabel")
        if label is not None and label not in app.versions:
            raise _invalid(f"No Application Version named '{label}' found.")
        stack, platform = self._platform(params, region)
        tier = {"Name": "WebServer", "Type": "Standard", "Version": "1.0", **(params.get("Tier") or {})}
        cname = endpoint = None
        if tier["Name"] == "WebServer":
            if params.get("CNAMEPrefix"):
                cname = f"{params['CNAMEPrefix']}.{region}.elasticbeanstalk.com"
                if self._cname_taken(cname):
                    raise _invalid(f"DNS name ({cname}) is not available.")
            else:
                cname = f"{name}.eba-{_random(8)}.{region}.elasticbeanstalk.com"
        env_id = "e-" + _random(10)
        if cname:
            balancer = f"awseb-{env_id}-AWSEBLoa-{_random(12, string.ascii_uppercase + string.digits)}-{random.randint(10**8, 10**9)}"
            endpoint = f"{balancer}.{region}.elb.amazonaws.com"
        tags = {**_tags(params.get("Tags")), "elasticbeanstalk:environment-name": name, "elasticbeanstalk:environment-id": env_id, "Name": name}
        options = _options(params.get("OptionSettings"))
        for spec in params.get("OptionsToRemove") or []:
            options.pop((spec.get("ResourceName"), spec.get("Namespace", ""), spec.get("OptionName", "")), None)
        env = Environment(f"arn:aws:elasticbeanstalk:{region}:{ACCOUNT_ID}:environment/{app.name}/{name}", env_id, name, app.name,
                          region, label, stack, platform, tier, params.get("Description"), cname, endpoint, options, tags)
        self.environments.append(env)
        self._event("createEnvironment is starting.", env=env, request_id=request_id)
        self._event(f"Using elasticbeanstalk-{region}-{ACCOUNT_ID} as Amazon S3 storage bucket for environment data.", env=env, request_id=request_id)
        self.log(f"environment {name} ({env_id}) launching, version {label}")
        self._start_deployment(env, "create", request_id)
        return env.describe()

    def describe_environments(self, params, _region, _request_id):
        names, ids = params.get("EnvironmentNames"), params.get("EnvironmentIds")
        back_to = params.get("IncludedDeletedBackTo")
        envs = []
        for env in self.environments:
            if env.status == "Terminated" and (not params.get("IncludeDeleted", True) or (back_to and env.updated < back_to)):
                continue
            if (params.get("ApplicationName") not in (None, env.application) or params.get("VersionLabel") not in (None, env.version_label)
                    or (names and env.name not in names) or (ids and env.env_id not in ids)):
                continue
            envs.append(env)
        page, token = _page(envs, params.get("MaxRecords"), params.get("NextToken"))
        return {"Environments": [env.describe() for env in page], "NextToken": token}

    def update_environment(self, params, region, request_id):
        env = self._environment(params)
        self._must_be_ready(env)
        label = params.get("VersionLabel")
        if label is not None and label not in self.applications[env.application].versions:
            raise _invalid(f"No Application Version named '{label}' found.")
        stack, platform = self._platform(params, region, current=(env.stack, env.platform))
        if "Description" in params:
            env.description = params["Description"]
        options = dict(env.options)
        options.update(_options(params.get("OptionSettings")))
        for spec in params.get("OptionsToRemove") or []:
            options.pop((spec.get("ResourceName"), spec.get("Namespace", ""), spec.get("OptionName", "")), None)
        redeploy = label is not None or options != env.options or (stack, platform) != (env.stack, env.platform)
        env.updated = now()
        if not redeploy:
            return env.describe()
        if label is not None:
            env.version_label = label
        env.options, env.stack, env.platform = options, stack, platform
        env.status = "Updating"
        self._event("Environment update is starting.", env=env, request_id=request_id)
        self._start_deployment(env, "update" if label is not None else "config", request_id)
        return env.describe()

    def terminate_environment(self, params, _region, request_id):
        env = self._environment(params)
        if not params.get("ForceTerminate"):
            self._must_be_ready(env)
        self._start_termination(env, request_id)
        return env.describe()

    def swap_environment_cnames(self, params, _region, request_id):
        source = self._environment(params, "SourceEnvironmentName", "SourceEnvironmentId")
        destination = self._environment(params, "DestinationEnvironmentName", "DestinationEnvironmentId")
        for env in (source, destination):
            self._must_be_ready(env)
        source.cname, destination.cname = destination.cname, source.cname
        source.endpoint_url, destination.endpoint_url = destination.endpoint_url, source.endpoint_url
        for env in (source, destination):
            env.updated = now()
            self._event(f"Completed swapping CNAMEs for environments '{source.name}' and '{destination.name}'.", env=env, request_id=request_id)
        return {}

    def check_dns_availability(self, params, region, _request_id):
        cname = f"{params['CNAMEPrefix']}.{region}.elasticbeanstalk.com"
        return {"Available": not self._cname_taken(cname), "FullyQualifiedCNAME": cname}

    def describe_events(self, params, _region, _request_id):
        minimum = SEVERITIES.index(params.get("Severity", "TRACE"))
        checks = {"ApplicationName": "ApplicationName", "EnvironmentName": "EnvironmentName", "VersionLabel": "VersionLabel",
                  "RequestId": "RequestId"}
        env_name = None
        if params.get("EnvironmentId"):
            env_name = next((env.name for env in self.environments if env.env_id == params["EnvironmentId"]), "")
        events = [event for event in reversed(self.events)
                  if all(params.get(key) in (None, event[member]) for key, member in checks.items())
                  and env_name in (None, event["EnvironmentName"])
                  and SEVERITIES.index(event["Severity"]) >= minimum
                  and (not params.get("StartTime") or event["EventDate"] >= params["StartTime"])
                  and (not params.get("EndTime") or event["EventDate"] < params["EndTime"])]
        page, token = _page(events, params.get("MaxRecords", 1000), params.get("NextToken"))
        return {"Events": page, "NextToken": token}

    def describe_environment_health(self, params, _region, _request_id):
        env = self._environment(params)
        wanted = params.get("AttributeNames") or ["All"]
        if "All" in wanted:
            wanted = HEALTH_ATTRIBUTES
        states = ("NoData", "Unknown", "Pending", "Ok", "Info", "Warning", "Degraded", "Severe")
        instances = {state: int(state == env.health_status and env.status != "Terminated") for state in states}
        everything = {"Status": env.status, "Color": env.health, "HealthStatus": env.health_status, "Causes": list(env.causes),
                      "InstancesHealth": instances, "RefreshedAt": now()}
        return {"EnvironmentName": env.name, **{key: value for key, value in everything.items() if key in wanted}}

    def describe_configuration_settings(self, params, _region, _request_id):
        app = self._application(params["ApplicationName"])
        if params.get("TemplateName"):
            raise _invalid(f"No Configuration Template named '{app.name}/{params['TemplateName']}' found.")
        env = self._environment({"EnvironmentName": params.get("EnvironmentName"), "ApplicationName": app.name})
        return {"ConfigurationSettings": [{
            "SolutionStackName": env.stack, "PlatformArn": env.platform, "ApplicationName": env.application,
            "EnvironmentName": env.name, "Description": env.description, "DeploymentStatus": "deployed",
            "DateCreated": env.created, "DateUpdated": env.updated, "OptionSettings": env.option_list()}]}

    def list_available_solution_stacks(self, _params, _region, _request_id):
        return {"SolutionStacks": [name for name, _platform, _types in SOLUTION_STACKS],
                "SolutionStackDetails": [{"SolutionStackName": name, "PermittedFileTypes": types} for name, _platform, types in SOLUTION_STACKS]}

    def create_storage_location(self, _params, region, _request_id):
        bucket = f"elasticbeanstalk-{region}-{ACCOUNT_ID}"
        self.s3.ensure_bucket(bucket, region)
        return {"S3Bucket": bucket}

    def _resource(self, arn):
        """The application, version or environment an ARN names (tags live on each)."""
        for app in self.applications.values():
            if app.arn == arn:
                return app
            for version in app.versions.values():
                if version.arn == arn:
                    return version
        for env in self._live():
            if env.arn == arn:
                return env
        raise AwsError("ResourceNotFoundException", f"Resource {arn} not found.")

    def list_tags_for_resource(self, params, _region, _request_id):
        resource = self._resource(params["ResourceArn"])
        return {"ResourceArn": params["ResourceArn"], "ResourceTags": [{"Key": key, "Value": value} for key, value in sorted(resource.tags.items())]}

    def update_tags_for_resource(self, params, _region, _request_id):
        resource = self._resource(params["ResourceArn"])
        to_add = _tags(params.get("TagsToAdd"))
        for key in params.get("TagsToRemove") or []:
            if key.startswith(("aws:", "elasticbeanstalk:")):
                raise _invalid(f"Tag key '{key}' is reserved and cannot be removed.")
            resource.tags.pop(key, None)
        resource.tags.update(to_add)
        return {}

    # Lifecycle ----------------------------------------------------------------------------------------

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads = [item for item in self.threads if item.is_alive()] + [thread]
        thread.start()

    def _start_deployment(self, env, kind, request_id):
        env.generation += 1
        self._spawn(self._deploy, env, env.generation, kind, request_id)

    def _start_termination(self, env, request_id):
        env.generation += 1
        env.status = "Terminating"
        env.updated = now()
        self._event("terminateEnvironment is starting.", env=env, request_id=request_id)
        self._spawn(self._terminate, env, env.generation, request_id)

    def _bundle(self, env):
        """The bytes of the environment's version, or (None, reason)."""
        app = self.applications.get(env.application)
        version = app.versions.get(env.version_label) if app else None
        if version is None:
            return None, f"Application version {env.version_label} no longer exists."
        if version.source_bundle is None:
            return b"", None
        data = self.s3.read(version.source_bundle["S3Bucket"], version.source_bundle["S3Key"])
        if data is None:
            return None, (f"Unable to download from S3 location (Bucket: {version.source_bundle['S3Bucket']} "
                          f"Key: {version.source_bundle['S3Key']}). Reason: Not Found")
        return data, None

    def _deploy(self, env, generation, kind, request_id):  # pylint: disable=too-many-branches
        """Stop what runs, start the version, wait for its health; then Ready, Green or Red."""
        started = time.monotonic()
        with self.lock:
            old, env.process = env.process, None
            label = env.version_label
            bundle, reason = self._bundle(env) if label is not None else (b"", None)
            if kind != "create":
                self._event("Deploying new version to instance(s)." if kind == "update" else
                            f"Updating environment {env.name}'s configuration settings.", env=env, request_id=request_id)
        if old is not None:
            old.stop()
        healthy = False
        if reason is None and bundle:
            process = AppProcess(self.state_dir / "environments" / env.env_id / f"deploy-{generation}", env.stack,
                                 bundle, env.env_vars(), env.health_path(), self.stop_grace)
            try:
                process.start()
            except DeployError as exc:
                reason = str(exc)
            else:
                with self.lock:
                    if env.generation != generation:
                        process.stop()
                        return
                    env.process = process
                healthy = process.wait_healthy(self.boot_timeout, lambda: env.generation != generation)
                if not healthy:
                    status = process.exit_status()
                    reason = (f"The application exited with status {status}." if status is not None else
                              f"The application did not answer GET {process.health_path} with 200 within {self.boot_timeout:g} s.")
        elif reason is None:
            healthy = True  # no source bundle: AWS runs its sample application
        if healthy and label in self.red_versions:
            healthy, reason = False, f"Health checks of version {label} fail (fault injected)."
        time.sleep(max(0.0, self.min_transition - (time.monotonic() - started)))
        with self.lock:
            if env.generation != generation:
                return
            self._finish_deployment(env, kind, healthy, reason, request_id)

    def _finish_deployment(self, env, kind, healthy, reason, request_id):
        before = env.health_status
        env.status, env.updated = "Ready", now()
        if healthy:
            env.health, env.health_status, env.causes = "Green", "Ok", []
            if kind == "create":
                self._event("Instance deployment completed successfully.", env=env, request_id=request_id)
                if env.cname:
                    self._event(f"Application available at {env.cname}.", env=env, request_id=request_id)
                self._event(f"Successfully launched environment: {env.name}", env=env, request_id=request_id)
            elif kind == "update":
                self._event("Instance deployment completed successfully.", env=env, request_id=request_id)
                self._event("New application version was deployed to running EC2 instances.", env=env, request_id=request_id)
                self._event("Environment update completed successfully.", env=env, request_id=request_id)
            else:
                self._event("Successfully deployed new configuration to environment.", env=env, request_id=request_id)
                self._event("Environment update completed successfully.", env=env, request_id=request_id)
        else:
            env.health, env.health_status = "Red", "Severe"
            env.causes = [reason or "The application is not healthy."]
            self._event(f"Instance deployment failed. {reason}", "ERROR", env=env, request_id=request_id)
            if kind == "create":
                self._event("Create environment operation is complete, but with errors. For more information, see troubleshooting "
                            "documentation.", "ERROR", env=env, request_id=request_id)
            else:
                self._event("Failed to deploy application." if kind == "update" else "Failed to deploy configuration.",
                            "ERROR", env=env, request_id=request_id)
        if before != env.health_status:
            severity = "INFO" if healthy else "WARN"
            self._event(f"Environment health has transitioned from {before} to {env.health_status}.", severity, env=env)
        self.log(f"environment {env.name} ({env.env_id}) Ready, {env.health}" + ("" if healthy else f": {reason}"))

    def _terminate(self, env, generation, request_id):
        started = time.monotonic()
        with self.lock:
            process, env.process = env.process, None
        if process is not None:
            process.stop()
        time.sleep(max(0.0, self.min_transition - (time.monotonic() - started)))
        with self.lock:
            if env.generation != generation:
                return
            env.status, env.health, env.health_status, env.causes, env.updated = "Terminated", "Grey", "Unknown", [], now()
            self._event("terminateEnvironment completed successfully.", env=env, request_id=request_id)
        self.log(f"environment {env.name} ({env.env_id}) terminated")

    def shutdown(self):
        """Stop every application process (the service is going away)."""
        with self.lock:
            processes = []
            for env in self.environments:
                env.generation += 1
                if env.process is not None:
                    processes.append(env.process)
                    env.process = None
        for process in processes:
            process.stop()
        for thread in self.threads:
            thread.join(timeout=self.stop_grace + 5)
