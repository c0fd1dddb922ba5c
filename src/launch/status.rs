//! How the sandbox ended, for `--status-file`, `--status-fd` (one JSON
//! object) and `--verbose` (one human line). Pure: built from what the
//! parent gathered, unit-tested.

use std::fmt::Write as _;
use std::time::Duration;

use crate::confine::cgroup::Usage;
use crate::confine::limits::{Limit, RLIMIT_CORE, RLIMIT_CPU, UNLIMITED};
use crate::error::Error;
use crate::sys::Exit;

/// How a sandbox ended: what `--status-file` writes, and what
/// [`crate::Child::wait`] returns.
///
/// ```
/// let r = sandbox::Report { status: 3, exit: Some(sandbox::Exit::Code(3)), ..Default::default() };
/// assert!(r.json().starts_with("{\"status\":3,\"exit_code\":3,"));
/// assert!(r.line().starts_with("sandbox: exited with 3"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The launcher's exit status (the command's, 128+N, 124, 125…).
    pub status: u8,
    /// How the command ended; `None` when it never started.
    pub exit: Option<Exit>,
    /// The sandbox's own error, when it failed (status 125, 126, 127).
    pub error: Option<Error>,
    /// Whether `--timeout` expired.
    pub timed_out: bool,
    /// The signal that asked the launcher itself to stop, if one did.
    pub stopped_by: Option<i32>,
    /// Whether the sandbox had to be killed after the grace period.
    pub killed_after_grace: bool,
    /// Which limits the end shows were reached (`timeout`, `memory`,
    /// `pids`, `cpu`, `fsize`).
    pub limits_hit: Vec<&'static str>,
    /// Whether `limits_hit` is known to name every limit that was hit
    /// (`limits_hit_complete`).
    pub limits_hit_complete: bool,
    /// Whether the kernel's OOM killer ended a process (`--memory`).
    pub oom_killed: bool,
    /// From the launch to the end.
    pub wall: Duration,
    /// CPU time in user mode (the cgroup's, or PID 1's and what it reaped).
    pub user: Option<Duration>,
    /// CPU time in the kernel, likewise.
    pub system: Option<Duration>,
    /// Peak memory in bytes; see `peak_memory_source`.
    pub peak_memory: Option<u64>,
    /// "cgroup" (memory.peak: the whole sandbox at once) or "process" (the
    /// largest resident set of any one process).
    pub peak_memory_source: Option<&'static str>,
    /// What the sandbox said to the user on the way, in order: the
    /// overlay fallback, `-v`'s set-up summary, a timeout, warnings (one
    /// line each, without the `sandbox: ` prefix). Not in the JSON.
    pub notices: Vec<String>,
    /// Which network the sandbox had: "none", "host", "pasta" or "proxy"
    /// (`--allow-host`).
    pub network: Option<&'static str>,
    /// `--report-denials`: the calls the seccomp filter refused. None
    /// without the option (and then not in the JSON).
    pub denied: Option<Denied>,
    /// `--allow-host`: the hosts the proxy connected to and what it
    /// refused (the JSON's `net`; null without the option).
    pub net: Option<crate::confine::proxy::NetReport>,
}

/// What `--report-denials` saw: `"denied": {"syscalls": [...], "other":
/// N, "skipped": null}` in the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Denied {
    /// One entry per call (ABI, number, errno), in the order first seen.
    pub syscalls: Vec<DeniedCall>,
    /// Refused calls beyond the first `launch::denials::MAX_NAMES`
    /// distinct ones: counted, not told apart.
    pub other: u64,
    /// Why nothing could be reported (a kernel without seccomp user
    /// notification), when so.
    pub skipped: Option<String>,
}

/// One refused system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedCall {
    /// Its name ("syscall N" when our tables do not know the number).
    pub name: String,
    /// "x86_64", "x32" or "i386".
    pub abi: &'static str,
    pub nr: u32,
    /// The errno the call got (the filter's).
    pub errno: i32,
    /// How many times it was refused.
    pub count: u64,
    /// The process that made it first, as its pid inside the sandbox.
    pub first_pid: u32,
}

