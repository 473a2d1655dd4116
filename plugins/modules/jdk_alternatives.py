# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: jdk_alternatives
short_description: Register the commands of JDKs with update-alternatives and select one JDK's, in one call
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Makes C(/usr/bin/java), C(javac), C(jar), ... point to the commands of one JDK, switching them together, and
    registers the commands of other JDKs (such as ones unpacked from tarballs) so that they can be selected later.
  - Reads every alternative with C(update-alternatives --query), then changes only what differs. A no-change run is
    one module call, whatever the number of commands, where M(community.general.alternatives) takes one call per
    command.
  - A command is handled for a JDK only when the JDK's C(bin/) directory has it as an executable file; a runtime
    without C(javac) leaves C(javac) with the JDK that has one.
  - A selected command is set in manual mode (C(update-alternatives --set)), so that installing another JDK package
    later does not switch it.
  - A command of the selected JDK that is not registered yet is registered with O(priority) first. Commands that
    Debian's JDK packages registered keep their package's priority.
  - After the changes, reads back where each command points and the output of C(java -version).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: >-
      A JDK whose directory does not exist yet (not unpacked, because the run is a check) is reported in
      RV(missing_homes) instead of failing the task.
  diff_mode:
    support: full
  platform:
    platforms: debian
requirements:
  - C(update-alternatives) (Debian's dpkg) on the managed host.
options:
  select:
    description:
      - The home directory of the JDK whose commands become the default (C(/usr/lib/jvm/java-17-openjdk-amd64)).
    type: path
    required: true
  register:
    description:
      - Home directories of JDKs whose commands are registered (with O(priority)) but not selected.
      - Commands registered with another priority are registered again with O(priority).
    type: list
    elements: path
    default: []
  commands:
    description:
      - The command names to handle (C(java), C(javac), ...). Those a JDK lacks are skipped for that JDK.
    type: list
    elements: str
    required: true
  priority:
    description:
      - The priority commands are registered with.
    type: int
    default: 100
  link_dir:
    description:
      - Where the generic names of new alternatives are created (C(/usr/bin/java)). An alternative that exists keeps
        its link.
    type: path
    default: /usr/bin
seealso:
  - module: community.general.alternatives
"""

EXAMPLES = r"""
- name: Make JDK 17 the default and register a Temurin 25 unpacked under /usr/lib/jvm
  jvmops.deploy.jdk_alternatives:
    select: /usr/lib/jvm/java-17-openjdk-amd64
    register:
      - /usr/lib/jvm/temurin-25
    commands: [java, javac, jar, jcmd, jshell, keytool]
    priority: 100
  register: jdk

- name: Show the JDK that java runs
  ansible.builtin.debug:
    msg: "{{ jdk.java_version }}"
"""

RETURN = r"""
selected:
  description: Where each command of the selected JDK points after the run (in check mode, where it would point).
  type: dict
  returned: always
  sample: {"java": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "javac": "/usr/lib/jvm/java-17-openjdk-amd64/bin/javac"}
actions:
  description: The update-alternatives calls made (or, in check mode, that would be made), in order.
  type: list
  elements: list
  returned: always
  sample: [["--install", "/usr/bin/java", "java", "/usr/lib/jvm/temurin-25/bin/java", "100"], ["--set", "java", "/usr/lib/jvm/temurin-25/bin/java"]]
missing_homes:
  description: JDK homes without a C(bin/) directory; only in check mode, where they may not be unpacked yet.
  type: list
  elements: str
  returned: always
  sample: ["/usr/lib/jvm/temurin-25"]
java_version:
  description: >-
    What C(java -version) prints (on standard error) through the generic C(java) link after the run, or null when
    there is no such command.
  type: str
  returned: always
  sample: 'openjdk version "17.0.13" 2024-10-15'
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jvmops.deploy.plugins.module_utils._jdk_alternatives import OPTIONS, JdkAlternativesError, apply


def main():
    module = AnsibleModule(
        argument_spec=OPTIONS,
        supports_check_mode=True,
    )
    try:
        result = apply(module)
    except JdkAlternativesError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
