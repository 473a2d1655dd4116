# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provide the pip bootstrap script that `ansible-test --venv` expects in its cache.

ansible-test bootstraps pip in each virtual environment with a get-pip script it downloads from
the Ansible CI file host, which not every build machine reaches. It uses a cached copy when one is
present (~/.ansible/test/cache/get_pip_<version>.py). This writes that copy: a script that runs the
pip wheel of the same version, taken from PyPI, exactly as get-pip does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from ansible_test._internal.python_requirements import get_venv_packages

SCRIPT = '''\
# Written by jvmops.deploy hacking/ansible_test_pip.py: get-pip for pip {version}, from its PyPI wheel.
import sys
sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--no-cache-dir"] + args))
'''


def main():
    version = get_venv_packages(SimpleNamespace(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"]
    cache = Path.home() / ".ansible" / "test" / "cache"
    script = cache / f"get_pip_{version.replace('.', '_')}.py"
    wheel = cache / f"pip-{version}-py3-none-any.whl"
    if script.exists() and wheel.exists():
        return 0
    cache.mkdir(parents=True, exist_ok=True)
    if not wheel.exists():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "-d", str(cache), f"pip=={version}"],
            check=False, capture_output=True, text=True,
        )
        if result.returncode != 0 or not wheel.exists():
            print(f"ansible_test_pip: could not download pip {version} from PyPI:\n{result.stderr}", file=sys.stderr)
            return 1
    script.write_text(SCRIPT.format(version=version, wheel=str(wheel)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
