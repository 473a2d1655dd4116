# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listen on 127.0.0.1:PORT and hold one connection from this host to it open, until DIR/release
exists or SECONDS have passed. Writes DIR/held once the connection is established, and DIR/closing
just before closing it.

Usage: python hold_connection.py PORT DIR SECONDS
"""

from __future__ import annotations

import os
import socket
import sys
import time


def touch(path):
    with open(path, "w", encoding="ascii"):
        pass


def main():
    port, directory, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    accepted = listener.accept()[0]
    touch(os.path.join(directory, "held"))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not os.path.exists(os.path.join(directory, "release")):
        time.sleep(0.1)
    touch(os.path.join(directory, "closing"))
    for sock in (client, accepted, listener):
        sock.close()


if __name__ == "__main__":
    main()
