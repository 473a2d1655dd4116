#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_deploy
short_description: Build and release source on Heroku (what C(git push heroku master) does), through the Platform API
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Packs O(src) into a gzipped tarball, uploads it to Heroku (C(POST /sources), then C(PUT) to the upload URL),
    starts a build with its SHA-256 checksum and O(version), follows the build output, waits for the build to
    succeed or fail, and returns the build, its output and the release it made.
  - No git and no Heroku CLI are needed where it runs.
  - The tarball of a directory depends on the files' names, contents and permissions only (sorted entries, fixed
    owners and times), so the same tree always gives the same checksum. When the app's current release runs the slug
    of a successful build of that checksum, nothing is uploaded and the task reports no change.
  - A failing build fails the task; the message ends with the last lines of the build output and RV(build_output)
    holds all of it.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.heroku
  - jvmops.deploy.heroku.app
attributes:
  check_mode:
    details: The tarball is made and its checksum compared with the released one; nothing is uploaded.
  diff_mode:
    support: full
    details: The released source checksum and version, before and after.
  idempotent:
    support: full
    description: The source checksum decides, so the same source is not built twice.
options:
  src:
    description:
      - A directory to pack (on the host the task runs on, usually the controller), or an existing C(.tar.gz) or C(.tgz)
        file to upload as it is.
      - >-
        It must hold a C(Procfile) (for example C(web: target/xitrum/script/runner <main class>)). A tarball whose entries
        all sit below one top directory is fine: Heroku strips it.
    type: path
    required: true
  exclude:
    description:
      - Glob patterns of paths (relative to O(src)) left out of the tarball of a directory. A pattern matching a
        directory leaves out its whole content.
    type: list
    elements: str
    default: [.git, .gitignore]
  version:
    description:
      - The source version recorded with the build (for example a git commit or a release number). It is shown in
        the release description.
    type: str
  buildpacks:
    description:
      - Buildpacks for this build only (names such as V(heroku/jvm), or URLs); by default the app's own.
    type: list
    elements: str
  force:
    description:
      - Build even when the current release already runs this source.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the build to end. When they run out the task fails; the build goes on at Heroku.
    type: int
    default: 1200
seealso:
  - module: jvmops.deploy.heroku_app
  - module: jvmops.deploy.heroku_release
"""

EXAMPLES = r"""
- name: Deploy the packaged app (target/xitrum and a Procfile in build/heroku)
  jvmops.deploy.heroku_deploy:
    app: glacial-tundra-7926
    src: build/heroku
    version: "{{ app_version }}"
  delegate_to: localhost
  register: deploy

- name: Show the build output
  ansible.builtin.debug:
    var: deploy.build_output
"""

RETURN = r"""
checksum:
  description: The C(SHA256:<hex>) checksum of the uploaded tarball.
  type: str
  returned: always
  sample: SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
build:
  description: The build as the API returns it at the end (the earlier build of this source when nothing changed; absent in check mode when a build would run).
  type: dict
  returned: when there is one
  sample: {"id": "01234567-89ab-cdef-0123-456789abcdef", "status": "succeeded", "source_blob": {"checksum": "SHA256:e3b0...", "version": "1.0.0"}}
build_output:
  description: The lines of the build output (empty when no build ran).
  type: list
  elements: str
  returned: always
  sample: ["-----> Building on the Heroku-24 stack", "-----> Launching...", "       Released v5"]
release:
  description: The release the build made (the current release when nothing changed).
  type: dict
  returned: when there is one
  sample: {"version": 5, "description": "Deploy 1.0.0", "current": true}
