# samples/zmq/zmq.mk — the ZeroMQ service sample behind dtx-gateway
# (included by the top-level Makefile through its samples/*/*.mk include).
#
#   $(BUILD)/bin/zmq-echo-service   answers the gateway's zmq pool requests
#                                   (docs/gateway.md "ZeroMQ pools")

ZMQ_SAMPLE_BINS := $(BUILD)/bin/zmq-echo-service

all-parts: $(ZMQ_SAMPLE_BINS)

$(BUILD)/bin/zmq-echo-service: $(BUILD)/obj/samples/zmq/echo_service.o \
                                 $(BUILD)/obj/samples/sample_log.o $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
