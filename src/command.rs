//! The library's front door: [`Command`] builds a sandbox the way
//! `std::process::Command` builds a process, [`Child`] is one running.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Duration;

use crate::confine::limits;
use crate::error::{Error, Result};
use crate::launch::launcher::{self, NoticeFn, Options, Running};
use crate::launch::status::Report;
use crate::plan::{
    BindArg, IdMapMode, LandlockMode, PathAccess, Plan, RootMode, RunArgs, StdioMode, Supervision,
    TmpfsArg, UsernsMode,
};

/// Which network the sandbox gets.
///
/// ```
/// sandbox::Command::new("./rootfs", "true").network(sandbox::Network::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// A new network namespace with only `lo`, up (the default).
    None,
    /// The host's network namespace (`--share-net`): everything the host
    /// reaches, its loopback services included.
    Host,
    /// A new network namespace connected to the outside through pasta
    /// (`--net pasta`), without the host's loopback unless
    /// [`Command::host_loopback`].
    Pasta,
}

/// A sandbox to run: a root filesystem, a command, and how to confine it.
///
/// The defaults are `sandbox run`'s: a copy-on-write root whose writes
/// vanish, no network but `lo`, no capabilities, the default seccomp
/// filter, Landlock where the kernel has it, core dumps off.
///
/// A program that uses this must call [`crate::init`] first thing in
/// `main`: the sandbox's second stage is a re-exec of the program itself.
///
/// ```no_run
/// fn main() {
///     sandbox::init();
///     let report = sandbox::Command::new("./rootfs", "/bin/echo")
///         .arg("hello")
///         .status()
///         .expect("sandbox failed");
///     assert_eq!(report.status, 0);
/// }
/// ```
pub struct Command {
    args: RunArgs,
    term: Option<OsString>,
    /// The caller's HOME, kept for the command when ROOTFS is the host's
    /// root (`cli`).
    home: Option<OsString>,
    limits: Vec<String>,
    /// `publish` specs, parsed with the limits when the plan is made.
    publish: Vec<String>,
    /// `allow_net` specs, likewise.
    allow: Vec<String>,
    /// `allow_host` patterns, likewise.
    hosts: Vec<String>,
    forward_signals: bool,
    on_notice: Option<NoticeFn>,
    before_release: Option<launcher::BeforeRelease>,
}

impl Command {
    /// `program` in the root filesystem at `rootfs` (a directory), found
    /// through the sandbox's PATH when it has no `/`.
    ///
    /// ```
    /// let cmd = sandbox::Command::new("./rootfs", "sh");
    /// assert_eq!(cmd.get_program(), "sh");
    /// ```
    pub fn new(rootfs: impl AsRef<Path>, program: impl AsRef<OsStr>) -> Command {
        let mut args = RunArgs::new(rootfs.as_ref().as_os_str());
        args.command = vec![program.as_ref().to_os_string()];
        Command::from_args(args)
    }

    /// Built from parsed `sandbox run` arguments (the CLI's way in).
    #[doc(hidden)]
    pub fn from_args(args: RunArgs) -> Command {
        Command {
            args,
            term: None,
            home: None,
            limits: Vec::new(),
            publish: Vec::new(),
            allow: Vec::new(),
            hosts: Vec::new(),
            forward_signals: false,
            on_notice: None,
            before_release: None,
        }
    }

    /// The program, as given.
    ///
    /// ```
    /// assert_eq!(sandbox::Command::new("/r", "ls").get_program(), "ls");
    /// ```
    pub fn get_program(&self) -> &OsStr {
        &self.args.command[0]
    }

