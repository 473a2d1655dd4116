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
    configuration with Nginx's own checker (C(nginx -t)) before it goes live, swaps it in atomically and
    reloads Nginx gracefully, so old workers finish the requests they hold.
  - When it drains a server, it can then wait until this host has no more established TCP connections to it,
    so that requests in progress end before the server is stopped.
  - Only the C(down) parameter of that one line changes; the rest of the file is left byte for byte. The line
    of an enabled server is byte-identical to what it was before it was drained, so the role that renders the
    file stays idempotent.
  - The file is read the way Nginx reads it. Comments and quoted strings are skipped, braces are counted
    to find the end of the C(upstream) block, and only the block's own C(server) statements are looked at.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Check mode reads the file and predicts the change and the diff; it checks nothing with Nginx,
      writes nothing, reloads nothing and waits for nothing.
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
    description:
      - The server's address as written in the upstream, the first word after C(server), such as
        C(10.213.7.11:8000), C(app1.internal:8000) or C([2001:db8::11]:8000).
    type: str
    required: true
  state:
    description:
      - V(drained) adds the C(down) parameter at the end of the server's parameters; V(enabled) removes it.
    type: str
    choices: [drained, enabled]
    required: true
  config:
    description:
      - The file holding the upstream block, either the main configuration or a file it includes.
    type: path
    default: /etc/nginx/nginx.conf
  main_config:
    description:
      - Nginx's main configuration file, used to check the change before it is kept.
      - When O(config) is this file, the candidate is written next to it (so relative includes resolve the same
        way), checked with C(nginx -t -q -c <candidate>), and only then moved over the live file.
      - When O(config) is a file the main configuration includes, the live file is copied aside, the candidate
        is put in its place, the whole configuration is checked with C(nginx -t -q -c <main_config>), and the
        copy is put back if the check fails. Nginx is not reloaded in between, so the running configuration
        never sees a refused file.
      - Either way, a refused candidate fails the task with Nginx's message and the live file is left as it was,
        byte for byte, with its mode and owner.
    type: path
    default: /etc/nginx/nginx.conf
  nginx_binary:
    description: The nginx program. By default, C(nginx) found on the path and in the C(sbin) directories.
    type: path
  reload:
    description:
      - Reload Nginx gracefully after a change, with C(systemctl reload nginx) when systemd runs and its C(nginx)
        unit is active, else with C(nginx -s reload -c <main_config>).
      - If the reload fails (its command cannot run, such as a missing program, or exits non-zero), the previous
        file is put back, so that a new run tries again, and the task fails with a message that names the command.
    type: bool
    default: true
  reload_command:
    description: A command (list of arguments, no shell) that reloads Nginx, instead of the default one.
    type: list
    elements: str
  wait_timeout:
    description:
      - After draining, wait up to this many seconds until this host has no established TCP connection to the
        server's address and port (Nginx's old workers finishing their requests and streams), counted from the
        kernel's tables every 0.2 seconds. A host name is resolved first.
      - A timeout is not an error; RV(connections_left) says what was left, and a warning too.
      - Only when this run changed the file and reloaded Nginx; a server already drained is not waited for.
        V(0) does not wait.
    type: int
    default: 0
