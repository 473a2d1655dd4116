#!/usr/bin/python
# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_app
short_description: Manage a Heroku app, its config vars, buildpacks, formation and maintenance mode
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Creates or deletes a Heroku app (C(heroku apps:create)), and sets its config vars (C(heroku config:set)),
    buildpacks, process formation (C(heroku ps:scale)) and maintenance mode, through the Platform API v3.
  - Every option is checked before anything is changed. Only what differs is sent, so a second run reports no change.
    Config vars go in one request, which makes one release.
  - Config var values never appear in the output or the diff unless O(show_config_values=true); O(config_vars) is
    C(no_log), so values given there stay masked even then.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - jvmops.deploy.heroku
attributes:
  check_mode:
    details: On an app that does not exist yet, O(formation) cannot be checked against its process types.
  diff_mode:
    support: full
    details: Config var values are shown as C(********), with C((changed)) after those that change.
  idempotent:
    support: full
    description: A second run with the same options changes nothing.
options:
  name:
    description:
      - The app's name, as in C(<name>.herokuapp.com). 3 to 30 characters, lower-case letters, digits and dashes,
        starting with a letter and not ending with a dash.
    type: str
    required: true
  state:
    description:
      - V(present) creates the app if needed and sets what the other options give; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  region:
    description:
      - The region of a new app, such as V(us) or V(eu). An existing app in another region is an error, since Heroku
        cannot move an app.
    type: str
  stack:
    description:
      - The stack, such as V(heroku-24). For an existing app this sets the build stack, used from the next build on.
    type: str
  team:
    description:
      - Create the app in this team instead of the personal account. An existing app owned elsewhere is an error.
    type: str
  config_vars:
    description:
      - Config vars to set (name to value). A value of V(null) removes that var. Values are strings; numbers are
        turned into strings, booleans are refused (quote them).
      - Names use letters, digits and underscores and do not start with a digit.
    type: dict
  purge_config_vars:
    description:
      - Remove every config var not in O(config_vars).
    type: bool
    default: false
  show_config_values:
    description:
      - Return config var values in RV(config_vars) and the diff instead of C(********).
    type: bool
    default: false
  buildpacks:
    description:
      - The app's buildpacks, in order, by name (V(heroku/jvm)) or C(http(s)) URL. An empty list removes them all.
    type: list
    elements: str
  formation:
    description:
      - Dyno counts and sizes per process type (C(heroku ps:scale web=2:standard-1X)). Types not listed are left
        alone. A type must be declared by the Procfile of the app's current release.
    type: list
    elements: dict
    suboptions:
      type:
        description: The process type, such as V(web).
        type: str
        required: true
      quantity:
        description: How many dynos (0 stops them), at most 100 (at most 1 of size V(eco)).
        type: int
      size:
        description:
          - The dyno size, such as V(basic), V(standard-1X) or V(performance-M).
          - A size to change to is looked up in the API's dyno sizes first, in check mode too.
        type: str
  maintenance:
    description:
      - Turn maintenance mode on or off (the router then answers every request with a maintenance page).
    type: bool
seealso:
  - module: jvmops.deploy.heroku_deploy
  - module: community.general.heroku_collaborator
"""

EXAMPLES = r"""
- name: Create the app and set its config (heroku apps:create; heroku config:set)
  jvmops.deploy.heroku_app:
    name: glacial-tundra-7926
    region: eu
    buildpacks: [heroku/jvm]
    config_vars:
      AUTH_USER: nico
      AUTH_PASS: "{{ vault_auth_pass }}"
      OLD_SETTING: null

- name: Two web dynos (heroku ps:scale web=2:standard-1X)
  jvmops.deploy.heroku_app:
    name: glacial-tundra-7926
    formation:
      - type: web
        quantity: 2
        size: standard-1X

- name: Maintenance mode during a migration
  jvmops.deploy.heroku_app:
    name: glacial-tundra-7926
    maintenance: true

- name: Delete the app
  jvmops.deploy.heroku_app:
    name: glacial-tundra-7926
    state: absent
"""

RETURN = r"""
app:
  description: The app as the API returns it after the run (before deletion for O(state=absent); predicted in check mode).
  type: dict
  returned: when the app exists or would
  sample: {"name": "glacial-tundra-7926", "web_url": "https://glacial-tundra-7926.herokuapp.com/", "maintenance": false,
           "region": {"name": "eu"}, "stack": {"name": "heroku-24"}}
