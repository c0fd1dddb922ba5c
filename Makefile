# sandbox — build, run, test.
#
#   make run     build the binary and ./rootfs, then: sandbox run ./rootfs /bin/sh
#   make test    the whole suite (what .ci/run calls)
#   make rootfs  (re)build the BusyBox rootfs; ROOTFS=path to put it elsewhere
#   make lint    cargo fmt --check and clippy with -D warnings
#   make test-vm the suite again under Debian's cloud kernel in qemu
#                (Landlock, pure cgroup v2); see tests/vm/run
#   make bench   launch cost against bubblewrap -> docs/BENCHMARKS.md

ROOTFS ?= ./rootfs
CARGO ?= cargo
# The target: x86_64-unknown-linux-musl when rustup has it or can add it,
# else x86_64-unknown-linux-gnu (static glibc); tools/pick-target says
# which and why, once per make. Both link statically (.cargo/config.toml).
# `make TARGET=x86_64-unknown-linux-gnu ...` chooses by hand. Evaluated
# on first use only, so `make clean` asks nothing.
TARGET = $(eval TARGET := $(shell sh tools/pick-target))$(TARGET)
GNU := x86_64-unknown-linux-gnu
# cargo's output is under target/TRIPLE/.
OUT = target/$(TARGET)
BIN = $(OUT)/release/sandbox
SKIPPED = $(OUT)/tmp/skipped.txt
ROOTFS_MARKER := $(ROOTFS)/etc/sandbox-rootfs

.PHONY: all build run test test-vm bench lint rootfs clean

all: build

build:
	$(CARGO) build --release --target $(TARGET)

# Built once; `make rootfs` rebuilds it on demand.
$(ROOTFS_MARKER): rootfs-recipes/busybox
	sh rootfs-recipes/busybox $(ROOTFS)

rootfs:
	sh rootfs-recipes/busybox $(ROOTFS)

run: build $(ROOTFS_MARKER)
	$(BIN) run $(ROOTFS) /bin/sh

# The suite runs the built binary as an unprivileged uid, also when started
# as root (see tests/common/mod.rs).
# Tests that cannot run on this kernel say why in $(OUT)/tmp/skipped.txt;
# they are listed after the run, never counted as passed.
test: $(ROOTFS_MARKER)
	@rm -f $(SKIPPED)
	SANDBOX_TEST_ROOTFS="$(abspath $(ROOTFS))" $(CARGO) test --all-targets --target $(TARGET)
	@if [ -s $(SKIPPED) ]; then \
		echo "skipped (not run on this kernel or machine):"; sed 's/^/  /' $(SKIPPED); \
	else echo "skipped: none"; fi

# The same suite as the unprivileged user of a qemu guest whose kernel has
# Landlock and a pure cgroup v2 hierarchy; a skip of those is a failure.
test-vm: $(ROOTFS_MARKER)
	SANDBOX_TARGET=$(TARGET) bash tests/vm/run "$(ROOTFS)"

# Numbers for docs/BENCHMARKS.md; never part of `make test`.
bench: $(ROOTFS_MARKER)
	SANDBOX_TARGET=$(TARGET) bash bench/run "$(ROOTFS)"

# Clippy on the chosen target and, when that is musl, on the glibc
# fallback too, so that the fallback keeps building.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --target $(TARGET) -- -D warnings
	@if [ "$(TARGET)" != "$(GNU)" ]; then \
		echo "$(CARGO) clippy --all-targets --target $(GNU) -- -D warnings"; \
		$(CARGO) clippy --all-targets --target $(GNU) -- -D warnings; fi

clean:
	$(CARGO) clean
