# gateway-filter/discovery.mk — the test DNS server of the discovery suite
# (tests/integration/test_gateway_discovery.c): tests/tools/gw_dns.py
# installed as $(BUILD)/tests/gw-dns (python3, standard library only).
GW_DNS := $(BUILD)/tests/gw-dns

$(GW_DNS): tests/tools/gw_dns.py
	@mkdir -p $(dir $@)
	install -m 755 $< $@

all-parts: $(GW_DNS)
