# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one secret-leak scanner of the tests: which secrets show up in which logs.

Used by the test harness (hacking/run_tests.py, through tests/heroku_fake/control.py) and by the
integration targets' shell scripts:

    python tests/leaks.py --secret 'the API key=HEROKU_API_KEY' --text 'a config var value=jvmops-secret-' FILE...

--secret LABEL=VARIABLE takes the secret from an environment variable, so it never stands in a command
line; --text LABEL=TEXT is for markers that are not secret themselves (a prefix every test secret
carries). It prints one line per secret found, naming the label and the file, never the secret, and
exits 1 when any was found, 2 on a usage error, 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def find_leaks(secrets, sources):
    """[(label, source name)] for every secret that occurs in a source.

    secrets: {label: text}; empty texts are ignored (an unset secret cannot leak).
    sources: {name: text or pathlib.Path}; an unreadable file counts as empty.
    """
    found = []
    for name, source in sources.items():
        if isinstance(source, Path):
            try:
                source = source.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        for label, secret in secrets.items():
            if secret and secret in source:
                found.append((label, name))
    return found


def _pair(value):
    label, sep, rest = value.partition("=")
    if not sep or not label or not rest:
        raise argparse.ArgumentTypeError(f"expected LABEL=VALUE, got '{value.split('=')[0]}...'")
    return label, rest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", type=_pair, action="append", default=[], metavar="LABEL=VARIABLE",
                        help="a secret read from the environment variable VARIABLE")
    parser.add_argument("--text", type=_pair, action="append", default=[], metavar="LABEL=TEXT",
                        help="a marker text that must not appear")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    secrets = {}
    for label, variable in args.secret:
        if not os.environ.get(variable):
            parser.error(f"--secret {label}: the environment variable {variable} is not set")
        secrets[label] = os.environ[variable]
    secrets.update(args.text)
    leaks = find_leaks(secrets, {str(path): path for path in args.files})
    for label, name in leaks:
        print(f"leak: {label} in {name}")
    if not leaks:
        print(f"no secret in {len(args.files)} files")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
