//! runc's command line: global options, then a command and its options,
//! then the container id (and for `kill` a signal, for `exec` a command).
//! Options take `--name value`, `--name=value` and Go's single-dash
//! spelling (`-root`), since the engines that call us were written against
//! runc's flag parser.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, Result};

use super::log::{Log, LogFormat};

/// Global options, before the command.
#[derive(Debug, Default, Clone)]
pub struct Global {
    /// `--root`: where container state lives.
    pub root: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub log_format: LogFormat,
    pub debug: bool,
    /// `--systemd-cgroup`: accepted; without systemd the cgroupsPath is
    /// read as a path either way (docs/OCI.md).
    pub systemd_cgroup: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CreateArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub preserve_fds: u32,
    /// `run` only: return once started instead of waiting.
    pub detach: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExecArgs {
    pub id: String,
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub preserve_fds: u32,
    /// runc's: exec even into a paused container.
    pub ignore_paused: bool,
}

/// `update`: the resources JSON (`--resources FILE`, `-` for stdin, as
/// containerd's shim sends it) and runc's flags, which override it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateArgs {
    pub id: String,
    pub resources: Option<PathBuf>,
    /// (flag, value), in the order given.
    pub flags: Vec<(String, String)>,
}

/// runc's update flags that name one value.
pub const UPDATE_FLAGS: &[&str] = &[
    "memory",
    "memory-swap",
    "memory-reservation",
    "kernel-memory",
    "kernel-memory-tcp",
    "cpu-period",
    "cpu-quota",
    "cpu-share",
    "cpu-rt-period",
    "cpu-rt-runtime",
    "cpuset-cpus",
    "cpuset-mems",
    "pids-limit",
    "blkio-weight",
    "l3-cache-schema",
    "mem-bw-schema",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Create(CreateArgs),
    Run(CreateArgs),
    Start(String),
    State(String),
    Kill {
        id: String,
        all: bool,
        signal: String,
    },
    Delete {
        id: String,
        force: bool,
    },
    Exec(ExecArgs),
    Ps {
        id: String,
        json: bool,
    },
    List {
        json: bool,
    },
    /// `pause` (true) or `resume` (false).
    Pause {
        id: String,
        frozen: bool,
    },
    Update(UpdateArgs),
    Features,
    Version,
    Help,
    /// The container's process, re-exec'd by the launcher (init.rs).
    Init(i32),
}

/// The usage text, for `--help` and usage errors.
pub const USAGE: &str = "usage: sandbox-oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--systemd-cgroup] COMMAND
commands (as runc's):
  create --bundle DIR [--pid-file FILE] [--console-socket SOCK] [--no-pivot] [--preserve-fds N] ID
  start ID
  run --bundle DIR [--pid-file FILE] [--console-socket SOCK] [--detach] ID
  state ID
  kill [--all] ID [SIGNAL]
  delete [--force] ID
  exec [--process FILE | ARGS...] [--tty --console-socket SOCK] [--detach] [--pid-file FILE]
       [--cwd DIR] [-e KEY=VALUE] [-u UID[:GID]] [--additional-gids GID] [--cap CAP] [--no-new-privs] ID
  ps [--format table|json] ID
  list [--format table|json]
  pause ID
  resume ID
  update [--resources FILE|-] [--memory N] [--memory-swap N] [--memory-reservation N]
         [--cpu-quota N] [--cpu-period N] [--cpu-share N] [--cpuset-cpus L] [--cpuset-mems L]
         [--cpu-rt-period N] [--cpu-rt-runtime N] [--pids-limit N] ID
  features
  --version
docs/OCI.md says what is supported.";

fn usage(msg: impl Into<String>) -> Error {
    Error::msg("usage", msg.into())
}

/// A cursor over the arguments that knows Go's flag spellings.
struct Args {
    v: Vec<String>,
    i: usize,
}

impl Args {
    /// The next argument as a flag name and an inline value (`--a=b`), or
    /// None when it is not a flag. `--` ends the flags.
    fn flag(&mut self) -> Option<(String, Option<String>)> {
        let a = self.v.get(self.i)?;
        if a == "--" {
            self.i += 1;
            return None;
        }
        if !a.starts_with('-') || a == "-" {
            return None;
        }
        self.i += 1;
        let body = a.trim_start_matches('-');
        match body.split_once('=') {
            Some((n, v)) => Some((n.to_string(), Some(v.to_string()))),
            None => Some((body.to_string(), None)),
        }
    }

    fn value(&mut self, name: &str, inline: Option<String>) -> Result<String> {
        if let Some(v) = inline {
            return Ok(v);
        }
        let v = self
            .v
            .get(self.i)
            .cloned()
            .ok_or_else(|| usage(format!("--{name} needs a value")))?;
        self.i += 1;
        Ok(v)
    }

    fn bool_value(name: &str, inline: Option<String>) -> Result<bool> {
        match inline.as_deref() {
            None | Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(v) => Err(usage(format!("--{name}: '{v}' is not true or false"))),
        }
    }

    fn rest(&mut self) -> Vec<String> {
        let r = self.v[self.i..].to_vec();
        self.i = self.v.len();
        r
    }

    fn id(&mut self, cmd: &str) -> Result<String> {
        let id = self
            .v
            .get(self.i)
            .cloned()
            .ok_or_else(|| usage(format!("{cmd}: missing the container id")))?;
        self.i += 1;
        check_id(&id)?;
        Ok(id)
    }

    fn done(&self, cmd: &str) -> Result<()> {
        match self.v.get(self.i) {
            None => Ok(()),
            Some(a) => Err(usage(format!("{cmd}: unexpected argument '{a}'"))),
        }
    }
}

/// Container ids name a directory under --root: no '/', no '..', not
/// empty, printable.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+:@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "'{id}' is not a valid container id (letters, digits and -_.+:@ only)"
        )))
    }
}