config_vars:
  description: The app's config vars; values are C(********) unless O(show_config_values=true).
  type: dict
  returned: when O(state=present)
  sample: {"AUTH_USER": "********", "AUTH_PASS": "********"}
buildpacks:
  description: The app's buildpacks, in order (names, or URLs for buildpacks without a registry name).
  type: list
  elements: str
  returned: when O(state=present)
  sample: ["heroku/jvm"]
formation:
  description: The process formation.
  type: list
  elements: dict
  returned: when O(state=present)
  sample: [{"type": "web", "quantity": 2, "size": "Standard-1X", "command": "target/xitrum/script/runner demo.Boot"}]
release:
  description: The app's current release.
  type: dict
  returned: when O(state=present) and the app exists
  sample: {"version": 4, "description": "Set AUTH_USER, AUTH_PASS config vars", "current": true}
"""

import re

from ansible_collections.jvmops.deploy.plugins.module_utils._heroku import (
    APP_NAME, PROCESS_TYPE, SECRET_MASK, HerokuModule, HerokuOptionError, buildpack_problem, check_dyno_size, current_release,
    redact)

CONFIG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Heroku's limits on a process type: at most 100 dynos (the default account limit), one of size eco.
MAX_QUANTITY = 100


def check_options(params):
    """Every problem with the options, each naming the option and the rule."""
    problems = []
    name = params["name"]
    if not APP_NAME.match(name):
        problems.append(f"name: '{name}' is not a Heroku app name (3-30 characters: lower-case letters, digits and "
                        "dashes, starting with a letter and not ending with a dash)")
    for key, value in (params["config_vars"] or {}).items():
        if not CONFIG_NAME.match(key):
            problems.append(f"config_vars: '{key}' is not a config var name (letters, digits and underscores, "
                            "not starting with a digit)")
        if isinstance(value, bool):
            problems.append(f"config_vars: the value of {key} is a boolean; quote it to set the text (\"true\")")
        elif value is not None and not isinstance(value, (str, int, float)):
            problems.append(f"config_vars: the value of {key} must be a string or null, got a {type(value).__name__}")
    seen = set()
    for index, entry in enumerate(params["formation"] or []):
        ptype = entry["type"]
        if not PROCESS_TYPE.match(ptype):
            problems.append(f"formation[{index}].type: '{ptype}' is not a process type name (letters, digits, _ and -)")
        if ptype in seen:
            problems.append(f"formation[{index}].type: '{ptype}' is listed twice")
        seen.add(ptype)
        if entry["quantity"] is not None and entry["quantity"] < 0:
            problems.append(f"formation[{index}].quantity: must be 0 or more, got {entry['quantity']}")
        elif entry["quantity"] is not None and entry["quantity"] > MAX_QUANTITY:
            problems.append(f"formation[{index}].quantity: must be at most {MAX_QUANTITY} (Heroku's limit per process "
                            f"type), got {entry['quantity']}")
        if entry["size"] is not None and not entry["size"].strip():
            problems.append(f"formation[{index}].size: must not be empty")
        if entry["quantity"] is None and entry["size"] is None:
            problems.append(f"formation[{index}]: give quantity, size or both for '{ptype}'")
    for index, pack in enumerate(params["buildpacks"] or []):
        if buildpack_problem(f"buildpacks[{index}]", pack):
            problems.append(buildpack_problem(f"buildpacks[{index}]", pack))
    if params["state"] == "absent":
        given = [opt for opt in ("region", "stack", "team", "config_vars", "buildpacks", "formation", "maintenance")
                 if params[opt] is not None]
        if given:
            problems.append(f"state: absent deletes the app; do not give {', '.join(given)}")
    return problems


def wanted_config(params):
    return {key: (None if value is None else str(value)) for key, value in (params["config_vars"] or {}).items()}


def config_changes(current, params):
    """The PATCH body: vars to set and vars to remove (null)."""
    changes = {}
    wanted = wanted_config(params)
    for key, value in wanted.items():
        if value is None:
            if key in current:
                changes[key] = None
        elif current.get(key) != value:
            changes[key] = value
    if params["purge_config_vars"]:
        for key in current:
            if key not in wanted:
                changes[key] = None
    return changes


def pack_name(installation):
    pack = installation.get("buildpack") or {}
    return pack.get("name") or pack.get("url")


def packs_match(installations, wanted):
    if len(installations) != len(wanted):
        return False
    for installation, name in zip(sorted(installations, key=lambda i: i.get("ordinal", 0)), wanted):
        pack = installation.get("buildpack") or {}
        if name not in (pack.get("name"), pack.get("url")):
            return False
    return True


def formation_updates(formation, params, app_name, app_is_new):
    """The batch update body entries, or raise HerokuOptionError (a ValueError) naming the option."""
    by_type = {f["type"]: f for f in formation}
    updates = []
    for index, entry in enumerate(params["formation"] or []):
        current = by_type.get(entry["type"])
        if current is None:
            if app_is_new:
                update = {"type": entry["type"]}
                if entry["quantity"] is not None:
                    update["quantity"] = entry["quantity"]
                if entry["size"] is not None:
                    update["dyno_size"] = {"name": entry["size"]}
                updates.append(update)
                continue
            declared = ", ".join(sorted(by_type)) or "none: deploy a build with a Procfile first"
            raise HerokuOptionError(f"formation[{index}].type", f"app '{app_name}' has no process type '{entry['type']}' "
                                    f"in its current release (it has: {declared})")
        quantity = entry["quantity"] if entry["quantity"] is not None else current.get("quantity") or 0
        if (entry["size"] or formation_size(current)).lower() == "eco" and quantity > 1:
            raise HerokuOptionError(f"formation[{index}].quantity", f"at most 1 dyno of size eco per process type, got "
                                                                    f"{quantity} for '{entry['type']}'")
        update = {}
        if entry["quantity"] is not None and entry["quantity"] != current.get("quantity"):
            update["quantity"] = entry["quantity"]
        if entry["size"] is not None and entry["size"].lower() != formation_size(current).lower():
            update["dyno_size"] = {"name": entry["size"]}
        if update:
            update["type"] = entry["type"]
            updates.append(update)
    return updates


def formation_size(entry):
    return str((entry.get("dyno_size") or {}).get("name") or entry.get("size") or "")


def formation_view(formation):
    return [{"type": f["type"], "quantity": f.get("quantity"), "size": formation_size(f), "command": f.get("command")}
            for f in sorted(formation, key=lambda f: f["type"])]


def diff_view(app, config, changed_keys, show, buildpacks, formation):
    if app is None:
        return {}
    if show:
        shown = dict(config)
    else:
        shown = {key: SECRET_MASK + (" (changed)" if key in changed_keys else "") for key in config}
    return {
        "name": app.get("name"),
        "region": (app.get("region") or {}).get("name"),
        "stack": (app.get("build_stack") or app.get("stack") or {}).get("name"),
        "maintenance": app.get("maintenance"),
        "config_vars": dict(sorted(shown.items())),
        "buildpacks": list(buildpacks),
        "formation": {f["type"]: {"quantity": f.get("quantity"), "size": formation_size(f)} for f in formation},
    }


def read_settings(client, name):
    """The app's config vars, buildpack installations and formation."""
    config = client.get("/apps/{app}/config-vars", app=name) or {}
    installations = client.get("/apps/{app}/buildpack-installations", app=name) or []
    return config, installations, client.list("/apps/{app}/formation", app=name)


