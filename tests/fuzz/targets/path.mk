# The gateway's request path normaliser (untrusted paths decide routes).
FUZZ_TARGETS += path
FUZZ_SRC_path   := gateway-filter/src/core/gw_path.c tests/fuzz/fuzz_path.c
FUZZ_FLAGS_path := -Igateway-filter/src
