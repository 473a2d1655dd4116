# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write each role's README.md from its meta/argument_specs.yml (the single source of its variables).

    python hacking/role_readmes.py          rewrite the READMEs
    python hacking/role_readmes.py --check  exit 1 if any README is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parent.parent / "roles"


def plain(text):
    """Ansible doc markup to Markdown: C(x)/O(x)/V(x) -> `x`, M(x) -> x, I(x) -> *x*."""
    text = " ".join(text) if isinstance(text, list) else str(text)
    text = re.sub(r"\b[COV]\(([^)]*)\)", r"`\1`", text)
    text = re.sub(r"\bM\(([^)]*)\)", r"\1", text)
    return re.sub(r"\bI\(([^)]*)\)", r"*\1*", text)


def cell(value):
    return plain(value).replace("|", "\\|")


def variables(entry):
    """The Markdown table of one entry point's options."""
    lines = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, option in entry.get("options", {}).items():
        default = option.get("default", "(required)" if option.get("required") else "see defaults/main.yml")
        default = f"`{default}`" if not str(default).startswith(("(", "see")) else default
        kind = option.get("type", "str") + (f" of {option['elements']}" if option.get("elements") else "")
        choices = f" One of: {', '.join(map(str, option['choices']))}." if option.get("choices") else ""
        lines.append(f"| `{name}` | {kind} | {cell(default)} | {cell(option.get('description', ''))}{choices} |")
    return lines


def render(role, spec):
    entries = spec["argument_specs"]
    main = entries["main"]
    lines = [f"# jvmops.deploy.{role}", "", plain(main.get("short_description", "")), ""]
    lines += [plain(main.get("description", "")), ""] if main.get("description") else []
    lines += ["## Variables", "", *variables(main)]
    # Other entry points (include_role with tasks_from), each with its own variables.
    for name, entry in entries.items():
        if name == "main":
            continue
        lines += ["", f"## Entry point `{name}`", "", plain(entry.get("short_description", "")), ""]
        lines += [plain(entry.get("description", "")), ""] if entry.get("description") else []
        lines += ["```yaml", "- ansible.builtin.include_role:", f"    name: jvmops.deploy.{role}", f"    tasks_from: {name}", "```", ""]
        lines += variables(entry) if entry.get("options") else ["It takes no variables."]
    lines += ["", "## Example", "", "```yaml", "- hosts: all", "  roles:", f"    - role: jvmops.deploy.{role}", "```", "",
              "This file is generated from `meta/argument_specs.yml` by `hacking/role_readmes.py`.", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for spec_file in sorted(ROLES.glob("*/meta/argument_specs.yml")):
        role = spec_file.parent.parent.name
        text = render(role, yaml.safe_load(spec_file.read_text()))
        readme = spec_file.parent.parent / "README.md"
        if not readme.exists() or readme.read_text() != text:
            stale.append(str(readme.relative_to(ROLES.parent)))
            if not args.check:
                readme.write_text(text)
    if args.check and stale:
        print("out of date (run python hacking/role_readmes.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