impl Denied {
    fn json(&self, o: &mut String) {
        o.push_str("{\"syscalls\":[");
        for (i, c) in self.syscalls.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str("{\"name\":");
            json_str(o, &c.name);
            o.push_str(",\"abi\":");
            json_str(o, c.abi);
            let _ = write!(o, ",\"nr\":{},\"errno\":{},\"errno_name\":", c.nr, c.errno);
            json_str(o, errno_name(c.errno));
            let _ = write!(o, ",\"count\":{},\"first_pid\":{}}}", c.count, c.first_pid);
        }
        let _ = write!(o, "],\"other\":{},\"skipped\":", self.other);
        match &self.skipped {
            Some(s) => json_str(o, s),
            None => o.push_str("null"),
        }
        o.push('}');
    }

    /// `-v`'s summary: one line, "denied: keyctl x3 (ENOSYS, first by pid
    /// 2), ..." or "denied: nothing".
    pub fn summary(&self) -> String {
        if let Some(s) = &self.skipped {
            return format!("denied: not reported: {s}");
        }
        if self.syscalls.is_empty() {
            return "denied: no system call was refused by the seccomp filter".into();
        }
        let mut s = String::from("denied by the seccomp filter:");
        for (i, c) in self.syscalls.iter().enumerate() {
            let abi = if c.abi == "x86_64" {
                String::new()
            } else {
                format!(" [{}]", c.abi)
            };
            let _ = write!(
                s,
                "{} {}{abi} x{} ({}, first by pid {})",
                if i > 0 { ";" } else { "" },
                c.name,
                c.count,
                errno_name(c.errno),
                c.first_pid
            );
        }
        if self.other > 0 {
            let _ = write!(s, "; {} more calls of other kinds", self.other);
        }
        s
    }
}

/// The symbolic name of the errnos a seccomp filter gives.
pub fn errno_name(e: i32) -> &'static str {
    match e {
        0 => "0",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EINVAL => "EINVAL",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTTY => "ENOTTY",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EBUSY => "EBUSY",
        libc::ESRCH => "ESRCH",
        _ => "other",
    }
}

/// Which limits the end shows were reached. An rlimit other than cpu and
/// fsize leaves no trace outside the program (it sees EMFILE, EAGAIN,
/// ENOMEM), so those are never named here.
pub fn limits_hit(
    exit: Option<Exit>,
    timed_out: bool,
    rlimits: &[Limit],
    usage: Option<&Usage>,
    cpu_time: Option<Duration>,
) -> Vec<&'static str> {
    let mut hit = Vec::new();
    if timed_out {
        hit.push("timeout");
    }
    if let Some(u) = usage {
        if u.oom_kills > 0 {
            hit.push("memory");
        }
        if u.pids_refused > 0 {
            hit.push("pids");
        }
        if u.cpu_throttled > 0 {
            hit.push("cpus");
        }
    }
    let cpu_limit = cpu_limit(rlimits);
    match exit {
        Some(Exit::Signal(libc::SIGXCPU)) => hit.push("cpu"),
        Some(Exit::Signal(libc::SIGKILL))
            if cpu_limit.is_some_and(|lim| cpu_time.is_some_and(|t| t >= lim)) =>
        {
            hit.push("cpu")
        }
        Some(Exit::Signal(libc::SIGXFSZ)) => hit.push("fsize"),
        _ => {}
    }
    hit
}

/// Limits `--init`'s init saw hit in the processes it reaped (the command
/// and every orphan), as bits of the status record it sends up.
pub const SEEN_FSIZE: u32 = 1;
pub const SEEN_CPU: u32 = 2;

/// What one reaped process's end says about the limits: killed by SIGXFSZ
/// (fsize), by SIGXCPU, or by SIGKILL after at least `cpu_limit` of CPU
/// time (the cpu limit's hard kill). Only processes that ended on their
/// own count (`sweep`: the ones init killed at the end may be SIGKILLed
/// by init itself, and only SIGXFSZ and SIGXCPU are the kernel's then).
pub fn seen_in(
    wait_status: i32,
    cpu_time: Duration,
    cpu_limit: Option<Duration>,
    sweep: bool,
) -> u32 {
    if !libc::WIFSIGNALED(wait_status) {
        return 0;
    }
    match libc::WTERMSIG(wait_status) {
        libc::SIGXFSZ => SEEN_FSIZE,
        libc::SIGXCPU => SEEN_CPU,
        libc::SIGKILL if !sweep && cpu_limit.is_some_and(|l| cpu_time >= l) => SEEN_CPU,
        _ => 0,
    }
}

/// Add what init saw to `hit`, each name once.
pub fn add_seen(hit: &mut Vec<&'static str>, seen: u32) {
    for (bit, name) in [(SEEN_CPU, "cpu"), (SEEN_FSIZE, "fsize")] {
        if seen & bit != 0 && !hit.contains(&name) {
            hit.push(name);
        }
    }
}

