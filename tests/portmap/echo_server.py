"""A tiny TCP + UDP server for portmap traffic tests: answers "<name> <peer address>".

Run inside a container netns: `python3 echo_server.py NAME PORT`. It listens on [::]:PORT
(dual-stack, so IPv4 too) for TCP and UDP, prints "ready" once bound, and serves until killed.
"""

import select
import socket
import sys


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    tcp = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for sock in (tcp, udp):
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", port))
    tcp.listen(16)
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([tcp, udp], [], [])
        for sock in readable:
            if sock is tcp:
                conn, peer = tcp.accept()
                with conn:
                    conn.sendall(f"{name} {unmap(peer[0])}\n".encode())
            else:
                _, peer = udp.recvfrom(2048)
                udp.sendto(f"{name} {unmap(peer[0])}\n".encode(), peer)


def unmap(address: str) -> str:
    return address[7:] if address.startswith("::ffff:") else address


if __name__ == "__main__":
    main()