notes:
  - C(playbooks/deploy.yml) and the C(jvmops.deploy.jvm_app) role use this module to take an app host out of
    the Nginx upstreams written by the C(jvmops.deploy.nginx) role while the app restarts.
  - Temporary files are written in the directory of O(config) with names that start with a dot, which
    C(include) patterns such as C(conf.d/*.conf) do not match.
seealso:
  - name: Nginx upstream server parameters
    description: The C(down) parameter and the others of the C(server) directive.
    link: https://nginx.org/en/docs/http/ngx_http_upstream_module.html#server
"""

EXAMPLES = r"""
- name: Take app1 out of the upstream and wait for its requests to end
  jvmops.deploy.nginx_upstream_server:
    upstream: app
    server: 10.213.7.11:8000
    state: drained
    wait_timeout: 30
  delegate_to: lb1

- name: Put it back
  jvmops.deploy.nginx_upstream_server:
    upstream: app
    server: 10.213.7.11:8000
    state: enabled
  delegate_to: lb1

- name: Drain a server of an upstream kept in an included file
  jvmops.deploy.nginx_upstream_server:
    upstream: api
    server: api1.internal:9000
    state: drained
    config: /etc/nginx/conf.d/api.conf
    main_config: /etc/nginx/nginx.conf
    wait_timeout: 60
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
  description: The server's statement in the file now, from C(server) to the semicolon.
  type: str
  returned: always
  sample: server 10.213.7.11:8000 max_fails=1 fail_timeout=5s down;
reloaded:
  description: Whether Nginx was reloaded.
  type: bool
  returned: always
  sample: true
connections_left:
  description:
    - Established connections from this host to the server still open when the wait ended.
    - Null when the module did not wait (no change, check mode, O(wait_timeout=0), O(reload=false), or an address
      whose connections cannot be counted, such as a C(unix:) socket).
  type: int
  returned: always
  sample: 0
"""

import os
import re
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.jvmops.deploy.plugins.module_utils._nginx import (
    ConfigError,
    ParseError,
    addresses,
    count_connections,
    find_server,
    state_of,
    statement_text,
    with_state,
)

SYSTEMD_RUN = "/run/systemd/system"
POLL_INTERVAL = 0.2
# A word Nginx reads as one token without quotes or escapes.
ADDRESS = re.compile(r"^[^\s;{}#\"'\\]+$")


def check_params(params):
    if params["wait_timeout"] < 0:
        raise ConfigError(f"wait_timeout: must be 0 or more seconds, got {params['wait_timeout']}")
    if not ADDRESS.match(params["server"]):
        raise ConfigError("server: must be the address as written after 'server' in the upstream "
                          f"(no spaces, quotes, ';', braces or '#'), got '{params['server']}'")
    if params["reload_command"] is not None and not [arg for arg in params["reload_command"] if arg.strip()]:
        raise ConfigError("reload_command: must be a command (a list of arguments), got an empty list")
    if not ADDRESS.match(params["upstream"]):
        raise ConfigError("upstream: must be the name as written after 'upstream' "
                          f"(no spaces, quotes, ';', braces or '#'), got '{params['upstream']}'")


def shown(text):
    """Text for the result: bytes that are not UTF-8 shown as replacement characters."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_config(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"Failed to read config {path}: {to_native(exc)}") from exc


def locate(data, params):
    """The text of the file and the server's statement in it."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        return text, find_server(text, params["upstream"], params["server"], params["config"])
    except ParseError as exc:
        raise ConfigError(f"Failed to parse config {params['config']}: {exc}") from exc


def run_checked(module, argv, what):
    """Run argv; a command that cannot start (missing, not executable) or exits non-zero is a ConfigError
    naming the command, so the caller can put the file back before failing."""
    try:
        rc, out, err = module.run_command(argv, handle_exceptions=False)
    except OSError as exc:
        raise ConfigError(f"{what}: {' '.join(argv)} could not run: {to_native(exc.strerror or exc)}") from exc
    if rc != 0:
        raise ConfigError(f"{what}: {' '.join(argv)} exited {rc}: {(err or out).strip()}")


def write_beside(path, data):
    """A new file with data next to path, with path's mode; its name starts with a dot."""
    fd, name = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=f".{os.path.basename(path)}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(name, stat.S_IMODE(os.stat(path).st_mode))
    return name


def put_back(module, path, data):
    """Replace path with data again (atomic_move keeps the live file's mode and owner)."""
    name = write_beside(path, data)
    try:
        module.atomic_move(name, path)
    finally:
        if os.path.exists(name):
            os.unlink(name)


def validate_and_replace(module, nginx, before, after):
    """Check the candidate with nginx -t and put it in place; on refusal the live file stays as it was."""
    config, main_config = module.params["config"], module.params["main_config"]
    what = f"Failed to validate the configuration with server '{module.params['server']}' {module.params['state']}"
    candidate = write_beside(config, after)
    try:
        if os.path.realpath(config) == os.path.realpath(main_config):
            run_checked(module, [nginx, "-t", "-q", "-c", candidate], what + "; the live file is unchanged")
            module.atomic_move(candidate, config)
            return
        module.atomic_move(candidate, config)
        try:
            run_checked(module, [nginx, "-t", "-q", "-c", main_config], what + f"; {config} was put back as it was")
        except ConfigError:
            put_back(module, config, before)
            raise
    finally:
        if os.path.exists(candidate):
            os.unlink(candidate)


def reload_command(module, nginx):
    if module.params["reload_command"]:
        return module.params["reload_command"]
    if os.path.isdir(SYSTEMD_RUN):
        systemctl = module.get_bin_path("systemctl")
        if systemctl and module.run_command([systemctl, "is-active", "--quiet", "nginx"])[0] == 0:
            return [systemctl, "reload", "nginx"]
    return [nginx, "-s", "reload", "-c", module.params["main_config"]]


def reload(module, nginx, before):
    """Reload Nginx; if it fails, put the previous file back so that a new run tries again."""
    try:
        run_checked(module, reload_command(module, nginx), "Failed to reload nginx")
    except ConfigError as exc:
        put_back(module, module.params["config"], before)
        raise ConfigError(f"{exc}; {module.params['config']} was put back as it was") from exc


def wait_for_connections(module, server):
    """Connections to the server left when they are all gone or the timeout is over; None if not countable."""
    timeout = module.params["wait_timeout"]
    ips, port = addresses(server)
    if not ips:
        module.warn(f"Not waiting for the connections to {server} to end: "
                    "only the connections to an IP address or a host name that resolves can be counted")
        return None
    deadline = time.monotonic() + timeout
    left = count_connections(ips, port)
    while left and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
        left = count_connections(ips, port)
    if left:
        module.warn(f"{left} connection(s) to {server} still open after {timeout}s; "
                    "the server takes no new requests, the open ones end when it stops")
    return left


def apply(module):
    """(changed, result) of putting the server in the wanted state."""
    params = module.params
    check_params(params)
    before = read_config(params["config"])
    text, statement = locate(before, params)
    new_text = with_state(text, statement, params["state"])
    after = new_text.encode("utf-8", "surrogateescape")
    changed = after != before
    result = {
        "previous_state": state_of(statement),
        "state": params["state"],
        "line": shown(statement_text(text, statement)),
        "reloaded": False,
        "connections_left": None,
    }
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = {"before_header": params["config"], "after_header": params["config"],
                          "before": shown(text), "after": shown(new_text)}
    if changed:
        statement = find_server(new_text, params["upstream"], params["server"])
        result["line"] = shown(statement_text(new_text, statement))
    if not changed or module.check_mode:
        return changed, result
    if os.path.realpath(params["config"]) != os.path.realpath(params["main_config"]) \
            and not os.path.isfile(params["main_config"]):
        raise ConfigError(f"main_config: {params['main_config']} does not exist; it is needed to check the "
                          f"included file {params['config']} with nginx -t")
    nginx = params["nginx_binary"] or module.get_bin_path("nginx", required=True)
    validate_and_replace(module, nginx, before, after)
    if params["reload"]:
        reload(module, nginx, before)
        result["reloaded"] = True
    # Read back what is really there now.
    text, statement = locate(read_config(params["config"]), params)
    result["state"], result["line"] = state_of(statement), shown(statement_text(text, statement))
    if params["state"] == "drained" and params["wait_timeout"] > 0 and result["reloaded"]:
        result["connections_left"] = wait_for_connections(module, params["server"])
    return changed, result


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
        },
        supports_check_mode=True,
    )
    try:
        changed, result = apply(module)
    except ConfigError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