    /// Add an argument.
    ///
    /// ```
    /// let mut cmd = sandbox::Command::new("./rootfs", "ls");
    /// cmd.arg("-la").arg("/");
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.command.push(arg.as_ref().to_os_string());
        self
    }

    /// Add arguments.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "sh").args(["-c", "echo hi"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Set a variable in the command's environment, which otherwise holds
    /// only PATH, HOME and (from the CLI) TERM; a later value wins.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "env").env("LANG", "C.UTF-8");
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.args
            .setenv
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// The working directory inside (absolute; default `/`).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "pwd").current_dir("/tmp");
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.args.chdir = dir.as_ref().as_os_str().to_os_string();
        self
    }

    /// The hostname inside (default `sandbox`).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "hostname").hostname("build-1");
    /// ```
    pub fn hostname(&mut self, name: impl Into<String>) -> &mut Command {
        self.args.hostname = name.into();
        self
    }

    /// Bind the host path `src` at `dst` inside, writable.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "ls").bind("./out", "/out");
    /// ```
    pub fn bind(&mut self, src: impl AsRef<Path>, dst: impl AsRef<Path>) -> &mut Command {
        self.push_bind(src.as_ref(), dst.as_ref(), false)
    }

    /// Bind the host path `src` at `dst` inside, read-only.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "sh").ro_bind("./job.sh", "/job.sh");
    /// ```
    pub fn ro_bind(&mut self, src: impl AsRef<Path>, dst: impl AsRef<Path>) -> &mut Command {
        self.push_bind(src.as_ref(), dst.as_ref(), true)
    }

    /// Let a bind source be named through a symlink (`--bind-symlinks`);
    /// by default such a source fails the spawn, since whoever could write
    /// a directory on the way chose what gets mounted.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "ls").bind("./out", "/out").bind_symlinks(true);
    /// ```
    pub fn bind_symlinks(&mut self, follow: bool) -> &mut Command {
        self.args.bind_symlinks = follow;
        self
    }

    fn push_bind(&mut self, src: &Path, dst: &Path, read_only: bool) -> &mut Command {
        self.args.binds.push(BindArg {
            src: src.as_os_str().to_os_string(),
            dst: Some(dst.as_os_str().to_os_string()),
            read_only,
            optional: false,
        });
        self
    }

    /// An empty, writable tmpfs over `dst` inside, capped at `size` bytes
    /// (`None`: 256 MiB), mounted in order with the binds (`--tmpfs`).
    ///
    /// ```
    /// sandbox::Command::new("/", "make").tmpfs("/home/me", None).bind("/home/me/p", "/home/me/p");
    /// ```
    pub fn tmpfs(&mut self, dst: impl AsRef<Path>, size: Option<u64>) -> &mut Command {
        self.args.tmpfs.push(TmpfsArg {
            dst: dst.as_ref().as_os_str().to_os_string(),
            size,
            after_binds: self.args.binds.len(),
        });
        self
    }

    /// How the root may be written: copy-on-write (the default), not at
    /// all, or through to the rootfs on disk.
    ///
    /// ```
    /// use sandbox::{Command, RootMode};
    /// Command::new("./rootfs", "true").root(RootMode::ReadOnly);
    /// ```
    pub fn root(&mut self, mode: RootMode) -> &mut Command {
        self.args.root = mode;
        self
    }

    /// The network (default: [`Network::None`]).
    ///
    /// ```
    /// use sandbox::{Command, Network};
    /// Command::new("./rootfs", "wget").network(Network::Host);
    /// ```
    pub fn network(&mut self, net: Network) -> &mut Command {
        self.args.share_net = net == Network::Host;
        self.args.net.mode = match net {
            Network::None => crate::confine::net::NetMode::None,
            Network::Host => crate::confine::net::NetMode::Host,
            Network::Pasta => crate::confine::net::NetMode::Pasta,
        };
        self
    }

    /// `--publish`: forward a host port to a port inside (with
    /// [`Network::Pasta`]); `spec` is `[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]`.
    /// A bad spec fails the launch.
    ///
    /// ```
    /// use sandbox::{Command, Network};
    /// Command::new("./rootfs", "httpd").network(Network::Pasta).publish("127.0.0.1:8080:80");
    /// ```
    pub fn publish(&mut self, spec: &str) -> &mut Command {
        self.publish.push(spec.to_string());
        self
    }

    /// `--host-loopback`: the host's 127.0.0.1 at `host.sandbox.internal`.
    ///
    /// ```
    /// use sandbox::{Command, Network};
    /// Command::new("./rootfs", "wget").network(Network::Pasta).host_loopback(true);
    /// ```
    pub fn host_loopback(&mut self, on: bool) -> &mut Command {
        self.args.net.host_loopback = on;
        self
    }

    /// `--allow-net`: when any is given, the only destinations the
    /// sandbox may connect to; `spec` is `CIDR[:PORT[-PORT]][/tcp|/udp]`.
    /// A bad spec fails the launch.
    ///
    /// ```
    /// use sandbox::{Command, Network};
    /// Command::new("./rootfs", "wget").network(Network::Pasta).allow_net("192.0.2.10:443/tcp");
    /// ```
    pub fn allow_net(&mut self, spec: &str) -> &mut Command {
        self.allow.push(spec.to_string());
        self
    }

    /// `--allow-host`: let the sandbox reach `pattern` (`NAME[:PORT]` or
    /// `*.NAME[:PORT]`; ports 80 and 443 when none is given) through the
    /// HTTP and SOCKS5 proxies on its 127.0.0.1, which the launcher
    /// serves; the sandbox has no other route. With it, `allow_net`
    /// names the addresses the proxy may reach although not public. A bad
    /// pattern fails the launch.
    ///
    /// ```
    /// use sandbox::Command;
    /// Command::new("./rootfs", "wget").allow_host("*.example.com").allow_host("example.org:8443");
    /// ```
    pub fn allow_host(&mut self, pattern: &str) -> &mut Command {
        self.hosts.push(pattern.to_string());
        self
    }

    /// `--dns`: /etc/resolv.conf pointing at pasta's DNS forwarder.
    ///
    /// ```
    /// use sandbox::{Command, Network};
    /// Command::new("./rootfs", "wget").network(Network::Pasta).dns(true);
    /// ```
    pub fn dns(&mut self, on: bool) -> &mut Command {
        self.args.net.dns = on;
        self
    }

    /// The uid and gid inside (default 0, root in the sandbox).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "id").user(1000, 1000);
    /// ```
    pub fn user(&mut self, uid: u32, gid: u32) -> &mut Command {
        self.args.uid = uid;
        self.args.gid = gid;
        self
    }

    /// A resource limit as `--limit` takes it (`NAME=VALUE`, prlimit(1)'s
    /// names, K/M/G or `unlimited`); checked when the sandbox starts.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "sh").limit("nofile=64").limit("as=512M");
    /// ```
    pub fn limit(&mut self, spec: &str) -> &mut Command {
        self.limits.push(spec.to_string());
        self
    }

    /// cgroup v2 limits for the whole sandbox: memory in bytes, processes,
    /// CPUs in thousandths. They need a cgroup delegated to the caller;
    /// without one the sandbox does not start (never unlimited).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "make").cgroup_limits(Some(1 << 30), Some(256), None);
    /// ```
    pub fn cgroup_limits(
        &mut self,
        memory: Option<u64>,
        pids: Option<u64>,
        cpus_milli: Option<u32>,
    ) -> &mut Command {
        self.args.cgroup.memory = memory;
        self.args.cgroup.pids = pids;
        self.args.cgroup.cpus_milli = cpus_milli;
        self
    }

    /// SIGTERM after `t`, then SIGKILL to the whole sandbox after the
    /// grace period ([`Command::kill_after`], 5 s); the report then says
    /// `timed_out` and its status is 124.
    ///
    /// ```
    /// use std::time::Duration;
    /// sandbox::Command::new("./rootfs", "sleep").arg("60").timeout(Duration::from_secs(1));
    /// ```
    pub fn timeout(&mut self, t: Duration) -> &mut Command {
        self.args.timeout = (!t.is_zero()).then_some(t);
        self
    }

    /// The grace between SIGTERM and SIGKILL.
    ///
    /// ```
    /// use std::time::Duration;
    /// sandbox::Command::new("./rootfs", "true").kill_after(Duration::from_millis(500));
    /// ```
    pub fn kill_after(&mut self, t: Duration) -> &mut Command {
        self.args.kill_after = t;
        self
    }

    /// A minimal init as PID 1 (reaps orphans, passes signals on); the
    /// command runs as PID 2.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "sh").init(true);
    /// ```
    pub fn init(&mut self, on: bool) -> &mut Command {
        self.args.init = on;
        self
    }

    /// The default seccomp filter (on by default).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "true").seccomp(true);
    /// ```
    pub fn seccomp(&mut self, on: bool) -> &mut Command {
        self.args.seccomp = on;
        self
    }

    /// An OCI or Docker seccomp profile (a JSON file) in place of the
    /// default filter (`--seccomp-profile`).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "true").seccomp_profile("profile.json");
    /// ```
    pub fn seccomp_profile(&mut self, file: impl AsRef<OsStr>) -> &mut Command {
        self.args.seccomp_profile = Some(file.as_ref().to_os_string());
        self
    }

    /// Report the calls the seccomp filter refuses (`--report-denials`):
    /// they fail with the same errno, and [`Report::denied`] lists them.
    /// The launcher answers them while [`Child::wait`] runs: until it is
    /// called, a refused call waits.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "true").report_denials(true);
    /// ```
    pub fn report_denials(&mut self, on: bool) -> &mut Command {
        self.args.report_denials = on;
        self
    }

    /// Landlock: use what the kernel has (default), require it, or not.
    ///
    /// ```
    /// use sandbox::{Command, LandlockMode};
    /// Command::new("./rootfs", "true").landlock(LandlockMode::Require);
    /// ```
    pub fn landlock(&mut self, mode: LandlockMode) -> &mut Command {
        self.args.landlock = mode;
        self
    }

    /// A path rule (`--allow-read`, `--allow-write`, `--allow-exec`): once
    /// any is given, Landlock lets the command reach only those paths
    /// (inside the sandbox) and what the sandbox itself needs.
    ///
    /// ```
    /// use sandbox::{Command, PathAccess};
    /// Command::new("./rootfs", "ls")
    ///     .allow_path(PathAccess::Exec, "/bin")
    ///     .allow_path(PathAccess::Read, "/etc");
    /// ```
    pub fn allow_path(&mut self, access: PathAccess, path: impl AsRef<OsStr>) -> &mut Command {
        let list = match access {
            PathAccess::Read => &mut self.args.allow_read,
            PathAccess::Write => &mut self.args.allow_write,
            PathAccess::Exec => &mut self.args.allow_exec,
        };
        list.push(path.as_ref().to_owned());
        self
    }

    /// How ids are mapped (default [`IdMapMode::Auto`]): `Subuid` maps 1…N
    /// to the caller's range in /etc/subuid and /etc/subgid through
    /// newuidmap/newgidmap, so a tree made by that range shows its owners.
    ///
    /// ```
    /// use sandbox::{Command, IdMapMode};
    /// Command::new("./rootfs", "true").id_map(IdMapMode::Single);
    /// ```
    pub fn id_map(&mut self, mode: IdMapMode) -> &mut Command {
        self.args.id_map = mode;
        self
    }

    /// Where no user namespace can be made, or the host refuses its set-up
    /// before the command runs (a fresh /proc, a mount, pivot_root)
    /// (default [`UsernsMode::Auto`]): run in the host mode and say what
    /// was lost (`Auto`), fail (`Require`), or always take the host mode
    /// (`Off`): the host's `/` read-only under Landlock, the seccomp
    /// filter, no_new_privs and the rlimits, without namespaces (README,
    /// "Hosts without user namespaces"). The command runs once either way:
    /// `spawn` returns when the namespaces are set up or the host mode has
    /// started.
    ///
    /// ```
    /// use sandbox::{Command, UsernsMode};
    /// Command::new("/", "true").userns(UsernsMode::Require);
    /// ```
    pub fn userns(&mut self, mode: UsernsMode) -> &mut Command {
        self.args.userns = mode;
        self
    }

    /// What the command gets as stdin, stdout and stderr (default
    /// [`StdioMode::Relay`]): with `Relay`, the sandbox runs in a session
    /// of its own, a terminal on this process's stdio is replaced by a pty
    /// of the sandbox's own and a file by a pipe, and [`Child::wait`]
    /// relays between them (so output to a file or terminal flows only
    /// while `wait` runs; pipes and sockets are passed as they are).
    /// `Inherit` passes the descriptors as they are, with the risks
    /// docs/SECURITY.md names (D11).
    ///
    /// ```
    /// use sandbox::{Command, StdioMode};
    /// Command::new("./rootfs", "true").stdio(StdioMode::Inherit);
    /// ```
    pub fn stdio(&mut self, mode: StdioMode) -> &mut Command {
        self.args.stdio = mode;
        self
    }

    /// Caps on /tmp, /dev/shm and the copy-on-write root's writes, in
    /// bytes (defaults 256M, 64M, 256M).
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "true").sizes(1 << 30, 64 << 20, 1 << 30);
    /// ```
    pub fn sizes(&mut self, tmp: u64, shm: u64, root: u64) -> &mut Command {
        self.args.sizes.tmp = tmp;
        self.args.sizes.shm = shm;
        self.args.sizes.root = root;
        self
    }

    /// Called with each notice (one line for a person, without the
    /// `sandbox: ` prefix) as it happens: the overlay fallback, a timeout,
    /// warnings. The same lines end up in [`Report::notices`]. The library
    /// prints nothing.
    ///
    /// ```
    /// sandbox::Command::new("./rootfs", "true").on_notice(|n| eprintln!("sandbox: {n}"));
    /// ```
    pub fn on_notice(&mut self, f: impl FnMut(&str) + Send + 'static) -> &mut Command {
        self.on_notice = Some(Box::new(f));
        self
    }

    /// For the bwrap front end: called once the sandbox's first process
    /// exists (its pid, the namespace ids when asked), before it is
    /// released (launch/launcher.rs `Options::before_release`).
    #[doc(hidden)]
    pub fn before_release(
        &mut self,
        f: impl FnOnce(i32, &[(&'static str, u64)]) + Send + 'static,
    ) -> &mut Command {
        self.before_release = Some(Box::new(f));
        self
    }

    /// For the CLI: pass the caller's TERM on, keep the caller's HOME when
    /// ROOTFS is the host's root, and take over the process's signals
    /// (forwarded; TERM, INT, HUP stop the sandbox).
    #[doc(hidden)]
    pub fn cli(&mut self, term: Option<OsString>, home: Option<OsString>) -> &mut Command {
        self.term = term;
        self.home = home;
        self.forward_signals = true;
        self
    }

    /// Validate against the host: the rootfs and bind sources exist, the
    /// limits parse and are within the caller's hard limits.
    fn plan(&self) -> Result<(Plan, Supervision)> {
        let mut args = self.args.clone();
        for spec in &self.limits {
            args.limits
                .push(limits::parse(spec).map_err(|m| Error::msg("limit", m))?);
        }
        for spec in &self.publish {
            args.net.publish.push(
                crate::confine::net::parse_publish(spec).map_err(|m| Error::msg("publish", m))?,
            );
        }
        for spec in &self.allow {
            args.net.allow.push(
                crate::confine::net::parse_allow(spec).map_err(|m| Error::msg("allow-net", m))?,
            );
        }
        for spec in &self.hosts {
            args.net.hosts.push(
                crate::confine::proxy::parse_host(spec).map_err(|m| Error::msg("allow-host", m))?,
            );
        }
        let (mut plan, supervision) = Plan::from_args(args, self.term.clone())?;
        // The host's root: the caller's home is there at its own path, and
        // it is what `--tmpfs ~` covers; the host's /etc/passwd would give
        // root's, /root, where nothing can be written. --setenv HOME wins.
        if let Some(home) = self.home.as_ref().filter(|_| plan.host_root()) {
            if !plan.setenv.iter().any(|(k, _)| k == "HOME") {
                plan.setenv.insert(0, ("HOME".into(), home.clone()));
            }
        }
        Ok((plan, supervision))
    }

    /// [`Command::plan`], and when it fails, the failure written to the
    /// status file or fd (as a failure to start is).
    fn plan_or_report(&self) -> Result<(Plan, Supervision)> {
        self.plan().inspect_err(|e| self.report_failure(e))
    }

    /// Write `e` as this run's status (`--status-file`, `--status-fd`):
    /// for the CLI's failures before the launch (a name in use).
    #[doc(hidden)]
    pub fn report_failure(&self, e: &Error) {
        crate::launch::launcher::report_unstarted(
            self.args.status_file.as_deref().map(std::path::Path::new),
            self.args.status_fd,
            e,
        );
    }

    /// The validated plan as the child stage receives it (channel.rs),
    /// for the state entry that `sandbox exec` reads (named/state.rs).
    #[doc(hidden)]
    pub fn encoded_plan(&self) -> Result<Vec<u8>> {
        Ok(crate::channel::encode_plan(&self.plan()?.0))
    }

    /// Start the sandbox and return once it runs. Errors found before the
    /// start (a missing rootfs, a bad limit, no user namespaces) come back
    /// here; a failure inside the sandbox's set-up, or a command that is
    /// not found, comes back in [`Child::wait`]'s report.
    ///
    /// Safe to call from several threads at once: between clone and its
    /// exec the new process only makes async-signal-safe calls.
    ///
    /// ```no_run
    /// fn main() {
    ///     sandbox::init();
    ///     let mut child = sandbox::Command::new("./rootfs", "sleep").arg("60").spawn().unwrap();
    ///     child.kill().unwrap();
    ///     let report = child.wait();
    ///     assert_eq!(report.status, 128 + 9);
    /// }
    /// ```
    pub fn spawn(&mut self) -> Result<Child> {
        let (plan, supervision) = self.plan_or_report()?;
        self.spawn_plan(&plan, &supervision)
    }

    /// [`Command::spawn`], with the validated plan as the child stage
    /// receives it (what [`Command::encoded_plan`] returns), for the state
    /// entry: the CLI validates once (the rootfs, the binds, the caller's
    /// limits) rather than once for the entry and once for the launch.
    #[doc(hidden)]
    pub fn spawn_encoded(&mut self) -> Result<(Child, Vec<u8>)> {
        let (mut plan, supervision) = self.plan_or_report()?;
        let child = self.spawn_plan(&plan, &supervision)?;
        // `sandbox exec` must know there are no namespaces to join.
        plan.host_mode = child.host_mode();
        plan.share_net |= plan.host_mode;
        Ok((child, crate::channel::encode_plan(&plan)))
    }

    fn spawn_plan(&mut self, plan: &Plan, supervision: &Supervision) -> Result<Child> {
        let opts = Options {
            forward_signals: self.forward_signals,
            on_notice: self.on_notice.take(),
            before_release: self.before_release.take(),
        };
        Ok(Child {
            running: Some(launcher::spawn(plan, supervision, opts)?),
        })
    }

    /// Run to the end. `Ok` once the command ran, whatever its exit status
    /// (see [`Report::status`]); `Err` when the sandbox itself failed
    /// (status 125), or the command could not be run (126, 127).
    ///
    /// ```no_run
    /// fn main() {
    ///     sandbox::init();
    ///     let r = sandbox::Command::new("./rootfs", "sh").args(["-c", "exit 3"]).status().unwrap();
    ///     assert_eq!(r.status, 3);
    /// }
    /// ```
    pub fn status(&mut self) -> Result<Report> {
        let mut report = self.spawn()?.wait();
        match report.error.take() {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }
}

/// A running sandbox. Dropping it without [`Child::wait`] kills it.
pub struct Child {
    running: Option<Running>,
}

impl Child {
    /// The sandbox's PID 1 (the command, or init), as the host sees it.
    ///
    /// ```no_run
    /// # fn main() { sandbox::init();
    /// let child = sandbox::Command::new("./rootfs", "true").spawn().unwrap();
    /// println!("{}", child.id());
    /// # }
    /// ```
    pub fn id(&self) -> u32 {
        self.running.as_ref().map(|r| r.pid() as u32).unwrap_or(0)
    }

    /// Whether it runs in the host mode ([`Command::userns`]): without
    /// namespaces, on the host's `/`.
    pub fn host_mode(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.host_mode())
    }

    /// The sandbox's namespaces (bubblewrap's names, inode numbers), read
    /// at clone; empty unless the run asked (`RunArgs::namespace_ids`).
    #[doc(hidden)]
    pub fn namespaces(&self) -> Vec<(&'static str, u64)> {
        self.running
            .as_ref()
            .map(|r| r.namespaces().to_vec())
            .unwrap_or_default()
    }

    /// Kill the whole sandbox (SIGKILL to its PID 1 through a pidfd).
    ///
    /// ```no_run
    /// # fn main() { sandbox::init();
    /// let mut child = sandbox::Command::new("./rootfs", "sleep").arg("9").spawn().unwrap();
    /// child.kill().unwrap();
    /// # }
    /// ```
    pub fn kill(&mut self) -> std::io::Result<()> {
        match &self.running {
            Some(r) => r.kill(),
            None => Ok(()),
        }
    }

    /// Send a signal to the sandbox's PID 1.
    ///
    /// ```no_run
    /// # fn main() { sandbox::init();
    /// let mut child = sandbox::Command::new("./rootfs", "sleep").arg("9").spawn().unwrap();
    /// child.signal(libc::SIGTERM).unwrap();
    /// # }
    /// ```
    pub fn signal(&mut self, sig: i32) -> std::io::Result<()> {
        match &self.running {
            Some(r) => r.signal(sig),
            None => Ok(()),
        }
    }

    /// Wait for the sandbox to end: how it ended, as `--status-file`
    /// writes it. A second call returns an empty report.
    ///
    /// ```no_run
    /// # fn main() { sandbox::init();
    /// let mut child = sandbox::Command::new("./rootfs", "true").spawn().unwrap();
    /// let report = child.wait();
    /// println!("{}", report.json());
    /// # }
    /// ```
    pub fn wait(&mut self) -> Report {
        match self.running.take() {
            Some(r) => r.wait(),
            None => Report::default(),
        }
    }

    /// [`Child::wait`] for a process that exits right after (the bwrap
    /// front end's): under `init`, it returns once the command has ended,
    /// without waiting for the sandbox's PID 1 to go and its namespaces
    /// to be torn down, as bubblewrap returns; PID 1 is left for whoever
    /// inherits it to reap. Where a cgroup, pasta, the proxy, the denials
    /// listener or the relay need seeing to at the end, it is `wait`. The
    /// report has no CPU times or peak memory when it returned early.
    pub fn wait_for_status(&mut self) -> Report {
        match self.running.take() {
            Some(r) => r.wait_for_status(),
            None => Report::default(),
        }
    }
}
