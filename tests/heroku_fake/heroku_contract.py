# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract of the local Heroku fake: the Platform API hyper-schema (schema.json), its links as routes,
and Draft 4 validation of request and response bodies (with strictProperties meaning additionalProperties false).
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from urllib.parse import unquote

import jsonschema

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"
HREF_VAR = re.compile(r"\{\(([^)]*)\)\}")

# The one deliberate change to the published schema: an app's web_url is the app's local router
# (http://127.0.0.1:<port>/), which the published pattern (<name>.herokuapp.com) cannot express.
WEB_URL_PATTERN = r"^(https?://[a-z][a-z0-9-]{3,43}\.herokuapp\.com/|http://127\.0\.0\.1:[0-9]{1,5}/)$"
SCHEMA_PATCHES = (
    (("definitions", "app", "definitions", "web_url"), "pattern", WEB_URL_PATTERN),
)


# -- the schema -----------------------------------------------------------------------------------------------

# jsonschema's own format checks; date-time and uri need rfc3339-validator and rfc3986-validator, which
# requirements-dev.txt pins. Schema.__init__ refuses to start when a format the schema uses cannot be checked.
FORMAT_CHECKER = jsonschema.FormatChecker()


def preprocess(node, top=True):
    """A copy of the schema with Heroku's strictProperties made standard: additionalProperties false."""
    if isinstance(node, dict):
        out = {key: preprocess(value, False) for key, value in node.items() if top or key != "$schema"}
        if out.get("strictProperties") is True and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [preprocess(value, False) for value in node]
    return node


def formats_used(node):
    """Every value of a "format" keyword in the schema."""
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield node["format"]
        for value in node.values():
            yield from formats_used(value)
    elif isinstance(node, list):
        for value in node:
            yield from formats_used(value)


def describe_error(error):
    """A jsonschema error as text naming the property and the rule, without echoing the value (it may be a secret)."""
    location = "/".join(str(part) for part in error.absolute_path)
    validator = error.validator
    value = error.validator_value
    if validator in ("additionalProperties", "required", "dependencies"):
        text = error.message
    elif validator == "type":
        types = value if isinstance(value, list) else [value]
        text = f"must be of type {' or '.join(types)}"
    elif validator == "pattern":
        text = f"must match the pattern {value}"
    elif validator == "format":
        text = f"must be a valid {value}"
    elif validator == "enum":
        text = f"must be one of {', '.join(json.dumps(v) for v in value)}"
    elif validator in ("anyOf", "oneOf"):
        text = "matches none of the allowed forms"
    else:
        text = f"violates {validator}={json.dumps(value)}"
    return f"{location}: {text}" if location else text


class Link:
    """One link of the hyper-schema: method, href template, request schema, response schema."""

    def __init__(self, resource, raw, schema):
        self.resource = resource
        self.title = raw.get("title", "")
        self.method = raw.get("method", "GET").upper()
        self.href = raw["href"]
        self.rel = raw.get("rel", "")
        self.ranges = raw.get("ranges") or []
        self.schema = raw.get("schema")
        self.target = raw.get("targetSchema")
        pieces = HREF_VAR.split(self.href)
        regex, template, names = "", "", []
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                regex += re.escape(piece)
                template += piece
            else:
                name = self.param_name(unquote(piece))
                while name in names:
                    name += "_"
                names.append(name)
                regex += "([^/]+)"
                template += "{" + name + "}"
        self.regex = re.compile("^" + regex + "$")
        self.template = template
        self.params = names
        self.literal = len(HREF_VAR.sub("", self.href))
        self.response = self.response_schema(schema)

    @staticmethod
    def param_name(ref):
        parts = ref.lstrip("#/").split("/")
        if len(parts) >= 4 and parts[0] == "definitions" and parts[2] == "definitions":
            return parts[1] if parts[3] == "identity" else f"{parts[1]}_{parts[3]}"
        return parts[-1]

    def response_schema(self, schema):
        """The targetSchema (or the resource), plus: every property of the resource must be present."""
        target = self.target
        if target is None:
            target = {"$ref": f"#/definitions/{self.resource}"}
            if self.rel == "instances":
                target = {"type": ["array"], "items": target}
        required = {}
        ref = target.get("$ref") or (target.get("items") or {}).get("$ref")
        match = re.match(r"^#/definitions/([^/]+)$", ref or "")
        if match and match.group(1) in schema.defs:
            props = sorted((schema.defs[match.group(1)].get("properties") or {}).keys())
            if props:
                required = {"required": props}
                if "items" in target and "$ref" not in target:
                    required = {"items": required}
        return {"allOf": [target, required]} if required else target


class Schema:
    """The Platform API schema: routing and validation."""

    def __init__(self, path=SCHEMA_FILE):
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        self.root = preprocess(raw)
        for pointer, key, value in SCHEMA_PATCHES:
            node = self.root
            for part in pointer:
                node = node[part]
            node[key] = value
        self.defs = self.root["definitions"]
        unchecked = sorted(set(formats_used(self.root)) - set(FORMAT_CHECKER.checkers))
        if unchecked:
            raise RuntimeError(f"{path}: cannot check the formats {', '.join(unchecked)}: install requirements-dev.txt")
        self.links = []
        for resource, definition in self.defs.items():
            for raw_link in definition.get("links") or []:
                if raw_link.get("href", "").startswith("/"):
                    self.links.append(Link(resource, raw_link, self))
        self._validators = {}
        self._lock = threading.Lock()

    def route(self, method, path):
        """(links sharing the best matching href, unquoted params) or (None, None)."""
        matches = []
        for link in self.links:
            if link.method != method:
                continue
            found = link.regex.match(path)
            if found:
                matches.append((link, [unquote(value) for value in found.groups()]))
        if not matches:
            return None, None
        matches.sort(key=lambda item: (len(item[0].params), -item[0].literal))
        best = matches[0][0].href
        return [link for link, unused in matches if link.href == best], matches[0][1]

    def validator(self, link, kind):
        key = (id(link), kind)
        with self._lock:
            found = self._validators.get(key)
            if found is None:
                subschema = link.schema if kind == "request" else link.response
                wrapper = {"allOf": [subschema], "definitions": self.defs}
                found = jsonschema.Draft4Validator(wrapper, format_checker=FORMAT_CHECKER)
                self._validators[key] = found
            return found

    def check(self, link, kind, instance):
        """None, or the text of the best error."""
        error = jsonschema.exceptions.best_match(self.validator(link, kind).iter_errors(instance))
        return None if error is None else describe_error(error)

    def check_request(self, links, body):
        """(the link whose schema the body matches, None) or (None, error text)."""
        problems = []
        for link in links:
            if link.schema is None:
                return link, None
            problem = self.check(link, "request", body)
            if problem is None:
                return link, None
            problems.append((link, problem))
        if len(problems) == 1:
            return None, problems[0][1]
        return None, "; ".join(f"as {link.title}: {problem}" for link, problem in problems)
