# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment, through ansible-builder 3's own code (ansible-builder is pinned in requirements-dev.txt).

Two files:
- meta/execution-environment.yml: what the collection asks of every execution environment that installs it. ansible-builder
  reads it from each installed collection and follows its `python` and `system` entries, files relative to the
  collection root (an inline list there is not supported: its introspection takes the values as paths);
- extensions/ee/execution-environment.yml: the EE users build for AWX, from the built collection tarball.

What is checked: `ansible-builder create` on the EE definition writes a Containerfile and a build context that install
ansible-core and ansible-runner at the tested versions and the collection from its tarball; the context's own galaxy
requirements install that tarball when run from the context as the galaxy stage runs them; ansible-builder's own
introspection script, run from the context on those installed collections as the builder stage runs it, finds every
Python and system package the collection declares, and the installed tarball still holds the files it names; the
Python requirements cover every library the plugins import (parsed with `ast`), and name nothing they no longer import.

Not done: `ansible-builder build`. The image build pulls the base image (quay.io) and installs from PyPI, Galaxy and the
CentOS Stream mirrors; the test machines reach none of those but PyPI, and have no container runtime to spare. Galaxy
is stood in for by tarballs of the dependencies made from the `ansible` package's bundled copies (test_build.py).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The tarball helpers of the build stage: the same build, and the same stand-in for Galaxy.
from test_build import BIN, TREE, VERSION, bundled_collection_tarball, run  # noqa: E402  pylint: disable=wrong-import-position

