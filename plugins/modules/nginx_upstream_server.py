# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_upstream_server
short_description: Take a server out of an Nginx upstream, or put it back, for rolling deploys
version_added: 0.1.0
author:
  - jvmops.deploy contributors (@jvmops)
description:
  - Open-source Nginx has no runtime API for its upstreams. This module marks one C(server) of an C(upstream)
    block C(down) (O(state=drained)) or removes that mark (O(state=enabled)), checks the whole candidate
    configuration with C(nginx -t) before it goes live, swaps it in atomically and reloads Nginx gracefully.
  - When draining, it can then wait until this host has no more established TCP connections to the server,
    so that requests in progress end before the server is stopped.
  - Only the C(down) parameter of that one line changes; the line of an enabled server is byte-identical to
    what it was before it was drained, so the role that renders the file stays idempotent.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  upstream:
    description: Name of the C(upstream) block.
    type: str
    required: true
  server:
    description: The server's address as written in the upstream, such as C(10.0.0.11:8000).
    type: str
    required: true
  state:
    description:
      - V(drained) adds the C(down) parameter to the server's line; V(enabled) removes it.
    type: str
    choices: [drained, enabled]
    required: true
  config:
    description: The file holding the upstream block.
    type: path
    default: /etc/nginx/nginx.conf
  main_config:
    description:
      - Nginx's main configuration file. When O(config) is this file, the candidate is checked with
        C(nginx -t -c <candidate>) before it replaces the live file.
      - When O(config) is an included file, the candidate is put in place, the whole configuration is checked
        with C(nginx -t -c <main_config>), and the previous file is put back if the check fails.
    type: path
    default: /etc/nginx/nginx.conf
  nginx_binary:
    description: The nginx program; found on the path by default.
    type: path
  reload:
    description: Reload Nginx after a change (C(systemctl reload nginx) under systemd, else C(nginx -s reload)).
    type: bool
    default: true
  reload_command:
    description: A command (list of arguments) that reloads Nginx, instead of the default one.
    type: list
    elements: str
  wait_timeout:
    description:
      - After draining, wait up to this many seconds until this host has no established connection to the
        server (Nginx's old workers finishing their requests). A timeout is not an error; RV(connections_left)
        says what was left. V(0) does not wait. Only when the module changed something.
    type: int
    default: 0
  proc_net:
    description: Where the kernel's TCP tables are. Only for tests.
    type: path
    default: /proc/net
notes:
  - C(playbooks/deploy.yml) and the C(jvmops.deploy.jvm_app) role use this module to take an app host out of
    the Nginx upstreams written by the C(jvmops.deploy.nginx) role while the app restarts.
"""

EXAMPLES = r"""
- name: Take app1 out of the upstream and wait for its requests to end
  jvmops.deploy.nginx_upstream_server:
    upstream: app
    server: 10.0.0.11:8000
    state: drained
    wait_timeout: 30
  delegate_to: lb1

- name: Put it back
  jvmops.deploy.nginx_upstream_server:
    upstream: app
    server: 10.0.0.11:8000
    state: enabled
  delegate_to: lb1
"""

RETURN = r"""
state:
  description: The server's state in the file now (in check mode, what it would be).
  type: str
  returned: always
  sample: drained
previous_state:
  description: The server's state before the module ran.
  type: str
  returned: always
  sample: enabled
line:
  description: The server's line in the file now.
  type: str
  returned: always
  sample: server 10.0.0.11:8000 max_fails=1 fail_timeout=5s down;
reloaded:
  description: Whether Nginx was reloaded.
  type: bool
  returned: always
  sample: true
connections_left:
  description: Established connections to the server still open when the wait ended; null when not waited.
  type: int
  returned: always
  sample: 0
"""

import ipaddress
import os
import re
import socket
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

DOWN = re.compile(r"\s+down(?=[\s;])")


class ConfigError(Exception):
    """The file does not hold the upstream or the server as asked."""


def mask(text):
    """The text with comments and quoted strings blanked out (same length), for finding structure."""
    out = list(text)
    i, quote = 0, None
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                out[i] = " "
                if i + 1 < len(text):
                    out[i + 1] = " "
                i += 2
                continue
            if char == quote:
                quote = None
            else:
                out[i] = " " if char != "\n" else "\n"
        elif char in "'\"":
            quote = char
        elif char == "#":
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            for pos in range(i, end):
                out[pos] = " "
            i = end
            continue
        i += 1
    return "".join(out)


def upstream_body(masked, name):
    """(start, end) of the upstream block's body."""
    found = [m for m in re.finditer(r"(?<![\w-])upstream\s+([^\s{]+)\s*\{", masked) if m.group(1) == name]
    if not found:
        raise ConfigError(f"upstream: there is no upstream block named '{name}'")
    if len(found) > 1:
        raise ConfigError(f"upstream: '{name}' is defined {len(found)} times")
    depth, start = 1, found[0].end()
    for pos in range(start, len(masked)):
        if masked[pos] == "{":
            depth += 1
        elif masked[pos] == "}":
            depth -= 1
            if depth == 0:
                return start, pos
    raise ConfigError(f"upstream: the block '{name}' is not closed")


def find_server(text, upstream, server):
    """(start, end) of the server statement, the semicolon included."""
    masked = mask(text)
    start, end = upstream_body(masked, upstream)
    body = masked[start:end]
    found = [m for m in re.finditer(r"(?<![\w-])server\s+([^\s;]+)[^;]*;", body) if m.group(1) == server]
    if not found:
        listed = [m.group(1) for m in re.finditer(r"(?<![\w-])server\s+([^\s;]+)", body)]
        raise ConfigError(f"server: '{server}' is not in upstream '{upstream}' (it has: {', '.join(listed) or 'none'})")
    if len(found) > 1:
        raise ConfigError(f"server: '{server}' is listed {len(found)} times in upstream '{upstream}'")
    return start + found[0].start(), start + found[0].end()


def state_of(statement):
    return "drained" if DOWN.search(statement) else "enabled"


def with_state(statement, state):
    if state_of(statement) == state:
        return statement
    if state == "drained":
        head, tail = re.match(r"(.*?)(\s*;)$", statement, re.S).groups()
        return head + " down" + tail
    return DOWN.sub("", statement, count=1)


def addresses(server):
    """IP addresses and port the server's address stands for."""
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit():
        host, port = server, "80"
    host = host.strip("[]")
    try:
        return {ipaddress.ip_address(host)}, int(port)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, int(port), proto=socket.IPPROTO_TCP)
    except OSError:
        return set(), int(port)
    return {ipaddress.ip_address(info[4][0]) for info in infos}, int(port)