fn unknown(cmd: &str, name: &str) -> Error {
    usage(format!("{cmd}: unknown option --{name}"))
}

/// Parse the whole command line (without `argv[0]`).
pub fn parse(args: Vec<OsString>) -> Result<(Global, Cmd)> {
    let v = args
        .into_iter()
        .map(|a| {
            a.into_string()
                .map_err(|a| usage(format!("argument {a:?} is not UTF-8")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut a = Args { v, i: 0 };
    let mut g = Global::default();
    while let Some((name, inline)) = a.flag() {
        match name.as_str() {
            "root" => g.root = Some(a.value(&name, inline)?.into()),
            "log" => g.log = Some(a.value(&name, inline)?.into()),
            "log-format" => {
                g.log_format = match a.value(&name, inline)?.as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    f => return Err(usage(format!("--log-format: '{f}' is not text or json"))),
                }
            }
            "debug" => g.debug = Args::bool_value(&name, inline)?,
            "systemd-cgroup" => g.systemd_cgroup = Args::bool_value(&name, inline)?,
            // runc's: rootless mode is whatever our uid and namespace say.
            "rootless" => drop(a.value(&name, inline)?),
            "criu" => drop(a.value(&name, inline)?),
            "version" | "v" => return Ok((g, Cmd::Version)),
            "help" | "h" => return Ok((g, Cmd::Help)),
            n => return Err(usage(format!("unknown global option --{n}"))),
        }
    }
    let cmd = match a.v.get(a.i).cloned() {
        Some(c) => {
            a.i += 1;
            c
        }
        None => return Err(usage("missing a command (sandbox-oci --help lists them)")),
    };
    let c = match cmd.as_str() {
        "create" | "run" => {
            let mut c = CreateArgs {
                bundle: PathBuf::from("."),
                ..Default::default()
            };
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "bundle" | "b" => c.bundle = a.value(&name, inline)?.into(),
                    "pid-file" => c.pid_file = Some(a.value(&name, inline)?.into()),
                    "console-socket" => c.console_socket = Some(a.value(&name, inline)?.into()),
                    "no-pivot" => c.no_pivot = Args::bool_value(&name, inline)?,
                    "no-new-keyring" => drop(Args::bool_value(&name, inline)?),
                    "preserve-fds" => c.preserve_fds = number(&name, &a.value(&name, inline)?)?,
                    "detach" | "d" if cmd == "run" => c.detach = Args::bool_value(&name, inline)?,
                    "keep" if cmd == "run" => drop(Args::bool_value(&name, inline)?),
                    n => return Err(unknown(&cmd, n)),
                }
            }
            c.id = a.id(&cmd)?;
            a.done(&cmd)?;
            if cmd == "run" {
                Cmd::Run(c)
            } else {
                Cmd::Create(c)
            }
        }
        "start" | "state" => {
            if let Some((n, _)) = a.flag() {
                return Err(unknown(&cmd, &n));
            }
            let id = a.id(&cmd)?;
            a.done(&cmd)?;
            if cmd == "start" {
                Cmd::Start(id)
            } else {
                Cmd::State(id)
            }
        }
        "kill" => {
            let mut all = false;
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "all" | "a" => all = Args::bool_value(&name, inline)?,
                    n => return Err(unknown(&cmd, n)),
                }
            }
            let id = a.id(&cmd)?;
            let signal = a.rest();
            if signal.len() > 1 {
                return Err(usage(format!("kill: unexpected argument '{}'", signal[1])));
            }
            let signal = signal
                .into_iter()
                .next()
                .unwrap_or_else(|| "SIGTERM".into());
            Cmd::Kill { id, all, signal }
        }
        "delete" | "rm" => {
            let mut force = false;
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "force" | "f" => force = Args::bool_value(&name, inline)?,
                    n => return Err(unknown(&cmd, n)),
                }
            }
            let id = a.id(&cmd)?;
            a.done(&cmd)?;
            Cmd::Delete { id, force }
        }
        "exec" => {
            let mut e = ExecArgs::default();
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "process" | "p" => e.process = Some(a.value(&name, inline)?.into()),
                    "tty" | "t" => e.tty = Args::bool_value(&name, inline)?,
                    "console-socket" => e.console_socket = Some(a.value(&name, inline)?.into()),
                    "detach" | "d" => e.detach = Args::bool_value(&name, inline)?,
                    "pid-file" => e.pid_file = Some(a.value(&name, inline)?.into()),
                    "cwd" => e.cwd = Some(a.value(&name, inline)?),
                    "env" | "e" => e.env.push(a.value(&name, inline)?),
                    "user" | "u" => e.user = Some(a.value(&name, inline)?),
                    "additional-gids" | "g" => e
                        .additional_gids
                        .push(number(&name, &a.value(&name, inline)?)?),
                    "cap" | "c" => e.caps.push(a.value(&name, inline)?),
                    "no-new-privs" => e.no_new_privs = Args::bool_value(&name, inline)?,
                    "preserve-fds" => e.preserve_fds = number(&name, &a.value(&name, inline)?)?,
                    // SELinux and AppArmor labels: this runtime applies
                    // neither (docs/OCI.md).
                    "process-label" | "apparmor" => drop(a.value(&name, inline)?),
                    "ignore-paused" => e.ignore_paused = Args::bool_value(&name, inline)?,
                    n => return Err(unknown(&cmd, n)),
                }
            }
            e.id = a.id(&cmd)?;
            e.args = a.rest();
            if e.process.is_none() && e.args.is_empty() {
                return Err(usage("exec: give --process FILE or a command"));
            }
            if e.process.is_some() && !e.args.is_empty() {
                return Err(usage("exec: give --process FILE or a command, not both"));
            }
            Cmd::Exec(e)
        }
        "ps" => {
            let mut json = false;
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "format" | "f" => {
                        json = match a.value(&name, inline)?.as_str() {
                            "json" => true,
                            "table" => false,
                            f => {
                                return Err(usage(format!(
                                    "ps: --format '{f}' is not table or json"
                                )))
                            }
                        }
                    }
                    n => return Err(unknown(&cmd, n)),
                }
            }
            let id = a.id(&cmd)?;
            // runc passes what follows to ps(1); we print pids only.
            Cmd::Ps { id, json }
        }
        "list" | "ls" => {
            let mut json = false;
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "format" | "f" => json = a.value(&name, inline)? == "json",
                    "quiet" | "q" => drop(Args::bool_value(&name, inline)?),
                    n => return Err(unknown(&cmd, n)),
                }
            }
            a.done(&cmd)?;
            Cmd::List { json }
        }
        "features" => {
            a.done(&cmd)?;
            Cmd::Features
        }
        "init" => {
            let fd = a.rest();
            match fd.as_slice() {
                [fd] => Cmd::Init(fd.parse().map_err(|_| usage("init: bad fd"))?),
                _ => {
                    return Err(usage(
                        "init: the container's process is started by create, not by hand",
                    ))
                }
            }
        }
        "pause" | "resume" => {
            if let Some((n, _)) = a.flag() {
                return Err(unknown(&cmd, &n));
            }
            let id = a.id(&cmd)?;
            a.done(&cmd)?;
            Cmd::Pause {
                id,
                frozen: cmd == "pause",
            }
        }
        "update" => {
            let mut u = UpdateArgs::default();
            while let Some((name, inline)) = a.flag() {
                match name.as_str() {
                    "resources" | "r" => u.resources = Some(a.value(&name, inline)?.into()),
                    n if UPDATE_FLAGS.contains(&n) => {
                        let v = a.value(&name, inline)?;
                        u.flags.push((name, v));
                    }
                    n => return Err(unknown(&cmd, n)),
                }
            }
            u.id = a.id(&cmd)?;
            a.done(&cmd)?;
            Cmd::Update(u)
        }
        "checkpoint" | "restore" | "events" | "spec" => {
            return Err(usage(format!(
                "'{cmd}' is not supported by sandbox-oci (docs/OCI.md lists what is)"
            )))
        }
        "help" => Cmd::Help,
        c => {
            return Err(usage(format!(
                "unknown command '{c}' (sandbox-oci --help lists them)"
            )))
        }
    };
    Ok((g, c))
}

