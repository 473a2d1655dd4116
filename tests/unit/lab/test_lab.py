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
