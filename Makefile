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
# .cargo/config.toml names the target (for the static link), so cargo's
# output is under target/TRIPLE/.
OUT := target/x86_64-unknown-linux-gnu
BIN := $(OUT)/release/sandbox
SKIPPED := $(OUT)/tmp/skipped.txt
TESTLOG := $(OUT)/tmp/test-output.txt
TESTRC := $(OUT)/tmp/test-failed
ROOTFS_MARKER := $(ROOTFS)/etc/sandbox-rootfs

.PHONY: all build run test test-vm bench lint rootfs clean

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
# Tests that cannot run on this kernel say why in $(OUT)/tmp/skipped.txt;
# they are listed after the run, and counted as skipped (the integration
# tests' harness, tests/common/harness.rs, reports them so), never as
# passed. The last line adds up every "test result:" line of the run.
test: $(ROOTFS_MARKER)
	@rm -f $(SKIPPED) $(TESTLOG) $(TESTRC)
	@mkdir -p $(OUT)/tmp
	@{ SANDBOX_TEST_ROOTFS="$(abspath $(ROOTFS))" $(CARGO) test --no-fail-fast --all-targets 2>&1 \
		|| echo fail >> $(TESTRC); \
	  $(CARGO) test --doc 2>&1 || echo fail >> $(TESTRC); } | tee $(TESTLOG)
	@if [ -s $(SKIPPED) ]; then \
		echo "skipped (not run on this kernel or machine):"; sed 's/^/  /' $(SKIPPED); \
	else echo "skipped: none"; fi
	@sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored;.*/\1 \2 \3/p' $(TESTLOG) \
		| awk '{p+=$$1; f+=$$2; s+=$$3} END {printf "total: %d passed, %d failed, %d skipped\n", p, f, s}'
	@test ! -s $(TESTRC)

# The same suite as the unprivileged user of a qemu guest whose kernel has
# Landlock and a pure cgroup v2 hierarchy; a skip of those is a failure.
test-vm: $(ROOTFS_MARKER)
	bash tests/vm/run "$(ROOTFS)"

# Numbers for docs/BENCHMARKS.md; never part of `make test`.
bench: $(ROOTFS_MARKER)
	bash bench/run "$(ROOTFS)"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
