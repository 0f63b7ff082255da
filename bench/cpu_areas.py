#!/usr/bin/env python3
"""bench/cpu_areas.py - dtxd's CPU per transaction by area, from perf.

    perf record -F HZ --call-graph dwarf -p DTXD -o perf.data -- sleep S
    perf script -F comm,tid,ip,sym,dso -i perf.data > samples.txt
    bench/cpu_areas.py samples.txt TX HZ

TX is the transactions committed during the recording, HZ perf's sampling
frequency (each sample is 1/HZ s of CPU). bench/profile.sh runs it with
PROFILE_AREAS=1. Each sample of libzmq's I/O thread counts as ZeroMQ I/O:
CurveZMQ crypto (its innermost frame in libsodium), kernel, or libzmq and
libc. A sample of the loop thread goes to the innermost frame that names an
area: libzmq or libsodium (ZeroMQ calls), libpq or coordinator/log (log),
libmicrohttpd or coordinator/admin (admin), core/metrics.c or
core/series.c (metrics), coordinator/engine or coordinator/core (engine),
common/src but zpoll.c (common: the message codec, hashing, the clock),
the rest of dtxd (loop: loop.c, dtx_zpoll, main.c, config.c); a kernel sample to the user frame that made the
system call. Functions are placed by the source file that defines them
(the coordinator's and common's .c files, read from the repository).
"""
import collections
import os
import re
import sys

AREAS = [
    ('io-crypto', 'ZeroMQ I/O thread: CurveZMQ crypto (libsodium)'),
    ('io-kernel', 'ZeroMQ I/O thread: kernel (TCP, epoll, wake-ups)'),
    ('io-user', 'ZeroMQ I/O thread: libzmq and libc'),
    ('zmq', 'loop thread: ZeroMQ calls'),
    ('log', 'loop thread: log (libpq, store, set statements)'),
    ('engine', 'loop thread: engine'),
    ('common', 'loop thread: common (message codec, hashing, clock)'),
    ('loop', 'loop thread: loop (dtx_zpoll, the turn)'),
    ('metrics', 'loop thread: metrics'),
    ('admin', 'loop thread: admin (libmicrohttpd)'),
    ('other', 'loop thread: unplaced (libc or unknown frames only)'),
]
DEF = re.compile(r'^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;]*$')


def source_map(root):
    """Function name -> area, from the .c files that define them."""
    where = {}
    for sub in ('coordinator', 'common/src'):
        for d, _, files in os.walk(os.path.join(root, sub)):
            rel = os.path.relpath(d, root)
            for f in files:
                if not f.endswith('.c'):
                    continue
                if rel.startswith('coordinator/log'):
                    area = 'log'
                elif rel.startswith('coordinator/admin'):
                    area = 'admin'
                elif f in ('metrics.c', 'series.c'):
                    area = 'metrics'
                elif rel.startswith(('coordinator/engine', 'coordinator/core')):
                    area = 'engine'
                elif rel.startswith('common') and f != 'zpoll.c':
                    area = 'common'
                else:
                    area = 'loop'
                with open(os.path.join(d, f), errors='replace') as fh:
                    for line in fh:
                        m = DEF.match(line)
                        if m and m.group(1) not in ('if', 'for', 'while', 'switch', 'return'):
                            where.setdefault(m.group(1), area)
    return where


def area_of(sym, dso, where):
    if 'libsodium' in dso or 'libzmq' in dso or sym.startswith('zmq_'):
        return 'zmq'
    if 'libpq' in dso or sym.startswith('PQ'):
        return 'log'
    if 'microhttpd' in dso or sym.startswith('MHD_'):
        return 'admin'
    if 'dtxd' not in os.path.basename(dso):
        return None
    return where.get(sym.split('+')[0])


def main(argv):
    if len(argv) < 4:
        sys.stderr.write('usage: cpu_areas.py PERF_SCRIPT_OUTPUT TX HZ [REPO_ROOT]\n')
        return 2
    try:
        tx = float(argv[2])
        hz = float(argv[3])
    except ValueError:
        sys.stderr.write('cpu_areas: TX and HZ must be numbers\n')
        return 2
    if tx <= 0 or hz <= 0:
        sys.stderr.write('cpu_areas: TX and HZ must be above 0\n')
        return 2
    root = argv[4] if len(argv) > 4 else os.path.join(os.path.dirname(__file__), '..')
    try:
        with open(argv[1], errors='replace') as fh:
            text = fh.read()
    except OSError as e:
        sys.stderr.write('cpu_areas: cannot read %s: %s\n' % (argv[1], e.strerror))
        return 2
    where = source_map(root)
    frame = re.compile(r'^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$')
    count = collections.Counter()
    n = 0
    for block in text.split('\n\n'):
        lines = [l for l in block.split('\n') if l.strip()]
        if len(lines) < 2:
            continue
        frames = [m.groups() for m in map(frame.match, lines[1:]) if m]
        if not frames:
            continue
        n += 1
        kernel = 'kernel' in frames[0][1]
        if lines[0].startswith('ZMQbg/IO'):
            count['io-crypto' if 'libsodium' in frames[0][1]
                  else 'io-kernel' if kernel else 'io-user'] += 1
            continue
        area = None
        for sym, dso in frames:
            area = area_of(sym, dso, where)
            if area:
                break
        count[area or 'other'] += 1
    if n == 0:
        sys.stderr.write('cpu_areas: no samples with call chains in %s\n' % argv[1])
        return 1
    print('   %-52s %10s %7s' % ('dtxd, by area', 'CPU-us/tx', 'share'))
    for key, label in AREAS:
        if count[key]:
            print('   %-52s %10.1f %6.1f%%' % (label, count[key] / hz * 1e6 / tx, 100.0 * count[key] / n))
    print('   %-52s %10.1f   (%d samples)' % ('total', n / hz * 1e6 / tx, n))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
