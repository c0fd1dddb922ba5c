# sandbox — build, run, test.
#
#   make run     build the binary and ./rootfs, then: sandbox run ./rootfs /bin/sh
#   make test    the whole suite (what .ci/run calls)
#   make rootfs  (re)build the BusyBox rootfs; ROOTFS=path to put it elsewhere
#   make lint    cargo fmt --check and clippy with -D warnings
#   make test-vm the suite again under Debian's cloud kernel in qemu
#                (Landlock, pure cgroup v2); see tests/vm/run

ROOTFS ?= ./rootfs
CARGO ?= cargo
BIN := target/release/sandbox
ROOTFS_MARKER := $(ROOTFS)/etc/sandbox-rootfs

.PHONY: all build run test test-vm lint rootfs clean

all: build

build:
	$(CARGO) build --release

# Built once; `make rootfs` rebuilds it on demand.
$(ROOTFS_MARKER): rootfs-recipes/busybox
	sh rootfs-recipes/busybox $(ROOTFS)

rootfs:
	sh rootfs-recipes/busybox $(ROOTFS)

run: build $(ROOTFS_MARKER)
	$(BIN) run $(ROOTFS) /bin/sh

# The suite runs the built binary as an unprivileged uid, also when started
# as root (see tests/common/mod.rs).
# Tests that cannot run on this kernel say why in target/tmp/skipped.txt;
# they are listed after the run, never counted as passed.
test: $(ROOTFS_MARKER)
	@rm -f target/tmp/skipped.txt
	SANDBOX_TEST_ROOTFS="$(abspath $(ROOTFS))" $(CARGO) test --all-targets
	@if [ -s target/tmp/skipped.txt ]; then \
		echo "skipped (not run on this kernel or machine):"; sed 's/^/  /' target/tmp/skipped.txt; \
	else echo "skipped: none"; fi

# The same suite as the unprivileged user of a qemu guest whose kernel has
# Landlock and a pure cgroup v2 hierarchy; a skip of those is a failure.
test-vm: $(ROOTFS_MARKER)
	bash tests/vm/run "$(ROOTFS)"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
