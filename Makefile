# sandbox — build, run, test.
#
#   make run     build the binary and ./rootfs, then: sandbox run ./rootfs /bin/sh
#   make test    the whole suite (what .ci/run calls)
#   make rootfs  (re)build the BusyBox rootfs; ROOTFS=path to put it elsewhere;
#                RECIPE=debian [PACKAGES="python3 ..."] for a Debian tree
#                (rootfs-recipes/debian: mmdebstrap, rootless)
#   make lint    cargo fmt --check and clippy with -D warnings
#   make fuzz    each parser of untrusted input (tar unpacker, OCI image
#                layout, launcher/child channel, config.json, the command
#                lines) fuzzed by its property tests for FUZZ_SECONDS (60)
#                each, on stable Rust; FUZZ_TARGETS="unpack cli" for some;
#                see tools/fuzz. `make test` runs the same properties briefly
#   make test-vm the suite again under Debian's cloud kernel in qemu
#                (Landlock, pure cgroup v2); see tests/vm/run
#   make test-oci sandbox-oci (the OCI runtime mode) under rootless podman
#                and containerd, each case against runc first, as root;
#                OCI_RUNTIMES=runc for the control alone, UPDATE_CALLS=1 to
#                rewrite the recorded runtime calls; see tests/oci/run
#   make test-cri sandbox-oci as a Kubernetes RuntimeClass handler: a
#                private containerd's CRI plugin with the handlers runc and
#                sandbox, driven pod by pod by our CRI client
#                (tests/cri/client), each case on runc first, as root;
#                CRI_CASES="logs oom" for some, CRI_HANDLERS=runc for the
#                control alone; see tests/cri/run
#   make test-bwrap bubblewrap's own tests/test-run.sh, test-specifying-userns.sh
#                and test-specifying-pidns.sh (Debian's source
#                package, fetched by the script) against sandbox-bwrap, with
#                Debian's /usr/bin/bwrap as the control, rootless; see tests/bwrap/run
#   make bench   launch cost against bubblewrap, sandbox-oci against runc
#                -> docs/BENCHMARKS.md
#   make install the binary (and its sandbox-oci and sandbox-bwrap links;
#                BWRAP_LINK=1 adds a bwrap link), sandbox(1) and the bash, zsh and fish
#                completions and the profiles (profiles/*.toml) under PREFIX (/usr/local; PREFIX=~/.local for
#                one user), below DESTDIR if set; make uninstall removes them

ROOTFS ?= ./rootfs
# rootfs-recipes/$(RECIPE) builds `make rootfs`: busybox or debian.
RECIPE ?= busybox
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
TESTLOG = $(OUT)/tmp/test-output.txt
TESTRC = $(OUT)/tmp/test-failed
ROOTFS_MARKER := $(ROOTFS)/etc/sandbox-rootfs

.PHONY: all build run test test-vm test-oci test-cri test-bwrap bench fuzz lint rootfs clean install install-files uninstall check-rust check-prefix

all: build

