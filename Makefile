# Thin driver around CMake. The two commands that matter:
#   make run    install what is missing, build (Release), start the daemon
#   make test   install what is missing (test tools too), build, run ctest
BUILD_DIR ?= build
BUILD_TYPE ?= Release
CONFIG ?= config/stockwatch.toml
JOBS ?= $(shell nproc)

# ccache, when the machine has it, makes rebuilds and the sanitizer builds
# cheaper; without it nothing changes.
CCACHE := $(shell command -v ccache 2>/dev/null)
CMAKE_LAUNCHER := $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))

.PHONY: all deps test-deps build run test bench bench-compare install clean test-asan test-tsan test-sanitizers test-tsan-unit

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_LAUNCHER)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p var/inbox var/processed var/failed var/mail
	$(BUILD_DIR)/stockwatch serve --config $(CONFIG)

# As root, the clean Debian root that tests/e2e/test_deb_install.py installs
# the .deb into is bootstrapped (once; it is kept in the build folder) while
# the build runs, since both take minutes. Should that fail, the test tries
# again itself and reports why (the log is $(BUILD_DIR)/test-chroot.log).
test: test-deps $(BUILD_DIR)/CMakeCache.txt
	@bootstrap=""; \
	if [ "$$(id -u)" -eq 0 ]; then \
	  STOCKWATCH_BINARY=$(abspath $(BUILD_DIR))/stockwatch python3 tests/e2e/chroot.py \
	    > $(BUILD_DIR)/test-chroot.log 2>&1 & bootstrap=$$!; \
	fi; \
	cmake --build $(BUILD_DIR) -j $(JOBS); built=$$?; \
	[ -z "$$bootstrap" ] || wait $$bootstrap || true; \
	[ $$built -eq 0 ]
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# make test-asan   the unit and end-to-end tests on a build with
#                  AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
# make test-tsan   the same with ThreadSanitizer (build-tsan/)
# A sanitizer report fails the test that caused it. The .deb and install
# tests, which package the binary, are left out here; the system-call
# filter test, which the sanitizers' own calls break, skips itself when
# STOCKWATCH_SANITIZER is set, and the end-to-end tests stretch their
# deadlines by it (tests/e2e/harness.py). Both take too long for CI and
# run before each release (docs/operations.md, "What was checked"); CI runs
# test-tsan-unit (below).
SANITIZER_SKIP := e2e.test_deb_install|e2e.test_install
SANITIZER_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# The sanitizer builds are optimised less (-O1, the level AddressSanitizer's
# documentation suggests) and carry line tables only (-g1: a report still
# names file and line): that halves their compile, most of what they cost.
# Without NDEBUG, so the assertions are checked too.
SANITIZER_BUILD := -DCMAKE_BUILD_TYPE=Sanitize "-DCMAKE_CXX_FLAGS_SANITIZE=-O1 -g1"

test-asan: test-deps
	cmake -S . -B build-asan $(SANITIZER_BUILD) -DSTOCKWATCH_SANITIZE=address $(CMAKE_LAUNCHER)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && env $(SANITIZER_ENV) STOCKWATCH_SANITIZER=address \
	  ctest --output-on-failure -j $(JOBS) --timeout 600 -E '$(SANITIZER_SKIP)'

test-tsan: test-deps
	cmake -S . -B build-tsan $(SANITIZER_BUILD) -DSTOCKWATCH_SANITIZE=thread $(CMAKE_LAUNCHER)
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && env $(SANITIZER_ENV) STOCKWATCH_SANITIZER=thread \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 -E '$(SANITIZER_SKIP)'

test-sanitizers: test-asan test-tsan

# make test-tsan-unit   the unit tests alone on the ThreadSanitizer build
#                  (build-tsan/): what .ci/run adds after `make test`. The
#                  whole of `make test-tsan` does not fit the run's 30 minutes
#                  (docs/operations.md, "What was checked").
test-tsan-unit: test-deps
	cmake -S . -B build-tsan $(SANITIZER_BUILD) -DSTOCKWATCH_SANITIZE=thread $(CMAKE_LAUNCHER)
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && env $(SANITIZER_ENV) STOCKWATCH_SANITIZER=thread \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 -E '^e2e\.'

