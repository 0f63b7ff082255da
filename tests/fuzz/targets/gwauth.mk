# The gateway's identity parsing: JWTs (Authorization: Bearer), JWKS
# documents (jwks_file), base64url and API key lookups.
FUZZ_TARGETS += gwauth
FUZZ_SRC_gwauth   := gateway-filter/src/core/gw_jwt.c gateway-filter/src/core/gw_jwk.c \
                     gateway-filter/src/core/gw_apikey.c \
                     common/src/err.c tests/fuzz/fuzz_gwauth.c
FUZZ_FLAGS_gwauth := -Igateway-filter/src -I/usr/include/json-c
FUZZ_LIBS_gwauth  := -ljson-c -lcrypto
