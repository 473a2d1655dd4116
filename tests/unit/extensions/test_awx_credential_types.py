# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential types: well-formed, and injecting what the modules read."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import heroku_argument_spec

ROOT = Path(__file__).resolve().parents[3]
FIELD = re.compile(r"^\{\{ ?(\w+) ?\}\}$")


def load(name):
    return yaml.safe_load((ROOT / "extensions" / "awx" / name).read_text())


def test_heroku_credential_type_injects_the_variables_the_modules_read():
    cred = load("heroku_credential_type.yml")
    assert cred["kind"] == "cloud"
    fields = {f["id"]: f for f in cred["inputs"]["fields"]}
    assert fields["api_key"]["secret"] is True
    assert cred["inputs"]["required"] == ["api_key"]
    env = cred["injectors"]["env"]
    # Every injected value is one input field, and nothing else is injected.
    assert {name: FIELD.match(value).group(1) for name, value in env.items()} == {
        "HEROKU_API_KEY": "api_key", "HEROKU_API_URL": "api_url"}
    spec = heroku_argument_spec()
    assert spec["api_key"]["fallback"][1] == ["HEROKU_API_KEY"]
    assert spec["api_key"]["no_log"] is True
    assert spec["api_url"]["fallback"][1] == ["HEROKU_API_URL"]
