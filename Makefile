# Thin driver around CMake. The two commands that matter:
#   make run    install what is missing, build (Release), start the daemon
#   make test   install what is missing (test tools too), build, run ctest
BUILD_DIR ?= build
BUILD_TYPE ?= Release
CONFIG ?= config/stockwatch.toml
JOBS ?= $(shell nproc)

.PHONY: all deps test-deps build run test bench install clean

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@mkdir -p var/inbox var/processed var/failed var/mail
	$(BUILD_DIR)/stockwatch serve --config $(CONFIG)

test: test-deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

bench: build
	@scripts/install-deps.sh bench
	bench/run.sh

install: build
	cmake --install $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
