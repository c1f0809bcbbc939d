"""Traffic tools for the "beyond the reference" tests, run inside a test netns (`nsenter --net`).

syn IFACE DSTMAC SRC DST DPORT     send one hand-made TCP SYN out of IFACE to DSTMAC (bypassing
                                   routing, so DST may be 127.0.0.1) and print what answers:
                                   "synack", "rst" or "none" (within 2 s)
sniff IFACE                        print "SRC:SPORT DST:DPORT FLAGS" for every IPv4 TCP packet
                                   seen on IFACE (both directions) until killed
udpflow HOST PORT SPORT SECONDS    send a datagram every 50 ms from SPORT, print each answer as
                                   "<monotonic time> <answer>"
tcpserver PORT                     echo every line back on each connection ("ready" once bound)
tcpclient HOST PORT                connect, then follow commands on stdin: "data" sends a line
                                   and prints the echo (or "noecho"), "fin" half-closes, "rst"
                                   aborts (SO_LINGER 0); prints "ok" after each
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
SIOCGIFHWADDR = 0x8927


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def own_mac(sock: socket.socket, iface: str) -> bytes:
    info = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, struct.pack("256s", iface.encode()[:15]))
    return info[18:24]


def syn_frame(src_mac: bytes, dst_mac: bytes, src: str, dst: str, sport: int, dport: int) -> bytes:
    s, d = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 0x1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, socket.IPPROTO_TCP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + ip + tcp


def parse_tcp(frame: bytes):
    """(src, sport, dst, dport, flags) of an IPv4 TCP frame, else None."""
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != socket.IPPROTO_TCP or len(ip) < ihl + 14:
        return None
    src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
    sport, dport = struct.unpack("!HH", ip[ihl : ihl + 4])
    return src, sport, dst, dport, ip[ihl + 13]


def flag_text(flags: int) -> str:
    return "".join(
        c for bit, c in ((0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x10, "A")) if flags & bit
    )


def cmd_syn(iface: str, dst_mac: str, src: str, dst: str, dport: str) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    sport = 40000 + os.getpid() % 20000
    sock.send(
        syn_frame(own_mac(sock, iface), bytes.fromhex(dst_mac.replace(":", "")), src, dst, sport, int(dport))
    )
    deadline = time.monotonic() + 2.0
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        frame, address = sock.recvfrom(65535)
        if address[2] == socket.PACKET_OUTGOING:
            continue
        parsed = parse_tcp(frame)
        if parsed and parsed[1] == int(dport) and parsed[3] == sport:
            flags = parsed[4]
            print("synack" if flags & 0x12 == 0x12 else "rst" if flags & 0x04 else f"other {flags:#x}")
            return
    print("none")


def cmd_sniff(iface: str) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    print("ready", flush=True)
    while True:
        frame = sock.recv(65535)
        parsed = parse_tcp(frame)
        if parsed:
            src, sport, dst, dport, flags = parsed
            print(f"{src}:{sport} {dst}:{dport} {flag_text(flags)}", flush=True)


def cmd_udpflow(host: str, port: str, sport: str, seconds: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", int(sport)))
    sock.setblocking(False)
    end = time.monotonic() + float(seconds)
    next_send = 0.0
    while (now := time.monotonic()) < end:
        if now >= next_send:
            try:
                sock.sendto(b"ping", (host, int(port)))
            except OSError:
                pass
            next_send = now + 0.05
        if select.select([sock], [], [], max(0.0, next_send - time.monotonic()))[0]:
            try:
                data = sock.recv(2048)
            except OSError:
                continue
            print(f"{time.monotonic():.3f} {data.decode().strip()}", flush=True)


def cmd_tcpserver(port: str) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", int(port)))
    server.listen(8)
    print("ready", flush=True)
    conns: list[socket.socket] = []
    while True:
        readable = select.select([server, *conns], [], [])[0]
        for sock in readable:
            if sock is server:
                conns.append(server.accept()[0])
                continue
            try:
                data = sock.recv(4096)
            except OSError:
                data = b""
            if data:
                sock.sendall(data)
            else:
                conns.remove(sock)
                sock.close()


def cmd_tcpclient(host: str, port: str) -> None:
    sock = socket.create_connection((host, int(port)), timeout=5)
    print("connected", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "data":
            sock.sendall(b"hello\n")
            try:
                print("echo" if sock.recv(4096) else "noecho", flush=True)
            except OSError:
                print("noecho", flush=True)
        elif command == "fin":
            sock.shutdown(socket.SHUT_WR)
        elif command == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        print("ok", flush=True)


if __name__ == "__main__":
    {
        "syn": cmd_syn,
        "sniff": cmd_sniff,
        "udpflow": cmd_udpflow,
        "tcpserver": cmd_tcpserver,
        "tcpclient": cmd_tcpclient,
    }[sys.argv[1]](*sys.argv[2:])
