//! The sandbox's network beyond `lo`: `--net pasta` (user-mode networking
//! through pasta, from Debian's `passt` package), published ports,
//! `--host-loopback`, `--dns` and `--allow-net`'s egress rules.
//!
//! pasta is started by the launcher, never by anything inside: it must not
//! inherit the command's seccomp filter, no_new_privs or Landlock, and the
//! command must not be able to signal or trace it. It attaches to the
//! sandbox's user and network namespaces by the clone child's pid after
//! the id maps are written and before the release, configures the
//! interface (`--config-net`: address, default route, link up) and only
//! then writes its pid to its `--pid` file, its own stdout, a pipe we
//! hold: that line is the readiness signal, so the command's first
//! instruction sees a configured interface. It runs in the foreground (`-f`) as our child: we kill and
//! reap it when the sandbox ends, and the guard kills it when we die
//! (pasta of Debian 12 never leaves on its own when the namespace dies).
//! `--allow-net`'s nftables rules are loaded by the child stage
//! (`install_rules`). docs/DECISIONS.md, "Networking through pasta" and
//! "`--allow-net`", has the reasons.

use std::fs;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::sys;

/// Where DNS queries go inside with `--dns`: pasta forwards UDP port 53
/// sent to this address to the host's first resolver (podman uses the
/// same link-local address).
pub const DNS_FORWARDER: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

/// The name `--host-loopback` puts in /etc/hosts for the host's loopback.
pub const HOST_LOOPBACK_NAME: &str = "host.sandbox.internal";

/// How long pasta may take to configure the namespace before the launch
/// fails. It takes about 45 ms here.
const PASTA_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// `--net`: which network the sandbox gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetMode {
    /// A new network namespace with only `lo`, up.
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// A new network namespace connected to the outside through pasta.
    Pasta,
}

impl NetMode {
    pub fn name(self) -> &'static str {
        match self {
            NetMode::None => "none",
            NetMode::Host => "host",
            NetMode::Pasta => "pasta",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// `-p, --publish [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub host_ip: IpAddr,
    pub host_port: u16,
    pub port: u16,
    pub proto: Proto,
}

impl std::fmt::Display for Publish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.host_ip {
            IpAddr::V6(a) => write!(f, "[{a}]")?,
            IpAddr::V4(a) => write!(f, "{a}")?,
        }
        write!(f, ":{}:{}/{}", self.host_port, self.port, self.proto.name())
    }
}

fn parse_port(s: &str, what: &str) -> std::result::Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{what} {s:?} is not a port (1-65535)")),
    }
}

/// `[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]`; an IPv6 HOSTIP in brackets.
pub fn parse_publish(s: &str) -> std::result::Result<Publish, String> {
    let bad =
        |why: String| format!("--publish {s:?}: {why}; expected [HOSTIP:]HOSTPORT:PORT[/tcp|/udp]");
    let (spec, proto) = match s.rsplit_once('/') {
        Some((spec, "tcp")) => (spec, Proto::Tcp),
        Some((spec, "udp")) => (spec, Proto::Udp),
        Some((_, p)) => return Err(bad(format!("unknown protocol {p:?}"))),
        None => (s, Proto::Tcp),
    };
    let (ip, ports) = if let Some(rest) = spec.strip_prefix('[') {
        let (ip, ports) = rest
            .split_once("]:")
            .ok_or_else(|| bad("an IPv6 address in brackets must be followed by ':'".into()))?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| bad(format!("{ip:?} is not an IPv6 address")))?;
        (IpAddr::V6(ip), ports)
    } else {
        match spec.matches(':').count() {
            1 => (IpAddr::V4(Ipv4Addr::LOCALHOST), spec),
            2 => {
                let (ip, ports) = spec.split_once(':').unwrap();
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| bad(format!("{ip:?} is not an IPv4 address")))?;
                (IpAddr::V4(ip), ports)
            }
            _ => return Err(bad("wrong number of ':'".into())),
        }
    };
    let (h, p) = ports
        .split_once(':')
        .ok_or_else(|| bad("HOSTPORT:PORT is missing".into()))?;
    Ok(Publish {
        host_ip: ip,
        host_port: parse_port(h, "HOSTPORT").map_err(bad)?,
        port: parse_port(p, "PORT").map_err(bad)?,
        proto,
    })
}

