//! `create` and `run`: the launcher. It reads the bundle, makes the state
//! directory, joins the namespaces given by path, clones into the new ones,
//! writes the id maps, places the child in the cgroup, sends it the
//! [`InitMsg`], runs the createRuntime hooks when asked, and once the child
//! says it is ready records the container and writes the pid file. The
//! child is then parked on the exec FIFO and, when we exit, re-parented to
//! our caller (conmon and containerd's shim are child subreapers).

use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use super::spec::{Linux, LinuxIdMapping, LinuxNamespaceType, Spec};

use crate::channel::{Point, ReportReceiver, Up};
use crate::error::{Context, Error, Result};
use crate::plan::idmap::{IdMap, Writer};
use crate::sys;

use super::cgroup::Cgroup;
use super::cli::{CreateArgs, Global};
use super::init::InitMsg;
use super::log::Log;
use super::state::{self, Container, Record};
use super::{hooks, seccomp};

/// Removes a half-made container (its directory, its cgroup, its process)
/// unless disarmed.
struct Undo {
    dir: PathBuf,
    cgroup: Option<Cgroup>,
    pid: Option<i32>,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.pid {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, false);
        }
        if let Some(cg) = &self.cgroup {
            let _ = cg.remove();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What `create` made, for `run` to go on with.
pub struct Created {
    pub pid: i32,
}

pub fn create(g: &Global, log: &Log, a: &CreateArgs, foreground: bool) -> Result<Created> {
    let bundle = fs::canonicalize(&a.bundle).ctx("bundle", a.bundle.display())?;
    let config_path = bundle.join("config.json");
    let (config_text, spec) = super::read_spec(&config_path)?;
    let proc_ = spec
        .process
        .as_ref()
        .ok_or_else(|| Error::msg("config", "process is required to create a container"))?;
    let root = spec
        .root
        .as_ref()
        .ok_or_else(|| Error::msg("config", "root is required"))?;
    let rootfs = bundle.join(&root.path);
    let rootfs = fs::canonicalize(&rootfs).ctx("root.path", rootfs.display())?;
    if proc_.terminal.unwrap_or(false) && a.console_socket.is_none() {
        return Err(Error::msg(
            "terminal",
            "process.terminal is true: give --console-socket",
        ));
    }
    let linux = spec.linux.clone().unwrap_or_default();
    refuse_unsupported(&spec, &linux)?;
    // A bad profile fails here, before anything is made.
    if let Some(s) = &linux.seccomp {
        for n in seccomp::compile(s)?.notes {
            log.debug(&format!("seccomp: {n}"));
        }
    }
    let annotations = spec.annotations.clone().unwrap_or_default();
    let landlock = annotations.get(super::ANNOTATION_LANDLOCK);
    if let Some(m) = landlock {
        super::landlock::check_mode(m)?;
    }
    let die_with_caller = match annotations
        .get(super::ANNOTATION_DIE_WITH_CALLER)
        .map(String::as_str)
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(Error::msg(
                "annotation",
                format!(
                    "{}: '{v}' is not true or false",
                    super::ANNOTATION_DIE_WITH_CALLER
                ),
            ))
        }
    };

    let root_dir = state::root_dir(g.root.as_deref());
    state::open_root(&root_dir, true)?;
    // Locked until we end: `delete` tells a live create from a dead one.
    let (dir, _creating) = state::make_container_dir(&root_dir, &a.id)?;
    let mut undo = Undo {
        dir: dir.clone(),
        cgroup: None,
        pid: None,
        armed: true,
    };
    let saved_config = dir.join("config.json");
    state::keep_config(config_text.as_bytes(), &saved_config)?;
    let fifo = dir.join("exec.fifo");
    sys::mkfifo(fifo.as_os_str(), 0o600).ctx("make the exec fifo", fifo.display())?;

    undo.cgroup = Cgroup::create(&linux, &a.id, g.systemd_cgroup)?;
    // Recorded as being made (no process yet): a create killed from here
    // on leaves what `delete` finds and removes, its cgroup too.
    Container {
        dir: dir.clone(),
        record: Record {
            id: a.id.clone(),
            pid: 0,
            start_time: 0,
            bundle: bundle.clone(),
            created: super::time::rfc3339_now(),
            annotations: annotations.clone(),
            cgroup: undo.cgroup.as_ref().map(Cgroup::to_json),
            own_pidns: false,
        },
    }
    .save()?;

    // Descriptors the child keeps: above the preserved ones.
    let min_fd = 10.max(3 + a.preserve_fds as i32 + 1);
    let high = |f: OwnedFd, what: &str| sys::dup_at_least(f.as_fd(), min_fd).ctx("dup", what);
    let fifo_fd = high(
        sys::open_path(&fifo, libc::O_PATH | libc::O_CLOEXEC)
            .ctx("open the exec fifo", fifo.display())?,
        "exec fifo",
    )?;
    let console = match &a.console_socket {
        Some(p) => {
            let s = UnixStream::connect(p).ctx("connect to the console socket", p.display())?;
            Some(high(OwnedFd::from(s), "console socket")?)
        }
        None => None,
    };
    let (ours, theirs) = sys::socketpair_high().ctx("socketpair", "init")?;
    let theirs = high(theirs, "init socket")?;

    // Namespaces: join those given by path (the user namespace first, so
    // the others are joined with its privileges), create the rest.
    let namespaces = linux.namespaces.as_deref().unwrap_or_default();
    let mut flags: u64 = 0;
    let mut mnt_fd = None;
    let mut joined_user = false;
    let mut order: Vec<_> = namespaces.iter().collect();
    order.sort_by_key(|n| n.typ != LinuxNamespaceType::User);
    for ns in order {
        let t = ns.typ;
        let Some(path) = &ns.path else {
            flags |= t as u64;
            continue;
        };
        let f = fs::File::open(path)
            .map(OwnedFd::from)
            .ctx(&format!("open the {t} namespace"), path.display())?;
        if t == LinuxNamespaceType::Mount {
            // Joined by the child: the launcher still needs the host's
            // paths (the pid file, the state directory).
            mnt_fd = Some(high(f, "mount namespace")?);
            continue;
        }
        sys::setns(f.as_fd(), t as i32).ctx(&format!("join the {t} namespace"), path.display())?;
        if t == LinuxNamespaceType::User {
            joined_user = true;
        }
    }
    let new_user = flags & LinuxNamespaceType::User as u64 != 0;
    // In a new user namespace the child becomes its root once the maps are
    // written, as runc does: else a launcher whose own ids the maps leave
    // out (root in `podman unshare`, mapping the container's 0 elsewhere)
    // would exec init as the overflow id, without capabilities in the
    // namespace, and sethostname and the mounts would fail with EPERM.
    let root_of = |m: &Option<Vec<LinuxIdMapping>>| {
        m.as_deref()
            .unwrap_or_default()
            .iter()
            .find(|m| m.container_id == 0 && m.size > 0)
            .map(|m| m.host_id)
    };
    let root_ids = (root_of(&linux.uid_mappings), root_of(&linux.gid_mappings));
    let become_root = new_user && root_ids.0.is_some() && root_ids.1.is_some();
    // That root opens the exec fifo (0600): it must own it (runc chowns
    // it too). Our own ids need no chown, nor another user's rootless
    // launch, which could not make one.
    if let (true, Some(uid), Some(gid)) = (become_root, root_ids.0, root_ids.1) {
        if (uid, gid) != (sys::geteuid(), sys::getegid()) {
            std::os::unix::fs::chown(&fifo, Some(uid), Some(gid))
                .ctx("give the exec fifo to the container's root", fifo.display())?;
        }
    }
    // A PID namespace of its own: a new one, not one joined by path (a
    // pod's app container joins the pause container's, whose other
    // processes are not this container's to list or kill).
    let own_pidns = namespaces
        .iter()
        .any(|n| n.typ == LinuxNamespaceType::Pid && n.path.is_none());

    // Everything the clone child touches is made before the clone: it only
    // reads the release byte, clears close-on-exec on our descriptors and
    // execs.
    let exe = sys::cstr("/proc/self/exe").expect("no NUL");
    // The container's process runs from a sealed memfd copy of our binary,
    // never from the binary itself: it is parked in the container until
    // `start`, and its /proc/self/exe is what a `#!/proc/self/exe` program
    // it execs would get (CVE-2019-5736). 2.7 MB copied in the kernel,
    // ~1 ms. Without one (vm.memfd_noexec = 2), only when nothing in the
    // container could write our binary (confine/trampoline.rs).
    let exe_fd = match sys::sealed_copy_of_self(c"sandbox-oci") {
        Ok(fd) => Some(fd),
        Err(e) => {
            crate::confine::trampoline::direct_or_refuse(e.raw_os_error().unwrap_or(libc::EIO))?;
            None
        }
    };
    let argv = sys::CStringArray::new(vec![
        sys::cstr("sandbox-oci").expect("no NUL"),
        sys::cstr("init").expect("no NUL"),
        sys::cstr(theirs.as_raw_fd().to_string()).expect("no NUL"),
    ]);
    let envp = sys::CStringArray::new(vec![]);
    let fifo_raw = fifo_fd.as_raw_fd();
    let console_raw = console.as_ref().map(|f| f.as_raw_fd());
    let mnt_raw = mnt_fd.as_ref().map(|f| f.as_raw_fd());
    let keep: Vec<i32> = [
        Some(theirs.as_raw_fd()),
        Some(fifo_raw),
        console_raw,
        mnt_raw,
    ]
    .into_iter()
    .flatten()
    .collect();
    let (pid, _) =
        sys::clone_namespaces(flags, None).ctx("clone", format!("namespaces {flags:#x}"))?;
    if pid == 0 {
        let image = match exe_fd.as_ref() {
            Some(fd) => InitImage::Sealed(fd.as_raw_fd()),
            None => InitImage::Path(&exe),
        };
        child_after_clone(
            ours.as_raw_fd(),
            theirs.as_raw_fd(),
            &keep,
            image,
            (&argv, &envp),
            become_root,
        );
    }
    undo.pid = Some(pid);
    drop(theirs);
    drop(console);
    drop(fifo_fd);
    drop(mnt_fd);
    drop(exe_fd);

    if new_user {
        write_id_maps(pid, &linux)?;
    }
    if let Some(cg) = &undo.cgroup {
        cg.add(pid)?;
    }
    let sock = UnixStream::from(ours);
    // Release: the maps are written, the cgroup is ours.
    (&sock)
        .write_all(b"R")
        .ctx("release the container's process", pid)?;
    let msg = InitMsg {
        id: a.id.clone(),
        config: config_text,
        rootfs,
        pid,
        bundle: bundle.clone(),
        fifo_fd: fifo_raw,
        console_fd: console_raw,
        mnt_ns_fd: mnt_raw,
        preserve_fds: a.preserve_fds,
        no_pivot: a.no_pivot,
        in_userns: new_user || joined_user || in_user_ns(),
        keep_pdeathsig: foreground,
        die_with_caller: die_with_caller.then(sys::getppid),
    };
    super::init::send(&sock, &msg)?;
    // Its answers are channel.rs frames (init.rs says why).
    let mut answers =
        ReportReceiver::new(OwnedFd::from(sock.try_clone().ctx("dup", "init socket")?));
    loop {
        let answer = answers
            .wait_next()
            .ctx("read the container's process's answer", "init socket")?;
        match answer {
            Some(Ok(Up::Reached(Point::Hooks))) => {
                let st = super::hook_state(&a.id, "creating", pid, &bundle, &spec);
                hooks::run(spec.hooks.as_ref(), hooks::Kind::Prestart, &st)?;
                hooks::run(spec.hooks.as_ref(), hooks::Kind::CreateRuntime, &st)?;
                super::init::send(&sock, &"go")?;
            }
            Some(Ok(Up::Reached(Point::Ready))) => break,
            Some(Ok(Up::Error(e))) => return Err(e),
            Some(Ok(other)) => {
                return Err(Error::msg(
                    "create",
                    format!("unexpected answer from the container's process: {other:?}"),
                ))
            }
            Some(Err(m)) => {
                return Err(Error::msg(
                    "create",
                    format!("unreadable answer from the container's process: {m}"),
                ))
            }
            None => {
                let how = match sys::waitpid(pid, false) {
                    Ok(Some(e)) => format!("{e:?}"),
                    _ => "gone".into(),
                };
                return Err(Error::msg(
                    "create",
                    format!("the container's process ended during set-up ({how})"),
                ));
            }
        }
    }
    let start_time = crate::procfs::start_time(pid).unwrap_or(0);
    let container = Container {
        dir: dir.clone(),
        record: Record {
            id: a.id.clone(),
            pid,
            start_time,
            bundle,
            created: super::time::rfc3339_now(),
            annotations,
            cgroup: undo.cgroup.as_ref().map(Cgroup::to_json),
            own_pidns,
        },
    };
    container.save()?;
    if let Some(p) = &a.pid_file {
        let p = if p.is_absolute() {
            p.clone()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        state::write_atomic(&p, pid.to_string().as_bytes())?;
    }
    undo.armed = false;
    Ok(Created { pid })
}

