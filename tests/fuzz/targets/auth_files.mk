# The credential files dtxd reads: the admin token file and the CURVE
# allow-list (coordinator/admin/admin_auth.c, coordinator/engine/auth.c).
FUZZ_TARGETS += auth_files
FUZZ_SRC_auth_files   := coordinator/admin/admin_auth.c coordinator/engine/auth.c \
                         coordinator/core/metrics.c coordinator/core/series.c common/src/clock.c common/src/curve.c common/src/lineage.c common/src/proto.c common/src/proto_spec.c common/src/bundle.c common/src/saga.c common/src/tmsg.c common/src/trymany.c common/src/name.c common/src/trace.c common/src/id.c \
                         common/src/err.c common/src/log.c tests/fuzz/fuzz_auth_files.c
FUZZ_FLAGS_auth_files := -Icoordinator $(shell pkg-config --cflags libzmq json-c libpq 2>/dev/null)
FUZZ_LIBS_auth_files  := $(shell pkg-config --libs libzmq) -lpthread
