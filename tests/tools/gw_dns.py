#!/usr/bin/env python3
"""gw-dns — a tiny authoritative DNS responder for the gateway's discovery
tests (no dnslib: the wire format is built by hand, RFC 1035 / 2782).

  gw-dns --zone FILE --ready-file FILE [--log FILE]

Listens on 127.0.0.1, a free UDP port, writes the port to --ready-file.
Each query re-reads --zone, a JSON document:

  {"api.test":  {"A":   [["127.0.0.1", TTL], ...],
                 "SRV": [[PRIORITY, WEIGHT, PORT, "host.test", TTL], ...]},
   "host.test": {"A":   [["127.0.0.1", TTL]]}}

so a test changes the answers by rewriting the file (atomically). An SRV
answer carries the A records of its hosts in the additional section. A
name not in the zone answers NXDOMAIN; a name with no record of the type
asked answers NOERROR with no record. Every query appends "NAME TYPE" to
--log. SIGTERM ends it.
"""
import json
import socket
import struct
import sys

TYPES = {1: "A", 28: "AAAA", 33: "SRV"}


def arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def decode_question(msg):
    at, labels = 12, []
    while msg[at] != 0:
        n = msg[at]
        labels.append(msg[at + 1:at + 1 + n].decode().lower())
        at += 1 + n
    qtype, _ = struct.unpack("!HH", msg[at + 1:at + 5])
    return ".".join(labels), qtype, at + 5


def rr(name, rtype, ttl, rdata):
    return encode_name(name) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def answer(msg, zone):
    qid = struct.unpack("!H", msg[:2])[0]
    name, qtype, qend = decode_question(msg)
    question = msg[12:qend]
    entry = zone.get(name)
    if entry is None:
        return struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
    ans, add = [], []
    if qtype == 1:
        for ip, ttl in entry.get("A", []):
            ans.append(rr(name, 1, ttl, socket.inet_aton(ip)))
    elif qtype == 33:
        for prio, weight, port, host, ttl in entry.get("SRV", []):
            ans.append(rr(name, 33, ttl, struct.pack("!HHH", prio, weight, port) +
                          encode_name(host)))
            for ip, attl in zone.get(host, {}).get("A", []):
                add.append(rr(host, 1, attl, socket.inet_aton(ip)))
    head = struct.pack("!HHHHHH", qid, 0x8580, 1, len(ans), 0, len(add))
    return head + question + b"".join(ans) + b"".join(add)


def main():
    zone_path, ready, log = arg("--zone"), arg("--ready-file"), arg("--log")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % sock.getsockname()[1])
    import os
    os.rename(ready + ".tmp", ready)
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            with open(zone_path) as f:
                zone = json.load(f)
            name, qtype, _ = decode_question(msg)
            if log:
                with open(log, "a") as f:
                    f.write("%s %s\n" % (name, TYPES.get(qtype, qtype)))
            sock.sendto(answer(msg, zone), peer)
        except Exception as e:  # a test bug: say it, keep serving
            print("gw-dns: %s" % e, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
