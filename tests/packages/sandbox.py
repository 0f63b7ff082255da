#!/usr/bin/env python3
"""tests/packages/sandbox.py - the units' sandbox lets the daemons live.

A unit's SystemCallFilter= and RestrictAddressFamilies= only act under
systemd, where a refused call returns EPERM (or EAFNOSUPPORT) and a library
that asserts on it aborts the daemon (libzmq does: sched_setscheduler for
its threads, getifaddrs over netlink when it binds). Without systemd as
PID 1 this checks the same thing from the other side: the system calls and
socket families a daemon really used (strace -f, recorded by ready.py
under DTX_READY_STRACE) must all be allowed by its unit, the filter's
groups expanded by `systemd-analyze syscall-filter` itself.

  sandbox.py UNIT_FILE STRACE_FILE...
Exit 0 when every call and family is allowed; 1 listing those that are not.
"""
import re
import subprocess
import sys


def groups():
    out = subprocess.run(['systemd-analyze', 'syscall-filter'], check=True,
                         capture_output=True, text=True).stdout
    table, cur = {}, None
    for line in out.splitlines():
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        if not line[0].isspace() and s.startswith('@'):
            cur = s.split()[0]
            table[cur] = []
        elif cur:
            table[cur].append(s.split()[0])
    return table


def expand(name, table, depth=0):
    if not name.startswith('@'):
        return {name}
    out = set()
    for m in table.get(name, []):
        out |= expand(m, table, depth + 1)
    return out


def unit_policy(path):
    """(allowed syscalls, allowed families) as systemd would apply them:
    the first SystemCallFilter= decides allow- or deny-list; later lines
    add to it or (with ~) take from it."""
    table = groups()
    allow, mode, families = set(), None, None
    for line in open(path):
        line = line.strip()
        if line.startswith('SystemCallFilter='):
            v = line.split('=', 1)[1]
            neg = v.startswith('~')
            names = set()
            for n in v.lstrip('~').split():
                names |= expand(n, table)
            if mode is None:
                mode = 'deny' if neg else 'allow'
            if mode != 'allow':
                sys.exit('sandbox: %s: a deny-list filter is not handled here' % path)
            allow = allow - names if neg else allow | names
        elif line.startswith('RestrictAddressFamilies='):
            families = set(line.split('=', 1)[1].split())
    return (allow if mode else None), families


def used(path):
    """The system calls (a line "PID name(...") and socket families a
    strace -f file records."""
    calls, fams = set(), set()
    call_re = re.compile(r'^\d+\s+([a-z_0-9]+)\(')
    for line in open(path, errors='replace'):
        m = call_re.match(line)
        if m:
            calls.add(m.group(1))
        f = re.search(r'\bsocket\((AF_[A-Z0-9]+)', line)
        if f:
            fams.add(f.group(1))
    return calls, fams


def main():
    unit, traces = sys.argv[1], sys.argv[2:]
    allow, families = unit_policy(unit)
    bad = []
    for t in traces:
        name = t.rsplit('/', 1)[-1]
        calls, fams = used(t)
        if not calls:
            bad.append('%s: no system calls recorded' % name)
            continue
        refused = sorted(calls - allow) if allow is not None else []
        if refused:
            bad.append('%s: system calls %s refuses: %s' % (name, unit, ' '.join(refused)))
        refused = sorted(fams - families) if families is not None else []
        if refused:
            bad.append('%s: socket families %s refuses: %s' % (name, unit, ' '.join(refused)))
        print('sandbox: %s: %d system calls, families %s' % (name, len(calls),
                                                            ' '.join(sorted(fams)) or '-'))
    for b in bad:
        print('sandbox: FAIL: ' + b, file=sys.stderr)
    if not bad:
        print('sandbox: all allowed by %s' % unit.rsplit('/', 1)[-1])
    return 1 if bad else 0


sys.exit(main())
