# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract of the local App Engine Admin API: the v1 discovery document of the installed google-api-python-client.

The document (googleapiclient/discovery_cache/documents/appengine.v1.json) is read at run time, never copied.
`Contract.resolve(http_method, path)` finds the method by HTTP method and flat path template and gives its
path parameters; `check_query` checks the query parameters (the method's own and the API's global ones,
with Google's `$` aliases such as `$alt=json;enum-encoding=int`); `check_body` checks a request body against
the method's request schema, and `check_response` a response body against its response schema (the
Operation's `metadata` and `response` against the schema their `@type` names).

Enums may be names or, as clients send and ask for them with `enum-encoding=int`, numbers. The numbers are
not in the discovery document: they are the proto enum numbers of the same API (google.appengine.v1), taken
from the descriptors google-cloud-appengine-admin registers; without that package, an enum's position in the
discovery document's list stands in for its number.
"""

from __future__ import annotations

import base64
import datetime
import importlib.util
import json
import re
from pathlib import Path
from urllib.parse import unquote

DOCUMENT = Path("discovery_cache") / "documents" / "appengine.v1.json"
PROTO_PACKAGE = "google.appengine.v1"
# Standard Google system parameters that may also be given with a leading `$` (cloud.google.com/apis/docs/system-parameters).
DOLLAR_ALIASES = {"$alt": "alt", "$callback": "callback", "$fields": "fields", "$key": "key", "$prettyPrint": "prettyPrint",
                  "$quotaUser": "quotaUser", "$.xgafv": "$.xgafv"}
DURATION_RE = re.compile(r"-?\d+(\.\d{1,9})?s")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
INT_RANGES = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1)}


class ContractError(Exception):
    """A request (or response) outside the discovery document: Google's status for it, and where it failed."""

    def __init__(self, message, status=400, field=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def discovery_path():
    """Where the installed google-api-python-client keeps the App Engine Admin API v1 discovery document."""
    spec = importlib.util.find_spec("googleapiclient")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("google-api-python-client is not installed: its discovery document is the contract of this service")
    return Path(list(spec.submodule_search_locations)[0]) / DOCUMENT


def _proto_pool():
    """The protobuf descriptor pool with google.appengine.v1 in it, or None without google-cloud-appengine-admin."""
    try:
        import google.cloud.appengine_admin_v1  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        from google.protobuf import descriptor_pool  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return descriptor_pool.Default()


class Method:  # pylint: disable=too-few-public-methods
    """One method of the discovery document."""

    def __init__(self, spec):
        self.id = spec["id"]
        self.http_method = spec["httpMethod"]
        self.flat_path = spec.get("flatPath", spec["path"])
        self.parameters = spec.get("parameters", {})
        self.request = (spec.get("request") or {}).get("$ref")
        self.response = (spec.get("response") or {}).get("$ref")
        pattern = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/:]+)", re.escape(self.flat_path).replace(r"\{", "{").replace(r"\}", "}"))
        self.regex = re.compile("^/" + pattern + "$")


