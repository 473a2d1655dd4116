# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Elastic Beanstalk helpers shared by beanstalk_deploy, beanstalk_info and beanstalk_swap.

The modules are amazon.aws ``AnsibleAWSModule`` s: credentials, region, ``endpoint_url``, ``module_defaults`` and
``fail_json_aws`` work as in every AWS module. This file holds what is particular to Elastic Beanstalk:

- the naming rules of applications, environments, CNAME prefixes, version labels and S3 buckets, checked
  before any call (``check_names``) so that a bad name fails with the rule instead of a service error;
- clients with the retry rules of amazon.aws (throttling and 5xx, with jittered backoff) for calls that opt in
  with ``aws_retry=True``;
- reads: live environments, versions (all pages), events since a time, configuration settings;
- ``wait_for_environment``: polls until an environment is Ready with a settled health, collecting the events
  seen on the way;
- ``environment_result``: the one shape in which every module returns an environment.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    # AnsibleAWSModule reports the missing boto3 and botocore itself.
    BotoCoreError = ClientError = Exception

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Throttling, 5xx and the service's own "busy" answers are retried; 10 tries with jittered backoff
# (1 s doubling up to 20 s) ride out a rate limit without making a test wait long.
RETRY = AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=20)

# Statuses of an environment that is gone or going.
GONE = ("Terminating", "Terminated")
# Namespace whose options are the app's environment properties (environment variables): their values are
# never shown in a diff.
ENV_PROPERTIES = "aws:elasticbeanstalk:application:environment"
REDACTED = "********"

# Artifact types and the platform each one runs on when no platform is given.
ARTIFACT_TYPES = {".war": "Tomcat", ".jar": "Corretto", ".zip": "Corretto"}


class BeanstalkError(Exception):
    """A failure to report with fail_json_aws: a message, and the boto exception when there is one."""

    def __init__(self, msg, exception=None, **result):
        super().__init__(msg)
        self.msg = msg
        self.exception = exception
        self.result = result


def clients(module):
    """(elasticbeanstalk, s3) clients with amazon.aws's retry wrapper (pass aws_retry=True to retry)."""
    return (module.client("elasticbeanstalk", retry_decorator=RETRY),
            module.client("s3", retry_decorator=RETRY))


def aws_call(what, call, *args, **kwargs):
    """Run one AWS call with retries; a failure becomes BeanstalkError('Failed to <what>: ...')."""
    try:
        return call(*args, aws_retry=True, **kwargs)
    except (BotoCoreError, ClientError) as e:
        raise BeanstalkError(f"Failed to {what}", exception=e) from e


def run(module, work, check_options=None):
    """Check the options (check_options(params) -> ['option: rule', ...]), before any call, then run
    work(module) -> result dict and exit; problems and BeanstalkError become fail_json(_aws)."""
    problems = check_options(module.params) if check_options else []
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        result = work(module)
    except BeanstalkError as e:
        if e.exception is not None:
            module.fail_json_aws(e.exception, msg=e.msg, **e.result)
        module.fail_json(msg=e.msg, **e.result)
    module.exit_json(**result)


# ---------------------------------------------------------------------------------------------------------------
# Names. The rules are those of the service's API reference and of S3's bucket naming rules; lein-beanstalk's
# "Bucket name should not contain '_'" is one of them.

BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name):
    """The S3 rule that the bucket name breaks, or None."""
    if not 3 <= len(name) <= 63:
        return f"must be 3 to 63 characters long (got {len(name)})"
    if "_" in name:
        return "must not contain '_' (underscores are not allowed in S3 bucket names)"
    if name != name.lower():
        return "must not contain upper-case letters"
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        return "may contain only lower-case letters, digits, dots and hyphens"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a letter or a digit"
    if ".." in name:
        return "must not contain two adjacent dots"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    for prefix in BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with the reserved prefix '{prefix}'"
    for suffix in BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with the reserved suffix '{suffix}'"
    return None


