//! The state directory: one entry per running sandbox of this user, so
//! that `sandbox ps`, `exec`, `kill`, `stop` and `logs` can find it by
//! name (issue 17; docs/SECURITY.md, "The state directory").
//!
//! `$XDG_RUNTIME_DIR/sandbox/`, else `/tmp/sandbox-run-UID/`; created
//! 0700 and used only when it is a real directory (not a symlink) owned
//! by us with no access for group or others: the rule sandbox-oci's
//! state directory follows too (confine/statedir.rs). An entry is one file, `NAME`:
//!
//! - the launcher holds an flock on it as long as it lives, so an entry
//!   whose lock is free belongs to a launcher that is gone (stale) and is
//!   removed by whoever sees it;
//! - it holds a header line (`sandbox-entry-1 RECORD_LEN PLAN_LEN`), the
//!   record (what the others need, `Record`) and the sandbox's encoded
//!   plan (channel.rs), which `exec` applies again (join.rs); an entry
//!   shorter than its header says is still being written;
//! - `.log-NAME`, `.log.1-NAME` beside it: a detached sandbox's output, at
//!   most `LOG_CAP` each.
//!
//! An entry appears under its name only with its lock already held: it is
//! made as `.new-PID-N` and renamed into place without replacing anything
//! (RENAME_NOREPLACE), which fails while a live entry has the name. One
//! file rather than a directory of three: on a disk file system a
//! directory's block is allocated at mkdir and freed (with `discard`, a
//! synchronous trim) at rmdir, about 0.3 ms of a launch here; a file's
//! few hundred bytes never reach the disk when the sandbox ends first.
//!
//! Entries of older versions (a directory `NAME/` whose `lock` file the
//! launcher held) are left alone while their lock is held, and removed
//! once it is free; they are not listed.

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::procfs;
use crate::sys;

/// The longest name `--name` takes.
pub const NAME_MAX: usize = 64;

/// How large `log` grows before it becomes `log.1` (replacing the
/// previous one) and a new `log` starts: a detached sandbox keeps at most
/// twice this on disk, in what is often a RAM-backed /run/user
/// (docs/DECISIONS.md, "Named sandboxes").
pub const LOG_CAP: u64 = 4 << 20;

/// `--name`: letters, digits, `-`, `_` and `.`, at most 64, not starting
/// with `.` (entries being made or removed start with one).
pub fn check_name(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() || s.len() > NAME_MAX {
        return Err(format!(
            "a sandbox name has 1 to {NAME_MAX} characters, got {}",
            s.len()
        ));
    }
    if s.starts_with('.') {
        return Err(format!("a sandbox name cannot start with '.': {s:?}"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "a sandbox name has only letters, digits, '-', '_' and '.', got {c:?} in {s:?}"
        ));
    }
    Ok(())
}

/// The state directory's path for this user (not checked).
fn base_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(x) if Path::new(&x).is_absolute() && Path::new(&x).is_dir() => {
            Path::new(&x).join("sandbox")
        }
        _ => PathBuf::from(format!("/tmp/sandbox-run-{}", sys::geteuid())),
    }
}

/// The state directory, checked by the rule both front ends share
/// (confine/statedir.rs): a directory, not a symlink, ours, 0700. `create`: make
/// it when missing; otherwise None when missing.
pub fn dir(create: bool) -> Result<Option<PathBuf>> {
    crate::confine::statedir::open(
        &base_path(),
        create,
        crate::confine::statedir::Access::Private,
        "remove it, or set XDG_RUNTIME_DIR to a directory of your own",
    )
}

