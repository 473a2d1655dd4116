#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: xitrum_package
short_description: Assemble the deployable directory of a Xitrum-style JVM project
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Builds the directory that C(sbt xitrum-package) builds, without needing sbt where it runs.
    O(dest) gets C(config/), C(public/), C(lib/) (the application jar and its dependency jars) and
    C(script/), which holds the project's own C(script/) directory (as C(xitrum-package) copies C(config),
    C(public) and C(script) by default) and a generated C(runner) and C(runner.bat) that start the application
    with C(lib/*) and C(config/) on the classpath.
  - Runs wherever the task runs, for example on the controller (C(delegate_to) V(localhost)) or on
    a build host; the result can then be copied to the servers (for example with
    M(ansible.posix.synchronize) or from the O(archive)).
  - Idempotent by content. A file whose size and modification time match its source is taken as
    equal without reading it, as C(rsync) does; otherwise the content decides, and only files that
    really differ are copied (through a temporary file renamed into place, keeping the source's mode
    and modification time). Files in O(dest) that no longer come from an input are removed, and so
    are directories that no longer come from one.
  - A source that was only touched (same content, new modification time) is not a change; the copy's
    modification time is refreshed so that the next run takes the fast path again.
  - The module keeps an index of content hashes in C(<dest>/.xitrum-package.json), so that an
    unchanged package is checked with one C(lstat) per file. It is not part of the package, of
    RV(files), of RV(package_checksum) or of the O(archive). When O(dest) exists, is not empty and has
    no index, the module refuses to use it unless it only holds the package layout (C(config),
    C(public), C(lib), C(script), and the top-level names of O(copy)), since it would remove other files.
  - Every input is checked before anything is written; a wrong input fails with a message naming the
    option and the rule.
options:
  project_dir:
    description:
      - The project's directory. Relative paths in the other options are relative to it.
    type: path
    required: true
  dest:
    description:
      - The package directory to create or update, relative to O(project_dir) unless absolute.
      - It must not be O(project_dir), C(/), a directory containing O(project_dir), or inside O(config_dir),
        O(public_dir) or a directory of O(copy); no source may be inside it.
      - A new O(dest) is built beside it and renamed into place when complete.
    type: path
    default: target/xitrum
  main_jar:
    description:
      - The application jar (for example the output of C(sbt package)), relative to O(project_dir) unless
        absolute. It is copied to C(lib/).
    type: path
    required: true
  jars:
    description:
      - Glob patterns of dependency jars, relative to O(project_dir) unless absolute; C(**) matches any
        number of directories. Every matching file is copied into C(lib/) under its base name.
      - A pattern that matches no file is an error. Two different files with the same base name are an
        error naming both. Directories that match are skipped, and so are matches inside O(dest) (so that
        C(target/**/*.jar) does not pick up the jars of an earlier package).
    type: list
    elements: str
    default: []
  classpath_file:
    description:
      - A file listing dependency jars separated by C(:) or line breaks, such as the output of
        C(sbt -error "export runtime:fullClasspath"). Entries relative to O(project_dir) unless absolute.
      - Entries that are directories (class directories) are skipped; an entry that does not exist is
        an error. The jars are copied into C(lib/) like those of O(jars).
    type: path
  config_dir:
    description:
      - Directory copied recursively to C(config/), relative to O(project_dir) unless absolute.
      - When it does not exist and has its default value, nothing is copied; any other missing
        directory is an error. C(config/) is always created and is on the classpath.
    type: path
    default: config
  public_dir:
    description:
      - Directory copied recursively to C(public/) (the static files), relative to O(project_dir) unless
        absolute.
      - When it does not exist and has its default value, nothing is copied; any other missing
        directory is an error.
    type: path
    default: public
  script_dir:
    description:
      - Directory copied recursively to C(script/) (for example Xitrum's C(scalive) and other scripts),
        relative to O(project_dir) unless absolute.
      - Its C(runner) and C(runner.bat), which a Xitrum project has, are not copied (the module generates
        them with O(main_class) and O(jvm_options), and lists the project's in RV(not_copied)).
      - When it does not exist and has its default value, C(script/) holds only the generated scripts; any
        other missing directory is an error.
    type: path
    default: script
  copy:
    description:
      - Extra files or directories, relative to O(project_dir), copied to the same relative path in
        O(dest), like C(XitrumPackage.copy("config", "public", "script", "doc/README.txt")) in a
        Xitrum C(build.sbt).
      - An absolute path, or one that leaves O(project_dir), is an error, and so is an entry that would
        bring C(script/runner) or C(script/runner.bat), which the module generates.
    type: list
    elements: str
    default: []
  main_class:
    description:
      - Fully qualified name of the class whose C(main) starts the application, for example
        C(quickstart.Boot). It is written into C(script/runner) and C(script/runner.bat).
      - Must be dot-separated Java identifiers, none of them a Java reserved word.
    type: str
    required: true
  jvm_options:
    description:
      - Default JVM options written into the runners, each as one argument (quoted, so spaces and
        quotes are kept). C(JAVA_OPTS) from the environment comes after them and so can override them.
      - An option may not contain a double quote or a line break, which cannot be written safely into
        C(runner.bat).
    type: list
    elements: str
    default: []
  archive:
    description:
      - Also write a reproducible C(.tar.gz) of the package to this path, relative to O(project_dir)
        unless absolute. It must not be inside O(dest) or a source directory.
      - Entries are sorted, with mode 0755 for directories and the package's modes for files, owner
        and group 0 with empty names, and modification time 1980-01-01 00:00:00 UTC; the gzip header
        has no file name and time 0. The same package therefore gives a byte-identical archive and the
        same RV(archive_checksum), even after sources were touched. An archive that is already identical
        is not rewritten.
    type: path
  archive_prefix:
    description:
      - Name of the top directory inside the O(archive). Defaults to the base name of O(dest), for
        example C(xitrum). Only used with O(archive).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Computes everything (reading the sources and the archive that would be written) and writes nothing.
  diff_mode:
    support: full
    details: Returns the files added (V(+)), changed (V(~)) and removed (V(-)), and whether the archive changes.
  platform:
    support: full
    platforms: posix
  idempotent:
    description: When run twice with the same inputs, the second run reports no change and writes no file.
    support: full
notes:
  - The generated C(script/runner) is POSIX C(sh); it changes to the package root (following symbolic links
    to itself), uses C($JAVA_HOME/bin/java) when E(JAVA_HOME) is set and C(java) from E(PATH) otherwise, and
    runs C(exec java <jvm_options> $JAVA_OPTS -cp "lib/*:config" <main_class> "$@").
    C(script/runner.bat) does the same on Windows with C(%JAVA_OPTS%) and the classpath C(lib\*;config).
seealso:
  - name: xitrum-package
    description: The sbt plugin whose layout this module reproduces.
    link: https://github.com/xitrum-framework/xitrum-package
"""

EXAMPLES = r"""
- name: Package the application on the controller after sbt package
  jvmops.deploy.xitrum_package:
    project_dir: "{{ playbook_dir }}/../myapp"
    main_jar: target/scala-2.13/myapp_2.13-1.0.jar
    jars:
      - lib_managed/**/*.jar
    main_class: quickstart.Boot
    jvm_options:
      - -Xms512m
      - -Xmx2g
      - -Dlogback.configurationFile=config/logback.xml
  delegate_to: localhost
  run_once: true
  register: myapp_package

- name: Package from sbt's classpath export, with extra files and a reproducible archive
  jvmops.deploy.xitrum_package:
    project_dir: /srv/build/myapp
    dest: /srv/build/out/myapp
    main_jar: target/scala-2.13/myapp_2.13-1.0.jar
    classpath_file: target/runtime-classpath.txt
    copy:
      - doc/README.txt
    main_class: quickstart.Boot
    archive: /srv/build/out/myapp.tar.gz
  register: myapp_package

- name: Show what the package holds
  ansible.builtin.debug:
    msg: "{{ myapp_package.files }} files, archive sha256 {{ myapp_package.archive_checksum }}"
"""

RETURN = r"""
dest:
  description: Absolute path of the package directory.
  returned: success
  type: str
  sample: /srv/build/myapp/target/xitrum
files:
  description: Number of files in the package (copied and generated; the index is not counted).
  returned: success
  type: int
  sample: 5506
added:
  description: Files and directories (with a trailing V(/)) added to O(dest), sorted, relative to O(dest).
  returned: success
  type: list
  elements: str
  sample: ["lib/", "lib/myapp_2.13-1.0.jar", "script/runner"]
changed_files:
  description: Files whose content or mode changed (or which replace something else of the same name), sorted.
  returned: success
  type: list
  elements: str
  sample: ["lib/myapp_2.13-1.0.jar"]
removed:
  description: Files and directories (with a trailing V(/)) removed from O(dest) because no input brings them any more, sorted.
  returned: success
  type: list
  elements: str
  sample: ["lib/old-dependency-1.2.jar", "public/old/"]
archive:
  description: Absolute path of the archive, or V(null) without O(archive).
  returned: success
  type: str
  sample: /srv/build/out/myapp.tar.gz
archive_checksum:
  description: sha256 of the archive (predicted in check mode), or V(null) without O(archive).
  returned: success
  type: str
  sample: 9f2c5be4d1c0e7b1f8a3d6e2c4b5a7980d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a
package_checksum:
  description:
    - sha256 over the sorted paths, modes and content sha256 of the package's files (and its directory names).
      It depends only on the package's content, so it identifies a build across runs and machines.
  returned: success
  type: str
  sample: 2529e04062b6a4c0c3f9e5d2b1a8f7e6d5c4b3a2918070605040302010f0e0d
not_copied:
  description:
    - Files of O(script_dir) not copied because the module generates them (C(script/runner), C(script/runner.bat)),
      relative to O(dest).
  returned: success
  type: list
  elements: str
  sample: ["script/runner", "script/runner.bat"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_package import XitrumPackageError, package


def main():
    module = AnsibleModule(
        argument_spec={
            "project_dir": {"type": "path", "required": True},
            "dest": {"type": "path", "default": "target/xitrum"},
            "main_jar": {"type": "path", "required": True},
            "jars": {"type": "list", "elements": "str", "default": []},
            "classpath_file": {"type": "path"},
            "config_dir": {"type": "path", "default": "config"},
            "public_dir": {"type": "path", "default": "public"},
            "script_dir": {"type": "path", "default": "script"},
            "copy": {"type": "list", "elements": "str", "default": []},
            "main_class": {"type": "str", "required": True},
            "jvm_options": {"type": "list", "elements": "str", "default": []},
            "archive": {"type": "path"},
            "archive_prefix": {"type": "str"},
        },
        required_by={"archive_prefix": "archive"},
        supports_check_mode=True,
    )
    try:
        result = package(check_mode=module.check_mode, diff=module._diff, **module.params)
    except XitrumPackageError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
