//! The mechanisms that confine a process, one implementation each, called
//! by `sandbox run` (launch/), `sandbox exec` (named/) and sandbox-oci
//! (oci/) alike: the fd-based mount-target walk (walk.rs) and the root's
//! construction (rootfs.rs), Landlock, seccomp/ (one assembler, the default
//! filter, OCI profiles), cgroup/ (v1 and v2, `--memory` leaves and OCI
//! cgroupsPath), the network (net.rs) and `--allow-host`'s proxy (proxy.rs),
//! the capability sets (caps.rs), rlimits and namespace limits
//! (limits.rs, nslimits.rs), the one reader of files from an untrusted
//! root (untrusted.rs), the exec trampoline that keeps our binary out of
//! reach (trampoline.rs), the state-directory rule (statedir.rs) and the
//! one joiner of a namespace that exists (nsjoin.rs).
//!
//! Imports plan/, sys/ and the shared top-level modules, never launch/,
//! named/ or oci/.

#[doc(hidden)]
pub mod caps;
#[doc(hidden)]
pub mod cgroup;
pub(crate) mod landlock;
#[doc(hidden)]
pub mod limits;
#[doc(hidden)]
pub mod net;
pub(crate) mod nsjoin;
#[doc(hidden)]
pub mod nslimits;
#[doc(hidden)]
pub mod proxy;
pub(crate) mod rootfs;
pub(crate) mod seccomp;
pub(crate) mod statedir;
pub(crate) mod trampoline;
// The binary's profile reader (src/cli/profile.rs) reads through it too.
#[doc(hidden)]
pub mod untrusted;
pub(crate) mod walk;
