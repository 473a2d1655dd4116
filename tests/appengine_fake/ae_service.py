# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The App Engine model: applications, services, versions and long-running operations.

`AppEngine.call(method_id, params, query, body, user)` runs one method of the Admin API v1 with the path
parameters, query and body already checked against the discovery document (ae_contract), enums as names,
and returns the response body, or raises ApiError with Google's HTTP code, status and message. Writes
answer an Operation at once; a thread does the work after the operation delay and marks it done: a new
version's files are read from the storage emulator and checked against their sha1Sum, assembled into a
directory and started (ae_runtime), and only then does the version exist.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import random
import re
import shutil
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ae_runtime import JAVA_RUNTIME, StartError, VersionProcess, safe_relative

PROTO = "type.googleapis.com/google.appengine.v1."
LOCATION_ID, REGION_ID = "us-central", "uc"
STORAGE_HOST = "storage.googleapis.com"
VERSION_ID_RE = re.compile(r"(?!-)(?!ah-)[a-z\d-]{1,63}(?<!-)")
SERVICE_ID_RE = re.compile(r"[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 2000
# Google's canonical codes (google.rpc.Code): status name -> (number, HTTP status).
CODES = {"OK": (0, 200), "CANCELLED": (1, 499), "UNKNOWN": (2, 500), "INVALID_ARGUMENT": (3, 400), "DEADLINE_EXCEEDED": (4, 504),
         "NOT_FOUND": (5, 404), "ALREADY_EXISTS": (6, 409), "PERMISSION_DENIED": (7, 403), "RESOURCE_EXHAUSTED": (8, 429),
         "FAILED_PRECONDITION": (9, 400), "ABORTED": (10, 409), "OUT_OF_RANGE": (11, 400), "UNIMPLEMENTED": (12, 501),
         "INTERNAL": (13, 500), "UNAVAILABLE": (14, 503), "DATA_LOSS": (15, 500), "UNAUTHENTICATED": (16, 401)}
# Methods whose requests change nothing (for the calls log).
READ_VERBS = (".get", ".list", ".listRuntimes")
# Fields of a Version that the service sets, whatever a create request says.
OUTPUT_ONLY = ("id", "name", "servingStatus", "createTime", "createdBy", "diskUsageBytes", "versionUrl")


class ApiError(Exception):
    """A Google API error: the canonical status name, the message and google.rpc details."""

    def __init__(self, status, message, details=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []

    @property
    def http_status(self):
        """The HTTP status Google answers with for this canonical status."""
        return CODES[self.status][1]

    def body(self):
        """Google's JSON error body."""
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status, "details": self.details}}

    def rpc_status(self):
        """A google.rpc.Status, as an Operation's error carries it."""
        status = {"code": CODES[self.status][0], "message": self.message}
        if self.details:
            status["details"] = self.details
        return status


def bad_request(message, field_name=None):
    """INVALID_ARGUMENT, with a google.rpc.BadRequest field violation when a field is named."""
    details = []
    if field_name:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field_name, "description": message}]})
    return ApiError("INVALID_ARGUMENT", message, details)


def is_write(method_id):
    """Whether a method changes something."""
    return not method_id.endswith(READ_VERBS)


