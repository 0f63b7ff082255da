# The gateway's parser of upstream answers (untrusted bytes).
FUZZ_TARGETS += http1
FUZZ_SRC_http1   := gateway-filter/src/core/gw_http1.c tests/fuzz/fuzz_http1.c
FUZZ_FLAGS_http1 := -Igateway-filter/src -Igateway-filter/src/core
