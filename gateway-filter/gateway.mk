# gateway-filter/gateway.mk — dtx-gateway, its library and its test tools.
# Included by the top-level Makefile; uses its variables and its pattern
# rule $(BUILD)/obj/%.o.
#
#   $(BUILD)/lib/libdtxgw.a     the filter chain library (everything but main)
#   $(BUILD)/bin/dtx-gateway    the gateway
#   $(BUILD)/tests/gw-upstream  the test upstream server (tests, bench)
#
# The unit and integration test binaries get the gateway library and
# libmicrohttpd/libcurl through the target-specific additions below, so
# tests/unit/test_gw_*.c and tests/integration/test_gateway*.c link without
# any change to the top-level Makefile.

# libcrypto (OpenSSL, Debian libssl-dev): SHA-256 of API keys, JWT
# signatures (gateway-filter/src/core/gw_apikey.c, gw_jwt.c).
# hiredis (Debian libhiredis-dev): the Redis client of cluster-wide limits
# (gateway-filter/src/filters/gw_cluster_redis.c).
# liburing (Debian liburing-dev): a worker's send ring
# (gateway-filter/src/core/gw_uring.c).
GW_PKGS      := libmicrohttpd libcurl libcrypto hiredis liburing
GW_CFLAGS    := $(shell pkg-config --cflags $(GW_PKGS) 2>/dev/null)
GW_LIBS      := $(shell pkg-config --libs $(GW_PKGS) 2>/dev/null || echo -lmicrohttpd -lcurl -lcrypto -lhiredis -luring)
# The folders of gateway-filter/src, lowest first (gateway-filter/README.md
# says which may include which). Includes name the folder:
# #include "core/gw_clock.h", with -Igateway-filter/src.
GW_DIRS      := core limits config upstream filters runtime front app
GW_MAIN      := gateway-filter/src/app/main.c
GW_LIB_SRC   := $(filter-out $(GW_MAIN),$(foreach d,$(GW_DIRS),$(wildcard gateway-filter/src/$(d)/*.c)))
GW_TEST_SRC  := $(wildcard tests/unit/test_gw_*.c) tests/unit/gw_headers.c tests/unit/gw_tokens.c $(wildcard tests/integration/test_gateway*.c) \
                $(wildcard tests/integration/gw_*.c) $(wildcard tests/tools/gw_*.c)
LIBGW        := $(BUILD)/lib/libdtxgw.a
GW_BIN       := $(BUILD)/bin/dtx-gateway
GW_UPSTREAM  := $(BUILD)/tests/gw-upstream

$(call obj,$(GW_LIB_SRC) $(GW_MAIN) $(GW_TEST_SRC)): CPPFLAGS += -Igateway-filter/src $(GW_CFLAGS)

$(LIBGW): $(call obj,$(GW_LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(GW_BIN): $(call obj,$(GW_MAIN)) $(LIBGW) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(GW_LIBS) $(LIBS)

$(GW_UPSTREAM): $(call obj,tests/tools/gw_upstream.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(GW_LIBS) $(LIBS)

# Test binaries: the gateway library (before libdtx, which it uses) and
# the HTTP libraries.
$(BUILD)/tests/unit_tests: $(LIBGW)
$(BUILD)/tests/unit_tests: LIBS += $(LIBGW) $(LIBDTX_A) $(GW_LIBS)
$(BUILD)/tests/integration_tests: $(LIBGW)
$(BUILD)/tests/integration_tests: LIBS += $(LIBGW) $(LIBDTX_A) $(GW_LIBS)

.PHONY: gateway
gateway: $(GW_BIN) $(GW_UPSTREAM)
all-parts: $(GW_BIN) $(GW_UPSTREAM)

# The sample: a transfer service behind the gateway (samples/gateway).
GW_SAMPLE := $(BUILD)/bin/gw-transfer-service
$(call obj,samples/gateway/transfer_service.c): CPPFLAGS += $(GW_CFLAGS)
$(GW_SAMPLE): $(call obj,samples/gateway/transfer_service.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(GW_LIBS) $(LIBS)
all-parts: $(GW_SAMPLE)