/// What an entry tells about its sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The sandbox's PID 1, as the host sees it, and its start time
    /// (clock ticks after boot, /proc/PID/stat field 22): together they
    /// name one process, whatever reuses the pid later.
    pub pid: i32,
    pub pid_start: u64,
    /// The launcher, the same way.
    pub launcher: i32,
    pub launcher_start: u64,
    /// Seconds since the epoch.
    pub started: u64,
    pub rootfs: String,
    pub command: Vec<String>,
    /// `none` or `host`.
    pub network: String,
    pub detached: bool,
    /// The launcher's grace between TERM and KILL (`--kill-after`).
    pub kill_after_ms: u64,
    /// The launcher made a cgroup for it (`--memory`, `--pids`, `--cpus`):
    /// `sandbox exec` joins it. The launcher's business, so not in the
    /// plan the entry also holds.
    pub cgroup: bool,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        match (c, c == '\\') {
            (_, true) => match it.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

impl Record {
    /// `key=value` lines; `arg=` once per argument.
    pub fn encode(&self) -> String {
        let mut s = format!(
            "pid={}\npid_start={}\nlauncher={}\nlauncher_start={}\nstarted={}\nrootfs={}\nnetwork={}\ndetached={}\nkill_after_ms={}\ncgroup={}\n",
            self.pid,
            self.pid_start,
            self.launcher,
            self.launcher_start,
            self.started,
            escape(&self.rootfs),
            escape(&self.network),
            self.detached as u8,
            self.kill_after_ms,
            self.cgroup as u8,
        );
        for a in &self.command {
            s.push_str(&format!("arg={}\n", escape(a)));
        }
        s
    }

    pub fn decode(text: &str) -> std::result::Result<Record, String> {
        let mut r = Record::default();
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("bad number {v:?}"));
        for line in text.lines() {
            let (k, v) = line.split_once('=').ok_or("a line without '='")?;
            match k {
                "pid" => r.pid = num(v)? as i32,
                "pid_start" => r.pid_start = num(v)?,
                "launcher" => r.launcher = num(v)? as i32,
                "launcher_start" => r.launcher_start = num(v)?,
                "started" => r.started = num(v)?,
                "rootfs" => r.rootfs = unescape(v),
                "network" => r.network = unescape(v),
                "detached" => r.detached = v == "1",
                "kill_after_ms" => r.kill_after_ms = num(v)?,
                "cgroup" => r.cgroup = v == "1",
                "arg" => r.command.push(unescape(v)),
                _ => {}
            }
        }
        if r.pid <= 0 || r.launcher <= 0 {
            return Err("no pid".into());
        }
        Ok(r)
    }
}

/// Whether `pid` has no_new_privs set: the child stage sets it after its
/// pivot_root and nested user namespace, so from then on the process's
/// root and namespaces are the sandbox's final ones (before, its root is
/// still the host's).
pub fn confined(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| s.lines().any(|l| l == "NoNewPrivs:\t1"))
        .unwrap_or(false)
}

/// Wait (at most `within`, polling) until `pid`, which started at `start`,
/// is `confined`; false if it ended or the time ran out.
pub fn wait_confined(pid: i32, start: u64, within: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if procfs::start_time(pid) != Some(start) {
            return false;
        }
        if confined(pid) {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// A pidfd for `pid`, checked to be the process that started at `start`
/// (not one that reused the pid): the check comes after the open, so the
/// fd names the process that was checked.
pub fn checked_pidfd(pid: i32, start: u64) -> Option<OwnedFd> {
    let fd = sys::pidfd_open(pid).ok()?;
    (procfs::start_time(pid) == Some(start) && sys::pidfd_alive(fd.as_fd())).then_some(fd)
}

fn tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:08x}", h.finish() as u32)
}

/// The entry file's first line: the format, then the record's and the
/// plan's lengths in bytes.
const ENTRY_MAGIC: &str = "sandbox-entry-1";

fn entry_bytes(rec: &Record, plan: &[u8]) -> Vec<u8> {
    let r = rec.encode();
    let mut out = format!("{ENTRY_MAGIC} {} {}\n", r.len(), plan.len()).into_bytes();
    out.extend_from_slice(r.as_bytes());
    out.extend_from_slice(plan);
    out
}

/// The record and the plan; None for an entry still being written (empty,
/// or shorter than its header says) or not one of ours.
fn parse_entry(b: &[u8]) -> Option<(Record, Vec<u8>)> {
    let nl = b.iter().position(|&c| c == b'\n')?;
    let mut head = std::str::from_utf8(&b[..nl]).ok()?.split(' ');
    if head.next()? != ENTRY_MAGIC {
        return None;
    }
    let rec_len: usize = head.next()?.parse().ok()?;
    let plan_len: usize = head.next()?.parse().ok()?;
    let body = &b[nl + 1..];
    if body.len() != rec_len.checked_add(plan_len)? {
        return None;
    }
    let rec = Record::decode(std::str::from_utf8(&body[..rec_len]).ok()?).ok()?;
    Some((rec, body[rec_len..].to_vec()))
}

