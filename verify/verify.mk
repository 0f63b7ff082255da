# make verify — model-checks verify/dtx.pml (SPIN): every property run must
# hold and every mutant must be caught (verify/run.sh; verify/README.md).
.PHONY: verify
verify:
	scripts/deps.sh
	verify/run.sh
