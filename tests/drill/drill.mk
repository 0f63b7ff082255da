# tests/drill/drill.mk — the recovery drill's workload generator.
#
# Included by the top-level Makefile; builds $(BUILD)/bin/drill-load as
# part of `make all` (through all-parts). The drill itself is
# tests/drill/drill.sh (make drill) and tests/drill/short.sh (make test).

DRILL_LOAD := $(BUILD)/bin/drill-load

all-parts: $(DRILL_LOAD)

$(DRILL_LOAD): $(call obj,tests/drill/drill_load.c tests/drill/drill_transfer.c \
                 tests/drill/drill_worker.c tests/drill/drill_saga.c tests/drill/drill_msg.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
