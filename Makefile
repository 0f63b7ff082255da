# dtx — top-level build.
#
#   make            build everything (libraries, dtxd, samples, tests)
#   make test       install missing packages, build, run every stage of
#                   tests/run.sh against a private PostgreSQL: layers, unit,
#                   integration, browser, install, fuzz, tsan, drill
#   make test SAN=1 the same under AddressSanitizer + UBSan (leaks fail it)
#   make test TSAN=1 the same under ThreadSanitizer (build-tsan/; a report
#                   fails it). make test always runs the tsan stage.
#   make demo       the bank transfer demo (private PostgreSQL, dtxd, two
#                   participants, a batch of transfers)
#   make bench      benchmarks (not part of make test)
#   make install    PREFIX=/usr/local DESTDIR= : dtxd, dtxctl, dtx-gateway,
#                   libdtx (.a, .so with its links), headers, pkg-config file,
#                   the systemd units (UNITDIR) and example configs in
#                   /etc/dtx (SYSCONFDIR; packaging/packaging.mk)
#   make deb        dtxd, dtx-gateway, libdtx1, libdtx-dev .deb files in
#                   build/deb/ (packaging/packaging.mk)
#   make clean

PREFIX    ?= /usr/local
# The one place the version is written: binaries (--version), libdtx's
# header (DTX_VERSION_STRING), file name and soname (libdtx.so.MAJOR), the
# pkg-config file and the Debian packages all read it from VERSION.
DTX_VERSION    := $(shell cat VERSION)
DTX_SOVERSION  := $(firstword $(subst ., ,$(DTX_VERSION)))
DESTDIR   ?=
CC        ?= cc
SAN       ?= 0
TSAN      ?= 0
PKGS      := libzmq json-c libpq
# libpq has no pkg-config file on some systems; fall back to pg_config.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CUNIT_LIBS := $(shell pkg-config --libs cunit 2>/dev/null || echo -lcunit)

ifeq ($(SAN)$(TSAN),11)
$(error SAN=1 and TSAN=1 cannot be combined)
endif
ifeq ($(SAN),1)
BUILD     ?= build-san
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT       := -O1 -g
else ifeq ($(TSAN),1)
# ThreadSanitizer (tests/tsan/run.sh builds the same way for the tsan
# stage of make test). It cannot be combined with ASan.
BUILD     ?= build-tsan
SANFLAGS  := -fsanitize=thread
OPT       := -O1 -g
else
BUILD     ?= build
SANFLAGS  :=
OPT       := -O2 -g
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS    ?=
# $(BUILD)/include last: the generated dtx/version.h (every other header
# there is a copy of one found earlier in the list).
CPPFLAGS  += -D_GNU_SOURCE -Icommon/include -Iparticipant-sdk/include -Icoordinator $(PKG_CFLAGS) \
             -I$(BUILD)/include
ALLCFLAGS := -std=c11 $(OPT) $(WARN) -fPIC $(SANFLAGS) $(CFLAGS)
LDFLAGS   += $(SANFLAGS)
LIBS      := $(PKG_LIBS) -lpthread -lm

COMMON_SRC := $(wildcard common/src/*.c)
SDK_SRC    := $(wildcard participant-sdk/src/*.c)
CORE_SRC   := $(filter-out coordinator/main.c,$(wildcard coordinator/*.c coordinator/*/*.c))
UNIT_SRC   := $(wildcard tests/unit/*.c)
INTEG_SRC  := $(wildcard tests/integration/*.c)
HARNESS_SRC:= $(wildcard tests/harness/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

GEN_MIGRATIONS := $(BUILD)/gen/migrations.c
GEN_OBJ        := $(BUILD)/obj/gen/migrations.o

# dtx/version.h is made from VERSION (participant-sdk/include/dtx/version.h.in).
VERSION_H      := $(BUILD)/include/dtx/version.h
# The SDK's installed headers: what programs that use libdtx may include.
PUBLIC_HEADERS := common/include/dtx/types.h common/include/dtx/logging.h \
                  participant-sdk/include/dtx/dtx.h participant-sdk/include/dtx/participant.h \
                  participant-sdk/include/dtx/barrier.h \
                  participant-sdk/include/dtx/pgres.h participant-sdk/include/dtx/zsvc.h \
                  $(VERSION_H)
# The samples (and the benchmark participant) are compiled against a copy
# of exactly those, as a user's program is against the installed ones: an
# include of an uninstalled header fails their build.
STAGED_HEADERS := $(addprefix $(BUILD)/include/dtx/,$(notdir $(PUBLIC_HEADERS)))
SAMPLE_OBJS    := $(call obj,$(wildcard samples/*.c samples/*/*.c) bench/bench_participant.c)