fn open_entry(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// A new entry file under a temporary name (`.new-PID-N`), locked.
fn new_entry(base: &Path, content: &[u8]) -> Result<(PathBuf, fs::File)> {
    let new = base.join(format!(".new-{}-{}", std::process::id(), tag()));
    let made = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&new)
        .and_then(|mut f| {
            f.write_all(content)?;
            Ok(f)
        })
        .ctx("create a state entry", new.display());
    match made {
        Ok(f) if sys::try_lock(f.as_fd()).unwrap_or(false) => Ok((new, f)),
        other => {
            let _ = fs::remove_file(&new);
            Err(other.err().unwrap_or_else(|| {
                Error::msg("lock the state entry", "already locked")
                    .with_path(new.display().to_string())
            }))
        }
    }
}

/// `from` renamed to `to` unless `to` exists (EEXIST then). Where the
/// file system cannot rename so, a hard link (which fails the same way)
/// and an unlink.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    match sys::rename_noreplace(from, to) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        other => other,
    }
}

/// A detached sandbox's logs, beside its entry.
fn log_paths(base: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        base.join(format!(".log-{name}")),
        base.join(format!(".log.1-{name}")),
    )
}

/// Remove the entry `name`, whose lock `held` we hold (or that nobody can
/// hold any more): its logs first, so that nobody who takes the name once
/// the entry is gone loses theirs; and only if the name still refers to
/// the file we locked.
fn remove_entry(base: &Path, name: &str, held: &fs::File) {
    let path = base.join(name);
    let same = match (fs::symlink_metadata(&path), held.metadata()) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    };
    if same {
        let (log, old) = log_paths(base, name);
        let _ = fs::remove_file(log);
        let _ = fs::remove_file(old);
        let _ = fs::remove_file(&path);
    }
}

/// An entry of an older version: a directory `NAME/` locked through
/// `NAME/lock`. Whether it is live; a stale one is removed.
fn old_entry_live(base: &Path, entry: &Path) -> bool {
    let lock = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(entry.join("lock"))
    {
        Ok(l) => l,
        // Being made or removed.
        Err(_) => return true,
    };
    if sys::try_lock(lock.as_fd()).unwrap_or(false) {
        let dead = base.join(format!(".dead-{}-{}", std::process::id(), tag()));
        if fs::rename(entry, &dead).is_ok() {
            let _ = fs::remove_dir_all(&dead);
        }
        return false;
    }
    true
}

/// Why an existing entry holds a name: the entry at `path` is live, or
/// was stale and is gone now, or is being made or removed right now.
enum Holder {
    Live,
    Removed,
    Busy,
}

fn holder(base: &Path, name: &str) -> Holder {
    let path = base.join(name);
    let Ok(f) = open_entry(&path) else {
        return Holder::Busy;
    };
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return match old_entry_live(base, &path) {
            true => Holder::Live,
            false => Holder::Removed,
        };
    }
    if sys::try_lock(f.as_fd()).unwrap_or(false) {
        remove_entry(base, name, &f);
        return Holder::Removed;
    }
    Holder::Live
}

/// A name registered by this launcher: the entry exists and its lock is
/// held for as long as this value (or a fork's copy of the lock) lives;
/// dropping it removes the entry. A run with neither `--name` nor
/// `--detach` registers lazily: `record` makes its entry, under a
/// generated name, once the sandbox runs (nothing needs the name before).
pub struct Registration {
    base: PathBuf,
    name: String,
    /// The entry file, locked; None before a lazy registration's `record`
    /// and after `hand_over`.
    lock: Option<fs::File>,
    /// Whether this launcher writes the logs (`--detach`): removed with
    /// the entry.
    logging: std::cell::Cell<bool>,
}

impl Registration {
    /// Take `name`, or a generated one, before anything starts: a name in
    /// use by a live sandbox fails with 125; a stale entry with it is
    /// removed first. `now` false (no name, no `--detach`): only the state
    /// directory is checked now, and `record` registers.
    pub fn reserve(name: Option<&str>, now: bool) -> Result<Registration> {
        let base = dir(true)?.expect("created");
        let mut reg = Registration {
            base,
            name: String::new(),
            lock: None,
            logging: std::cell::Cell::new(false),
        };
        if now || name.is_some() {
            reg.register(name, &[])?;
        }
        Ok(reg)
    }

