# samples/travel/travel.mk — the travel booking Saga sample (included by the
# top-level Makefile through its samples/*/*.mk include).
#
#   $(BUILD)/bin/travel       "travel participant ..." serves flights, hotels
#                             or payments; "travel book ..." books a trip
#   samples/travel/demo.sh    the demo (make demo-saga)

all-parts: $(BUILD)/bin/travel

$(BUILD)/bin/travel: $(BUILD)/obj/samples/travel/travel.o $(BUILD)/obj/samples/sample_ready.o \
                     $(BUILD)/obj/samples/sample_log.o $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

.PHONY: demo-saga
demo-saga: deps
	$(MAKE) all
	BUILD=$(BUILD) samples/travel/demo.sh