EE_FILE = TREE / "extensions" / "ee" / "execution-environment.yml"
META_FILE = TREE / "meta" / "execution-environment.yml"
TARBALL = f"jvmops-deploy-{VERSION}.tar.gz"
# The source tree (on PYTHONPATH for the unit tests) must not stand in for the installed copies.
ENV = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ANSIBLE_COLLECTIONS_PATH")}
# ... and neither must the `ansible` package's bundled collections, which ansible-galaxy would take as installed.
ENV.update(ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", PATH=f"{BIN}:{os.environ.get('PATH', '')}")

# Third-party imports of plugins that run on the managed hosts only, never in the execution environment, and why.
ON_MANAGED_HOSTS = {
    "pymysql": ({"plugins/modules/service_check.py"},
                "service_check's type=mysql logs in from the monitored host, which needs PyMySQL (python3-pymysql)"),
}


def meta():
    return yaml.safe_load(META_FILE.read_text())


def ee_requirements():
    """{canonical name: Requirement} of the collection's Python requirements file."""
    path = TREE / meta()["dependencies"]["python"]
    reqs = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            reqs[canonicalize_name(req.name)] = req
    return reqs


def dev_pins():
    """{canonical name: version} pinned in requirements-dev.txt for this Python."""
    pins = {}
    for line in (TREE / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            (spec,) = req.specifier
            pins[canonicalize_name(req.name)] = spec.version
    return pins


# -- what the plugins import ---------------------------------------------------------------------------------------

def plugin_imports():
    """{dotted name: {files}} of every absolute import in plugins/ that is neither the standard library nor a
    collection; `from a.b import c` gives a.b.c, which is a module or else falls back to a.b when resolved."""
    found = {}
    for path in sorted(TREE.glob("plugins/**/*.py")):
        rel = str(path.relative_to(TREE))
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("__future__", "ansible_collections"):
                    continue
                found.setdefault(name, set()).add(rel)
    return found


def module_owners(tops):
    """{'google/cloud/storage': distribution} for the Python modules and packages of the installed distributions
    (the dev venv, which requirements-dev.txt pins) under the given top-level names."""
    owners = {}
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        for file in dist.files or ():
            if file.parts and file.parts[0] in tops and file.suffix == ".py":
                module = "/".join(file.parts)[:-3]
                owners.setdefault(module.removesuffix("/__init__"), name)
    return owners


def owner(dotted, owners):
    parts = dotted.split(".")
    while parts:
        if "/".join(parts) in owners:
            return owners["/".join(parts)]
        parts.pop()
    return None


def ansible_core_provides():
    """ansible-core and what it requires: in every execution environment (PyYAML, Jinja2, ...)."""
    names = {"ansible-core"}
    for line in importlib.metadata.requires("ansible-core") or ():
        names.add(canonicalize_name(Requirement(line).name))
    return names


def imported_distributions():
    """({distribution: {files}}, {unresolved import: {files}}) for the plugins' third-party imports."""
    imports = plugin_imports()
    owners = module_owners({name.split(".")[0] for name in imports})
    dists, unresolved = {}, {}
    for name, files in imports.items():
        dist = owner(name, owners)
        if dist is None:
            unresolved.setdefault(name.split(".")[0], set()).update(files)
        else:
            dists.setdefault(dist, set()).update(files)
    return dists, unresolved


def test_python_requirements_cover_every_library_the_plugins_import():
    dists, unresolved = imported_distributions()
    # The resolution works: the libraries the cloud modules are known to use are found.
    assert {"boto3", "botocore", "google-cloud-storage", "google-cloud-appengine-admin"} <= set(dists)
    # ansible's own imports (and PyYAML) resolve to ansible-core, which every EE has.
    assert dists.get("ansible-core") and "pyyaml" in ansible_core_provides()
    declared = set(ee_requirements())
    provided = ansible_core_provides()
    missing = {dist: sorted(files) for dist, files in dists.items() if dist not in declared | provided}
    assert not missing, f"{meta()['dependencies']['python']} lacks packages the plugins import: {missing}"
    unknown = {top: sorted(files) for top, files in unresolved.items()
               if top not in ON_MANAGED_HOSTS or not files <= ON_MANAGED_HOSTS[top][0]}
    assert not unknown, ("imports that no package of the dev venv provides (pin it in requirements-dev.txt, and "
                         f"list it in the EE requirements unless it runs on managed hosts only): {unknown}")
    stale = sorted(declared - set(dists))
    assert not stale, f"{meta()['dependencies']['python']} names packages no plugin imports: {stale}"


def test_python_requirements_are_lower_bounds_at_the_tested_versions():
    pins = dev_pins()
    for name, req in ee_requirements().items():
        (spec,) = req.specifier
        # No caps and no pins: an EE merges these with other collections' requirements.
        assert spec.operator == ">=", f"{req}: a collection's EE requirement is a lower bound only"
        assert name in pins, f"{req}: not pinned in requirements-dev.txt, so never tested"
        assert spec.version == pins[name], f"{req}: the tests run {name}=={pins[name]}"


def test_managed_host_imports_stay_out_of_the_ee_requirements():
    declared = set(ee_requirements())
    for top, (files, _why) in ON_MANAGED_HOSTS.items():
        assert canonicalize_name(top) not in declared
        for rel in files:
            assert re.search(rf"^\s*import {top}\b", (TREE / rel).read_text(), re.M), f"{rel} no longer imports {top}"


def test_meta_file_names_requirement_files_the_way_ansible_builder_reads_them():
    data = meta()
    # A version 3 definition as ansible-lint validates it; ansible-builder's introspection reads only `dependencies`.
    assert data["version"] == 3
    assert set(data) == {"version", "dependencies"}
    assert set(data["dependencies"]) == {"python", "system"}
    for entry in data["dependencies"].values():
        # ansible-builder takes each value as a file path relative to the collection root (not a list).
        assert isinstance(entry, str) and not Path(entry).is_absolute()
        assert (TREE / entry).is_file()


def test_system_requirements_give_the_builds_on_the_controller_a_jdk():
    import bindep.depends  # pylint: disable=import-outside-toplevel

    deps = bindep.depends.Depends((TREE / meta()["dependencies"]["system"]).read_text())
    needed = int(re.search(r'"\$major" -lt (\d+)', (TREE / "examples/hello-jvm/build.sh").read_text()).group(1))
    rpm = deps.list_all_packages(deps.active_rules(["platform:rpm", "platform:redhat", "platform:centos"]))
    dpkg = deps.list_all_packages(deps.active_rules(["platform:dpkg", "platform:debian"]))
    # ansible-builder installs the rpm ones with dnf; javac and jar are in the -devel package.
    jdk_rpm = [int(m.group(1)) for m in map(re.compile(r"^java-(\d+)-openjdk-devel$").match, rpm) if m]
    jdk_dpkg = [int(m.group(1)) for m in map(re.compile(r"^openjdk-(\d+)-jdk(?:-headless)?$").match, dpkg) if m]
    assert jdk_rpm and min(jdk_rpm) >= needed, rpm
    assert jdk_dpkg and min(jdk_dpkg) >= needed, dpkg
    assert "findutils" in rpm


# -- ansible-builder create on the EE definition ------------------------------------------------------------------

def ansible_core_pin_for(python):
    """The ansible-core version requirements-dev.txt pins for the given Python version (such as '3.12')."""
    for line in (TREE / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("ansible-core=="):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"python_version": python}):
                return str(req.specifier).removeprefix("==")
    raise AssertionError(f"requirements-dev.txt pins no ansible-core for Python {python}")


@pytest.fixture(scope="module", name="context")
def context_fixture(tmp_path_factory):
    """The EE definition beside a freshly built tarball, as docs/awx.md builds it, and `ansible-builder create`'s
    build context for it."""
    work = tmp_path_factory.mktemp("ee")
    env_dir = work / "ee"
    env_dir.mkdir()
    shutil.copy(EE_FILE, env_dir)
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", env_dir, TREE], work, ENV)
    assert (env_dir / TARBALL).is_file()
    run([BIN / "ansible-builder", "create", "-f", env_dir / EE_FILE.name, "-c", work / "context",
         "--output-filename", "Containerfile"], work, ENV)
    return {"work": work, "tarball": env_dir / TARBALL, "context": work / "context",
            "definition": yaml.safe_load(EE_FILE.read_text())}


def stages(containerfile):
    """{stage name: [lines]} of a multi-stage Containerfile ('' for the ARG lines before the first FROM)."""
    result, current = {"": []}, ""
    for line in containerfile.splitlines():
        match = re.match(r"FROM \S+ AS (\w+)$", line)
        if match:
            current = match.group(1)
            result[current] = []
        elif line.strip():
            result[current].append(line)
    return result


def test_containerfile_installs_the_tested_ansible_core_and_runner(context):
    definition = context["definition"]
    text = (context["context"] / "Containerfile").read_text()
    deps = definition["dependencies"]
    python = re.search(r"python(\d+\.\d+)$", deps["python_interpreter"]["python_path"]).group(1)
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in text
    assert f'ARG PYCMD="{deps["python_interpreter"]["python_path"]}"' in text
    assert f'ARG PYPKG="{deps["python_interpreter"]["package_system"]}"' in text
    runner = dev_pins()["ansible-runner"]
    assert f'ARG ANSIBLE_INSTALL_REFS="ansible-core=={ansible_core_pin_for(python)} ansible-runner=={runner}"' in text
    base = stages(text)["base"]
    assert "RUN $PKGMGR install $PYPKG -y ; if [ -z $PKGMGR_PRESERVE_CACHE ]; then $PKGMGR clean all; fi" in base
    assert "RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS" in base


def test_containerfile_installs_the_collections_and_their_requirements(context):
    parts = stages((context["context"] / "Containerfile").read_text())
    assert {"base", "galaxy", "builder", "final"} <= set(parts)
    galaxy = parts["galaxy"]
    # The build context's _build (requirements.yml and the tarball) becomes /build, the galaxy stage's working directory.
    assert galaxy.index("COPY _build /build") < galaxy.index("WORKDIR /build")
    assert any(re.match(r'RUN .*ansible-galaxy collection install \$ANSIBLE_GALAXY_CLI_COLLECTION_OPTS .*-r requirements\.yml '
                        r'--collections-path "/usr/share/ansible/collections"$', line) for line in galaxy), galaxy
    # The builder stage collects every installed collection's Python and system requirements ...
    builder = parts["builder"]
    assert "COPY --from=galaxy /usr/share/ansible /usr/share/ansible" in builder
    assert any(line.startswith("RUN $PYCMD /output/scripts/introspect.py introspect ") and
               "--write-pip=/tmp/src/requirements.txt" in line and "--write-bindep=/tmp/src/bindep.txt" in line
               for line in builder), builder
    assert "RUN /output/scripts/assemble" in builder
    # ... and the final image gets the collections, the wheels and the system packages.
    final = parts["final"]
    assert "COPY --from=galaxy /usr/share/ansible /usr/share/ansible" in final
    assert any(line.startswith("RUN /output/scripts/install-from-bindep") for line in final)


def test_build_context_holds_the_built_tarball_and_names_it(context):
    build = context["context"] / "_build"
    copied = build / "collections" / TARBALL
    assert copied.is_file(), sorted(str(p.relative_to(build)) for p in build.rglob("*"))
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (copied, context["tarball"])]
    assert digest[0] == digest[1]
    requirements = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    # The collection from its tarball, and what it depends on at galaxy.yml's own constraints.
    assert requirements[0] == {"name": f"collections/{TARBALL}", "type": "file"}
    dependencies = yaml.safe_load((TREE / "galaxy.yml").read_text())["dependencies"]
    assert {entry["name"]: entry["version"] for entry in requirements[1:]} == dependencies
    # The EE installs no Python or system package of its own: all of them come from the collections.
    assert not (build / "requirements.txt").exists() and not (build / "bindep.txt").exists()
    for script in ("introspect.py", "assemble", "install-from-bindep", "check_ansible", "check_galaxy"):
        assert (build / "scripts" / script).is_file()