    /// Make the entry with `content`, under `name` or a generated one.
    fn register(&mut self, name: Option<&str>, content: &[u8]) -> Result<()> {
        let base = &self.base;
        let (new, lock) = new_entry(base, content)?;
        let fail = |e: Error| {
            let _ = fs::remove_file(&new);
            e
        };
        for attempt in 0..16 {
            let candidate = match name {
                Some(n) => n.to_string(),
                None => format!("sandbox-{}", tag()),
            };
            let entry = base.join(&candidate);
            match rename_noreplace(&new, &entry) {
                Ok(()) => {
                    self.name = candidate;
                    self.lock = Some(lock);
                    return Ok(());
                }
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                    // Taken: by a live launcher (its lock is held), or by
                    // one that is gone, whose entry goes now.
                    match holder(base, &candidate) {
                        Holder::Removed => {}
                        Holder::Busy if attempt < 8 => {
                            // Being made or removed right now.
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                        _ if name.is_none() => {}
                        _ => {
                            return Err(fail(
                                Error::msg(
                                    "--name",
                                    "a running sandbox of yours already has this name",
                                )
                                .with_path(candidate)
                                .with_hint("choose another name; 'sandbox ps' lists yours"),
                            ))
                        }
                    }
                }
                Err(e) => {
                    return Err(fail(
                        Err::<(), _>(e)
                            .ctx("register the sandbox", entry.display())
                            .unwrap_err(),
                    ))
                }
            }
        }
        Err(fail(
            Error::msg("--name", "the name stays taken").with_path(name.unwrap_or("").to_string()),
        ))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The detached sandbox's log and the one before it (`LOG_CAP`).
    pub fn log_paths(&self) -> (PathBuf, PathBuf) {
        self.logging.set(true);
        log_paths(&self.base, &self.name)
    }

    /// Write the record and the plan: into the entry made by `reserve`
    /// (a reader sees it incomplete, as "starting", until the one write
    /// is done), or into a new one (a lazy registration), which appears
    /// whole.
    pub fn record(&mut self, rec: &Record, plan: &[u8]) -> Result<()> {
        let content = entry_bytes(rec, plan);
        match &self.lock {
            Some(f) => {
                use std::os::unix::fs::FileExt;
                f.write_all_at(&content, 0).ctx(
                    "write the state entry",
                    self.base.join(&self.name).display(),
                )
            }
            None => self.register(None, &content),
        }
    }

    /// Forget the entry without removing it: a fork (the detached
    /// launcher) holds the lock and removes it.
    pub fn hand_over(mut self) {
        self.lock = None;
        std::mem::forget(self);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Our lock is held: the name is ours until the unlink, and the
        // logs go before it.
        if self.lock.is_some() {
            if self.logging.get() {
                let (log, old) = log_paths(&self.base, &self.name);
                let _ = fs::remove_file(log);
                let _ = fs::remove_file(old);
            }
            let _ = fs::remove_file(self.base.join(&self.name));
        }
    }
}

/// A live entry, as `ps`, `exec`, `kill`, `stop` and `logs` see it.
pub struct Live {
    pub name: String,
    pub record: Record,
    plan: Vec<u8>,
    /// A detached sandbox's log, and the one before it.
    pub log: PathBuf,
    pub old_log: PathBuf,
}

impl Live {
    pub fn plan(&self) -> Result<Vec<u8>> {
        Ok(self.plan.clone())
    }
}

/// What an entry is: live (with its record), starting (lock held, not
/// written yet), or stale (removed now).
fn inspect(base: &Path, name: &str) -> Option<Live> {
    let path = base.join(name);
    let mut f = open_entry(&path).ok()?;
    if f.metadata().ok()?.is_dir() {
        old_entry_live(base, &path);
        return None;
    }
    if sys::try_lock(f.as_fd()).unwrap_or(false) {
        // The launcher is gone: nobody runs this sandbox any more.
        remove_entry(base, name, &f);
        return None;
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let (record, plan) = parse_entry(&bytes)?;
    // The launcher lives but its sandbox may have just ended.
    if procfs::start_time(record.pid) != Some(record.pid_start) {
        return None;
    }
    let (log, old_log) = log_paths(base, name);
    Some(Live {
        name: name.to_string(),
        record,
        plan,
        log,
        old_log,
    })
}

/// This user's running sandboxes, by name; stale entries are removed on
/// the way, and leftovers of launchers that died while making or removing
/// an entry too.
pub fn list() -> Result<Vec<Live>> {
    let Some(base) = dir(false)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in fs::read_dir(&base).ctx("read the state directory", base.display())? {
        let Ok(e) = e else { continue };
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name
            .strip_prefix(".new-")
            .or_else(|| name.strip_prefix(".dead-"))
        {
            let pid = rest.split('-').next().unwrap_or("");
            if !Path::new("/proc").join(pid).exists() {
                let _ = match e.file_type() {
                    Ok(t) if t.is_dir() => fs::remove_dir_all(e.path()),
                    _ => fs::remove_file(e.path()),
                };
            }
            continue;
        }
        if check_name(&name).is_err() {
            continue;
        }
        out.extend(inspect(&base, &name));
    }
    out.sort_by(|a, b| (a.record.started, &a.name).cmp(&(b.record.started, &b.name)));
    Ok(out)
}

/// The running sandbox called `name`, or 125 with one line.
pub fn find(name: &str) -> Result<Live> {
    let not_running = || {
        Error::msg(
            "find the sandbox",
            "no running sandbox of yours has this name",
        )
        .with_path(name.to_string())
        .with_hint("'sandbox ps' lists your running sandboxes")
    };
    check_name(name).map_err(|m| Error::msg("name", m))?;
    let Some(base) = dir(false)? else {
        return Err(not_running());
    };
    inspect(&base, name).ok_or_else(not_running)
}

/// The log of a detached launcher: a pipe whose read end a thread copies
/// to `path`, moving it to `old` whenever it reaches `LOG_CAP`. Returns
/// the write end (for the launcher's stdout and stderr, so the command
/// writes straight into it) and the thread, which ends at EOF.
pub fn log_pipe((path, old): (PathBuf, PathBuf)) -> Result<(OwnedFd, std::thread::JoinHandle<()>)> {
    let (r, w) = sys::pipe_high().ctx_step("create the log pipe")?;
    let open = |p: &Path| {
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(p)
    };
    let mut file = open(&path).ctx("open the log", path.display())?;
    let t = std::thread::spawn(move || {
        let mut from = fs::File::from(r);
        let mut buf = vec![0u8; 64 << 10];
        let mut size = 0u64;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let mut chunk = &buf[..n];
            while !chunk.is_empty() {
                if size >= LOG_CAP {
                    let _ = fs::rename(&path, &old);
                    match open(&path) {
                        Ok(f) => file = f,
                        Err(_) => return,
                    }
                    size = 0;
                }
                let room = (LOG_CAP - size).min(chunk.len() as u64) as usize;
                // A full disk loses output, never the sandbox.
                let _ = file.write_all(&chunk[..room]);
                size += room as u64;
                chunk = &chunk[room..];
            }
        }
    });
    Ok((w, t))
}

/// `--detach`, in the process that called it: the foreground's exit
/// status (it printed the name or the error), or the daemon's handle.
pub enum Detached {
    Foreground(u8),
    Daemon(Daemon),
}

/// The detached launcher's link to the foreground, which waits until the
/// sandbox runs (or failed), and its log writer.
pub struct Daemon {
    ready: Option<OwnedFd>,
    log: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// The sandbox runs: the foreground prints `name` and exits 0.
    pub fn ready(&mut self, name: &str) {
        if let Some(fd) = self.ready.take() {
            let _ = sys::write_all(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                format!("ok {name}\n").as_bytes(),
            );
        }
    }

