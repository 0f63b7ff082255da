# tests/drill/gateway_drill.mk — the cluster-limit drill of dtx-gateway
# (issue 19): 3 gateways + redis-server on this machine, wrk at 5x the
# cluster limit, Redis killed and started again mid-run. Not part of
# make test (tests/stages/gateway-drill.sh runs its short version).
#
#   make drill-gateway [DRILL_LIMIT=600 DRILL_SECONDS=20 DRILL_OUTAGE_SECONDS=15]

.PHONY: drill-gateway
drill-gateway: deps
	$(MAKE) all
	BUILD=$(BUILD) tests/drill/gateway_cluster.py