def timestamp(value=None):
    """RFC 3339 UTC with microseconds, as Google writes google-datetime."""
    value = value or datetime.datetime.now(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def page(items, page_size, page_token, key):
    """One page of items as {key: [...], nextPageToken}; tokens are opaque offsets."""
    start = 0
    if page_token:
        try:
            start = int(base64.urlsafe_b64decode(page_token.encode()).decode())
        except ValueError as exc:
            raise bad_request("The page token is not valid.", "pageToken") from exc
    size = int(page_size or DEFAULT_PAGE_SIZE)
    if size < 0:
        raise bad_request("pageSize must not be negative.", "pageSize")
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    result = {key: items[start:start + size]}
    if start + size < len(items):
        result["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return result


@dataclass
class Operation:  # pylint: disable=too-many-instance-attributes
    """A long-running operation of one application."""

    app: str
    method: str
    target: str
    user: str
    op_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    inserted: str = field(default_factory=timestamp)
    ended: str | None = None
    done: bool = False
    error: dict | None = None
    response: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def name(self):
        """apps/P/operations/ID."""
        return f"apps/{self.app}/operations/{self.op_id}"

    def json(self):
        """The Operation resource."""
        metadata = {"@type": PROTO + "OperationMetadataV1", "method": self.method, "insertTime": self.inserted,
                    "user": self.user, "target": self.target, **self.extra}
        if self.ended:
            metadata["endTime"] = self.ended
        result = {"name": self.name, "metadata": metadata}
        if self.done:
            result["done"] = True
            if self.error is not None:
                result["error"] = self.error
            else:
                result["response"] = self.response or {"@type": "type.googleapis.com/google.protobuf.Empty"}
        return result


@dataclass
class Version:  # pylint: disable=too-many-instance-attributes
    """A version of a service: what was deployed, its serving status and its process."""

    app: "App"
    service: str
    version_id: str
    spec: dict
    created: str
    created_by: str
    disk_bytes: int
    serving_status: str = "SERVING"
    runner: VersionProcess | None = None   # its files, assembled; runs while the version is SERVING

    @property
    def process(self):
        """The running process, or None."""
        return self.runner if self.runner is not None and self.runner.alive() else None

    def json(self, view="BASIC"):
        """The Version resource (deployment only in the FULL view)."""
        result = {key: value for key, value in self.spec.items() if key != "deployment" or view == "FULL"}
        result.update(name=f"apps/{self.app.app_id}/services/{self.service}/versions/{self.version_id}", id=self.version_id,
                      servingStatus=self.serving_status, createTime=self.created, createdBy=self.created_by,
                      diskUsageBytes=str(self.disk_bytes), env=self.spec.get("env", "standard"),
                      instanceClass=self.spec.get("instanceClass", "F1"), runtimeChannel=self.spec.get("runtimeChannel", "default"),
                      versionUrl=f"https://{self.version_id}-dot-{self.service}-dot-{self.app.hostname}")
        return result


@dataclass
class Service:
    """A service: its versions and its traffic split."""

    app: "App"
    service_id: str
    allocations: dict = field(default_factory=dict)
    shard_by: str = "UNSPECIFIED"
    labels: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    def json(self):
        """The Service resource."""
        split = {"allocations": dict(self.allocations)}
        if self.shard_by != "UNSPECIFIED":
            split["shardBy"] = self.shard_by
        result = {"name": f"apps/{self.app.app_id}/services/{self.service_id}", "id": self.service_id, "split": split}
        if self.labels:
            result["labels"] = dict(self.labels)
        return result


@dataclass
class App:
    """An App Engine application (one per project)."""

    app_id: str
    services: dict = field(default_factory=dict)
    operations: dict = field(default_factory=dict)
    pending: set = field(default_factory=set)  # (service, version) being created

    @property
    def hostname(self):
        """defaultHostname: P.uc.r.appspot.com."""
        return f"{self.app_id}.{REGION_ID}.r.appspot.com"

    @property
    def code_bucket(self):
        """The staging bucket that deployments upload to."""
        return f"staging.{self.app_id}.appspot.com"

    def json(self):
        """The Application resource."""
        return {"name": f"apps/{self.app_id}", "id": self.app_id, "authDomain": "gmail.com", "locationId": LOCATION_ID,
                "codeBucket": self.code_bucket, "defaultBucket": f"{self.app_id}.appspot.com", "servingStatus": "SERVING",
                "defaultHostname": self.hostname, "gcrDomain": "us.gcr.io", "databaseType": "CLOUD_FIRESTORE",
                "serviceAccount": f"{self.app_id}@appspot.gserviceaccount.com",
                "featureSettings": {"splitHealthChecks": True, "useContainerOptimizedOs": True}}


class AppEngine:  # pylint: disable=too-many-instance-attributes,too-many-public-methods
    """All applications and their operations; thread-safe (one lock, never held while a process starts)."""

    def __init__(self, state_dir, storage, projects, log, operation_delay=0.5, boot_timeout=60.0, stop_grace=5.0):  # pylint: disable=too-many-arguments
        self.state_dir = Path(state_dir)
        self.storage = storage
        self.log = log
        self.operation_delay = operation_delay
        self.boot_timeout = boot_timeout
        self.stop_grace = stop_grace
        self.lock = threading.RLock()
        self.apps = {}
        self._stopping = threading.Event()
        self._threads = []
        for project in projects:
            self.apps[project] = App(project)
            storage.ensure_bucket(self.apps[project].code_bucket, project)
            storage.ensure_bucket(f"{project}.appspot.com", project)

    # Dispatch -----------------------------------------------------------------------------------------

    def call(self, method_id, params, query, body, user):
        """Run one method; the response body as a dict (enums as names)."""
        handler = getattr(self, "_" + method_id.removeprefix("appengine.apps.").replace(".", "_"), None)
        if handler is None:
            raise ApiError("UNIMPLEMENTED", f"Method {method_id} is not implemented by this local App Engine service.")
        app = self._app(params["appsId"]) if "appsId" in params else None
        return handler(app, params, query, body or {}, user)

    def _app(self, app_id):
        app = self.apps.get(app_id)
        if app is None:
            raise ApiError("NOT_FOUND", f"Could not find Application \"{app_id}\".")
        return app

    @staticmethod
    def _service(app, service_id):
        service = app.services.get(service_id)
        if service is None:
            raise ApiError("NOT_FOUND", f"Service \"apps/{app.app_id}/services/{service_id}\" was not found.")
        return service

    @staticmethod
    def _version(service, version_id):
        version = service.versions.get(version_id)
        if version is None:
            raise ApiError("NOT_FOUND", f"Version \"apps/{service.app.app_id}/services/{service.service_id}/versions/{version_id}\" "
                                        "was not found.")
        return version

    # Applications -------------------------------------------------------------------------------------

    def _get(self, app, _params, _query, _body, _user):
        return app.json()

    # Operations ---------------------------------------------------------------------------------------

    def _operations_get(self, app, params, _query, _body, _user):
        with self.lock:
            operation = app.operations.get(params["operationsId"])
            if operation is None:
                raise ApiError("NOT_FOUND", f"Operation \"apps/{app.app_id}/operations/{params['operationsId']}\" was not found.")
            return operation.json()

    def _operations_list(self, app, _params, query, _body, _user):
        with self.lock:
            operations = [operation.json() for operation in reversed(list(app.operations.values()))]
        return page(operations, query.get("pageSize"), query.get("pageToken"), "operations")

    def _start_operation(self, app, method, target, user, work, extra=None):
        """Register an operation and run work() in a thread after the delay; work returns the response or raises ApiError."""
        operation = Operation(app.app_id, method, target, user, extra=extra or {})
        with self.lock:
            app.operations[operation.op_id] = operation

        def run():
            if self._stopping.wait(self.operation_delay):
                return
            try:
                response = work()
                error = None
            except ApiError as exc:
                response, error = None, exc.rpc_status()
                self.log(f"operation {operation.name} ({method}) failed: {exc.message}")
            with self.lock:
                operation.response, operation.error = response, error
                operation.ended, operation.done = timestamp(), True

        thread = threading.Thread(target=run, daemon=True, name=f"operation-{operation.op_id[:8]}")
        self._threads.append(thread)
        thread.start()
        return operation.json()

    # Services -----------------------------------------------------------------------------------------

    def _services_list(self, app, _params, query, _body, _user):
        with self.lock:
            services = [app.services[name].json() for name in sorted(app.services)]
        return page(services, query.get("pageSize"), query.get("pageToken"), "services")

    def _services_get(self, app, params, _query, _body, _user):
        with self.lock:
            return self._service(app, params["servicesId"]).json()

    def _services_patch(self, app, params, query, body, user):
        mask = [path for path in (query.get("updateMask") or "").split(",") if path]
        if not mask:
            raise bad_request("The update mask is required: name the fields to update (split, labels).", "updateMask")
        unsupported = [path for path in mask if path not in ("split", "labels")]
        if unsupported:
            raise bad_request(f"Updating the field {unsupported[0]} of a service is not supported (split, labels).", "updateMask")
        with self.lock:
            service = self._service(app, params["servicesId"])
            allocations, shard_by = service.allocations, service.shard_by
            if "split" in mask:
                split = body.get("split") or {}
                allocations = {name: float(value) for name, value in (split.get("allocations") or {}).items()}
                shard_by = split.get("shardBy", "UNSPECIFIED")
                self._check_split(service, allocations)
            labels = dict(body.get("labels") or {}) if "labels" in mask else service.labels

        def work():
            with self.lock:
                service.allocations, service.shard_by, service.labels = allocations, shard_by, labels
                self.log(f"service {app.app_id}/{service.service_id}: split {allocations}")
                return {"@type": PROTO + "Service", **service.json()}

        return self._start_operation(app, "google.appengine.v1.Services.UpdateService", f"apps/{app.app_id}/services/{service.service_id}",
                                     user, work)

    @staticmethod
    def _check_split(service, allocations):
        if not allocations:
            raise bad_request("The traffic split must allocate traffic to at least one version.", "service.split.allocations")
        for name, share in allocations.items():
            if name not in service.versions:
                raise bad_request(f"Version \"{name}\" does not exist in service \"{service.service_id}\".", "service.split.allocations")
            if not 0 < share <= 1:
                raise bad_request(f"The allocation of version \"{name}\" must be greater than 0 and at most 1.", "service.split.allocations")
        if abs(sum(allocations.values()) - 1.0) > 1e-9:
            raise bad_request("The traffic allocations must sum to 1.", "service.split.allocations")

    def _services_delete(self, app, params, _query, _body, user):
        with self.lock:
            service = self._service(app, params["servicesId"])
            if service.service_id == "default":
                raise bad_request("The default service cannot be deleted.")

        def work():
            with self.lock:
                app.services.pop(service.service_id, None)
                versions = list(service.versions.values())
            for version in versions:
                self._stop_version(version)
            self.log(f"service {app.app_id}/{service.service_id} deleted")
            return {"@type": "type.googleapis.com/google.protobuf.Empty"}

        return self._start_operation(app, "google.appengine.v1.Services.DeleteService", f"apps/{app.app_id}/services/{service.service_id}",
                                     user, work)

    # Versions -----------------------------------------------------------------------------------------

    def _services_versions_list(self, app, params, query, _body, _user):
        with self.lock:
            service = self._service(app, params["servicesId"])
            versions = [version.json(query.get("view", "BASIC")) for version in service.versions.values()]
        return page(versions, query.get("pageSize"), query.get("pageToken"), "versions")

    def _services_versions_get(self, app, params, query, _body, _user):
        with self.lock:
            version = self._version(self._service(app, params["servicesId"]), params["versionsId"])
            return version.json(query.get("view", "BASIC"))

    def _services_versions_create(self, app, params, _query, body, user):  # pylint: disable=too-many-locals
        service_id = params["servicesId"]
        version_id = body.get("id")
        spec = {key: value for key, value in body.items() if key not in OUTPUT_ONLY}
        files = self._check_new_version(app, service_id, version_id, body)
        target = f"apps/{app.app_id}/services/{service_id}/versions/{version_id}"
        with self.lock:
            if service_id in app.services and version_id in app.services[service_id].versions or (service_id, version_id) in app.pending:
                raise ApiError("ALREADY_EXISTS", f"Version \"{target}\" already exists.")
            if service_id != "default" and "default" not in app.services and ("default", None) not in app.pending:
                raise bad_request("The first service (module) you upload to a new application must be the 'default' service "
                                  "(module).", "name")
            app.pending.add((service_id, version_id))
            if service_id == "default":
                app.pending.add(("default", None))
        serving = body.get("servingStatus", "SERVING") != "STOPPED"

        def work():
            try:
                version = self._deploy(app, service_id, version_id, spec, files, serving, user)
            finally:
                with self.lock:
                    app.pending.discard((service_id, version_id))
                    app.pending.discard(("default", None))
            return {"@type": PROTO + "Version", **version.json("BASIC")}

        return self._start_operation(app, "google.appengine.v1.Versions.CreateVersion", target, user, work,
                                     extra={"createVersionMetadata": {}})

    def _check_new_version(self, app, service_id, version_id, body):
        """What App Engine refuses at once: ids, runtime, deployment form. The files as {path: (bucket, object, sha1)}."""
        if not SERVICE_ID_RE.fullmatch(service_id):
            raise bad_request(f"Invalid service id \"{service_id}\": lowercase letters, digits and hyphens, at most 63.", "servicesId")
        if not version_id or not VERSION_ID_RE.fullmatch(version_id):
            raise bad_request("Invalid version id: lowercase letters, digits and hyphens, at most 63, not starting with 'ah-' "
                              "nor with or ending with a hyphen.", "version.id")
        runtime = body.get("runtime") or ""
        if not JAVA_RUNTIME.fullmatch(runtime):
            raise bad_request(f"Runtime \"{runtime}\" is not supported here: this local service runs the Java runtimes of the "
                              "standard environment (java11, java17, java21, java25).", "version.runtime")
        if body.get("env", "standard") != "standard":
            raise bad_request("Only the standard environment is supported by this local service.", "version.env")
        deployment = body.get("deployment") or {}
        if deployment.get("zip") or deployment.get("container"):
            raise bad_request("This local service deploys deployment.files only (not zip or container).", "version.deployment")
        files = {}
        for path, info in (deployment.get("files") or {}).items():
            where = f"version.deployment.files[{path!r}]"
            if not safe_relative(path):
                raise bad_request(f"Invalid file path \"{path}\".", where)
            url = urlsplit(info.get("sourceUrl") or "")
            bucket, _sep, obj = url.path.lstrip("/").partition("/")
            if url.scheme != "https" or url.netloc != STORAGE_HOST or not bucket or not obj:
                raise bad_request(f"The sourceUrl of \"{path}\" must be https://{STORAGE_HOST}/<bucket>/<object>.", where + ".sourceUrl")
            sha1 = info.get("sha1Sum") or ""
            if not re.fullmatch(r"[0-9a-f]{40}", sha1):
                raise bad_request(f"The sha1Sum of \"{path}\" must be 40 lowercase hex digits.", where + ".sha1Sum")
            files[path] = (bucket, unquote(obj), sha1)
        if not files:
            raise bad_request("The deployment has no files.", "version.deployment.files")
        return files

    def _deploy(self, app, service_id, version_id, spec, files, serving, user):  # pylint: disable=too-many-arguments
        """Fetch and check the files, start the version; the new Version (raises ApiError when it cannot run)."""
        contents, problems = {}, []
        for path, (bucket, obj, sha1) in sorted(files.items()):
            data = self.storage.read(bucket, obj)
            if data is None:
                problems.append(f"file \"{path}\": gs://{bucket}/{obj} does not exist")
            elif hashlib.sha1(data).hexdigest() != sha1:  # noqa: S324 - App Engine's own checksum
                problems.append(f"file \"{path}\": the SHA-1 of gs://{bucket}/{obj} is not {sha1}")
            else:
                contents[path] = data
        if problems:
            raise ApiError("INVALID_ARGUMENT", "Deployment contains files that cannot be fetched or do not match their sha1Sum: "
                           + "; ".join(problems[:10]))
        workdir = self.state_dir / "versions" / app.app_id / service_id / f"{version_id}-{uuid.uuid4().hex[:8]}"
        env = {"GAE_APPLICATION": f"s~{app.app_id}", "GAE_SERVICE": service_id, "GAE_VERSION": version_id,
               "GAE_RUNTIME": spec.get("runtime", ""), "GOOGLE_CLOUD_PROJECT": app.app_id, **(spec.get("envVariables") or {})}
        process = VersionProcess(workdir, contents, env, (spec.get("entrypoint") or {}).get("shell"), self.boot_timeout, self.stop_grace)
        process.assemble()
        version = Version(app, service_id, version_id, spec, timestamp(), user, sum(len(data) for data in contents.values()),
                          "SERVING" if serving else "STOPPED")
        version.runner = process
        if serving:
            self._run(version)
        with self.lock:
            if self._stopping.is_set():
                process.stop()
                raise ApiError("UNAVAILABLE", "The service is shutting down.")
            service = app.services.get(service_id)
            if service is None:
                service = app.services[service_id] = Service(app, service_id)
            service.versions[version_id] = version
            if not service.allocations:
                service.allocations = {version_id: 1.0}
        self.log(f"version {app.app_id}/{service_id}/{version_id} {version.serving_status.lower()}"
                 + (f" on port {process.port}" if serving else ""))
        return version

    def _run(self, version):
        try:
            version.runner.start(self._stopping.is_set)
        except StartError as exc:
            version.runner.stop()
            raise ApiError("FAILED_PRECONDITION", f"The version failed to start: {exc}") from exc

    @staticmethod
    def _stop_version(version):
        if version.runner is not None:
            version.runner.stop()

    def _services_versions_patch(self, app, params, query, body, user):
        mask = [path for path in (query.get("updateMask") or "").split(",") if path]
        if not mask:
            raise bad_request("The update mask is required: name the fields to update (servingStatus, instanceClass, ...).", "updateMask")
        supported = ("servingStatus", "instanceClass", "automaticScaling", "manualScaling", "basicScaling")
        unsupported = [path for path in mask if path.split(".")[0] not in supported]
        if unsupported:
            raise bad_request(f"Updating the field {unsupported[0]} of a version is not supported.", "updateMask")
        with self.lock:
            version = self._version(self._service(app, params["servicesId"]), params["versionsId"])
        status = body.get("servingStatus") if "servingStatus" in mask else None
        if "servingStatus" in mask and status not in ("SERVING", "STOPPED"):
            raise bad_request("servingStatus must be SERVING or STOPPED.", "version.servingStatus")

        def work():
            with self.lock:
                for path in mask:
                    if path != "servingStatus":
                        self._set_path(version.spec, body, path)
            if status == "STOPPED" and version.serving_status != "STOPPED":
                self._stop_version(version)
                version.serving_status = "STOPPED"
            elif status == "SERVING" and version.serving_status != "SERVING":
                self._run(version)
                version.serving_status = "SERVING"
            self.log(f"version {app.app_id}/{version.service}/{version.version_id} updated ({', '.join(mask)})")
            return {"@type": PROTO + "Version", **version.json("BASIC")}

        return self._start_operation(app, "google.appengine.v1.Versions.UpdateVersion",
                                     f"apps/{app.app_id}/services/{version.service}/versions/{version.version_id}", user, work)

    @staticmethod
    def _set_path(target, source, path):
        parts = path.split(".")
        for part in parts[:-1]:
            source = (source or {}).get(part) or {}
            target = target.setdefault(part, {})
        if parts[-1] in (source or {}):
            target[parts[-1]] = source[parts[-1]]
        else:
            target.pop(parts[-1], None)

    def _services_versions_delete(self, app, params, _query, _body, user):
        with self.lock:
            service = self._service(app, params["servicesId"])
            version = self._version(service, params["versionsId"])
            if service.allocations.get(version.version_id):
                raise ApiError("FAILED_PRECONDITION", f"Cannot delete version \"{version.version_id}\": it is receiving traffic "
                                                      "(move its allocation to other versions first).")

        def work():
            with self.lock:
                service.versions.pop(version.version_id, None)
            self._stop_version(version)
            self.log(f"version {app.app_id}/{service.service_id}/{version.version_id} deleted")
            return {"@type": "type.googleapis.com/google.protobuf.Empty"}

        return self._start_operation(app, "google.appengine.v1.Versions.DeleteVersion",
                                     f"apps/{app.app_id}/services/{service.service_id}/versions/{version.version_id}", user, work)

    # Serving ------------------------------------------------------------------------------------------

    def route(self, host, client_key):
        """(process, None) for a request to host, or (None, (HTTP status, message)) when nothing serves it."""
        host = host.lower().split(":")[0]
        with self.lock:
            for app in self.apps.values():
                if host == app.hostname:
                    labels = []
                elif host.endswith("-dot-" + app.hostname):
                    labels = host[: -len("-dot-" + app.hostname)].split("-dot-")
                else:
                    continue
                return self._route_in_app(app, labels, client_key)
        return None, (404, f"No App Engine application has the hostname {host}.")

    def _route_in_app(self, app, labels, client_key):
        if len(labels) > 2:
            return None, (404, "The requested URL was not found on this server.")
        if len(labels) == 2:
            service = app.services.get(labels[1])
            version = service.versions.get(labels[0]) if service else None
        elif len(labels) == 1 and labels[0] in app.services:
            service, version = app.services[labels[0]], None
        else:
            service = app.services.get("default")
            version = service.versions.get(labels[0]) if service and labels else None
            if labels and version is None:
                return None, (404, "The requested URL was not found on this server.")
        if service is None or (len(labels) == 2 and version is None):
            return None, (404, "The requested URL was not found on this server.")
        if version is None:
            version = self._pick(service, client_key)
        if version is None or version.serving_status != "SERVING" or version.process is None:
            return None, (503, "Service Unavailable: the version is not serving.")
        return version.process, None

    @staticmethod
    def _pick(service, client_key):
        """The version a request goes to by the traffic split (IP and COOKIE: stable per client; RANDOM: random)."""
        names = sorted(service.allocations)
        if not names:
            return None
        if service.shard_by == "RANDOM":
            point = random.random()
        else:
            point = (zlib.crc32(client_key.encode()) % 10000) / 10000
        total = 0.0
        for name in names:
            total += service.allocations[name]
            if point < total:
                return service.versions.get(name)
        return service.versions.get(names[-1])

    # Lifecycle ----------------------------------------------------------------------------------------

    def reset(self):
        """Forget every service, version and operation (the applications stay), stopping every process."""
        with self.lock:
            versions = [version for app in self.apps.values() for service in app.services.values() for version in service.versions.values()]
            for app in self.apps.values():
                app.services.clear()
                app.operations.clear()
                app.pending.clear()
        for version in versions:
            self._stop_version(version)
        shutil.rmtree(self.state_dir / "versions", ignore_errors=True)

    def running_processes(self):
        """How many version processes run."""
        with self.lock:
            return sum(1 for app in self.apps.values() for service in app.services.values() for version in service.versions.values()
                       if version.process is not None)

    def shutdown(self):
        """Stop the operation threads and every process."""
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=self.boot_timeout + self.stop_grace + 5)
        with self.lock:
            versions = [version for app in self.apps.values() for service in app.services.values() for version in service.versions.values()]
        for version in versions:
            self._stop_version(version)
