# The wire codec (every frame a peer sends dtxd or a participant).
FUZZ_TARGETS += proto
FUZZ_SRC_proto := common/src/proto.c common/src/proto_spec.c common/src/bundle.c common/src/saga.c common/src/tmsg.c common/src/trymany.c common/src/name.c common/src/trace.c common/src/id.c common/src/clock.c \
                  common/src/err.c tests/fuzz/fuzz_proto.c