@pytest.fixture(scope="module", name="introspected")
def introspected_fixture(context):
    """The galaxy stage's install, run from the context as the stage runs it, then the builder stage's introspection of
    what it installed, with the context's own script.

    Galaxy is out of reach: each entry that names a collection on Galaxy is checked against the version the `ansible`
    package bundles (with ansible-galaxy's own version matching) and replaced by a tarball of that copy; the install
    runs --offline, and --no-deps with the dependencies' own dependencies installed the same way."""
    build = context["context"] / "_build"
    collections = context["work"] / "usr-share-ansible-collections"
    offline, pending = [], []
    for entry in yaml.safe_load((build / "requirements.yml").read_text())["collections"]:
        if entry.get("type") == "file":
            offline.append(entry)
            continue
        tarball, version, requires = bundled_collection_tarball(entry["name"], context["work"])
        assert meets_requirements(version, entry["version"]), f"{entry}: the tested copy is {version}"
        offline.append({"name": str(tarball), "type": "file"})
        pending.extend(requires)
    (build / "requirements-offline.yml").write_text(yaml.safe_dump({"collections": offline}))
    run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-r", "requirements-offline.yml",
         "--collections-path", collections], build, ENV)
    seen = {entry["name"] for entry in yaml.safe_load((build / "requirements.yml").read_text())["collections"]}
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            tarball, _version, requires = bundled_collection_tarball(name, context["work"])
            run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--collections-path",
                 collections, tarball], context["work"], ENV)
            pending.extend(requires)
    pip, bindep = context["work"] / "requirements.txt", context["work"] / "bindep.txt"
    run([sys.executable, build / "scripts" / "introspect.py", "introspect", collections,
         f"--write-pip={pip}", f"--write-bindep={bindep}"], context["work"], ENV)
    return {"collections": collections, "pip": pip.read_text(), "bindep": bindep.read_text()}