def parse_address(hexaddr):
    """An address from /proc/net/tcp{,6} (hex, each 32-bit word in host byte order) and its port."""
    host, port = hexaddr.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address, int(port, 16)


def count_connections(proc_net, ips, port):
    count = 0
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(proc_net, name), encoding="ascii") as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != "01":
                continue
            address, remote_port = parse_address(fields[2])
            if remote_port == port and address in ips:
                count += 1
    return count


def wait_for_connections(module, server):
    ips, port = addresses(server)
    deadline = time.monotonic() + module.params["wait_timeout"]
    left = count_connections(module.params["proc_net"], ips, port)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = count_connections(module.params["proc_net"], ips, port)
    if left:
        module.warn(f"{left} connection(s) to {server} still open after {module.params['wait_timeout']}s")
    return left


def run_checked(module, argv, what):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        raise ConfigError(f"{what}: {' '.join(argv)} exited {rc}: {(err or out).strip()}")


def validate_and_write(module, nginx, content):
    """Check the candidate with nginx -t and put it in place; the live file is untouched on failure."""
    config, main_config = module.params["config"], module.params["main_config"]
    directory = os.path.dirname(config) or "."
    fd, candidate = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(config) + ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(candidate, os.stat(config).st_mode & 0o7777)
        if os.path.realpath(config) == os.path.realpath(main_config):
            run_checked(module, [nginx, "-t", "-q", "-c", candidate], "Failed to validate the candidate configuration")
            module.atomic_move(candidate, config)
            return
        fd, backup = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(config) + ".previous.")
        with os.fdopen(fd, "wb") as handle, open(config, "rb") as live:
            handle.write(live.read())
        os.chmod(backup, os.stat(config).st_mode & 0o7777)
        module.atomic_move(candidate, config)
        try:
            run_checked(module, [nginx, "-t", "-q", "-c", main_config], "Failed to validate the configuration")
        except ConfigError:
            module.atomic_move(backup, config)
            raise
        os.unlink(backup)
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)


def reload_nginx(module, nginx):
    argv = module.params["reload_command"]
    if not argv:
        if os.path.isdir("/run/systemd/system"):
            argv = [module.get_bin_path("systemctl", required=True), "reload", "nginx"]
        else:
            argv = [nginx, "-s", "reload", "-c", module.params["main_config"]]
    run_checked(module, argv, "Failed to reload nginx")


def apply(module):
    params = module.params
    try:
        with open(params["config"], encoding="utf-8") as handle:
            before = handle.read()
    except OSError as exc:
        raise ConfigError(f"config: cannot read {params['config']}: {to_native(exc)}") from exc
    start, end = find_server(before, params["upstream"], params["server"])
    statement = before[start:end]
    new_statement = with_state(statement, params["state"])
    after = before[:start] + new_statement + before[end:]
    result = {
        "changed": after != before,
        "previous_state": state_of(statement),
        "state": params["state"],
        "line": new_statement,
        "reloaded": False,
        "connections_left": None,
    }
    if module._diff:
        result["diff"] = {"before": before, "after": after,
                          "before_header": params["config"], "after_header": params["config"]}
    if not result["changed"] or module.check_mode:
        return result
    nginx = params["nginx_binary"] or module.get_bin_path("nginx", required=True)
    validate_and_write(module, nginx, after)
    if params["reload"]:
        reload_nginx(module, nginx)
        result["reloaded"] = True
    if params["state"] == "drained" and params["wait_timeout"] > 0:
        result["connections_left"] = wait_for_connections(module, params["server"])
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "upstream": {"type": "str", "required": True},
            "server": {"type": "str", "required": True},
            "state": {"type": "str", "required": True, "choices": ["drained", "enabled"]},
            "config": {"type": "path", "default": "/etc/nginx/nginx.conf"},
            "main_config": {"type": "path", "default": "/etc/nginx/nginx.conf"},
            "nginx_binary": {"type": "path"},
            "reload": {"type": "bool", "default": True},
            "reload_command": {"type": "list", "elements": "str"},
            "wait_timeout": {"type": "int", "default": 0},
            "proc_net": {"type": "path", "default": "/proc/net"},
        },
        supports_check_mode=True,
    )
    if module.params["wait_timeout"] < 0:
        module.fail_json(msg=f"wait_timeout must be 0 or more seconds, got {module.params['wait_timeout']}")
    if not re.match(r"^[^\s;{}#]+$", module.params["server"]):
        module.fail_json(msg=f"server must be an address as written in the upstream (no spaces or ;), got "
                             f"'{module.params['server']}'")
    try:
        result = apply(module)
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
