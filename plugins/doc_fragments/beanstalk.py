# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Attributes and the application option shared by the Elastic Beanstalk modules."""

    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  platform:
    platforms: all
    details: >-
      The module calls the AWS APIs with boto3, so it runs wherever the task runs, usually the controller. The
      credentials, region and O(endpoint_url) are those of every amazon.aws module; C(module_defaults) for
      C(group/amazon.aws.aws) or C(group/jvmops.deploy.beanstalk) set them once per play.
notes:
  - In AWX or Automation Controller the built-in Amazon Web Services credential works unchanged. It sets
    E(AWS_ACCESS_KEY_ID), E(AWS_SECRET_ACCESS_KEY) and E(AWS_SESSION_TOKEN), which the module reads.
requirements:
  - boto3 >= 1.35.0
  - botocore >= 1.35.0
"""

    APPLICATION = r"""
options:
  application:
    description:
      - The Elastic Beanstalk application (1 to 100 characters, no C(/)).
    type: str
    required: true
    aliases: [app_name]
"""