/// What this runtime does not do fails `create` by name rather than being
/// left out in silence (docs/OCI.md, "Not supported"). AppArmor and SELinux
/// labels are the exception: ignored, as on a host without those LSMs.
fn refuse_unsupported(spec: &Spec, linux: &Linux) -> Result<()> {
    let mut no = vec![];
    if linux.personality.is_some() {
        no.push("linux.personality");
    }
    if linux.time_offsets.is_some() {
        no.push("linux.timeOffsets");
    }
    if linux.intel_rdt.is_some() {
        no.push("linux.intelRdt");
    }
    if linux.net_devices.is_some() {
        no.push("linux.netDevices");
    }
    if linux.memory_policy.is_some() {
        no.push("linux.memoryPolicy");
    }
    if let Some(p) = &spec.process {
        if p.scheduler.is_some() {
            no.push("process.scheduler");
        }
        if p.io_priority.is_some() {
            no.push("process.ioPriority");
        }
        if p.exec_cpu_affinity.is_some() {
            no.push("process.execCPUAffinity");
        }
    }
    if linux
        .namespaces
        .iter()
        .flatten()
        .any(|n| n.typ == LinuxNamespaceType::Time)
    {
        no.push("a time namespace");
    }
    match no.is_empty() {
        true => Ok(()),
        false => Err(Error::msg(
            "config",
            format!(
                "not supported by sandbox-oci: {} (docs/OCI.md)",
                no.join(", ")
            ),
        )),
    }
}