/// The cpu rlimit's soft value, if one is set.
pub fn cpu_limit(rlimits: &[Limit]) -> Option<Duration> {
    rlimits
        .iter()
        .find(|l| l.resource().resource == RLIMIT_CPU && l.value != UNLIMITED)
        .map(|l| Duration::from_secs(l.value))
}

/// Whether `limits_hit` can list every limit that was hit. The timeout and
/// the cgroup's limits are counted by the kernel for the whole sandbox;
/// an rlimit is not: a write past `fsize` may get EFBIG, a fork past
/// `nproc` EAGAIN, an open past `nofile` EMFILE, and a process killed by
/// SIGXFSZ or SIGXCPU is seen only when the launcher or `--init`'s init
/// reaps it, not when another process of the sandbox does. So with any
/// rlimit but `core` (always set), the list may be short.
pub fn limits_hit_complete(rlimits: &[Limit]) -> bool {
    rlimits.iter().all(|l| l.resource().resource == RLIMIT_CORE)
}

pub fn signal_name(sig: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match NAMES.get(sig as usize) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("SIG{sig}"),
    }
}

pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `"net": {"allowed": [{"host","port","connections","bytes_sent",
/// "bytes_received"}], "denied": [{"host","port","reason","count"}]}`.
fn net_json(o: &mut String, n: &crate::confine::proxy::NetReport) {
    o.push_str("{\"allowed\":[");
    for (i, a) in n.allowed.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"host\":");
        json_str(o, &a.host);
        let _ = write!(
            o,
            ",\"port\":{},\"connections\":{},\"bytes_sent\":{},\"bytes_received\":{}}}",
            a.port, a.connections, a.bytes_sent, a.bytes_received
        );
    }
    o.push_str("],\"denied\":[");
    for (i, d) in n.denied.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"host\":");
        json_str(o, &d.host);
        let _ = write!(o, ",\"port\":{},\"reason\":", d.port);
        json_str(o, &d.reason);
        let _ = write!(o, ",\"count\":{}}}", d.count);
    }
    o.push_str("]}");
}

