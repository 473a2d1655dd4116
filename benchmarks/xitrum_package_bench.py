# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark jvmops.deploy.xitrum_package against cp -a and rsync -a on a generated project.

    python benchmarks/xitrum_package_bench.py [--jars 500] [--files 5000] [--runs 5] [--dir DIR]

Generates a project (random-byte jars of 50-200 KB, public files of 1-20 KB in nested directories)
and prints, each the median of --runs runs measured in the same process with warm caches, the
two sides interleaved so that both see the same machine load:

1. first package, the core called directly, against cp -a of the same inputs into an empty directory;
2. a no-change re-run of the core against a no-op rsync -a of the same tree;
3. the module's copy loop (copy_file) and shutil.copy2 followed by a sha256 of the copy, both copying
   one file at a time through a temporary file, each against cp -a: the hand-written loop stays only
   while it is clearly the faster;
4. the first two again through the whole Ansible task (ansible localhost -m jvmops.deploy.xitrum_package).

The working directory defaults to /dev/shm (tmpfs) when it is there, so that the numbers measure
the code rather than the disk; pass --dir /tmp (or any directory) to include the disk.
Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN_CLASS = "quickstart.Boot"
TARGET_FIRST = 1.5
TARGET_NOOP = 2.0
TARGET_COPY = 0.9  # the hand-written copy loop must be clearly faster than shutil's


def generate(root, jars, files, seed=20260101):
    """The project: target/app.jar, lib_managed/jars/*.jar, config/*, public/**."""
    rnd = random.Random(seed)
    os.makedirs(os.path.join(root, "target"))
    os.makedirs(os.path.join(root, "lib_managed", "jars"))
    with open(os.path.join(root, "target", "app.jar"), "wb") as handle:
        handle.write(rnd.randbytes(300_000))
    for i in range(jars):
        with open(os.path.join(root, "lib_managed", "jars", "dep%04d-1.0.jar" % i), "wb") as handle:
            handle.write(rnd.randbytes(rnd.randint(50_000, 200_000)))
    for i in range(files):
        folder = os.path.join(root, "public", "assets%02d" % (i % 25), "part%d" % (i % 8))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "file%05d.dat" % i), "wb") as handle:
            handle.write(rnd.randbytes(rnd.randint(1_000, 20_000)))
    os.makedirs(os.path.join(root, "config"))
    for name in ("xitrum.conf", "application.conf", "logback.xml"):
        with open(os.path.join(root, "config", name), "w", encoding="utf-8") as handle:
            handle.write("# %s\n" % name)


def package_args(project, dest):
    return {"project_dir": project, "dest": dest, "main_jar": "target/app.jar",
            "jars": ["lib_managed/jars/*.jar"], "main_class": MAIN_CLASS, "jvm_options": ["-Xmx1g"]}


def sources(project):
    return [os.path.join(project, "target", "app.jar"), os.path.join(project, "lib_managed", "jars"),
            os.path.join(project, "public"), os.path.join(project, "config")]


def timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.sync()


