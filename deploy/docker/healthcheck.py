#!/usr/bin/env python3
"""The image's HEALTHCHECK: exit 0 when the service in this container answers GET /healthz.

The port is MITL_HTTP_PORT, as the service itself reads it. Where that is not set (a plain
`docker run mitl mitl-ingest` listens on the service's default port), it is the port this
container listens on, read from /proc/net/tcp*: a container runs one service. Standard library
only, so a check costs a bare interpreter start.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def listening_ports() -> list[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def main() -> int:
    configured = os.environ.get("MITL_HTTP_PORT")
    ports = [int(configured)] if configured else listening_ports()
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as reply:
                if reply.status == 200:
                    return 0
        except OSError as error:  # refused, timed out, or an HTTP error status
            print(f"port {port}: {error}", file=sys.stderr)
    if not ports:
        print("nothing listens yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
