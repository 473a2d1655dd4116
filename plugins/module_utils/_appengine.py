# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Google App Engine Admin API client and module class the jvmops.deploy appengine_* modules share.

AppEngineModule is the AnsibleModule of every appengine_* module: it merges the connection options (credentials
as the google.cloud collection takes them, ``api_endpoint``, ``storage_endpoint``) into the module's own spec,
checks them and the module's options before any call, hands out one AppEngineClient, and is the one place where
errors become messages (AppEngineModule.run).

AppEngineClient owns the import guards, the credentials, the google-cloud-appengine-admin clients (REST
transport, ``request=`` call form), google-cloud-storage for the staging bucket, retries on 429 and 5xx with
google-api-core's Retry, operation polling, and turns every API error into one exception, AppEngineError, whose
text reads "Failed to <verb> <resource> '<name>': <Google's message>" with the HTTP status, Google's status and
the request (method and path; never a credential).

Also here: the naming rules of projects, services and versions, the runtimes, traffic splits (checked before
any call), and the one result shape of a version (``version_result``, env values redacted).
"""

from __future__ import annotations

import json
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry
    from google.api_core.future.polling import DEFAULT_POLLING
    from google.protobuf import field_mask_pb2
    import google.auth
    from google.oauth2 import credentials as oauth2_credentials
    from google.oauth2 import service_account
    from google.cloud import appengine_admin_v1
    HAS_APPENGINE = True
    APPENGINE_IMPORT_ERROR = None
except ImportError:
    HAS_APPENGINE = False
    APPENGINE_IMPORT_ERROR = traceback.format_exc()
    appengine_admin_v1 = gexc = None

try:
    from google.cloud import storage
    HAS_STORAGE = True
    STORAGE_IMPORT_ERROR = None
except ImportError:
    HAS_STORAGE = False
    STORAGE_IMPORT_ERROR = traceback.format_exc()

DEFAULT_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
AUTH_KINDS = ("application", "serviceaccount", "accesstoken")
REDACTED = "********"
# The runtimes of the App Engine standard environment this collection deploys to (Java only).
RUNTIMES = ("java17", "java21", "java25")
INSTANCE_CLASSES = ("F1", "F2", "F4", "F4_1G", "B1", "B2", "B4", "B4_1G", "B8")
SOURCE_URL = "https://storage.googleapis.com/{bucket}/{sha1}"

# Seams for the tests (no test-only options): the first and longest delay between polls of an operation, and
# between retries of a call, in seconds.
POLL_INITIAL = 1.0
POLL_MAXIMUM = 10.0
RETRY_INITIAL = 1.0
RETRY_MAXIMUM = 30.0
RETRY_TIMEOUT = 120.0

PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
RESOURCE_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def appengine_argument_spec():
    """The connection options every App Engine module takes (documented in the jvmops.deploy.appengine fragment)."""
    return {
        "project": {"type": "str", "required": True, "fallback": (env_fallback, ["GCP_PROJECT"])},
        "auth_kind": {"type": "str", "choices": list(AUTH_KINDS), "fallback": (env_fallback, ["GCP_AUTH_KIND"])},
        "service_account_file": {"type": "path", "fallback": (env_fallback, ["GCP_SERVICE_ACCOUNT_FILE"])},
        "service_account_contents": {"type": "jsonarg", "no_log": True,
                                     "fallback": (env_fallback, ["GCP_SERVICE_ACCOUNT_CONTENTS"])},
        "access_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["GCP_ACCESS_TOKEN"])},
        "scopes": {"type": "list", "elements": "str", "fallback": (env_fallback, ["GCP_SCOPES"])},
        "api_endpoint": {"type": "str", "fallback": (env_fallback, ["APPENGINE_API_ENDPOINT"])},
        "storage_endpoint": {"type": "str", "fallback": (env_fallback, ["STORAGE_EMULATOR_HOST"])},
    }


# ---------------------------------------------------------------------------------------------------------------
# Errors


class AppEngineError(Exception):
    """An API call that failed, with what Google said about it."""

    def __init__(self, message, status=None, reason=None, request=None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.request = request

    def details(self):
        out = {}
        for key in ("status", "reason", "request"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class AppEngineModuleError(Exception):
    """A failure a module reports as it is: the message, and extra return values for fail_json."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.result = result


