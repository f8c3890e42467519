# tonecore — build, install and test entry points. `make test` runs every test lane.
CARGO  ?= cargo
RUSTC  ?= rustc
PYTHON ?= python3
# The ABI version (SONAME suffix) and the crate version, read from their single sources.
ABI     := $(shell sed -n 's/^pub const ABI_VERSION: u32 = \([0-9]*\);$$/\1/p' src/lib.rs)
VERSION := $(shell sed -n 's/^version = "\([^"]*\)"$$/\1/p' Cargo.toml | head -n 1)
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))
VERSION_PATCH := $(word 3,$(subst ., ,$(VERSION)))
# Where cargo builds (honours CARGO_TARGET_DIR, as cargo does).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
LIBDIR := $(TARGET_DIR)/release
# The Python the tests run on: $(PYTHON) when it has the test dependencies, else a project-local
# virtual environment (.venv-test) that `make python-env` creates from
# bindings/python/requirements-test.txt, so a machine with only Rust and Python runs `make test`.
PY_DEPS := numpy, scipy, pytest, pyloudnorm, soundfile, tqdm, distributed, build, matplotlib, mypy, \
           aiohttp, playwright
VENV := $(CURDIR)/.venv-test
PY = $(shell $(PYTHON) -c "import $(PY_DEPS)" >/dev/null 2>&1 && echo $(PYTHON) || \
              echo $(VENV)/bin/python)

# Install layout (GNU conventions; DESTDIR stages a package without changing the recorded paths).
PREFIX        ?= /usr/local
DESTDIR       ?=
INSTALL_LIBDIR    ?= $(PREFIX)/lib
INSTALL_INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR  ?= $(INSTALL_LIBDIR)/pkgconfig
# Which libraries to install: "shared static" (default), "shared" or "static". With both in one
# libdir a linker prefers the shared one; a static-only prefix makes `-ltonecore` static.
LIBRARY_TYPES ?= shared static
INSTALL ?= install
# The real file behind the SONAME link: libtonecore.so.<ABI>.<crate minor>.<crate patch>.
SO_NAME := libtonecore.so.$(ABI)
SO_REAL := $(SO_NAME).$(VERSION_MINOR).$(VERSION_PATCH)
# Native libraries a static link needs (Libs.private): what rustc reports for std; the crate's
# dependencies link no native code. Falls back to the list rustc printed on Linux/glibc.
STATIC_LIBS_FALLBACK := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
STATIC_LIBS = $(or $(shell d=$$(mktemp -d) && echo > $$d/e.rs && \
    $(RUSTC) --crate-type staticlib --crate-name e $$d/e.rs -o $$d/libe.a \
    --print native-static-libs 2>&1 | sed -n 's/^note: native-static-libs: //p'; rm -rf $$d),\
    $(STATIC_LIBS_FALLBACK))

.PHONY: all lib install uninstall test test-rust test-loom test-c test-install test-example \
        python-env browser-env test-python test-python-fast test-valgrind test-miri lib-tsan test-tsan test-fuzz \
        test-checkers clean

all: lib

## The release library (shared, static) with its SONAME link, and the regenerated header.
lib:
	$(CARGO) build --release --lib
	ln -sf libtonecore.so $(LIBDIR)/$(SO_NAME)

