#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: beanstalk_info
short_description: Read Elastic Beanstalk applications, application versions and environments
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Returns the applications of a region (or one application), their application versions, newest first, each with the
    live environments that run it, and their environments.
  - With O(include_health=true), adds each live environment's enhanced health (causes, instance counts, request
    metrics), as C(eb health) shows it.
  - The module only reads; it never reports a change.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.beanstalk
attributes:
  diff_mode:
    support: none
  idempotent:
    support: full
    description: It only reads.
options:
  application:
    description:
      - The Elastic Beanstalk application (1 to 100 characters, no C(/)).
      - When not given, every application of the region is read.
      - An application that does not exist gives empty lists.
    type: str
    aliases: [app_name]
  environments:
    description:
      - Return only the environments with these names (4 to 40 letters, digits and hyphens).
      - The C(deployed_to) list of each version still names every live environment that runs it.
    type: list
    elements: str
  version_labels:
    description:
      - Return only the application versions with these labels.
      - Needs O(include_versions=true).
    type: list
    elements: str
  include_versions:
    description:
      - Read the application versions (one paginated call per application).
    type: bool
    default: true
  include_health:
    description:
      - Add RV(environments[].health_details) to each environment.
      - For a live environment with enhanced health reporting, it is the answer of C(DescribeEnvironmentHealth) with
        all attributes. For an environment with basic health reporting (the service refuses C(DescribeEnvironmentHealth)
        with C(InvalidRequestException)) and for a terminated one, it holds what C(DescribeEnvironments) reports.
    type: bool
    default: false
  include_terminated:
    description:
      - Return also the environments that are terminating or were terminated lately (the service keeps them for about
        an hour).
    type: bool
    default: false
seealso:
  - module: jvmops.deploy.beanstalk_swap
  - name: DescribeEnvironmentHealth
    description: What the enhanced health attributes mean.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/api/API_DescribeEnvironmentHealth.html
"""

EXAMPLES = r"""
- name: Read every application, version and environment of the region
  jvmops.deploy.beanstalk_info:
    region: eu-west-1
  register: beanstalk

- name: Read the environments of one application with their health, without the versions
  jvmops.deploy.beanstalk_info:
    application: shop
    include_versions: false
    include_health: true
  register: shop

- name: Show why the environments that are not Green are not
  ansible.builtin.debug:
    msg: "{{ item.environment_name }} is {{ item.health }}: {{ item.health_details.causes | default([]) | join('; ') }}"
  loop: "{{ shop.environments | rejectattr('health', 'equalto', 'Green') }}"
  loop_control:
    label: "{{ item.environment_name }}"

- name: Find where version 1.4.0 runs
  jvmops.deploy.beanstalk_info:
    application: shop
    version_labels: ["1.4.0"]
  register: release

- name: Show the environments that run it
  ansible.builtin.debug:
    msg: "{{ release.versions | map(attribute='deployed_to') | flatten }}"
"""

RETURN = r"""
applications:
  description: The applications read, by name, with snake_case keys.
  type: list
  elements: dict
  returned: always
  sample: [{"application_name": "shop", "application_arn": "arn:aws:elasticbeanstalk:eu-west-1:123456789012:application/shop",
            "date_created": "2026-01-05T10:00:00+00:00", "date_updated": "2026-01-05T10:00:00+00:00",
            "versions": ["1.4.0", "1.3.2"], "configuration_templates": []}]
versions:
  description:
    - The application versions, newest first, with snake_case keys.
    - C(deployed_to) lists the live environments that run the version.
  type: list
  elements: dict
  returned: when O(include_versions=true)
  sample: [{"application_name": "shop", "version_label": "1.4.0", "description": "Build 512",
            "source_bundle": {"s3_bucket": "shop-artifacts", "s3_key": "shop/shop-1.4.0.war"},
            "status": "PROCESSED", "date_created": "2026-01-06T09:30:00+00:00", "deployed_to": ["shop-blue"]}]