    /// It did not start: the foreground prints `e` and exits with its code.
    pub fn fail(&mut self, e: &Error) {
        if let Some(fd) = self.ready.take() {
            let mut msg = format!("{}\n{}\n", e.exit, e);
            if let Some(h) = &e.hint {
                msg.push_str(&format!("sandbox: hint: {h}\n"));
            }
            let _ = sys::write_all(std::os::fd::AsRawFd::as_raw_fd(&fd), msg.as_bytes());
        }
    }

    /// The end: stdout and stderr go to /dev/null, so the log writer sees
    /// EOF once the sandbox's copies are gone too, and finishes.
    pub fn finish(mut self) {
        if let Ok(null) = fs::OpenOptions::new().write(true).open("/dev/null") {
            for fd in [1, 2] {
                let _ = sys::sigsafe::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd);
            }
        }
        if let Some(t) = self.log.take() {
            let _ = t.join();
        }
    }
}

/// Go to the background: fork, a new session, fork again (so the
/// launcher is no session leader and can never gain a controlling
/// terminal), stdin from /dev/null, stdout and stderr into the entry's
/// log. The foreground waits for the daemon's word and returns its
/// status. Call it while single-threaded: the forks run ordinary code.
pub fn detach(reg: &Registration) -> Result<Detached> {
    let (ready_r, ready_w) = sys::pipe_high().ctx_step("create the detach pipe")?;
    let first = sys::fork().ctx_step("detach (fork)")?;
    if first == 0 {
        drop(ready_r);
        if sys::sigsafe::setsid().is_err() {
            sys::exit_now(125);
        }
        match sys::fork() {
            Ok(0) => {}
            _ => sys::exit_now(0),
        }
        let setup = || -> Result<std::thread::JoinHandle<()>> {
            let null = fs::File::open("/dev/null").ctx("open", "/dev/null")?;
            sys::sigsafe::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 0)
                .ctx_step("detach (stdin)")?;
            drop(null);
            // The log writer is a thread: it must not take the signals
            // the launcher reads from its signalfd (blocked in the
            // thread that blocks them, and in threads started after).
            sys::block_signals(&crate::signals::HANDLED).ctx_step("block signals")?;
            let (w, t) = log_pipe(reg.log_paths())?;
            for fd in [1, 2] {
                sys::sigsafe::dup2(std::os::fd::AsRawFd::as_raw_fd(&w), fd)
                    .ctx_step("detach (stdout)")?;
            }
            Ok(t)
        };
        let mut d = Daemon {
            ready: Some(ready_w),
            log: None,
        };
        return match setup() {
            Ok(t) => {
                d.log = Some(t);
                Ok(Detached::Daemon(d))
            }
            Err(e) => {
                d.fail(&e);
                sys::exit_now(e.exit as i32)
            }
        };
    }
    drop(ready_w);
    let _ = sys::waitpid(first, false);
    let mut said = String::new();
    let _ = fs::File::from(ready_r).read_to_string(&mut said);
    if let Some(name) = said.strip_prefix("ok ") {
        println!("{}", name.trim_end());
        return Ok(Detached::Foreground(0));
    }
    match said.split_once('\n') {
        Some((code, line)) if code.parse::<u8>().is_ok() => {
            eprint!("{line}");
            Ok(Detached::Foreground(code.parse().unwrap_or(125)))
        }
        _ => Err(Error::msg(
            "detach",
            "the background launcher ended before the sandbox ran",
        )),
    }
}