## Installs the libraries, headers and tonecore.pc under $(DESTDIR)$(PREFIX).
install: lib
	$(INSTALL) -d $(DESTDIR)$(INSTALL_LIBDIR) $(DESTDIR)$(INSTALL_INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 644 include/tonecore.h include/tonecore.hpp $(DESTDIR)$(INSTALL_INCLUDEDIR)/
ifneq ($(filter shared,$(LIBRARY_TYPES)),)
	$(INSTALL) -m 755 $(LIBDIR)/libtonecore.so $(DESTDIR)$(INSTALL_LIBDIR)/$(SO_REAL)
	ln -sf $(SO_REAL) $(DESTDIR)$(INSTALL_LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(INSTALL_LIBDIR)/libtonecore.so
endif
ifneq ($(filter static,$(LIBRARY_TYPES)),)
	$(INSTALL) -m 644 $(LIBDIR)/libtonecore.a $(DESTDIR)$(INSTALL_LIBDIR)/libtonecore.a
endif
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(INSTALL_LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INSTALL_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@STATIC_LIBS@|$(STATIC_LIBS)|' pkgconfig/tonecore.pc.in \
	    > $(DESTDIR)$(PKGCONFIGDIR)/tonecore.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/tonecore.pc

uninstall:
	rm -f $(DESTDIR)$(INSTALL_LIBDIR)/$(SO_REAL) $(DESTDIR)$(INSTALL_LIBDIR)/$(SO_NAME) \
	      $(DESTDIR)$(INSTALL_LIBDIR)/libtonecore.so $(DESTDIR)$(INSTALL_LIBDIR)/libtonecore.a \
	      $(DESTDIR)$(INSTALL_INCLUDEDIR)/tonecore.h $(DESTDIR)$(INSTALL_INCLUDEDIR)/tonecore.hpp \
	      $(DESTDIR)$(PKGCONFIGDIR)/tonecore.pc

## Everything: Rust unit/integration tests, C tests under ASan+UBSan, install + symbol checks,
## the example C host, Python tests.
test: test-rust test-loom test-c test-install test-example test-python

## The checker lanes, the second CI command (each prints a SKIPPED notice when its toolchain is
## missing): valgrind memcheck, ThreadSanitizer, Miri, bounded fuzzing.
test-checkers: test-valgrind test-tsan test-miri test-fuzz

## The library and the `tonecore` command (workspace member cli/). Own target dir: the test build
## enables the dev-dependencies' features on shared crates (either, libc, serde, bitflags), and in
## one directory that and `make lib` rebuilt the library for each other on every run (the
## cdylib's fingerprint is shared); apart, a rerun recompiles nothing.
test-rust:
	CARGO_TARGET_DIR=$(TARGET_DIR)/tests $(CARGO) test --release --workspace
	RUSTDOCFLAGS="-D warnings" CARGO_TARGET_DIR=$(TARGET_DIR)/tests $(CARGO) doc --no-deps -p tonecore

## loom model checks of the hand-written lock-free code, src/loom_tests.rs (own target dir: --cfg loom rebuilds everything).
test-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=$(CURDIR)/target/loom $(CARGO) test --release --lib loom_tests

## The programs compile two at a time (-j2: the machine's two cores); they run one at a time.
test-c: lib
	$(MAKE) --no-print-directory -j2 -C ffi-tests programs LIBDIR=$(LIBDIR)
	$(MAKE) --no-print-directory -C ffi-tests LIBDIR=$(LIBDIR)

## Installs into temporary prefixes and builds C programs with nothing but pkg-config (shared
## and static), and checks that the library exports exactly the header's tonecore_ functions.
test-install: lib
	sh ffi-tests/test_install.sh "$(MAKE)" "$(LIBDIR)"

## The C tests on a non-sanitized build under valgrind memcheck (see ffi-tests/Makefile).
test-valgrind: lib
	$(MAKE) --no-print-directory -C ffi-tests valgrind LIBDIR=$(LIBDIR)

## Miri (nightly) over the tests of the FFI layer's unsafe code: the src/ffi and handoff unit
## tests and tests/ffi_boundary.rs, with strict provenance. Prints a SKIPPED notice when the
## nightly toolchain or its miri component is not installed (.ci/run tries to install both).
NIGHTLY ?= nightly
MIRI_ENV := CARGO_TARGET_DIR=$(CURDIR)/target/miri MIRIFLAGS="-Zmiri-strict-provenance"
test-miri:
	@if $(CARGO) +$(NIGHTLY) miri --version >/dev/null 2>&1; then \
	  $(MIRI_ENV) $(CARGO) +$(NIGHTLY) miri test --lib -- ffi:: handoff:: && \
	  $(MIRI_ENV) $(CARGO) +$(NIGHTLY) miri test --test ffi_boundary; \
	else \
	  echo "SKIPPED: Miri lane: no '$(NIGHTLY)' toolchain with the miri component" \
	       "(rustup toolchain install $(NIGHTLY) --component miri,rust-src)"; \
	fi

## ThreadSanitizer: libtonecore built by nightly with -Zsanitizer=thread -Zbuild-std (own target
## dir), the multi-threaded C/C++ tests and the example host under TSan (see ffi-tests/Makefile).
## Prints a SKIPPED notice without a nightly toolchain with rust-src.
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
TSAN_LIBDIR := $(CURDIR)/target/tsan/$(HOST_TRIPLE)/release
TSAN_RT = $(firstword $(wildcard $(shell $(RUSTC) +$(NIGHTLY) --print sysroot 2>/dev/null)/lib/rustlib/$(HOST_TRIPLE)/lib/librustc-*_rt.tsan.a))
lib-tsan:
	RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=$(CURDIR)/target/tsan \
	  $(CARGO) +$(NIGHTLY) build --release --lib -Zbuild-std --target $(HOST_TRIPLE)
	ln -sf libtonecore.so $(TSAN_LIBDIR)/$(SO_NAME)

test-tsan:
	@if [ -n "$(TSAN_RT)" ] && $(RUSTC) +$(NIGHTLY) --print sysroot >/dev/null 2>&1 && \
	    [ -d "$$($(RUSTC) +$(NIGHTLY) --print sysroot)/lib/rustlib/src/rust/library" ]; then \
	  $(MAKE) --no-print-directory lib-tsan && \
	  $(MAKE) --no-print-directory -C ffi-tests tsan TSAN_LIBDIR=$(TSAN_LIBDIR) TSAN_RT=$(TSAN_RT) && \
	  $(MAKE) --no-print-directory -C examples/c check BUILD=build-tsan LIBDIR=$(TSAN_LIBDIR) \
	    SANFLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
	    SANLIBS="-Wl,--whole-archive $(TSAN_RT) -Wl,--no-whole-archive -ldl -lrt" PYTHON=$(PY); \
	else \
	  echo "SKIPPED: TSan lane: no '$(NIGHTLY)' toolchain with rust-src and its TSan runtime" \
	       "(rustup toolchain install $(NIGHTLY) --component rust-src)"; \
	fi

## cargo-fuzz (nightly): replays fuzz/regressions, then FUZZ_SECONDS per target (see fuzz/run.sh).
FUZZ_SECONDS ?= 60
test-fuzz:
	NIGHTLY=$(NIGHTLY) sh fuzz/run.sh $(FUZZ_SECONDS)

## Builds examples/c/host and runs it on generated WAV files (checked with pyloudnorm).
test-example: lib python-env
	$(MAKE) --no-print-directory -C examples/c check LIBDIR=$(LIBDIR) PYTHON=$(PY)

## Python: install the package (builds the library), type-check it (mypy, strict; config in
## bindings/python/pyproject.toml), run every test. The tests marked `slow` (sdist/wheel into
## fresh venvs, worker processes, Dask) take about 3 minutes of the lane.
test-python: lib python-env browser-env
	$(PY) -m pip install --quiet ./bindings/python
	cd bindings/python && $(PY) -m mypy
	$(PY) -m pytest -q --import-mode=importlib bindings/python/tests

## The Python lane without the slow tests, for iterating.
test-python-fast: lib python-env
	$(PY) -m pip install --quiet ./bindings/python
	cd bindings/python && $(PY) -m mypy
	$(PY) -m pytest -q --import-mode=importlib -m "not slow" bindings/python/tests

## The Python test dependencies: nothing when $(PYTHON) has them, else .venv-test from
## bindings/python/requirements-test.txt (needs the venv module: Debian's python3-venv).
python-env:
	@if ! $(PYTHON) -c "import $(PY_DEPS)" >/dev/null 2>&1 && \
	    ! $(VENV)/bin/python -c "import $(PY_DEPS)" >/dev/null 2>&1; then \
	  echo "$(PYTHON) lacks the test dependencies: installing them into $(VENV)"; \
	  $(PYTHON) -m venv $(VENV) || { echo "cannot create $(VENV): install Python's venv module" \
	    "(Debian/Ubuntu: apt-get install python3-venv) or the packages in" \
	    "bindings/python/requirements-test.txt"; exit 1; }; \
	  $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	    -r bindings/python/requirements-test.txt; \
	fi

## Debian's Chromium for the browser test of the reference host (tests/test_server.py), installed
## when it is missing and apt-get can (as root); otherwise that one test is skipped with the
## reason. Playwright (from requirements-test.txt) drives it and never downloads a browser.
browser-env:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium >/dev/null; } || \
	      echo "NOTICE: could not install chromium; the browser test will be skipped"; \
	  else \
	    echo "NOTICE: no chromium (apt-get install chromium); the browser test will be skipped"; \
	  fi; }

clean:
	$(CARGO) clean
	$(MAKE) -C ffi-tests clean
	$(MAKE) -C examples/c clean