def _label_problem(value, longest):
    if not 1 <= len(value) <= longest:
        return f"must be 1 to {longest} characters long"
    if "/" in value:
        return "must not contain '/'"
    if any(ord(c) < 32 for c in value):
        return "must not contain control characters"
    return None


def _dns_label_problem(value, shortest, longest):
    if not shortest <= len(value) <= longest:
        return f"must be {shortest} to {longest} characters long (got {len(value)})"
    if not re.fullmatch(r"[A-Za-z0-9-]+", value):
        return "may contain only letters, digits and hyphens"
    if value.startswith("-") or value.endswith("-"):
        return "must not begin or end with a hyphen"
    return None


NAME_RULES = {
    "application": lambda v: _label_problem(v, 100),
    "environment": lambda v: _dns_label_problem(v, 4, 40),
    "cname_prefix": lambda v: _dns_label_problem(v, 4, 63),
    "version_label": lambda v: _label_problem(v, 100),
    "bucket": bucket_name_problem,
}


def check_names(params, problems=None):
    """Problems ('option: rule') with the names among params, in option order."""
    problems = [] if problems is None else problems
    for option, rule in NAME_RULES.items():
        value = params.get(option)
        if isinstance(value, str):
            problem = rule(value)
            if problem:
                problems.append(f"{option}: '{value}' {problem}")
    return problems


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Reads


def _pages(call, key, **kwargs):
    """All items of a NextToken-paginated Elastic Beanstalk list."""
    items = []
    while True:
        page = call(**kwargs)
        items.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token


def describe_application(eb, name):
    found = aws_call(f"describe application '{name}'", eb.describe_applications, ApplicationNames=[name])
    return (found.get("Applications") or [None])[0]


def describe_environments(eb, application=None, names=None, include_gone=False):
    """Environments of an application (or all), optionally by name, without the terminated ones."""
    kwargs = {}
    if application:
        kwargs["ApplicationName"] = application
    if names:
        kwargs["EnvironmentNames"] = list(names)
    what = f"describe environments of application '{application}'" if application else "describe environments"
    envs = aws_call(what, lambda **kw: _pages(eb.describe_environments, "Environments", **kw), **kwargs)
    return [e for e in envs if include_gone or e.get("Status") not in GONE]


def describe_environment(eb, application, name):
    """The live environment `name` of `application`, or None."""
    envs = describe_environments(eb, application, [name])
    return envs[0] if envs else None


def describe_versions(eb, application, labels=None):
    """Application versions, newest first."""
    kwargs = {"ApplicationName": application}
    if labels:
        kwargs["VersionLabels"] = list(labels)
    versions = aws_call(f"describe application versions of '{application}'",
                        lambda **kw: _pages(eb.describe_application_versions, "ApplicationVersions", **kw), **kwargs)
    return sorted(versions, key=lambda v: v.get("DateCreated") or 0, reverse=True)


def describe_events(eb, application, environment, since):
    """Events of an environment since a datetime, oldest first."""
    events = aws_call(f"describe events of environment '{environment}'",
                      lambda **kw: _pages(eb.describe_events, "Events", **kw),
                      ApplicationName=application, EnvironmentName=environment, StartTime=since)
    return sorted(events, key=lambda e: e.get("EventDate") or 0)


def option_settings(eb, application, environment):
    """{(namespace, option name): value} of an environment's configuration."""
    found = aws_call(f"describe configuration settings of environment '{environment}'",
                     eb.describe_configuration_settings, ApplicationName=application, EnvironmentName=environment)
    settings = {}
    for config in found.get("ConfigurationSettings", []):
        for item in config.get("OptionSettings", []):
            settings[(item.get("Namespace"), item.get("OptionName"))] = item.get("Value")
    return settings


