# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Nginx configuration text and upstream servers, for the nginx_upstream_server module.

parse() reads a configuration the way Nginx's ngx_conf_read_token does (comments, quoted strings,
`${var}`, backslash escapes, nested blocks) and keeps each word's span in the text, so that
find_server() and with_state() can change one server's `down` parameter and leave every other
byte as it was. count_connections() counts this host's established TCP connections to a server
from the kernel's tables under PROC_NET.

Plain functions, no AnsibleModule. A user mistake raises ConfigError (ParseError when the text is not
a configuration that can be read).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

# Where the kernel's TCP tables (tcp, tcp6) are.
PROC_NET = "/proc/net"
SPACE = " \t\r\n"
ESTABLISHED = "01"


class ConfigError(Exception):
    """The file does not hold the upstream or the server as asked, or Nginx refused the change."""


class ParseError(ConfigError):
    """The file is not an Nginx configuration this module can read."""


class Token:
    """A word of the configuration, with its span in the text (quotes included)."""

    def __init__(self, value, start, end):
        self.value, self.start, self.end = value, start, end


class Statement:
    """Words ended by `;` or `{` (then `close` is the position of the matching `}`)."""

    def __init__(self, tokens, kind, end, parent):
        self.tokens, self.kind, self.end, self.parent = tokens, kind, end, parent
        self.close = None

    @property
    def start(self):
        return self.tokens[0].start


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def read_word(text, pos):
    """End of the unquoted word at pos. As in Nginx, `#`, quotes and `}` inside a word are part of it,
    `${` does not open a block, and a backslash escapes the next character."""
    variable = False
    while pos < len(text):
        char = text[pos]
        if char == "{" and variable:
            pos += 1
            continue
        variable = char == "$"
        if char == "\\":
            pos += 2
            continue
        if char in SPACE or char in ";{":
            break
        pos += 1
    return min(pos, len(text))


def parse(text):
    """The statements of an Nginx configuration, read like ngx_conf_read_token does."""
    statements, stack, tokens = [], [], []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in SPACE:
            pos += 1
        elif char == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif char in ";{":
            if not tokens:
                raise ParseError(f"unexpected '{char}' on line {line_of(text, pos)}")
            statement = Statement(tokens, char, pos, stack[-1] if stack else None)
            statements.append(statement)
            if char == "{":
                stack.append(statement)
            tokens = []
            pos += 1
        elif char == "}":
            if tokens or not stack:
                raise ParseError(f"unexpected '}}' on line {line_of(text, pos)}")
            stack.pop().close = pos
            pos += 1
        elif char in "\"'":
            end = pos + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise ParseError(f"the quoted string opened on line {line_of(text, pos)} is not closed")
            tokens.append(Token(text[pos + 1:end], pos, end + 1))
            pos = end + 1
        else:
            end = read_word(text, pos)
            tokens.append(Token(text[pos:end], pos, end))
            pos = end
    return statements


def find_server(text, upstream, server, where="the file"):
    """The server's statement in the upstream block."""
    statements = parse(text)
    blocks = [s for s in statements
              if s.kind == "{" and [t.value for t in s.tokens] == ["upstream", upstream]]
    if not blocks:
        raise ConfigError(f"upstream: there is no upstream block named '{upstream}' in {where}")
    if len(blocks) > 1:
        lines = ", ".join(str(line_of(text, b.start)) for b in blocks)
        raise ConfigError(f"upstream: '{upstream}' is defined {len(blocks)} times in {where} (lines {lines}); "
                          "it must be once")
    block = blocks[0]
    if block.close is None:
        raise ParseError(f"the upstream block '{upstream}' opened on line {line_of(text, block.start)} is not closed")
    servers = [s for s in statements
               if s.parent is block and s.kind == ";" and s.tokens[0].value == "server" and len(s.tokens) > 1]
    found = [s for s in servers if s.tokens[1].value == server]
    if not found:
        listed = ", ".join(s.tokens[1].value for s in servers) or "none"
        raise ConfigError(f"server: '{server}' is not in upstream '{upstream}' of {where} (it has: {listed})")
    if len(found) > 1:
        lines = ", ".join(str(line_of(text, s.start)) for s in found)
        raise ConfigError(f"server: '{server}' is listed {len(found)} times in upstream '{upstream}' of {where} "
                          f"(lines {lines}); it must be once")
    return found[0]


def state_of(statement):
    """`drained` when the server statement has the `down` parameter, else `enabled`."""
    return "drained" if any(t.value == "down" for t in statement.tokens[2:]) else "enabled"


def statement_text(text, statement):
    """The statement as written, from its first word to its semicolon."""
    return text[statement.start:statement.end + 1]


def with_state(text, statement, state):
    """The text with the server's `down` parameter added or removed; nothing else changes."""
    if state_of(statement) == state:
        return text
    if state == "drained":
        at = statement.tokens[-1].end
        return text[:at] + " down" + text[at:]
    tokens = statement.tokens
    for index in range(len(tokens) - 1, 1, -1):
        if tokens[index].value != "down":
            continue
        start, end, previous_end = tokens[index].start, tokens[index].end, tokens[index - 1].end
        cut = start
        while cut > previous_end and text[cut - 1] in SPACE:
            cut -= 1
        if cut > previous_end:
            # A comment ends the line before it: keep that line end and this line's indentation.
            cut = start
            while end < len(text) and text[end] in " \t":
                end += 1
        text = text[:cut] + text[end:]
    return text


def addresses(server):
    """(IP addresses, port) that the server's address stands for; no addresses for what cannot be counted."""
    if server.startswith("unix:"):
        return set(), None
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit() or (":" in host and not host.startswith("[")):
        host, port = server, "80"
    host = host.strip("[]")
    try:
        return {ipaddress.ip_address(host)}, int(port)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, int(port), proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set(), int(port)
    return {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}, int(port)


def parse_address(hexaddr):
    """An address from /proc/net/tcp or tcp6 (hex, each 32-bit word in host byte order) and its port."""
    host, port = hexaddr.split(":")
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(raw)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address, int(port, 16)


def count_connections(ips, port):
    """Established TCP connections from this host to any of ips on port, from the tables in PROC_NET."""
    count = 0
    for name in ("tcp", "tcp6"):
        try:
            with open(os.path.join(PROC_NET, name), encoding="ascii") as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 4 or fields[3] != ESTABLISHED:
                continue
            try:
                address, remote_port = parse_address(fields[2])
            except ValueError:
                continue
            if remote_port == port and address in ips:
                count += 1
    return count