fn secs(d: Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

impl Report {
    /// One JSON object on one line, keys in a fixed order; absent facts are
    /// null. docs/SUPERVISION.md lists the keys.
    ///
    /// ```
    /// let j = sandbox::Report::default().json();
    /// assert!(j.starts_with('{') && j.ends_with('}'));
    /// ```
    pub fn json(&self) -> String {
        let mut o = String::from("{");
        let null = || "null".to_string();
        let (code, signal) = match self.exit {
            Some(Exit::Code(c)) => (c.to_string(), null()),
            Some(Exit::Signal(s)) => (null(), s.to_string()),
            None => (null(), null()),
        };
        let _ = write!(
            o,
            "\"status\":{},\"exit_code\":{code},\"signal\":{signal},",
            self.status
        );
        o.push_str("\"signal_name\":");
        match self.exit {
            Some(Exit::Signal(s)) => json_str(&mut o, &signal_name(s)),
            _ => o.push_str("null"),
        }
        let _ = write!(
            o,
            ",\"timed_out\":{},\"oom_killed\":{},\"limits_hit\":[",
            self.timed_out, self.oom_killed
        );
        for (i, l) in self.limits_hit.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            json_str(&mut o, l);
        }
        let _ = write!(o, "],\"limits_hit_complete\":{}", self.limits_hit_complete);
        o.push_str(",\"stopped_by\":");
        match self.stopped_by {
            Some(s) => json_str(&mut o, &signal_name(s)),
            None => o.push_str("null"),
        }
        let opt = |d: Option<Duration>| d.map(secs).unwrap_or_else(null);
        let _ = write!(
            o,
            ",\"killed_after_grace\":{},\"wall_seconds\":{},\"user_seconds\":{},\"system_seconds\":{},\"peak_memory_bytes\":{},\"peak_memory_source\":",
            self.killed_after_grace,
            secs(self.wall),
            opt(self.user),
            opt(self.system),
            self.peak_memory.map(|m| m.to_string()).unwrap_or_else(null),
        );
        match self.peak_memory_source {
            Some(s) => json_str(&mut o, s),
            None => o.push_str("null"),
        }
        o.push_str(",\"error\":");
        match &self.error {
            Some(e) => json_str(&mut o, &e.to_string()),
            None => o.push_str("null"),
        }
        o.push_str(",\"network\":");
        match self.network {
            Some(n) => json_str(&mut o, n),
            None => o.push_str("null"),
        }
        if let Some(d) = &self.denied {
            o.push_str(",\"denied\":");
            d.json(&mut o);
        }
        o.push_str(",\"net\":");
        match &self.net {
            Some(n) => net_json(&mut o, n),
            None => o.push_str("null"),
        }
        o.push('}');
        o
    }

    /// The same facts as one line for --verbose.
    ///
    /// ```
    /// let r = sandbox::Report { timed_out: true, ..Default::default() };
    /// assert!(r.line().contains("timed out"));
    /// ```
    pub fn line(&self) -> String {
        let mut s = String::from("sandbox: ");
        match self.exit {
            Some(Exit::Code(c)) => {
                let _ = write!(s, "exited with {c}");
            }
            Some(Exit::Signal(n)) => {
                let _ = write!(s, "killed by {}", signal_name(n));
            }
            None if self.error.is_some() => {
                let _ = write!(
                    s,
                    "failed before the command started (exit {})",
                    self.status
                );
            }
            None => s.push_str("ended"),
        }
        if self.timed_out {
            s.push_str(", timed out");
        }
        if let Some(sig) = self.stopped_by {
            let _ = write!(s, ", stopped by {}", signal_name(sig));
        }
        if self.killed_after_grace {
            s.push_str(", killed after the grace period");
        }
        if self.oom_killed {
            s.push_str(", out of memory");
        }
        if !self.limits_hit.is_empty() {
            let _ = write!(s, ", limits hit: {}", self.limits_hit.join(" "));
        }
        if !self.limits_hit_complete && self.exit.is_some() {
            s.push_str(" (an rlimit may also have been hit unseen)");
        }
        let _ = write!(s, "; wall {:.3} s", self.wall.as_secs_f64());
        if let (Some(u), Some(sy)) = (self.user, self.system) {
            let _ = write!(
                s,
                ", user {:.3} s, system {:.3} s",
                u.as_secs_f64(),
                sy.as_secs_f64()
            );
        }
        if let Some(m) = self.peak_memory {
            let _ = write!(
                s,
                ", peak memory {:.1} MiB ({})",
                m as f64 / (1 << 20) as f64,
                if self.peak_memory_source == Some("cgroup") {
                    "whole sandbox"
                } else {
                    "largest process"
                }
            );
        }
        let _ = write!(s, "; exit status {}", self.status);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_of_a_plain_exit() {
        let r = Report {
            status: 3,
            exit: Some(Exit::Code(3)),
            wall: Duration::from_millis(1500),
            user: Some(Duration::from_millis(10)),
            system: Some(Duration::ZERO),
            peak_memory: Some(4096),
            peak_memory_source: Some("process"),
            limits_hit_complete: true,
            ..Default::default()
        };
        assert_eq!(
            r.json(),
            "{\"status\":3,\"exit_code\":3,\"signal\":null,\"signal_name\":null,\"timed_out\":false,\"oom_killed\":false,\"limits_hit\":[],\"limits_hit_complete\":true,\"stopped_by\":null,\"killed_after_grace\":false,\"wall_seconds\":1.500000,\"user_seconds\":0.010000,\"system_seconds\":0.000000,\"peak_memory_bytes\":4096,\"peak_memory_source\":\"process\",\"error\":null,\"network\":null,\"net\":null}"
        );
        assert!(
            r.line().starts_with("sandbox: exited with 3; wall 1.500 s"),
            "{}",
            r.line()
        );
    }

    #[test]
    fn json_of_denials() {
        let mut r = Report::default();
        assert!(!r.json().contains("denied"), "absent without the option");
        r.denied = Some(Denied {
            syscalls: vec![DeniedCall {
                name: "keyctl".into(),
                abi: "x86_64",
                nr: 250,
                errno: libc::ENOSYS,
                count: 3,
                first_pid: 2,
            }],
            other: 0,
            skipped: None,
        });
        assert!(r.json().ends_with(",\"denied\":{\"syscalls\":[{\"name\":\"keyctl\",\"abi\":\"x86_64\",\"nr\":250,\"errno\":38,\"errno_name\":\"ENOSYS\",\"count\":3,\"first_pid\":2}],\"other\":0,\"skipped\":null},\"net\":null}"), "{}", r.json());
        let d = r.denied.as_ref().unwrap();
        assert_eq!(
            d.summary(),
            "denied by the seccomp filter: keyctl x3 (ENOSYS, first by pid 2)"
        );
    }

    #[test]
    fn json_of_a_timeout_and_an_error() {
        let r = Report {
            status: 124,
            exit: Some(Exit::Signal(9)),
            timed_out: true,
            killed_after_grace: true,
            limits_hit: vec!["timeout"],
            ..Default::default()
        };
        let j = r.json();
        assert!(
            j.contains("\"signal\":9,\"signal_name\":\"SIGKILL\",\"timed_out\":true"),
            "{j}"
        );
        assert!(j.contains("\"limits_hit\":[\"timeout\"]"), "{j}");
        assert!(j.contains("\"user_seconds\":null"), "{j}");
        let line = r.line();
        assert!(
            line.contains("killed by SIGKILL, timed out, killed after the grace period"),
            "{line}"
        );
        let e = Report {
            status: 125,
            error: Some(Error::msg("a", "\"b\"\n\u{1}")),
            ..Default::default()
        };
        assert!(
            e.json().ends_with(
                "\"error\":\"sandbox: a: \\\"b\\\"\\\\n\\\\u{1}\",\"network\":null,\"net\":null}"
            ),
            "{}",
            e.json()
        );
        assert!(e
            .line()
            .contains("failed before the command started (exit 125)"));
    }

    #[test]
    fn which_limits_were_hit() {
        let cpu = [Limit::named("cpu", 2)];
        let t = |s| Some(Duration::from_secs(s));
        assert_eq!(
            limits_hit(Some(Exit::Signal(libc::SIGXCPU)), false, &[], None, None),
            ["cpu"]
        );
        assert_eq!(
            limits_hit(Some(Exit::Signal(9)), false, &cpu, None, t(3)),
            ["cpu"]
        );
        // A SIGKILL well before the cpu limit is someone else's.
        assert!(limits_hit(Some(Exit::Signal(9)), false, &cpu, None, t(1)).is_empty());
        assert_eq!(
            limits_hit(Some(Exit::Signal(libc::SIGXFSZ)), false, &[], None, None),
            ["fsize"]
        );
        let u = Usage {
            oom_kills: 1,
            pids_refused: 4,
            ..Default::default()
        };
        assert_eq!(
            limits_hit(Some(Exit::Signal(9)), true, &[], Some(&u), None),
            ["timeout", "memory", "pids"]
        );
        assert!(limits_hit(
            Some(Exit::Code(0)),
            false,
            &cpu,
            Some(&Usage::default()),
            t(9)
        )
        .is_empty());
    }

    #[test]
    fn what_init_sees_in_a_reaped_process() {
        let signaled = |sig: i32| sig; // a wait status for a death by `sig`
        let exited = |code: i32| code << 8;
        let lim = Some(Duration::from_secs(2));
        let t = Duration::from_secs;
        assert_eq!(
            seen_in(signaled(libc::SIGXFSZ), t(0), None, false),
            SEEN_FSIZE
        );
        assert_eq!(seen_in(signaled(libc::SIGXCPU), t(0), None, true), SEEN_CPU);
        assert_eq!(seen_in(signaled(libc::SIGKILL), t(3), lim, false), SEEN_CPU);
        // init's own SIGKILL at the end, or one before the limit: not cpu.
        assert_eq!(seen_in(signaled(libc::SIGKILL), t(3), lim, true), 0);
        assert_eq!(seen_in(signaled(libc::SIGKILL), t(1), lim, false), 0);
        // exit 153 is a shell's report of a child's SIGXFSZ, not a death.
        assert_eq!(seen_in(exited(153), t(9), lim, false), 0);
        let mut hit = vec!["timeout", "cpu"];
        add_seen(&mut hit, SEEN_CPU | SEEN_FSIZE);
        assert_eq!(hit, ["timeout", "cpu", "fsize"]);
    }

    #[test]
    fn limits_hit_is_complete_only_without_rlimits_but_core() {
        assert!(limits_hit_complete(&[]));
        assert!(limits_hit_complete(&[Limit::named("core", 0)]));
        for name in ["fsize", "cpu", "nproc", "nofile", "as"] {
            assert!(
                !limits_hit_complete(&[Limit::named("core", 0), Limit::named(name, 5)]),
                "{name}"
            );
        }
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(31), "SIGSYS");
        assert_eq!(signal_name(40), "SIG40");
        assert_eq!(signal_name(-1), "SIG-1");
    }
}