def test_galaxy_requirements_of_the_context_install_the_collection(introspected):
    root = introspected["collections"] / "ansible_collections" / "jvmops" / "deploy"
    manifest = yaml.safe_load((root / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == VERSION
    for name in yaml.safe_load((TREE / "galaxy.yml").read_text())["dependencies"]:
        assert (introspected["collections"] / "ansible_collections" / name.replace(".", "/") / "MANIFEST.json").is_file()
    # The installed copy still holds the files meta/execution-environment.yml names (none is in build_ignore).
    assert (root / "meta" / "execution-environment.yml").is_file()
    for entry in meta()["dependencies"].values():
        assert (root / entry).read_text() == (TREE / entry).read_text()


def test_introspection_finds_every_python_and_system_requirement_of_the_collection(introspected):
    # One line a requirement, annotated with the collection it comes from; pip combines them when it installs.
    lines = {}
    for line in introspected["pip"].splitlines():
        requirement, marker, source = line.partition("  # from collection ")
        if marker:
            lines.setdefault(source.strip(), []).append(str(Requirement(requirement)))
    assert sorted(lines["jvmops.deploy"]) == sorted(str(req) for req in ee_requirements().values()), introspected["pip"]
    # The dependencies' own requirements come in too: amazon.aws asks for boto3 as well.
    assert any(Requirement(line).name == "boto3" for line in lines.get("amazon.aws", [])), introspected["pip"]
    system = [line.partition("  # from collection ")[0] for line in introspected["bindep"].splitlines()
              if line.endswith("# from collection jvmops.deploy")]
    assert "java-17-openjdk-devel [platform:rpm]" in system, introspected["bindep"]
    assert len(system) == len([line for line in (TREE / meta()["dependencies"]["system"]).read_text().splitlines()
                               if line.strip() and not line.startswith("#")])
