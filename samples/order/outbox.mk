# samples/order/outbox.mk — the order service's transactional message
# sample (included by the top-level Makefile through its samples/*/*.mk
# include; order.mk beside it is the 2PC order sample).
#
#   $(BUILD)/bin/order-outbox    "order-outbox service", "... create", "... consumer"
#   samples/order/demo-msg.sh    the demo (make demo-msg)

all-parts: $(BUILD)/bin/order-outbox

$(BUILD)/bin/order-outbox: $(BUILD)/obj/samples/order/outbox.o $(BUILD)/obj/samples/sample_ready.o \
                    $(BUILD)/obj/samples/sample_log.o $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

.PHONY: demo-msg
demo-msg: deps
	$(MAKE) all
	BUILD=$(BUILD) samples/order/demo-msg.sh
