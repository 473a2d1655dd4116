#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: beanstalk_swap
short_description: Switch an Elastic Beanstalk application's live CNAME to another environment (blue/green)
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Makes O(environment) the one that answers on the live CNAME O(cname), by swapping the CNAMEs of O(environment) and
    of the environment that has O(cname) now (C(SwapEnvironmentCNAMEs), as C(eb swap) does).
  - The environment that had O(cname) keeps running, with the CNAME that O(environment) had, and is returned as
    RV(previous); to roll back, run the module again with O(environment) set to it.
  - When O(environment) has O(cname) already, nothing is done.
  - After the swap the module waits until both environments are C(Ready) again with O(cname) on O(environment), then
    returns them as the service reports them. DNS clients may still reach the old environment until the CNAME's time
    to live has passed.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.beanstalk
  - jvmops.deploy.beanstalk.application
attributes:
  check_mode:
    details: Reports the swap it would make, with both environments' CNAMEs exchanged, without making it.
  diff_mode:
    support: full
    details: The CNAME and the environment that has it, before and after.
  idempotent:
    support: full
    description: When O(environment) has O(cname) already, a run changes nothing.
options:
  environment:
    description:
      - The environment of O(application) that must end up with O(cname) (4 to 40 letters, digits and hyphens).
      - It must be C(Ready), and so must the environment that has O(cname) now.
    type: str
    required: true
  cname:
    description:
      - The live CNAME, either whole (C(<prefix>.<region>.elasticbeanstalk.com)) or only its prefix (the part before
        the first dot, 4 to 63 letters, digits and hyphens). It is compared without regard to case.
      - A live environment of O(application) must have it; the module does not create CNAMEs.
    type: str
    required: true
  wait_timeout:
    description:
      - Seconds to wait, after the swap, for both environments to be C(Ready) with O(cname) on O(environment).
      - When they are not, the task fails (the swap has been made and is reported as a change).
    type: int
    default: 600
seealso:
  - module: jvmops.deploy.beanstalk_info
  - name: Blue/green deployments with Elastic Beanstalk
    description: How swapping environment URLs works, and why the old environment is best kept for a while.
    link: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/using-features.CNAMESwap.html
"""

EXAMPLES = r"""
- name: Make shop-green live on shop.eu-west-1.elasticbeanstalk.com
  jvmops.deploy.beanstalk_swap:
    application: shop
    environment: shop-green
    cname: shop
    region: eu-west-1
  register: swap

- name: Check the new version through its environment's own endpoint (DNS may still point to the old one a while)
  ansible.builtin.uri:
    url: "http://{{ swap.environment.endpoint_url }}/"
  register: smoke
  ignore_errors: true

- name: Roll back to the environment that was live before when the check fails
  jvmops.deploy.beanstalk_swap:
    application: shop
    environment: "{{ swap.previous.environment_name }}"
    cname: shop.eu-west-1.elasticbeanstalk.com
    region: eu-west-1
  when: swap is changed and smoke is failed
