#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: beanstalk_deploy
short_description: Deploy a WAR, JAR or zip bundle to an AWS Elastic Beanstalk environment and wait until it is healthy
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - What C(lein beanstalk deploy development) does, the Ansible way. The artifact is uploaded to an S3 bucket, an
    application version is made from it, and the environment (V(development) by default) is created or updated to
    run it. The module then waits until the environment is Ready and Green.
  - The application and the bucket are created when they do not exist.
  - The artifact is uploaded only when S3 does not already hold the same content (its SHA-256 is kept as object
    metadata). An application version whose label exists is not made again. The environment is updated only when
    its version, option settings, description or platform differ. So a second run with the same artifact and
    settings changes nothing and uploads nothing.
  - When the environment turns Red, or is not Green within O(wait_timeout), and O(rollback_on_failure=true), the
    previous version is deployed again and waited for. The task then fails with the events that explain why.
  - For blue/green deploys, deploy to the idle environment with this module, then move the live CNAME to it with
    M(jvmops.deploy.beanstalk_swap).
  - With O(state=absent) the environment is terminated. The application and its versions are kept.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.beanstalk
  - jvmops.deploy.beanstalk.application
attributes:
  diff_mode:
    support: full
    details: >-
      The environment's version label, platform, description and the option settings given in O(option_settings).
      Values of environment properties (namespace C(aws:elasticbeanstalk:application:environment)) are masked.
  idempotent:
    support: full
    description: The same artifact and settings make no call that writes.
options:
  environment:
    description:
      - The environment to create or update (4 to 40 letters, digits and hyphens, not starting or ending with a hyphen).
    type: str
    default: development
    aliases: [env_name]
  state:
    description:
      - V(present) deploys O(artifact) to the environment. V(absent) terminates the environment.
    type: str
    choices: [present, absent]
    default: present
  artifact:
    description:
      - The file to deploy, on the host the task runs on. A C(.war) for a Tomcat platform, or an executable C(.jar) or
        a C(.zip) source bundle for a Java SE (Corretto) platform.
      - Required with O(state=present).
    type: path
  bucket:
    description:
      - The S3 bucket for the artifact. It is created in the region when it does not exist.
      - The name must follow S3's rules, and these are checked before any call. It must be 3 to 63 characters of
        lower-case letters, digits, dots and hyphens. It must not contain C(_), must not look like an IP address,
        and must not use a reserved prefix or suffix.
      - When not given, the service's own storage location is used (C(elasticbeanstalk-<region>-<account>)), as the
        console and the EB CLI do.
    type: str
  key_prefix:
    description:
      - Prefix of the S3 key. The artifact is stored as C(<key_prefix>/<application>/<version_label><extension>).
    type: str
    default: ''
  version_label:
    description:
      - Label of the application version (1 to 100 characters, no C(/)).
      - When not given, it is the artifact's file name without its extension, a dash, and the first 12 hex digits of
        the artifact's SHA-256. The same build always gets the same label.
      - Labels cannot be reused for other content. A label that exists with a different artifact fails the task.
    type: str
  description:
    description:
      - Description of a new application version, and of the environment.
    type: str
  platform:
    description:
      - The platform, as a solution stack name (V(64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 17)) or
        a platform ARN (C(arn:aws:elasticbeanstalk:...)).
      - When not given, a new environment gets the newest platform the service lists for the artifact. That is Tomcat
        for a C(.war), and Corretto without Tomcat for a C(.jar) or C(.zip). An existing environment keeps its platform.
    type: str
  option_settings:
    description:
      - Configuration options of the environment. Only the options listed here are compared and set; others are left
        as they are.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The option's namespace, for example C(aws:elasticbeanstalk:application:environment).
        type: str
        required: true
      option_name:
        description: The option's name, for example C(JAVA_OPTS).
        type: str
        required: true
        aliases: [name]
      value:
        description: The value. Values of environment properties are treated as secrets.
        type: str
        required: true
      resource_name:
        description: The resource the option applies to, for options that take one.
        type: str
  secret_properties:
    description:
      - Environment properties (environment variables of the app) whose values are secrets, such as a database
        password. They are set like O(option_settings) entries in namespace
        C(aws:elasticbeanstalk:application:environment), and their values are kept out of the output and the logs.
      - Do not give the same property here and in O(option_settings).
    type: dict
  tier:
    description:
      - The environment tier of a new environment. An existing environment keeps its tier.
    type: str
    choices: [WebServer, Worker]
    default: WebServer
  cname_prefix:
    description:
      - The CNAME prefix of a new environment (C(<prefix>.<region>.elasticbeanstalk.com)). An existing environment
        keeps its CNAME.
    type: str
  tags:
    description:
      - Tags of the environment.
    type: dict
  purge_tags:
    description:
      - Remove the environment's tags that are not in O(tags). Tags that start with C(aws:) or C(elasticbeanstalk:)
        are never removed.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the environment to become Ready and Green, and as long again for a rollback.
    type: int
    default: 1200
  rollback_on_failure:
    description:
      - When the environment turns Red, or is not Green within O(wait_timeout), deploy the version it ran before,
        wait for it, and fail the task.
    type: bool
    default: true
  keep_versions:
    description:
      - After a successful deploy, delete the application's versions other than the newest O(keep_versions), together
        with their S3 objects. Versions that any environment runs are kept. V(0) keeps them all.
    type: int
    default: 0
