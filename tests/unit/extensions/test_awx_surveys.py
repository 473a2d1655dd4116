# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX survey specs (extensions/awx/<playbook>_survey.json): valid by AWX's own rules, and asking for what the
playbooks really read, in the form they accept.

AWX's rules are those of its source (github.com/ansible/awx), written anew here:
- awx/api/views/__init__.py, JobTemplateSurveySpec._validate_spec_data: what POST /api/v2/job_templates/N/survey_spec/
  (and so awx.awx.job_template's survey_spec) accepts: `name`, `description` (strings) and a non-empty `spec` list;
  per question `type`, `question_name`, `variable` (strings) and `required` (boolean), variables unique, the type one
  of awx/main/constants.py SURVEY_TYPE_MAPPING and the default of its Python type, `min`/`max` integers or null,
  `choices` for multiplechoice and multiselect with the defaults among them (one for multiplechoice), and the
  `$encrypted$` default only for a password question that already had an encrypted (or empty) default;
- awx/main/models/mixins.py, SurveyJobTemplateMixin._survey_element_validation: how an answer is checked at launch
  (strings and their length for text, textarea and password, exact int for integer, int or float for float, each
  within min and max, one of the choices); _update_unified_job_kwargs applies a default only when it passes that
  check, and drops it silently otherwise, so a default that fails it counts as an error here.
"""

from __future__ import annotations

import ast
import copy
import json
import keyword
import re
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE, boolean
from ansible.plugins.filter.core import to_bool

from ansible_collections.jvmops.deploy.plugins.module_utils._appengine import RUNTIMES

ROOT = Path(__file__).resolve().parents[3]
AWX = ROOT / "extensions" / "awx"
SURVEYS = sorted(AWX.glob("*_survey.json"))

# -- AWX's rules ----------------------------------------------------------------------------------------------------

TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int,
         "float": (float, int)}
ENCRYPTED = "$encrypted$"


def _choices(item):
    choices = item.get("choices", [])
    if isinstance(choices, str):
        return [line for line in choices.splitlines() if line.strip()]
    return list(choices)


def _limit(item, key):
    value = item.get(key)
    return None if value in ("", None) else value


def answer_errors(item, value):
    """Why AWX refuses `value` as the answer to the question `item` at launch (empty: it takes it)."""
    qtype, var = item["type"], item["variable"]
    low, high = _limit(item, "min"), _limit(item, "max")
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"{var}: {value!r} is not a string"]
        if low is not None and len(value) < int(low):
            return [f"{var}: {value!r} is shorter than min {low}"]
        if high is not None and len(value) > int(high):
            return [f"{var}: {value!r} is longer than max {high}"]
    elif qtype in ("integer", "float"):
        if type(value) not in ((int,) if qtype == "integer" else (int, float)):  # bool is no answer to either
            return [f"{var}: {value!r} is not {'an integer' if qtype == 'integer' else 'a number'}"]
        if low is not None and value < low:
            return [f"{var}: {value!r} is below min {low}"]
        if high is not None and value > high:
            return [f"{var}: {value!r} is above max {high}"]
    elif qtype == "multiselect":
        if not isinstance(value, list):
            return [f"{var}: {value!r} is not a list"]
        return [f"{var}: {v!r} is not one of {_choices(item)}" for v in value if v not in _choices(item)]
    elif qtype == "multiplechoice" and value not in _choices(item):
        return [f"{var}: {value!r} is not one of {_choices(item)}"]
    return []


def survey_errors(survey, old_survey=None):
    """Every reason AWX would refuse the survey spec (it stops at the first), plus the defaults it would drop."""
    errors = []
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if field not in survey:
            errors.append(f"'{field}' is missing")
        elif not isinstance(survey[field], kind):
            errors.append(f"'{field}' must be a {kind.__name__}")
    if errors:
        return errors
    if not survey["spec"]:
        return ["'spec' has no questions"]
    old = {item.get("variable"): item for item in (old_survey or {}).get("spec", []) if isinstance(item, dict)}
    seen = set()
    for idx, item in enumerate(survey["spec"]):
        where = f"question {idx}"
        if not isinstance(item, dict):
            errors.append(f"{where} is not an object")
            continue
        missing = [f for f in ("type", "question_name", "variable", "required") if f not in item]
        if missing:
            errors.append(f"{where} lacks {', '.join(missing)}")
            continue
        wrong = [f for f in ("type", "question_name", "variable") if not isinstance(item[f], str)]
        if wrong or not isinstance(item["required"], bool):
            errors.append(f"{where}: type, question_name and variable must be strings, required a boolean")
            continue
        where = f"question {idx} ({item['variable']})"
        if item["variable"] in seen:
            errors.append(f"{where}: variable used twice")
        seen.add(item["variable"])
        qtype = item["type"]
        if qtype not in TYPES:
            errors.append(f"{where}: type '{qtype}' is not one of {', '.join(TYPES)}")
            continue
        default = item.get("default")
        if "default" in item and default != "" and not isinstance(default, TYPES[qtype]):
            errors.append(f"{where}: default {default!r} is not of type {qtype}")
        for key in ("min", "max"):
            if item.get(key) is not None and (not isinstance(item[key], int) or isinstance(item[key], bool)):
                errors.append(f"{where}: {key} must be an integer")
        if qtype in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append(f"{where}: a {qtype} question needs choices")
                continue
            if "default" in item and default is not None:
                defaults = [d for d in default.splitlines() if d.strip()] if isinstance(default, str) else default
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append(f"{where}: a multiplechoice question has one default at most")
                if any(d not in _choices(item) for d in defaults):
                    errors.append(f"{where}: default {default!r} is not among the choices")
        if isinstance(default, str) and default.startswith(ENCRYPTED):
            if qtype != "password":
                errors.append(f"{where}: {ENCRYPTED} is reserved for password defaults")
            else:
                before = old.get(item["variable"], {}).get("default")
                if not (isinstance(before, str) and (before.startswith(ENCRYPTED) or before == "")):
                    errors.append(f"{where}: {ENCRYPTED} may not be a new default")
        # At launch a default is applied only when it would pass as an answer.
        elif default is not None and not errors:
            value = [d for d in default.splitlines() if d.strip()] if qtype == "multiselect" and isinstance(
                default, str) else default
            errors.extend(f"{where}: AWX drops the default: {e}" for e in answer_errors(item, value))
    return errors


GOOD = {"name": "n", "description": "d", "spec": [
    {"type": "text", "question_name": "Q", "variable": "v", "required": True, "min": 1, "max": 5, "default": "abc"},
    {"type": "multiplechoice", "question_name": "C", "variable": "c", "required": False, "choices": ["a", "b"],
     "default": "a"},
    {"type": "integer", "question_name": "I", "variable": "i", "required": True, "min": 0, "max": 9, "default": 3},
    {"type": "password", "question_name": "P", "variable": "p", "required": False, "default": "s3cret"},
]}


def mutate(path, value):
    survey = copy.deepcopy(GOOD)
    target = survey
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return survey


def test_the_rules_take_a_good_survey():
    assert survey_errors(GOOD) == []
    # The reserved default of a password question whose stored default was already encrypted.
    renewed = mutate(("spec", 3, "default"), ENCRYPTED)
    assert survey_errors(renewed, old_survey=mutate(("spec", 3, "default"), "$encrypted$UTF8$AESCBC$Z0FBQU")) == []


@pytest.mark.parametrize("path, value, message", [
    (("name",), KeyError, "'name' is missing"),
    (("description",), 3, "'description' must be a str"),
    (("spec",), [], "no questions"),
    (("spec", 0), "text", "not an object"),
    (("spec", 0, "required"), KeyError, "lacks required"),
    (("spec", 0, "required"), "yes", "required a boolean"),
    (("spec", 1, "variable"), "v", "variable used twice"),
    (("spec", 0, "type"), "boolean", "type 'boolean' is not one of"),
    (("spec", 2, "default"), "3", "default '3' is not of type integer"),
    (("spec", 2, "max"), "9", "max must be an integer"),
    (("spec", 1, "choices"), KeyError, "needs choices"),
    (("spec", 1, "default"), "a\nb", "one default at most"),
    (("spec", 1, "default"), "z", "not among the choices"),
    (("spec", 0, "default"), ENCRYPTED, "reserved for password defaults"),
    (("spec", 3, "default"), ENCRYPTED, "may not be a new default"),
    (("spec", 0, "default"), "abcdef", "AWX drops the default: v: 'abcdef' is longer than max 5"),
    (("spec", 2, "default"), 12, "AWX drops the default: i: 12 is above max 9"),
    (("spec", 2, "default"), True, "AWX drops the default: i: True is not an integer"),
])
def test_the_rules_refuse_what_awx_refuses(path, value, message):
    errors = survey_errors(mutate(path, value))
    assert any(message in e for e in errors), errors


def test_answers_are_checked_as_at_launch():
    text, integer, choice = GOOD["spec"][0], GOOD["spec"][2], GOOD["spec"][1]
    assert answer_errors(text, "ab") == [] and answer_errors(text, "") and answer_errors(text, None)
    assert answer_errors(integer, 0) == [] and answer_errors(integer, -1) and answer_errors(integer, "1")
    assert answer_errors(choice, "b") == [] and answer_errors(choice, "c")


# -- the collection's surveys -----------------------------------------------------------------------------------------

def load(path):
    return json.loads(path.read_text())


def playbook_of(path):
    return ROOT / "playbooks" / f"{path.name.removesuffix('_survey.json')}.yml"


def without_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def playbook_sources(playbook, seen=None):
    """The text of a playbook, the playbooks it imports, its vars_files and the roles it calls (this collection's),
    without comments."""
    seen = set() if seen is None else seen
    if playbook in seen:
        return ""
    seen.add(playbook)
    text = without_comments(playbook.read_text())
    parts = [text]
    for imported in re.findall(r"import_playbook:\s*([\w./-]+\.yml)", text):
        parts.append(playbook_sources(playbook.parent / imported, seen))
    for listed in re.findall(r"^\s*vars_files:\s*\n((?:\s*- [\w./-]+\.yml\s*\n)+)", text, re.M):
        for vars_file in sorted(set(re.findall(r"- ([\w./-]+\.yml)", listed))):
            parts.append(without_comments((playbook.parent / vars_file).read_text()))
    for role in sorted(set(re.findall(r"\bjvmops\.deploy\.(\w+)\s*$", text, re.M))):
        role_dir = ROOT / "roles" / role
        for path in sorted(role_dir.glob("*/**/*")) if role_dir.is_dir() else ():
            if path.is_file() and path.parent.name != "files" and path.suffix in (".yml", ".j2"):
                parts.append(without_comments(path.read_text()))
    return "\n".join(parts)


def reads(text, var):
    """Whether `var` is used as a variable in the text (not as an attribute, a quoted word or part of a name)."""
    return re.search(rf"(?<![\w.'\"`-]){re.escape(var)}(?![\w'\"`-])", text) is not None


def questions(*types):
    """[(survey path, question)] of every survey, of the given types only when some are given."""
    return [(path, item) for path in SURVEYS for item in load(path)["spec"] if not types or item["type"] in types]


def ids(pairs):
    return [f"{path.name}:{item['variable']}" for path, item in pairs]


def test_the_surveys_cover_the_job_templates_that_take_a_person_s_input():
    names = {path.name.removesuffix("_survey.json") for path in SURVEYS}
    assert {"deploy", "deploy_heroku", "deploy_beanstalk", "deploy_appengine", "run_command", "cluster_task",
            "rollback"} <= names
    for path in SURVEYS:
        assert playbook_of(path).is_file(), f"{path.name}: no playbook {playbook_of(path).name}"


@pytest.mark.parametrize("path", SURVEYS, ids=[p.name for p in SURVEYS])
def test_survey_passes_awx_s_rules(path):
    assert survey_errors(load(path)) == []


@pytest.mark.parametrize("path", SURVEYS, ids=[p.name for p in SURVEYS])
def test_survey_is_complete_and_plain(path):
    survey = load(path)
    assert survey["name"].endswith("(jvmops.deploy)") and survey["description"]
    for item in survey["spec"]:
        var = item["variable"]
        assert item.get("question_description"), f"{var}: say what to answer"
        assert var.isidentifier() and not keyword.iskeyword(var) and var == var.lower(), var
        # AWX gives every job awx_* and tower_* variables of its own (awx/main/constants.py JOB_VARIABLE_PREFIXES).
        assert not var.startswith(("awx_", "tower_", "ansible_")), var
        assert item["type"] != "password", f"{var}: secrets come from credentials (docs/awx.md), not surveys"
        if "choices" in item:
            assert isinstance(item["choices"], list), f"{var}: choices as a list"


@pytest.mark.parametrize("path, item", questions(), ids=ids(questions()))
def test_every_variable_is_one_the_playbook_reads(path, item):
    assert reads(playbook_sources(playbook_of(path)), item["variable"]), (
        f"{playbook_of(path).name} (and the roles it calls) never reads {item['variable']}")


# What a blank optional answer is depends on the AWX version (an empty string, null, or no variable at all), and some
# versions check "" against min: an optional question has no min, and its playbook treats all three like no answer.
BLANK_IS_NO_ANSWER = {
    "appengine_project": r"appengine_project \| default\(lookup\('ansible\.builtin\.env', 'GCP_PROJECT'\), true\)",
    "task_args": r"\[\] if __raw is none or \(__raw is string and __raw \| trim \| length == 0\)",
    "rollback_to": r"rollback_to \| default\('', true\)",
    "deploy_reason": r"deploy_reason \| default\('', true\)",
}


def test_optional_questions_are_ones_a_blank_answer_cannot_break():
    optional = {(path, item["variable"]): item for path, item in questions() if not item["required"]}
    assert optional, "the table below is checked through these"
    for (path, var), item in optional.items():
        assert not item.get("min") and "default" not in item, f"{var}: optional, so no min and no default"
        assert var in BLANK_IS_NO_ANSWER, f"{var}: optional, but nothing shows the playbook takes a blank answer"
        assert re.search(BLANK_IS_NO_ANSWER[var], playbook_sources(playbook_of(path))), var


def test_what_the_playbook_requires_the_survey_requires():
    for path in SURVEYS:
        text = playbook_sources(playbook_of(path))
        required = set(re.findall(r"^\s*- (\w+) is defined$", text, re.M))
        for item in load(path)["spec"]:
            if item["variable"] in required:
                assert item["required"], f"{playbook_of(path).name} requires {item['variable']}"


def _listed(playbook, pattern):
    return ast.literal_eval(re.search(pattern, playbook_sources(ROOT / "playbooks" / playbook)).group(1))


BOOLEAN = "boolean"
# For each multiple-choice question: what the playbook (or the module it hands the answer to) accepts.
ACCEPTS = {
    "heroku_log_level": lambda: _listed("deploy_heroku.yml", r"\(heroku_log_level \| default\('INFO'\)\) in (\[[^\]]*\])"),
    "beanstalk_artifact_type": lambda: _listed("deploy_beanstalk.yml", r"__beanstalk_type in (\[[^\]]*\])"),
    "appengine_runtime": lambda: list(RUNTIMES),
    "appengine_promote": lambda: BOOLEAN,
    "appengine_stop_previous": lambda: BOOLEAN,
    "readonly": lambda: BOOLEAN,
    "command_become": lambda: BOOLEAN,
    "confirm": lambda: BOOLEAN,
}
# How the playbook turns the answer into a boolean: the bool filter, or a module option of type bool.
BOOLEAN_USE = {
    "appengine_promote": ("appengine_deploy", "promote"),
    "appengine_stop_previous": ("appengine_deploy", "stop_previous"),
}


def module_option(module, option):
    source = (ROOT / "plugins" / "modules" / f"{module}.py").read_text()
    doc = next(node.value.value for node in ast.parse(source).body
               if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION")
    return yaml.safe_load(doc)["options"][option]


@pytest.mark.parametrize("path, item", questions("multiplechoice", "multiselect"),
                         ids=ids(questions("multiplechoice", "multiselect")))
def test_choices_are_the_values_the_playbook_accepts(path, item):
    var = item["variable"]
    assert var in ACCEPTS, f"{var}: say in ACCEPTS what the playbook accepts"
    accepted = ACCEPTS[var]()
    text = playbook_sources(playbook_of(path))
    if accepted is BOOLEAN:
        if var in BOOLEAN_USE:
            module, option = BOOLEAN_USE[var]
            assert module_option(module, option)["type"] == "bool"
            assert re.search(rf"\b{option}: \"\{{\{{ {var} \| default\([^)]*\) \}}\}}\"", text), (var, option)
            convert = boolean
        else:
            assert re.search(rf"\b{var} \| default\([^)]*\) \| bool\b", text), f"{var} is not read with | bool"
            convert = to_bool
        assert all(c in BOOLEANS_TRUE | BOOLEANS_FALSE for c in item["choices"]), item["choices"]
        assert {convert(c) for c in item["choices"]} == {True, False}, f"{var}: one choice for each answer"
    else:
        assert sorted(item["choices"]) == sorted(accepted), f"{var}: the playbook takes {accepted}"


# Defaults that differ from the playbook's, and why.
OWN_DEFAULTS = {
    "beanstalk_artifact_type": "the execution environment has a JDK but no Jakarta Servlet API for the WAR (docs/awx.md)",
}
# Integer questions: the least value the playbook accepts, and the check that says so.
INTEGER_MIN = {
    "heroku_web_dynos": (0, r"heroku_web_dynos \| default\(1\) \| int >= 0"),
    "command_timeout": (0, r"command_timeout \| default\(0\) \| string is match\('\^\[0-9\]\+\$'\)"),
}


@pytest.mark.parametrize("path, item", [q for q in questions() if "default" in q[1]],
                         ids=ids([q for q in questions() if "default" in q[1]]))
def test_defaults_are_the_playbook_s_own(path, item):
    var = item["variable"]
    literals = set()
    for raw in re.findall(rf"(?<![\w.]){var} \| default\(([^()]*)\)", playbook_sources(playbook_of(path))):
        try:
            literals.add(ast.literal_eval(raw.replace("true", "True").replace("false", "False")))
        except (ValueError, SyntaxError):
            pass  # omit, or a variable: no default of the playbook's own
    assert len(literals) <= 1, f"{var}: the playbook has several defaults {literals}"
    if var in OWN_DEFAULTS:
        assert literals and str(item["default"]) not in {str(v) for v in literals}, f"{var}: now the playbook's own"
        return
    for literal in literals:
        expected = str(literal).lower() if isinstance(literal, bool) else literal
        assert str(item["default"]) == str(expected), f"{var}: the playbook's default is {literal!r}"


@pytest.mark.parametrize("path, item", questions("integer"), ids=ids(questions("integer")))
def test_integer_bounds_are_the_playbook_s(path, item):
    var = item["variable"]
    assert var in INTEGER_MIN, f"{var}: say in INTEGER_MIN what the playbook accepts"
    least, check = INTEGER_MIN[var]
    assert item["min"] == least
    assert re.search(check, playbook_sources(playbook_of(path))), f"{var}: the playbook's check changed"


def test_docs_show_every_survey():
    docs = (ROOT / "docs" / "awx.md").read_text()
    for path in SURVEYS:
        assert f"extensions/awx/{path.name}" in docs, f"docs/awx.md does not mention {path.name}"
