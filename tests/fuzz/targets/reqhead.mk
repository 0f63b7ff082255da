# The native front end's parser of client requests: heads and chunked
# bodies (untrusted bytes).
FUZZ_TARGETS += reqhead
FUZZ_SRC_reqhead   := gateway-filter/src/core/gw_reqhead.c gateway-filter/src/core/gw_http1.c \
                      tests/fuzz/fuzz_reqhead.c
FUZZ_FLAGS_reqhead := -Igateway-filter/src -Igateway-filter/src/core