def _google_status(exc):
    """Google's status name (NOT_FOUND) of an api-core exception, from the error body or the gRPC code."""
    grpc_status = getattr(exc, "grpc_status_code", None)
    if grpc_status is not None:
        return getattr(grpc_status, "name", str(grpc_status))
    response = getattr(exc, "response", None)
    try:
        return response.json()["error"]["status"]
    except Exception:  # pylint: disable=broad-except
        return None


def _google_message(exc):
    """The message of Google's error body (api-core's REST errors put the URL in front of it)."""
    try:
        return exc.response.json()["error"]["message"]
    except Exception:  # pylint: disable=broad-except
        return None


def _request_of(exc):
    """'METHOD /path' of the HTTP request that failed (no query: it may name nothing secret, but keep it short)."""
    response = getattr(exc, "response", None)
    request = getattr(response, "request", None)
    if request is None or not getattr(request, "url", None):
        return None
    path = request.url.split("://", 1)[-1]
    path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    return f"{request.method} {path.split('?', 1)[0]}"


def api_error(what, exc):
    """AppEngineError for a failed call: 'Failed to <what>: <Google's message>' with status, reason and request."""
    message = _google_message(exc) or getattr(exc, "message", None) or str(exc)
    status = getattr(exc, "code", None)
    return AppEngineError(f"Failed to {what}: {message}", status=int(status) if isinstance(status, int) else status,
                          reason=_google_status(exc), request=_request_of(exc))


# ---------------------------------------------------------------------------------------------------------------
# Rules checked before any call


def project_problem(value):
    if not 6 <= len(value) <= 30:
        return f"project: '{value}' must be 6 to 30 characters long (got {len(value)})"
    if value != value.lower():
        return f"project: '{value}' must not contain upper-case letters"
    if not PROJECT_ID.match(value):
        return (f"project: '{value}' must start with a letter, hold only lower-case letters, digits and hyphens, "
                "and not end with a hyphen")
    return None


def resource_id_problem(option, value):
    """The rule a service or version id breaks, or None."""
    if not 1 <= len(value) <= 63:
        return f"{option}: '{value}' must be 1 to 63 characters long (got {len(value)})"
    if not RESOURCE_ID.match(value):
        return (f"{option}: '{value}' may hold only lower-case letters, digits and hyphens, and must begin and end "
                "with a letter or a digit")
    if value.startswith("ah-"):
        return f"{option}: '{value}' must not start with the reserved prefix 'ah-'"
    return None


def runtime_problem(value, option="runtime"):
    if value not in RUNTIMES:
        return f"{option}: '{value}' is not a runtime this module deploys (one of {', '.join(RUNTIMES)})"
    return None


def split_problem(split, option="split"):
    """The rule a traffic split breaks, or None: version ids, fractions in (0, 1] with 2 decimals, sum 1."""
    if not split:
        return f"{option}: must name at least one version"
    total = 0.0
    for version, fraction in split.items():
        problem = resource_id_problem(f"{option}", str(version))
        if problem:
            return problem
        try:
            value = float(fraction)
        except (TypeError, ValueError):
            return f"{option}: the fraction of '{version}' must be a number, got '{fraction}'"
        if not 0 < value <= 1:
            return f"{option}: the fraction of '{version}' must be more than 0 and at most 1, got {value}"
        if round(value, 2) != value:
            return f"{option}: the fraction of '{version}' must have at most 2 decimals (App Engine's rule), got {value}"
        total += value
    if round(total, 2) != 1.0:
        return f"{option}: the fractions must sum to 1, they sum to {round(total, 4)}"
    return None


