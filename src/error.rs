//! The one error type: what step failed, on which path, and why.
//!
//! Every failure the user sees is one line `sandbox: <step>: <path>: <reason>`
//! (the path is left out where there is none), optionally followed by one
//! `sandbox: hint: …` line for known rootless pitfalls. The same value travels
//! from the child stage to the launcher over the report pipe (see `channel.rs` for
//! the encoding), so it is printed once, by the parent.

use std::fmt;
use std::io;

/// Exit codes (README, "Exit codes"); users script around these.
pub const EXIT_SANDBOX: u8 = 125;
pub const EXIT_CANNOT_EXEC: u8 = 126;
pub const EXIT_NOT_FOUND: u8 = 127;

/// What went wrong, in [`Error::reason`].
///
/// ```
/// let e = sandbox::Error::msg("usage", "no ROOTFS");
/// assert!(matches!(e.reason, sandbox::Reason::Msg(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A failed system call; printed with the C library's description.
    Errno(i32),
    /// Anything else, already worded for the user.
    Msg(String),
}

/// Why a sandbox failed: the step, the path, the errno or a message, an
/// optional hint, and the exit status (125, 126 or 127). Shown as one
/// line, `sandbox: <step>: <path>: <reason>`.
///
/// ```
/// let e = sandbox::Error::errno("mount proc", Some("/proc".into()), libc::EPERM);
/// assert_eq!(e.to_string(), "sandbox: mount proc: /proc: Operation not permitted");
/// assert_eq!(e.exit, sandbox::EXIT_SANDBOX);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What was being done (`mount proc`, `exec`, `usage`).
    pub step: String,
    /// On which path, when there is one.
    pub path: Option<String>,
    /// Why it failed.
    pub reason: Reason,
    /// What to do about it, for known pitfalls.
    pub hint: Option<String>,
    /// The exit status the launcher ends with (125, 126 or 127).
    pub exit: u8,
}

impl Error {
    /// A failure worded for the user.
    ///
    /// ```
    /// let e = sandbox::Error::msg("usage", "missing ROOTFS");
    /// assert_eq!(e.to_string(), "sandbox: usage: missing ROOTFS");
    /// ```
    pub fn msg(step: impl Into<String>, reason: impl Into<String>) -> Self {
        Error {
            step: step.into(),
            path: None,
            reason: Reason::Msg(reason.into()),
            hint: None,
            exit: EXIT_SANDBOX,
        }
    }

    /// A failed system call.
    ///
    /// ```
    /// let e = sandbox::Error::errno("open", Some("/x".into()), libc::ENOENT);
    /// assert_eq!(e.raw_errno(), Some(libc::ENOENT));
    /// ```
    pub fn errno(step: impl Into<String>, path: Option<String>, errno: i32) -> Self {
        Error {
            step: step.into(),
            path,
            reason: Reason::Errno(errno),
            hint: None,
            exit: EXIT_SANDBOX,
        }
    }

