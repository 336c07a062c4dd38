# Thin wrapper around CMake: `make run` builds and starts the whole system
# on the embedded default; `make test` builds and runs every test, also in
# an AddressSanitizer + UBSan build; `make bench` times the kernels.
# SPDX-License-Identifier: MIT

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
ARGS       ?=
SHARED     ?= $(abspath ../shared)

.PHONY: all deps build build-asan run test test-release test-asan bench clean

all: build

deps:
	@scripts/install-deps --check 2>/dev/null || scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DIMGFLOW_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

run: build
	$(BUILD)/imgflow up $(ARGS)

test: test-release test-asan

test-release: build
	cd $(BUILD) && IMGFLOW_SHARED=$(SHARED) ctest --output-on-failure

test-asan: build-asan
	cd $(ASAN_BUILD) && IMGFLOW_SHARED=$(SHARED) \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure

bench: build
	$(BUILD)/imgflow bench --threads 1,2 --runs 7 \
		$(wildcard $(SHARED)/images/*.jpg)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