fn number(name: &str, v: &str) -> Result<u32> {
    v.parse()
        .map_err(|_| usage(format!("--{name}: '{v}' is not a number")))
}

/// Entry point for `argv[0]` == `sandbox-oci`. Returns the exit status.
pub fn main(args: Vec<OsString>) -> u8 {
    let (global, cmd) = match parse(args) {
        Ok(p) => p,
        Err(e) => {
            // The log options may not have parsed; stderr only.
            e.report();
            return 1;
        }
    };
    let log = Log::new(&global);
    match super::dispatch(&global, &log, cmd) {
        Ok(code) => code,
        Err(e) => {
            log.error(&e);
            1
        }
    }
}

#[cfg(test)]
#[path = "cli_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<(Global, Cmd)> {
        parse(a.iter().map(OsString::from).collect())
    }

    #[test]
    fn podman_and_containerd_spellings_parse() {
        let (g, c) = p(&[
            "--root",
            "/run/r",
            "--log=/l",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
            "--console-socket=/s",
            "ctr1",
        ])
        .unwrap();
        assert_eq!(g.root.unwrap(), PathBuf::from("/run/r"));
        assert_eq!(g.log_format, LogFormat::Json);
        assert!(g.systemd_cgroup);
        let Cmd::Create(c) = c else { panic!() };
        assert_eq!(c.id, "ctr1");
        assert_eq!(c.bundle, PathBuf::from("/b"));
        assert_eq!(c.console_socket, Some("/s".into()));
        let (_, c) = p(&["-root", "/r", "kill", "--all", "x", "9"]).unwrap();
        assert_eq!(
            c,
            Cmd::Kill {
                id: "x".into(),
                all: true,
                signal: "9".into()
            }
        );
        let (_, c) = p(&[
            "exec", "-e", "A=b", "-u", "1:2", "--cwd", "/t", "x", "sh", "-c", "id",
        ])
        .unwrap();
        let Cmd::Exec(e) = c else { panic!() };
        assert_eq!(e.args, ["sh", "-c", "id"]);
        assert_eq!(e.user.as_deref(), Some("1:2"));
    }

    #[test]
    fn update_pause_and_resume_parse_as_the_shim_spells_them() {
        // go-runc's Update: the resources JSON on stdin.
        let (_, c) = p(&["--root", "/r", "update", "--resources=-", "c1"]).unwrap();
        assert_eq!(
            c,
            Cmd::Update(UpdateArgs {
                id: "c1".into(),
                resources: Some("-".into()),
                flags: vec![]
            })
        );
        let (_, c) = p(&["update", "--memory", "64m", "--pids-limit=10", "c1"]).unwrap();
        let Cmd::Update(u) = c else { panic!() };
        assert_eq!(
            u.flags,
            [
                ("memory".to_string(), "64m".to_string()),
                ("pids-limit".to_string(), "10".to_string())
            ]
        );
        let (_, c) = p(&["pause", "c1"]).unwrap();
        assert_eq!(
            c,
            Cmd::Pause {
                id: "c1".into(),
                frozen: true
            }
        );
        let (_, c) = p(&["resume", "c1"]).unwrap();
        assert_eq!(
            c,
            Cmd::Pause {
                id: "c1".into(),
                frozen: false
            }
        );
    }

    #[test]
    fn bad_ids_and_options_are_refused() {
        assert!(p(&["state", "../x"]).is_err());
        assert!(p(&["state", "a/b"]).is_err());
        assert!(p(&["state"]).is_err());
        assert!(p(&["create", "--bogus", "x"]).is_err());
        assert!(p(&["pause", "--bogus", "x"]).is_err());
        assert!(p(&["update", "--bogus", "1", "x"]).is_err());
        assert!(p(&["checkpoint", "x"]).is_err());
        assert!(p(&["exec", "x"]).is_err());
    }
}