    /// The same error, on `path`.
    ///
    /// ```
    /// let e = sandbox::Error::msg("rootfs", "not a directory").with_path("/etc/passwd");
    /// assert_eq!(e.to_string(), "sandbox: rootfs: /etc/passwd: not a directory");
    /// ```
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The same error, on `path` unless it already names one (a more
    /// precise one: the blob inside the image a user named, say).
    ///
    /// ```
    /// let e = sandbox::Error::msg("open blob", "gone").with_path("/img/blobs/sha256/ab");
    /// assert_eq!(e.or_path("oci:/img:latest").to_string(), "sandbox: open blob: /img/blobs/sha256/ab: gone");
    /// let e = sandbox::Error::msg("image", "no such tag");
    /// assert_eq!(e.or_path("oci:/img:x").to_string(), "sandbox: image: oci:/img:x: no such tag");
    /// ```
    pub fn or_path(self, path: impl Into<String>) -> Self {
        if self.path.is_some() {
            self
        } else {
            self.with_path(path)
        }
    }

    /// The same error, with a hint for the user.
    ///
    /// ```
    /// let e = sandbox::Error::msg("rootfs", "missing").with_hint("run make rootfs");
    /// assert_eq!(e.hint.as_deref(), Some("run make rootfs"));
    /// ```
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same error, ending with another exit status (126, 127).
    ///
    /// ```
    /// let e = sandbox::Error::msg("exec", "not found").with_exit(127);
    /// assert_eq!(e.exit, 127);
    /// ```
    pub fn with_exit(mut self, exit: u8) -> Self {
        self.exit = exit;
        self
    }

    /// The errno, when a system call failed.
    ///
    /// ```
    /// assert_eq!(sandbox::Error::msg("a", "b").raw_errno(), None);
    /// ```
    pub fn raw_errno(&self) -> Option<i32> {
        match self.reason {
            Reason::Errno(e) => Some(e),
            Reason::Msg(_) => None,
        }
    }

    /// Print the error (and its hint) to stderr, once: for command-line
    /// programs (the library itself never prints).
    ///
    /// ```no_run
    /// sandbox::Error::msg("usage", "missing ROOTFS").report();
    /// ```
    pub fn report(&self) {
        eprintln!("{self}");
        if let Some(h) = &self.hint {
            eprintln!("sandbox: hint: {}", OneLine(h));
        }
    }
}

/// Text shown with its control characters (a newline, a terminal escape
/// sequence) written as escapes (`\n`, `\u{1b}`): what a hostile input
/// put in a message (a tar header, a name in an image) stays on the one
/// line and cannot drive the terminal.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sandbox: {}", OneLine(&self.step))?;
        if let Some(p) = &self.path {
            write!(f, ": {}", OneLine(p))?;
        }
        match &self.reason {
            Reason::Errno(e) => write!(f, ": {}", describe_errno(*e)),
            Reason::Msg(m) => write!(f, ": {}", OneLine(m)),
        }
    }
}

/// The C library's text for an errno, without Rust's " (os error N)" suffix.
pub fn describe_errno(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attach the step and path to a failed system call.
pub trait Context<T> {
    fn ctx(self, step: &str, path: impl fmt::Display) -> Result<T>;
    fn ctx_step(self, step: &str) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, step: &str, path: impl fmt::Display) -> Result<T> {
        self.map_err(|e| from_io(step, Some(path.to_string()), &e))
    }

    fn ctx_step(self, step: &str) -> Result<T> {
        self.map_err(|e| from_io(step, None, &e))
    }
}

fn from_io(step: &str, path: Option<String>, e: &io::Error) -> Error {
    match e.raw_os_error() {
        Some(errno) => Error::errno(step, path, errno),
        None => Error {
            step: step.to_string(),
            path,
            reason: Reason::Msg(e.to_string()),
            hint: None,
            exit: EXIT_SANDBOX,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_step_path_and_errno_text() {
        let e = Error::errno("mount proc", Some("/proc".into()), libc::EPERM);
        assert_eq!(
            e.to_string(),
            "sandbox: mount proc: /proc: Operation not permitted"
        );
        assert!(!e.to_string().contains("os error"));
    }

    #[test]
    fn path_is_optional() {
        let e = Error::msg("usage", "unknown option --frob");
        assert_eq!(e.to_string(), "sandbox: usage: unknown option --frob");
    }

    #[test]
    fn control_characters_are_escaped() {
        let e = Error::msg("unpack\n", "bad \"x\"\n\u{1b}[2J").with_path("a\tb");
        assert_eq!(
            e.to_string(),
            "sandbox: unpack\\n: a\\tb: bad \"x\"\\n\\u{1b}[2J"
        );
    }

    #[test]
    fn io_errors_keep_their_errno() {
        let r: io::Result<()> = Err(io::Error::from_raw_os_error(libc::ENOENT));
        let e = r.ctx("open rootfs", "/nope").unwrap_err();
        assert_eq!(e.raw_errno(), Some(libc::ENOENT));
        assert_eq!(e.exit, EXIT_SANDBOX);
    }
}
