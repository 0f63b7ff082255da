# tools/dtxctl.mk — the admin side of the build (included by the top-level
# Makefile): the web console compiled into dtxd, the libraries the admin
# HTTP API needs, and the dtxctl command-line tool.
ADMIN_MHD_LIBS  := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
ADMIN_CURL_LIBS := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

# coordinator/admin/console/* -> one C table (scripts/embed-console.sh), linked
# into libdtxcore next to the admin modules that serve it.
GEN_CONSOLE     := $(BUILD)/gen/console.c
GEN_CONSOLE_OBJ := $(BUILD)/obj/gen/console.o
$(GEN_CONSOLE): $(wildcard coordinator/admin/console/*) scripts/embed-console.sh
	@mkdir -p $(dir $@)
	scripts/embed-console.sh coordinator/admin/console > $@
$(GEN_CONSOLE_OBJ): $(GEN_CONSOLE) coordinator/admin/admin_console.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@
$(LIBCORE): $(GEN_CONSOLE_OBJ)

# libmicrohttpd for whatever links the coordinator core; libcurl for the
# admin API tests.
$(DTXD) $(BUILD)/tests/unit_tests: LIBS += $(ADMIN_MHD_LIBS)
$(BUILD)/tests/integration_tests: LIBS += $(ADMIN_CURL_LIBS)

# keygen (tools/dtxctl/keygen.c) shares the CURVE key file code with dtxd
# and libdtx; it needs libzmq only (in PKG_LIBS). The UTF-8 decoder its
# printing uses is common's (common/src/log.c).
DTXCTL_SRC := $(wildcard tools/dtxctl/*.c) common/src/curve.c common/src/log.c
DTXCTL     := $(BUILD)/bin/dtxctl
$(DTXCTL): $(call obj,$(DTXCTL_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(ADMIN_CURL_LIBS)

all-parts: $(DTXCTL)
