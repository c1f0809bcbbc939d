"""Client for echo_server.py: `python3 echo_client.py tcp|udp HOST PORT [SOURCE_PORT]` prints the
answer line (a fixed source port keeps a UDP "connection" the same across calls).

Exits 1 (with the reason on stderr) when nothing answers within the timeout.
"""

import socket
import sys


def main() -> int:
    proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(5.0 if proto == "tcp" else 1.0)  # generous: CI machines are busy
        if len(sys.argv) > 4:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", int(sys.argv[4])))
        try:
            if proto == "tcp":
                sock.connect((host, port))
                data = sock.recv(1024)
            else:
                data = b""
                for _ in range(6):  # UDP may lose the first datagram while ARP/ND resolves
                    sock.sendto(b"ping", (host, port))
                    try:
                        data = sock.recv(1024)
                        break
                    except TimeoutError:
                        continue
        except OSError as err:
            print(f"no answer from {proto} {host}:{port}: {err}", file=sys.stderr)
            return 1
    if not data:
        print(f"no answer from {proto} {host}:{port}", file=sys.stderr)
        return 1
    sys.stdout.write(data.decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
