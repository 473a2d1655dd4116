# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab tool's pure parts: names, addresses, inventory, per-host files, image recipe hash."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import yaml

LAB_PY = Path(__file__).resolve().parents[2] / "lab" / "lab.py"
SPEC = importlib.util.spec_from_file_location("jvmops_lab", LAB_PY)
lab = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(lab)


@pytest.fixture(name="cfg")
def cfg_fixture(tmp_path):
    return lab.Config({"JVMOPS_LAB_DIR": str(tmp_path / "state"), "JVMOPS_LAB_CACHE": str(tmp_path / "cache")})


@pytest.mark.parametrize("name, group", [("app1", "app"), ("app12", "app"), ("lb1", "lb"), ("build", "build")])
def test_group_is_name_without_trailing_number(name, group):
    assert lab.group_of(name) == group


@pytest.mark.parametrize("bad", ["App1", "1app", "app_1", "averyverylongname", "", "app-1"])
def test_invalid_host_names_are_refused(bad):
    with pytest.raises(lab.LabError, match="host name"):
        lab.validate_names([bad])


def test_duplicate_names_collapse_in_order():
    assert lab.validate_names(["app1", "lb1", "app1"]) == ["app1", "lb1"]


def test_addresses_are_stable_and_new_hosts_fill_gaps():
    first = lab.assign_addresses({}, ["lb1", "app1"], "10.1.2")
    assert first == {"lb1": "10.1.2.10", "app1": "10.1.2.11"}
    existing = {"lb1": "10.1.2.10", "app2": "10.1.2.12"}
    assert lab.assign_addresses(existing, ["app2", "app3", "lb1"], "10.1.2") == {
        "lb1": "10.1.2.10", "app2": "10.1.2.12", "app3": "10.1.2.11"}


def test_address_space_exhaustion_is_an_error():
    full = {f"h{n}": f"10.0.0.{n}" for n in range(10, 255)}
    with pytest.raises(lab.LabError, match="no free address"):
        lab.assign_addresses(full, ["extra"], "10.0.0")


def test_bad_network_setting_is_refused():
    with pytest.raises(lab.LabError, match="JVMOPS_LAB_NET"):
        lab.Config({"JVMOPS_LAB_NET": "10.0.0.0/24"})


def test_inventory_has_groups_by_prefix_and_strict_ssh(cfg):
    hosts = {"lb1": "10.213.7.10", "app1": "10.213.7.11", "app2": "10.213.7.12", "build1": "10.213.7.13"}
    inv = yaml.safe_load(lab.render_inventory(hosts, cfg))["all"]
    assert inv["children"]["lab"]["hosts"]["app2"]["ansible_host"] == "10.213.7.12"
    assert set(inv["children"]["app"]["hosts"]) == {"app1", "app2"}
    assert set(inv["children"]["lb"]["hosts"]) == {"lb1"}
    assert set(inv["children"]["build"]["hosts"]) == {"build1"}
    assert "StrictHostKeyChecking=yes" in inv["vars"]["ansible_ssh_common_args"]
    assert str(cfg.known_hosts) in inv["vars"]["ansible_ssh_common_args"]
    assert inv["vars"]["ansible_ssh_private_key_file"] == str(cfg.ssh_key)
    assert inv["vars"]["ansible_pipelining"] is True  # the module over the open SSH session, no temporary files


def test_etc_hosts_names_every_lab_host():
    text = lab.render_etc_hosts({"lb1": "10.0.0.10", "app1": "10.0.0.11"}, "app1")
    assert "127.0.1.1\tapp1" in text
    assert "10.0.0.10\tlb1" in text and "10.0.0.11\tapp1" in text


def test_network_file_sets_the_static_address():
    text = lab.render_network("10.0.0.11")
    assert "Name=host0" in text
    assert "Address=10.0.0.11/24" in text


def test_image_hash_follows_the_recipe(cfg, tmp_path, monkeypatch):
    recipe = tmp_path / "image"
    shutil.copytree(lab.IMAGE_DIR, recipe)
    monkeypatch.setattr(lab, "IMAGE_DIR", recipe)
    before = lab.image_recipe_hash(cfg)
    assert lab.image_recipe_hash(cfg) == before
    with open(recipe / "packages.txt", "a", encoding="utf-8") as handle:
        handle.write("curl\n")
    assert lab.image_recipe_hash(cfg) != before
    assert "curl" in lab.image_packages()
    other_suite = lab.Config({"JVMOPS_LAB_SUITE": "trixie", "JVMOPS_LAB_DIR": str(tmp_path)})
    assert lab.image_recipe_hash(other_suite) != lab.image_recipe_hash(cfg)


