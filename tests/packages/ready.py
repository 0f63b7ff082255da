#!/usr/bin/env python3
"""tests/packages/ready.py - dtxd and dtx-gateway tell systemd the truth.

Plays systemd's side of Type=notify: a unix datagram socket named by
NOTIFY_SOCKET, then checks what each daemon sends, and when.

dtxd:
  - its log database does not exist yet: it waits (STATUS= says so) and
    sends NO READY=1 for a while (the withheld case);
  - the database is created: READY=1 arrives, and at that moment the log
    says "lease taken" and dtx_node holds an unexpired lease for its node;
  - SIGTERM: STOPPING=1, exit 0.
dtx-gateway (with the example /etc/dtx/gateway.json, packaging/etc/):
  - its port is taken: it exits and sends no READY=1;
  - READY=1 arrives once it listens: a TCP connection to the port it names
    in the ready file succeeds at that moment;
  - SIGHUP: RELOADING=1, then READY=1; SIGTERM: STOPPING=1, exit 0.

  ready.py BIN_DIR WORK_DIR PGHOST PGPORT GATEWAY_JSON
Exit 0 when all holds; 1 with the reason otherwise. With DTX_READY_STRACE=DIR
the serving daemons run under `strace -D -f` (the daemon stays the direct
child and gets the signals) into DIR/dtxd.strace and DIR/gateway.strace,
for tests/packages/sandbox.py; each then also serves one request (dtxd an
admin read, the gateway a transactional POST), so that the record covers
serving, not only starting.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

BIN, WORK, PGHOST, PGPORT, GW_JSON = sys.argv[1:6]
PSQL = os.environ.get('PGBIN', '/usr/lib/postgresql/15/bin') + '/psql'
STRACE = os.environ.get('DTX_READY_STRACE', '')
procs = []


def fail(msg):
    print('ready: FAIL: ' + msg, file=sys.stderr)
    for p in procs:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


class Notify:
    """systemd's end of NOTIFY_SOCKET: every datagram, in order."""

    def __init__(self, name):
        self.path = os.path.join(WORK, name + '.notify')
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []
        self.pending = []  # read, not yet looked at by wait_for

    def read(self, seconds):
        """Collects datagrams for up to seconds; returns those new."""
        new = []
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return new
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode('utf-8', 'replace')
            except socket.timeout:
                return new
            fields = dict(l.split('=', 1) for l in data.split('\n') if '=' in l)
            new.append(fields)
            self.got.append(fields)

    def wait_for(self, key, seconds, proc=None):
        """The first datagram not yet looked at that carries key=..., or
        None by the deadline (or when proc exits); the ones after it stay
        for the next call."""
        end = time.monotonic() + seconds
        while True:
            while self.pending:
                m = self.pending.pop(0)
                if key in m:
                    return m
            if time.monotonic() >= end:
                return None
            exited = proc is not None and proc.poll() is not None
            self.pending += self.read(0.2)
            if exited and not self.pending:
                return None