class Contract:
    """The discovery document: methods by HTTP method and path, schemas, and the checks both ways."""

    def __init__(self, path=None):
        self.path = Path(path) if path else discovery_path()
        self.doc = json.loads(self.path.read_text(encoding="utf-8"))
        self.revision = self.doc.get("revision")
        self.schemas = self.doc["schemas"]
        self.global_parameters = self.doc.get("parameters", {})
        self.methods = []
        self._collect(self.doc.get("resources", {}))
        self._pool = _proto_pool()
        self._enum_cache = {}

    def _collect(self, resources):
        for resource in resources.values():
            self.methods.extend(Method(spec) for spec in resource.get("methods", {}).values())
            self._collect(resource.get("resources", {}))

    def method(self, method_id):
        """The Method with this id (apps.services.versions.create)."""
        return next(method for method in self.methods if method.id == method_id)

    # Requests -----------------------------------------------------------------------------------------

    def resolve(self, http_method, path):
        """(Method, {path parameter: decoded value}); ContractError 404 when no method has this path and HTTP method."""
        allowed = []
        for method in self.methods:
            match = method.regex.match(path)
            if match:
                if method.http_method == http_method:
                    params = {name: unquote(value) for name, value in match.groupdict().items()}
                    for name, value in params.items():
                        self._check_param(method.parameters.get(name, {"type": "string"}), name, [value], "path")
                    return method, params
                allowed.append(method.http_method)
        if allowed:
            raise ContractError(f"{http_method} is not a method of {path} in the discovery document (it has {', '.join(sorted(allowed))})", 404)
        raise ContractError(f"The requested URL {path} was not found: no method of the App Engine Admin API v1 discovery document has this path.", 404)

    def check_query(self, method, query):
        """Check the query parameters ({name: [values]}); returns {name: value or [values]} with the $ aliases resolved."""
        result = {}
        for name, values in query.items():
            canonical = DOLLAR_ALIASES.get(name, name)
            spec = method.parameters.get(canonical)
            if spec is None or spec.get("location") != "query":
                spec = self.global_parameters.get(canonical)
            if spec is None:
                raise ContractError(f"Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. "
                                    f"Field '{name}' could not be found in request message.", 400, name)
            if canonical == "alt":
                values = [self._check_alt(name, values)]
            self._check_param(spec, name, values, "query")
            if spec.get("format") == "google-fieldmask" and method.request:
                for value in values:
                    self.check_field_mask(method.request, value)
            if "enum" in spec:
                # Clients that encode enums as numbers (enum-encoding=int) send query enums as numbers too; the
                # query enums of this API (view) number their values in the discovery document's order.
                values = [spec["enum"][int(value)] if value.isdigit() else value for value in values]
            result[canonical] = values if spec.get("repeated") else values[-1]
        for name, spec in method.parameters.items():
            if spec.get("required") and spec.get("location") == "query" and name not in result:
                raise ContractError(f"The query parameter {name} is required.", 400, name)
        return result

    @staticmethod
    def _check_alt(name, values):
        """alt=json, or what the REST clients send: $alt=json;enum-encoding=int. Returns the alt value itself."""
        if len(values) != 1:
            raise ContractError(f"The query parameter {name} is given more than once.", 400, name)
        alt, *options = values[0].split(";")
        for option in options:
            key, _sep, value = option.partition("=")
            if key != "enum-encoding" or value not in ("int", "string"):
                raise ContractError(f"Invalid {name} option '{option}': only enum-encoding=int or enum-encoding=string.", 400, name)
        return alt

    def _check_param(self, spec, name, values, location):
        if len(values) > 1 and not spec.get("repeated"):
            raise ContractError(f"The {location} parameter {name} is given more than once.", 400, name)
        for value in values:
            kind = spec.get("type", "string")
            if "enum" in spec and value not in spec["enum"] and not (value.isdigit() and int(value) < len(spec["enum"])):
                raise ContractError(f"Invalid value at '{name}' ({location}): \"{value}\" is not one of {', '.join(spec['enum'])}.", 400, name)
            if kind == "integer" and not re.fullmatch(r"-?\d+", value):
                raise ContractError(f"Invalid value at '{name}' ({location}): \"{value}\" is not an integer.", 400, name)
            if kind == "boolean" and value not in ("true", "false", "1", "0"):
                raise ContractError(f"Invalid value at '{name}' ({location}): \"{value}\" is not a boolean.", 400, name)
            if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
                raise ContractError(f"Invalid value at '{name}' ({location}): it does not match {spec['pattern']}.", 400, name)

    def check_field_mask(self, schema_name, mask):
        """Every path of a field mask (comma-separated, camelCase or snake_case) names a field of the schema."""
        for path in filter(None, mask.split(",")):
            schema = self.schemas[schema_name]
            for part in path.split("."):
                camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), part)
                prop = (schema.get("properties") or {}).get(camel)
                if prop is None:
                    raise ContractError(f"Invalid field mask path \"{path}\": {schema_name} has no field {part}.", 400, "updateMask")
                ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
                schema = self.schemas.get(ref, {}) if ref else {}

    def check_body(self, method, body):
        """Check a request body (parsed JSON) against the method's request schema; ContractError 400 names the field."""
        if method.request is None:
            if body not in (None, {}):
                raise ContractError(f"{method.id} takes no request body.", 400)
            return
        if not isinstance(body, dict):
            raise ContractError(f"Invalid JSON payload received: the body of {method.id} must be a JSON object ({method.request}).", 400)
        self.check_value({"$ref": method.request}, body, method.request[:1].lower() + method.request[1:], "request")

    # Responses ----------------------------------------------------------------------------------------

    def check_response(self, method, body):
        """Check a response body against the method's response schema; ContractError 500 names the field."""
        if method.response is None:
            return
        self.check_value({"$ref": method.response}, body, "response", "response")

    # Values -------------------------------------------------------------------------------------------

    def check_value(self, spec, value, where, side, owner=None, field=None):  # pylint: disable=too-many-arguments,too-many-branches
        """Check value against a discovery schema fragment; owner/field name the message field for enum numbers."""
        status = 400 if side == "request" else 500
        ref = spec.get("$ref")
        if ref:
            self._check_object(ref, value, where, side)
            return
        kind = spec.get("type")
        if kind == "any":
            return
        if kind == "object":
            if not isinstance(value, dict):
                raise ContractError(f"Invalid value at '{where}': expected an object.", status, where)
            if "additionalProperties" in spec:
                for key, item in value.items():
                    self.check_value(spec["additionalProperties"], item, f"{where}[{key!r}]", side, owner, field)
            elif spec.get("properties"):
                self._check_properties("(inline)", spec["properties"], value, where, side)
            return
        if kind == "array":
            if not isinstance(value, list):
                raise ContractError(f"Invalid value at '{where}': expected a list.", status, where)
            for index, item in enumerate(value):
                self.check_value(spec.get("items", {}), item, f"{where}[{index}]", side, owner, field)
            return
        self._check_scalar(spec, value, where, status, owner, field)

    def _check_object(self, ref, value, where, side):
        status = 400 if side == "request" else 500
        if ref not in self.schemas:
            raise ContractError(f"Schema {ref} is not in the discovery document.", 500, where)
        if not isinstance(value, dict):
            raise ContractError(f"Invalid value at '{where}': expected an object ({ref}).", status, where)
        schema = self.schemas[ref]
        self._check_properties(ref, schema.get("properties") or {}, value, where, side)

    def _check_properties(self, owner, properties, value, where, side):
        status = 400 if side == "request" else 500
        for key, item in value.items():
            if key not in properties:
                raise ContractError(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.", status, f"{where}.{key}")
            if item is None:
                continue
            prop = properties[key]
            self.check_value(prop, item, f"{where}.{key}", side, owner, key)
            if owner in ("Operation",) and key in ("metadata", "response") and isinstance(item, dict):
                self._check_any(item, f"{where}.{key}", side)
        if owner == "Status" and side == "response" and "details" in value:
            for index, detail in enumerate(value.get("details") or []):
                self._check_any(detail, f"{where}.details[{index}]", side)

    def _check_any(self, value, where, side):
        """An Any: @type is a type URL; when it names a schema of this document, the rest must fit that schema."""
        status = 400 if side == "request" else 500
        type_url = value.get("@type")
        if not isinstance(type_url, str) or "/" not in type_url:
            raise ContractError(f"Invalid value at '{where}': an Any needs an @type URL.", status, where)
        full_name = type_url.rsplit("/", 1)[1]
        package, _dot, name = full_name.rpartition(".")
        rest = {key: item for key, item in value.items() if key != "@type"}
        if package == PROTO_PACKAGE:
            if name not in self.schemas:
                raise ContractError(f"Invalid value at '{where}': @type {full_name} is not a schema of the discovery document.", status, where)
            self._check_object(name, rest, where, side)
        elif full_name == "google.protobuf.Empty" and rest:
            raise ContractError(f"Invalid value at '{where}': google.protobuf.Empty has no fields.", status, where)

    def _check_scalar(self, spec, value, where, status, owner, field):  # pylint: disable=too-many-arguments,too-many-branches
        kind, fmt = spec.get("type"), spec.get("format")
        bad = ContractError(f"Invalid value at '{where}' ({kind}{'/' + fmt if fmt else ''}).", status, where)
        if "enum" in spec:
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int):
                if value not in self.enum_numbers(owner, field, spec["enum"]).values():
                    raise ContractError(f"Invalid value at '{where}': {value} is not a number of the enum {', '.join(spec['enum'])}.", status, where)
                return
            if value not in spec["enum"]:
                raise ContractError(f"Invalid value at '{where}': \"{value}\" is not one of {', '.join(spec['enum'])}.", status, where)
            return
        if kind == "string":
            if fmt in INT_RANGES:
                if isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
                    raise bad
                low, high = INT_RANGES[fmt]
                if not low <= int(value) <= high:
                    raise bad
                return
            if not isinstance(value, str):
                raise bad
            if fmt == "google-duration" and not DURATION_RE.fullmatch(value):
                raise bad
            if fmt == "google-datetime":
                if not DATETIME_RE.fullmatch(value):
                    raise bad
                try:
                    datetime.datetime.fromisoformat(re.sub(r"\.\d+", "", value).replace("Z", "+00:00"))
                except ValueError as exc:
                    raise bad from exc
            if fmt == "byte":
                try:
                    base64.b64decode(value.replace("-", "+").replace("_", "/") + "==")
                except ValueError as exc:
                    raise bad from exc
            return
        if kind == "integer":
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
            low, high = INT_RANGES.get(fmt, INT_RANGES["int64"])
            if not low <= value <= high:
                raise bad
            return
        if kind == "number":
            if isinstance(value, bool) or not (isinstance(value, (int, float)) or value in ("NaN", "Infinity", "-Infinity")):
                raise bad
            return
        if kind == "boolean":
            if not isinstance(value, bool):
                raise bad
            return
        raise ContractError(f"Invalid value at '{where}': the discovery type {kind} is not known to this service.", 500, where)

    # Enum numbers -------------------------------------------------------------------------------------

    def enum_numbers(self, owner, field, names):
        """{name: number} for the enum of the field `field` of the schema `owner` (the proto numbers when known)."""
        key = (owner, field, tuple(names))
        if key not in self._enum_cache:
            numbers = None
            if self._pool is not None and owner and field:
                try:
                    message = self._pool.FindMessageTypeByName(f"{PROTO_PACKAGE}.{owner}")
                    proto_field = next((item for item in message.fields if item.json_name == field), None)
                    if proto_field is not None and proto_field.enum_type is not None:
                        numbers = {value.name: value.number for value in proto_field.enum_type.values}
                except KeyError:
                    numbers = None
            if numbers is None or not set(names) <= set(numbers):
                numbers = {name: index for index, name in enumerate(names)}
            self._enum_cache[key] = {name: numbers[name] for name in names}
        return self._enum_cache[key]

    def encode_enums(self, schema_name, value):
        """A copy of value (a schema_name object, enum values as names) with the enums as numbers (enum-encoding=int)."""
        return self._encode({"$ref": schema_name}, value, None, None)

    def _encode(self, spec, value, owner, field):  # pylint: disable=too-many-return-statements
        if value is None:
            return None
        ref = spec.get("$ref")
        if ref:
            props = self.schemas.get(ref, {}).get("properties") or {}
            if not isinstance(value, dict):
                return value
            return {key: self._encode(props[key], item, ref, key) if key in props else item for key, item in value.items()}
        kind = spec.get("type")
        if kind == "object" and isinstance(value, dict):
            if "@type" in value and field in ("metadata", "response", "details"):
                name = value["@type"].rsplit("/", 1)[-1].rpartition(".")
                if name[0] == PROTO_PACKAGE and name[2] in self.schemas:
                    inner = self._encode({"$ref": name[2]}, {k: v for k, v in value.items() if k != "@type"}, None, None)
                    return {"@type": value["@type"], **inner}
                return value
            if "additionalProperties" in spec:
                return {key: self._encode(spec["additionalProperties"], item, owner, field) for key, item in value.items()}
            return value
        if kind == "array" and isinstance(value, list):
            return [self._encode(spec.get("items", {}), item, owner, field) for item in value]
        if "enum" in spec and isinstance(value, str):
            return self.enum_numbers(owner, field, spec["enum"]).get(value, value)
        return value

    def decode_enums(self, schema_name, value):
        """A copy of value with enum numbers turned into names (what the service works with)."""
        return self._decode({"$ref": schema_name}, value, None, None)

    def _decode(self, spec, value, owner, field):
        ref = spec.get("$ref")
        if ref:
            props = self.schemas.get(ref, {}).get("properties") or {}
            if not isinstance(value, dict):
                return value
            return {key: self._decode(props[key], item, ref, key) if key in props else item for key, item in value.items()}
        kind = spec.get("type")
        if kind == "object" and isinstance(value, dict) and "additionalProperties" in spec:
            return {key: self._decode(spec["additionalProperties"], item, owner, field) for key, item in value.items()}
        if kind == "array" and isinstance(value, list):
            return [self._decode(spec.get("items", {}), item, owner, field) for item in value]
        if "enum" in spec and isinstance(value, int) and not isinstance(value, bool):
            by_number = {number: name for name, number in self.enum_numbers(owner, field, spec["enum"]).items()}
            return by_number.get(value, value)
        return value