def check_connection_options(params):
    problems = []
    kind = params.get("auth_kind")
    if kind == "serviceaccount" and not (params.get("service_account_file") or params.get("service_account_contents")):
        problems.append("auth_kind: serviceaccount needs service_account_file or service_account_contents")
    if kind == "accesstoken" and not params.get("access_token"):
        problems.append("auth_kind: accesstoken needs access_token")
    if params.get("service_account_file") and params.get("service_account_contents"):
        problems.append("service_account_file: give it or service_account_contents, not both")
    for option in ("api_endpoint", "storage_endpoint"):
        url = params.get(option)
        if url and not re.match(r"^https?://[^/?#@]+/?$", url):
            problems.append(f"{option}: must be http(s)://host[:port] without a path, got '{url}'")
    return problems


def auth_kind(params):
    """The auth_kind given, or the one the other options imply (token, then key, then application default)."""
    if params.get("auth_kind"):
        return params["auth_kind"]
    if params.get("access_token"):
        return "accesstoken"
    if params.get("service_account_file") or params.get("service_account_contents"):
        return "serviceaccount"
    return "application"


# ---------------------------------------------------------------------------------------------------------------
# Results


def enum_name(value):
    """An enum as its name, whether it came back as a name, a number or a proto-plus enum."""
    return getattr(value, "name", value)


def to_dict(message):
    """A proto-plus message as a dict with snake_case keys and enum names (ints from REST included)."""
    if message is None:
        return None
    return type(message).to_dict(message, preserving_proto_field_name=True, use_integers_for_enums=False,
                                 always_print_fields_with_no_presence=False)


def version_message(fields):
    """A Version from a dict of its fields in snake_case (to compare it as App Engine would return it)."""
    return appengine_admin_v1.Version(fields)


def redact_env(env):
    return {key: REDACTED for key in (env or {})}


def version_result(version):
    """A version as the modules return it: its fields (without the file list), env values redacted."""
    result = to_dict(version) if not isinstance(version, dict) else dict(version)
    result.pop("deployment", None)
    if result.get("env_variables"):
        result["env_variables"] = redact_env(result["env_variables"])
    return result


# ---------------------------------------------------------------------------------------------------------------
# The client