def present(module, client):
    params = module.params
    name = params["name"]
    app = client.get_or_none("/apps/{app}", app=name)
    changed = False
    app_is_new = app is None
    if app_is_new and params["formation"] and not module.check_mode:
        raise HerokuOptionError("formation", f"app '{name}' does not exist yet, so it has no process types to scale; "
                                             "create it, deploy a build with a Procfile (jvmops.deploy.heroku_deploy), "
                                             "then set the formation")

    # Read everything and decide, before any write.
    if app is not None:
        region = (app.get("region") or {}).get("name")
        if params["region"] and params["region"] not in (region, (app.get("region") or {}).get("id")):
            raise HerokuOptionError("region", f"app '{name}' is in region '{region}'; Heroku cannot move an app to "
                                              f"'{params['region']}' (create a new app)")
        team = (app.get("team") or {}).get("name")
        if params["team"] and params["team"] != team:
            raise HerokuOptionError("team", f"app '{name}' belongs to {('team ' + repr(team)) if team else 'a personal account'}, "
                                            f"not team '{params['team']}'; transfer it first")
        config, installations, formation = read_settings(client, name)
    else:
        config, installations, formation = {}, [], []

    changes = config_changes(config, params)
    set_packs = params["buildpacks"] is not None and not packs_match(installations, params["buildpacks"])
    updates = formation_updates(formation, params, name, app_is_new)
    resized = {update["type"] for update in updates if "dyno_size" in update}
    for index, entry in enumerate(params["formation"] or []):
        if entry["type"] in resized:
            check_dyno_size(client, entry["size"], f"formation[{index}].size")
    app_patch = {}
    if app is not None:
        if params["maintenance"] is not None and params["maintenance"] != app.get("maintenance"):
            app_patch["maintenance"] = params["maintenance"]
        build_stack = (app.get("build_stack") or {}).get("name")
        if params["stack"] and params["stack"] not in (build_stack, (app.get("build_stack") or {}).get("id")):
            app_patch["build_stack"] = params["stack"]

    before_packs = [pack_name(i) for i in sorted(installations, key=lambda i: i.get("ordinal", 0))]
    before = diff_view(app, config, set(), params["show_config_values"], before_packs, formation)

    if module.check_mode:
        changed = app_is_new or bool(changes or set_packs or updates or app_patch)
        if app is None:
            app = {"name": name, "region": {"name": params["region"] or "us"}, "stack": {"name": params["stack"] or "heroku-24"},
                   "build_stack": {"name": params["stack"] or "heroku-24"}, "maintenance": bool(params["maintenance"]),
                   "team": {"name": params["team"]} if params["team"] else None, "web_url": None}
        else:
            app = dict(app)
            if "maintenance" in app_patch:
                app["maintenance"] = app_patch["maintenance"]
            if "build_stack" in app_patch:
                app["build_stack"] = {"name": app_patch["build_stack"]}
        new_config = {k: v for k, v in {**config, **changes}.items() if v is not None}
        packs = list(params["buildpacks"]) if set_packs else before_packs
        by_type = {f["type"]: dict(f) for f in formation}
        for update in updates:
            by_type.setdefault(update["type"], {"type": update["type"]}).update(update)
        new_formation = list(by_type.values())
        release = None if app_is_new else current_release(client, name)
    else:
        if app is None:
            body = {"name": name, **{key: params[key] for key in ("region", "stack", "team") if params[key]}}
            app = client.post("/teams/apps" if params["team"] else "/apps", body, app=name)
            changed = True
            if params["maintenance"]:
                app_patch["maintenance"] = True
        if app_patch:
            app = client.patch("/apps/{app}", app_patch, app=name)
            changed = True
        if changes:
            client.patch("/apps/{app}/config-vars", changes, app=name)
            changed = True
        if set_packs:
            client.put("/apps/{app}/buildpack-installations", {"updates": [{"buildpack": b} for b in params["buildpacks"]]},
                       app=name)
            changed = True
        if updates:
            client.patch("/apps/{app}/formation", {"updates": updates}, app=name)
            changed = True
        # Read back what is really there.
        app = client.get("/apps/{app}", app=name)
        new_config, installations, new_formation = read_settings(client, name)
        packs = [pack_name(i) for i in sorted(installations, key=lambda i: i.get("ordinal", 0))]
        release = current_release(client, name)

    result = {
        "app": app,
        "config_vars": redact(new_config, params["show_config_values"]),
        "buildpacks": packs,
        "formation": formation_view(new_formation),
    }
    if release is not None:
        result["release"] = release
    if module._diff:
        result["diff"] = {
            "before": before,
            "after": diff_view(app, new_config, set(changes), params["show_config_values"], packs, new_formation),
        }
    return changed, result


def absent(module, client):
    name = module.params["name"]
    app = client.get_or_none("/apps/{app}", app=name)
    if app is None:
        return False, {"diff": {"before": {}, "after": {}}} if module._diff else {}
    if not module.check_mode:
        client.delete("/apps/{app}", app=name)
    result = {"app": app}
    if module._diff:
        result["diff"] = {"before": {"name": name}, "after": {}}
    return True, result


def main():
    module = HerokuModule(argument_spec={
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "region": {"type": "str"},
        "stack": {"type": "str"},
        "team": {"type": "str"},
        "config_vars": {"type": "dict", "no_log": True},
        "purge_config_vars": {"type": "bool", "default": False},
        "show_config_values": {"type": "bool", "default": False},
        "buildpacks": {"type": "list", "elements": "str"},
        "formation": {"type": "list", "elements": "dict", "options": {
            "type": {"type": "str", "required": True},
            "quantity": {"type": "int"},
            "size": {"type": "str"},
        }},
        "maintenance": {"type": "bool"},
    }, check_options=check_options, supports_check_mode=True)
    module.run(present if module.params["state"] == "present" else absent)


if __name__ == "__main__":
    main()