/// What the clone child execs as `sandbox-oci init`: the sealed memfd
/// copy of our binary, or (where no memfd can be exec'd and our binary is
/// not writable by us) the binary itself.
enum InitImage<'a> {
    Sealed(i32),
    Path(&'a std::ffi::CStr),
}

/// The clone child: async-signal-safe calls only, until the exec.
fn child_after_clone(
    ours: i32,
    theirs: i32,
    keep: &[i32],
    image: InitImage,
    (argv, envp): (&sys::CStringArray, &sys::CStringArray),
    become_root: bool,
) -> ! {
    use sys::sigsafe;
    // Die with the launcher until the container is made.
    let _ = sigsafe::set_parent_death_signal(libc::SIGKILL);
    let _ = sigsafe::close(ours);
    match sigsafe::read_byte(theirs) {
        Ok(Some(b'R')) => {}
        _ => sigsafe::exit_now(1),
    }
    // The maps are written and give 0 (checked by the launcher): the
    // namespace's capabilities are ours until execve, which keeps them
    // for uid 0 only. Changing ids clears the parent-death signal: set
    // again (the launcher is alive, waiting on the socket).
    if become_root {
        if sigsafe::setresgid(0).is_err() || sigsafe::setresuid(0).is_err() {
            sigsafe::exit_now(1);
        }
        let _ = sigsafe::set_parent_death_signal(libc::SIGKILL);
    }
    for fd in keep {
        if sigsafe::set_cloexec(*fd, false).is_err() {
            sigsafe::exit_now(1);
        }
    }
    let _ = match image {
        InitImage::Sealed(fd) => sigsafe::execveat_fd(fd, argv, envp),
        InitImage::Path(exe) => sigsafe::execve(exe, argv, envp),
    };
    sigsafe::exit_now(127)
}