/// `--allow-net CIDR[:PORT[-PORT]][/tcp|/udp]`: one destination the
/// sandbox may open connections to (all of them when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    pub addr: IpAddr,
    pub prefix: u8,
    /// A port range; None: every port (and, without a protocol, ICMP too).
    pub ports: Option<(u16, u16)>,
    /// None: TCP and UDP (and ICMP when no port is given).
    pub proto: Option<Proto>,
}

impl std::fmt::Display for AllowRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cidr = format!("{}/{}", self.addr, self.prefix);
        match (self.addr, self.ports) {
            (IpAddr::V6(_), Some(_)) => write!(f, "[{cidr}]")?,
            _ => write!(f, "{cidr}")?,
        }
        match self.ports {
            Some((a, b)) if a == b => write!(f, ":{a}")?,
            Some((a, b)) => write!(f, ":{a}-{b}")?,
            None => {}
        }
        if let Some(p) = self.proto {
            write!(f, "/{}", p.name())?;
        }
        Ok(())
    }
}

/// `CIDR[:PORT[-PORT]][/tcp|/udp]`; an IPv6 CIDR with a port in brackets
/// (`[2001:db8::/32]:443`). A bare address is a /32 or /128.
pub fn parse_allow(s: &str) -> std::result::Result<AllowRule, String> {
    let bad =
        |why: String| format!("--allow-net {s:?}: {why}; expected CIDR[:PORT[-PORT]][/tcp|/udp]");
    let (spec, proto) = match s.rsplit_once('/') {
        Some((spec, "tcp")) => (spec, Some(Proto::Tcp)),
        Some((spec, "udp")) => (spec, Some(Proto::Udp)),
        _ => (s, None),
    };
    let (cidr, ports) = if let Some(rest) = spec.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((c, p)) => (c, Some(p)),
            None => (
                rest.strip_suffix(']')
                    .ok_or_else(|| bad("unclosed '['".into()))?,
                None,
            ),
        }
    } else if spec.matches(':').count() == 1 {
        let (c, p) = spec.split_once(':').unwrap();
        (c, Some(p))
    } else {
        (spec, None)
    };
    let (addr, prefix) = match cidr.split_once('/') {
        Some((a, n)) => (a, Some(n)),
        None => (cidr, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| bad(format!("{addr:?} is not an IP address")))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(n) => match n.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(bad(format!("/{n} is not a prefix length for {addr}"))),
        },
    };
    let ports = match ports {
        None => None,
        Some(p) => {
            let (a, b) = p.split_once('-').unwrap_or((p, p));
            let (a, b) = (
                parse_port(a, "PORT").map_err(bad)?,
                parse_port(b, "PORT").map_err(bad)?,
            );
            if a > b {
                return Err(bad(format!("the range {a}-{b} is empty")));
            }
            Some((a, b))
        }
    };
    Ok(AllowRule {
        addr,
        prefix,
        ports,
        proto,
    })
}

impl AllowRule {
    /// The nftables rule that accepts it.
    fn nft(&self) -> String {
        let family = if self.addr.is_ipv4() { "ip" } else { "ip6" };
        let mut r = format!("{family} daddr {}/{} ", self.addr, self.prefix);
        let ports = self.ports.map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        });
        match (self.proto, ports) {
            (Some(p), Some(ports)) => r += &format!("{} dport {ports} ", p.name()),
            (Some(p), None) => r += &format!("meta l4proto {} ", p.name()),
            (None, Some(ports)) => r += &format!("meta l4proto {{ tcp, udp }} th dport {ports} "),
            (None, None) => {}
        }
        r + "accept"
    }
}

