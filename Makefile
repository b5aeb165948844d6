# Thin wrapper over CMake so that a fresh Debian machine needs exactly two commands:
#   make run    install missing packages, configure, build, run the quickstart simulation
#   make test   the same set-up, then the whole test suite (ctest)
#   make cluster  the same set-up, then a local 3-node cluster in the foreground (tools/local-cluster.sh)
#   make mutants  build every deliberate bug of tools/mutants and sweep each until the simulator
#                 catches it (MUTANTS="a b" for some; MUTANT_SEEDS=N, default 2000): docs/simulation.md
# Options: SANITIZE=1 builds with ASan+UBSan into build-asan/; WERROR=1 turns warnings into errors.

SANITIZE ?= 0
WERROR ?= 0
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SEED ?= 1

ifeq ($(SANITIZE),1)
BUILD_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
# Fake stacks catch use-after-return across fiber switches too (core/runtime/fiber.cc annotates them).
export ASAN_OPTIONS ?= detect_stack_use_after_return=1:detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
else
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
endif

CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCAIRN_SANITIZE=$(SANITIZE) -DCAIRN_WERROR=$(WERROR)
GENERATOR = $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: run test build configure deps bench cluster mutants clean

run: build
	$(BUILD_DIR)/bin/cairn-sim run scenarios/quickstart.textproto --seed $(SEED)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

cluster: build
	BUILD_DIR=$(BUILD_DIR) bash tools/local-cluster.sh

MUTANTS ?=
MUTANT_SEEDS ?= 2000
mutants: build
	cmake --build $(BUILD_DIR) --target cairn-mutants -j $(JOBS)
	bash tools/mutants/run.sh --build-dir $(BUILD_DIR) --seeds $(MUTANT_SEEDS) --jobs $(JOBS) $(MUTANTS)

bench: build
	$(BUILD_DIR)/bin/cairn-bench-runtime
	$(BUILD_DIR)/bin/cairn-bench-storage
	$(BUILD_DIR)/bin/cairn-bench-raft
	$(BUILD_DIR)/bin/cairn-bench-linearizability

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Reconfigures only when the options changed or the build folder is new, so a second run is fast.
configure: deps
	@stamp="$(BUILD_DIR)/.cairn-options"; want="$(CMAKE_FLAGS)"; \
	if [ ! -f "$(BUILD_DIR)/CMakeCache.txt" ] || [ "$$(cat $$stamp 2>/dev/null)" != "$$want" ]; then \
	  cmake -S . -B $(BUILD_DIR) $(GENERATOR) $(CMAKE_FLAGS) && echo "$$want" > "$$stamp"; \
	fi

deps:
	@bash tools/install-deps.sh

clean:
	rm -rf build build-asan
