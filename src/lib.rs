//! sandbox: run a command in a rootless Linux sandbox.
//!
//! The command runs as root and PID 1 inside new user, PID, mount, UTS,
//! IPC, network and cgroup namespaces, pivot_rooted into a root filesystem
//! you give, with no capabilities, `no_new_privs`, a seccomp filter and
//! Landlock where the kernel has it. Whatever it writes to the root
//! vanishes when it ends. The `sandbox` command-line tool is a thin layer
//! over this library; docs/ARCHITECTURE.md describes the engine.
//!
//! ```no_run
//! fn main() {
//!     // First thing: the sandbox's second stage is this program re-exec'd
//!     // as `sandbox child`, and init() is where it takes over.
//!     sandbox::init();
//!
//!     let report = sandbox::Command::new("./rootfs", "/bin/sh")
//!         .args(["-c", "echo hello from $(hostname)"])
//!         .ro_bind("./job.sh", "/job.sh")
//!         .timeout(std::time::Duration::from_secs(10))
//!         .status()
//!         .expect("the sandbox failed");
//!     println!("exit status {}", report.status);
//! }
//! ```
//!
//! Launching from many threads at once is safe: between clone and its
//! exec the new process makes only async-signal-safe calls.
// `unsafe` lives in sys/ only, each block with its SAFETY comment.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
// The examples show `fn main` on purpose: `sandbox::init()` must be the
// first thing in it.
#![allow(clippy::needless_doctest_main)]

// The layout (docs/ARCHITECTURE.md, "Modules"): launch/ is `sandbox
// run`'s processes, confine/ the mechanisms every front end calls, plan/
// what a run is to be, named/ the named sandboxes, image/ tarballs and OCI
// layouts as a root, oci/ sandbox-oci (which never imports launch/), sys/
// the only `unsafe`. The files at the top are shared by all of them.
#[doc(hidden)]
pub mod bwrap;
mod channel;
mod command;
#[doc(hidden)]
pub mod confine;
#[doc(hidden)]
pub mod doctor;
#[doc(hidden)]
pub mod error;
#[cfg(test)]
mod fuzz;
#[doc(hidden)]
pub mod image;
mod launch;
#[doc(hidden)]
pub mod named;
#[doc(hidden)]
pub mod oci;
#[doc(hidden)]
pub mod plan;
#[doc(hidden)]
pub mod procfs;
mod signals;
#[allow(unsafe_code)]
mod sys;

pub use command::{Child, Command, Network};
pub use error::{Error, Reason};
pub use launch::status::{Denied, DeniedCall, Report};
pub use plan::{IdMapMode, LandlockMode, PathAccess, RootMode, StdioMode, UsernsMode};
pub use sys::Exit;

/// The exit status of a sandbox whose own set-up failed.
///
/// ```
/// assert_eq!(sandbox::EXIT_SANDBOX, 125);
/// ```
pub const EXIT_SANDBOX: u8 = error::EXIT_SANDBOX;
/// The exit status when `--timeout` (or [`Command::timeout`]) expired.
///
/// ```
/// assert_eq!(sandbox::EXIT_TIMEOUT, 124);
/// ```
pub const EXIT_TIMEOUT: u8 = launch::launcher::EXIT_TIMEOUT;

/// Call first thing in `main` of any program that launches sandboxes.
///
/// A sandbox's second stage is the program itself, re-exec'd through
/// `/proc/self/exe` with the arguments `sandbox child` (the way Go
/// programs call `reexec.Init`). When this process is that stage, `init`
/// runs it and never returns: it ends in the sandboxed command's exec or
/// exits 125. Otherwise it returns at once and does nothing.
///
/// ```
/// fn main() {
///     sandbox::init();
///     // … the program's own work, which may launch sandboxes …
/// }
/// ```
pub fn init() {
    let mut args = std::env::args_os();
    let is_stage = args.next().is_some_and(|a| a == "sandbox")
        && args.next().is_some_and(|a| a == "child")
        && args.next().is_none();
    if is_stage {
        std::process::exit(launch::stage::main() as i32);
    }
}

/// The child stage, for the `sandbox` binary's `child` subcommand: runs
/// it when this process is one, else refuses with one line and 125.
#[doc(hidden)]
pub fn child_stage() -> u8 {
    launch::stage::main()
}

/// Whether this process was started with privileges it did not ask for
/// (setuid, setgid or file capabilities). The library refuses to launch
/// then, and the CLI refuses to run at all.
#[doc(hidden)]
pub fn started_with_privileges() -> bool {
    let ((ruid, euid), (rgid, egid)) = sys::ids();
    sys::secure_exec() || ruid != euid || rgid != egid
}