class AppEngineClient:
    """The Admin API clients (REST) and the staging bucket's storage client of one run, with errors mapped."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self._credentials = None
        self._clients = {}
        self._storage = None

    # -- credentials and clients

    def credentials(self):
        if self._credentials is None:
            params = self.params
            scopes = params.get("scopes") or DEFAULT_SCOPES
            kind = auth_kind(params)
            try:
                if kind == "accesstoken":
                    self._credentials = oauth2_credentials.Credentials(params["access_token"])
                elif kind == "serviceaccount":
                    if params.get("service_account_file"):
                        self._credentials = service_account.Credentials.from_service_account_file(
                            params["service_account_file"], scopes=scopes)
                    else:
                        info = params["service_account_contents"]
                        info = json.loads(info) if isinstance(info, str) else info
                        self._credentials = service_account.Credentials.from_service_account_info(info, scopes=scopes)
                else:
                    self._credentials, _project = google.auth.default(scopes=scopes)
            except (ValueError, KeyError, TypeError, OSError, google.auth.exceptions.GoogleAuthError) as exc:
                # The messages of google-auth name the file or the missing field, never the key.
                raise AppEngineModuleError(f"Failed to load the {kind} credentials: {type(exc).__name__}: "
                                           f"{_safe(exc, params)}") from None
        return self._credentials

    def _client(self, name):
        if name not in self._clients:
            options = {"api_endpoint": self.params["api_endpoint"]} if self.params.get("api_endpoint") else None
            self._clients[name] = getattr(appengine_admin_v1, name)(credentials=self.credentials(), transport="rest",
                                                                    client_options=options)
        return self._clients[name]

    @property
    def applications(self):
        return self._client("ApplicationsClient")

    @property
    def services(self):
        return self._client("ServicesClient")

    @property
    def versions(self):
        return self._client("VersionsClient")

    def bucket(self, name):
        if not HAS_STORAGE:
            self.module.fail_json(msg=missing_required_lib("google-cloud-storage"), exception=STORAGE_IMPORT_ERROR)
        if self._storage is None:
            endpoint = self.params.get("storage_endpoint")
            if endpoint and not endpoint.startswith("http"):
                endpoint = "http://" + endpoint  # STORAGE_EMULATOR_HOST may be host:port
            options = {"api_endpoint": endpoint} if endpoint else None
            self._storage = storage.Client(project=self.params.get("project"), credentials=self.credentials(),
                                           client_options=options)
        return self._storage.bucket(name)

    # -- calls

    @staticmethod
    def retry(write=False):
        """api-core Retry on 429 and 5xx; a create (write=True) only on 429 and 503, which did nothing."""
        retryable = (gexc.TooManyRequests, gexc.ServiceUnavailable)
        if not write:
            retryable += (gexc.InternalServerError, gexc.BadGateway, gexc.GatewayTimeout)
        return gretry.Retry(predicate=gretry.if_exception_type(*retryable), initial=RETRY_INITIAL,
                            maximum=RETRY_MAXIMUM, multiplier=2.0, timeout=RETRY_TIMEOUT)

    def call(self, what, method, request, write=False, missing_ok=False):
        """method(request=request, retry=...); NotFound is None with missing_ok; other errors AppEngineError."""
        try:
            return method(request=request, retry=self.retry(write))
        except gexc.NotFound as exc:
            if missing_ok:
                return None
            raise api_error(what, exc) from None
        except gexc.GoogleAPICallError as exc:
            raise api_error(what, exc) from None
        except gexc.RetryError as exc:
            raise api_error(what, exc.cause or exc) from None
        except google.auth.exceptions.GoogleAuthError as exc:
            raise AppEngineError(f"Failed to {what}: {type(exc).__name__}: {_safe(exc, self.params)}") from None

    def wait(self, what, operation, timeout):
        """The result of a long-running operation, polled fast first, within timeout seconds."""
        polling = DEFAULT_POLLING.with_delay(initial=POLL_INITIAL, maximum=POLL_MAXIMUM, multiplier=1.5)
        polling = polling.with_timeout(timeout)
        try:
            return operation.result(polling=polling)
        except gexc.GoogleAPICallError as exc:
            raise api_error(what, exc) from None
        except (gexc.RetryError, TimeoutError) as exc:
            name = getattr(getattr(operation, "operation", None), "name", "")
            raise AppEngineError(f"Failed to {what}: the operation {name} did not finish within {timeout} seconds "
                                 f"({type(exc).__name__})") from None

    # -- the staging bucket

    def object_exists(self, bucket, name):
        try:
            return bucket.blob(name).exists()
        except gexc.GoogleAPICallError as exc:
            raise api_error(f"read object '{name}' of bucket '{bucket.name}'", exc) from None

    def upload(self, bucket, name, filename, path):
        """Upload a file as object name unless it exists (google-cloud-storage retries the conditional upload)."""
        try:
            bucket.blob(name).upload_from_filename(filename, if_generation_match=0)
        except gexc.PreconditionFailed:
            pass  # uploaded meanwhile: the same bytes under the same SHA-1
        except gexc.GoogleAPICallError as exc:
            raise api_error(f"upload '{path}' to bucket '{bucket.name}'", exc) from None

    # -- reads and writes the modules share

    def get_application(self, project):
        return self.call(f"read application '{project}'", self.applications.get_application,
                         {"name": f"apps/{project}"})

    def get_service(self, project, service):
        return self.call(f"read service '{service}' of '{project}'", self.services.get_service,
                         {"name": f"apps/{project}/services/{service}"}, missing_ok=True)

    def get_version(self, project, service, version, full=True):
        view = appengine_admin_v1.VersionView.FULL if full else appengine_admin_v1.VersionView.BASIC
        return self.call(f"read version '{version}' of service '{service}'", self.versions.get_version,
                         {"name": f"apps/{project}/services/{service}/versions/{version}", "view": view},
                         missing_ok=True)

    def list_versions(self, project, service):
        pages = self.call(f"list versions of service '{service}'", self.versions.list_versions,
                          {"parent": f"apps/{project}/services/{service}"}, missing_ok=True)
        try:
            return list(pages) if pages is not None else []
        except gexc.GoogleAPICallError as exc:
            raise api_error(f"list versions of service '{service}'", exc) from None

    def create_version(self, project, service, version, timeout):
        what = f"create version '{version['id']}' of service '{service}'"
        operation = self.call(what, self.versions.create_version,
                              {"parent": f"apps/{project}/services/{service}", "version": version}, write=True)
        return self.wait(what, operation, timeout)

    def set_split(self, project, service, allocations, timeout):
        what = f"update the traffic split of service '{service}'"
        operation = self.call(what, self.services.update_service, {
            "name": f"apps/{project}/services/{service}",
            "service": {"split": {"allocations": allocations}},
            "update_mask": field_mask_pb2.FieldMask(paths=["split"])}, write=True)
        return self.wait(what, operation, timeout)

    def set_serving_status(self, project, service, version, status, timeout):
        what = f"{'stop' if status == 'STOPPED' else 'start'} version '{version}' of service '{service}'"
        operation = self.call(what, self.versions.update_version, {
            "name": f"apps/{project}/services/{service}/versions/{version}",
            "version": {"serving_status": getattr(appengine_admin_v1.ServingStatus, status)},
            "update_mask": field_mask_pb2.FieldMask(paths=["serving_status"])}, write=True)
        return self.wait(what, operation, timeout)

    def delete_version(self, project, service, version, timeout):
        what = f"delete version '{version}' of service '{service}'"
        operation = self.call(what, self.versions.delete_version,
                              {"name": f"apps/{project}/services/{service}/versions/{version}"}, write=True)
        return self.wait(what, operation, timeout)


def _safe(exc, params):
    """The text of an exception with any credential of the run taken out."""
    text = str(exc)
    for key in ("access_token", "service_account_contents"):
        value = params.get(key)
        if isinstance(value, str) and value and value in text:
            text = text.replace(value, REDACTED)
    return text


class AppEngineModule(AnsibleModule):
    """The AnsibleModule of an App Engine module: connection options merged and checked, a client, one error path.

    module = AppEngineModule(argument_spec={...}, check_options=check_options, supports_check_mode=True)
    module.run(work)   # work(module, client) -> (changed, result)
    """

    def __init__(self, argument_spec, check_options=None, **kwargs):
        spec = appengine_argument_spec()
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        problems = []
        if isinstance(self.params.get("project"), str):
            problem = project_problem(self.params["project"])
            if problem:
                problems.append(problem)
        problems.extend(check_options(self.params) if check_options else [])
        problems.extend(check_connection_options(self.params))
        if problems:
            self.fail_json(msg="; ".join(problems))
        if not HAS_APPENGINE:
            self.fail_json(msg=missing_required_lib("google-cloud-appengine-admin"), exception=APPENGINE_IMPORT_ERROR)
        self.client = AppEngineClient(self)

    def run(self, work):
        try:
            changed, result = work(self, self.client)
        except AppEngineModuleError as exc:
            self.fail_json(msg=str(exc), **exc.result)
        except AppEngineError as exc:
            self.fail_json(msg=str(exc), **exc.details())
        self.exit_json(changed=changed, **result)
