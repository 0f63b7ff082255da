#!/usr/bin/env python3
"""timeline.py — where one transaction's time goes at 1 in flight.

Reads the output of `perf trace` (bench/profile.sh PROFILE_TIMELINE=1
makes it: dtxd, both bench-participants, dtx-bench and every PostgreSQL
process traced at once, so their timestamps line up) and prints the median
of each segment of a transaction's chain, in ms (and its quartiles, p90 and
mean: a wait that only some transactions take shows in p75, p90 and the
mean, not the median):

  A  app thread's eventfd write (libzmq's command to its I/O thread) ->
     that I/O thread's sendto: the sending side's thread hand-off
  B  an I/O thread's sendto -> the peer's I/O thread has read it: TCP on
     loopback and the receiving I/O thread's wake-up
  C  the receiving I/O thread's eventfd write -> its app thread's read:
     the receiving side's thread hand-off
  D  dtxd's loop: a message read -> its log batch sent (D1); a log
     result read -> the next message sent (D2); a message read -> its
     answer sent with no write (D3)
  E  dtxd's send of a batch -> the PostgreSQL backend has read it
  F  backend: batch read -> its results sent (a sync commit, waiting for
     the WAL flush, or a lazy one); F1: batch read -> the WAL write
  G  the backend's fdatasync;  H  fdatasync end -> results sent
  I  results sent -> dtxd has read them
  P  a participant: message read -> its answer handed to libzmq

A hop (one ZeroMQ message from one process's app thread to another's) is
A + sendto + B + C. At 1 in flight the chain is sequential, so the sum over
a transaction's hops, writes and turns is its latency; segments measured
across all transactions of the traced window. Tracing adds some 5-10 us to
every system call: the parts are a little longer than untraced.

  timeline.py PERF_TRACE_OUTPUT
"""
import re
import statistics
import sys

LINE = re.compile(r'^\s*([\d.]+) \(\s*([\d.]*)\s*(?:ms)?\): (\S+)/(\d+)\s+(.*)$')
CALL = re.compile(r'(\w+)\((.*?)\)\s*(?:= (.*))?$')
CONT = re.compile(r'\]: (\w+)\(\)\)?\s+= (.*)$')


def events(path):
    """(end, start, comm, tid, syscall, args, result), sorted by end."""
    out, pending = [], {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            t, dur, comm, tid, rest = float(m[1]), m[2], m[3], m[4], m[5]
            if rest.startswith('...'):
                c = CONT.search(rest)
                if c and tid in pending:
                    name, args, start = pending.pop(tid)
                    out.append((t + float(dur or 0), start, comm, tid, name, args, c[2]))
                continue
            c = CALL.match(rest)
            if c and dur != '':
                out.append((t + float(dur), t, comm, tid, c[1], c[2], c[3] or ''))
            else:
                c = re.match(r'(\w+)\((.*)', rest)
                if c:
                    pending[tid] = (c[1], c[2], t)
    out.sort()
    return out


def segments(evs):
    seg, last = {}, {}

    def add(key, v):
        if 0 <= v < 50:  # a gap of 50 ms is an idle period, not a step
            seg.setdefault(key, []).append(v)

    for end, start, comm, tid, name, args, ret in evs:
        io = comm.startswith('ZMQbg')
        pg = comm == 'postgres'
        dtxd = comm == 'dtxd'
        part = comm.startswith('bench-partic')
        ok = not ret.startswith('-1')
        mbox = name in ('read', 'write') and 'count: 8' in args  # libzmq's eventfd
        if io and name == 'sendto':
            if 'app' in last:
                add('A app thread -> its I/O thread (hand-off)', start - last.pop('app'))
            last['zsend'] = (end, tid)
        if io and name == 'recvfrom' and ok and 'zsend' in last and last['zsend'][1] != tid:
            add('B I/O sendto -> peer I/O has read (TCP, wake-up)', end - last['zsend'][0])
        if io and name == 'write' and mbox:
            last['io'] = end
        if not io and not pg and name == 'read' and mbox and 'io' in last:
            add('C peer I/O thread -> its app thread (hand-off)', end - last.pop('io'))
        if not io and not pg and name == 'write' and mbox:
            last['app'] = start
        if dtxd and name == 'read' and mbox:
            last['dmsg'] = end
        if dtxd and name == 'recvfrom' and ok:
            last['dres'] = end
        if dtxd and name == 'sendto' and 'NOSIGNAL' in args:
            if 'dmsg' in last:
                add('D1 dtxd: message read -> log batch sent', start - last.pop('dmsg'))
            last['pgsend'] = end
        if dtxd and name == 'write' and mbox:
            if 'dres' in last:
                add('D2 dtxd: log result read -> message sent', start - last.pop('dres'))
            elif 'dmsg' in last:
                add('D3 dtxd: message read -> answer sent (no write)', start - last.pop('dmsg'))
        if part and name == 'read' and mbox:
            last['pin'] = end
        if part and name == 'write' and mbox and 'pin' in last:
            add('P participant: message read -> answer sent', start - last.pop('pin'))
        if pg and name == 'recvfrom' and ok and 'pgsend' in last:
            add('E dtxd sent a batch -> backend has read it', end - last.pop('pgsend'))
            last['pgrecv'] = end
            last.pop('fsync', None)
        if pg and name == 'pwrite64' and 'pgrecv' in last and 'pw' not in last:
            add('F1 backend: batch read -> WAL write', start - last['pgrecv'])
            last['pw'] = 1
        if pg and name == 'fdatasync' and 'pgrecv' in last:
            add('G backend fdatasync', end - start)
            last['fsync'] = end
        if pg and name == 'sendto' and 'pgrecv' in last:
            kind = 'sync' if 'fsync' in last else 'lazy'
            add('F backend: batch read -> results sent (%s)' % kind, end - last.pop('pgrecv'))
            if 'fsync' in last:
                add('H backend: fdatasync end -> results sent', end - last.pop('fsync'))
            last.pop('pw', None)
            last['pgres'] = end
        if dtxd and name == 'recvfrom' and ok and 'pgres' in last:
            add('I backend sent results -> dtxd has read them', end - last.pop('pgres'))
    return seg


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: timeline.py PERF_TRACE_OUTPUT')
    try:
        seg = segments(events(sys.argv[1]))
    except OSError as e:
        sys.exit('timeline: cannot read %s: %s' % (sys.argv[1], e.strerror))
    if not seg:
        sys.exit('timeline: no segment found (was it a perf trace of dtxd and its peers?)')
    print('   %-50s %5s %7s %7s %7s %7s %7s' % ('segment (ms)', 'n', 'p25', 'p50', 'p75', 'p90',
                                              'mean'))
    for key in sorted(seg):
        v = seg[key]
        q = statistics.quantiles(v, n=20, method='inclusive') if len(v) > 1 else [v[0]] * 19
        print('   %-50s %5d %7.3f %7.3f %7.3f %7.3f %7.3f' % (key, len(v), q[4], statistics.median(v),
                                                          q[14], q[17], statistics.mean(v)))


if __name__ == '__main__':
    main()