environments:
  description:
    - The environments, by application and name, with snake_case keys and C(url) (C(http://<cname>/)).
    - C(health) is the colour (C(Green), C(Yellow), C(Red), C(Grey)); C(health_status) is set with enhanced health.
  type: list
  elements: dict
  returned: always
  sample: [{"environment_name": "shop-blue", "environment_id": "e-abcdef1234", "application_name": "shop",
            "version_label": "1.4.0", "solution_stack_name": "64bit Amazon Linux 2023 v5.4.0 running Tomcat 10 Corretto 17",
            "cname": "shop.eu-west-1.elasticbeanstalk.com", "url": "http://shop.eu-west-1.elasticbeanstalk.com/",
            "status": "Ready", "health": "Green", "health_status": "Ok", "date_updated": "2026-01-06T09:41:12+00:00"}]
  contains:
    health_details:
      description:
        - The environment's health, when O(include_health=true).
        - C(enhanced) tells whether it comes from enhanced health reporting (then C(causes), C(instances_health),
          C(application_metrics) and C(refreshed_at) are set) or only from C(DescribeEnvironments).
      type: dict
      returned: when O(include_health=true)
      sample: {"enhanced": true, "environment_name": "shop-blue", "color": "Yellow", "health_status": "Warning",
               "status": "Ready", "causes": ["20 % of the requests are failing with HTTP 5xx."],
               "instances_health": {"ok": 1, "warning": 1}, "refreshed_at": "2026-01-06T09:45:00+00:00"}
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports the missing boto3 and botocore.

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.jvmops.deploy.plugins.module_utils._beanstalk import (
    GONE, NAME_RULES, BeanstalkError, application_result, aws_call, check_names, clients, describe_application,
    describe_environments, describe_versions, environment_result, is_missing, run, version_result)


def check_options(params):
    """Problems with the options, found before any call."""
    problems = check_names({"application": params["application"]})
    for option, rule in (("environments", NAME_RULES["environment"]), ("version_labels", NAME_RULES["version_label"])):
        for value in params[option] or []:
            problem = rule(value)
            if problem:
                problems.append(f"{option}: '{value}' {problem}")
    if params["version_labels"] and not params["include_versions"]:
        problems.append("version_labels: filters the versions, which include_versions=false leaves out")
    return problems


def basic_health(env):
    """Health as DescribeEnvironments reports it (basic health reporting, or a terminated environment)."""
    return {"enhanced": False, "environment_name": env.get("EnvironmentName"), "color": env.get("Health"),
            "health_status": env.get("HealthStatus"), "status": env.get("Status"), "causes": []}


def health_details(eb, env):
    """Enhanced health of a live environment, or basic health when the service has none for it."""
    name = env["EnvironmentName"]
    if env.get("Status") in GONE:
        return basic_health(env)
    try:
        health = eb.describe_environment_health(EnvironmentName=name, AttributeNames=["All"], aws_retry=True)
    except ClientError as e:
        if is_missing(e, "InvalidRequestException"):
            return basic_health(env)
        raise BeanstalkError(f"Failed to describe the health of environment '{name}'", exception=e) from e
    except BotoCoreError as e:
        raise BeanstalkError(f"Failed to describe the health of environment '{name}'", exception=e) from e
    health.pop("ResponseMetadata", None)
    details = camel_dict_to_snake_dict(health)
    if hasattr(details.get("refreshed_at"), "isoformat"):
        details["refreshed_at"] = details["refreshed_at"].isoformat()
    details["enhanced"] = True
    return details


def read(module):
    params = module.params
    name = params["application"]
    eb, _s3 = clients(module)
    if name:
        found = describe_application(eb, name)
        applications = [found] if found else []
    else:
        applications = aws_call("describe applications", eb.describe_applications).get("Applications", [])
    applications.sort(key=lambda a: a.get("ApplicationName") or "")
    result = {"changed": False, "applications": [application_result(a) for a in applications]}

    envs = []
    if applications:
        envs = describe_environments(eb, name, include_gone=True)
    envs.sort(key=lambda e: (e.get("ApplicationName") or "", e.get("EnvironmentName") or ""))
    live = [e for e in envs if e.get("Status") not in GONE]

    if params["include_versions"]:
        versions = []
        for application in applications:
            versions.extend(describe_versions(eb, application["ApplicationName"], params["version_labels"]))
        versions.sort(key=lambda v: v.get("DateCreated") or 0, reverse=True)
        result["versions"] = []
        for version in versions:
            item = version_result(version)
            item["deployed_to"] = [e["EnvironmentName"] for e in live
                                   if e.get("ApplicationName") == version.get("ApplicationName")
                                   and e.get("VersionLabel") == version.get("VersionLabel")]
            result["versions"].append(item)

    listed = envs if params["include_terminated"] else live
    if params["environments"]:
        listed = [e for e in listed if e.get("EnvironmentName") in params["environments"]]
    result["environments"] = []
    for env in listed:
        item = environment_result(env)
        if params["include_health"]:
            item["health_details"] = health_details(eb, env)
        result["environments"].append(item)
    return result


def main():
    module = AnsibleAWSModule(argument_spec={
        "application": {"type": "str", "aliases": ["app_name"]},
        "environments": {"type": "list", "elements": "str"},
        "version_labels": {"type": "list", "elements": "str"},
        "include_versions": {"type": "bool", "default": True},
        "include_health": {"type": "bool", "default": False},
        "include_terminated": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    run(module, read, check_options)


if __name__ == "__main__":
    main()
