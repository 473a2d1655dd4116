# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of the Elastic Beanstalk modules: module_defaults of the AWS group apply to them too.

ansible-core applies ``module_defaults`` of a group only to the actions listed in that group, and a collection
cannot add its modules to another collection's group (``extend_group`` in meta/runtime.yml goes the other way:
``group/jvmops.deploy.beanstalk`` also covers amazon.aws's modules). So that an existing
``module_defaults: {group/amazon.aws.aws: {region: ..., endpoint_url: ...}}`` (or the legacy ``group/aws``) reaches
these modules as it reaches every amazon.aws module, this action fills the options a task does not set from those
defaults, then runs the module. Precedence stays as core's: the task's own options, then the module's and its
group's defaults (already merged by core), then the AWS group's.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

# How the AWS group is named in a play's module_defaults once core has resolved the names.
AWS_GROUPS = ("group/amazon.aws.aws", "group/ansible.builtin.aws", "group/ansible.legacy.aws", "group/aws")


def aws_group_defaults(module_defaults):
    """The merged defaults of the AWS group from a task's module_defaults (a list of dicts, outermost first)."""
    merged = {}
    for entry in module_defaults or []:
        for group in AWS_GROUPS:
            merged.update(entry.get(group) or {})
    return merged


class AwsDefaultsAction(ActionBase):
    """Run the module with the AWS group's module_defaults for the options the task leaves out."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        for key, value in aws_group_defaults(self._task.module_defaults).items():
            if key not in args:
                args[key] = self._templar.template(value)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(module_name=self._task.resolved_action or self._task.action,
                                           module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        return result
