# samples/order/order.mk — the 2PC order sample (included by the top-level
# Makefile through its samples/*/*.mk include).
#
#   $(BUILD)/bin/order-participant   serves "orders" or "inventory" over its database
#   $(BUILD)/bin/order-client        places orders, one 2PC transaction each
#   samples/order/demo.sh            the demo (BUILD=... samples/order/demo.sh)

ORDER_BINS := $(BUILD)/bin/order-participant $(BUILD)/bin/order-client

all-parts: $(ORDER_BINS)

$(BUILD)/bin/order-participant: $(BUILD)/obj/samples/order/participant.o $(BUILD)/obj/samples/order/order.o \
                                  $(BUILD)/obj/samples/sample_log.o $(BUILD)/obj/samples/sample_ready.o \
                                  $(BUILD)/obj/samples/sample_db.o $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/order-client: $(BUILD)/obj/samples/order/client.o $(BUILD)/obj/samples/order/order.o \
                             $(BUILD)/obj/samples/sample_log.o $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
