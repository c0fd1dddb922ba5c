//! `--allow-host`: network egress by host name, through a proxy the
//! launcher serves from the host side.
//!
//! The sandbox gets a network namespace with only `lo` (as `--net none`).
//! The child stage, inside it and before the command exists, makes two
//! listening sockets on its 127.0.0.1 (`listen_and_send`): an HTTP proxy
//! (CONNECT, and plain-HTTP forwarding of absolute-URI requests) on
//! `HTTP_PORT` and a SOCKS5 proxy on `SOCKS_PORT`, and sends them up the
//! proxy socket (channel.rs `PROXY_FD`) as it sends the pty's master. The
//! launcher serves them (`Proxy`) from its own network namespace: nothing
//! of ours runs inside to be killed or tampered with, and a program that
//! ignores the proxy has no route anywhere. The listening sockets belong
//! to the sandbox's namespace, which goes when the sandbox has ended and
//! the launcher has closed them (or died).
//!
//! The decision (`Policy::decide`): a host name is allowed when an
//! `--allow-host` pattern matches it and its port; it is then resolved on
//! the host, and every address it resolves to must be public (`classify`)
//! and not one of the host's own, unless an `--allow-net` CIDR covers it.
//! The proxy connects only to the addresses it checked, so a name that
//! resolves to the metadata address or a private one is refused however
//! often its answer changes (DNS rebinding). A raw IP address (CONNECT
//! 203.0.113.5:443, SOCKS5 with an address) is allowed only when an
//! `--allow-net` CIDR covers it. docs/SECURITY.md says what this does and
//! does not stop.
//!
//! Bounded: at most `MAX_CONNECTIONS` at once (more are closed at once),
//! the handshake within `HANDSHAKE_TIMEOUT` and `MAX_HEADER` bytes, a
//! connection idle for `IDLE_TIMEOUT` is closed, and the per-host tables
//! hold at most `MAX_ENTRIES` rows (the rest are counted together). Each
//! connection is served by a thread of its own; a hostile client can slow
//! down only its own connections. The launcher's other work is not
//! threaded (docs/ARCHITECTURE.md): the guard and the clone child are
//! forked before the proxy starts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::confine::net::{AllowRule, Proto};
use crate::error::{Context, Result};
use crate::sys;

/// The HTTP proxy's port on the sandbox's 127.0.0.1.
pub const HTTP_PORT: u16 = 3128;
/// The SOCKS5 proxy's port on the sandbox's 127.0.0.1.
pub const SOCKS_PORT: u16 = 1080;
/// Connections served at once; more are closed as they come.
pub const MAX_CONNECTIONS: usize = 128;
/// The request line and headers (HTTP) or the greeting and request
/// (SOCKS5) must arrive within this time.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to one address may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no byte either way for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest HTTP request head (request line and headers) read.
pub const MAX_HEADER: usize = 16 << 10;
/// Rows of the allowed and denied tables; further hosts are counted
/// together under `(other)`.
pub const MAX_ENTRIES: usize = 256;
/// Each direction's copy buffer.
const BUF: usize = 256 << 10;

/// `--allow-host PATTERN[:PORT]`: a host name, or `*.NAME` for every
/// name below NAME (not NAME itself); without a port, 80 and 443.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    /// Lower case, without a trailing dot; `*.` kept for a wildcard.
    pub pattern: String,
    pub port: Option<u16>,
}

impl std::fmt::Display for HostRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.pattern)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// Whether `name` (lower case) is a host name: labels of letters, digits,
/// `-` and `_`, 1 to 63 bytes each, 253 at most in all.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// A name as compared: lower case, without a trailing dot.
fn canonical(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// `PATTERN[:PORT]`.
pub fn parse_host(s: &str) -> std::result::Result<HostRule, String> {
    let bad =
        |why: String| format!("--allow-host {s:?}: {why}; expected NAME[:PORT] or *.NAME[:PORT]");
    let (name, port) = match s.rsplit_once(':') {
        Some((n, p)) => match p.parse::<u16>() {
            Ok(p) if p > 0 => (n, Some(p)),
            _ => return Err(bad(format!("{p:?} is not a port (1-65535)"))),
        },
        None => (s, None),
    };
    let name = canonical(name);
    if name.parse::<IpAddr>().is_ok()
        || name
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok()
    {
        return Err(bad("an IP address is not a host name".into())
            + "; allow addresses with --allow-net CIDR");
    }
    let rest = name.strip_prefix("*.").unwrap_or(&name);
    if !valid_name(rest) {
        return Err(bad(format!("{name:?} is not a host name")));
    }
    Ok(HostRule {
        pattern: name,
        port,
    })
}

impl HostRule {
    /// Whether `host` (canonical) at `port` is allowed by this rule.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let port_ok = match self.port {
            Some(p) => p == port,
            None => port == 80 || port == 443,
        };
        let name_ok = match self.pattern.strip_prefix("*.") {
            Some(base) => host
                .strip_suffix(base)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            None => host == self.pattern,
        };
        port_ok && name_ok
    }
}