/// The sandbox's egress rules for `--allow-net`, loaded into its own
/// network namespace before the command runs: loopback, replies to
/// connections already accepted (published ports), the link's own
/// neighbour discovery, pasta's DNS forwarder with `--dns`, the listed
/// destinations; every other TCP connection gets a reset and every other
/// packet an ICMP "administratively prohibited", so both fail at once.
pub fn ruleset(p: &PastaPlan) -> String {
    let mut r = String::from(
        "table inet sandbox {\n\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\
         \t\toifname \"lo\" accept\n\
         \t\tct state established,related accept\n\
         \t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, mld-listener-report, mld2-listener-report } accept\n",
    );
    if p.dns {
        r += &format!("\t\tip daddr {DNS_FORWARDER} udp dport 53 accept\n");
    }
    for a in &p.allow {
        r += &format!("\t\t{}\n", a.nft());
    }
    r += "\t\tmeta l4proto tcp reject with tcp reset\n\
          \t\treject with icmpx type admin-prohibited\n\t}\n}\n";
    r
}

/// The child stage, before anything of the command's exists: load the
/// `--allow-net` rules with the host's nft, as root of the sandbox's user
/// namespace (CAP_NET_ADMIN over its network namespace; the command will
/// have none). Nothing to do without `--allow-net`.
pub fn install_rules(p: &PastaPlan) -> Result<()> {
    let Some(nft) = &p.nft else {
        return Ok(());
    };
    let mut child = sys::only_stdio(&mut Command::new(nft))
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ctx("start nft for --allow-net", nft.display())?;
    let mut stdin = child.stdin.take().expect("piped");
    std::io::Write::write_all(&mut stdin, ruleset(p).as_bytes())
        .ctx("write the rules to nft", nft.display())?;
    drop(stdin);
    let out = child.wait_with_output().ctx("run nft", nft.display())?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::msg(
            "--allow-net: load the rules",
            format!(
                "nft failed: {}",
                err.lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no message")
            ),
        ));
    }
    Ok(())
}

/// nft for `--allow-net`: on PATH, else where Debian puts it (sbin is
/// often not on a user's PATH).
fn find_nft() -> Result<PathBuf> {
    find_on_path("nft")
        .or_else(|| {
            ["/usr/sbin/nft", "/sbin/nft"]
                .iter()
                .map(PathBuf::from)
                .find(|p| sys::is_executable(p))
        })
        .ok_or_else(|| {
            Error::msg(
                "--allow-net",
                "nft is not installed (not on PATH, not in /usr/sbin)",
            )
            .with_hint("install it: 'sudo apt install nftables'")
        })
}

/// What was asked for the network beyond `--net none|host`, unvalidated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetArgs {
    pub mode: NetMode,
    pub publish: Vec<Publish>,
    pub host_loopback: bool,
    pub dns: bool,
    pub allow: Vec<AllowRule>,
    /// `--allow-host`: names reached through the proxy (confine/proxy.rs).
    pub hosts: Vec<crate::confine::proxy::HostRule>,
}

/// `--net pasta` as validated: what the launcher starts pasta with and
/// what the child stage writes into /etc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastaPlan {
    pub publish: Vec<Publish>,
    /// `--host-loopback`: the address inside at which the host's loopback
    /// answers (the gateway pasta configures, which it maps to the host).
    pub host_loopback: Option<Ipv4Addr>,
    pub dns: bool,
    /// `--allow-net`: when not empty, the only destinations allowed.
    pub allow: Vec<AllowRule>,
    /// The host's nft, which loads those rules (None without them).
    pub nft: Option<PathBuf>,
}