bench: build
	@scripts/install-deps.sh bench
	bench/run.sh

# make bench-compare BASE=<git revision>   benchmarks 2-6 with this tree's
# build and with BASE's (built in build-base/ from `git archive`), taking
# turns, and a table of before and after. BENCH_* settings apply as for
# make bench; the row-order benchmark is left out.
BASE ?=
bench-compare: build
	@[ -n "$(BASE)" ] || { echo "usage: make bench-compare BASE=<git revision>" >&2; exit 2; }
	@scripts/install-deps.sh bench
	rm -rf build-base && mkdir -p build-base/src
	git archive --format=tar "$(BASE)" | tar -x -C build-base/src
	cmake -S build-base/src -B build-base/build -DCMAKE_BUILD_TYPE=Release $(CMAKE_LAUNCHER)
	cmake --build build-base/build -j $(JOBS) --target stockwatch
	BENCH_BASELINE=build-base/build/stockwatch BENCH_ONLY=classic bench/run.sh

install: build
	cmake --install $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

# make fuzz   fuzz the report parser (tests/fuzz/report_parser_fuzz.cpp) with
#             libFuzzer, AddressSanitizer and UBSan for FUZZ_SECONDS seconds
#             (default 60; e.g. `make fuzz FUZZ_SECONDS=600`). Installs
#             clang-14 and libclang-rt-14-dev if missing. Builds into
#             build-fuzz/ and fuzzes a scratch copy of tests/fuzz/corpus
#             (build-fuzz/corpus), so the checked-in corpus is never touched;
#             an input that fails is written to build-fuzz/crash-* (or
#             leak-*, timeout-*: an input that runs 60 s; a busy machine
#             can stall one input for seconds, so the limit is generous)
#             and make fails. To keep a failing or an
#             interesting input, copy it into tests/fuzz/corpus/: `make test`
#             replays that folder.
FUZZ_SECONDS ?= 60
# The parser and what it renders its problems with (codes, the catalog).
FUZZ_PARSER_SOURCES := src/report/report_parser.cpp src/report/report_problem.cpp \
  src/text/catalog.cpp src/text/utf8.cpp

.PHONY: fuzz fuzz-tools
fuzz-tools:
	@missing=""; \
	for p in clang-14 libclang-rt-14-dev; do \
	  [ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  echo "fuzz: installing:$$missing"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

fuzz: fuzz-tools
	@mkdir -p build-fuzz
	clang++-14 -std=c++20 -O1 -g -fno-omit-frame-pointer \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -Isrc $(FUZZ_PARSER_SOURCES) tests/fuzz/report_parser_fuzz.cpp -lboost_json \
	  -o build-fuzz/report_parser_fuzz
	rm -rf build-fuzz/corpus && cp -R tests/fuzz/corpus build-fuzz/corpus
	build-fuzz/report_parser_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -timeout=60 -print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/corpus

# make fuzz-workbook   the same for the workbook reader
#             (tests/fuzz/workbook_reader_fuzz.cpp, .xlsx and .ods files), from
#             a scratch copy of tests/fuzz/workbook_corpus.
.PHONY: fuzz-workbook
fuzz-workbook: fuzz-tools
	@mkdir -p build-fuzz
	clang++-14 -std=c++20 -O1 -g -fno-omit-frame-pointer \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -Isrc -Itests/fuzz $(FUZZ_PARSER_SOURCES) src/report/workbook/*.cpp \
	  tests/fuzz/workbook_reader_fuzz.cpp $$(pkg-config --cflags --libs libzip libxml-2.0) -lboost_json \
	  -o build-fuzz/workbook_reader_fuzz
	rm -rf build-fuzz/workbook_corpus && cp -R tests/fuzz/workbook_corpus build-fuzz/workbook_corpus
	build-fuzz/workbook_reader_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -rss_limit_mb=1024 -timeout=60 -print_final_stats=1 \
	  -artifact_prefix=build-fuzz/ build-fuzz/workbook_corpus

# The Debian package (docs/operations.md): build/stockwatch_<version>_<arch>.deb
.PHONY: package
package: build
	@scripts/install-deps.sh package
	cd $(BUILD_DIR) && cpack -G DEB
