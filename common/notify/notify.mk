# common/notify/notify.mk — dtx/notify.h (sd_notify for systemd's
# Type=notify units) linked into dtxd and dtx-gateway only: libdtx, built
# from common/src, stays free of libsystemd. Included by the top-level
# Makefile; libsystemd-dev comes from scripts/deps.d/base-systemd.list.
SYSTEMD_LIBS := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
NOTIFY_OBJ   := $(call obj,common/notify/notify.c)
# $(BUILD)/bin/dtx-gateway spelled out: gateway-filter/gateway.mk, which
# names it GW_BIN, is read after this file.

$(DTXD) $(BUILD)/bin/dtx-gateway: $(NOTIFY_OBJ)
$(DTXD) $(BUILD)/bin/dtx-gateway: LIBS += $(SYSTEMD_LIBS)

# tests/unit/test_notify.c checks the datagrams (dtx_notify_message).
$(BUILD)/tests/unit_tests: $(NOTIFY_OBJ)
$(BUILD)/tests/unit_tests: LIBS += $(SYSTEMD_LIBS)