def psql(db, sql):
    return subprocess.run([PSQL, '-X', '-At', '-h', PGHOST, '-p', PGPORT, '-U', 'postgres',
                           '-d', db, '-c', sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def start(args, notify, log, trace=None):
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    if STRACE and trace:
        args = ['strace', '-D', '-f', '-qq', '-o', os.path.join(STRACE, trace + '.strace')] + args
    p = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def check_dtxd():
    db = 'dtx_ready_%d' % os.getpid()
    node = 'ready-%d' % os.getpid()
    psql('postgres', 'DROP DATABASE IF EXISTS %s' % db)
    n = Notify('dtxd')
    logpath = os.path.join(WORK, 'dtxd-ready.log')
    url_file = os.path.join(WORK, 'dtxd.url')
    with open(logpath, 'w') as log:
        p = start([BIN + '/dtxd', '--db', 'host=%s port=%s user=postgres dbname=%s'
                   % (PGHOST, PGPORT, db), '--listen', 'tcp://127.0.0.1:*',
                   '--http-listen', '127.0.0.1:0', '--http-url-file', url_file,
                   '--node-id', node], n, log, 'dtxd')
    # Withheld: the database does not exist, so no READY however long.
    early = n.read(3.0)
    if p.poll() is not None:
        fail('dtxd exited (%d) while its database was missing' % p.returncode)
    if any('READY' in m for m in early):
        fail('dtxd said READY=1 while its log database did not exist: %r' % early)
    if not any('waiting for the log database' in m.get('STATUS', '') for m in early):
        fail('dtxd sent no STATUS=waiting for the log database while waiting: %r' % early)
    print('ready: dtxd: no READY=1 during 3 s without its database (STATUS=%s)'
          % early[0].get('STATUS'))
    psql('postgres', 'CREATE DATABASE %s' % db)
    m = n.wait_for('READY', 60, p)
    if m is None:
        fail('dtxd never said READY=1 after its database came (log: %s)' % logpath)
    # At READY=1 the lease is held: logged before, and in dtx_node now.
    with open(logpath) as f:
        text = f.read()
    if 'lease taken' not in text:
        fail('READY=1 came before dtxd logged "lease taken"')
    held = psql(db, "SELECT count(*) FROM dtx_node WHERE node_id = '%s' AND lease_until > now()"
                % node)
    if held != '1':
        fail('READY=1 came but dtx_node holds no live lease for %s' % node)
    if node not in m.get('STATUS', ''):
        fail('READY=1 without a STATUS naming the node: %r' % m)
    print('ready: dtxd: READY=1 after its database came, lease held (STATUS=%s)' % m['STATUS'])
    if STRACE:
        with open(url_file) as f:
            url = f.read().strip()
        urllib.request.urlopen(url + '/metrics', timeout=30).read()
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    m = n.wait_for('STOPPING', 30, p)
    rc = p.wait(30)
    if m is None or rc != 0:
        fail('dtxd on SIGTERM: STOPPING=1 %s, exit %d' % ('sent' if m else 'missing', rc))
    print('ready: dtxd: STOPPING=1 on SIGTERM, exit 0')
    psql('postgres', 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % db)


def check_gateway():
    # Withheld: a port already taken; the gateway cannot listen, so no READY.
    taken = socket.socket()
    taken.bind(('127.0.0.1', 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    n = Notify('gateway-busy')
    with open(os.path.join(WORK, 'gateway-busy.log'), 'w') as log:
        p = start([BIN + '/dtx-gateway', '--config', GW_JSON, '--listen', '127.0.0.1:%d' % port,
                   '--admin-listen', '127.0.0.1:0'], n, log)
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        fail('dtx-gateway kept running on a port already taken')
    got = n.read(0.5)
    if rc == 0 or any('READY' in m for m in got):
        fail('dtx-gateway on a taken port: exit %d, messages %r' % (rc, got))
    taken.close()
    print('ready: dtx-gateway: port taken, exit %d, no READY=1' % rc)

    n = Notify('gateway')
    ready_file = os.path.join(WORK, 'gateway.ready')
    with open(os.path.join(WORK, 'gateway-ready.log'), 'w') as log:
        p = start([BIN + '/dtx-gateway', '--config', GW_JSON, '--listen', '127.0.0.1:0',
                   '--admin-listen', '127.0.0.1:0', '--ready-file', ready_file], n, log,
                  'gateway')
    m = n.wait_for('READY', 60, p)
    if m is None:
        fail('dtx-gateway never said READY=1')
    # At READY=1 it listens: both ports accept a connection now.
    with open(ready_file) as f:
        proxy_port, admin_port = (int(x) for x in f.read().split())
    for what, pt in (('proxy', proxy_port), ('admin', admin_port)):
        try:
            socket.create_connection(('127.0.0.1', pt), 5).close()
        except OSError as e:
            fail('READY=1 but the %s port %d refuses: %s' % (what, pt, e))
    if str(proxy_port) not in m.get('STATUS', ''):
        fail('READY=1 without the port in STATUS: %r' % m)
    print('ready: dtx-gateway: READY=1 with both ports accepting (STATUS=%s)' % m['STATUS'])
    if STRACE:
        # A transactional route: the gateway's dtx client (libzmq) starts,
        # whatever the answer (no dtxd listens at the example's endpoint).
        req = urllib.request.Request('http://127.0.0.1:%d/transfers' % proxy_port,
                                     data=b'{"from":"a","to":"b","amount":1}', method='POST',
                                     headers={'Content-Type': 'application/json'})
        try:
            urllib.request.urlopen(req, timeout=60).read()
        except urllib.error.HTTPError:
            pass
    p.send_signal(signal.SIGHUP)
    m = n.wait_for('RELOADING', 30, p)
    if m is None or 'MONOTONIC_USEC' not in m:
        fail('dtx-gateway on SIGHUP: no RELOADING=1 with MONOTONIC_USEC (%r)' % m)
    m = n.wait_for('READY', 30, p)
    if m is None:
        fail('dtx-gateway on SIGHUP: no READY=1 after RELOADING=1')
    print('ready: dtx-gateway: SIGHUP gives RELOADING=1 then READY=1 (STATUS=%s)'
          % m.get('STATUS'))
    p.send_signal(signal.SIGTERM)
    m = n.wait_for('STOPPING', 30, p)
    rc = p.wait(30)
    if m is None or rc != 0:
        fail('dtx-gateway on SIGTERM: STOPPING=1 %s, exit %d' % ('sent' if m else 'missing', rc))
    print('ready: dtx-gateway: STOPPING=1 on SIGTERM, exit 0')


os.makedirs(WORK, exist_ok=True)
check_dtxd()
check_gateway()
print('ready: ok')