impl PastaPlan {
    /// Validate `--net pasta`'s options against each other and the host.
    /// `copy_on_write`: whether the root is the default throwaway layer,
    /// where /etc/hosts and /etc/resolv.conf can be written.
    pub fn from_args(a: &NetArgs, copy_on_write: bool) -> Result<Option<PastaPlan>> {
        if !a.hosts.is_empty() && a.mode != NetMode::None {
            return Err(Error::msg(
                "--allow-host",
                format!("gives the sandbox a network of its own with only lo and the proxy; it cannot be combined with --net {}", a.mode.name()),
            )
            .with_hint("drop --net, or drop --allow-host"));
        }
        if a.mode != NetMode::Pasta {
            // With --allow-host, --allow-net names the addresses the proxy
            // may reach although they are not public (confine/proxy.rs).
            let proxied = !a.hosts.is_empty();
            for (given, opt) in [
                (!a.publish.is_empty(), "--publish"),
                (a.host_loopback, "--host-loopback"),
                (a.dns, "--dns"),
                (!a.allow.is_empty() && !proxied, "--allow-net"),
            ] {
                if given {
                    return Err(Error::msg(opt, "needs --net pasta")
                        .with_hint(format!("run with --net pasta {opt} …")));
                }
            }
            return Ok(None);
        }
        if (a.dns || a.host_loopback) && !copy_on_write {
            let opt = if a.dns { "--dns" } else { "--host-loopback" };
            return Err(Error::msg(
                opt,
                "writes /etc/resolv.conf and /etc/hosts in the copy-on-write root; it cannot be combined with --read-only or --rw",
            ));
        }
        let gateway = default_gateway()?;
        Ok(Some(PastaPlan {
            publish: a.publish.clone(),
            host_loopback: a.host_loopback.then_some(gateway),
            dns: a.dns,
            nft: if a.allow.is_empty() {
                None
            } else {
                Some(find_nft()?)
            },
            allow: a.allow.clone(),
        }))
    }
}

/// The host's first IPv4 default route's gateway, which pasta copies into
/// the namespace; without a default route pasta has no interface to use.
fn default_gateway() -> Result<Ipv4Addr> {
    let routes = fs::read_to_string("/proc/net/route").ctx("read routes", "/proc/net/route")?;
    let v6 = fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    for line in routes.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Iface Destination Gateway Flags …; RTF_GATEWAY is 0x2.
        if f.len() > 3 && f[1] == "00000000" {
            let flags = u32::from_str_radix(f[3], 16).unwrap_or(0);
            if flags & 0x2 != 0 {
                // The address's bytes, printed as a number in host order.
                if let Ok(g) = u32::from_str_radix(f[2], 16) {
                    return Ok(Ipv4Addr::from(g.to_ne_bytes()));
                }
            }
        }
    }
    let has_v6_default = v6
        .lines()
        .any(|l| l.starts_with("00000000000000000000000000000000 00") && !l.contains(" lo"));
    Err(Error::msg(
        "--net pasta",
        if has_v6_default {
            "the host has no IPv4 default route; sandbox's pasta support needs one"
        } else {
            "the host has no routable interface (no default route), so pasta has nothing to connect the sandbox to"
        },
    )
    .with_hint("connect the machine to a network, or use --net none"))
}

/// The pasta binary on PATH and what it can do, found by asking it.
#[derive(Debug, Clone)]
pub struct PastaInfo {
    pub path: PathBuf,
    /// `pasta --version`'s first line, asked only when it is shown (an
    /// error, doctor, -v), to keep an exec off the launch path.
    version: std::cell::OnceCell<String>,
    /// `pasta --help`, to look options up in.
    help: String,
}

impl PastaInfo {
    /// Look pasta up on PATH and ask it for its options.
    pub fn find() -> Result<PastaInfo> {
        let path = find_on_path("pasta").ok_or_else(|| {
            Error::msg("--net pasta", "pasta is not installed (not found on PATH)")
                .with_hint("install it: 'sudo apt install passt' (Debian, Ubuntu) or 'sudo dnf install passt' (Fedora)")
        })?;
        let ask = |arg: &str| -> Result<String> {
            // Debian 12's pasta prints its help on stderr (and exits 1),
            // between complaints that it has no syslog; later ones on stdout.
            let out = Command::new(&path)
                .arg(arg)
                .stdin(Stdio::null())
                .output()
                .ctx(&format!("run pasta {arg}"), path.display())?;
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            for l in String::from_utf8_lossy(&out.stderr).lines() {
                if !l.starts_with("Failed to send") {
                    text.push_str(l);
                    text.push('\n');
                }
            }
            Ok(text)
        };
        let help = ask("--help")?;
        Ok(PastaInfo {
            path,
            version: std::cell::OnceCell::new(),
            help,
        })
    }

