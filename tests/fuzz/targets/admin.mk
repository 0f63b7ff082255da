# What a client sends the admin HTTP API: query parameters, action bodies,
# the Host header (coordinator/admin, the parts without MHD or a database).
FUZZ_TARGETS += admin
FUZZ_SRC_admin   := coordinator/admin/admin_query.c coordinator/admin/admin_body.c \
                    coordinator/admin/admin_host.c common/src/proto.c common/src/proto_spec.c common/src/bundle.c common/src/saga.c common/src/tmsg.c common/src/trymany.c common/src/name.c common/src/trace.c common/src/id.c \
                    common/src/clock.c common/src/err.c \
                    common/src/log.c tests/fuzz/fuzz_admin.c
FUZZ_FLAGS_admin := -Icoordinator $(shell pkg-config --cflags json-c)
FUZZ_LIBS_admin  := $(shell pkg-config --libs json-c) -lpthread
