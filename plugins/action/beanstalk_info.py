# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""beanstalk_info's action: module_defaults of group/amazon.aws.aws (and group/aws) apply to it (plugin_utils/_aws_defaults.py)."""

from __future__ import annotations

from ansible_collections.jvmops.deploy.plugins.plugin_utils._aws_defaults import AwsDefaultsAction as ActionModule  # noqa: F401 pylint: disable=unused-import
