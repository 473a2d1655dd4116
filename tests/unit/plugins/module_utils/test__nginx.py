# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Nginx configuration reader and the connection counter, without a module around them."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.jvmops.deploy.plugins.module_utils import _nginx

TEXT = ('map $host $x { default "}"; }\n'
        'upstream app {\n'
        '    # } not the end\n'
        '    server a:1 "x}";\n'
        '    server b:2;\n'
        '}\n'
        'server { return 301 https://${host}/a#b; }\n'
        'upstream late { server c:3; }\n')


def test_comment_quote_and_variable_braces_do_not_confuse_the_parser():
    statement = _nginx.find_server(TEXT, "app", "b:2")
    assert _nginx.statement_text(TEXT, statement) == "server b:2;"
    statement = _nginx.find_server(TEXT, "late", "c:3")
    assert _nginx.statement_text(TEXT, statement) == "server c:3;"
    with pytest.raises(_nginx.ConfigError, match="'c:3' is not in upstream 'app'"):
        _nginx.find_server(TEXT, "app", "c:3")


def test_statements_know_their_block_and_span():
    statements = _nginx.parse(TEXT)
    upstream = next(s for s in statements if [t.value for t in s.tokens] == ["upstream", "app"])
    assert TEXT[upstream.close] == "}" and _nginx.line_of(TEXT, upstream.close) == 6
    quoted = next(s for s in statements if s.parent is upstream and s.tokens[1].value == "a:1")
    assert quoted.tokens[2].value == "x}" and TEXT[quoted.tokens[2].start:quoted.tokens[2].end] == '"x}"'
    redirect = next(s for s in statements if s.tokens[0].value == "return")
    assert redirect.tokens[2].value == "https://${host}/a#b"


@pytest.mark.parametrize("text, message", [
    ("upstream app { server a:1; }\n}\n", "unexpected '}' on line 2"),
    ("upstream app {\n ; }\n", "unexpected ';' on line 2"),
    ('upstream app {\n server a:1 "open;\n}\n', "the quoted string opened on line 2 is not closed"),
])
def test_unreadable_text_raises_a_parse_error_with_its_line(text, message):
    with pytest.raises(_nginx.ParseError, match=message):
        _nginx.parse(text)


def test_an_upstream_block_left_open_is_a_parse_error():
    with pytest.raises(_nginx.ParseError, match="the upstream block 'app' opened on line 2 is not closed"):
        _nginx.find_server("http {\nupstream app {\n server a:1;\n", "app", "a:1")


@pytest.mark.parametrize("line, drained", [
    ("server a:1;", "server a:1 down;"),
    ("server a:1 weight=2 ;", "server a:1 weight=2 down ;"),
    ("server a:1 # note\n  max_fails=3;", "server a:1 # note\n  max_fails=3 down;"),
])
def test_with_state_adds_and_removes_only_down(line, drained):
    text = f"upstream app {{\n  {line}\n  server b:2;\n}}\n"
    statement = _nginx.find_server(text, "app", "a:1")
    assert _nginx.state_of(statement) == "enabled"
    assert _nginx.with_state(text, statement, "enabled") is text
    down = _nginx.with_state(text, statement, "drained")
    assert down == text.replace(line, drained)
    statement = _nginx.find_server(down, "app", "a:1")
    assert _nginx.state_of(statement) == "drained"
    assert _nginx.with_state(down, statement, "enabled") == text


# /proc/net/tcp and tcp6: a header, then one socket a line; field 3 is the remote address, 4 the state.
HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
PEER = "0B07D50A:1F40"  # 10.213.7.11:8000


def socket_line(local, remote, state="01"):
    return f"   0: {local} {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 1 1 0\n"


@pytest.fixture(name="tables")
def tables_fixture(tmp_path, monkeypatch):
    monkeypatch.setattr(_nginx, "PROC_NET", str(tmp_path))

    def tables(tcp=(), tcp6=()):
        (tmp_path / "tcp").write_text(HEADER + "".join(socket_line(*row) for row in tcp))
        (tmp_path / "tcp6").write_text(HEADER + "".join(socket_line(*row) for row in tcp6))
    return tables


def test_connections_are_counted_from_the_kernel_tables(tables):
    # Counted: one IPv4 peer, one IPv4-mapped IPv6 peer. Not counted: TIME_WAIT (06), LISTEN (0A),
    # another server, another port, our own listening socket on the same address.
    local = "0107D50A:A1B2"
    tables(tcp=[(local, PEER), (local, PEER, "06"), (local, "0C07D50A:1F40"), (local, "0B07D50A:1F41"),
                (PEER, "00000000:0000", "0A")],
           tcp6=[("0000000000000000FFFF00000107D50A:A1B3", "0000000000000000FFFF00000B07D50A:1F40")])
    ips, port = _nginx.addresses("10.213.7.11:8000")
    assert _nginx.count_connections(ips, port) == 2


def test_missing_tables_count_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_nginx, "PROC_NET", str(tmp_path / "absent"))
    assert _nginx.count_connections({ipaddress.ip_address("10.213.7.11")}, 8000) == 0


def test_the_real_kernel_tables_are_read_by_default():
    assert _nginx.PROC_NET == "/proc/net"


def test_ipv6_and_host_name_servers_are_counted():
    assert _nginx.parse_address("B80D0120000000000000000001000000:1F40") == (ipaddress.ip_address("2001:db8::1"), 8000)
    assert _nginx.parse_address(PEER) == (ipaddress.ip_address("10.213.7.11"), 8000)
    assert _nginx.addresses("[2001:db8::1]:8000") == ({ipaddress.ip_address("2001:db8::1")}, 8000)
    assert _nginx.addresses("10.213.7.11") == ({ipaddress.ip_address("10.213.7.11")}, 80)
    ips, port = _nginx.addresses("localhost:8000")
    assert port == 8000 and ipaddress.ip_address("127.0.0.1") in ips
    assert _nginx.addresses("unix:/run/app.sock") == (set(), None)
