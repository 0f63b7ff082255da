#!/usr/bin/env python3
"""The cluster-limit drill of dtx-gateway (issue 19): make drill-gateway.

Three dtx-gateway instances share one rate limit (scope "cluster") through
one redis-server, all on this machine; three wrk (one per gateway) offer
about 5x the cluster limit in total, paced by wrk's delay() hook.

  Phase A (DRILL_SECONDS): admitted total (2xx seen by wrk) against
          limit x duration; passes within DRILL_TOLERANCE (3%).
  Phase B (DRILL_OUTAGE_SECONDS): Redis is killed (SIGKILL) at 1/3 of the
          run and started again at 2/3. A poller reads every gateway's
          /metrics every 50 ms. Checks: every gateway shows
          mode="fail_open" while Redis is gone; all are back in
          mode="cluster" within 1 s of Redis answering again; the admitted
          rate from then on is the limit; wrk's slowest request is under
          cluster.timeout_ms.
DRILL_SHORT=1: a few seconds of each (the make test stage); bounds there
are looser (short windows) and timed checks are at least 3 s.

Prints its figures; exits 0 when every check holds.
Environment: BUILD (build), DTX_TEST_DIR (scratch, default a temp dir),
DRILL_LIMIT (r/s), DRILL_SECONDS, DRILL_OUTAGE_SECONDS.
"""
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SHORT = os.environ.get("DRILL_SHORT") == "1"
BUILD = os.environ.get("BUILD", "build")
LIMIT = int(os.environ.get("DRILL_LIMIT", "200" if SHORT else "600"))
SECONDS = float(os.environ.get("DRILL_SECONDS", "4" if SHORT else "20"))
OUTAGE = float(os.environ.get("DRILL_OUTAGE_SECONDS", "6" if SHORT else "15"))
TOL = float(os.environ.get("DRILL_TOLERANCE", "0.10" if SHORT else "0.03"))
TIMEOUT_MS = 500          # cluster.timeout_ms
BURST = max(1, LIMIT // 20)
N = 3
FACTOR = 5.0

procs = []
failed = []


def log(msg):
    print(msg, flush=True)


def check(ok, what):
    log(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        failed.append(what)


def spawn(args, logfile):
    f = open(logfile, "ab")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        try:
            p.send_signal(sig)
            p.wait(10)
        except Exception:
            p.kill()
            p.wait()


def wait_file(path, timeout=15):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path):
            with open(path) as f:
                line = f.readline()
            if line.endswith("\n"):
                return line.strip()
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + path)


def redis_ping(sock):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(0.3)
        s.connect(sock)
        s.sendall(b"PING\r\n")
        ok = s.recv(16).startswith(b"+PONG")
        s.close()
        return ok
    except OSError:
        return False


def redis_start(work, sock):
    conf = os.path.join(work, "redis.conf")
    with open(conf, "w") as f:
        f.write("port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\nsave \"\"\n"
                "appendonly no\ndaemonize no\n" % (sock, work))
    p = spawn(["redis-server", conf], os.path.join(work, "redis.log"))
    t0 = time.time()
    while not redis_ping(sock):
        if time.time() - t0 > 10:
            raise RuntimeError("redis-server did not answer")
        time.sleep(0.01)
    return p


def metrics(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=1) as r:
            text = r.read().decode()
    except Exception:
        return None
    mode = None
    for m in ("cluster", "fail_open", "fail_closed"):
        if re.search(r'^dtx_gw_cluster_mode\{mode="%s"\} 1$' % m, text, re.M):
            mode = m
    passed = re.search(r'^dtx_gw_rule_total\{rule="shared",verdict="passed"\} (\d+)$', text, re.M)
    return mode, int(passed.group(1)) if passed else 0


def run_wrk(ports, seconds, work, tag):
    """3 wrk (one per gateway), paced to FACTOR x LIMIT in total."""
    per = FACTOR * LIMIT / N * 1.1
    # a long pause per connection and many connections: the pace depends
    # little on the (loaded) machine's latency
    delay_ms = 50
    conns = max(1, math.ceil(per * (delay_ms + 3) / 1000.0))
    lua = os.path.join(work, "pace.lua")
    with open(lua, "w") as f:
        f.write("function delay() return %d end\n" % delay_ms)
    out = []
    ps = []
    for i, port in enumerate(ports):
        o = os.path.join(work, "wrk-%s-%d.txt" % (tag, i))
        out.append(o)
        ps.append(subprocess.Popen(
            ["wrk", "-t1", "-c%d" % conns, "-d%ds" % int(seconds), "--latency",
             "--timeout", "5s", "-s", lua, "http://127.0.0.1:%d/x" % port],
            stdout=open(o, "w"), stderr=subprocess.STDOUT))
    return ps, out