    /// The first line of `pasta --version` (`pasta unknown version` on
    /// Debian 12's).
    pub fn version(&self) -> &str {
        self.version.get_or_init(|| {
            Command::new(&self.path)
                .arg("--version")
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .next()
                        .map(|l| l.trim().to_string())
                })
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "pasta (no version)".into())
        })
    }

    /// Whether `pasta --help` lists `option`.
    pub fn has(&self, option: &str) -> bool {
        self.help
            .split(|c: char| !(c.is_alphanumeric() || c == '-'))
            .any(|w| w == option)
    }

    fn require(&self, option: &str, for_what: &str) -> Result<()> {
        if self.has(option) {
            return Ok(());
        }
        Err(Error::msg(
            for_what,
            format!(
                "this pasta ({}, {}) has no {option}",
                self.version(),
                self.path.display()
            ),
        )
        .with_hint("install a newer passt, or run without this option"))
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| sys::is_executable(p))
}

/// /dev/net/tun must open read-write for us: pasta opens it from inside
/// the sandbox's namespaces, where the device's host permissions still
/// apply (our user namespace maps only our own uid, so its root cannot
/// override them).
pub fn check_tun() -> Result<()> {
    const TUN: &str = "/dev/net/tun";
    match fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(TUN)
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            let err = Error::errno("--net pasta", Some(TUN.to_string()), errno);
            Err(match errno {
                libc::ENOENT | libc::ENODEV | libc::ENXIO => err.with_hint(
                    "the tun device is missing: 'sudo modprobe tun' (inside a container, pass /dev/net/tun in)",
                ),
                libc::EACCES | libc::EPERM => {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = fs::metadata(TUN)
                        .map(|m| format!("mode {:04o}", m.permissions().mode() & 0o7777))
                        .unwrap_or_else(|_| "its mode".into());
                    err.with_hint(format!(
                        "the tun device is not usable by your user ({mode}): make it 0666 as most distributions do, 'sudo chmod 0666 /dev/net/tun', and for good a udev rule: KERNEL==\"tun\", MODE=\"0666\""
                    ))
                }
                _ => err,
            })
        }
    }
}

/// `sandbox doctor`'s lines for the network: pasta (path, version, which
/// of our options its option set supports), /dev/net/tun, a default route.
pub fn doctor() -> Vec<(bool, &'static str, String)> {
    let mut lines = Vec::new();
    let info = PastaInfo::find();
    lines.push(match &info {
        Ok(i) => {
            let mut works = vec!["--net pasta", "--publish"];
            let mut lacks = Vec::new();
            for (opt, feature) in [("--no-map-gw", "no host loopback by default"), ("--dns-forward", "--dns")] {
                if i.has(opt) || (opt == "--no-map-gw" && i.has("--map-host-loopback")) {
                    works.push(feature);
                } else {
                    lacks.push(format!("{feature} (no {opt})"));
                }
            }
            works.push("--host-loopback");
            let ok = ["--config-net", "--pid", "--foreground"].iter().all(|o| i.has(o)) && lacks.is_empty();
            let mut text = format!("{} at {}; supports {}", i.version(), i.path.display(), works.join(", "));
            if !lacks.is_empty() {
                text += &format!("; lacks {}", lacks.join(", "));
            }
            (ok, "pasta", text)
        }
        Err(_) => (
            false,
            "pasta",
            "not on PATH: --net pasta needs it ('sudo apt install passt'); --net none and host work without".into(),
        ),
    });
    lines.push(match check_tun() {
        Ok(()) => (
            true,
            "/dev/net/tun",
            "usable by you (pasta needs it)".into(),
        ),
        Err(e) => (
            false,
            "/dev/net/tun",
            format!(
                "{}{}",
                e.to_string().trim_start_matches("sandbox: --net pasta: "),
                e.hint
                    .as_deref()
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default()
            ),
        ),
    });
    lines.push(match find_nft() {
        Ok(p) => (
            true,
            "nft",
            format!("{} (loads --allow-net's rules)", p.display()),
        ),
        Err(_) => (
            false,
            "nft",
            "not found: --allow-net needs it ('sudo apt install nftables')".into(),
        ),
    });
    lines.push(match default_gateway() {
        Ok(g) => (
            true,
            "routable interface",
            format!("default route via {g} (pasta copies it; --host-loopback's address)"),
        ),
        Err(e) => (
            false,
            "routable interface",
            e.to_string().trim_start_matches("sandbox: ").into(),
        ),
    });
    lines
}

