#!/bin/sh
# The short cluster-limit drill of dtx-gateway (issue 19; the long one is
# make drill-gateway): 3 gateways + redis-server, wrk at 5x the limit for
# a few seconds, Redis killed and started again. About 15 s.
set -e
DRILL_SHORT=1 BUILD="${BUILD:-build}" exec tests/drill/gateway_cluster.py
