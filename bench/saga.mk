# bench/saga.mk — dtx-saga-bench, the Saga row of `make bench` (bench/run.sh).
# Included by the top-level Makefile (*/*.mk).

$(BUILD)/bin/dtx-saga-bench: $(call obj,bench/dtx_saga_bench.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

all-parts: $(BUILD)/bin/dtx-saga-bench
