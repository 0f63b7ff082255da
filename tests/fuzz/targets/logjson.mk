# A log line as JSON (dtx_log_json): the converter reads lines whose
# values came from outside (peer text, PostgreSQL messages, names), and
# any host's own lines through the public API.
FUZZ_TARGETS += logjson
FUZZ_SRC_logjson   := common/src/log_json.c common/src/log.c tests/fuzz/fuzz_logjson.c
FUZZ_FLAGS_logjson := -I/usr/include/json-c
FUZZ_LIBS_logjson  := -ljson-c -lpthread
