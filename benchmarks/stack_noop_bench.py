# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark a no-change run of the own-server roles as a user would include them, on the lab hosts.

    make lab-up && ANSIBLE_COLLECTIONS_PATH=.build/collections \\
        .venv/bin/python benchmarks/stack_noop_bench.py [--runs 3] [--public-roles DIR]

The stack, each role with its defaults: on the `app` hosts the JDK, kernel tuning and open files, 80 -> 8000 and
443 -> 4430 forwarding and supervisord with one program; HAProxy on the `lb` hosts, Nginx on the `build` hosts. It
reconfigures those hosts (HAProxy and Nginx get their default sites): use a lab you can reset.

Like site_noop_bench.py, it converges once (not timed), then interleaves --runs no-change runs (each must report
changed=0), as many `--check` runs (each must predict changed=0), and runs of a floor playbook: the same plays on the
same hosts, facts gathered where the stack gathers them, one ping per host and play.

With --public-roles DIR (a roles path holding geerlingguy.java, geerlingguy.haproxy and geerlingguy.nginx, e.g. from
`ansible-galaxy role install -p DIR geerlingguy.java geerlingguy.haproxy geerlingguy.nginx` on a machine that reaches
Ansible Galaxy), the same stack built from those roles and the modules users reach for (ansible.posix.sysctl,
community.general.pam_limits, ansible.builtin.iptables, supervisor from Debian's package with
community.general.supervisorctl) is then converged on the same hosts and timed the same way, and compared (both
in seconds and in multiples of each one's floor, which takes out a change of load between the two). The public stack does
less: no default-JDK selection, no validation of the supervisord program, no persistence of the forwarding rules
across reboots beyond what the iptables module gives, no minfds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

from _ansible_runs import BANNER, run

OURS = """---
- name: App hosts
  hosts: app
  roles:
    - role: jvmops.deploy.jdk
    - role: jvmops.deploy.kernel_tuning
    - role: jvmops.deploy.port_forward
    - role: jvmops.deploy.supervisord
      vars:
        supervisord_programs:
          - {name: bench, command: /bin/sleep infinity, user: nobody}
- name: HAProxy
  hosts: lb
  gather_facts: false
  roles:
    - role: jvmops.deploy.haproxy
- name: Nginx
  hosts: build
  gather_facts: false
  roles:
    - role: jvmops.deploy.nginx
"""

PUBLIC = """---
- name: App hosts
  hosts: app
  roles:
    - role: geerlingguy.java
  tasks:
    - name: Kernel parameters (the Xitrum guide's values)
      ansible.posix.sysctl:
        name: "{{ item.key }}"
        value: "{{ item.value }}"
        sysctl_file: /etc/sysctl.d/60-bench.conf
        ignoreerrors: true
      # The guide's values a container's network namespace accepts (the net.core buffer sizes it refuses).
      loop: "{{ {'net.core.somaxconn': 65535, 'net.ipv4.tcp_fin_timeout': 15, 'net.ipv4.tcp_tw_reuse': 1,
                 'net.ipv4.ip_local_port_range': '1024 65535', 'net.ipv4.tcp_max_syn_backlog': 65536} | dict2items }}"
    - name: Open files for every user
      community.general.pam_limits:
        domain: "*"
        limit_type: "{{ item }}"
        limit_item: nofile
        value: "{{ kernel_tuning_nofile | default(1024000) }}"
      loop: [soft, hard]
    - name: Install iptables
      ansible.builtin.apt:
        name: iptables
    - name: Forward 80 -> 8000 and 443 -> 4430
      ansible.builtin.iptables:
        table: nat
        chain: "{{ item.0 }}"
        protocol: tcp
        destination_port: "{{ item.1.from }}"
        jump: REDIRECT
        to_ports: "{{ item.1.to }}"
        out_interface: "{{ 'lo' if item.0 == 'OUTPUT' else omit }}"
      loop: "{{ ['PREROUTING', 'OUTPUT'] | product([{'from': 80, 'to': 8000}, {'from': 443, 'to': 4430}]) | list }}"
    - name: Install supervisor
      ansible.builtin.apt:
        name: supervisor
    - name: Write the program
      ansible.builtin.copy:
        dest: /etc/supervisor/conf.d/bench.conf
        content: "[program:bench]\\ncommand=/bin/sleep infinity\\nuser=nobody\\n"
        mode: "0644"
      notify: Update supervisord
    - name: Start supervisor
      ansible.builtin.service:
        name: supervisor
        state: started
        enabled: true
  handlers:
    - name: Update supervisord
      community.general.supervisorctl:
        name: bench
        state: present
- name: HAProxy
  hosts: lb
  gather_facts: true
  vars:
    haproxy_backend_servers: >-
      {% set servers = [] %}{% for host in groups['app'] %}{% set _ = servers.append({'name': host,
      'address': hostvars[host].ansible_host ~ ':8000'}) %}{% endfor %}{{ servers }}
  roles:
    - role: geerlingguy.haproxy
- name: Nginx
  hosts: build
  gather_facts: true
  vars:
    nginx_upstreams:
      - name: app
        servers: "{{ groups['app'] | map('extract', hostvars, 'ansible_host') | map('regex_replace', '$', ':8000') | list }}"
    nginx_remove_default_vhost: true
    nginx_vhosts:
      - listen: "80"
        server_name: "_"
        extra_parameters: |
          location / { proxy_pass http://app; }
  roles:
    - role: geerlingguy.nginx
"""


def floor_of(stack):
    """One play per play of the stack, on the same hosts, facts where it gathers them, one ping each."""
    plays = []
    for block in stack.split("\n- name: ")[1:]:
        hosts = next(line.split(":", 1)[1].strip() for line in block.splitlines() if line.strip().startswith("hosts:"))
        gathers = "gather_facts: false" not in block
        plays.append(f"- {{name: floor, hosts: {hosts}, gather_facts: {str(gathers).lower()}, "
                     f"tasks: [{{name: ping, ansible.builtin.ping: {{}}}}]}}")
    return "---\n" + "\n".join(plays) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inventory", default=os.path.join(os.environ.get("JVMOPS_LAB_DIR", "/var/lib/jvmops-lab"),
                                                            "inventory.yml"))
    parser.add_argument("--public-roles", help="a roles path with geerlingguy.java, geerlingguy.haproxy, geerlingguy.nginx")
    args = parser.parse_args()
    if not os.path.exists(args.inventory):
        sys.exit(f"no lab inventory at {args.inventory}: run `make lab-up` first")
    stacks = {"jvmops.deploy": (OURS, {})}
    if args.public_roles:
        missing = [r for r in ("geerlingguy.java", "geerlingguy.haproxy", "geerlingguy.nginx")
                   if not os.path.isdir(os.path.join(args.public_roles, r))]
        if missing:
            sys.exit(f"--public-roles {args.public_roles} lacks {', '.join(missing)}")
        stacks["public roles"] = (PUBLIC, {"ANSIBLE_ROLES_PATH": args.public_roles})

    times, tasks = {}, {}
    with tempfile.TemporaryDirectory(prefix="stack-bench-") as work:
        # Both stacks write the same files (haproxy.cfg, nginx.conf, the program) differently, so they cannot be
        # interleaved: each is converged, then timed against its own floor, one after the other.
        for name, (stack, env) in stacks.items():
            playbook, floor = os.path.join(work, "stack.yml"), os.path.join(work, "floor.yml")
            with open(playbook, "w", encoding="utf-8") as handle:
                handle.write(stack)
            with open(floor, "w", encoding="utf-8") as handle:
                handle.write(floor_of(stack))
            print(f"converging the lab with the {name} stack (not timed) ...", flush=True)
            run(playbook, args.inventory, [], env)
            times[name] = {"run": [], "check": [], "floor": []}
            for index in range(args.runs):
                elapsed, output, recap = run(playbook, args.inventory, [], env)
                changed = {host: r[1] for host, r in recap.items() if r[1]}
                if changed:
                    sys.exit(f"run {index + 1} of the {name} stack was not a no-change run: changed {changed}")
                tasks[name] = (len(BANNER.findall(output)), len(recap))
                checked, _output, check_recap = run(playbook, args.inventory, ["--check"], env)
                changed = {host: r[1] for host, r in check_recap.items() if r[1]}
                if changed:
                    sys.exit(f"--check run {index + 1} of the {name} stack predicted changes: {changed}")
                times[name]["run"].append(elapsed)
                times[name]["check"].append(checked)
                times[name]["floor"].append(run(floor, args.inventory, [], env)[0])
                print(f"  run {index + 1}, {name}: {elapsed:.1f}s, --check {checked:.1f}s, "
                      f"floor {times[name]['floor'][-1]:.1f}s", flush=True)
    medians = {name: {kind: statistics.median(values) for kind, values in kinds.items()} for name, kinds in times.items()}
    for name, median in medians.items():
        print(f"{name} stack, no-change: {median['run']:.1f}s (median of {args.runs}), --check {median['check']:.1f}s, "
              f"floor {median['floor']:.1f}s; {tasks[name][0]} tasks on {tasks[name][1]} hosts")
        print(f"ratio {name} / floor: {median['run'] / median['floor']:.2f}, --check / floor: "
              f"{median['check'] / median['floor']:.2f}")
    if len(medians) == 2:
        ours, public = medians["jvmops.deploy"], medians["public roles"]
        print(f"ratio jvmops.deploy / public roles, no-change: {ours['run'] / public['run']:.2f} in seconds, "
              f"{(ours['run'] / ours['floor']) / (public['run'] / public['floor']):.2f} in multiples of each one's floor")


if __name__ == "__main__":
    main()
