# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Elastic Beanstalk contract: botocore's own service model, read both ways.

Requests (AWS Query protocol, form-encoded) are parsed against the operation's input shape: structures
as `A.B`, lists as `A.member.N` (or `A=` for an empty list, as botocore sends it), maps as
`A.entry.N.key` / `A.entry.N.value`. Required members, scalar types, enum values and min/max (length
for strings and lists, value for integers) are checked, and a parameter the shape does not have is an
error. Responses are serialized from the output shape to Query XML and parsed back with botocore's
`QueryParser`: what comes back must equal what went in. Error documents are parsed back too.

Messages name the parameter and the rule, never the value: an option setting's value may be a secret.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET

import botocore.session
from botocore.parsers import QueryParser
from botocore.utils import parse_timestamp

NAMESPACE = "http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/"
API_VERSION = "2010-12-01"
# Members where the real service departs from botocore's model, and the service follows the real one:
# DescribeEnvironmentHealth's Status has the shape EnvironmentHealth (Green, Yellow, Red, Grey), but AWS
# documents and returns the environment's status there (Ready, Launching, Updating, ...). No enum check.
MODEL_ERRATA = {("DescribeEnvironmentHealthResult", "Status")}


class ContractError(Exception):
    """A request or response that botocore's model does not allow; code and status are AWS's answer."""

    def __init__(self, message, code="ValidationError", status=400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def _camel(path):
    """AWS's validation messages name members in lowerCamelCase ('environmentName', 'optionSettings.1.value')."""
    return ".".join(part[:1].lower() + part[1:] for part in path)


def _constraint(path, rule):
    return ContractError(f"1 validation error detected: Value at '{_camel(path)}' failed to satisfy constraint: {rule}")


def iso_timestamp(value):
    """A datetime as AWS Query writes it: 2026-01-02T03:04:05.678Z."""
    value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class Contract:
    """The elasticbeanstalk service model of the installed botocore, with request and response checks."""

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model("elasticbeanstalk")
        self._parser = QueryParser()

    # Requests -----------------------------------------------------------------------------------------

    def parse_request(self, form):
        """(operation name, parameters as botocore would have them) for a dict of form fields.

        Raises ContractError: InvalidAction for an operation the model lacks, MissingParameter without
        Action, ValidationError for a constraint, InvalidParameterValue for a parameter the shape lacks.
        """
        action = form.get("Action")
        if not action:
            raise ContractError("The request must contain the parameter Action.", "MissingParameter")
        if action not in self.model.operation_names:
            raise ContractError(f"The action {action} is not valid for this web service.", "InvalidAction")
        if form.get("Version") != API_VERSION:
            raise ContractError(f"The request must contain the parameter Version with the value {API_VERSION}.", "MissingParameter")
        shape = self.model.operation_model(action).input_shape
        used = {"Action", "Version"}
        params = self._read_structure(shape, "", form, used, []) if shape is not None else {}
        unknown = sorted(set(form) - used)
        if unknown:
            raise ContractError(f"Unknown parameter in the request: {unknown[0]}", "InvalidParameterValue")
        return action, params

    @staticmethod
    def _present(shape, key, form):
        if shape.type_name in ("structure", "list", "map"):
            return key in form or any(name.startswith(key + ".") for name in form)
        return key in form

    def _read(self, shape, key, form, used, path):
        kind = shape.type_name
        if kind == "structure":
            return self._read_structure(shape, key + ".", form, used, path)
        if kind == "list":
            return self._read_list(shape, key, form, used, path)
        if kind == "map":
            return self._read_map(shape, key, form, used, path)
        used.add(key)
        return self._scalar(shape, form[key], path)

    def _read_structure(self, shape, prefix, form, used, path):
        result = {}
        for name, member in shape.members.items():
            key = prefix + member.serialization.get("name", name)
            if self._present(member, key, form):
                result[name] = self._read(member, key, form, used, path + [name])
        for name in shape.required_members:
            if name not in result:
                raise _constraint(path + [name], "Member must not be null")
        return result

    @staticmethod
    def _indices(key, form, path):
        pattern = re.compile(re.escape(key) + r"\.(\d+)(?:\.|$)")
        indices = sorted({int(match.group(1)) for name in form if (match := pattern.match(name))})
        if indices != list(range(1, len(indices) + 1)):
            raise _constraint(path, "Member indices must run 1, 2, 3 ...")
        return indices

    def _read_list(self, shape, key, form, used, path):
        if form.get(key) == "":
            used.add(key)
            items = []
        else:
            if key in form:
                raise _constraint(path, "Member must be a list (Name.member.N)")
            member_key = key + "." + shape.member.serialization.get("name", "member")
            items = [self._read(shape.member, f"{member_key}.{index}", form, used, path + [str(index)])
                     for index in self._indices(member_key, form, path)]
        self._check_length(shape, len(items), path, "length")
        return items

    def _read_map(self, shape, key, form, used, path):
        entry_key = key + ".entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        result = {}
        for index in self._indices(entry_key, form, path):
            item = f"{entry_key}.{index}"
            if f"{item}.{key_name}" not in form:
                raise _constraint(path + [str(index), key_name], "Member must not be null")
            name = self._read(shape.key, f"{item}.{key_name}", form, used, path + [str(index), key_name])
            result[name] = self._read(shape.value, f"{item}.{value_name}", form, used, path + [str(index), value_name])
        return result

    @staticmethod
    def _check_length(shape, length, path, what):
        if "min" in shape.metadata and length < shape.metadata["min"]:
            raise _constraint(path, f"Member must have {what} greater than or equal to {shape.metadata['min']}")
        if "max" in shape.metadata and length > shape.metadata["max"]:
            raise _constraint(path, f"Member must have {what} less than or equal to {shape.metadata['max']}")

    def _scalar(self, shape, text, path):
        kind = shape.type_name
        if kind == "string":
            enum = shape.metadata.get("enum")
            if enum and text not in enum:
                raise _constraint(path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
            self._check_length(shape, len(text), path, "length")
            return text
        if kind in ("integer", "long"):
            if not re.fullmatch(r"-?\d+", text):
                raise _constraint(path, "Member must be a number")
            self._check_length(shape, int(text), path, "value")
            return int(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                raise _constraint(path, "Member must be true or false")
            return text == "true"
        if kind == "timestamp":
            try:
                return parse_timestamp(text)
            except (ValueError, TypeError) as exc:
                raise _constraint(path, "Member must be a timestamp") from exc
        raise _constraint(path, f"Member has the type {kind}, which this service does not read")

    # Responses ----------------------------------------------------------------------------------------

    def serialize_response(self, action, result, request_id):
        """The XML body for an operation's result (a dict keyed by member names), checked by parsing it back.

        Raises ContractError (status 500) when the result does not fit the output shape or does not
        survive botocore's QueryParser unchanged: a bug in the service, not in the client.
        """
        shape = self.model.operation_model(action).output_shape
        root = ET.Element(f"{action}Response", xmlns=NAMESPACE)
        if shape is not None:
            wrapper = ET.SubElement(root, shape.serialization["resultWrapper"])
            self._write_structure(wrapper, shape, result or {}, [])
        elif result:
            raise ContractError(f"{action} has no output, but the service answered members", "InternalFailure", 500)
        metadata = ET.SubElement(root, "ResponseMetadata")
        ET.SubElement(metadata, "RequestId").text = request_id
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        if shape is not None:
            parsed = self._parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)
            parsed.pop("ResponseMetadata", None)
            self._check_required(shape, parsed, [])
            if parsed != _comparable(result or {}):
                raise ContractError(f"{action}: the response did not parse back to what was sent", "InternalFailure", 500)
        return body

    def _write(self, parent, shape, value, path):
        kind = shape.type_name
        if kind == "structure":
            self._write_structure(parent, shape, value, path)
        elif kind == "list":
            if not isinstance(value, (list, tuple)):
                raise ContractError(f"response member {_camel(path)} must be a list", "InternalFailure", 500)
            member_name = shape.member.serialization.get("name", "member")
            for index, item in enumerate(value, 1):
                self._write(ET.SubElement(parent, member_name), shape.member, item, path + [str(index)])
        elif kind == "map":
            for key, item in value.items():
                entry = ET.SubElement(parent, "entry")
                self._write(ET.SubElement(entry, shape.key.serialization.get("name", "key")), shape.key, key, path)
                self._write(ET.SubElement(entry, shape.value.serialization.get("name", "value")), shape.value, item, path + [key])
        else:
            parent.text = self._format_scalar(shape, value, path)

    def _write_structure(self, parent, shape, value, path):
        if not isinstance(value, dict):
            raise ContractError(f"response member {_camel(path) or 'result'} must be a structure", "InternalFailure", 500)
        unknown = sorted(set(value) - set(shape.members))
        if unknown:
            raise ContractError(f"response member {_camel(path + [unknown[0]])} is not in {shape.name}", "InternalFailure", 500)
        for name, member in shape.members.items():
            if value.get(name) is None:
                continue
            child = ET.SubElement(parent, member.serialization.get("name", name))
            if (shape.name, name) in MODEL_ERRATA:
                if not isinstance(value[name], str):
                    raise ContractError(f"response member {_camel(path + [name])} must be a string", "InternalFailure", 500)
                child.text = value[name]
            else:
                self._write(child, member, value[name], path + [name])

    def _format_scalar(self, shape, value, path):
        kind = shape.type_name
        try:
            if kind == "string":
                if not isinstance(value, str):
                    raise TypeError("not a string")
                self._scalar(shape, value, path)
                return value
            if kind in ("integer", "long"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError("not an integer")
                return str(value)
            if kind == "boolean":
                if not isinstance(value, bool):
                    raise TypeError("not a boolean")
                return "true" if value else "false"
            if kind == "timestamp":
                return iso_timestamp(value)
            if kind in ("double", "float"):
                return repr(float(value))
        except (TypeError, AttributeError, ContractError) as exc:
            raise ContractError(f"response member {_camel(path)} ({kind}): {getattr(exc, 'message', exc)}", "InternalFailure", 500) from exc
        raise ContractError(f"response member {_camel(path)} has the type {kind}, which this service does not write", "InternalFailure", 500)

    def _check_required(self, shape, value, path):
        if shape.type_name == "structure":
            for name in shape.required_members:
                if name not in value:
                    raise ContractError(f"response lacks the required member {_camel(path + [name])}", "InternalFailure", 500)
            for name, item in value.items():
                self._check_required(shape.members[name], item, path + [name])
        elif shape.type_name == "list":
            for index, item in enumerate(value, 1):
                self._check_required(shape.member, item, path + [str(index)])

    def serialize_error(self, action, code, message, request_id, status, sender=True):
        """An <ErrorResponse> document, checked by parsing it back with botocore's QueryParser."""
        root = ET.Element("ErrorResponse", xmlns=NAMESPACE)
        error = ET.SubElement(root, "Error")
        ET.SubElement(error, "Type").text = "Sender" if sender else "Receiver"
        ET.SubElement(error, "Code").text = code
        ET.SubElement(error, "Message").text = message
        ET.SubElement(root, "RequestId").text = request_id
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        shape = None
        if action in self.model.operation_names:
            shape = self.model.operation_model(action).output_shape
        parsed = self._parser.parse({"body": body, "headers": {}, "status_code": status}, shape)
        got = parsed.get("Error", {})
        if (got.get("Code"), got.get("Message")) != (code, message) or parsed["ResponseMetadata"].get("RequestId") != request_id:
            raise ContractError(f"the {code} error document did not parse back", "InternalFailure", 500)
        return body


def _comparable(value):
    """A result as botocore's parser gives it back: no None members, timestamps to the millisecond in UTC."""
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [_comparable(item) for item in value]
    if isinstance(value, datetime.datetime):
        return parse_timestamp(iso_timestamp(value))
    return value