/// Everything pasta's launch needs that can be checked before clone.
pub struct PastaLaunch {
    info: PastaInfo,
    args: Vec<String>,
}

impl PastaLaunch {
    /// Find pasta, check the tun device and the features asked for, and
    /// build its arguments (all but the FIFO and the pid).
    pub fn prepare(plan: &PastaPlan) -> Result<PastaLaunch> {
        let info = PastaInfo::find()?;
        check_tun()?;
        for opt in ["--config-net", "--pid", "--foreground"] {
            info.require(opt, "--net pasta")?;
        }
        let mut args: Vec<String> = ["--foreground", "--quiet", "--config-net"]
            .map(String::from)
            .to_vec();
        // Without these pasta forwards every port bound on the host's
        // loopback into the namespace and back (-T/-U auto), and every
        // port bound inside to the host (-t/-u auto).
        let mut tcp = Vec::new();
        let mut udp = Vec::new();
        for p in &plan.publish {
            let spec = format!("{}/{}:{}", p.host_ip, p.host_port, p.port);
            match p.proto {
                Proto::Tcp => tcp.push(spec),
                Proto::Udp => udp.push(spec),
            }
        }
        for (opt, specs) in [("-t", tcp), ("-u", udp)] {
            if specs.is_empty() {
                args.extend([opt.to_string(), "none".to_string()]);
            }
            for s in specs {
                args.extend([opt.to_string(), s]);
            }
        }
        args.extend(["-T", "none", "-U", "none"].map(String::from));
        if plan.host_loopback.is_none() {
            // The gateway's address is otherwise mapped to the host's
            // loopback: nothing of the host's 127.0.0.1 by default. Newer
            // pastas name it --map-host-loopback none; Debian 12's has
            // only --no-map-gw.
            if info.has("--map-host-loopback") {
                args.extend(["--map-host-loopback".into(), "none".into()]);
            } else {
                info.require("--no-map-gw", "--net pasta")?;
                args.push("--no-map-gw".into());
            }
        }
        if plan.dns {
            info.require("--dns-forward", "--dns")?;
            args.extend(["--dns-forward".into(), DNS_FORWARDER.to_string()]);
        }
        Ok(PastaLaunch { info, args })
    }

    pub fn describe(&self) -> String {
        format!("{} ({})", self.info.version(), self.info.path.display())
    }
}

/// A pasta process serving one sandbox; our child. Dropping it kills and
/// reaps it.
pub struct Pasta {
    child: Child,
}

