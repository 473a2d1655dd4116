# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Twilio's OpenAPI description (API 2010-04-01) as a contract: routing requests, checking form bodies, checking responses.

The description is read at run time from shared/twilio-api/twilio_api_v2010.json beside the repository
(<repo>/../shared/...; for a copy of the repository inside it, such as .build/collections/..., beside the nearest
directory above that has one), or from the file TWILIO_OPENAPI names; nothing of it is copied into the repository.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs

import jsonschema

REPO = Path(__file__).resolve().parents[2]
SPEC_NAME = Path("shared", "twilio-api", "twilio_api_v2010.json")


def spec_path():
    """TWILIO_OPENAPI, else shared/twilio-api/... beside the repository or beside the nearest directory above it."""
    if os.environ.get("TWILIO_OPENAPI"):
        return Path(os.environ["TWILIO_OPENAPI"])
    for directory in REPO.parents:
        if (directory / SPEC_NAME).is_file():
            return directory / SPEC_NAME
    return REPO.parent / SPEC_NAME


METHODS = ("get", "post", "put", "patch", "delete")

PHONE = re.compile(r"^(\+[1-9][0-9]{1,14}|[a-z]+:\+?[A-Za-z0-9.@_-]+|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("phone-number")
def _phone(value):
    return not isinstance(value, str) or bool(PHONE.match(value))


@FORMATS.checks("date-time-rfc-2822")
def _rfc2822(value):
    if not isinstance(value, str):
        return True
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError):
        return False


class ContractError(Exception):
    """A request or response that the description does not allow: where ('path', 'auth', 'request', 'response'), what."""

    def __init__(self, where, message, status=400):
        super().__init__(message)
        self.where = where
        self.status = status


def openapi_to_jsonschema(node):
    """OpenAPI 3.0 schema objects as JSON Schema (Draft 7): `nullable: true` also allows null."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi_to_jsonschema(value) for key, value in node.items()
            if key not in ("description", "x-twilio", "example", "examples")}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


class Contract:
    """The paths and operations of the description, and validators for their form bodies and responses."""

    def __init__(self, path=None):
        path = Path(path or spec_path())
        if not path.is_file():
            raise FileNotFoundError(f"Twilio's OpenAPI description is not at {path}: the shared/ directory must sit "
                                    "beside the repository (shared/twilio-api/twilio_api_v2010.json), or TWILIO_OPENAPI "
                                    "must name the file")
        spec = json.loads(path.read_text(encoding="utf-8"))
        self.components = openapi_to_jsonschema(spec["components"]["schemas"])
        self.routes = []
        for template, item in spec["paths"].items():
            pattern = re.sub(r"\\\{([A-Za-z]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            self.routes.append((literal, template, re.compile(f"^{pattern}$"), item))
        self.routes.sort(key=lambda route: -route[0])

    def schema(self, schema):
        """A Draft 7 validator for one schema object of the description, its $refs resolved in components."""
        root = dict(openapi_to_jsonschema(schema))
        root["components"] = {"schemas": self.components}
        return jsonschema.Draft7Validator(root, format_checker=FORMATS)

    def route(self, method, path):
        """(template, path parameters, operation) of a request; ContractError when the description has no such one."""
        for _literal, template, pattern, item in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            operation = item.get(method.lower())
            if operation is None:
                allowed = ", ".join(m.upper() for m in METHODS if m in item)
                raise ContractError("path", f"{method} {template}: not an operation of the description (it has {allowed})", 405)
            params = match.groupdict()
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in params:
                    errors = sorted(self.schema(parameter.get("schema", {})).iter_errors(params[parameter["name"]]), key=str)
                    if errors:
                        raise ContractError("path", f"{method} {template}: path parameter {parameter['name']}: {errors[0].message}", 404)
            return template, params, operation
        raise ContractError("path", f"{method} {path}: no path of the description matches", 404)

    def check_form(self, operation, content_type, body):
        """The form body as a dict of typed values, checked against the operation's requestBody schema."""
        request = operation.get("requestBody")
        if request is None:
            if body:
                raise ContractError("request", "the operation takes no request body")
            return {}
        media = "application/x-www-form-urlencoded"
        if (content_type or "").split(";")[0].strip().lower() != media:
            raise ContractError("request", f"Content-Type must be {media}, got '{content_type}'")
        schema = request["content"][media]["schema"]
        properties = schema.get("properties", {})
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ContractError("request", f"the form body does not parse: {exc.__class__.__name__}") from None
        unknown = sorted(set(fields) - set(properties))
        if unknown:
            raise ContractError("request", f"form fields not in the description: {', '.join(unknown)}")
        values = {}
        for name, given in fields.items():
            kind = properties[name].get("type")
            if kind != "array" and len(given) > 1:
                raise ContractError("request", f"{name}: given {len(given)} times")
            values[name] = [self._typed(name, properties[name].get("items", {}).get("type"), v) for v in given] \
                if kind == "array" else self._typed(name, kind, given[0])
        errors = sorted(self.schema({**schema, "additionalProperties": False}).iter_errors(values), key=lambda e: list(e.path))
        if errors:
            error = errors[0]
            where = "/".join(str(p) for p in error.path) or "body"
            # The rule, never the value (it may be a message text or a secret).
            if error.validator == "required":
                rule = "required: " + error.message.split("'")[1]
            else:
                rule = f"{error.validator} {json.dumps(error.validator_value)[:200]}"
            raise ContractError("request", f"{where}: {rule}")
        return values

    @staticmethod
    def _typed(name, kind, value):
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
        except ValueError:
            raise ContractError("request", f"{name}: not a {kind}") from None
        if kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise ContractError("request", f"{name}: not a boolean")
            return value.lower() == "true"
        return value

    def check_response(self, operation, status, body):
        """ContractError when body does not match the operation's response schema for status."""
        response = operation.get("responses", {}).get(str(status))
        if response is None:
            raise ContractError("response", f"status {status} is not a documented response", 500)
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            errors = sorted(self.schema(schema).iter_errors(body), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or "body"
                raise ContractError("response", f"{where}: {errors[0].message}", 500)
            resolved = schema
            if "$ref" in schema:
                resolved = self.components[schema["$ref"].rsplit("/", 1)[1]]
            missing = sorted(set(resolved.get("properties", {})) - set(body))
            if missing:
                raise ContractError("response", f"properties missing: {', '.join(missing)}", 500)