# The oldest Rust that builds sandbox (Cargo.toml's rust-version, 1.82),
# and the oldest that builds its tests (proptest 1.12 declares 1.88);
# both checked with `cargo +VERSION check`.
RUST_VERSION := $(shell sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
TEST_RUST_VERSION := 1.88

# Fail with what to do rather than with cargo's lock-file or rust-version
# error: Debian 12's cargo is 1.63. Needs no network.
define need_rust
@have=$$($(CARGO) --version 2>/dev/null | cut -d' ' -f2); \
if [ -z "$$have" ] || [ "$$(printf '%s\n' $(1) "$$have" | sort -V | head -n1)" != "$(1)" ]; then \
	echo "sandbox needs Rust >= $(1) (Debian 12's packaged cargo is too old$${have:+; this one is $$have}): install Rust with rustup, https://rustup.rs" >&2; \
	exit 1; \
fi
endef

check-rust:
	$(call need_rust,$(RUST_VERSION))

build: check-rust
	$(CARGO) build --release --target $(TARGET)

# Built once; `make rootfs` rebuilds it on demand.
$(ROOTFS_MARKER): rootfs-recipes/busybox
	sh rootfs-recipes/busybox $(ROOTFS)

rootfs:
	PACKAGES="$(PACKAGES)" sh rootfs-recipes/$(RECIPE) $(ROOTFS)

run: build $(ROOTFS_MARKER)
	$(BIN) run $(ROOTFS) /bin/sh

# The suite runs the built binary as an unprivileged uid, also when started
# as root (see tests/common/mod.rs).
# Tests that cannot run on this kernel say why in $(OUT)/tmp/skipped.txt;
# they are listed after the run, and counted as skipped (the integration
# tests' harness, tests/common/harness.rs, reports them so), never as
# passed. The last line adds up every "test result:" line of the run.
test: $(ROOTFS_MARKER)
	$(call need_rust,$(TEST_RUST_VERSION))
	@rm -f $(SKIPPED) $(TESTLOG) $(TESTRC)
	@mkdir -p $(OUT)/tmp
	@{ SANDBOX_TEST_ROOTFS="$(abspath $(ROOTFS))" $(CARGO) test --no-fail-fast --all-targets --target $(TARGET) 2>&1 \
		|| echo fail >> $(TESTRC); \
	  $(CARGO) test --doc --target $(TARGET) 2>&1 || echo fail >> $(TESTRC); } | tee $(TESTLOG)
	@if [ -s $(SKIPPED) ]; then \
		echo "skipped (not run on this kernel or machine):"; sed 's/^/  /' $(SKIPPED); \
	else echo "skipped: none"; fi
	@sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored;.*/\1 \2 \3/p' $(TESTLOG) \
		| awk '{p+=$$1; f+=$$2; s+=$$3} END {printf "total: %d passed, %d failed, %d skipped\n", p, f, s}'
	@test ! -s $(TESTRC)

# The same suite as the unprivileged user of a qemu guest whose kernel has
# Landlock and a pure cgroup v2 hierarchy; a skip of those is a failure.
test-vm: $(ROOTFS_MARKER)
	SANDBOX_TARGET=$(TARGET) bash tests/vm/run "$(ROOTFS)"

# sandbox-oci driven by podman (rootless) and ctr, every case run against
# runc first as the control; the runtime calls are compared with
# tests/oci/calls/. Installs what it needs with apt-get; as root.
OCI_RUNTIMES ?= runc sandbox-oci
UPDATE_CALLS ?=
test-oci: build $(ROOTFS_MARKER)
	OCI_RUNTIMES="$(OCI_RUNTIMES)" UPDATE_CALLS="$(UPDATE_CALLS)" bash tests/oci/run "$(BIN)" "$(ROOTFS)"

# sandbox-oci under containerd's CRI plugin (Kubernetes' runtime API), as a
# RuntimeClass handler beside runc's; the client is its own Cargo package
# (tests/cri/client: tonic and prost stay out of sandbox's tree). Installs
# what it needs with apt-get; as root.
CRI_CASES ?=
CRI_HANDLERS ?= runc sandbox
test-cri: build $(ROOTFS_MARKER)
	CRI_HANDLERS="$(CRI_HANDLERS)" bash tests/cri/run "$(BIN)" "$(ROOTFS)" cases $(CRI_CASES)

# bubblewrap's tests/test-run.sh against our front end (sandbox-bwrap), with
# Debian's bwrap as the control; every case bwrap passes must pass, or be
# skipped by name with its reason (tests/bwrap/run). Fetches bubblewrap's
# source package with apt-get source the first time (as root).
test-bwrap: build
	bash tests/bwrap/run "$(BIN)"

# Property tests as fuzz targets, each for a bounded time (tools/fuzz).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	$(call need_rust,$(TEST_RUST_VERSION))
	FUZZ_SECONDS=$(FUZZ_SECONDS) CARGO="$(CARGO)" sh tools/fuzz $(TARGET) $(FUZZ_TARGETS)

# Numbers for docs/BENCHMARKS.md; never part of `make test`.
bench: $(ROOTFS_MARKER)
	SANDBOX_TARGET=$(TARGET) bash bench/run "$(ROOTFS)"

# `make install`: PREFIX=/usr/local by default, PREFIX=~/.local for one
# user; DESTDIR is prepended for staging (packages). The man page and the
# completions are generated by the binary being installed (`sandbox man`,
# `sandbox completions SHELL`), from the same option table as --help.
# It builds first, but as root with a binary already built it does not:
# root often has no Rust (`make && sudo make install`).
# `make install-files BIN=path` installs a given binary without building
# (the suite does, tests/install.rs).
PREFIX ?= /usr/local
DESTDIR ?=
bindir = $(DESTDIR)$(PREFIX)/bin
man1dir = $(DESTDIR)$(PREFIX)/share/man/man1
bashdir = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
zshdir = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
fishdir = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
# The shipped profiles (profiles/*.toml), for --profile NAME; the binary
# looks for them in ../share/sandbox/profiles beside its own directory.
profilesdir = $(DESTDIR)$(PREFIX)/share/sandbox/profiles
PROFILES = $(wildcard profiles/*.toml)
# The AppArmor profile granting the binary `userns` (tools/apparmor.profile,
# for Ubuntu's kernel.apparmor_restrict_unprivileged_userns), as
# DESTDIR/etc/apparmor.d/sandbox: APPARMOR=auto (default) where this
# machine has AppArmor 4 (/etc/apparmor.d/abi/4.0: older parsers know no
# `userns` rule, and their kernels no restriction) and it can be written (a
# line says so when it cannot), 1 always, 0 never. Loaded with
# apparmor_parser when installing as root without DESTDIR.
APPARMOR ?= auto
apparmordir = $(DESTDIR)/etc/apparmor.d

# sandbox-oci, the OCI runtime for podman and containerd (docs/OCI.md), is
# the same binary under another name: a link beside it; so is
# sandbox-bwrap, the bubblewrap-compatible front end (docs/BWRAP.md).
# BWRAP_LINK=1 also installs it as `bwrap` under PREFIX (for tools that run
# `bwrap` from PATH: put PREFIX/bin before /usr/bin).
BWRAP_LINK ?=
define install_files
install -d $(bindir) $(man1dir) $(bashdir) $(zshdir) $(fishdir) $(profilesdir)
install -m 0755 $(BIN) $(bindir)/sandbox
install -m 0644 $(PROFILES) $(profilesdir)/
ln -sf sandbox $(bindir)/sandbox-oci
ln -sf sandbox $(bindir)/sandbox-bwrap
if [ -n "$(BWRAP_LINK)" ]; then ln -sf sandbox $(bindir)/bwrap; fi
$(BIN) man > $(man1dir)/sandbox.1
$(BIN) completions bash > $(bashdir)/sandbox
$(BIN) completions zsh > $(zshdir)/_sandbox
$(BIN) completions fish > $(fishdir)/sandbox.fish
chmod 0644 $(man1dir)/sandbox.1 $(bashdir)/sandbox $(zshdir)/_sandbox $(fishdir)/sandbox.fish
aa=$(APPARMOR); \
if [ "$$aa" = auto ]; then \
	aa=0; \
	if [ -e /etc/apparmor.d/abi/4.0 ]; then \
		d=$(apparmordir); while [ ! -e "$$d" ]; do d=$$(dirname "$$d"); done; \
		if [ -w "$$d" ]; then aa=1; else \
		echo "make install: not installing the AppArmor profile that lets sandbox make user namespaces under Ubuntu's restriction: $$d is not writable by you (as root: make install-files BIN=$(PREFIX)/bin/sandbox PREFIX=$(PREFIX) APPARMOR=1)" >&2; fi; \
	fi; \
fi; \
if [ "$$aa" = 1 ]; then \
	install -d $(apparmordir) && \
	sed 's|@BIN@|$(PREFIX)/bin/sandbox|' tools/apparmor.profile > $(apparmordir)/sandbox && \
	chmod 0644 $(apparmordir)/sandbox && \
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v apparmor_parser >/dev/null && \
		[ -d /sys/kernel/security/apparmor ]; then apparmor_parser -r $(apparmordir)/sandbox; fi; \
fi
endef

# Stop before building when a directory install writes to cannot be
# written (as a user, /usr/local): one line naming the fix, rather than
# install's "Permission denied" for each file.
check-prefix:
	@for d in $(bindir) $(man1dir) $(bashdir) $(zshdir) $(fishdir) $(profilesdir); do \
	while [ ! -e "$$d" ]; do d=$$(dirname "$$d"); done; \
	if [ ! -w "$$d" ]; then \
		echo "make install: $$d is not writable by you: install for yourself with 'make install PREFIX=~/.local' (~/.local/bin on your PATH), or for everyone with 'make && sudo make install'" >&2; \
		exit 1; \
	fi; \
	done

install: check-prefix
	@if [ "$$(id -u)" != 0 ] || [ ! -x $(BIN) ]; then $(MAKE) --no-print-directory build; fi
	$(install_files)

install-files: check-prefix
	$(install_files)

uninstall:
	rm -f $(bindir)/sandbox $(bindir)/sandbox-oci $(bindir)/sandbox-bwrap $(man1dir)/sandbox.1 $(bashdir)/sandbox \
		$(zshdir)/_sandbox $(fishdir)/sandbox.fish \
		$(addprefix $(profilesdir)/,$(notdir $(PROFILES)))
	rmdir $(profilesdir) $(dir $(profilesdir)) 2>/dev/null || true
	@if [ -f $(apparmordir)/sandbox ] && grep -q '^profile sandbox $(PREFIX)/bin/sandbox ' $(apparmordir)/sandbox; then \
		if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v apparmor_parser >/dev/null && \
			[ -d /sys/kernel/security/apparmor ]; then apparmor_parser -R $(apparmordir)/sandbox || true; fi; \
		rm -f $(apparmordir)/sandbox; \
	fi
	@# Our bwrap link only (BWRAP_LINK=1), never another program of that name.
	@if [ "$$(readlink $(bindir)/bwrap 2>/dev/null)" = sandbox ]; then rm -f $(bindir)/bwrap; fi

# Clippy on the chosen target and, when that is musl, on the glibc
# fallback too, so that the fallback keeps building.
# sandbox-oci translates config.json into confine/ calls; it never uses
# `sandbox run`'s processes (docs/ARCHITECTURE.md, "Modules"): no path
# into launch/ in src/oci/, comments aside.
OCI_IMPORTS_LAUNCH := grep -rnE '(\<|::)launch::|::launch\>|^[[:space:]]*launch[[:space:]]*[,}]|use .*\<launch\>' src/oci/ | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//'

# The CRI client (tests/cri/client) is its own package: its formatting is
# checked here; it is built, with its own lock file, by make test-cri.
lint:
	$(CARGO) fmt --check
	$(CARGO) fmt --check --manifest-path tests/cri/client/Cargo.toml
	@if $(OCI_IMPORTS_LAUNCH); then \
		echo "lint: src/oci/ imports launch/ (above); what both need belongs in confine/ or a shared top-level module" >&2; \
		exit 1; fi
	$(CARGO) clippy --all-targets --target $(TARGET) -- -D warnings
	@if [ "$(TARGET)" != "$(GNU)" ]; then \
		echo "$(CARGO) clippy --all-targets --target $(GNU) -- -D warnings"; \
		$(CARGO) clippy --all-targets --target $(GNU) -- -D warnings; fi
	# The library's documentation builds without a broken link.
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --target $(TARGET)

clean:
	$(CARGO) clean
