/*
 * gw_balance.h — where a new connection goes (gw_balance.c): the accept
 * balance between a server's native workers. Each worker has its own
 * SO_REUSEPORT listening socket and the kernel picks one by a hash of the
 * connection's addresses, blind to load: 256 connections over 2 workers
 * split 136/120 as often as not, and the fuller worker's connections wait
 * longer. The worker that accepted a connection asks dtx_gw_balance_pick
 * whether to keep it or hand it to another worker (gw_native.c does the
 * handing).
 *
 * The rule: the accepting worker keeps the connection unless it holds at
 * least `slack` more than the least loaded worker; then that one gets
 * it. While connections only open (and decisions do not race), no worker
 * ever holds more than `slack` over the least loaded: a connection that
 * lands where the gap is already `slack` goes to the bottom.
 *
 * A pure function: no state, no threads; the caller reads the counts.
 */
#ifndef DTX_GW_BALANCE_H
#define DTX_GW_BALANCE_H

/* The default slack (config none, --accept-balance on). */
#define DTX_GW_BALANCE_SLACK 2

/* The worker that is to serve a connection accepted by worker `self`,
 * given the connections each of the n workers holds now (open[0..n)).
 * Returns self when slack <= 0 (the balance is off), when n < 2, or when
 * open[self] - min(open) < slack; else the index of the least loaded
 * worker (the lowest index among equals). Asserts 0 <= self < n. */
int dtx_gw_balance_pick(const int *open, int n, int self, int slack);

#endif