/// What kind of address an IP is, for the proxy's "public only" rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Anything not below; the documentation ranges (192.0.2.0/24,
    /// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count as public:
    /// nothing on the internet answers there, and nothing of the host's
    /// is there unless it is configured so (then it is the host's own).
    Public,
    Loopback,
    /// 169.254.0.0/16 (the cloud metadata address among them), fe80::/10.
    LinkLocal,
    /// 10/8, 172.16/12, 192.168/16, fec0::/10.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    Cgnat,
    Multicast,
    /// fc00::/7, unique local.
    Ula,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 240/4, the broadcast address, 192.0.0.0/24, 198.18.0.0/15.
    Reserved,
}

impl Class {
    /// The reason a refusal names.
    pub fn name(self) -> &'static str {
        match self {
            Class::Public => "public",
            Class::Loopback => "loopback address",
            Class::LinkLocal => "link-local address",
            Class::Private => "private address",
            Class::Cgnat => "shared (CGNAT) address",
            Class::Multicast => "multicast address",
            Class::Ula => "unique-local address",
            Class::Unspecified => "unspecified address",
            Class::Reserved => "reserved address",
        }
    }
}

fn classify_v4(a: Ipv4Addr) -> Class {
    let [o0, o1, o2, _] = a.octets();
    match (o0, o1, o2) {
        (0, _, _) => Class::Unspecified,
        (127, _, _) => Class::Loopback,
        (169, 254, _) => Class::LinkLocal,
        (10, _, _) | (192, 168, _) => Class::Private,
        (172, b, _) if (16..32).contains(&b) => Class::Private,
        (100, b, _) if (64..128).contains(&b) => Class::Cgnat,
        (224..=239, _, _) => Class::Multicast,
        (240..=255, _, _) => Class::Reserved,
        (192, 0, 0) => Class::Reserved,
        (198, 18 | 19, _) => Class::Reserved,
        _ => Class::Public,
    }
}

/// The class of an address; an IPv4 address inside IPv6 (mapped,
/// compatible, or NAT64's 64:ff9b::/96) is classed as that IPv4 address,
/// since that is where a connection to it goes.
pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => {
            let s = a.segments();
            let embedded =
                Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            if a.is_unspecified() {
                Class::Unspecified
            } else if a.is_loopback() {
                Class::Loopback
            } else if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
                // ::ffff:a.b.c.d and the deprecated ::a.b.c.d.
                classify_v4(embedded)
            } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                classify_v4(embedded)
            } else if s[0] & 0xffc0 == 0xfe80 {
                Class::LinkLocal
            } else if s[0] & 0xffc0 == 0xfec0 {
                Class::Private
            } else if s[0] & 0xfe00 == 0xfc00 {
                Class::Ula
            } else if s[0] & 0xff00 == 0xff00 {
                Class::Multicast
            } else {
                Class::Public
            }
        }
    }
}

/// Whether an `--allow-net` rule lets a TCP connection to `ip`:`port`
/// through.
fn covers(r: &AllowRule, ip: IpAddr, port: u16) -> bool {
    let in_net = match (r.addr, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - r.prefix as u32).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - r.prefix as u32).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    };
    in_net && r.proto != Some(Proto::Udp) && r.ports.is_none_or(|(a, b)| (a..=b).contains(&port))
}

/// What the sandbox's HTTP and SOCKS5 proxies are, for the child stage:
/// the ports it listens on, and the environment that names them. (The
/// rules are the launcher's alone: `Policy`, in `Supervision`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyPlan {
    pub http_port: u16,
    pub socks_port: u16,
}

impl Default for ProxyPlan {
    fn default() -> Self {
        ProxyPlan {
            http_port: HTTP_PORT,
            socks_port: SOCKS_PORT,
        }
    }
}

impl ProxyPlan {
    /// The only TCP ports the command needs to connect to (on 127.0.0.1):
    /// what a Landlock ABI 4 network rule should allow.
    pub fn proxy_ports(&self) -> [u16; 2] {
        [self.http_port, self.socks_port]
    }

    /// The variables that point common tools at the proxies; `--setenv`
    /// wins over them.
    pub fn environment(&self) -> Vec<(String, String)> {
        let http = format!("http://127.0.0.1:{}", self.http_port);
        let socks = format!("socks5h://127.0.0.1:{}", self.socks_port);
        let no_proxy = "localhost,127.0.0.1,::1".to_string();
        let mut env = Vec::new();
        for (k, v) in [
            ("HTTP_PROXY", &http),
            ("HTTPS_PROXY", &http),
            ("ALL_PROXY", &socks),
            ("NO_PROXY", &no_proxy),
        ] {
            env.push((k.to_string(), v.clone()));
            env.push((k.to_ascii_lowercase(), v.clone()));
        }
        for (k, v) in [
            ("npm_config_proxy", &http),
            ("npm_config_https_proxy", &http),
            ("PIP_PROXY", &http),
            ("GIT_CONFIG_COUNT", &"1".to_string()),
            ("GIT_CONFIG_KEY_0", &"http.proxy".to_string()),
            ("GIT_CONFIG_VALUE_0", &http),
        ] {
            env.push((k.to_string(), v.clone()));
        }
        env
    }
}