"""

RETURN = r"""
environment:
  description:
    - O(environment) after the run (in check mode, as the swap would leave it), with snake_case keys and C(url), like
      an item of RV(jvmops.deploy.beanstalk_info#module:environments).
  type: dict
  returned: always
  sample: {"environment_name": "shop-green", "environment_id": "e-ghijkl5678", "application_name": "shop",
           "version_label": "1.4.0", "cname": "shop.eu-west-1.elasticbeanstalk.com",
           "url": "http://shop.eu-west-1.elasticbeanstalk.com/", "status": "Ready", "health": "Green"}
previous:
  description:
    - The environment that had O(cname) before the swap, still running, with the CNAME that O(environment) had.
    - Run the module with O(environment) set to its C(environment_name) to swap back.
  type: dict
  returned: when the CNAME moved (changed)
  sample: {"environment_name": "shop-blue", "environment_id": "e-abcdef1234", "application_name": "shop",
           "version_label": "1.3.2", "cname": "shop-green.eu-west-1.elasticbeanstalk.com",
           "url": "http://shop-green.eu-west-1.elasticbeanstalk.com/", "status": "Ready", "health": "Green"}
cname:
  description: The whole live CNAME, as the service reports it.
  type: str
  returned: always
  sample: shop.eu-west-1.elasticbeanstalk.com
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.jvmops.deploy.plugins.module_utils._beanstalk import (
    BeanstalkError, aws_call, check_names, clients, cname_matches, cname_problem, describe_environments,
    environment_result, run)

# Seconds between two reads while waiting for the environments after a swap.
POLL_DELAY = 5.0


def check_options(params):
    """Problems with the options, found before any call."""
    problems = check_names({"application": params["application"], "environment": params["environment"]})
    problem = cname_problem(params["cname"])
    if problem:
        problems.append(f"cname: '{params['cname']}' {problem}")
    if params["wait_timeout"] < 1:
        problems.append(f"wait_timeout: must be 1 second or more, got {params['wait_timeout']}")
    return problems


def describe_live(envs):
    return ", ".join(f"{e['EnvironmentName']} ({e.get('CNAME')})" for e in envs) or "none"


def wait_until_swapped(eb, application, environment, previous, cname, timeout, delay=POLL_DELAY, clock=None, sleep=None):
    """Poll until both environments are Ready and environment has cname.

    Returns ({name: environment as described}, True), or (..., False) at the timeout.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    deadline = clock() + timeout
    while True:
        found = {e["EnvironmentName"]: e for e in describe_environments(eb, application, [environment, previous])}
        for name in (environment, previous):
            if name not in found:
                raise BeanstalkError(f"Environment '{name}' of application '{application}' was terminated while its CNAME "
                                     "was being swapped", changed=True)
        if (all(found[n].get("Status") == "Ready" for n in (environment, previous))
                and cname_matches(cname, found[environment].get("CNAME"))):
            return found, True
        if clock() >= deadline:
            return found, False
        sleep(min(delay, max(0.0, deadline - clock())))


def swap(module):
    params = module.params
    application, name, cname = params["application"], params["environment"], params["cname"]
    eb, _s3 = clients(module)
    envs = describe_environments(eb, application)
    target = next((e for e in envs if e.get("EnvironmentName") == name), None)
    if target is None:
        raise BeanstalkError(f"Application '{application}' has no live environment '{name}' (its live environments: "
                             f"{describe_live(envs)})")
    holder = next((e for e in envs if cname_matches(cname, e.get("CNAME"))), None)
    if holder is None:
        raise BeanstalkError(f"No live environment of application '{application}' has the CNAME '{cname}' (its live "
                             f"environments: {describe_live(envs)})")
    live_cname = holder["CNAME"]
    before = {"cname": live_cname, "holder": holder["EnvironmentName"]}
    after = {"cname": live_cname, "holder": name}
    result = {"changed": False, "cname": live_cname}
    if module._diff:
        result["diff"] = {"before": before, "after": after}

    if holder is target:
        result["environment"] = environment_result(target)
        return result

    for env, role in ((target, "give it the CNAME"), (holder, "take the CNAME from it")):
        if env.get("Status") != "Ready":
            raise BeanstalkError(f"Cannot swap the CNAME '{live_cname}' to environment '{name}': environment "
                                 f"'{env['EnvironmentName']}' is {env.get('Status')}, and it must be Ready to {role}")

    result["changed"] = True
    previous = holder["EnvironmentName"]
    if module.check_mode:
        result["environment"] = environment_result({**target, "CNAME": holder.get("CNAME")})
        result["previous"] = environment_result({**holder, "CNAME": target.get("CNAME")})
        return result

    aws_call(f"swap the CNAMEs of environments '{name}' and '{previous}'", eb.swap_environment_cnames,
             SourceEnvironmentName=name, DestinationEnvironmentName=previous)
    found, done = wait_until_swapped(eb, application, name, previous, cname, params["wait_timeout"])
    result["environment"] = environment_result(found[name])
    result["previous"] = environment_result(found[previous])
    if not done:
        states = ", ".join(f"'{n}' is {found[n].get('Status')} with CNAME {found[n].get('CNAME')}" for n in (name, previous))
        raise BeanstalkError(f"Timed out after {params['wait_timeout']} s waiting for the CNAME swap between environments "
                             f"'{name}' and '{previous}' to finish ({states})", **result)
    result["cname"] = found[name]["CNAME"]
    return result


def main():
    module = AnsibleAWSModule(argument_spec={
        "application": {"type": "str", "required": True, "aliases": ["app_name"]},
        "environment": {"type": "str", "required": True},
        "cname": {"type": "str", "required": True},
        "wait_timeout": {"type": "int", "default": 600},
    }, supports_check_mode=True)
    run(module, swap, check_options)


if __name__ == "__main__":
    main()
