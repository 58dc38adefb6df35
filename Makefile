# lockcontend — build, test, benchmark.
#
#   make          build/liblockcontend.so and the tools (installs missing Debian packages first)
#   make check    every test: unit (Criterion) and integration (real programs under the preload)
#   make bench    the benchmark (ratios measured in one run)
#   make demo     build and profile the bundled demo, print the report
#
# `make deps` installs what the build and tests need, only if it is missing.

CC      ?= gcc
BUILD   := build
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CFLAGS  ?= -O2 -g
BASEFLAGS := -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE
# The preload: position-independent, nothing exported but the hooks, per-thread
# state in static TLS (initial-exec: no __tls_get_addr, no allocation).
PRELOAD_FLAGS := $(BASEFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec
PRELOAD_LIBS  := -lunwind -ldl -pthread

DEB_PACKAGES := gcc make binutils libc6-dev libunwind-dev libelf-dev libdw-dev zlib1g-dev \
                libcriterion-dev pkg-config

PRELOAD_CORE := text arena config stash stacktab slots modmap unwind recorder dumpwrite real
PRELOAD_OBJS := $(addprefix $(BUILD)/preload/,$(addsuffix .o,$(PRELOAD_CORE) hooks))
CORE_OBJS    := $(addprefix $(BUILD)/preload/,$(addsuffix .o,$(PRELOAD_CORE)))
READER_OBJS  := $(BUILD)/symbolize/dumpread.o

UNIT_TESTS   := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(wildcard test/unit/test_*.c))
INTEG_TESTS  := $(patsubst test/integration/%.c,$(BUILD)/test/integration/%,$(wildcard test/integration/test_*.c))
FIXTURES     := $(patsubst test/fixtures/%.c,$(BUILD)/test/fixtures/%,$(wildcard test/fixtures/*.c))

.PHONY: all deps check unit integration bench demo clean
all: deps $(BUILD)/liblockcontend.so $(BUILD)/lockcontend-rawdump

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null || \
	    { echo "make deps: could not install$$missing (run as root?)" >&2; exit 1; }; \
	fi

$(BUILD)/preload/%.o: preload/%.c preload/*.h include/lockcontend/*.h | $(BUILD)/preload
	$(CC) $(PRELOAD_FLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/liblockcontend.so: $(PRELOAD_OBJS) preload/exports.map
	$(CC) -shared -Wl,--version-script=preload/exports.map -Wl,-z,now -o $@ $(PRELOAD_OBJS) $(PRELOAD_LIBS)

$(BUILD)/libpreloadcore.a: $(CORE_OBJS)
	ar rcs $@ $^

$(BUILD)/symbolize/%.o: symbolize/%.c symbolize/*.h include/lockcontend/*.h | $(BUILD)/symbolize
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/lockcontend-rawdump: $(BUILD)/symbolize/rawdump.o $(READER_OBJS)
	$(CC) -o $@ $^

# Tests -----------------------------------------------------------------------
TEST_FLAGS := $(BASEFLAGS) -Ipreload -Isymbolize -Itest -pthread

$(BUILD)/test/unit/%: test/unit/%.c $(BUILD)/libpreloadcore.a $(READER_OBJS) | $(BUILD)/test/unit
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libpreloadcore.a $(READER_OBJS) \
	  -lcriterion $(PRELOAD_LIBS)

$(BUILD)/test/integration/%: test/integration/%.c test/integration/harness.c test/integration/harness.h \
                             $(READER_OBJS) | $(BUILD)/test/integration
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< test/integration/harness.c $(READER_OBJS) -lcriterion

# Fixtures keep frame pointers and symbols so tests can name their functions.
$(BUILD)/test/fixtures/%: test/fixtures/%.c | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -D_GNU_SOURCE -o $@ $< -pthread -ldl

unit: all $(UNIT_TESTS)
	@fail=0; for t in $(UNIT_TESTS); do echo "== $$t"; $$t --jobs 1 || fail=1; done; exit $$fail

integration: all $(INTEG_TESTS) $(FIXTURES)
	@fail=0; for t in $(INTEG_TESTS); do echo "== $$t"; $$t --jobs 1 || fail=1; done; exit $$fail

check: unit integration
	@echo "make check: all test suites passed"

bench: all
	$(MAKE) -C bench

# The demo: a program with a lock hotspot, profiled; prints the dump.
$(BUILD)/examples/demo: examples/demo.c | $(BUILD)/examples
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ $< -pthread

demo: all $(BUILD)/examples/demo
	@rm -f $(BUILD)/demo.raw*
	LOCKCONTEND=verbose=1,out=$(BUILD)/demo.raw LD_PRELOAD=$(CURDIR)/$(BUILD)/liblockcontend.so \
	  $(BUILD)/examples/demo
	$(BUILD)/lockcontend-rawdump $(BUILD)/demo.raw

$(BUILD)/preload $(BUILD)/symbolize $(BUILD)/examples $(BUILD)/test/unit $(BUILD)/test/integration $(BUILD)/test/fixtures:
	mkdir -p $@

clean:
	rm -rf $(BUILD)