"""

import os
import tarfile
import time

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.jvmops.deploy.plugins.module_utils._archive import ArchiveError, sha256_file, tree_entries, write_tar_gz
from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    HerokuError, HerokuModule, HerokuModuleError, HerokuOptionError, buildpack_problem, current_release)

# Entry times in the tarball: any fixed time gives a stable checksum; this one (2026-01-01T00:00:00Z), with
# gzip level 9, keeps the checksums of the sources deployed before the shared archive writer.
FIXED_MTIME = 1767225600
GZIP_LEVEL = 9
POLL_INTERVAL = 2.0
OUTPUT_TAIL = 15
# How many of the newest builds are searched for the one the current release runs.
BUILDS_LOOKED_AT = 100


def pack_source(src, patterns, dest):
    """Write a reproducible .tar.gz of the directory src to dest (see module_utils/_archive)."""
    try:
        entries = tree_entries(src, patterns)
        if not any(entry.name == "Procfile" for entry in entries):
            raise HerokuOptionError("src", f"{src} has no Procfile at its top (Heroku needs one to know what to run, "
                                           "for example 'web: target/xitrum/script/runner <main class>')")
        with open(dest, "wb") as out:
            write_tar_gz(out, entries, mtime=FIXED_MTIME, level=GZIP_LEVEL)
    except ArchiveError as exc:
        raise HerokuOptionError("src", f"cannot pack {src}: {to_native(exc)}") from None


def check_tarball(path):
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            names = [m.name.lstrip("./") for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise HerokuOptionError("src", f"{path} is not a gzipped tarball: {to_native(exc)}") from None
    tops = {n.split("/", 1)[0] for n in names}
    stripped = [n.split("/", 1)[1] if len(tops) == 1 and "/" in n else n for n in names]
    if "Procfile" not in names and "Procfile" not in stripped:
        raise HerokuOptionError("src", f"the tarball {path} has no Procfile at its top")


def sha256(path):
    return "SHA256:" + sha256_file(path)


def source_tarball(module):
    src = module.params["src"]
    if os.path.isdir(src):
        dest = os.path.join(module.tmpdir, "source.tar.gz")
        pack_source(src, module.params["exclude"], dest)
        return dest
    if os.path.isfile(src):
        if not src.endswith((".tar.gz", ".tgz")):
            raise HerokuOptionError("src", f"{src} is a file but not a .tar.gz or .tgz tarball")
        check_tarball(src)
        return src
    raise HerokuOptionError("src", f"{src} does not exist (give a directory to pack or a .tar.gz file)")


def released_build(client, app, release):
    """The successful build whose slug the current release runs, if any."""
    slug = ((release or {}).get("slug") or {}).get("id")
    if not slug:
        return None
    # The newest builds only (the current release's build is among them unless it was rolled back to long ago, and
    # then a build runs, as it would for a release of unknown source): reading all of them slows as history grows.
    newest = client.request("GET", "/apps/{app}/builds", range_header=f"started_at ..; order=desc, max={BUILDS_LOOKED_AT}",
                            app=app)[2]
    for build in newest:
        if build.get("status") == "succeeded" and (build.get("slug") or {}).get("id") == slug:
            return build
    return None


def blob_view(build):
    blob = (build or {}).get("source_blob") or {}
    return {"checksum": blob.get("checksum"), "version": blob.get("version")}


def follow(client, app, build, deadline):
    """Read the output stream, then wait for the build to end; (build, lines)."""
    lines = []
    what = ("follow", "build output of app", app)
    url = build.get("output_stream_url")
    if url:
        try:
            for line in client.stream_lines(url, timeout=max(1.0, deadline - time.monotonic()), what=what):
                lines.append(line)
                if time.monotonic() > deadline:
                    break
        except HerokuError:
            lines.append("(the build output stream could not be read; the build's status decides)")
    while True:
        build = client.get("/apps/{app}/builds/{build}", app=app, build=build["id"])
        if build.get("status") != "pending":
            return build, lines
        if time.monotonic() > deadline:
            raise HerokuOptionError("wait_timeout", f"build {build['id']} of app '{app}' still pending after "
                                                    f"{client.module.params['wait_timeout']} s; it goes on at Heroku")
        time.sleep(POLL_INTERVAL)


def deploy(module, client):
    params = module.params
    app = params["app"]
    tarball = source_tarball(module)
    checksum = sha256(tarball)
    client.get("/apps/{app}", app=app)
    release = current_release(client, app)
    previous = released_build(client, app, release)
    before = blob_view(previous)
    result = {"checksum": checksum, "build_output": []}
    unchanged = previous is not None and before["checksum"] == checksum and not params["force"]
    if unchanged:
        result.update(build=previous, release=release)
        if module._diff:
            result["diff"] = {"before": before, "after": before}
        return False, result
    after = {"checksum": checksum, "version": params["version"]}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    if module.check_mode:
        return True, result

    source = client.post("/sources", app=app)
    blob = source["source_blob"]
    with open(tarball, "rb") as handle:
        client.put_blob(blob["put_url"], handle.read(), what=("upload", "source of app", app))
    body = {"source_blob": {"url": blob["get_url"], "checksum": checksum}}
    if params["version"] is not None:
        body["source_blob"]["version"] = params["version"]
    if params["buildpacks"]:
        body["buildpacks"] = [{"url": b} if "://" in b else {"name": b} for b in params["buildpacks"]]
    deadline = time.monotonic() + params["wait_timeout"]
    build = client.post("/apps/{app}/builds", body, app=app)
    build, lines = follow(client, app, build, deadline)
    result.update(build=build, build_output=lines)
    if build.get("status") != "succeeded":
        tail = "\n".join(lines[-OUTPUT_TAIL:]) or "(no output)"
        raise HerokuModuleError(f"Failed to build app '{app}': build {build['id']} {build.get('status')}; the output ends "
                                f"with:\n{tail}", changed=True, **result)
    release_id = (build.get("release") or {}).get("id")
    if release_id:
        result["release"] = client.get("/apps/{app}/releases/{release}", app=app, release=release_id)
    return True, result


def check_options(params):
    problems = []
    if params["wait_timeout"] <= 0:
        problems.append(f"wait_timeout: must be more than 0 seconds, got {params['wait_timeout']}")
    if params["version"] is not None and not params["version"].strip():
        problems.append("version: must not be empty")
    for index, pack in enumerate(params["buildpacks"] or []):
        if buildpack_problem(f"buildpacks[{index}]", pack):
            problems.append(buildpack_problem(f"buildpacks[{index}]", pack))
    return problems


def main():
    module = HerokuModule(argument_spec={
        "app": {"type": "str", "required": True},
        "src": {"type": "path", "required": True},
        "exclude": {"type": "list", "elements": "str", "default": [".git", ".gitignore"]},
        "version": {"type": "str"},
        "buildpacks": {"type": "list", "elements": "str"},
        "force": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 1200},
    }, check_options=check_options, supports_check_mode=True)
    module.run(deploy)


if __name__ == "__main__":
    main()
