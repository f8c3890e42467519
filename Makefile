# tonecore — build and test entry points. `make test` runs every test lane.
CARGO  ?= cargo
PYTHON ?= python3
ABI    := 1
LIBDIR := $(CURDIR)/target/release

.PHONY: all lib test test-rust test-loom test-c test-python clean

all: lib

## The release library (shared, static) with its SONAME link, and the regenerated header.
lib:
	$(CARGO) build --release --lib
	ln -sf libtonecore.so $(LIBDIR)/libtonecore.so.$(ABI)

## Everything: Rust unit/integration tests, C tests under ASan+UBSan, Python tests.
test: test-rust test-loom test-c test-python

## The library and the `tonecore` command (workspace member cli/).
test-rust:
	$(CARGO) test --release --workspace

## loom model checks of the lock-free handoff (own target dir: --cfg loom rebuilds everything).
test-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=$(CURDIR)/target/loom $(CARGO) test --release --test loom_handoff

test-c: lib
	$(MAKE) --no-print-directory -C ffi-tests LIBDIR=$(LIBDIR)

test-python: lib
	$(PYTHON) -m pip install --quiet ./bindings/python
	$(PYTHON) -m pytest -q --import-mode=importlib bindings/python/tests

clean:
	$(CARGO) clean
	$(MAKE) -C ffi-tests clean