def event_result(event):
    return {
        "date": event["EventDate"].isoformat() if hasattr(event.get("EventDate"), "isoformat") else event.get("EventDate"),
        "severity": event.get("Severity"),
        "message": event.get("Message"),
        "version_label": event.get("VersionLabel"),
    }


def environment_result(env):
    """An environment as the modules return it: snake_case keys, with url added."""
    result = camel_dict_to_snake_dict(env)
    cname = env.get("CNAME")
    result["url"] = f"http://{cname}/" if cname else None
    for key in ("date_created", "date_updated"):
        if hasattr(result.get(key), "isoformat"):
            result[key] = result[key].isoformat()
    return result


def version_result(version):
    result = camel_dict_to_snake_dict(version)
    for key in ("date_created", "date_updated"):
        if hasattr(result.get(key), "isoformat"):
            result[key] = result[key].isoformat()
    return result


# ---------------------------------------------------------------------------------------------------------------
# Waiting


def settled(env):
    """True when the environment is Ready and its health is known (not Grey)."""
    return env.get("Status") == "Ready" and env.get("Health") not in (None, "Grey")


def wait_for_environment(eb, application, name, timeout, since, delay=2.0, clock=time.monotonic, sleep=time.sleep):
    """Poll until the environment is Ready and Green, Red, gone, or the timeout.

    Returns (environment, events since `since`, outcome) with outcome one of "green", "red", "gone", "timeout".
    A Yellow (warning) health is waited out until the timeout, as the console does.
    """
    deadline = clock() + timeout
    while True:
        env = describe_environment(eb, application, name)
        if env is None:
            outcome = "gone"
        elif settled(env) and env.get("Health") == "Green":
            outcome = "green"
        elif settled(env) and env.get("Health") == "Red":
            outcome = "red"
        elif clock() >= deadline:
            outcome = "timeout"
        else:
            sleep(min(delay, max(0.0, deadline - clock())))
            continue
        return env, describe_events(eb, application, name, since), outcome


def wait_until_gone(eb, application, name, timeout, delay=2.0, clock=time.monotonic, sleep=time.sleep):
    """Poll until the environment is Terminated; True when it is."""
    deadline = clock() + timeout
    while describe_environment(eb, application, name) is not None:
        if clock() >= deadline:
            return False
        sleep(delay)
    return True


def error_events(events):
    """The WARN, ERROR and FATAL messages among events, for a failure message."""
    return [e.get("Message") for e in events if e.get("Severity") in ("WARN", "ERROR", "FATAL")]


def is_missing(e, *codes):
    """True when e is a ClientError with one of the given error codes (a missing resource)."""
    return isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") in codes


# ---------------------------------------------------------------------------------------------------------------
# Added for beanstalk_info and beanstalk_swap.


def application_result(application):
    """An application as the modules return it: snake_case keys, dates as ISO 8601 text."""
    return version_result(application)


def cname_problem(value):
    """The rule that a CNAME breaks, or None. value is a full CNAME (<prefix>.<region>.elasticbeanstalk.com) or a
    prefix: the prefix follows the cname_prefix rule, the other labels those of DNS."""
    labels = value.split(".")
    if not all(labels):
        return "must not begin or end with a dot or contain two adjacent dots"
    problem = NAME_RULES["cname_prefix"](labels[0])
    if problem:
        return problem if len(labels) == 1 else f"has the prefix '{labels[0]}', which {problem}"
    for label in labels[1:]:
        problem = _dns_label_problem(label, 1, 63)
        if problem:
            return f"has the label '{label}', which {problem}"
    if len(value) > 253:
        return f"must be at most 253 characters long (got {len(value)})"
    return None


def cname_matches(cname, env_cname):
    """True when an environment's CNAME is cname, compared case-insensitively: the whole name when cname has a
    dot, else only the environment CNAME's first label (its prefix)."""
    if not env_cname:
        return False
    if "." in cname:
        return env_cname.rstrip(".").lower() == cname.lower()
    return env_cname.split(".")[0].lower() == cname.lower()