def collection_tree(work):
    """A copy of this checkout's plugins as ansible_collections/jvmops/deploy, for the ansible runs."""
    root = os.path.join(work, "collections")
    tree = os.path.join(root, "ansible_collections", "jvmops", "deploy")
    shutil.copytree(os.path.join(REPO, "plugins"), os.path.join(tree, "plugins"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("galaxy.yml", os.path.join("meta", "runtime.yml")):
        if os.path.exists(os.path.join(REPO, name)):
            os.makedirs(os.path.dirname(os.path.join(tree, name)), exist_ok=True)
            shutil.copy(os.path.join(REPO, name), os.path.join(tree, name))
    return root


def ansible_runner(collections, project, dest):
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    if not os.path.exists(ansible):
        ansible = shutil.which("ansible")
    if not ansible:
        return None
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    command = [ansible, "localhost", "-c", "local", "-i", "localhost,",
               "-e", "ansible_python_interpreter=%s" % sys.executable,
               "-m", "jvmops.deploy.xitrum_package", "-a", json.dumps(package_args(project, dest))]

    def run():
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)

    return run


def line(label, ours, other_label, other, target):
    ratio = ours / other
    goal = " (target <= %.1f)" % target if target else ""
    print("%s: %.3fs vs %s %.3fs -> ratio %.2f%s" % (label, ours, other_label, other, ratio, goal))
    return ratio


def copy_jobs(project, out):
    """(source, destination, stat) for every file of the project, the destination folders made."""
    jobs = []
    for top, _dirs, files in os.walk(project):
        folder = os.path.join(out, os.path.relpath(top, project))
        os.makedirs(folder, exist_ok=True)
        jobs.extend((os.path.join(top, name), os.path.join(folder, name), os.stat(os.path.join(top, name)))
                    for name in files)
    return jobs


def copy_lines(args, project, work, cp_a, cp_dest):
    """One file at a time, the way the module copies: its copy_file against shutil.copy2 plus a sha256,
    both atomic (a temporary file renamed into place), each against cp -a of the same files."""
    # pylint: disable=import-outside-toplevel
    from ansible_collections.jvmops.deploy.plugins.module_utils._archive import sha256_file
    from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_files import copy_file

    out = os.path.join(work, "copies")

    def module_copy(jobs):
        for src, dst, st in jobs:
            copy_file(src, dst, st.st_size, st.st_mode & 0o7777, st.st_atime_ns, st.st_mtime_ns)

    def shutil_copy(jobs):
        for src, dst, _st in jobs:
            tmp = dst + ".tmp"
            shutil.copy2(src, tmp)
            sha256_file(tmp)
            os.replace(tmp, dst)

    times = {"module": [], "shutil": [], "cp": []}
    for _run in range(args.runs):
        for name, func in (("module", module_copy), ("shutil", shutil_copy)):
            fresh(out)
            jobs = copy_jobs(project, out)
            times[name].append(timed(lambda func=func, jobs=jobs: func(jobs)))
        fresh(cp_dest)
        times["cp"].append(timed(cp_a))
    med = statistics.median
    line("copy, one file at a time (module copy_file)", med(times["module"]), "cp -a", med(times["cp"]), None)
    line("copy, one file at a time (shutil.copy2 + sha256)", med(times["shutil"]), "cp -a", med(times["cp"]), None)
    ratio = med(times["module"]) / med(times["shutil"])
    print("module copy_file / shutil.copy2 + sha256: %.2f (target <= %.1f)" % (ratio, TARGET_COPY))
    return ratio <= TARGET_COPY


def measure(args, work):
    # pylint: disable=import-outside-toplevel,too-many-locals
    collections = collection_tree(work)
    sys.path.insert(0, collections)
    from ansible_collections.jvmops.deploy.plugins.module_utils._xitrum_package import package

    project = os.path.join(work, "myapp")
    generate(project, args.jars, args.files)
    dest = os.path.join(work, "out", "xitrum")
    cp_dest = os.path.join(work, "cp")
    rsync_dest = os.path.join(work, "rsync")
    os.makedirs(os.path.dirname(dest))
    print("project: %d jars, %d public files, in %s; median of %d runs"
          % (args.jars + 1, args.files, work, args.runs))

    def cp_a():
        os.mkdir(cp_dest)
        subprocess.run(["cp", "-a", *sources(project), cp_dest + "/"], check=True)

    def rsync_a():
        subprocess.run(["rsync", "-a", *sources(project), rsync_dest + "/"], check=True)

    def core():
        return package(workers=args.workers, **package_args(project, dest))

    first, copies = [], []
    for _run in range(args.runs):
        fresh(cp_dest)
        copies.append(timed(cp_a))
        fresh(dest)
        first.append(timed(core))
    result = core()
    if result["changed"] or result["files"] != args.jars + args.files + 6:
        raise SystemExit("unexpected package: %r" % {k: result[k] for k in ("changed", "files")})

    os.mkdir(rsync_dest)
    rsync_a()
    noop, rsyncs = [], []
    for _run in range(args.runs):
        rsyncs.append(timed(rsync_a))
        noop.append(timed(core))
    med = statistics.median
    ok = line("first package (core)", med(first), "cp -a", med(copies), TARGET_FIRST) <= TARGET_FIRST
    ok = line("no-change re-run (core)", med(noop), "rsync -a", med(rsyncs), TARGET_NOOP) <= TARGET_NOOP and ok
    core_noop = med(noop)
    ok = copy_lines(args, project, work, cp_a, cp_dest) and ok

    if args.skip_ansible:
        return ok
    task = ansible_runner(collections, project, dest)
    if task is None:
        print("ansible not found: the Ansible task lines are skipped")
        return ok
    first, copies, noop, rsyncs = [], [], [], []
    for _run in range(args.runs):
        fresh(cp_dest)
        copies.append(timed(cp_a))
        fresh(dest)
        first.append(timed(task))
    for _run in range(args.runs):
        rsyncs.append(timed(rsync_a))
        noop.append(timed(task))
    line("first package (ansible task)", med(first), "cp -a", med(copies), None)
    line("no-change re-run (ansible task)", med(noop), "rsync -a", med(rsyncs), None)
    print("ansible task start-up and result handling: about %.3fs per run (no-change task minus core)"
          % (med(noop) - core_noop))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jars", type=int, default=500, help="dependency jars (default 500)")
    parser.add_argument("--files", type=int, default=5000, help="public files (default 5000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement, the median counts (default 5)")
    parser.add_argument("--workers", type=int, default=None, help="copy threads for the core (default: its own)")
    parser.add_argument("--dir", default=None, help="where to work (default /dev/shm when there, else the temp dir)")
    parser.add_argument("--skip-ansible", action="store_true", help="only the core measurements")
    args = parser.parse_args()
    for tool in ("cp", "rsync"):
        if not shutil.which(tool):
            raise SystemExit("%s is needed (on Debian: apt-get install -y %s)" % (tool, tool))
    base = args.dir
    if base is None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="xitrum_package_bench.", dir=base)
    try:
        ok = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