/// The child stage, in the sandbox's network namespace with `lo` up:
/// listen on the proxy ports and send both sockets up `sock` (HTTP
/// first), then close our copies.
pub fn listen_and_send(p: &ProxyPlan, sock: OwnedFd) -> Result<()> {
    for port in [p.http_port, p.socks_port] {
        let at = format!("127.0.0.1:{port}");
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).ctx("listen for the proxy", &at)?;
        sys::send_fd(sock.as_fd(), l.as_fd()).ctx("send the proxy socket to the launcher", &at)?;
    }
    Ok(())
}

/// `--allow-host`'s rules, for the launcher.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub hosts: Vec<HostRule>,
    /// `--allow-net`: addresses allowed although not public, and the only
    /// raw addresses allowed.
    pub cidrs: Vec<AllowRule>,
    /// `-v`: each refusal, once per host and reason, as a notice.
    pub verbose: bool,
}

/// Where a client asked to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Name(String, u16),
    Addr(IpAddr, u16),
}

impl Target {
    /// A host as a client wrote it (`example.com`, `203.0.113.5`,
    /// `[2001:db8::1]`), with its port.
    fn from_host(host: &str, port: u16) -> Target {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Target::Addr(ip, port),
            Err(_) => Target::Name(canonical(host), port),
        }
    }

    fn host(&self) -> String {
        match self {
            Target::Name(n, _) => n.clone(),
            Target::Addr(a, _) => a.to_string(),
        }
    }

    fn port(&self) -> u16 {
        match self {
            Target::Name(_, p) | Target::Addr(_, p) => *p,
        }
    }
}

impl Policy {
    /// Where to connect for `t`, every address checked; or why not.
    /// `resolve` and `own` (the host's addresses) are passed in for the
    /// tests.
    pub fn decide(
        &self,
        t: &Target,
        resolve: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>>,
        own: &[IpAddr],
    ) -> std::result::Result<Vec<SocketAddr>, String> {
        let allowed_ip = |ip: IpAddr, port: u16| self.cidrs.iter().any(|r| covers(r, ip, port));
        match t {
            Target::Addr(ip, port) => {
                if allowed_ip(*ip, *port) {
                    Ok(vec![SocketAddr::new(*ip, *port)])
                } else {
                    Err("an address not allowed by --allow-net".into())
                }
            }
            Target::Name(name, port) => {
                if !valid_name(name) {
                    return Err("not a host name".into());
                }
                if !self.hosts.iter().any(|h| h.matches(name, *port)) {
                    return Err("not allowed by --allow-host".into());
                }
                let addrs = match resolve(name, *port) {
                    Ok(a) if !a.is_empty() => a,
                    _ => return Err("does not resolve".into()),
                };
                for a in &addrs {
                    let ip = a.ip();
                    if allowed_ip(ip, *port) {
                        continue;
                    }
                    let class = classify(ip);
                    if class != Class::Public {
                        return Err(format!("resolves to a {} ({ip})", class.name()));
                    }
                    if own.contains(&ip) {
                        return Err(format!("resolves to an address of the host's ({ip})"));
                    }
                }
                Ok(addrs)
            }
        }
    }
}

/// One host's use of the proxy, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostUse {
    pub host: String,
    pub port: u16,
    pub connections: u64,
    /// From the sandbox to the host.
    pub bytes_sent: u64,
    /// From the host to the sandbox.
    pub bytes_received: u64,
}

/// One kind of refusal: a host, a port, a reason, how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub host: String,
    pub port: u16,
    pub reason: String,
    pub count: u64,
}

/// What the proxy did, for the status JSON's `net`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetReport {
    pub allowed: Vec<HostUse>,
    pub denied: Vec<Denial>,
}

#[derive(Default)]
struct Stats {
    allowed: BTreeMap<(String, u16), HostUse>,
    denied: BTreeMap<(String, u16, String), u64>,
    /// (host, reason) already said (-v).
    said: BTreeSet<(String, String)>,
    notices: Vec<String>,
}

const OTHER: &str = "(other)";

impl Stats {
    fn deny(&mut self, host: &str, port: u16, reason: &str, verbose: bool) -> bool {
        let full = self.denied.len() >= MAX_ENTRIES;
        let key = (host.to_string(), port, reason.to_string());
        let key = if full && !self.denied.contains_key(&key) {
            (OTHER.to_string(), 0, "(other)".to_string())
        } else {
            key
        };
        *self.denied.entry(key).or_insert(0) += 1;
        if verbose
            && self.said.len() < MAX_ENTRIES
            && self.said.insert((host.to_string(), reason.to_string()))
        {
            self.notices
                .push(format!("proxy: refused {host}:{port}: {reason}"));
            return true;
        }
        false
    }