/// Whether this process is in a user namespace other than the initial one
/// (rootless podman runs us in its own).
pub fn in_user_ns() -> bool {
    fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
        .unwrap_or(false)
}

/// uid_map and gid_map of a new user namespace, by the one id-map writer
/// (plan/idmap.rs): each written directly when we may (root, or a line of our
/// own id), else through shadow's newuidmap/newgidmap with /etc/subuid and
/// /etc/subgid, as runc does.
fn write_id_maps(pid: i32, linux: &Linux) -> Result<()> {
    let lines = |m: &Option<Vec<LinuxIdMapping>>| -> Vec<IdMap> {
        m.iter()
            .flatten()
            .map(|m| IdMap {
                inside: m.container_id,
                outside: m.host_id,
                count: m.size,
            })
            .collect()
    };
    let (uids, gids) = (lines(&linux.uid_mappings), lines(&linux.gid_mappings));
    if uids.is_empty() || gids.is_empty() {
        return Err(Error::msg(
            "user namespace",
            "a new user namespace needs linux.uidMappings and linux.gidMappings",
        ));
    }
    crate::plan::idmap::write(pid, &uids, &gids, Writer::LauncherElseHelpers)
}

/// Runs `create`, `start` and, unless detached, waits for the container's
/// process and deletes the container: the container's exit status is ours.
pub fn run(g: &Global, log: &Log, a: &CreateArgs) -> Result<u8> {
    let created = create(g, log, a, !a.detach)?;
    // A program that failed to start leaves no container behind (runc
    // destroys it too): its process has ended, with its error told.
    if let Err(e) = super::lifecycle::start(g, log, &a.id) {
        let _ = super::lifecycle::delete(g, log, &a.id, true);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    let code = wait_forwarding(created.pid)?;
    let _ = super::lifecycle::delete(g, log, &a.id, true);
    Ok(code)
}

/// Wait for our child, passing SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1
/// and SIGUSR2 on to it. Its status as a shell would report it.
pub fn wait_forwarding(pid: i32) -> Result<u8> {
    // The signals the launcher of `sandbox run` passes on, less SIGCHLD.
    let sigs: Vec<i32> = crate::signals::HANDLED
        .into_iter()
        .filter(|s| *s != libc::SIGCHLD)
        .collect();
    sys::block_signals(&sigs).ctx("block signals", "run")?;
    let sfd = sys::signalfd(&sigs).ctx("signalfd", "run")?;
    let pidfd = sys::pidfd_open(pid).ctx("pidfd_open", pid)?;
    loop {
        let ready = sys::poll(
            &[(sfd.as_fd(), libc::POLLIN), (pidfd.as_fd(), libc::POLLIN)],
            -1,
        )
        .ctx("poll", "run")?;
        if ready[0] & libc::POLLIN != 0 {
            if let Some(si) = sys::read_signal(sfd.as_fd()).ctx("read signal", "run")? {
                let _ = sys::kill(pid, si.signo);
            }
        }
        if ready[1] != 0 {
            break;
        }
    }
    match sys::waitpid(pid, false).ctx("wait", pid)? {
        Some(e) => Ok(super::exit_code(e)),
        None => Ok(0),
    }
}
