# tests/tsan/tsan.mk — the programs of the tsan stage (tests/tsan/run.sh).
#
# Included by the top-level Makefile. `make all` builds them like every
# test program (so they stay warning-free); the tsan stage builds them
# with TSAN=1 into build-tsan/ through the tsan-bins target:
#
#   $(BUILD)/tests/tsan-sdk      libdtx from several threads (tsan_sdk.c)
#   $(BUILD)/tests/tsan-gateway  traffic and swaps against dtx-gateway
#                                (tsan_gateway.c)
#
# tsan-bins is what the stage runs under ThreadSanitizer: those two and
# the gateway itself.

TSAN_SDK := $(BUILD)/tests/tsan-sdk
TSAN_GW  := $(BUILD)/tests/tsan-gateway

$(call obj,tests/tsan/tsan_gateway.c): CPPFLAGS += $(GW_CFLAGS)

$(TSAN_SDK): $(call obj,tests/tsan/tsan_sdk.c $(HARNESS_SRC)) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(TSAN_GW): $(call obj,tests/tsan/tsan_gateway.c tests/integration/gw_util.c \
                      $(HARNESS_SRC)) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(GW_LIBS) $(LIBS)

.PHONY: tsan-bins
tsan-bins: $(TSAN_SDK) $(TSAN_GW) $(GW_BIN)
all-parts: $(TSAN_SDK) $(TSAN_GW)
