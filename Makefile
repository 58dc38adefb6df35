# lockcontend — build, test, benchmark.
#
#   make          build/liblockcontend.so and the tools (installs missing Debian packages first)
#   make check    every test: unit (Criterion), integration (real programs under the preload), fuzz,
#                 sanitize
#   make fuzz     fuzz the dump reader for FUZZ_SECONDS (default 20) with libFuzzer, ASan, UBSan
#   make sanitize the integration suite under ASan and UBSan, the stress test under TSan
#   make bench    the benchmark (ratios measured in one run)
#   make demo     build and profile the bundled demo, print the symbolized report
#   make install  PREFIX=/usr/local DESTDIR=: the command, its tools, library, man pages and
#                 bash completion; make uninstall (same PREFIX, DESTDIR) removes them
#   make demo-diff profile the demo and examples/demo_fixed.c, print what the fix changed
#
# `make deps` installs what the build and tests need, only if it is missing:
# Debian packages, and the HTML report's viewer from npm (pinned by
# symbolize/html/package-lock.json; docs/html.md).

CC      ?= gcc
BUILD   := build
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
CFLAGS  ?= -O2 -g
# The one version string (VERSION): what every tool's --version says and
# what the preload writes into every profile (its WRITER record).  Every
# object is built with it, so every object depends on VERSION.
VERSION := $(shell cat VERSION)
BASEFLAGS := -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE -DLOCKCONTEND_VERSION='"$(VERSION)"'
# The preload: position-independent, nothing exported but the hooks, per-thread
# state in static TLS (initial-exec: no __tls_get_addr, no allocation).  Every
# function on a cache line of its own: the hooks' few-ns fast path read 5%
# slower or faster as the link moved them (bench: lc/fwd 1.02-1.03x after
# recorder.c was split in six, 0.97x aligned, as before the split).
PRELOAD_FLAGS := $(BASEFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec -falign-functions=64
# No libm: loading it cost every process ~0.25 ms (preload/ln.h, issue 13).
PRELOAD_LIBS  := -ldl -pthread
# The library carries its own copy of libgcc's unwinder (libgcc_eh.a), kept
# hidden by exports.map: no frames are ever registered with it, so it never
# takes a lock (preload/unwind.h).  Only the library: an executable linked so
# would export that copy to the program's C++ runtime.
PRELOAD_SO_LIBS := $(PRELOAD_LIBS) -static-libgcc

DEB_PACKAGES := gcc make binutils libc6-dev libelf-dev libdw-dev zlib1g-dev \
                libcriterion-dev pkg-config golang-go clang libclang-rt-14-dev g++ elfutils llvm-14 \
                clang-format strace man-db groff-base libabsl-dev \
                libiberty-dev librust-parking-lot-dev python3 python3.11-dbg
# Commands whose package is installed only when the command is missing
# (COMMAND:PACKAGE): node and npm may come from elsewhere than Debian
# (NodeSource's nodejs carries its own npm and conflicts with Debian's), and
# need only be there.  npm fetches the HTML report's viewer (below);
# chromium runs its browser test (test/integration/test_html.c).
DEB_COMMANDS := node:nodejs npm:npm chromium:chromium rustc:rustc cargo:cargo
# The viewer's npm packages and the script made of them (see below).
NPM_DIR     := $(BUILD)/npm
NPM_STAMP   := $(NPM_DIR)/node_modules/.lockcontend-installed
HTML_LIB    := $(BUILD)/html/lib.js
HTML_ASSETS := $(HTML_LIB) symbolize/html/viewer.js symbolize/html/viewer.css

PRELOAD_CORE := text arena config procmaps gotpatch stash pfile filing series stacktab slots waiting threadrec initsite lockstate modmap cfi unwind stackroom loader account recorder collect lifecycle dumpwrite real
PRELOAD_HOOKS := $(patsubst preload/%.c,%,$(wildcard preload/hooks*.c))
# The attach (attach.c): the hooks' table is its, so it is not in the core
# the unit tests link.
PRELOAD_OBJS := $(addprefix $(BUILD)/preload/,$(addsuffix .o,$(PRELOAD_CORE) $(PRELOAD_HOOKS) attach))
CORE_OBJS    := $(addprefix $(BUILD)/preload/,$(addsuffix .o,$(PRELOAD_CORE)))
READER_OBJS  := $(addprefix $(BUILD)/symbolize/,dumpread.o dumpseries.o dumpthreads.o dumpstatus.o names.o safeopen.o)
HTML_OBJS    := $(addprefix $(BUILD)/symbolize/,report_html.o report_htmldata.o report_htmltime.o jsonw.o html_assets.o)
SYMBOLIZE_TEST_OBJS := $(addprefix $(BUILD)/symbolize/,profile.o profile_window.o timeline.o \
                         resolve.o symcache.o locknames.o futexcond.o viewkind.o report.o report_names.o report_text.o report_procs.o \
                         report_locks.o report_waiting.o report_series.o report_threads.o report_folded.o \
                         report_pprof.o strset.o duration.o grow.o map64.o diff.o report_diff.o) $(HTML_OBJS)

UNIT_TESTS   := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(wildcard test/unit/test_*.c))
INTEG_TESTS  := $(patsubst test/integration/%.c,$(BUILD)/test/integration/%,$(wildcard test/integration/test_*.c))
FIXTURES     := $(patsubst test/fixtures/%.c,$(BUILD)/test/fixtures/%,$(wildcard test/fixtures/*.c))
FIXTURES     += $(patsubst test/fixtures/%.cpp,$(BUILD)/test/fixtures/%,$(wildcard test/fixtures/*.cpp))
FIXTURES     += $(patsubst test/fixtures/plugins/%.c,$(BUILD)/test/fixtures/%.so,$(wildcard test/fixtures/plugins/*.c))

.PHONY: all deps deps-deb check format-check unit integration bench demo demo-diff clean install \
        uninstall
all: deps $(BUILD)/liblockcontend.so $(BUILD)/lockcontend-rawdump $(BUILD)/lockcontend-symbolize \
     $(BUILD)/lockcontend-top $(BUILD)/lockcontend-attach $(BUILD)/lockcontend-intervals

# The Debian packages, then the viewer's npm packages (NPM_STAMP, below).
deps: deps-deb $(NPM_STAMP)

deps-deb:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	for c in $(DEB_COMMANDS); do \
	  command -v $${c%%:*} >/dev/null 2>&1 || missing="$$missing $${c#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	    apt-get -o DPkg::Lock::Timeout=600 install -y -qq $$missing >/dev/null || \
	    { echo "make deps: could not install$$missing (run as root?)" >&2; exit 1; }; \
	fi

# The HTML report's viewer (docs/html.md) ----------------------------------
# d3-flame-graph and the d3 modules it needs, pinned with their hashes by
# symbolize/html/package-lock.json: `make deps` installs them with npm ci
# into build/npm/ (again only when the lockfile changes), bundle.sh joins
# their scripts, each with its licence, into build/html/lib.js, and
# html_assets.c builds that, the viewer's script and its style sheet into
# the symbolizer (.incbin): a report needs nothing but itself.
$(NPM_STAMP): symbolize/html/package.json symbolize/html/package-lock.json | deps-deb
	@echo "make deps: npm ci (the HTML report's viewer, pinned by symbolize/html/package-lock.json)"
	@rm -rf $(NPM_DIR) && mkdir -p $(NPM_DIR) && \
	  cp symbolize/html/package.json symbolize/html/package-lock.json $(NPM_DIR)/ && \
	  cd $(NPM_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error || \
	  { echo "make deps: npm ci failed (npm's registry must be reachable the first time)" >&2; exit 1; }
	@touch $@

$(HTML_LIB): symbolize/html/bundle.sh $(NPM_STAMP)
	@mkdir -p $(@D)
	symbolize/html/bundle.sh $(NPM_DIR)/node_modules $@

$(BUILD)/symbolize/html_assets.o: $(HTML_ASSETS)

$(BUILD)/preload/%.o: preload/%.c preload/*.h include/lockcontend/*.h VERSION | $(BUILD)/preload deps
	$(CC) $(PRELOAD_FLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/liblockcontend.so: $(PRELOAD_OBJS) preload/exports.map
	$(CC) -shared -Wl,--version-script=preload/exports.map -Wl,-z,now -o $@ $(PRELOAD_OBJS) $(PRELOAD_SO_LIBS)

$(BUILD)/libpreloadcore.a: $(CORE_OBJS)
	ar rcs $@ $^

$(BUILD)/symbolize/%.o: symbolize/%.c symbolize/*.h include/lockcontend/*.h VERSION | $(BUILD)/symbolize deps
	$(CC) $(BASEFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/lockcontend-rawdump: $(BUILD)/symbolize/rawdump.o $(READER_OBJS)
	$(CC) -o $@ $^

# openguard.o defines open() for libdw and libelf (symbolize/openguard.c):
# exported, so that the dynamic linker binds their calls to it.
SYMBOLIZE_OBJS := $(addprefix $(BUILD)/symbolize/,main.o output.o openguard.o) \
                  $(SYMBOLIZE_TEST_OBJS) $(READER_OBJS)
SYMBOLIZE_LIBS := -Wl,--export-dynamic-symbol=open,--export-dynamic-symbol=open64 \
                  -ldw -lelf -lz -lstdc++ -liberty
$(BUILD)/lockcontend-symbolize: $(SYMBOLIZE_OBJS)
	$(CC) -o $@ $^ $(SYMBOLIZE_LIBS)

# lockcontend-top: the symbolizer's reader, resolver and reports, its own
# screen (topview.c) and the profile of a pid (topfind.c).
TOP_OBJS := $(addprefix $(BUILD)/symbolize/,topview.o topfind.o)
TOP_LINK := $(BUILD)/symbolize/top.o $(TOP_OBJS) \
            $(filter-out %/main.o %/output.o $(HTML_OBJS),$(SYMBOLIZE_OBJS))
$(BUILD)/lockcontend-top: $(TOP_LINK)
	$(CC) -o $@ $^ $(SYMBOLIZE_LIBS)

# lockcontend-intervals: a delta pprof per interval of a running profile
# (docs/intervals.md): the same reader, resolver and pprof writer as top.
INTERVALS_OBJS := $(addprefix $(BUILD)/symbolize/,intervals.o intervals_cut.o intervals_dir.o)
$(BUILD)/lockcontend-intervals: $(INTERVALS_OBJS) $(filter-out %/top.o,$(TOP_LINK))
	$(CC) -o $@ $^ $(SYMBOLIZE_LIBS)

# lockcontend-attach: gets the preload into a running process with ptrace
# (docs/attach.md).  It parses --settings with the preload's own parser
# (config.c, text.c: pure functions) and reads frame rules with its CFI
# reader (cfi.c), so both sides agree.
ATTACH_OBJS := $(addprefix $(BUILD)/attach/,fail.o procfs.o maps.o elfimage.o ehframe.o \
                 unsafe.o stackscan.o framewalk.o remote.o target.o locate.o borrow.o main.o) \
               $(addprefix $(BUILD)/preload/,config.o text.o cfi.o)
$(BUILD)/attach/%.o: attach/%.c attach/*.h preload/config.h preload/cfi.h VERSION | $(BUILD)/attach deps
	$(CC) $(BASEFLAGS) -Ipreload $(CFLAGS) -c $< -o $@

$(BUILD)/lockcontend-attach: $(ATTACH_OBJS)
	$(CC) -o $@ $^

# Tests -----------------------------------------------------------------------
TEST_FLAGS := $(BASEFLAGS) -Ipreload -Isymbolize -Itest -pthread

$(BUILD)/test/unit/%: test/unit/%.c $(wildcard test/unit/*.h) $(BUILD)/libpreloadcore.a $(READER_OBJS) $(SYMBOLIZE_TEST_OBJS) $(TOP_OBJS) | $(BUILD)/test/unit
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libpreloadcore.a $(READER_OBJS) $(SYMBOLIZE_TEST_OBJS) $(TOP_OBJS) \
	  -lcriterion $(PRELOAD_LIBS) -lm -ldw -lelf -lz -lstdc++ -liberty $(UNIT_WRAP)

# test_slots forks from inside a slot's claim: its last call is wrapped.
$(BUILD)/test/unit/test_slots: UNIT_WRAP := -Wl,--wrap=waiting_record

# The interval cut (intervals_cut.c) on reads built by hand.
$(BUILD)/test/unit/test_ivlcut: test/unit/test_ivlcut.c $(BUILD)/symbolize/intervals_cut.o | $(BUILD)/test/unit
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< $(BUILD)/symbolize/intervals_cut.o -lcriterion

# lockcontend-attach's parts, without its main.
ATTACH_UNIT_OBJS := $(filter-out %/main.o,$(ATTACH_OBJS))
$(BUILD)/test/unit/test_attach: test/unit/test_attach.c $(ATTACH_UNIT_OBJS) | $(BUILD)/test/unit
	$(CC) $(TEST_FLAGS) -Iattach $(CFLAGS) -o $@ $< $(ATTACH_UNIT_OBJS) -lcriterion -ldl

# The symbolizer's own suites need nothing of the preload: they build and
# run whatever state the preload is in.
READER_UNIT_TESTS := $(addprefix $(BUILD)/test/unit/,test_dumpread test_dump test_dumpstatus \
                       test_diff test_epochs test_formatdoc test_futexcond test_html test_locknames test_pprof test_report \
                       test_reportnames test_robust test_symcache test_topfind test_topview)
$(READER_UNIT_TESTS): $(BUILD)/test/unit/%: test/unit/%.c $(wildcard test/unit/*.h) $(READER_OBJS) \
                      $(SYMBOLIZE_TEST_OBJS) $(TOP_OBJS) | $(BUILD)/test/unit
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< $(READER_OBJS) $(SYMBOLIZE_TEST_OBJS) $(TOP_OBJS) \
	  -lcriterion -ldw -lelf -lz -lstdc++ -liberty

$(BUILD)/test/integration/%: test/integration/%.c test/integration/harness.c test/integration/harness.h \
                             $(READER_OBJS) | $(BUILD)/test/integration
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< test/integration/harness.c $(READER_OBJS) -lcriterion

# The interval files' test reads their gzip and protobuf itself.
$(BUILD)/test/integration/test_intervals: test/integration/test_intervals.c test/integration/harness.c \
                                          test/integration/harness.h $(READER_OBJS) | $(BUILD)/test/integration
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< test/integration/harness.c $(READER_OBJS) -lcriterion -lz

# The HTML report's browser test: Chromium over the DevTools protocol
# (cdp.c), screenshots read with zlib (pngstat.c), 10,000 stacks made by
# the bench's mkdump.
BROWSER_TEST_SRCS := test/integration/cdp.c test/integration/pngstat.c
$(BUILD)/test/integration/test_html: test/integration/test_html.c test/integration/harness.c \
                                     test/integration/harness.h $(BROWSER_TEST_SRCS) \
                                     test/integration/cdp.h test/integration/pngstat.h \
                                     $(READER_OBJS) | $(BUILD)/test/integration
	$(CC) $(TEST_FLAGS) $(CFLAGS) -o $@ $< test/integration/harness.c $(BROWSER_TEST_SRCS) \
	  $(READER_OBJS) -lcriterion -lz

# Fixtures keep frame pointers and symbols so tests can name their functions.
# Each build of a fixture (plain, plugin, C++, TSan) depends on their
# shared headers, test/fixtures/*.h.
FIXTURE_HEADERS := $(wildcard test/fixtures/*.h)
$(BUILD)/test/fixtures/%: test/fixtures/%.c $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -D_GNU_SOURCE -o $@ $< -pthread -ldl $(FIXTURE_LDFLAGS)

# fork_in_work's clock_gettime is the preload's (it forks from inside its work).
$(BUILD)/test/fixtures/fork_in_work: FIXTURE_LDFLAGS := -Wl,--export-dynamic-symbol=clock_gettime \
                                       -Wl,--export-dynamic-symbol=memcpy

# Libraries the fixtures dlopen (test/fixtures/plugins/*.c): the same, shared.
$(BUILD)/test/fixtures/%.so: test/fixtures/plugins/%.c $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -D_GNU_SOURCE -fPIC -shared -o $@ $< -pthread

# badenv linked with the preload, not preloaded: what a set-user-ID copy of
# it loads, LD_PRELOAD or not (test_badenv).
$(BUILD)/test/fixtures/badenv_linked: test/fixtures/badenv.c $(FIXTURE_HEADERS) $(BUILD)/liblockcontend.so \
                                      | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -D_GNU_SOURCE -o $@ $< -pthread -L$(BUILD) -Wl,--no-as-needed,--allow-shlib-undefined \
	  -llockcontend -Wl,-rpath,$(abspath $(BUILD))
FIXTURES     += $(BUILD)/test/fixtures/badenv_linked

# attachee linked statically: a process lockcontend-attach refuses
# (test_inject); without its modes that load libraries.
$(BUILD)/test/fixtures/attachee_static: test/fixtures/attachee.c $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DATTACHEE_STATIC -static \
	  -o $@ $< -pthread
FIXTURES     += $(BUILD)/test/fixtures/attachee_static

# attachtls.c built once per size of its initial-exec TLS block: what
# attachee's `tls` mode fills glibc's static TLS surplus with (test_inject).
ATTACHTLS_SIZES := 1 8 64 512
$(BUILD)/test/fixtures/attachtls-%.so: test/fixtures/plugins/attachtls.c | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -DATTACHTLS_BYTES=$* -fPIC \
	  -shared -o $@ $<
FIXTURES     := $(filter-out $(BUILD)/test/fixtures/attachtls.so,$(FIXTURES)) \
                $(ATTACHTLS_SIZES:%=$(BUILD)/test/fixtures/attachtls-%.so)

# test_attach (test/fixtures/attach.c): the program lazily bound, and
# once more with full RELRO, exporting the function its plugin's
# constructor calls; the plugin it loads after the attach with full RELRO
# too; a library that dlopens another by its bare name, found only through
# its DT_RUNPATH ($ORIGIN/attach_rp).
FIXTURE_CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
                  -D_GNU_SOURCE
ATTACH_EXPORT := -Wl,--export-dynamic-symbol=attach_ctor_wait
# charge_window's clock_gettime is the one lockcontend's clock reads find.
$(BUILD)/test/fixtures/charge_window: test/fixtures/charge_window.c $(FIXTURE_HEADERS) \
                                      | $(BUILD)/test/fixtures
	$(CC) $(FIXTURE_CFLAGS) -Wl,--export-dynamic-symbol=clock_gettime -o $@ $< -pthread
$(BUILD)/test/fixtures/attach: test/fixtures/attach.c $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures
	$(CC) $(FIXTURE_CFLAGS) $(ATTACH_EXPORT) -o $@ $< -pthread -ldl
$(BUILD)/test/fixtures/attach_now: test/fixtures/attach.c $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures
	$(CC) $(FIXTURE_CFLAGS) $(ATTACH_EXPORT) -Wl,-z,relro,-z,now -o $@ $< -pthread -ldl
$(BUILD)/test/fixtures/attach_plugin.so: test/fixtures/plugins/attach_plugin.c $(FIXTURE_HEADERS) \
                                         | $(BUILD)/test/fixtures
	$(CC) $(FIXTURE_CFLAGS) -fPIC -shared -Wl,-z,relro,-z,now -o $@ $< -pthread
$(BUILD)/test/fixtures/attach_runpath.so: test/fixtures/plugins/attach_runpath.c | $(BUILD)/test/fixtures
	$(CC) $(FIXTURE_CFLAGS) -fPIC -shared -Wl,--enable-new-dtags,-rpath,'$$ORIGIN/attach_rp' \
	  -o $@ $< -ldl
$(BUILD)/test/fixtures/attach_rp/libattach_dep.so: test/fixtures/attach_rp/dep.c
	@mkdir -p $(@D)
	$(CC) $(FIXTURE_CFLAGS) -fPIC -shared -o $@ $< -pthread
FIXTURES     += $(BUILD)/test/fixtures/attach_now $(BUILD)/test/fixtures/attach_rp/libattach_dep.so

# bench/mkdump.c, a synthetic dump of many stacks (test_html's size and
# speed goal): the bench's own flags.
$(BUILD)/test/fixtures/mkdump: bench/mkdump.c include/lockcontend/dumpfmt.h | $(BUILD)/test/fixtures
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -D_GNU_SOURCE -Iinclude -o $@ $< -lelf
FIXTURES     += $(BUILD)/test/fixtures/mkdump

# C++ fixtures (test/fixtures/*.cpp): the same, with g++.
$(BUILD)/test/fixtures/%: test/fixtures/%.cpp $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures
	$(CXX) -std=c++17 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -o $@ $< -pthread

# Real libraries' futex locks (test/integration/test_futexlangs.c).  Rust's
# std (no crates): rust_mutex with the legacy symbol mangling, rust_mutex_v0
# the same program with v0's.  rustc from the PATH (rustup's or Debian's,
# DEB_COMMANDS; MAKEFLAGS emptied: it names a jobserver whose descriptors
# rustc is not given, and it warns).  An absl::Mutex from Debian's libabsl-dev.
RUSTC       ?= rustc
RUST_FLAGS  := --edition 2021 -C opt-level=1 -C debuginfo=2 -C force-frame-pointers=yes -D warnings
FIXTURES    += $(BUILD)/test/fixtures/rust_mutex $(BUILD)/test/fixtures/rust_mutex_v0
$(BUILD)/test/fixtures/rust_mutex: test/fixtures/rust_mutex.rs test/fixtures/rustshared.rs | $(BUILD)/test/fixtures deps
	MAKEFLAGS= $(RUSTC) $(RUST_FLAGS) -o $@ $<
$(BUILD)/test/fixtures/rust_mutex_v0: test/fixtures/rust_mutex.rs test/fixtures/rustshared.rs | $(BUILD)/test/fixtures deps
	MAKEFLAGS= $(RUSTC) $(RUST_FLAGS) -C symbol-mangling-version=v0 -o $@ $<

$(BUILD)/test/fixtures/absl_mutex: test/fixtures/absl_mutex.cpp $(FIXTURE_HEADERS) | $(BUILD)/test/fixtures deps
	$(CXX) -std=c++17 -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -o $@ $< -pthread $$(pkg-config --libs absl_synchronization)

# parking_lot from Debian's packaged crate sources (librust-parking-lot-dev,
# in /usr/share/cargo/registry), built by cargo offline: a project made in
# $(BUILD)/cargo/pl_mutex (its manifest, its Cargo.lock, a config whose
# only source is that directory), its one binary test/fixtures/pl_mutex.rs.
CARGO       ?= cargo
CARGO_REG   := /usr/share/cargo/registry
PL_DIR      := $(BUILD)/cargo/pl_mutex
FIXTURES    += $(BUILD)/test/fixtures/pl_mutex
$(BUILD)/test/fixtures/pl_mutex: test/fixtures/pl_mutex.rs test/fixtures/rustshared.rs | $(BUILD)/test/fixtures deps
	mkdir -p $(PL_DIR)/.cargo
	printf '[package]\nname = "pl_mutex"\nversion = "0.1.0"\nedition = "2021"\n\n[[bin]]\nname = "pl_mutex"\npath = "%s"\n\n[dependencies]\nparking_lot = "0.12"\n\n[profile.release]\nopt-level = 1\ndebug = true\n' \
	  "$(CURDIR)/$<" > $(PL_DIR)/Cargo.toml
	printf '[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "%s"\n[net]\noffline = true\n' \
	  "$(CARGO_REG)" > $(PL_DIR)/.cargo/config.toml
	cd $(PL_DIR) && MAKEFLAGS= RUSTFLAGS="-C force-frame-pointers=yes -D warnings" \
	  $(CARGO) build --release --offline --quiet
	cp $(PL_DIR)/target/release/pl_mutex $@

unit: all $(UNIT_TESTS)
	@test/run-suite $(BUILD)/test/logs/unit $(UNIT_TESTS)

integration: all $(INTEG_TESTS) $(FIXTURES)
	@test/run-suite $(BUILD)/test/logs/integration $(INTEG_TESTS)

# The C of the preload, the symbolizer, the attacher and the format header as .clang-format
# wants it (the tests and fixtures are left as written).
FORMATTED := $(wildcard preload/*.c preload/*.h symbolize/*.c symbolize/*.h attach/*.c attach/*.h \
                          include/lockcontend/*.h)
format-check:
	@clang-format --dry-run -Werror $(FORMATTED) || \
	  { echo "format-check: run clang-format -i on the files above"; exit 1; }

# Each part in turn, with the time it took; the first that fails ends it.
CHECK_PARTS := format-check unit integration fuzz sanitize
check: all
	@start=$$(date +%s); for part in $(CHECK_PARTS); do t=$$(date +%s); \
	  $(MAKE) --no-print-directory $$part || { echo "make check: $$part FAILED"; exit 1; }; \
	  echo "make check: $$part passed in $$(( $$(date +%s) - t )) s"; done; \
	  echo "make check: all test suites passed in $$(( $$(date +%s) - start )) s"

# Fuzzing (test/fuzz/, docs/testing.md) ------------------------------------
# libFuzzer with ASan and UBSan on the dump reader, built from source with
# clang (the rest of the build is gcc's).  It runs on a scratch corpus in
# build/fuzz/corpus/, seeded from test/fuzz/corpus/ and kept between runs,
# so new inputs never land in the committed seeds.  Inputs that once crashed
# the reader (test/fuzz/crashes/, if any) are run first, as regressions.  A
# crash fails the target, prints the report and leaves the input in
# build/fuzz/artifacts/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_FLAGS   := $(BASEFLAGS) -Isymbolize -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_ARGS    := -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=1024 \
                -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/

FUZZ_READER  := symbolize/dumpread.c symbolize/dumpseries.c symbolize/dumpthreads.c symbolize/dumpstatus.c symbolize/names.c \
                symbolize/safeopen.c
$(FUZZ_DIR)/fuzz_dumpread: test/fuzz/fuzz_dumpread.c $(FUZZ_READER) symbolize/dumpread.h VERSION \
                           symbolize/dumpstatus.h symbolize/names.h include/lockcontend/*.h \
                           | deps $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ test/fuzz/fuzz_dumpread.c $(FUZZ_READER)

# The robustness test (test/unit/test_robust.c: a real profile cut, bit-flipped
# and damaged, through the whole symbolizer) with the same sanitizers.
ROBUST_SRCS := test/unit/test_robust.c $(filter-out symbolize/main.c symbolize/rawdump.c \
                                          symbolize/openguard.c symbolize/top.c \
                                          symbolize/intervals.c, \
                                          $(wildcard symbolize/*.c))
$(FUZZ_DIR)/test_robust: $(ROBUST_SRCS) symbolize/*.h include/lockcontend/*.h $(HTML_ASSETS) VERSION \
                         | deps $(FUZZ_DIR)
	$(FUZZ_CC) $(BASEFLAGS) -Isymbolize -g -O1 -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined -o $@ $(ROBUST_SRCS) -lcriterion -ldw -lelf -lz -lstdc++ -liberty

.PHONY: fuzz
fuzz: $(FUZZ_DIR)/fuzz_dumpread $(FUZZ_DIR)/test_robust
	@echo "== $(FUZZ_DIR)/test_robust (ASan, UBSan; log: $(FUZZ_DIR)/robust.log)"
	@$(FUZZ_DIR)/test_robust --jobs 1 >$(FUZZ_DIR)/robust.log 2>&1 || { \
	  tail -n 40 $(FUZZ_DIR)/robust.log; echo "make fuzz: test_robust FAILED"; exit 1; }
	@rm -rf $(FUZZ_DIR)/artifacts && mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	@cp test/fuzz/corpus/* $(FUZZ_DIR)/corpus/
	@echo "== $< for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/fuzz.log)"
	@$< $(FUZZ_ARGS) $(FUZZ_DIR)/corpus $(wildcard test/fuzz/crashes) >$(FUZZ_DIR)/fuzz.log 2>&1 || { \
	  sed -n '/invariant failed\|runtime error\|ERROR/,/^SUMMARY/p; /Test unit written/p' \
	    $(FUZZ_DIR)/fuzz.log | grep . || tail -n 20 $(FUZZ_DIR)/fuzz.log; \
	  echo "make fuzz: FAILED, input in $(FUZZ_DIR)/artifacts/ (replay: $< FILE)"; exit 1; }
	@awk '/^Done/ { runs = $$2; secs = $$5 } /average_exec_per_sec/ { eps = $$2 } \
	  END { printf "make fuzz: %s runs in %s s (%s exec/s), no crash, corpus %d inputs\n", \
	        runs, secs, eps, corpus }' corpus=$$(ls $(FUZZ_DIR)/corpus | wc -l) $(FUZZ_DIR)/fuzz.log

$(FUZZ_DIR):
	mkdir -p $@

# Sanitizers (docs/testing.md) ---------------------------------------------
# The integration suite again, against the preload and the symbolizer built
# with AddressSanitizer and UBSan (build-asan/); then the stress test
# against the preload and its program built with ThreadSanitizer
# (build-tsan/).  gcc's runtimes, preloaded first (the harness's
# LOCKCONTEND_TEST_PRELOAD_FIRST).  A sanitized process stops at its first
# report with status 86, which fails its test, and writes the report to a
# file in the run's reports/ directory (log_path): a report file fails the
# target, whatever the test made of the status, and is printed.
#   verify_asan_link_order=0  ASan's check of it calls dl_iterate_phdr —
#       the preload's hook, instrumented — before ASan is set up (a crash
#       before main); the order is right anyway
#   detect_leaks=0  the fixtures do not free everything before they exit,
#       and LSan in a child forked from a threaded program warns of the
#       threads it cannot stop
#   handle_*=0  a fixture that crashes on purpose must die of its signal,
#       as it does without ASan (test_crash)
# Left out of the ASan run (ASAN_SKIP), each for a reason:
#   fork/each_child_has_its_own_empty_profile,
#   fork/random_forks_during_contention_every_profile_reads,
#   symbolize/merged_dumps_add_up_and_each_is_listed,
#   symbolize/identical_stacks_from_several_dumps_are_one_stack — the program forks
#       while threads it has just created are starting: ASan's thread start
#       allocates, gcc 12's ASan allocator has no fork handler, and the
#       child can block for good in its first malloc (`scenarios fork 2`:
#       1 run in ~50).  test_stress forks only while no thread starts or ends.
#   hostile/cancelled_asynchronously_charges_no_more_than_waited — an
#       asynchronous cancellation unwinds the sleeping thread's frames
#       without their epilogues, and ASan, which unpoisons a stack at the
#       longjmps and throws it intercepts, is not told (glibc ends the
#       unwind with its own internal longjmp): their redzones stay
#       poisoned, and the thread's exit, which flushes its books on that
#       stack, trips over them ("stack-buffer-overflow" on a local of
#       account_settle's own frame: a false positive).
#   badenv/address_space_limit_leaves_no_file — ASan reserves terabytes of
#       shadow memory at start-up: under the test's 512 MiB RLIMIT_AS the
#       sanitized program aborts before main, whatever the preload does.
# TSan: test/sanitize/tsan_phdr.c says why it comes between libtsan and
# the preload, test/fixtures/stress.c what the program leaves out under it.
SAN_CC    := gcc
ASAN_DIR  := build-asan
TSAN_DIR  := build-tsan
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
TSAN_FLAGS := -O1 -g -fsanitize=thread
SAN_STOP  := halt_on_error=1:exitcode=86
ASAN_SKIP := fork/each_child_has_its_own_empty_profile \
             fork/random_forks_during_contention_every_profile_reads \
             symbolize/merged_dumps_add_up_and_each_is_listed \
             symbolize/identical_stacks_from_several_dumps_are_one_stack \
             badenv/address_space_limit_leaves_no_file \
             hostile/cancelled_asynchronously_charges_no_more_than_waited
san_space := $(subst ,, )
ASAN_FILTER := !($(subst $(san_space),|,$(strip $(ASAN_SKIP))))
ASAN_SIGNALS := handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigfpe=0:handle_sigill=0

ASAN_ENV = LOCKCONTEND_TEST_PRELOAD_FIRST=$$($(SAN_CC) -print-file-name=libasan.so) \
           LOCKCONTEND_TEST_PRELOAD=$(ASAN_DIR)/liblockcontend.so \
           LOCKCONTEND_TEST_SYMBOLIZE=$(ASAN_DIR)/lockcontend-symbolize \
           LOCKCONTEND_TEST_TOP=$(ASAN_DIR)/lockcontend-top \
           LOCKCONTEND_TEST_ATTACH=$(ASAN_DIR)/lockcontend-attach \
           ASAN_OPTIONS=$(SAN_STOP):verify_asan_link_order=0:detect_leaks=0:$(ASAN_SIGNALS):log_path=$(CURDIR)/$(ASAN_DIR)/reports/asan \
           UBSAN_OPTIONS=$(SAN_STOP):print_stacktrace=1:log_path=$(CURDIR)/$(ASAN_DIR)/reports/ubsan
TSAN_ENV = LOCKCONTEND_TEST_PRELOAD_FIRST=$$($(SAN_CC) -print-file-name=libtsan.so):$(CURDIR)/$(TSAN_DIR)/libtsan_phdr.so \
           LOCKCONTEND_TEST_PRELOAD=$(TSAN_DIR)/liblockcontend.so \
           LOCKCONTEND_TEST_FIXTURES=$(TSAN_DIR)/test/fixtures \
           TSAN_OPTIONS=$(SAN_STOP):second_deadlock_stack=1:log_path=$(CURDIR)/$(TSAN_DIR)/reports/tsan

# Print the reports in $(1) and fail, if there are any.
san_reports = if ls $(1)/* >/dev/null 2>&1; then cat $(1)/*; \
                echo "make $@: sanitizer reports above (in $(1)/)"; exit 1; fi

ASAN_PRELOAD_OBJS := $(PRELOAD_OBJS:$(BUILD)/%=$(ASAN_DIR)/%)
TSAN_PRELOAD_OBJS := $(PRELOAD_OBJS:$(BUILD)/%=$(TSAN_DIR)/%)

$(ASAN_DIR)/preload/%.o: preload/%.c preload/*.h include/lockcontend/*.h VERSION | $(ASAN_DIR)/preload
	$(SAN_CC) $(PRELOAD_FLAGS) $(ASAN_FLAGS) -c $< -o $@

$(TSAN_DIR)/preload/%.o: preload/%.c preload/*.h include/lockcontend/*.h VERSION | $(TSAN_DIR)/preload
	$(SAN_CC) $(PRELOAD_FLAGS) $(TSAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/liblockcontend.so: $(ASAN_PRELOAD_OBJS) preload/exports.map
	$(SAN_CC) -shared $(ASAN_FLAGS) -Wl,--version-script=preload/exports.map -Wl,-z,now -o $@ \
	  $(ASAN_PRELOAD_OBJS) $(PRELOAD_SO_LIBS)

$(TSAN_DIR)/liblockcontend.so: $(TSAN_PRELOAD_OBJS) preload/exports.map
	$(SAN_CC) -shared $(TSAN_FLAGS) -Wl,--version-script=preload/exports.map -Wl,-z,now -o $@ \
	  $(TSAN_PRELOAD_OBJS) $(PRELOAD_SO_LIBS)

$(ASAN_DIR)/symbolize/%.o: symbolize/%.c symbolize/*.h include/lockcontend/*.h VERSION | $(ASAN_DIR)/symbolize
	$(SAN_CC) $(BASEFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/symbolize/html_assets.o: $(HTML_ASSETS)

$(ASAN_DIR)/lockcontend-symbolize: $(SYMBOLIZE_OBJS:$(BUILD)/%=$(ASAN_DIR)/%)
	$(SAN_CC) $(ASAN_FLAGS) -o $@ $^ $(SYMBOLIZE_LIBS)

$(ASAN_DIR)/lockcontend-top: $(TOP_LINK:$(BUILD)/%=$(ASAN_DIR)/%)
	$(SAN_CC) $(ASAN_FLAGS) -o $@ $^ $(SYMBOLIZE_LIBS)

$(ASAN_DIR)/attach/%.o: attach/%.c attach/*.h preload/config.h preload/cfi.h VERSION | $(ASAN_DIR)/attach
	$(SAN_CC) $(BASEFLAGS) -Ipreload $(ASAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/lockcontend-attach: $(ATTACH_OBJS:$(BUILD)/%=$(ASAN_DIR)/%)
	$(SAN_CC) $(ASAN_FLAGS) -o $@ $^

$(TSAN_DIR)/test/fixtures/stress: test/fixtures/stress.c $(FIXTURE_HEADERS) | $(TSAN_DIR)/test/fixtures
	$(SAN_CC) -std=gnu11 $(TSAN_FLAGS) -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror \
	  -D_GNU_SOURCE -o $@ $< -pthread

$(TSAN_DIR)/libtsan_phdr.so: test/sanitize/tsan_phdr.c | $(TSAN_DIR)
	$(SAN_CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -shared -o $@ $< -ldl

.PHONY: sanitize sanitize-asan sanitize-tsan
sanitize: sanitize-asan sanitize-tsan

sanitize-asan: all $(INTEG_TESTS) $(FIXTURES) $(ASAN_DIR)/liblockcontend.so \
               $(ASAN_DIR)/lockcontend-symbolize $(ASAN_DIR)/lockcontend-top \
               $(ASAN_DIR)/lockcontend-attach
	@rm -rf $(ASAN_DIR)/reports && mkdir -p $(ASAN_DIR)/reports
	@echo "== the integration tests again, under ASan and UBSan"
	@fail=0; $(ASAN_ENV) test/run-suite $(ASAN_DIR)/logs $(INTEG_TESTS) -- --filter '$(ASAN_FILTER)' || fail=1; \
	  $(call san_reports,$(ASAN_DIR)/reports); exit $$fail

sanitize-tsan: all $(BUILD)/test/integration/test_stress $(TSAN_DIR)/liblockcontend.so \
               $(TSAN_DIR)/libtsan_phdr.so $(TSAN_DIR)/test/fixtures/stress
	@rm -rf $(TSAN_DIR)/reports && mkdir -p $(TSAN_DIR)/reports
	@echo "== $(BUILD)/test/integration/test_stress (TSan)"
	@fail=0; $(TSAN_ENV) $(BUILD)/test/integration/test_stress --jobs 1 || fail=1; \
	  $(call san_reports,$(TSAN_DIR)/reports); exit $$fail

$(ASAN_DIR)/preload $(ASAN_DIR)/symbolize $(ASAN_DIR)/attach $(TSAN_DIR) $(TSAN_DIR)/preload $(TSAN_DIR)/test/fixtures:
	mkdir -p $@

# Test 8 attaches to the attachee fixture.
bench: all $(BUILD)/test/fixtures/attachee $(BUILD)/test/fixtures/attachfill.so
	$(MAKE) -C bench

# The demo: a program with a lock hotspot, profiled; prints the report.
# demo_fixed is the same with the hotspot fixed; demo-diff profiles both
# and prints what changed (docs/diff.md).
$(BUILD)/examples/%: examples/%.c | $(BUILD)/examples
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ $< -pthread

demo: all $(BUILD)/examples/demo
	scripts/lockcontend -- $(BUILD)/examples/demo

DEMO_DIFF_DIR := $(BUILD)/demo-diff
demo-diff: all $(BUILD)/examples/demo $(BUILD)/examples/demo_fixed
	@rm -rf $(DEMO_DIFF_DIR)
	scripts/lockcontend --out $(DEMO_DIFF_DIR)/before -o /dev/null -- $(BUILD)/examples/demo
	scripts/lockcontend --out $(DEMO_DIFF_DIR)/after -o /dev/null -- $(BUILD)/examples/demo_fixed
	scripts/lockcontend diff $(DEMO_DIFF_DIR)/before $(DEMO_DIFF_DIR)/after

$(BUILD)/preload $(BUILD)/symbolize $(BUILD)/attach $(BUILD)/examples $(BUILD)/test/unit $(BUILD)/test/integration $(BUILD)/test/fixtures:
	mkdir -p $@

# Install -----------------------------------------------------------------
# One command on the PATH, lockcontend (the wrapper: run, attach, top), and
# the two tools a user runs by hand; what only the wrapper runs, and the
# library, in a directory of their own, where the wrapper finds them from
# its own place (PREFIX/bin/../lib/lockcontend: scripts/lockcontend says
# how).  The HTML report's scripts are built into lockcontend-symbolize
# (html_assets.c): no file of their own.  The man pages are checked against
# the tools' --help and preload/config.c's keys, and installed, run and
# removed again, by test/integration/test_install.c.  uninstall removes the
# files install made and the one directory that is ours alone.
PREFIX  ?= /usr/local
BINDIR  := $(PREFIX)/bin
LIBDIR  := $(PREFIX)/lib/lockcontend
MANDIR  := $(PREFIX)/share/man/man1
COMPDIR := $(PREFIX)/share/bash-completion/completions
INSTALL_BIN := $(BUILD)/lockcontend-symbolize $(BUILD)/lockcontend-rawdump
INSTALL_LIB := $(BUILD)/lockcontend-attach $(BUILD)/lockcontend-top $(BUILD)/lockcontend-intervals
INSTALL_MAN := man/lockcontend.1 man/lockcontend-symbolize.1
INSTALLED := $(BINDIR)/lockcontend $(INSTALL_BIN:$(BUILD)/%=$(BINDIR)/%) \
             $(LIBDIR)/liblockcontend.so $(INSTALL_LIB:$(BUILD)/%=$(LIBDIR)/%) \
             $(INSTALL_MAN:man/%=$(MANDIR)/%) $(COMPDIR)/lockcontend $(COMPDIR)/lockcontend-symbolize

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(COMPDIR)
	install -m 755 scripts/lockcontend $(DESTDIR)$(BINDIR)/lockcontend
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/
	install -m 755 $(INSTALL_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/liblockcontend.so $(DESTDIR)$(LIBDIR)/
	install -m 644 $(INSTALL_MAN) $(DESTDIR)$(MANDIR)/
	install -m 644 scripts/lockcontend.bash-completion $(DESTDIR)$(COMPDIR)/lockcontend
	ln -sf lockcontend $(DESTDIR)$(COMPDIR)/lockcontend-symbolize

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	[ ! -d $(DESTDIR)$(LIBDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(LIBDIR)

clean:
	rm -rf $(BUILD) $(ASAN_DIR) $(TSAN_DIR)