seealso:
  - module: jvmops.deploy.beanstalk_info
  - module: jvmops.deploy.beanstalk_swap
  - name: Elastic Beanstalk API reference
    description: The operations the module calls.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/api/Welcome.html
"""

EXAMPLES = r"""
- name: Deploy the WAR to the development environment (lein beanstalk deploy development)
  jvmops.deploy.beanstalk_deploy:
    application: test2
    environment: development
    artifact: target/test2-0.1.0-SNAPSHOT.war
    bucket: test2-artifacts
    cname_prefix: test2-dev
  register: deployed

- name: Say where it answers
  ansible.builtin.debug:
    msg: "Environment deployed at: {{ deployed.environment.cname }}"

- name: Deploy an executable JAR to Corretto with JVM options and an environment property
  jvmops.deploy.beanstalk_deploy:
    application: hello
    environment: hello-prod
    artifact: build/hello-jvm.jar
    platform: 64bit Amazon Linux 2023 v4.3.0 running Corretto 17
    option_settings:
      - namespace: aws:elasticbeanstalk:application:environment
        option_name: LOG_LEVEL
        value: INFO
    keep_versions: 10

- name: Terminate the environment
  jvmops.deploy.beanstalk_deploy:
    application: hello
    environment: hello-prod
    state: absent
"""

RETURN = r"""
environment:
  description: The environment after the run (in check mode, as it is now), with C(url) added.
  type: dict
  returned: when the environment exists
  sample:
    environment_name: development
    application_name: test2
    version_label: test2-0.1.0-0a1b2c3d4e5f
    status: Ready
    health: Green
    health_status: Ok
    cname: test2-dev.us-east-1.elasticbeanstalk.com
    url: http://test2-dev.us-east-1.elasticbeanstalk.com/
version_label:
  description: The version deployed (or that would be).
  type: str
  returned: with O(state=present)
  sample: test2-0.1.0-0a1b2c3d4e5f
previous_version:
  description: The version the environment ran before the run, or null for a new environment.
  type: str
  returned: with O(state=present)
  sample: test2-0.1.0-9f8e7d6c5b4a
url:
  description: The environment's URL.
  type: str
  returned: when the environment exists
  sample: http://test2-dev.us-east-1.elasticbeanstalk.com/
health:
  description: The environment's health color after the run.
  type: str
  returned: when the environment exists
  sample: Green
events:
  description: The environment's events during the deploy, oldest first.
  type: list
  elements: dict
  returned: always
  sample: [{"date": "2026-11-27T01:02:03+00:00", "severity": "INFO", "message": "Environment update completed successfully."}]