def test_nspawn_boots_the_image_through_the_hosts_own_layer(cfg):
    cmd = lab.nspawn_command(cfg, "app1", "/images/rootfs")
    assert "--boot" in cmd and "--resolv-conf=off" in cmd
    assert f"--overlay=/images/rootfs:{cfg.host_dir('app1') / 'upper'}:/" in cmd
    assert f"--network-bridge={cfg.bridge}" in cmd


def test_inventory_states_the_open_files_ceiling_when_the_machine_has_one():
    assert lab.nofile_vars(20000)[-1] == "    kernel_tuning_nofile: 20000"
    assert not lab.nofile_vars(1048576)


# --------------------------------------------------------------------------- prefix, settings, leftovers

@pytest.mark.parametrize("bad", ["J13", "1ab", "j_13", "j-13", "abcdef", "jv lab"])
def test_invalid_prefixes_are_refused(bad, tmp_path):
    with pytest.raises(lab.LabError, match="JVMOPS_LAB_PREFIX"):
        lab.Config({"JVMOPS_LAB_DIR": str(tmp_path), "JVMOPS_LAB_PREFIX": bad})


def test_prefix_names_machines_and_links(tmp_path):
    cfg = lab.Config({"JVMOPS_LAB_DIR": str(tmp_path), "JVMOPS_LAB_PREFIX": "j13"})
    assert cfg.machine("app1") == "j13-app1"
    assert cfg.veth("app1") == "vb-j13-app1"
    assert "--machine=j13-app1" in lab.nspawn_command(cfg, "app1", "/images/rootfs")
    assert lab.Config({"JVMOPS_LAB_DIR": str(tmp_path)}).machine("app1") == "jv-app1"


@pytest.mark.parametrize("prefix", ["j", "jv", "j13", "lab9", "abcde"])
def test_host_names_keep_the_interface_name_within_15_characters(prefix):
    longest = 15 - len(f"vb-{prefix}-")
    name = "a" * longest
    assert lab.validate_names([name], prefix) == [name]
    assert len(f"vb-{prefix}-{name}") == 15
    with pytest.raises(lab.LabError, match=f"1-{longest} lower-case.*vb-{prefix}-<name>"):
        lab.validate_names([name + "b"], prefix)
    assert lab.validate_names(list(lab.DEFAULT_HOSTS), prefix) == list(lab.DEFAULT_HOSTS)


def test_a_lab_keeps_the_settings_it_was_brought_up_with(tmp_path):
    saved = lab.Config({"JVMOPS_LAB_DIR": str(tmp_path), "JVMOPS_LAB_PREFIX": "j13", "JVMOPS_LAB_SUITE": "trixie",
                        "JVMOPS_LAB_NET": "10.213.13", "JVMOPS_LAB_BRIDGE": "jvlab13"}).settings()
    lab.save_state(lab.Config({"JVMOPS_LAB_DIR": str(tmp_path)}), {"hosts": {}, "settings": saved})
    # Later commands need only the state directory ...
    cfg = lab.Config.load({"JVMOPS_LAB_DIR": str(tmp_path)})
    assert (cfg.prefix, cfg.suite, cfg.net, cfg.bridge) == ("j13", "trixie", "10.213.13", "jvlab13")
    assert lab.Config.load({"JVMOPS_LAB_DIR": str(tmp_path), "JVMOPS_LAB_PREFIX": "j13"}).prefix == "j13"
    # ... and refuse a setting that would make another lab's machine names.
    with pytest.raises(lab.LabError, match="JVMOPS_LAB_PREFIX=jv .*brought up with j13"):
        lab.Config.load({"JVMOPS_LAB_DIR": str(tmp_path), "JVMOPS_LAB_PREFIX": "jv"})
    # A state from before labs recorded their settings takes the environment's.
    lab.save_state(cfg, {"hosts": {}})
    assert lab.Config.load({"JVMOPS_LAB_DIR": str(tmp_path)}).prefix == "jv"


@pytest.mark.parametrize("env, message", [
    ({"JVMOPS_LAB_BRIDGE": "a-bridge-name-too-long"}, "JVMOPS_LAB_BRIDGE"),
    ({"JVMOPS_LAB_PROXY_PORT": "70000"}, "JVMOPS_LAB_PROXY_PORT"),
    ({"JVMOPS_LAB_SUITE": "Trixie"}, "JVMOPS_LAB_SUITE"),
])
def test_bad_settings_are_refused(env, message):
    with pytest.raises(lab.LabError, match=message):
        lab.Config(env)


