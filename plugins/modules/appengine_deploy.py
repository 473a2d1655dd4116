#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: appengine_deploy
short_description: Deploy a JVM app to the Google App Engine standard environment and move traffic to it
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - What C(gcloud app deploy) does, as an idempotent task, through the App Engine Admin API v1.
  - The files of O(src) (the members of the build role's archive, or one executable JAR) are uploaded to the
    application's staging bucket under their SHA-1 as object name. Files the bucket already holds are not uploaded
    again.
  - A version is created from those files and the settings (from O(app_yaml) or the options), and the module waits
    for its operation. Traffic then moves to it (O(promote)), or is split as O(split) says.
  - When the version exists with the same files and settings, nothing is uploaded and nothing is written.
    Versions cannot be changed; a version id that exists with other files or settings fails the task.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.appengine
attributes:
  diff_mode:
    support: full
    details: >-
      The version (files by SHA-1, runtime, entrypoint, instance class, scaling, environment variables with their
      values masked) and the service's traffic split, before and after.
  idempotent:
    support: full
    description: The same files and settings make no call that writes.
options:
  service:
    description:
      - The App Engine service (1 to 63 lower-case letters, digits and hyphens). The first service of an
        application must be V(default).
    type: str
    default: default
  version:
    description:
      - The version id (1 to 63 lower-case letters, digits and hyphens, not starting with C(ah-)).
      - When not given, it is C(v) and the first 12 hex digits of a SHA-256 over the files and the settings, so the
        same build and settings always get the same id.
    type: str
  src:
    description:
      - What to deploy, on the host the task runs on. A C(.tar.gz), C(.tgz), C(.tar) or C(.zip) archive (such as
        the build role's C(build_archive)), whose regular files are deployed under their paths in the archive; or an
        executable C(.jar), deployed as the one file under its own name.
    type: path
    required: true
  app_yaml:
    description:
      - An C(app.yaml) read as gcloud reads it. C(runtime), C(entrypoint), C(instance_class),
        C(automatic_scaling), C(basic_scaling), C(manual_scaling), C(env_variables) and C(handlers) are used; other
        keys fail the task.
      - Mutually exclusive with O(entrypoint), O(instance_class), O(scaling) and O(env_variables); O(runtime) is
        then ignored (the file's C(runtime) is used).
    type: path
  runtime:
    description:
      - The runtime, when O(app_yaml) is not given.
    type: str
    choices: [java17, java21, java25]
    default: java17
  entrypoint:
    description:
      - The shell command that starts the app, for example C(java -jar app.jar). It must listen on E(PORT).
      - When not given, App Engine runs C(java -jar) with the one JAR at the root of the files.
    type: str
  instance_class:
    description:
      - The instance class. F classes go with automatic scaling, B classes with basic or manual scaling.
    type: str
    choices: [F1, F2, F4, F4_1G, B1, B2, B4, B4_1G, B8]
  scaling:
    description:
      - How instances are scaled, with the keys of C(app.yaml)'s C(automatic_scaling), C(basic_scaling) or
        C(manual_scaling).
    type: dict
    suboptions:
      type:
        description: Which scaling.
        type: str
        choices: [automatic, basic, manual]
        required: true
      min_instances:
        description: Automatic scaling, the fewest instances.
        type: int
      max_instances:
        description: Automatic or basic scaling, the most instances.
        type: int
      target_cpu_utilization:
        description: Automatic scaling, the CPU use (0.5 to 0.95) that starts a new instance.
        type: float
      target_throughput_utilization:
        description: Automatic scaling, the share of O(scaling.max_concurrent_requests) that starts a new instance.
        type: float
      max_concurrent_requests:
        description: Automatic scaling, requests one instance takes at once.
        type: int
      min_idle_instances:
        description: Automatic scaling, idle instances kept ready.
        type: int
      max_idle_instances:
        description: Automatic scaling, the most idle instances.
        type: int
      min_pending_latency:
        description: Automatic scaling, a duration such as C(30ms) or C(1s).
        type: str
      max_pending_latency:
        description: Automatic scaling, a duration such as C(30ms) or C(1s).
        type: str
      idle_timeout:
        description: Basic scaling, how long an idle instance lives, such as C(5m).
        type: str
      instances:
        description: Manual scaling, the number of instances.
        type: int
  env_variables:
    description:
      - Environment variables of the app, when O(app_yaml) is not given. Their values are never shown.
    type: dict
  promote:
    description:
      - Move all traffic of the service to the version. Ignored when O(split) is given.
    type: bool
    default: true
  split:
    description:
      - The traffic split after the deploy, a version id to a fraction, for a gradual move (C({v1 0.9, v2 0.1})).
        Fractions have at most 2 decimals and sum to 1.
      - To name the deployed version here, give O(version).
    type: dict
  stop_previous:
    description:
      - Stop the versions that served traffic before and serve none after the deploy.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for each operation (the version's creation, the traffic split, a stop).
    type: int
    default: 600
seealso:
  - name: App Engine Admin API, apps.services.versions.create
    description: The call the module makes to create a version.
    link: https://cloud.google.com/appengine/docs/admin-api/reference/rest/v1/apps.services.versions/create
  - name: app.yaml reference for Java
    description: The keys O(app_yaml) may hold.
    link: https://cloud.google.com/appengine/docs/standard/reference/app-yaml?tab=java
"""

EXAMPLES = r"""
- name: Deploy the executable JAR and move all traffic to it
  jvmops.deploy.appengine_deploy:
    project: my-project-123
    src: build/hello-jvm.jar
    runtime: java21
    entrypoint: java -Xmx256m -jar hello-jvm.jar
    env_variables:
      DB_PASSWORD: "{{ vault_db_password }}"
    stop_previous: true
  register: deployed

- name: Say where it answers
  ansible.builtin.debug:
    msg: "Version {{ deployed.version_id }} at {{ deployed.url }}, replacing {{ deployed.previous_version }}"

- name: Deploy the build role's archive with its app.yaml, give it 10% of the traffic
  jvmops.deploy.appengine_deploy:
    project: my-project-123
    service: default
    version: v2
    src: "{{ build_archive }}"
    app_yaml: app.yaml
    split:
      v1: 0.9
      v2: 0.1
"""

RETURN = r"""
version_id:
  description: The id of the deployed version.
  returned: success
  type: str
  sample: v3f9c2a61b0de
version:
  description: The version as App Engine returns it (without its file list), environment variable values masked.
  returned: success
  type: dict
  sample: {"id": "v3f9c2a61b0de", "runtime": "java17", "serving_status": "SERVING",
           "version_url": "https://v3f9c2a61b0de-dot-default-dot-my-project-123.uc.r.appspot.com"}
url:
  description: The URL of the version, C(https://<version>-dot-<service>-dot-<default hostname>).
  returned: success
  type: str
  sample: https://v3f9c2a61b0de-dot-default-dot-my-project-123.uc.r.appspot.com
previous_version:
  description: The version that had the most traffic before, when it was another one; else null.
  returned: success
  type: str
  sample: v1
split:
  description: The service's traffic allocations after the task.
  returned: success
  type: dict
  sample: {"v1": 0.9, "v3f9c2a61b0de": 0.1}
stopped:
  description: The versions stopped because of O(stop_previous).
  returned: success
  type: list
  elements: str
  sample: [v1]
files:
  description: The number of files of the version.
  returned: success
  type: int
  sample: 1
uploaded:
  description: The number of files uploaded to the staging bucket (in check mode, that would be).
  returned: success
  type: int
  sample: 1
already_stored:
  description: The number of files the staging bucket already held, or that were not needed because the version exists.
  returned: success
  type: int
  sample: 0
created:
  description: Whether the version was created (in check mode, would be).
  returned: success
  type: bool
  sample: true
"""

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import zipfile

try:
    import yaml
except ImportError:  # PyYAML comes with ansible-core on the controller
    yaml = None

from ansible_collections.jvmops.deploy.plugins.module_utils._appengine import (
    REDACTED,
    SOURCE_URL,
    AppEngineModule,
    AppEngineModuleError,
    enum_name,
    resource_id_problem,
    runtime_problem,
    split_problem,
    to_dict,
    version_message,
    version_result,
)

SCALING_KEYS = {
    "automatic": ("min_instances", "max_instances", "target_cpu_utilization", "target_throughput_utilization",
                  "max_concurrent_requests", "min_idle_instances", "max_idle_instances", "min_pending_latency",
                  "max_pending_latency"),
    "basic": ("max_instances", "idle_timeout"),
    "manual": ("instances",),
}
APP_YAML_KEYS = ("runtime", "entrypoint", "instance_class", "automatic_scaling", "basic_scaling", "manual_scaling",
                 "env_variables", "handlers")
# app.yaml keys gcloud reads and this module leaves to App Engine's defaults without harm.
APP_YAML_IGNORED = ("service", "env")
SECURE = {"always": "SECURE_ALWAYS", "optional": "SECURE_OPTIONAL", "never": "SECURE_NEVER"}
LOGIN = {"required": "LOGIN_REQUIRED", "admin": "LOGIN_ADMIN", "optional": "LOGIN_OPTIONAL"}
REDIRECT = {301: "REDIRECT_HTTP_RESPONSE_CODE_301", 302: "REDIRECT_HTTP_RESPONSE_CODE_302",
            303: "REDIRECT_HTTP_RESPONSE_CODE_303", 307: "REDIRECT_HTTP_RESPONSE_CODE_307"}
# Version fields App Engine does not fill in when a deploy leaves them out.
NO_DEFAULTS = ("entrypoint", "env_variables", "handlers", "files")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
ARCHIVES = (".tar.gz", ".tgz", ".tar", ".zip")


# ---------------------------------------------------------------------------------------------------------------
# Settings: options or app.yaml -> the fields of a Version (snake_case, as the client takes them)


def duration(option, value):
    match = DURATION.match(str(value).strip())
    if not match:
        raise AppEngineModuleError(f"{option}: '{value}' is not a duration such as 30ms, 10s, 5m")
    return f"{float(match.group(1)) * UNITS[match.group(2)]:g}s"


def scaling_fields(kind, values, where):
    """The Version fields of one scaling, from app.yaml's keys."""
    unknown = sorted(set(values) - set(SCALING_KEYS[kind]) - {"type"})
    if unknown:
        raise AppEngineModuleError(f"{where}: {', '.join(unknown)} do not go with {kind} scaling "
                                   f"(it takes {', '.join(SCALING_KEYS[kind])})")
    values = {key: value for key, value in values.items() if value is not None and key != "type"}
    if kind == "manual":
        return {"manual_scaling": values}
    if kind == "basic":
        if "idle_timeout" in values:
            values["idle_timeout"] = duration(f"{where}.idle_timeout", values["idle_timeout"])
        return {"basic_scaling": values}
    scheduled = ("min_instances", "max_instances", "target_cpu_utilization", "target_throughput_utilization")
    scheduler = {key: values.pop(key) for key in scheduled if key in values}
    for key in ("min_pending_latency", "max_pending_latency"):
        if key in values:
            values[key] = duration(f"{where}.{key}", values[key])
    if scheduler:
        values["standard_scheduler_settings"] = scheduler
    return {"automatic_scaling": values}


def handler_fields(index, handler):
    where = f"app_yaml: handlers[{index}]"
    if not isinstance(handler, dict) or "url" not in handler:
        raise AppEngineModuleError(f"{where} must be a mapping with a url")
    out = {"url_regex": handler["url"]}
    if "static_dir" in handler:
        directory = handler["static_dir"].rstrip("/")
        out["url_regex"] = handler["url"].rstrip("/") + "/(.*)"
        out["static_files"] = {"path": directory + "/\\1", "upload_path_regex": re.escape(directory) + "/.*"}
    elif "static_files" in handler:
        out["static_files"] = {"path": handler["static_files"], "upload_path_regex": handler.get("upload", ".*")}
    elif "script" in handler:
        out["script"] = {"script_path": handler["script"]}
    if "static_files" in out:
        for key in ("mime_type", "require_matching_file", "application_readable"):
            if key in handler:
                out["static_files"][key] = handler[key]
        if "expiration" in handler:
            out["static_files"]["expiration"] = duration(f"{where}.expiration", handler["expiration"])
        if "http_headers" in handler:
            out["static_files"]["http_headers"] = {str(k): str(v) for k, v in handler["http_headers"].items()}
    if "secure" in handler:
        out["security_level"] = SECURE.get(handler["secure"]) or _bad(f"{where}.secure", handler["secure"], SECURE)
    if "login" in handler:
        out["login"] = LOGIN.get(handler["login"]) or _bad(f"{where}.login", handler["login"], LOGIN)
    if "redirect_http_response_code" in handler:
        code = int(handler["redirect_http_response_code"])
        option = f"{where}.redirect_http_response_code"
        out["redirect_http_response_code"] = REDIRECT.get(code) or _bad(option, code, REDIRECT)
    known = {"url", "static_dir", "static_files", "upload", "script", "mime_type", "require_matching_file",
             "application_readable", "expiration", "http_headers", "secure", "login", "redirect_http_response_code"}
    unknown = sorted(set(handler) - known)
    if unknown:
        raise AppEngineModuleError(f"{where}: keys this module does not translate: {', '.join(unknown)}")
    return out


def _bad(where, value, choices):
    raise AppEngineModuleError(f"{where}: '{value}' is not one of {', '.join(str(c) for c in choices)}")


def read_app_yaml(path):
    """The Version fields an app.yaml asks for (only its keys; nothing of it is shown with env values)."""
    if yaml is None:
        raise AppEngineModuleError("app_yaml: reading it needs PyYAML")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AppEngineModuleError(f"app_yaml: cannot read {path}: {type(exc).__name__}: "
                                   f"{getattr(exc, 'strerror', None) or 'not valid YAML'}") from None
    if not isinstance(data, dict):
        raise AppEngineModuleError(f"app_yaml: {path} must hold a mapping")
    unknown = sorted(set(data) - set(APP_YAML_KEYS) - set(APP_YAML_IGNORED))
    if unknown:
        raise AppEngineModuleError(f"app_yaml: keys this module does not deploy: {', '.join(unknown)}")
    if data.get("env", "standard") != "standard":
        raise AppEngineModuleError("app_yaml: env must be standard (the flexible environment is not supported)")
    scalings = [key for key in ("automatic_scaling", "basic_scaling", "manual_scaling") if key in data]
    if len(scalings) > 1:
        raise AppEngineModuleError(f"app_yaml: give one scaling, not {' and '.join(scalings)}")
    entrypoint = data.get("entrypoint")
    return settings_fields(
        runtime=data.get("runtime"),
        entrypoint=entrypoint,
        instance_class=data.get("instance_class"),
        scaling={"type": scalings[0].split("_")[0], **(data[scalings[0]] or {})} if scalings else None,
        env_variables=data.get("env_variables"),
        handlers=data.get("handlers"),
        where="app_yaml",
    )


def settings_fields(runtime, entrypoint, instance_class, scaling, env_variables, handlers=None, where=None):
    problem = runtime_problem(runtime or "", f"{where}: runtime" if where else "runtime")
    if problem:
        raise AppEngineModuleError(problem)
    fields = {"runtime": runtime}
    if entrypoint:
        fields["entrypoint"] = {"shell": str(entrypoint)}
    if instance_class:
        fields["instance_class"] = str(instance_class)
    if scaling:
        fields.update(scaling_fields(scaling["type"], scaling, f"{where}: {scaling['type']}_scaling" if where else "scaling"))
    if env_variables:
        if not isinstance(env_variables, dict):
            raise AppEngineModuleError(f"{where or 'env_variables'}: env_variables must be a mapping")
        fields["env_variables"] = {str(k): "" if v is None else str(v) for k, v in env_variables.items()}
    if handlers:
        fields["handlers"] = [handler_fields(index, handler) for index, handler in enumerate(handlers)]
    return fields


# ---------------------------------------------------------------------------------------------------------------
# Files


def _sha1(path):
    digest = hashlib.sha1()  # noqa: S324 - App Engine names and checks files by SHA-1
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _member_path(name):
    path = name.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or not path:
        raise AppEngineModuleError(f"src: the archive holds '{name}', a path outside the app")
    return path


def unpack(src, workdir):
    """{deployment path: local file} for src: the regular files of an archive, or the JAR itself."""
    lower = src.lower()
    if lower.endswith(".jar"):
        return {os.path.basename(src): src}
    files = {}
    if lower.endswith(".zip"):
        with zipfile.ZipFile(src) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                path = _member_path(info.filename)
                target = os.path.join(workdir, str(len(files)))
                with archive.open(info) as source, open(target, "wb") as dest:
                    shutil.copyfileobj(source, dest)
                files[path] = target
        return files
    with tarfile.open(src) as archive:
        for member in archive:
            if not member.isfile():
                continue
            path = _member_path(member.name)
            target = os.path.join(workdir, str(len(files)))
            with archive.extractfile(member) as source, open(target, "wb") as dest:
                shutil.copyfileobj(source, dest)
            files[path] = target
    return files


def default_version(manifest, fields):
    """'v' and 12 hex digits of a SHA-256 over the files (path and SHA-1) and the settings."""
    digest = hashlib.sha256(json.dumps([sorted(manifest.items()), fields], sort_keys=True).encode())
    return "v" + digest.hexdigest()[:12]


# ---------------------------------------------------------------------------------------------------------------
# Comparing and showing


def comparable(version):
    """The parts of a Version (dict in the client's form) that a deploy sets: files by SHA-1 and the settings."""
    data = {key: value for key, value in version.items() if key in (
        "runtime", "entrypoint", "instance_class", "automatic_scaling", "basic_scaling", "manual_scaling",
        "env_variables", "handlers")}
    files = ((version.get("deployment") or {}).get("files") or {})
    data["files"] = {path: entry.get("sha1_sum") for path, entry in files.items()}
    return data


def shown(data):
    """comparable() with env values masked, for diff mode."""
    if not data:
        return {}
    out = dict(data)
    if out.get("env_variables"):
        out["env_variables"] = {key: REDACTED for key in out["env_variables"]}
    return out


def allocations_of(service):
    if service is None or not service.split:
        return {}
    return {key: round(float(value), 2) for key, value in service.split.allocations.items()}


# ---------------------------------------------------------------------------------------------------------------
# The work


def check_options(params):
    problems = []
    for option in ("service", "version"):
        if params.get(option):
            problem = resource_id_problem(option, params[option])
            if problem:
                problems.append(problem)
    if params.get("split") is not None:
        problem = split_problem(params["split"])
        if problem:
            problems.append(problem)
    src = params.get("src") or ""
    if not src.lower().endswith(ARCHIVES + (".jar",)):
        problems.append(f"src: '{src}' must be a .jar or an archive ({', '.join(ARCHIVES)})")
    elif not os.path.isfile(src):
        problems.append(f"src: {src} does not exist or is not a file")
    if params.get("app_yaml") and not os.path.isfile(params["app_yaml"]):
        problems.append(f"app_yaml: {params['app_yaml']} does not exist or is not a file")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        problems.append(f"wait_timeout: must be 1 or more seconds, got {params['wait_timeout']}")
    return problems


def desired_fields(params):
    if params.get("app_yaml"):
        return read_app_yaml(params["app_yaml"])
    return settings_fields(params["runtime"], params.get("entrypoint"), params.get("instance_class"),
                           params.get("scaling"), params.get("env_variables"))


def deploy(module, client):  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
    params = module.params
    project, service = params["project"], params["service"]
    fields = desired_fields(params)
    workdir = tempfile.mkdtemp(prefix="appengine_deploy-")
    try:
        try:
            local = unpack(params["src"], workdir)
        except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise AppEngineModuleError(f"src: cannot read {params['src']}: {type(exc).__name__}: {exc}") from None
        if not local:
            raise AppEngineModuleError(f"src: {params['src']} holds no files")
        sha1s = {path: _sha1(target) for path, target in local.items()}
        version_id = params.get("version") or default_version(sha1s, fields)
        split = {str(k): round(float(v), 2) for k, v in (params.get("split") or {}).items()}

        app = client.get_application(project)
        bucket_name, hostname = app.code_bucket, app.default_hostname
        desired = dict(fields, id=version_id, deployment={"files": {
            path: {"source_url": SOURCE_URL.format(bucket=bucket_name, sha1=sha1), "sha1_sum": sha1}
            for path, sha1 in sorted(sha1s.items())}})
        want = comparable(to_dict(version_message(desired)))

        existing = client.get_version(project, service, version_id)
        have = comparable(to_dict(existing)) if existing is not None else None
        # App Engine fills in what was not given (instance class, scaling): only those are not compared.
        differ = sorted(key for key in set(want) | (set(have or {}) & set(NO_DEFAULTS))
                        if have is not None and have.get(key) != want.get(key))
        if differ:
            raise AppEngineModuleError(
                f"Version '{version_id}' of service '{service}' exists with other {', '.join(differ)}; versions cannot "
                "be changed. Give another version, or leave version unset to name it by its content.")
        create = existing is None

        before_service = client.get_service(project, service)
        before = allocations_of(before_service)
        previous = max(before, key=lambda key: (before[key], key)) if before else None
        previous = previous if previous != version_id else None

        uploaded = skipped = 0
        if create:
            bucket = client.bucket(bucket_name)
            seen = set()
            for path, sha1 in sorted(sha1s.items()):
                if sha1 in seen:
                    skipped += 1
                    continue
                seen.add(sha1)
                if client.object_exists(bucket, sha1):
                    skipped += 1
                    continue
                uploaded += 1
                if not module.check_mode:
                    client.upload(bucket, sha1, local[path], path)
        else:
            skipped = len(sha1s)

        if create and not module.check_mode:
            client.create_version(project, service, desired, params["wait_timeout"])
        # The first version of a service gets all its traffic.
        current = dict(before) if before or not create else {version_id: 1.0}
        if create and not module.check_mode:
            current = allocations_of(client.get_service(project, service))
        target = split or ({version_id: 1.0} if params["promote"] else current)
        moved = target != current
        if moved and not module.check_mode:
            client.set_split(project, service, target, params["wait_timeout"])

        stopped = []
        if params["stop_previous"]:
            for old in sorted(set(before) - set(target)):
                if old == version_id:
                    continue
                version = client.get_version(project, service, old, full=False)
                if version is not None and enum_name(version.serving_status) == "SERVING":
                    stopped.append(old)
                    if not module.check_mode:
                        client.set_serving_status(project, service, old, "STOPPED", params["wait_timeout"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    url = f"https://{version_id}-dot-{service}-dot-{hostname}"
    if module.check_mode and create:
        result_version = version_result(dict(fields, id=version_id, version_url=url))
    else:
        result_version = version_result(client.get_version(project, service, version_id, full=False))
        current = allocations_of(client.get_service(project, service)) if not module.check_mode else target
    split_after = target if module.check_mode else current
    changed = create or moved or bool(stopped)
    result = {
        "version_id": version_id,
        "version": result_version,
        "url": url,
        "previous_version": previous,
        "split": split_after,
        "stopped": stopped,
        "files": len(sha1s),
        "uploaded": uploaded,
        "already_stored": skipped,
        "created": create,
    }
    if module._diff:
        result["diff"] = {"before": {"version": shown(have), "split": before},
                          "after": {"version": shown(want), "split": split_after}}
    return changed, result


def main():
    argument_spec = {
        "service": {"type": "str", "default": "default"},
        "version": {"type": "str"},
        "src": {"type": "path", "required": True},
        "app_yaml": {"type": "path"},
        "runtime": {"type": "str", "choices": ["java17", "java21", "java25"], "default": "java17"},
        "entrypoint": {"type": "str"},
        "instance_class": {"type": "str", "choices": ["F1", "F2", "F4", "F4_1G", "B1", "B2", "B4", "B4_1G", "B8"]},
        "scaling": {"type": "dict", "options": {
            "type": {"type": "str", "choices": ["automatic", "basic", "manual"], "required": True},
            "min_instances": {"type": "int"},
            "max_instances": {"type": "int"},
            "target_cpu_utilization": {"type": "float"},
            "target_throughput_utilization": {"type": "float"},
            "max_concurrent_requests": {"type": "int"},
            "min_idle_instances": {"type": "int"},
            "max_idle_instances": {"type": "int"},
            "min_pending_latency": {"type": "str"},
            "max_pending_latency": {"type": "str"},
            "idle_timeout": {"type": "str"},
            "instances": {"type": "int"},
        }},
        "env_variables": {"type": "dict", "no_log": True},
        "promote": {"type": "bool", "default": True},
        "split": {"type": "dict"},
        "stop_previous": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 600},
    }
    module = AppEngineModule(argument_spec=argument_spec, check_options=check_options, supports_check_mode=True,
                             mutually_exclusive=[("app_yaml", "entrypoint"), ("app_yaml", "instance_class"),
                                                 ("app_yaml", "scaling"), ("app_yaml", "env_variables")])
    module.run(deploy)


if __name__ == "__main__":
    main()
