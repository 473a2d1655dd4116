# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: config_files
short_description: Render templates, copy files and make directories on a host, all in one module call
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Handles a list of files and directories in one task and one module run per host, where the same work done with
    M(ansible.builtin.template), M(ansible.builtin.copy) and M(ansible.builtin.file) takes one or two module runs
    per file even when nothing changes.
  - The action plugin resolves every file's content on the controller first, before anything on the host is
    touched. O(files[].template) is rendered with the task's variables as M(ansible.builtin.template) renders it
    (same search path, same C(template_*) and C(ansible_managed) variables, trim_blocks on), O(files[].src) is read
    verbatim (vaulted files are decrypted), O(files[].content) is taken as it is. A mistake in the list (an unknown
    key, two sources, a relative O(files[].dest), a template that is not found) fails the task with the index and
    the O(files[].dest) of the entry.
  - The module then handles the entries in order. A file whose SHA-1 matches is not written; its owner, group and
    mode are still converged. A file that differs is written to a candidate file in its destination's directory,
    given its owner, group and mode, checked with O(files[].validate) when given, and only then moved over the live
    file, atomically.
  - The module stops at the first entry that fails. The entries before it stay applied, as separate tasks would
    leave them; the failure names the entry and the result lists what was changed.
  - The parent directory of a file must exist, or be made by an earlier O(files[].state=directory) entry of the
    same task, as with M(ansible.builtin.template).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin renders and reads the contents on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: >-
      Reports what would change, with the diff, and writes nothing. A file in a directory that does not exist yet
      (made by an earlier entry or an earlier task, such as a package install) counts as missing, not as an error.
      O(files[].validate) is not run.
  diff_mode:
    support: full
    details: >-
      A diff per changed entry (two for a file whose content and attributes both change). Binary contents and
      contents over 104448 bytes are shown as a line with their size and SHA-1.
  idempotent:
    support: full
    description: The same contents and attributes make no write.
  platform:
    platforms: posix