    fn used(&mut self, host: &str, port: u16, sent: u64, received: u64, new: bool) {
        let key = (host.to_string(), port);
        let key = if self.allowed.len() >= MAX_ENTRIES && !self.allowed.contains_key(&key) {
            (OTHER.to_string(), 0)
        } else {
            key
        };
        let e = self.allowed.entry(key.clone()).or_insert_with(|| HostUse {
            host: key.0,
            port: key.1,
            ..HostUse::default()
        });
        e.connections += new as u64;
        e.bytes_sent += sent;
        e.bytes_received += received;
    }
}

struct Shared {
    policy: Policy,
    stats: Mutex<Stats>,
    active: AtomicUsize,
    /// Readable (EOF) once `Proxy::stop` closed the write end: every
    /// thread polls it.
    stop: OwnedFd,
    /// A byte per new notice, for the launcher's poll loop.
    notify: OwnedFd,
}

impl Shared {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deny(&self, host: &str, port: u16, reason: &str) {
        if self.stats().deny(host, port, reason, self.policy.verbose) {
            let _ = sys::write_all(self.notify.as_raw_fd(), b"n");
        }
    }
}

/// The launcher's proxy: a thread that receives the two listening sockets
/// and accepts on them, and a thread per connection.
pub struct Proxy {
    shared: Arc<Shared>,
    stop_write: Option<OwnedFd>,
    notify_read: OwnedFd,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Start serving what the child stage sends up `sock`.
    pub fn start(sock: OwnedFd, policy: Policy) -> Result<Proxy> {
        let (stop_read, stop_write) = sys::pipe_high().ctx_step("create the proxy's stop pipe")?;
        let (notify_read, notify) = sys::pipe_high().ctx_step("create the proxy's notice pipe")?;
        for fd in [&notify_read, &notify] {
            sys::set_nonblocking(fd.as_fd(), true).ctx_step("create the proxy's notice pipe")?;
        }
        let shared = Arc::new(Shared {
            policy,
            stats: Mutex::new(Stats::default()),
            active: AtomicUsize::new(0),
            stop: stop_read,
            notify,
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("proxy".into())
            .stack_size(128 << 10)
            .spawn(move || accept_loop(sock, s))
            .ctx_step("start the proxy thread")?;
        Ok(Proxy {
            shared,
            stop_write: Some(stop_write),
            notify_read,
            accept: Some(accept),
        })
    }

    /// Readable when there are notices to take.
    pub fn notify_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.notify_read.as_fd()
    }

    /// The notices since the last call.
    pub fn take_notices(&self) -> Vec<String> {
        let mut b = [0u8; 64];
        while matches!(sys::read_some(self.notify_read.as_fd(), &mut b), Ok(n) if n > 0) {}
        std::mem::take(&mut self.shared.stats().notices)
    }

    /// Stop accepting and close the listening sockets; every connection
    /// ends soon after. Returns what the proxy did.
    pub fn stop(&mut self) -> NetReport {
        drop(self.stop_write.take());
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let st = self.shared.stats();
        NetReport {
            allowed: st.allowed.values().cloned().collect(),
            denied: st
                .denied
                .iter()
                .map(|((host, port, reason), count)| Denial {
                    host: host.clone(),
                    port: *port,
                    reason: reason.clone(),
                    count: *count,
                })
                .collect(),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Http,
    Socks,
}

fn accept_loop(sock: OwnedFd, shared: Arc<Shared>) {
    // The two listeners, HTTP first; EOF first: the stage failed.
    let mut listeners = Vec::new();
    while listeners.len() < 2 {
        let Ok(rev) = sys::poll(
            &[
                (sock.as_fd(), libc::POLLIN),
                (shared.stop.as_fd(), libc::POLLIN),
            ],
            -1,
        ) else {
            return;
        };
        if rev[1] != 0 {
            return;
        }
        if rev[0] == 0 {
            continue;
        }
        match sys::recv_fd(sock.as_fd()) {
            Ok(Some(fd)) => listeners.push(TcpListener::from(fd)),
            _ => return,
        }
    }
    drop(sock);
    for l in &listeners {
        if l.set_nonblocking(true).is_err() {
            return;
        }
    }
    loop {
        let Ok(rev) = sys::poll(
            &[
                (listeners[0].as_fd(), libc::POLLIN),
                (listeners[1].as_fd(), libc::POLLIN),
                (shared.stop.as_fd(), libc::POLLIN),
            ],
            -1,
        ) else {
            return;
        };
        if rev[2] != 0 {
            return;
        }
        for (i, kind) in [(0, Kind::Http), (1, Kind::Socks)] {
            if rev[i] == 0 {
                continue;
            }
            let Ok((client, _)) = listeners[i].accept() else {
                continue;
            };
            if shared.active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                shared.active.fetch_sub(1, Ordering::AcqRel);
                shared.deny("-", 0, "too many connections at once");
                continue;
            }
            let s = shared.clone();
            let started = std::thread::Builder::new()
                .name("proxy-conn".into())
                .stack_size(256 << 10)
                .spawn(move || {
                    serve(kind, client, &s);
                    s.active.fetch_sub(1, Ordering::AcqRel);
                });
            if started.is_err() {
                shared.active.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

/// Read into `buf` from `c` until `done(buf)` says how much is the
/// handshake, within the deadline and `MAX_HEADER`.
fn read_until(
    c: &mut TcpStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
    done: impl Fn(&[u8]) -> Option<usize>,
) -> Option<usize> {
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(n) = done(buf) {
            return Some(n);
        }
        if buf.len() >= MAX_HEADER {
            return None;
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() || c.set_read_timeout(Some(left)).is_err() {
            return None;
        }
        let want = chunk.len().min(MAX_HEADER - buf.len());
        match c.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn header_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// `host:port` or `[v6]:port`, with `default` when no port is given.
fn split_authority(a: &str, default: Option<u16>) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = a.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (format!("[{h}]"), port)
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (a.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|&p| p > 0)?,
        None => default?,
    };
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some((host, port))
}

fn serve(kind: Kind, mut client: TcpStream, shared: &Shared) {
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    match kind {
        Kind::Http => serve_http(&mut client, shared, deadline),
        Kind::Socks => serve_socks(&mut client, shared, deadline),
    }
}

fn http_error(c: &mut TcpStream, status: &str, text: &str) {
    let body = format!("sandbox: {text}\n");
    let _ = c.set_write_timeout(Some(HANDSHAKE_TIMEOUT));
    let _ = c.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

fn serve_http(c: &mut TcpStream, shared: &Shared, deadline: Instant) {
    let mut buf = Vec::new();
    let Some(end) = read_until(c, &mut buf, deadline, header_end) else {
        return http_error(
            c,
            "400 Bad Request",
            "no complete request head within the limits",
        );
    };
    let Ok(head) = std::str::from_utf8(&buf[..end]) else {
        return http_error(c, "400 Bad Request", "the request head is not text");
    };
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return http_error(c, "400 Bad Request", "malformed request line");
    };
    let rest = buf[end..].to_vec();
    if method.eq_ignore_ascii_case("CONNECT") {
        let Some((host, port)) = split_authority(target, None) else {
            return http_error(c, "400 Bad Request", "CONNECT needs HOST:PORT");
        };
        let t = Target::from_host(&host, port);
        let Some(up) = open_http(c, &t, shared) else {
            return;
        };
        let _ = c.set_write_timeout(Some(HANDSHAKE_TIMEOUT));
        if c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        relay(c, up, &t, &rest, shared);
        return;
    }
    // Plain HTTP: an absolute URI, forwarded as one request on a
    // connection of its own (Connection: close).
    let Some(after) = target
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
    else {
        return http_error(
            c,
            "400 Bad Request",
            "a proxy request needs an absolute http:// URI (or CONNECT for https)",
        );
    };
    let (authority, path) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let Some((host, port)) = split_authority(authority, Some(80)) else {
        return http_error(c, "400 Bad Request", "bad host in the URI");
    };
    let mut req = format!("{method} {path} {version}\r\n");
    for l in lines.filter(|l| !l.is_empty()) {
        let name = l.split(':').next().unwrap_or_default().trim();
        if [
            "proxy-connection",
            "proxy-authorization",
            "connection",
            "keep-alive",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        req.push_str(l);
        req.push_str("\r\n");
    }
    req.push_str("Connection: close\r\n\r\n");
    let mut first = req.into_bytes();
    first.extend_from_slice(&rest);
    let t = Target::from_host(&host, port);
    let Some(up) = open_http(c, &t, shared) else {
        return;
    };
    relay(c, up, &t, &first, shared);
}

fn shown(t: &Target) -> String {
    match t {
        Target::Addr(IpAddr::V6(a), p) => format!("[{a}]:{p}"),
        t => format!("{}:{}", t.host(), t.port()),
    }
}

/// `open`, answering an HTTP client when it fails.
fn open_http(c: &mut TcpStream, t: &Target, shared: &Shared) -> Option<TcpStream> {
    match open(t, shared) {
        Ok(up) => Some(up),
        Err(Fail::Refused(why)) => {
            http_error(
                c,
                "403 Forbidden",
                &format!("--allow-host: {} refused: {why}", shown(t)),
            );
            None
        }
        Err(Fail::Failed(why)) => {
            http_error(c, "502 Bad Gateway", &format!("{}: {why}", shown(t)));
            None
        }
    }
}

enum Fail {
    /// The policy said no (reported).
    Refused(String),
    /// Allowed, but no address answered.
    Failed(String),
}

/// Decide, then connect to the checked addresses in turn.
fn open(t: &Target, shared: &Shared) -> std::result::Result<TcpStream, Fail> {
    let own = sys::local_addresses().unwrap_or_default();
    let resolve = |name: &str, port: u16| -> io::Result<Vec<SocketAddr>> {
        Ok((name, port).to_socket_addrs()?.collect())
    };
    let addrs = match shared.policy.decide(t, resolve, &own) {
        Ok(a) => a,
        Err(why) => {
            shared.deny(&t.host(), t.port(), &why);
            return Err(Fail::Refused(why));
        }
    };
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => {
                shared.stats().used(&t.host(), t.port(), 0, 0, true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    let why = last.map_or_else(|| "no address".to_string(), |e| format!("connect: {e}"));
    Err(Fail::Failed(why))
}

fn serve_socks(c: &mut TcpStream, shared: &Shared, deadline: Instant) {
    let mut buf = Vec::new();
    // Greeting: 5, N, N methods.
    let greeting = |b: &[u8]| match b {
        [5, n, ..] if b.len() >= 2 + *n as usize => Some(2 + *n as usize),
        [v, ..] if *v != 5 => Some(0),
        _ => None,
    };
    let Some(n) = read_until(c, &mut buf, deadline, greeting) else {
        return;
    };
    if n == 0 || !buf[2..n].contains(&0) {
        let _ = c.write_all(&[5, 0xff]);
        return;
    }
    if c.write_all(&[5, 0]).is_err() {
        return;
    }
    buf.drain(..n);
    // Request: 5, CMD, 0, ATYP, address, port.
    let request = |b: &[u8]| {
        let alen = match b.get(3)? {
            1 => 4,
            4 => 16,
            3 => 1 + *b.get(4)? as usize,
            _ => return Some(0),
        };
        (b.len() >= 4 + alen + 2).then_some(4 + alen + 2)
    };
    let reply = |c: &mut TcpStream, code: u8| {
        let _ = c.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
    };
    let Some(n) = read_until(c, &mut buf, deadline, request) else {
        return;
    };
    if n == 0 || buf[0] != 5 {
        return reply(c, 8);
    }
    if buf[1] != 1 {
        return reply(c, 7);
    }
    let port = u16::from_be_bytes([buf[n - 2], buf[n - 1]]);
    let t = match buf[3] {
        1 => Target::Addr(
            IpAddr::V4(Ipv4Addr::new(buf[4], buf[5], buf[6], buf[7])),
            port,
        ),
        4 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&buf[4..20]);
            Target::Addr(IpAddr::V6(Ipv6Addr::from(o)), port)
        }
        _ => match std::str::from_utf8(&buf[5..n - 2]) {
            Ok(name) => Target::from_host(name, port),
            Err(_) => return reply(c, 1),
        },
    };
    let rest = buf[n..].to_vec();
    let up = match open(&t, shared) {
        Ok(up) => up,
        Err(Fail::Refused(_)) => return reply(c, 2),
        Err(Fail::Failed(_)) => return reply(c, 5),
    };
    reply(c, 0);
    relay(c, up, &t, &rest, shared);
}

enum Moved {
    /// The end of the source's input.
    End,
    /// The destination is gone or stuck (idle), or the proxy stops.
    Broken,
    Bytes(usize),
}

/// One direction of a relay: through a pipe with splice(2), so the bytes
/// never pass through our memory; through a buffer when no pipe could be
/// made (out of descriptors).
enum Way {
    Splice(OwnedFd, OwnedFd),
    Copy(Vec<u8>),
}

impl Way {
    fn new() -> Way {
        match sys::pipe_high() {
            Ok((r, w)) => Way::Splice(r, w),
            Err(_) => Way::Copy(vec![0u8; BUF]),
        }
    }

    /// Move what `src` has to `dst`.
    fn move_once(&mut self, src: &mut TcpStream, dst: &mut TcpStream, shared: &Shared) -> Moved {
        match self {
            Way::Copy(buf) => match src.read(buf) {
                Ok(0) | Err(_) => Moved::End,
                Ok(n) if dst.write_all(&buf[..n]).is_err() => Moved::Broken,
                Ok(n) => Moved::Bytes(n),
            },
            Way::Splice(r, w) => {
                let n = match sys::splice(src.as_fd(), w.as_fd(), BUF) {
                    Ok(0) => return Moved::End,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Moved::Bytes(0),
                    Err(_) => return Moved::End,
                };
                let mut left = n;
                while left > 0 {
                    match sys::splice(r.as_fd(), dst.as_fd(), left) {
                        Ok(0) => return Moved::Broken,
                        Ok(m) => left -= m,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            let fds = [
                                (dst.as_fd(), libc::POLLOUT),
                                (shared.stop.as_fd(), libc::POLLIN),
                            ];
                            match sys::poll(&fds, IDLE_TIMEOUT.as_millis() as i32) {
                                Ok(rev) if rev[0] != 0 && rev[1] == 0 => {}
                                _ => return Moved::Broken,
                            }
                        }
                        Err(_) => return Moved::Broken,
                    }
                }
                Moved::Bytes(n)
            }
        }
    }
}

/// Copy both ways until both sides are done, one is idle too long, or the
/// proxy stops. `first`: what the client sent beyond its handshake.
fn relay(c: &mut TcpStream, mut up: TcpStream, t: &Target, first: &[u8], shared: &Shared) {
    let (mut sent, mut received) = (0u64, 0u64);
    let _ = c.set_read_timeout(None);
    let _ = c.set_write_timeout(Some(IDLE_TIMEOUT));
    let _ = up.set_write_timeout(Some(IDLE_TIMEOUT));
    let _ = c.set_nodelay(true);
    let _ = up.set_nodelay(true);
    if !first.is_empty() {
        if up.write_all(first).is_err() {
            return;
        }
        sent += first.len() as u64;
    }
    let mut ways = [Way::new(), Way::new()];
    let (mut c_open, mut up_open) = (true, true);
    let idle_ms = IDLE_TIMEOUT.as_millis() as i32;
    while c_open || up_open {
        let mut fds = vec![(shared.stop.as_fd(), libc::POLLIN)];
        if c_open {
            fds.push((c.as_fd(), libc::POLLIN));
        }
        if up_open {
            fds.push((up.as_fd(), libc::POLLIN));
        }
        let Ok(rev) = sys::poll(&fds, idle_ms) else {
            break;
        };
        if rev.iter().all(|&r| r == 0) {
            break; // idle
        }
        if rev[0] != 0 {
            break;
        }
        let mut i = 1;
        for from_client in [true, false] {
            let open = if from_client { c_open } else { up_open };
            if !open {
                continue;
            }
            let ready = rev[i] != 0;
            i += 1;
            if !ready {
                continue;
            }
            let (src, dst): (&mut TcpStream, &mut TcpStream) = if from_client {
                (&mut *c, &mut up)
            } else {
                (&mut up, &mut *c)
            };
            let way = if from_client {
                &mut ways[0]
            } else {
                &mut ways[1]
            };
            match way.move_once(src, dst, shared) {
                Moved::End => {
                    let _ = dst.shutdown(Shutdown::Write);
                    if from_client {
                        c_open = false;
                    } else {
                        up_open = false;
                    }
                }
                Moved::Broken => {
                    c_open = false;
                    up_open = false;
                    break;
                }
                Moved::Bytes(n) => {
                    if from_client {
                        sent += n as u64;
                    } else {
                        received += n as u64;
                    }
                }
            }
        }
    }
    shared
        .stats()
        .used(&t.host(), t.port(), sent, received, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> HostRule {
        parse_host(s).unwrap()
    }

    #[test]
    fn patterns_match_names_and_ports() {
        let r = rule("Example.COM.");
        assert_eq!(r.pattern, "example.com");
        assert!(r.matches("example.com", 443) && r.matches("example.com", 80));
        assert!(!r.matches("example.com", 8080));
        assert!(!r.matches("www.example.com", 443));
        assert!(!r.matches("badexample.com", 443));
        let w = rule("*.example.com");
        assert!(w.matches("www.example.com", 443) && w.matches("a.b.example.com", 80));
        // A wildcard is below the name, not the name, and not a suffix of
        // another name.
        assert!(!w.matches("example.com", 443));
        assert!(!w.matches("evilexample.com", 443));
        assert!(!w.matches(".example.com", 443));
        let p = rule("example.com:8443");
        assert!(p.matches("example.com", 8443) && !p.matches("example.com", 443));
        assert_eq!(p.to_string(), "example.com:8443");
        for bad in [
            "",
            "a..b",
            "exa mple.com",
            "example.com:0",
            "example.com:x",
            "203.0.113.5",
            "[2001:db8::1]",
            "*.",
            "*",
            "a.*.com",
            "x:99999",
        ] {
            assert!(parse_host(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn addresses_are_classified() {
        let c = |s: &str| classify(s.parse().unwrap());
        for (a, want) in [
            ("127.0.0.1", Class::Loopback),
            ("::1", Class::Loopback),
            ("169.254.169.254", Class::LinkLocal),
            ("fe80::1", Class::LinkLocal),
            ("10.1.2.3", Class::Private),
            ("172.16.0.1", Class::Private),
            ("172.31.255.255", Class::Private),
            ("192.168.1.1", Class::Private),
            ("100.64.0.1", Class::Cgnat),
            ("100.127.255.255", Class::Cgnat),
            ("224.0.0.1", Class::Multicast),
            ("ff02::1", Class::Multicast),
            ("fd00::1", Class::Ula),
            ("fc00::1", Class::Ula),
            ("0.0.0.0", Class::Unspecified),
            ("::", Class::Unspecified),
            ("255.255.255.255", Class::Reserved),
            ("198.18.0.1", Class::Reserved),
            // IPv4 in IPv6 goes where its IPv4 address goes.
            ("::ffff:169.254.169.254", Class::LinkLocal),
            ("::ffff:127.0.0.1", Class::Loopback),
            ("64:ff9b::10.0.0.1", Class::Private),
            // Controls: public neighbours of each range.
            ("172.15.255.255", Class::Public),
            ("172.32.0.0", Class::Public),
            ("100.63.255.255", Class::Public),
            ("100.128.0.0", Class::Public),
            ("169.253.0.1", Class::Public),
            ("8.8.8.8", Class::Public),
            ("198.51.100.7", Class::Public),
            ("203.0.113.7", Class::Public),
            ("2001:db8::1", Class::Public),
            ("2606:4700::1111", Class::Public),
            ("::ffff:8.8.8.8", Class::Public),
        ] {
            assert_eq!(c(a), want, "{a}");
        }
    }

    fn policy(hosts: &[&str], cidrs: &[&str]) -> Policy {
        Policy {
            hosts: hosts.iter().map(|h| rule(h)).collect(),
            cidrs: cidrs
                .iter()
                .map(|c| crate::confine::net::parse_allow(c).unwrap())
                .collect(),
            verbose: false,
        }
    }

    fn fake(ips: &'static [&'static str]) -> impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> {
        move |_, port| {
            Ok(ips
                .iter()
                .map(|i| SocketAddr::new(i.parse().unwrap(), port))
                .collect())
        }
    }

    #[test]
    fn decisions() {
        let p = policy(&["a.test", "*.w.test"], &[]);
        let name = |n: &str, port| Target::Name(n.into(), port);
        assert!(p
            .decide(&name("a.test", 443), fake(&["203.0.113.5"]), &[])
            .is_ok());
        assert!(p
            .decide(&name("x.w.test", 80), fake(&["203.0.113.5"]), &[])
            .is_ok());
        let err = |t: &Target, ips, own: &[IpAddr]| p.decide(t, fake(ips), own).unwrap_err();
        assert_eq!(
            err(&name("b.test", 443), &["203.0.113.5"], &[]),
            "not allowed by --allow-host"
        );
        assert_eq!(
            err(&name("a.test", 22), &["203.0.113.5"], &[]),
            "not allowed by --allow-host"
        );
        // One bad address among good ones refuses the name.
        assert!(err(
            &name("a.test", 443),
            &["203.0.113.5", "169.254.169.254"],
            &[]
        )
        .contains("link-local"));
        assert!(err(&name("a.test", 443), &["10.0.0.1"], &[]).contains("private"));
        assert!(err(
            &name("a.test", 443),
            &["203.0.113.5"],
            &["203.0.113.5".parse().unwrap()]
        )
        .contains("host's"));
        assert_eq!(err(&name("a.test", 443), &[], &[]), "does not resolve");
        // A raw address: only --allow-net lets it through, public or not.
        let addr = Target::Addr("203.0.113.5".parse().unwrap(), 443);
        assert!(err(&addr, &[], &[]).contains("--allow-net"));
        let q = policy(&["a.test"], &["10.0.0.0/8:443", "203.0.113.0/24"]);
        assert!(q.decide(&addr, fake(&[]), &[]).is_ok());
        assert!(q
            .decide(&name("a.test", 443), fake(&["10.0.0.1"]), &[])
            .is_ok());
        // The CIDR's port range holds.
        assert!(q
            .decide(&name("a.test", 80), fake(&["10.0.0.1"]), &[])
            .is_err());
        assert!(q
            .decide(
                &Target::Addr("10.0.0.1".parse().unwrap(), 80),
                fake(&[]),
                &[]
            )
            .is_err());
    }

    #[test]
    fn authorities_split() {
        assert_eq!(
            split_authority("a.test:443", None),
            Some(("a.test".into(), 443))
        );
        assert_eq!(
            split_authority("a.test", Some(80)),
            Some(("a.test".into(), 80))
        );
        assert_eq!(
            split_authority("[2001:db8::1]:8080", None),
            Some(("[2001:db8::1]".into(), 8080))
        );
        assert_eq!(split_authority("a.test", None), None);
        assert_eq!(split_authority("u@a.test:80", None), None);
        assert_eq!(split_authority("a.test:0", None), None);
        assert_eq!(
            Target::from_host("[2001:db8::1]", 80),
            Target::Addr("2001:db8::1".parse().unwrap(), 80)
        );
        assert_eq!(
            Target::from_host("A.Test.", 80),
            Target::Name("a.test".into(), 80)
        );
    }

    #[test]
    fn refusals_are_said_once_and_tables_are_bounded() {
        let mut s = Stats::default();
        assert!(s.deny("b.test", 443, "not allowed", true));
        assert!(!s.deny("b.test", 443, "not allowed", true));
        assert!(!s.deny("b.test", 80, "not allowed", true));
        assert_eq!(
            s.denied.get(&("b.test".into(), 443, "not allowed".into())),
            Some(&2)
        );
        for i in 0..2 * MAX_ENTRIES {
            s.deny(&format!("h{i}"), 1, "r", true);
            s.used(&format!("h{i}"), 1, 1, 1, true);
        }
        assert!(s.denied.len() <= MAX_ENTRIES + 1 && s.allowed.len() <= MAX_ENTRIES + 1);
        assert!(s.notices.len() <= MAX_ENTRIES);
    }
}