def wrk_result(path):
    text = open(path).read()
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    total = int(m.group(1))
    secs = float(m.group(2)) / (1000.0 if m.group(3) == "ms" else 1.0)
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non = int(non.group(1)) if non else 0
    errs = re.search(r"Socket errors: (.*)", text)
    lat = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)
    return {"total": total, "secs": secs, "admitted": total - non,
            "max_latency_ms": to_ms(lat.group(1)) if lat else float("nan"),
            "errors": errs.group(1) if errs else "none"}


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    x = float(m.group(1))
    return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[m.group(2)]


def main():
    work = os.environ.get("DTX_TEST_DIR")
    work = tempfile.mkdtemp(prefix="gwdrill-", dir=work if work else None)
    sock = os.path.join(work, "redis.sock")
    if len(sock) > 100:
        work = tempfile.mkdtemp(prefix="gwdrill-")
        sock = os.path.join(work, "redis.sock")
    bin_gw = os.path.join(BUILD, "bin", "dtx-gateway")
    bin_up = os.path.join(BUILD, "tests", "gw-upstream")
    log("gateway cluster drill: %d gateways + redis-server, limit %d r/s (burst %d), "
        "offered ~%.0fx%s; machine shared (load %s)"
        % (N, LIMIT, BURST, FACTOR, " (short)" if SHORT else "",
           " ".join(open("/proc/loadavg").read().split()[:3])))
    redis = redis_start(work, sock)
    up = spawn([bin_up, "--name", "up", "--port", "0", "--threads", "2", "--body", "ok",
                "--ready-file", os.path.join(work, "up.ready")], os.path.join(work, "up.log"))
    up_port = int(wait_file(os.path.join(work, "up.ready")))
    gws = []
    for i in range(N):
        cfg = {
            "cluster": {"redis": "unix:" + sock, "instance": "drill-%d" % i,
                        "key_prefix": "drill:", "failure": "fail_open",
                        "timeout_ms": TIMEOUT_MS, "connect_timeout_ms": TIMEOUT_MS},
            "pools": [{"name": "p", "targets": ["http://127.0.0.1:%d" % up_port]}],
            "rules": [{"name": "shared", "type": "rate_limit", "algorithm": "token_bucket",
                       "rate": LIMIT, "burst": BURST, "key": "global", "scope": "cluster"}],
            "routes": [{"name": "all", "match": {"prefix": "/"}, "pool": "p",
                        "rules": ["shared"]}],
        }
        path = os.path.join(work, "gw-%d.json" % i)
        with open(path, "w") as f:
            json.dump(cfg, f)
        ready = os.path.join(work, "gw-%d.ready" % i)
        spawn([bin_gw, "--config", path, "--listen", "127.0.0.1:0", "--admin-listen",
               "127.0.0.1:0", "--ready-file", ready], os.path.join(work, "gw-%d.log" % i))
        port, admin = (int(x) for x in wait_file(ready).split())
        gws.append((port, admin))
    ports = [g[0] for g in gws]
    admins = [g[1] for g in gws]
    t0 = time.time()
    while any((metrics(a) or (None, 0))[0] != "cluster" for a in admins):
        if time.time() - t0 > 10:
            raise RuntimeError("gateways did not reach mode cluster")
        time.sleep(0.05)
    time.sleep(0.5)  # heartbeats: every gateway counts 3 live instances

    # ---------------- phase A ----------------
    log("phase A: %.0f s at ~%.0fx the limit through all three" % (SECONDS, FACTOR))
    ps, outs = run_wrk(ports, SECONDS, work, "a")
    for p in ps:
        p.wait()
    res = [wrk_result(o) for o in outs]
    secs = max(r["secs"] for r in res)
    offered = sum(r["total"] for r in res) / secs
    admitted = sum(r["admitted"] for r in res)
    expect = LIMIT * secs
    dev = (admitted - expect) / expect
    lat_a = max(r["max_latency_ms"] for r in res)
    log("  offered %.0f r/s (%.1fx the limit); admitted %d in %.2f s = %.1f r/s; "
        "limit x time = %.0f; deviation %+.2f%%; per gateway %s; slowest request %.1f ms"
        % (offered, offered / LIMIT, admitted, secs, admitted / secs, expect, dev * 100,
           [r["admitted"] for r in res], lat_a))
    check(offered >= (4.0 if SHORT else 4.5) * LIMIT, "offered load is about 5x the limit")
    check(abs(dev) <= TOL, "admitted total within %.0f%% of the limit" % (TOL * 100))

    # ---------------- phase B ----------------
    kill_at, back_at = OUTAGE / 3, 2 * OUTAGE / 3
    log("phase B: %.0f s; Redis killed at %.1f s, started again at %.1f s"
        % (OUTAGE, kill_at, back_at))
    samples = []
    stop_poll = threading.Event()

    def poll():
        while not stop_poll.is_set():
            t = time.time()
            row = [metrics(a) for a in admins]
            samples.append((t, row))
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    tb = time.time()
    ps, outs = run_wrk(ports, OUTAGE, work, "b")
    poller.start()
    time.sleep(kill_at)
    t_kill = time.time()
    stop(redis, signal.SIGKILL)
    time.sleep(max(0, tb + back_at - time.time()))
    redis = redis_start(work, sock)
    t_back = time.time()  # Redis answers PING
    for p in ps:
        p.wait()
    stop_poll.set()
    poller.join()
    res = [wrk_result(o) for o in outs]

    def first(after, pred):
        for t, row in samples:
            if t >= after and all(r is not None and pred(r) for r in row):
                return t
        return None

    t_open = first(t_kill, lambda r: r[0] == "fail_open")
    t_enf = first(t_back, lambda r: r[0] == "cluster")
    lat_b = max(r["max_latency_ms"] for r in res)
    if t_open:
        log("  every gateway in fail_open %.0f ms after Redis was killed" % ((t_open - t_kill) * 1000))
    check(t_open is not None and t_open < t_back, "fallback mode fail_open visible in /metrics")
    if t_enf:
        log("  every gateway back in mode cluster %.0f ms after Redis answered again"
            % ((t_enf - t_back) * 1000))
    check(t_enf is not None and t_enf - t_back <= (3.0 if SHORT else 1.0),
          "limit enforced cluster-wide again within %s of Redis coming back"
          % ("3 s" if SHORT else "a second"))

    def passed_at(t):
        best = None
        for ts, row in samples:
            if ts <= t and all(r is not None for r in row):
                best = (ts, sum(r[1] for r in row))
        return best

    # admitted rate: during the outage (fail-open share), and after recovery
    for name, a, b in (("during the outage (fail-open, limit / 3 each)", t_kill + 0.3, t_back),
                       ("after recovery", (t_enf or t_back) + 0.2, tb + OUTAGE - 0.2)):
        pa, pb = passed_at(a), passed_at(b)
        if pa and pb and pb[0] > pa[0]:
            rate = (pb[1] - pa[1]) / (pb[0] - pa[0])
            log("  admitted %s: %.1f r/s over %.1f s (limit %d)" % (name, rate, pb[0] - pa[0], LIMIT))
            if name == "after recovery":
                slack = (BURST + 4 * N) / (pb[0] - pa[0]) + LIMIT * (0.15 if SHORT else 0.05)
                check(rate <= LIMIT + slack, "limit enforced after recovery")
    log("  slowest request: phase B %.1f ms, phase A (no outage, same run) %.1f ms; "
        "cluster.timeout_ms %d" % (lat_b, lat_a, TIMEOUT_MS))
    check(lat_b <= TIMEOUT_MS, "no request blocked longer than cluster.timeout_ms")
    errs = [r["errors"] for r in res if r["errors"] != "none"]
    if errs:
        log("  wrk socket errors: %s" % errs)
    log("drill %s (files in %s)" % ("FAILED: " + "; ".join(failed) if failed else "passed", work))
    return 1 if failed else 0


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    except Exception as e:
        log("drill error: %s" % e)
    finally:
        for p in reversed(procs):
            stop(p)
    sys.exit(rc)
