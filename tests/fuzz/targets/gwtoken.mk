# The gateway's token files (--admin-token-file, --dtxd-token-file).
FUZZ_TARGETS += gwtoken
FUZZ_SRC_gwtoken   := $(wildcard gateway-filter/src/config/*.c) gateway-filter/src/core/gw_addr.c \
                      gateway-filter/src/core/gw_path.c \
                      gateway-filter/src/core/gw_jwt.c gateway-filter/src/core/gw_jwk.c gateway-filter/src/core/gw_jwks.c \
                      gateway-filter/src/core/gw_apikey.c gateway-filter/src/core/gw_vars.c \
                      common/src/err.c common/src/name.c common/src/saga.c tests/fuzz/fuzz_gwtoken.c
FUZZ_FLAGS_gwtoken := -Igateway-filter/src -I/usr/include/json-c
FUZZ_LIBS_gwtoken  := -ljson-c -lcrypto
