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
attributes:
  check_mode:
    support: full
    details: The tarball is made and its checksum compared with the released one; nothing is uploaded.
  diff_mode:
    support: full
    details: The released source checksum and version, before and after.
  platform:
    platforms: all
  idempotent:
    support: full
    description: The source checksum decides, so the same source is not built twice.
options:
  app:
    description:
      - The app's name or id.
    type: str
    required: true
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

import fnmatch
import gzip
import hashlib
import os
import tarfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import HerokuClient, HerokuError, heroku_argument_spec, path_part

# Entry times in the tarball (any fixed time gives a stable checksum).
FIXED_MTIME = 1767225600  # 2026-01-01T00:00:00Z
POLL_INTERVAL = 2.0
OUTPUT_TAIL = 15


class DeployError(Exception):
    """A problem with the options or the source, named by option."""


def excluded(relpath, patterns):
    return any(fnmatch.fnmatchcase(relpath, p) or fnmatch.fnmatchcase(os.path.basename(relpath), p) for p in patterns)


def walk(src, patterns):
    """The paths to pack, relative to src, sorted, parents before children."""
    found = []
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        rel_root = "" if rel_root == "." else rel_root
        kept = []
        for name in sorted(dirs):
            rel = os.path.join(rel_root, name)
            if excluded(rel, patterns):
                continue
            if os.path.islink(os.path.join(root, name)):
                found.append(rel)  # packed as a link, not followed
            else:
                kept.append(name)
                found.append(rel)
        dirs[:] = kept
        for name in sorted(files):
            rel = os.path.join(rel_root, name)
            if not excluded(rel, patterns):
                found.append(rel)
    return sorted(found)


def normalize(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = FIXED_MTIME
    if info.isdir():
        info.mode = 0o755
    elif info.isreg():
        info.mode = 0o755 if info.mode & 0o111 else 0o644
    return info


def pack_directory(src, patterns, dest):
    """Write a reproducible .tar.gz of src to dest."""
    paths = walk(src, patterns)
    if "Procfile" not in paths:
        raise DeployError(f"src: {src} has no Procfile at its top (Heroku needs one to know what to run, for example "
                          "'web: target/xitrum/script/runner <main class>')")
    with open(dest, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for rel in paths:
                    full = os.path.join(src, rel)
                    info = normalize(tar.gettarinfo(full, arcname=rel))
                    if info.isreg():
                        with open(full, "rb") as handle:
                            tar.addfile(info, handle)
                    elif info.isdir() or info.issym():
                        tar.addfile(info)


def check_tarball(path):
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            names = [m.name.lstrip("./") for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DeployError(f"src: {path} is not a gzipped tarball: {to_native(exc)}") from None
    tops = {n.split("/", 1)[0] for n in names}
    stripped = [n.split("/", 1)[1] if len(tops) == 1 and "/" in n else n for n in names]
    if "Procfile" not in names and "Procfile" not in stripped:
        raise DeployError(f"src: the tarball {path} has no Procfile at its top")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "SHA256:" + digest.hexdigest()


def source_tarball(module):
    src = module.params["src"]
    if os.path.isdir(src):
        dest = os.path.join(module.tmpdir, "source.tar.gz")
        pack_directory(src, module.params["exclude"], dest)
        return dest
    if os.path.isfile(src):
        if not src.endswith((".tar.gz", ".tgz")):
            raise DeployError(f"src: {src} is a file but not a .tar.gz or .tgz tarball")
        check_tarball(src)
        return src
    raise DeployError(f"src: {src} does not exist (give a directory to pack or a .tar.gz file)")


def current_release(client, app):
    page = client.request("GET", f"/apps/{path_part(app)}/releases", what=("read", "releases of app", app),
                          range_header="version ..; order=desc, max=1")[2]
    return page[0] if page else None


def released_build(client, app, release):
    """The successful build whose slug the current release runs, if any."""
    slug = ((release or {}).get("slug") or {}).get("id")
    if not slug:
        return None
    for build in reversed(client.list(f"/apps/{path_part(app)}/builds", what=("read", "builds of app", app))):
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
    path = f"/apps/{path_part(app)}/builds/{path_part(build['id'])}"
    while True:
        build = client.call("GET", path, what=("read", "build of app", app))
        if build.get("status") != "pending":
            return build, lines
        if time.monotonic() > deadline:
            raise DeployError(f"wait_timeout: build {build['id']} of app '{app}' still pending after "
                              f"{client.module.params['wait_timeout']} s; it goes on at Heroku")
        time.sleep(POLL_INTERVAL)


def deploy(module, client):
    params = module.params
    app = params["app"]
    app_path = f"/apps/{path_part(app)}"
    tarball = source_tarball(module)
    checksum = sha256(tarball)
    client.call("GET", app_path, what=("read", "app", app))
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

    source = client.call("POST", "/sources", what=("create", "source upload for app", app))
    blob = source["source_blob"]
    with open(tarball, "rb") as handle:
        client.put_blob(blob["put_url"], handle.read(), what=("upload", "source of app", app))
    body = {"source_blob": {"url": blob["get_url"], "checksum": checksum}}
    if params["version"] is not None:
        body["source_blob"]["version"] = params["version"]
    if params["buildpacks"]:
        body["buildpacks"] = [{"url": b} if "://" in b else {"name": b} for b in params["buildpacks"]]
    deadline = time.monotonic() + params["wait_timeout"]
    build = client.call("POST", app_path + "/builds", body, what=("create", "build of app", app))
    build, lines = follow(client, app, build, deadline)
    result.update(build=build, build_output=lines)
    if build.get("status") != "succeeded":
        tail = "\n".join(lines[-OUTPUT_TAIL:]) or "(no output)"
        raise BuildFailed(f"Failed to build app '{app}': build {build['id']} {build.get('status')}; the output ends with:\n{tail}",
                          result)
    release_id = (build.get("release") or {}).get("id")
    if release_id:
        result["release"] = client.call("GET", f"{app_path}/releases/{path_part(release_id)}", what=("read", "release of app", app))
    return True, result


class BuildFailed(Exception):
    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


def main():
    argument_spec = heroku_argument_spec()
    argument_spec.update({
        "app": {"type": "str", "required": True},
        "src": {"type": "path", "required": True},
        "exclude": {"type": "list", "elements": "str", "default": [".git", ".gitignore"]},
        "version": {"type": "str"},
        "buildpacks": {"type": "list", "elements": "str"},
        "force": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 1200},
    })
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["wait_timeout"] <= 0:
        module.fail_json(msg=f"wait_timeout: must be more than 0 seconds, got {module.params['wait_timeout']}")
    if module.params["version"] is not None and not module.params["version"].strip():
        module.fail_json(msg="version: must not be empty")
    client = HerokuClient(module)
    try:
        changed, result = deploy(module, client)
    except DeployError as exc:
        module.fail_json(msg=str(exc))
    except BuildFailed as exc:
        module.fail_json(msg=str(exc), changed=True, **exc.result)
    except HerokuError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
