# The gateway's JSON configuration, as PUT /config receives it (the admin
# API's request body), with the admin API's checks of an accepted document.
FUZZ_TARGETS += gwconfig
FUZZ_SRC_gwconfig   := $(wildcard gateway-filter/src/config/*.c) gateway-filter/src/core/gw_addr.c \
                       gateway-filter/src/core/gw_path.c \
                       gateway-filter/src/core/gw_jwt.c gateway-filter/src/core/gw_jwk.c gateway-filter/src/core/gw_jwks.c \
                      gateway-filter/src/core/gw_apikey.c gateway-filter/src/core/gw_vars.c \
                       common/src/err.c common/src/name.c common/src/saga.c common/src/trymany.c tests/fuzz/fuzz_gwconfig.c
FUZZ_FLAGS_gwconfig := -Igateway-filter/src -I/usr/include/json-c
FUZZ_LIBS_gwconfig  := -ljson-c -lcrypto
