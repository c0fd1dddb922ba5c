//! Named sandboxes: `--name`, `ps`, `exec`, `kill`, `stop`, `logs`. The
//! registry of running ones under the state directory (state.rs), joining
//! one's namespaces for `exec` (join.rs) and the commands that list and
//! signal them (manage.rs).
//!
//! Imports confine/, plan/, launch/ (exec reuses the stage's last steps and
//! the relay) and the shared top-level modules.

#[doc(hidden)]
pub mod join;
#[doc(hidden)]
pub mod manage;
#[doc(hidden)]
pub mod state;