def two_labs(tmp_path):
    default = lab.Config({"JVMOPS_LAB_DIR": str(tmp_path / "jvmops-lab")})
    other = lab.Config({"JVMOPS_LAB_DIR": str(tmp_path / "jvmops-lab13"), "JVMOPS_LAB_PREFIX": "j13",
                        "JVMOPS_LAB_BRIDGE": "jvlab13", "JVMOPS_LAB_NET": "10.213.13"})
    return default, other


def running(cfg, pid, name):
    """The processes of one running host: its supervisor and its nspawn."""
    return {
        pid: ["/usr/bin/python3", "/src/tests/lab/lab.py", f"--supervise={name}", f"--lab-dir={cfg.state}"],
        pid + 1: lab.nspawn_command(cfg, name, "/cache/images/bookworm-0/rootfs"),
    }


def test_leftovers_are_only_this_labs_own(tmp_path):
    default, other = two_labs(tmp_path)
    # Both labs have an app1; the default lab's state directory is a prefix of the other's.
    processes = {**running(default, 100, "app1"), **running(other, 200, "app1"), **running(other, 300, "lb1"),
                 400: ["/usr/sbin/apt-cacher-ng", "-c", str(other.state / "acng")],
                 500: ["/usr/bin/python3", "-m", "http.server", "--supervise=app1"]}
    links = ["lo", "eth0", "jvlab0", "vb-jv-app1", "jvlab13", "vb-j13-app1", "vb-j13-lb1"]
    mounts = ["/", "/proc", f"{other.state}/hosts/app1/upper", f"{default.state}/x"]

    mine = lab.own_leftovers(other, ["app1", "lb1"], links, processes, mounts)
    assert mine == [
        "network link jvlab13", "network link vb-j13-app1", "network link vb-j13-lb1",
        f"process 200: {' '.join(processes[200])}", f"process 201: {' '.join(processes[201])}",
        f"process 300: {' '.join(processes[300])}", f"process 301: {' '.join(processes[301])}",
        f"process 400: {' '.join(processes[400])}",
        f"mount {other.state}/hosts/app1/upper",
    ]
    theirs = lab.own_leftovers(default, ["app1"], links, processes, mounts)
    assert theirs == ["network link jvlab0", "network link vb-jv-app1",
                      f"process 100: {' '.join(processes[100])}", f"process 101: {' '.join(processes[101])}",
                      f"mount {default.state}/x"]
    # Nothing left of a lab that is down, whatever the other runs.
    assert not lab.own_leftovers(default, ["app1"], ["lo", "jvlab13", "vb-j13-app1"],
                                 {**running(other, 200, "app1")}, [f"{other.state}/hosts/app1/upper"])


def test_a_container_of_this_lab_counts_even_when_its_name_is_lost(tmp_path):
    other = two_labs(tmp_path)[1]
    nspawn = lab.nspawn_command(other, "app7", "/cache/images/trixie-0/rootfs")
    assert lab.own_leftovers(other, [], [], {7: nspawn}, []) == [f"process 7: {' '.join(nspawn)}"]


def test_a_supervisor_from_before_the_lab_dir_argument_counts_only_through_the_pid_file(tmp_path):
    default, other = two_labs(tmp_path)
    legacy = ["/usr/bin/python3", "tests/lab/lab.py", "--supervise=app1"]
    assert lab.is_supervisor(legacy, default, "app1")
    assert not lab.is_supervisor(legacy, default, "app2")
    assert not lab.is_supervisor(legacy, default)
    assert not lab.own_leftovers(default, [], [], {9: legacy}, [])
    ours = ["/usr/bin/python3", "tests/lab/lab.py", "--supervise=app1", f"--lab-dir={other.state}"]
    assert lab.is_supervisor(ours, other, "app1") and lab.is_supervisor(ours, other)
    assert not lab.is_supervisor(ours, default, "app1")


def test_an_outdated_image_a_lab_runs_on_is_in_use(tmp_path):
    default = two_labs(tmp_path)[0]
    image = tmp_path / "images" / "bookworm-0"
    processes = {1: lab.nspawn_command(default, "app1", str(image / "rootfs"))}
    assert lab.image_in_use(image, processes)
    assert not lab.image_in_use(tmp_path / "images" / "bookworm-1", processes)