LIBCOMMON := $(BUILD)/lib/libdtxcommon.a
LIBDTX_A  := $(BUILD)/lib/libdtx.a
LIBDTX_SO := $(BUILD)/lib/libdtx.so
# The ABI is explicit: every exported function under the version node
# DTX_1 of participant-sdk/libdtx.map (tests/install/check.sh checks that
# the map, the headers and the exports agree); the soname is libdtx.so.1.
LIBDTX_MAP := participant-sdk/libdtx.map
LIBCORE   := $(BUILD)/lib/libdtxcore.a
DTXD      := $(BUILD)/bin/dtxd
SAMPLES   := $(BUILD)/bin/bank-participant $(BUILD)/bin/bank-transfer
TEST_BINS := $(BUILD)/tests/unit_tests $(BUILD)/tests/integration_tests $(BUILD)/tests/test-participant
BENCH_BINS:= $(BUILD)/bin/dtx-bench $(BUILD)/bin/bench-participant $(BUILD)/bin/dtx-storm \
              $(BUILD)/bin/dtx-hop

.PHONY: all deps test test-unit demo demo-2pc demo-order bench drill install clean fuzz
all: $(LIBDTX_A) $(LIBDTX_SO) $(DTXD) $(SAMPLES) $(TEST_BINS) $(BENCH_BINS) $(BUILD)/lib/libdtx.pc all-parts

deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: %.c | $(VERSION_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -MMD -MP -c $< -o $@

# SQL migrations are compiled into the binaries, so dtxd and libdtx never
# look for files at run time.
$(GEN_MIGRATIONS): $(wildcard sql/*/*.sql) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	scripts/embed-sql.sh sql > $@
$(GEN_OBJ): $(GEN_MIGRATIONS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

# The objects of libdtx (shared with dtxd and the gateway through the static
# libraries) keep every symbol hidden but the functions the installed
# headers declare with DTX_EXPORT: that is all libdtx.so exports
# (tests/install/check.sh compares the two). Static linking ignores it.
LIB_OBJS := $(call obj,$(SDK_SRC) $(COMMON_SRC)) $(GEN_OBJ)
$(LIB_OBJS): ALLCFLAGS += -fvisibility=hidden
# Rebuilt when this file changes, so an existing build picks the flag up.
$(LIB_OBJS): Makefile

$(VERSION_H): participant-sdk/include/dtx/version.h.in VERSION
	@mkdir -p $(dir $@)
	sed -e 's|@VERSION@|$(DTX_VERSION)|g' -e 's|@VERSION_MAJOR@|$(DTX_SOVERSION)|g' $< > $@
$(BUILD)/include/dtx/%.h: common/include/dtx/%.h
	@mkdir -p $(dir $@)
	cp $< $@
$(BUILD)/include/dtx/%.h: participant-sdk/include/dtx/%.h
	@mkdir -p $(dir $@)
	cp $< $@
$(SAMPLE_OBJS): CPPFLAGS := -D_GNU_SOURCE -I$(BUILD)/include $(PKG_CFLAGS)
$(SAMPLE_OBJS): $(STAGED_HEADERS)

$(LIBCOMMON): $(call obj,$(COMMON_SRC)) $(GEN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBDTX_A): $(call obj,$(SDK_SRC)) $(call obj,$(COMMON_SRC)) $(GEN_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBDTX_SO): $(call obj,$(SDK_SRC)) $(call obj,$(COMMON_SRC)) $(GEN_OBJ) $(LIBDTX_MAP)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libdtx.so.$(DTX_SOVERSION) -Wl,--version-script=$(LIBDTX_MAP) \
	    $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS)

$(LIBCORE): $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(DTXD): $(call obj,coordinator/main.c) $(LIBCORE) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/bank-participant: $(call obj,samples/bank/participant.c samples/bank/bank.c samples/sample_log.c samples/sample_ready.c samples/sample_db.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/bank-transfer: $(call obj,samples/bank/transfer.c samples/bank/bank.c samples/sample_log.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/dtx-bench: $(call obj,bench/dtx_bench.c bench/bench_slots.c bench/bench_report.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/bench-participant: $(call obj,bench/bench_participant.c samples/sample_log.c samples/sample_ready.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/dtx-storm: $(call obj,bench/dtx_storm.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/dtx-hop: $(call obj,bench/dtx_hop.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit_tests: $(call obj,$(UNIT_SRC)) $(LIBCORE) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CUNIT_LIBS)

$(BUILD)/tests/integration_tests: $(call obj,$(INTEG_SRC) $(HARNESS_SRC)) $(LIBCORE) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CUNIT_LIBS)

$(BUILD)/tests/test-participant: $(call obj,tests/tools/test_participant.c tests/tools/test_participant_args.c samples/sample_ready.c) $(LIBDTX_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/lib/libdtx.pc: participant-sdk/libdtx.pc.in VERSION
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PREFIX)/lib|g' -e 's|@VERSION@|$(DTX_VERSION)|g' $< > $@

test: deps
	$(MAKE) all
	BUILD=$(BUILD) SAN=$(SAN) TSAN=$(TSAN) tests/run.sh

test-unit: $(BUILD)/tests/unit_tests
	$(BUILD)/tests/unit_tests

demo: deps
	$(MAKE) all
	BUILD=$(BUILD) samples/bank/demo.sh

# The same bank demo with 2PC over PREPARE TRANSACTION, and the order demo
# (two databases written atomically with 2PC).
demo-2pc: deps
	$(MAKE) all
	BUILD=$(BUILD) DTX_DEMO_MODE=2pc samples/bank/demo.sh
demo-order: deps
	$(MAKE) all
	BUILD=$(BUILD) samples/order/demo.sh

bench:
	@scripts/deps.sh bench
	$(MAKE) all
	BUILD=$(BUILD) bench/run.sh
	BUILD=$(BUILD) bench/storm.sh
	BUILD=$(BUILD) bench/gateway/run.sh

# The long recovery drill (the short one runs inside make test).
drill: deps
	$(MAKE) all
	BUILD=$(BUILD) SAN=$(SAN) tests/drill/drill.sh

# libdtx.so.$(DTX_VERSION) is the file; libdtx.so.$(DTX_SOVERSION) (its
# soname: what a program finds at run time) and libdtx.so (what `cc -ldtx`
# finds) link to it. LIBDIR: lib, or a multiarch lib/x86_64-linux-gnu (the
# Debian packages). The units and /etc/dtx examples: install-system
# (packaging/packaging.mk).
LIBDIR ?= $(PREFIX)/lib
install: $(LIBDTX_A) $(LIBDTX_SO) $(DTXD) $(BUILD)/bin/dtxctl $(BUILD)/bin/dtx-gateway $(VERSION_H) install-system
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include/dtx
	install -m 755 $(DTXD) $(DESTDIR)$(PREFIX)/bin/dtxd
	install -m 755 $(BUILD)/bin/dtxctl $(DESTDIR)$(PREFIX)/bin/dtxctl
	install -m 755 $(BUILD)/bin/dtx-gateway $(DESTDIR)$(PREFIX)/bin/dtx-gateway
	install -m 644 $(LIBDTX_A) $(DESTDIR)$(LIBDIR)/libdtx.a
	rm -f $(DESTDIR)$(LIBDIR)/libdtx.so $(DESTDIR)$(LIBDIR)/libdtx.so.$(DTX_SOVERSION)
	install -m 644 $(LIBDTX_SO) $(DESTDIR)$(LIBDIR)/libdtx.so.$(DTX_VERSION)
	ln -s libdtx.so.$(DTX_VERSION) $(DESTDIR)$(LIBDIR)/libdtx.so.$(DTX_SOVERSION)
	ln -s libdtx.so.$(DTX_SOVERSION) $(DESTDIR)$(LIBDIR)/libdtx.so
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/dtx/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@VERSION@|$(DTX_VERSION)|g' \
	    participant-sdk/libdtx.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libdtx.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/libdtx.pc

clean:
	rm -rf build build-san build-tsan build-fuzz

# Parts with their own rules (gateway-filter/gateway.mk, tools/dtxctl.mk,
# ...) keep them in a .mk file one or two folders down and add their targets
# as prerequisites of all-parts. Fuzz targets have their own list below.
.PHONY: all-parts
all-parts:
-include $(sort $(filter-out build%,$(wildcard */*.mk */*/*.mk)))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Fuzzing (clang + libFuzzer): every parser that takes outside input.
# Each target is one file, tests/fuzz/targets/NAME.mk, that says
#   FUZZ_TARGETS    += NAME
#   FUZZ_SRC_NAME   := the sources (tests/fuzz/fuzz_NAME.c among them)
#   FUZZ_FLAGS_NAME := extra compiler flags (-I...), optional
#   FUZZ_LIBS_NAME  := extra libraries (-ljson-c ...), optional
# and keeps its seeds in tests/fuzz/corpus-NAME/.
#   make fuzz [FUZZ_SECONDS=60]     each target runs FUZZ_SECONDS
#   make fuzz FUZZ_ONLY="proto"     only the targets named
#   make fuzz-build                 build them all (make test's fuzz stage
#                                   runs each briefly: tests/fuzz/run.sh)
# New inputs go to build-fuzz/corpus-NAME; crashes to build-fuzz/crashes.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -D_GNU_SOURCE -Icommon/include -std=c11 -O1 -g $(WARN) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS :=
-include $(sort $(wildcard tests/fuzz/targets/*.mk))
FUZZ_ONLY    ?= $(FUZZ_TARGETS)

define fuzz_target
build-fuzz/fuzz_$(1): $$(FUZZ_SRC_$(1)) $$(wildcard common/include/dtx/*.h) tests/fuzz/targets/$(1).mk
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_FLAGS) $$(FUZZ_FLAGS_$(1)) $$(FUZZ_SRC_$(1)) $$(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_target,$(t))))

.PHONY: fuzz-build
fuzz-build: $(addprefix build-fuzz/fuzz_,$(FUZZ_TARGETS))

fuzz: $(addprefix build-fuzz/fuzz_,$(FUZZ_ONLY))
	@mkdir -p build-fuzz/crashes
	@set -e; for t in $(FUZZ_ONLY); do \
	    mkdir -p build-fuzz/corpus-$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	        -artifact_prefix=build-fuzz/crashes/$$t- build-fuzz/corpus-$$t tests/fuzz/corpus-$$t; \
	done
