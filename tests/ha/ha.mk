# tests/ha/ha.mk — the log on a replicated PostgreSQL under pg_auto_failover
# (docs/ha.md). Included by the top-level Makefile; nothing here is part of
# `make` or `make test` (the ha integration suite, tests/integration/
# test_ha.c, needs no failover manager and runs with the others).
#
#   make ha-demo    a primary and a synchronous standby, dtxd x2, the banks,
#                   transfers; the primary killed; the standby promoted;
#                   dtxd reconnect; money conserved (tests/ha/demo.sh)
#   make drill-ha   the recovery drill with >= 5 primary kills (failovers)
#                   on top of its coordinator and participant faults
#                   (tests/ha/drill-ha.sh)

.PHONY: ha-demo drill-ha ha-deps

ha-deps: deps
	@scripts/deps.sh ha

ha-demo: ha-deps
	$(MAKE) all
	BUILD=$(BUILD) tests/ha/demo.sh

drill-ha: ha-deps
	$(MAKE) all
	BUILD=$(BUILD) SAN=$(SAN) tests/ha/drill-ha.sh