upload:
  description: Where the artifact is stored in S3, its SHA-256, and how many bytes were uploaded (0 when S3 already had it).
  type: dict
  returned: with O(state=present)
  sample: {"bucket": "test2-artifacts", "key": "test2/test2-0.1.0-0a1b2c3d4e5f.war", "sha256": "0a1b...", "bytes": 0}
deleted_versions:
  description: The versions deleted by O(keep_versions).
  type: list
  elements: str
  returned: with O(state=present)
  sample: ["test2-0.1.0-111111111111"]
rolled_back_to:
  description: The version the environment was rolled back to, on a failed deploy.
  type: str
  returned: on failure, after a rollback
  sample: test2-0.1.0-9f8e7d6c5b4a
"""

import os
import re
from datetime import datetime, timedelta, timezone

try:
    from boto3.s3.transfer import TransferConfig
except ImportError:
    TransferConfig = None  # AnsibleAWSModule reports the missing boto3

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.jvmops.deploy.plugins.module_utils._beanstalk import (
    ARTIFACT_TYPES, ENV_PROPERTIES, REDACTED, BeanstalkError, ClientError, aws_call, check_names, clients,
    describe_application, describe_environment, describe_environments, describe_versions, environment_result,
    error_events, event_result, is_missing, option_settings, run, sha256_file, wait_for_environment, wait_until_gone)

# Parts above this size are uploaded in parallel parts (boto3's transfer manager).
MULTIPART_THRESHOLD = 16 * 1024 * 1024


def check_options(params):
    """Every problem with the options ('option: rule'), before any call."""
    problems = check_names(params)
    if params["state"] == "present":
        artifact = params["artifact"]
        if not artifact:
            problems.append("artifact: required with state=present")
        elif not os.path.isfile(artifact):
            problems.append(f"artifact: '{artifact}' is not a file on this host")
        elif os.path.splitext(artifact)[1].lower() not in ARTIFACT_TYPES:
            problems.append(f"artifact: '{artifact}' must be a .war, .jar or .zip file")
    if params["wait_timeout"] < 1:
        problems.append(f"wait_timeout: must be 1 or more (got {params['wait_timeout']})")
    if params["keep_versions"] < 0:
        problems.append(f"keep_versions: must be 0 (keep all) or more (got {params['keep_versions']})")
    prefix = params["key_prefix"]
    if prefix.startswith("/") or "//" in prefix:
        problems.append(f"key_prefix: '{prefix}' must not start with '/' or contain '//'")
    seen = set()
    for item in params["option_settings"]:
        key = (item["namespace"], item["option_name"], item.get("resource_name"))
        if key in seen:
            problems.append(f"option_settings: {item['namespace']}:{item['option_name']} is given twice")
        seen.add(key)
    for name in params["secret_properties"] or {}:
        if (ENV_PROPERTIES, name, None) in seen:
            problems.append(f"secret_properties: {name} is also given in option_settings")
    return problems


def default_label(artifact, sha):
    stem = re.sub(r"[^A-Za-z0-9._+-]", "-", os.path.splitext(os.path.basename(artifact))[0]) or "artifact"
    return f"{stem[:86]}-{sha[:12]}"


class Deploy:
    """One run of the module: read, compare, write (outside check mode), wait, read back."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check = module.check_mode
        self.eb, self.s3 = clients(module)
        self.app = self.params["application"]
        self.name = self.params["environment"]
        self.changed = False
        self.started = datetime.now(timezone.utc) - timedelta(seconds=2)

    # -- S3 ---------------------------------------------------------------------------------------------------

    def storage_bucket(self):
        if self.params["bucket"]:
            return self.params["bucket"]
        if self.check:
            return None  # the service names it on the first real run
        return aws_call("create the storage location", self.eb.create_storage_location)["S3Bucket"]

    def object_sha(self, bucket, key):
        """The sha256 kept on an S3 object, '' for an object without it, None when there is none."""
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key, aws_retry=True)
        except ClientError as e:
            if is_missing(e, "404", "NoSuchKey", "NotFound", "NoSuchBucket"):
                return None
            raise BeanstalkError(f"Failed to read s3://{bucket}/{key}", exception=e) from e
        return head.get("Metadata", {}).get("sha256", "")

    def ensure_bucket(self, bucket):
        try:
            self.s3.head_bucket(Bucket=bucket, aws_retry=True)
            return
        except ClientError as e:
            if not is_missing(e, "404", "NoSuchBucket", "NotFound"):
                raise BeanstalkError(f"Failed to read bucket '{bucket}'", exception=e) from e
        kwargs = {"Bucket": bucket}
        region = self.module.region
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        aws_call(f"create bucket '{bucket}'", self.s3.create_bucket, **kwargs)

    def upload(self, path, bucket, key, sha):
        size = os.path.getsize(path)
        progress = []
        sent = [0]

        def callback(count):
            sent[0] += count
            if size and len(progress) < 4 and sent[0] * 4 >= size * (len(progress) + 1):
                progress.append(f"{sent[0]} of {size} bytes")

        config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
        try:
            # The transfer manager retries parts itself.
            self.s3.upload_file(path, bucket, key, ExtraArgs={"Metadata": {"sha256": sha}}, Config=config,
                                Callback=callback)
        except Exception as e:  # boto3's S3UploadFailedError wraps the ClientError
            raise BeanstalkError(f"Failed to upload {path} to s3://{bucket}/{key}", exception=e) from e
        return {"bytes": size, "multipart": size >= MULTIPART_THRESHOLD, "progress": progress}

    # -- the version ------------------------------------------------------------------------------------------

    def ensure_version(self, app_exists, label, sha):
        """Make the application version unless it exists; returns the upload record."""
        path = self.params["artifact"]
        ext = os.path.splitext(path)[1].lower()
        existing = describe_versions(self.eb, self.app, [label]) if app_exists else []
        if existing:
            bundle = existing[0].get("SourceBundle") or {}
            record = {"bucket": bundle.get("S3Bucket"), "key": bundle.get("S3Key"), "sha256": sha, "bytes": 0}
            if bundle.get("S3Bucket") and self.params["version_label"]:
                kept = self.object_sha(bundle["S3Bucket"], bundle["S3Key"])
                if kept and kept != sha:
                    raise BeanstalkError(
                        f"version_label: version '{label}' of application '{self.app}' exists with other content "
                        f"(sha256 {kept[:12]}..., the artifact's is {sha[:12]}...); labels cannot be reused")
            return record
        bucket = self.storage_bucket()
        key = "/".join(p for p in (self.params["key_prefix"].strip("/"), self.app, label + ext) if p)
        record = {"bucket": bucket, "key": key, "sha256": sha, "bytes": 0}
        self.changed = True
        held = self.object_sha(bucket, key) if bucket else None
        if held != sha:
            if self.check:
                record["bytes"] = os.path.getsize(path)
            else:
                self.ensure_bucket(bucket)
                record.update(self.upload(path, bucket, key, sha))
        if not self.check:
            kwargs = {"ApplicationName": self.app, "VersionLabel": label,
                      "SourceBundle": {"S3Bucket": bucket, "S3Key": key}}
            if self.params["description"]:
                kwargs["Description"] = self.params["description"][:200]
            aws_call(f"create application version '{label}'", self.eb.create_application_version, **kwargs)
        return record

    # -- the environment --------------------------------------------------------------------------------------

    def default_platform(self):
        kind = ARTIFACT_TYPES[os.path.splitext(self.params["artifact"])[1].lower()]
        stacks = aws_call("list the available solution stacks", self.eb.list_available_solution_stacks)
        names = [s for s in stacks.get("SolutionStacks", [])
                 if f"running {kind}" in s and (kind == "Tomcat" or "Tomcat" not in s)]
        if not names:
            raise BeanstalkError(f"platform: the service lists no solution stack running {kind}; name one in platform")

        def newest(name):
            return [int(n) for n in re.findall(r"\d+", name)]
        return max(names, key=lambda n: (newest(n.split(" running ")[0]), newest(n.split(" running ")[1])))

    def platform_args(self, platform):
        return {"PlatformArn": platform} if platform.startswith("arn:") else {"SolutionStackName": platform}

    def wanted_settings(self):
        settings = list(self.params["option_settings"])
        for name, value in (self.params["secret_properties"] or {}).items():
            settings.append({"namespace": ENV_PROPERTIES, "option_name": name, "value": str(value)})
        return {(o["namespace"], o["option_name"]): o for o in settings}

    def setting_changes(self):
        wanted = self.wanted_settings()
        if not wanted:
            return {}, []
        current = option_settings(self.eb, self.app, self.name)
        changes = [o for key, o in wanted.items() if current.get(key) != o["value"]]
        return current, changes

    def update_args(self, env, label):
        """UpdateEnvironment's arguments for what differs, and the diff."""
        args = {}
        current, changes = self.setting_changes()
        if env.get("VersionLabel") != label:
            args["VersionLabel"] = label
        if changes:
            args["OptionSettings"] = [self.option_arg(o) for o in changes]
        description = self.params["description"]
        if description is not None and env.get("Description", "") != description:
            args["Description"] = description
        platform = self.params["platform"]
        if platform:
            now = env.get("PlatformArn") if platform.startswith("arn:") else env.get("SolutionStackName")
            if now != platform:
                args.update(self.platform_args(platform))
        diff = self.diff(env, current, label)
        return args, diff

    @staticmethod
    def option_arg(o):
        arg = {"Namespace": o["namespace"], "OptionName": o["option_name"], "Value": o["value"]}
        if o.get("resource_name"):
            arg["ResourceName"] = o["resource_name"]
        return arg

    def diff(self, env, current, label):
        def shown(namespace, value):
            return REDACTED if namespace == ENV_PROPERTIES and value is not None else value
        before, after = {}, {}
        if env:
            before = {"version_label": env.get("VersionLabel"), "description": env.get("Description", ""),
                      "platform": env.get("PlatformArn") or env.get("SolutionStackName"), "option_settings": {}}
        after = {"version_label": label,
                 "description": self.params["description"] if self.params["description"] is not None
                 else before.get("description", ""),
                 "platform": self.params["platform"] or before.get("platform") or "(newest for the artifact)",
                 "option_settings": {}}
        for (namespace, name), o in self.wanted_settings().items():
            key = f"{namespace}:{name}"
            old = current.get((namespace, name)) if current else None
            if env:
                before["option_settings"][key] = shown(namespace, old)
            value = o["value"]
            # A masked value still shows that it changes.
            after["option_settings"][key] = (shown(namespace, value) + (" (changed)" if old != value else "")
                                             if namespace == ENV_PROPERTIES else value)
        return {"before": before, "after": after}

    def create_environment(self, label):
        platform = self.params["platform"] or self.default_platform()
        kwargs = {"ApplicationName": self.app, "EnvironmentName": self.name, "VersionLabel": label,
                  "Tier": {"Name": self.params["tier"], "Type": "Standard" if self.params["tier"] == "WebServer" else "SQS/HTTP"},
                  **self.platform_args(platform)}
        if self.params["tier"] == "WebServer" and self.params["cname_prefix"]:
            kwargs["CNAMEPrefix"] = self.params["cname_prefix"]
        if self.params["description"] is not None:
            kwargs["Description"] = self.params["description"]
        if self.wanted_settings():
            kwargs["OptionSettings"] = [self.option_arg(o) for o in self.wanted_settings().values()]
        if self.params["tags"]:
            kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in self.params["tags"].items()]
        if not self.check:
            aws_call(f"create environment '{self.name}'", self.eb.create_environment, **kwargs)
        return platform

    def ensure_tags(self, env):
        wanted = self.params["tags"]
        if wanted is None or env is None:
            return {}
        arn = env["EnvironmentArn"]
        found = aws_call(f"list the tags of environment '{self.name}'", self.eb.list_tags_for_resource, ResourceArn=arn)
        current = {t["Key"]: t.get("Value", "") for t in found.get("ResourceTags", [])}
        add = {k: str(v) for k, v in wanted.items() if current.get(k) != str(v)}
        remove = [k for k in current if k not in wanted and not k.startswith(("aws:", "elasticbeanstalk:"))] \
            if self.params["purge_tags"] else []
        if (add or remove) and not self.check:
            kwargs = {"ResourceArn": arn}
            if add:
                kwargs["TagsToAdd"] = [{"Key": k, "Value": v} for k, v in add.items()]
            if remove:
                kwargs["TagsToRemove"] = remove
            aws_call(f"update the tags of environment '{self.name}'", self.eb.update_tags_for_resource, **kwargs)
        return {"added": sorted(add), "removed": sorted(remove)} if (add or remove) else {}

    def wait_ready(self, env):
        """An environment that is launching or updating (another deploy) is waited for before it is changed."""
        if env["Status"] == "Ready" or self.check:
            return env
        env, _events, outcome = wait_for_environment(self.eb, self.app, self.name, self.params["wait_timeout"],
                                                     self.started)
        if outcome in ("timeout", "gone") or env["Status"] != "Ready":
            raise BeanstalkError(f"environment: '{self.name}' did not become Ready within {self.params['wait_timeout']} s "
                                 f"(status {env and env.get('Status')}); nothing was changed")
        return env

    def deploy_and_wait(self, previous):
        env, events, outcome = wait_for_environment(self.eb, self.app, self.name, self.params["wait_timeout"],
                                                    self.started)
        if outcome == "green":
            return env, events
        label = self.params["version_label"] or self.label
        why = error_events(events) or [f"status {env and env.get('Status')}, health {env and env.get('Health')}"]
        reason = "did not become Green within %d s" % self.params["wait_timeout"] if outcome == "timeout" else \
            f"is {env.get('Health') if env else 'gone'}"
        msg = f"Deploy of version '{label}' to environment '{self.name}' failed: the environment {reason}: {'; '.join(why)}"
        result = {"changed": True, "events": [event_result(e) for e in events],
                  "environment": environment_result(env) if env else None, "version_label": label,
                  "previous_version": previous}
        if self.params["rollback_on_failure"] and previous and previous != label and env and env["Status"] == "Ready":
            self.started = datetime.now(timezone.utc) - timedelta(seconds=1)
            aws_call(f"roll back environment '{self.name}' to version '{previous}'", self.eb.update_environment,
                     ApplicationName=self.app, EnvironmentName=self.name, VersionLabel=previous)
            env, back_events, back = wait_for_environment(self.eb, self.app, self.name, self.params["wait_timeout"],
                                                          self.started)
            result.update(rolled_back_to=previous, environment=environment_result(env) if env else None,
                          events=result["events"] + [event_result(e) for e in back_events])
            msg += f"; rolled back to version '{previous}', which is {env.get('Health') if env else 'gone'} now"
            if back != "green":
                msg += " (the rollback did not become Green either)"
        elif self.params["rollback_on_failure"]:
            msg += "; no rollback: " + ("the environment is new" if not previous else
                                        "the previous version is the same" if previous == label else
                                        f"the environment is {env and env.get('Status')}")
        raise BeanstalkError(msg, **result)

    def prune_versions(self, keep_labels):
        keep = self.params["keep_versions"]
        if not keep:
            return []
        versions = describe_versions(self.eb, self.app)
        running = {e.get("VersionLabel") for e in describe_environments(self.eb, self.app)}
        kept = 0
        doomed = []
        for v in versions:  # newest first
            label = v["VersionLabel"]
            if label in running or label in keep_labels or kept < keep:
                kept += 1
                continue
            doomed.append(label)
        if doomed and not self.check:
            for label in doomed:
                aws_call(f"delete application version '{label}'", self.eb.delete_application_version,
                         ApplicationName=self.app, VersionLabel=label, DeleteSourceBundle=True)
        return doomed

    # -- the run ----------------------------------------------------------------------------------------------

    def absent(self):
        env = describe_environment(self.eb, self.app, self.name)
        result = {"changed": False, "events": []}
        if env is None:
            return result
        result["changed"] = True
        result["diff"] = {"before": {"environment": self.name, "status": env["Status"]}, "after": {}}
        # The service terminates only a Ready environment: one that is launching or updating is waited for.
        env = self.wait_ready(env)
        if self.check:
            result["environment"] = environment_result(env)
            return result
        aws_call(f"terminate environment '{self.name}'", self.eb.terminate_environment,
                 EnvironmentName=self.name)
        if not wait_until_gone(self.eb, self.app, self.name, self.params["wait_timeout"]):
            raise BeanstalkError(f"Environment '{self.name}' was not terminated within {self.params['wait_timeout']} s",
                                 changed=True)
        return result

    def present(self):
        sha = sha256_file(self.params["artifact"])
        self.label = label = self.params["version_label"] or default_label(self.params["artifact"], sha)
        app = describe_application(self.eb, self.app)
        if app is None:
            self.changed = True
            if not self.check:
                aws_call(f"create application '{self.app}'", self.eb.create_application, ApplicationName=self.app)
        upload = self.ensure_version(app is not None, label, sha)
        env = describe_environment(self.eb, self.app, self.name) if app else None
        previous = env.get("VersionLabel") if env else None
        waited = False
        if env is None:
            self.changed = True
            self.create_environment(label)
            diff = self.diff(None, {}, label)
            waited = not self.check
        else:
            env = self.wait_ready(env)
            args, diff = self.update_args(env, label)
            if args:
                self.changed = True
                if not self.check:
                    aws_call(f"update environment '{self.name}'", self.eb.update_environment,
                             ApplicationName=self.app, EnvironmentName=self.name, **args)
                    waited = True
        tags = self.ensure_tags(env)
        self.changed = self.changed or bool(tags)
        events = []
        if waited:
            env, events = self.deploy_and_wait(previous)
        elif env is not None and not self.check:
            env = describe_environment(self.eb, self.app, self.name)
        deleted = self.prune_versions({label})
        self.changed = self.changed or bool(deleted)
        result = {"changed": self.changed, "version_label": label, "previous_version": previous, "upload": upload,
                  "events": [event_result(e) for e in events], "deleted_versions": deleted, "diff": diff}
        if tags:
            result["tags"] = tags
        if env is not None:
            result["environment"] = environment_result(env)
            result["url"] = result["environment"]["url"]
            result["health"] = env.get("Health")
        return result


def deploy(module):
    work = Deploy(module)
    return work.present() if module.params["state"] == "present" else work.absent()


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            application=dict(type="str", required=True, aliases=["app_name"]),
            environment=dict(type="str", default="development", aliases=["env_name"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            artifact=dict(type="path"),
            bucket=dict(type="str"),
            key_prefix=dict(type="str", default="", no_log=False),
            version_label=dict(type="str"),
            description=dict(type="str"),
            platform=dict(type="str"),
            option_settings=dict(type="list", elements="dict", default=[], options=dict(
                namespace=dict(type="str", required=True),
                option_name=dict(type="str", required=True, aliases=["name"]),
                value=dict(type="str", required=True),
                resource_name=dict(type="str"),
            )),
            secret_properties=dict(type="dict", no_log=True),
            tier=dict(type="str", choices=["WebServer", "Worker"], default="WebServer"),
            cname_prefix=dict(type="str"),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1200),
            rollback_on_failure=dict(type="bool", default=True),
            keep_versions=dict(type="int", default=0),
        ),
        required_if=[("state", "present", ["artifact"])],
        supports_check_mode=True,
    )
    run(module, deploy, check_options)


if __name__ == "__main__":
    main()