options:
  files:
    description:
      - The files and directories, handled in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description:
          - The absolute path of the file or directory on the host.
        type: path
        required: true
      state:
        description:
          - V(file) writes the content given by O(files[].template), O(files[].src) or O(files[].content).
          - V(directory) makes a directory, and its missing parents, like M(ansible.builtin.file) with
            O(ansible.builtin.file#module:state=directory); the attributes apply to every directory it makes.
          - V(absent) removes a file, a symbolic link or an empty directory. A directory that is not empty is
            refused.
        type: str
        choices: [file, directory, absent]
        default: file
      template:
        description:
          - A Jinja2 template on the controller, found where M(ansible.builtin.template) looks (the role's
            C(templates/) directory first).
          - Only with O(files[].state=file), and not with O(files[].src) or O(files[].content).
        type: str
      src:
        description:
          - A file on the controller copied as it is, found where M(ansible.builtin.copy) looks (the role's C(files/)
            directory first). Binary files are fine.
          - Only with O(files[].state=file), and not with O(files[].template) or O(files[].content).
        type: str
      content:
        description:
          - The content of the file, as it is.
          - Only with O(files[].state=file), and not with O(files[].template) or O(files[].src).
        type: str
      owner:
        description:
          - The user that owns the file or directory (name or number). Unchanged when not given.
        type: str
      group:
        description:
          - The group of the file or directory (name or number). Unchanged when not given.
        type: str
      mode:
        description:
          - The permissions, as for M(ansible.builtin.file). Quote octal modes (V("0644")); symbolic modes such as
            V(u=rw,g=r,o=r) also work.
          - A new file without O(files[].mode) gets the default mode of the host's umask; an existing file keeps its
            mode.
        type: raw
      validate:
        description:
          - A command that checks the new content before it replaces the live file; C(%s) stands for the candidate
            file, which is in the destination's directory. The command runs without a shell.
          - When it exits with a non-zero status, the live file is left as it was and the task fails with the
            command's output.
          - Only with O(files[].state=file). Not run in check mode, nor when the content does not change.
        type: str
      content_base64:
        description:
          - Set by the action plugin to the resolved content, base64-encoded; do not set it yourself.
        type: str
notes:
  - The candidate file is a hidden file named after the destination (C(.app.conf.XXXXXXXX)), so that directories
    read with a pattern such as C(*.conf) do not pick it up. It is removed when the validation fails.
  - No remote temporary directory is used, so the module works with pipelining and with O(ignore:become).
  - Unlike M(ansible.builtin.template), there is no C(backup), C(follow) or C(force) option. A destination that
    is a symbolic link is replaced by a file, as M(ansible.builtin.template) does by default.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
  - module: ansible.builtin.file
"""

EXAMPLES = r"""
- name: Write the app's directory, checker script and configuration
  jvmops.deploy.config_files:
    files:
      - dest: /etc/jvmops
        state: directory
        owner: root
        group: root
        mode: "0755"
      - dest: /usr/local/lib/jvmops/check-config
        src: check-config.py
        mode: "0755"
      - dest: /etc/jvmops/app.conf
        template: app.conf.j2
        owner: root
        group: app
        mode: "0640"
        validate: /usr/bin/python3 /usr/local/lib/jvmops/check-config %s
      - dest: /etc/jvmops/JAVA_OPTS
        content: "-Xmx{{ app_heap }}\n"
        mode: "0644"
      - dest: /etc/jvmops/old.conf
        state: absent
  register: app_files
  notify: Restart app

- name: Reload only when the configuration itself changed
  ansible.builtin.debug:
    msg: "{{ app_files.files | selectattr('changed') | map(attribute='dest') | list }}"
"""

RETURN = r"""
files:
  description:
    - One item per entry, in the order given. On failure, the entries handled before the one that failed.
  type: list
  elements: dict
  returned: always
  contains:
    dest:
      description: The entry's O(files[].dest).
      type: str
      sample: /etc/jvmops/app.conf
    state:
      description: The entry's O(files[].state).
      type: str
      sample: file
    changed:
      description: Whether the entry changed something (in check mode, would change something).
      type: bool
      sample: true
    checksum:
      description: The SHA-1 of the content the file has after the run (in check mode, would have).
      type: str
      returned: for O(files[].state=file)
      sample: 2aae6c35c94fcfb415dbe95f408b9ce91ee846ed
  sample:
    - {"dest": "/etc/jvmops", "state": "directory", "changed": false}
    - {"dest": "/etc/jvmops/app.conf", "state": "file", "changed": true,
       "checksum": "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"}
    - {"dest": "/etc/jvmops/old.conf", "state": "absent", "changed": false}
diff:
  description:
    - In diff mode, one or two items per changed entry, in the order of the entries. For a file, its content before
      and after (binary content, or content over 104448 bytes, as one line with its size and SHA-1). For a
      directory made or a path removed, its C(state) before and after; for changed attributes, their values.
  type: list
  elements: dict
  returned: in diff mode
  contains:
    before_header:
      description: The path.
      type: str
    after_header:
      description: The path.
      type: str
    before:
      description: The content or the lines of state and attributes before the run.
      type: str
    after:
      description: The content or the lines of state and attributes after the run.
      type: str
  sample:
    - {"before_header": "/etc/jvmops/app.conf", "after_header": "/etc/jvmops/app.conf",
       "before": "port = 8000\n", "after": "port = 8080\n"}
    - {"before_header": "/etc/jvmops/cache", "after_header": "/etc/jvmops/cache",
       "before": "path: /etc/jvmops/cache\nstate: absent\n", "after": "path: /etc/jvmops/cache\nstate: directory\n"}
"""
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jvmops.deploy.plugins.module_utils._config_files import FILE_OPTIONS, ConfigFilesError, apply


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": FILE_OPTIONS,
            },
        },
        supports_check_mode=True,
    )
    try:
        changed, result = apply(module)
    except ConfigFilesError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
