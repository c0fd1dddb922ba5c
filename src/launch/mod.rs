//! `sandbox run`'s processes, as docs/ARCHITECTURE.md draws them: the
//! launcher on the host (launcher.rs: prepare, clone, release, collect;
//! supervise.rs: the poll loop in between), the clone child and the guard
//! (clone_child.rs, guard.rs: the two places where only async-signal-safe
//! calls are allowed), the child stage re-exec'd as `sandbox child`
//! (stage.rs; joinns.rs where it joins namespaces the caller gives), the stdio relay (relay.rs), the bwrap front end's passed
//! descriptors (passfds.rs) and how a run ended (status.rs).
//!
//! Imports confine/, plan/ and the shared top-level modules; sandbox-oci
//! (oci/) never imports anything here (`make lint` checks).

mod clone_child;
mod denials;
mod guard;
pub(crate) mod hostmode;
mod joinns;
pub(crate) mod launcher;
mod passfds;
pub(crate) mod relay;
pub(crate) mod stage;
#[doc(hidden)]
pub mod status;
mod supervise;
