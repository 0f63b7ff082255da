#!/usr/bin/python3
"""tests/tools/zmq_service.py -- a service for dtx-gateway's zmq pools,
written from docs/gateway.md "ZeroMQ pools" alone (pyzmq, no libdtx): the
integration suite gateway_zmq runs it to prove that the document is enough
for a service in another language.

It answers every request with JSON describing what came (status 201 for a
POST, 200 otherwise), except on these paths, which send replies that break
the format on purpose: /bad/version, /bad/frames (too few), /bad/status,
/bad/headers.

    zmq_service.py --name NAME --ready-file FILE   (binds 127.0.0.1, a free port)
"""
import json
import signal
import sys

import zmq

VERSION = b"DTXGW/1"


def parse_headers(block):
    """'Name: value\\r\\n' lines -> list of (name, value)."""
    out = []
    for line in block.split(b"\r\n")[:-1]:
        name, _, value = line.partition(b":")
        out.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return out


def main():
    name, ready = "py", None
    args = sys.argv[1:]
    while args:
        opt = args.pop(0)
        if opt == "--name":
            name = args.pop(0)
        elif opt == "--ready-file":
            ready = args.pop(0)
        else:
            sys.exit("usage: zmq_service.py --name NAME --ready-file FILE")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    if ready:
        with open(ready + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(ready + ".tmp", ready)
    while True:
        frames = sock.recv_multipart()
        routing, msg = frames[0], frames[1:]
        # [""] [version] [id] [method] [path] [query] [gid] [headers] [body]
        if len(msg) != 9 or msg[0] != b"" or msg[1] != VERSION:
            if len(msg) >= 3:
                sock.send_multipart([routing, b"", VERSION, msg[2], b"400", b"", b"bad request"])
            continue
        _, _, rid, method, path, query, gid, headers, body = msg
        if path == b"/bad/version":
            reply = [b"", b"DTXGW/9", rid, b"200", b"", b""]
        elif path == b"/bad/frames":
            reply = [b"", VERSION, rid, b"200"]
        elif path == b"/bad/status":
            reply = [b"", VERSION, rid, b"2x0", b"", b""]
        elif path == b"/bad/headers":
            reply = [b"", VERSION, rid, b"200", b"no colon here\r\n", b""]
        else:
            doc = {
                "served_by": name,
                "method": method.decode(),
                "path": path.decode(),
                "query": query.decode(),
                "gid": gid.decode(),
                "headers": dict(parse_headers(headers)),
                "body": body.decode("utf-8", "replace"),
            }
            status = b"201" if method == b"POST" else b"200"
            out_headers = b"Content-Type: application/json\r\nX-Served-By: " + \
                name.encode() + b"\r\n"
            reply = [b"", VERSION, rid, status, out_headers, json.dumps(doc).encode()]
        sock.send_multipart([routing] + reply)


if __name__ == "__main__":
    main()