impl Pasta {
    /// Start pasta on the namespaces of `pid` (the clone child, its maps
    /// written), tell `spawned` its pid at once (the guard), and wait
    /// until it has configured the interface.
    ///
    /// Readiness: pasta writes its pid to its `--pid` file once the
    /// namespace is configured. That "file" is its own stdout, a pipe to
    /// us (`/proc/self/fd/1`: fd 1 is never among the fds newer pastas
    /// close at start), so no file is ever created and nothing is left if
    /// we are killed. Its stdout closing before that line means it ended.
    pub fn start(
        launch: &PastaLaunch,
        pid: libc::pid_t,
        spawned: impl FnOnce(libc::pid_t),
    ) -> Result<Pasta> {
        let ready_file = "/proc/self/fd/1";
        let mut child = sys::only_stdio(&mut Command::new(&launch.info.path))
            .args(&launch.args)
            .arg("--pid")
            .arg(ready_file)
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: the terminal's ^C is the command's,
            // and must not end the sandbox's network.
            .process_group(0)
            .spawn()
            .ctx("start pasta", launch.info.path.display())?;
        spawned(child.id() as libc::pid_t);
        let mut stderr = child.stderr.take().expect("piped");
        let mut ready = child.stdout.take().expect("piped");
        let mut said = Vec::new();
        let mut line = Vec::new();
        let deadline = Instant::now() + PASTA_READY_TIMEOUT;
        fn ended(child: &mut Child, stderr: &mut impl Read, said: &mut Vec<u8>) -> Error {
            let _ = stderr.read_to_end(said);
            let status = child.wait().ok();
            let why = match status.and_then(|s| s.code()) {
                Some(c) => format!("pasta exited with status {c} before the network was up"),
                None => "pasta was killed before the network was up".to_string(),
            };
            failed(child, said, why)
        }
        fn failed(child: &mut Child, said: &[u8], why: String) -> Error {
            let _ = child.kill();
            let _ = child.wait();
            let text = String::from_utf8_lossy(said);
            let last = text.lines().rev().find(|l| !l.trim().is_empty());
            let mut e = Error::msg(
                "--net pasta",
                match last {
                    Some(l) => format!("{why}: {}", l.trim()),
                    None => why,
                },
            );
            if text.contains("tun") || text.contains("TUN") {
                e = e.with_hint("check /dev/net/tun: 'sandbox doctor'");
            }
            e
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(failed(
                    &mut child,
                    &said,
                    format!(
                        "pasta did not configure the network within {} s",
                        PASTA_READY_TIMEOUT.as_secs()
                    ),
                ));
            }
            let rev = sys::poll(
                &[
                    (ready.as_fd(), libc::POLLIN),
                    (stderr.as_fd(), libc::POLLIN),
                ],
                left.as_millis().min(i32::MAX as u128) as i32,
            )
            .ctx_step("wait for pasta")?;
            if rev[0] != 0 {
                let mut buf = [0u8; 64];
                let n = ready.read(&mut buf).unwrap_or(0);
                line.extend_from_slice(&buf[..n]);
                if line.contains(&b'\n') {
                    return Ok(Pasta { child });
                }
                if n == 0 {
                    // Its stdout closed without the line: pasta has ended.
                    return Err(ended(&mut child, &mut stderr, &mut said));
                }
            }
            if rev[1] != 0 {
                let mut buf = [0u8; 4096];
                let n = stderr.read(&mut buf).unwrap_or(0);
                said.extend_from_slice(&buf[..n]);
                if n == 0 {
                    // Its stderr closed: pasta has ended.
                    return Err(ended(&mut child, &mut stderr, &mut said));
                }
            }
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// SIGKILL (it is our unreaped child, so the pid is still its own).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }
}

impl Drop for Pasta {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In the sandbox's own network namespace, let the command (which has no
/// CAP_NET_BIND_SERVICE) listen on ports below 1024, so `-p 8080:80`
/// reaches a server on port 80. Only this namespace's setting changes;
/// rootless podman does the same.
pub fn allow_low_ports() -> Result<()> {
    const KNOB: &str = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
    fs::write(KNOB, "0").ctx("let the command use ports below 1024", KNOB)
}

/// The child stage, after the root is built: /etc/hosts (the hostname, and
/// `host.sandbox.internal` with `--host-loopback`) and, with `--dns`,
/// /etc/resolv.conf, written into the copy-on-write layer (plan
/// validation allows these options with that root only). A file or link
/// already there is replaced, never followed.
pub fn write_etc(plan: &PastaPlan, hostname: &str) -> Result<()> {
    if !plan.dns && plan.host_loopback.is_none() {
        return Ok(());
    }
    let etc = Path::new("/etc");
    if !etc.is_dir() {
        fs::DirBuilder::new()
            .mode(0o755)
            .create(etc)
            .ctx("create", "/etc")?;
    }
    let mut hosts = format!("127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{hostname}\n");
    if let Some(a) = plan.host_loopback {
        hosts.push_str(&format!("{a}\t{HOST_LOOPBACK_NAME}\n"));
    }
    replace_file(&etc.join("hosts"), &hosts)?;
    if plan.dns {
        replace_file(
            &etc.join("resolv.conf"),
            &format!(
                "# written by sandbox --dns: pasta's DNS forwarder\nnameserver {DNS_FORWARDER}\n"
            ),
        )?;
    }
    Ok(())
}

fn replace_file(path: &Path, text: &str) -> Result<()> {
    let hint = |e: Error| {
        if e.raw_errno() == Some(libc::EACCES) {
            e.with_hint("the rootfs's /etc belongs to a user outside the sandbox, so it cannot be written even in the throwaway layer; use a rootfs you own ('make rootfs' builds one)")
        } else {
            e
        }
    };
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).ctx("replace", path.display()).map_err(hint);
        }
        _ => {}
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .ctx("write", path.display())
        .map_err(hint)?;
    std::io::Write::write_all(&mut f, text.as_bytes()).ctx("write", path.display())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_specs() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!(
            (p.host_ip, p.host_port, p.port, p.proto),
            (IpAddr::V4(Ipv4Addr::LOCALHOST), 8080, 80, Proto::Tcp)
        );
        let p = parse_publish("0.0.0.0:53:5353/udp").unwrap();
        assert_eq!((p.host_port, p.port, p.proto), (53, 5353, Proto::Udp));
        assert_eq!(p.to_string(), "0.0.0.0:53:5353/udp");
        let p = parse_publish("[::1]:8443:443/tcp").unwrap();
        assert_eq!(p.host_ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(p.to_string(), "[::1]:8443:443/tcp");
        for bad in [
            "80",
            "0:80",
            "80:0",
            "x:80",
            "1.2.3:80:80",
            "80:80/sctp",
            "[::1:80:80",
            "a:b:c:d",
            "70000:80",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_specs_and_their_rules() {
        let r = parse_allow("192.0.2.0/24:443/tcp").unwrap();
        assert_eq!(r.to_string(), "192.0.2.0/24:443/tcp");
        assert_eq!(r.nft(), "ip daddr 192.0.2.0/24 tcp dport 443 accept");
        let r = parse_allow("192.0.2.7").unwrap();
        assert_eq!(r.to_string(), "192.0.2.7/32");
        assert_eq!(r.nft(), "ip daddr 192.0.2.7/32 accept");
        let r = parse_allow("[2001:db8::/32]:8000-8080").unwrap();
        assert_eq!(r.to_string(), "[2001:db8::/32]:8000-8080");
        assert_eq!(
            r.nft(),
            "ip6 daddr 2001:db8::/32 meta l4proto { tcp, udp } th dport 8000-8080 accept"
        );
        let r = parse_allow("2001:db8::1/udp").unwrap();
        assert_eq!(r.to_string(), "2001:db8::1/128/udp");
        assert_eq!(r.nft(), "ip6 daddr 2001:db8::1/128 meta l4proto udp accept");
        for good in ["10.0.0.0/8", "10.0.0.0/8:53/udp", "[::1]:1", "::/0"] {
            let r = parse_allow(good).unwrap();
            assert_eq!(parse_allow(&r.to_string()).unwrap(), r, "{good}");
        }
        for bad in [
            "",
            "x",
            "10.0.0.0/33",
            "10.0.0.1:0",
            "10.0.0.1:9-8",
            "[::1:80",
            "10.0.0.1:80/sctp",
            "2001:db8::1:80:80x",
        ] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn options_without_pasta_are_refused() {
        for a in [
            NetArgs {
                publish: vec![parse_publish("1:2").unwrap()],
                ..NetArgs::default()
            },
            NetArgs {
                host_loopback: true,
                mode: NetMode::Host,
                ..NetArgs::default()
            },
            NetArgs {
                dns: true,
                ..NetArgs::default()
            },
        ] {
            let e = PastaPlan::from_args(&a, true).unwrap_err();
            assert!(e.to_string().contains("needs --net pasta"), "{e}");
        }
        assert_eq!(
            PastaPlan::from_args(&NetArgs::default(), true).unwrap(),
            None
        );
    }
}
