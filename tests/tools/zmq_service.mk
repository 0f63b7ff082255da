# tests/tools/zmq_service.mk — the Python ZeroMQ service of the gateway_zmq
# integration suite, copied next to the test binaries ($DTX_TEST_TESTBIN).

all-parts: $(BUILD)/tests/zmq-service.py

$(BUILD)/tests/zmq-service.py: tests/tools/zmq_service.py
	@mkdir -p $(dir $@)
	cp $< $@
	chmod +x $@