/// Command-line arguments for display: lossy UTF-8.
pub fn show_args(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| String::from_utf8_lossy(a.as_bytes()).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "build-1", "x_y.z", &"n".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a b", "é", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn records_round_trip() {
        let r = Record {
            pid: 12,
            pid_start: 345,
            launcher: 6,
            launcher_start: 7,
            started: 1_700_000_000,
            rootfs: "/r\\oot\nx".into(),
            command: vec!["sh".into(), "-c".into(), "a=b\nc".into(), "".into()],
            network: "none".into(),
            detached: true,
            kill_after_ms: 5000,
            cgroup: true,
        };
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        assert!(Record::decode("pid=x").is_err());
    }

    #[test]
    fn an_entry_is_whole_or_starting() {
        let r = Record {
            pid: 12,
            launcher: 6,
            command: vec!["sh".into()],
            ..Record::default()
        };
        let plan = b"sandbox-plan\0\n\x01binary".to_vec();
        let b = entry_bytes(&r, &plan);
        assert_eq!(parse_entry(&b), Some((r, plan)));
        // A reader that comes while it is written sees a prefix of it.
        for n in 0..b.len() {
            assert_eq!(parse_entry(&b[..n]), None, "{n}");
        }
        assert_eq!(parse_entry(b"pid=1\nlauncher=2\n"), None);
    }

    #[test]
    fn own_start_time() {
        assert!(procfs::start_time(std::process::id() as i32).is_some());
    }
}
