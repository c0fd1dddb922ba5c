//! `--allow-host`: egress by host name through the launcher's proxy. Each
//! refusal with its control, inside a network this file builds.
//!
//! The network rule: nothing here leaves the machine. The harness is an
//! "outer" set of namespaces (network and mount; and a user namespace
//! when the suite is not root, so `make test` as an ordinary user runs
//! it too), held by a shell, where the launchers run with a resolv.conf
//! of the harness's bound over /etc/resolv.conf. The outer network has a
//! veth pair to a second namespace, the servers', which holds a small DNS
//! server and HTTP servers (this test binary, `harness_servers_answer` in
//! the servers' role) on "public-looking" documentation addresses
//! (198.51.100.0/24, which the proxy counts as public), a private one
//! (10.0.5.5) and the metadata address (169.254.169.254). The outer's own
//! address 203.0.113.77 is the "host's own". A veth and not the outer's
//! own addresses: the proxy refuses the launcher's own addresses.
//!
//! Names (the DNS server's whole zone): a.test, b.test, x.wild.test,
//! private.test, meta.test, own.test. Each HTTP server answers
//! `hello ADDR:PORT path=PATH` (ADDR the address it was reached at), and
//! 64 MiB at /big.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

const PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
const BIG: usize = 64 << 20;

/// The DNS zone.
fn records(name: &str) -> Option<Vec<[u8; 4]>> {
    Some(match name {
        "a.test" => vec![[198, 51, 100, 10]],
        "b.test" => vec![[198, 51, 100, 11]],
        "x.wild.test" => vec![[198, 51, 100, 12]],
        "private.test" => vec![[10, 0, 5, 5]],
        "meta.test" => vec![[169, 254, 169, 254]],
        "own.test" => vec![[203, 0, 113, 77]],
        _ => return None,
    })
}

/// The answer to one DNS query: A records from the zone, an empty answer
/// for other types of a known name (musl asks AAAA too and waits for it),
/// NXDOMAIN for an unknown name; None for what is not a query.
fn dns_answer(q: &[u8]) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let l = *q.get(i)? as usize;
        i += 1;
        if l == 0 {
            break;
        }
        if l > 63 || labels.len() > 20 {
            return None;
        }
        labels.push(
            std::str::from_utf8(q.get(i..i + l)?)
                .ok()?
                .to_ascii_lowercase(),
        );
        i += l;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let end = i + 4;
    let mut r = q.get(..end)?.to_vec();
    let found = records(&labels.join("."));
    r[2] = 0x84 | (q[2] & 0x01);
    r[3] = if found.is_some() { 0x80 } else { 0x83 };
    let answers = match (&found, qtype) {
        (Some(ips), 1) => ips.clone(),
        _ => Vec::new(),
    };
    r[4..12].copy_from_slice(&[0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
    for ip in answers {
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4]);
        r.extend_from_slice(&ip);
    }
    Some(r)
}

/// A DNS query for `name`, type `qtype`.
fn dns_query(name: &str, qtype: u16) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, (qtype >> 8) as u8, qtype as u8, 0, 1]);
    q
}

fn http_conn(mut c: TcpStream) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut b = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
        match c.read(&mut b) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&b[..n]),
        }
    }
    let line = text(&head).lines().next().unwrap_or_default().to_string();
    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
    if path == "/big" {
        let _ = c.write_all(format!("HTTP/1.0 200 OK\r\nContent-Length: {BIG}\r\n\r\n").as_bytes());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..BIG / chunk.len() {
            if c.write_all(&chunk).is_err() {
                return;
            }
        }
        return;
    }
    let local = c.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let body = format!("hello {local} path={path}\n");
    let _ = c.write_all(
        format!(
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

/// The servers' role: DNS on 0.0.0.0:53, HTTP on 80, 443 and 8080, in
/// the servers' namespace; "ready" to $EGRESS_READY; gone with the shell
/// that started it.
fn serve_forever() -> ! {
    let udp = UdpSocket::bind("0.0.0.0:53").expect("bind the DNS server");
    std::thread::spawn(move || {
        let mut b = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut b) {
            if let Some(r) = dns_answer(&b[..n]) {
                let _ = udp.send_to(&r, from);
            }
        }
    });
    for port in [80u16, 443, 8080] {
        let l = TcpListener::bind(("0.0.0.0", port)).expect("bind an HTTP server");
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                std::thread::spawn(move || http_conn(c));
            }
        });
    }
    let ready = std::env::var("EGRESS_READY").expect("EGRESS_READY");
    std::fs::write(ready, "ready\n").expect("say ready");
    let parent = std::os::unix::process::parent_id();
    while std::os::unix::process::parent_id() == parent {
        std::thread::sleep(Duration::from_millis(500));
    }
    std::process::exit(0)
}

/// In the servers' role, serve (never returns). Otherwise, the test of
/// the harness's own DNS responder, which the others rely on.
fn harness_servers_answer() {
    if std::env::var_os("EGRESS_ROLE").is_some() {
        serve_forever();
    }
    let a = dns_answer(&dns_query("A.test", 1)).unwrap();
    assert_eq!(&a[6..8], &[0, 1]);
    assert_eq!(&a[a.len() - 4..], &[198, 51, 100, 10]);
    assert_eq!(a[3] & 0x0f, 0);
    let aaaa = dns_answer(&dns_query("a.test", 28)).unwrap();
    assert_eq!((&aaaa[6..8], aaaa[3] & 0x0f), (&[0u8, 0][..], 0));
    let none = dns_answer(&dns_query("nope.test", 1)).unwrap();
    assert_eq!((&none[6..8], none[3] & 0x0f), (&[0u8, 0][..], 3));
    assert!(dns_answer(&a).is_none(), "an answer is not a query");
}

struct Harness {
    holder: Child,
    rootless: bool,
}

fn have(tool: &str) -> bool {
    PATH.split(':')
        .any(|d| std::path::Path::new(d).join(tool).exists())
}

impl Harness {
    fn build() -> Result<Harness, (&'static str, String)> {
        for (tool, pkg) in [
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
            ("ip", "iproute2"),
        ] {
            if !have(tool) {
                return Err((
                    "egress",
                    format!("{tool} is not installed (apt install {pkg})"),
                ));
            }
        }
        let st = stage();
        let rootless = st.drop_to.is_none();
        let dir = st.dir.join("egress");
        let _ = std::fs::create_dir(&dir);
        let script = format!(
            "set -e
            ip link set lo up
            fifo={d}/ready; rm -f $fifo; mkfifo $fifo
            EGRESS_ROLE=servers EGRESS_READY=$fifo unshare --net -- {bin} --exact harness_servers_answer >/dev/null 2>&1 &
            spid=$!
            read line < $fifo
            [ \"$line\" = ready ]
            ip link add eg0 type veth peer name eg1
            ip link set eg1 netns $spid
            ip addr add 192.0.2.1/24 dev eg0
            ip addr add 203.0.113.77/32 dev eg0
            ip link set eg0 up
            nsenter -t $spid -n sh -c '
                set -e
                ip link set lo up
                ip link set eg1 up
                ip addr add 192.0.2.2/24 dev eg1
                for a in 198.51.100.10 198.51.100.11 198.51.100.12 10.0.5.5 169.254.169.254; do
                    ip addr add $a/32 dev lo
                done
                ip route add default via 192.0.2.1'
            ip route add default via 192.0.2.2
            echo 'nameserver 192.0.2.2' > {d}/resolv.conf
            mount --bind {d}/resolv.conf /etc/resolv.conf
            echo ready
            exec tail --pid={me} -f /dev/null >/dev/null 2>&1",
            d = dir.display(),
            bin = std::env::current_exe().unwrap().display(),
            me = std::process::id(),
        );
        let mut c = Command::new("unshare");
        if rootless {
            c.args(["--user", "--map-root-user"]);
        }
        let mut holder = c
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
            ])
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ("egress", format!("unshare: {e}")))?;
        let mut line = String::new();
        let _ = BufReader::new(holder.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = holder.kill();
            let mut err = String::new();
            let _ = holder.stderr.take().unwrap().read_to_string(&mut err);
            let _ = holder.wait();
            if rootless && err.contains("unshare failed") {
                return Err((
                    "userns",
                    format!("no user namespace for the harness: {err}"),
                ));
            }
            // A kernel without veth (the test VM's, whose initramfs has no
            // modules): a feature this machine lacks, not a failure.
            if err.contains("RTNETLINK answers: Operation not supported") {
                return Err((
                    "veth",
                    format!("the kernel cannot make a veth pair here: {}", err.trim()),
                ));
            }
            panic!("building the egress harness failed: {err}");
        }
        Ok(Harness { holder, rootless })
    }

    /// `prog` in the outer namespaces, as the launcher's uid.
    fn outer(&self, prog: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t").arg(self.holder.id().to_string());
        if self.rootless {
            // Already uid 0 there (the map is ours); setgroups is denied.
            c.args(["-U", "--preserve-credentials"]);
        }
        c.args(["-n", "-m", "--"]);
        if let Some((u, g)) = stage().drop_to {
            c.arg("setpriv")
                .arg(format!("--reuid={u}"))
                .arg(format!("--regid={g}"))
                .args(["--clear-groups", "--"]);
        }
        c.arg(prog)
            .env_clear()
            .env("PATH", PATH)
            .current_dir(&stage().dir)
            .stdin(Stdio::null());
        c
    }

    /// `prog` in the outer namespaces as their root (the probes that
    /// enter a sandbox's network namespace).
    fn outer_root(&self, prog: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t").arg(self.holder.id().to_string());
        if self.rootless {
            // Already uid 0 there (the map is ours); setgroups is denied.
            c.args(["-U", "--preserve-credentials"]);
        }
        c.args(["-n", "-m", "--", prog])
            .env_clear()
            .env("PATH", PATH);
        c
    }

    /// `sandbox run OPTS ROOTFS COMMAND…` in the outer namespaces.
    fn run(&self, opts: &[&str], command: &[&str]) -> Output {
        let root = rootfs_arg();
        self.outer(&stage().bin.display().to_string())
            .arg("run")
            .args(opts)
            .arg(&root)
            .args(command)
            .output()
            .expect("run sandbox in the egress harness")
    }

    /// `sh -c SCRIPT` in a sandbox with `opts`.
    fn sh(&self, opts: &[&str], script: &str) -> Output {
        self.run(opts, &["/bin/sh", "-c", script])
    }
}

fn harness(test: &str) -> Option<&'static Harness> {
    static H: OnceLock<Result<Harness, (&'static str, String)>> = OnceLock::new();
    match H.get_or_init(Harness::build) {
        Ok(h) => Some(h),
        Err((feature, why)) => {
            skip(test, feature, why);
            None
        }
    }
}

fn out(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// The status JSON of a run: its path, for `--status-file`.
fn status_path(name: &str) -> PathBuf {
    let p = stage().dir.join(format!("egress-{name}.json"));
    let _ = std::fs::remove_file(&p);
    p
}

/// `wget` through the proxy (busybox wget reads http_proxy).
fn wget(url: &str) -> String {
    format!("wget -q -O- {url}")
}

const CONNECT_A: &str = "printf 'CONNECT a.test:443 HTTP/1.1\\r\\nHost: a.test:443\\r\\n\\r\\nGET /c HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 3128";

fn an_allowed_name_is_reached_through_connect_plain_http_and_socks5() {
    let Some(h) = harness("an_allowed_name_is_reached_through_connect_plain_http_and_socks5")
    else {
        return;
    };
    // SOCKS5: no authentication, CONNECT a.test:80 by name (ATYP 3), then
    // a request through the tunnel, all in one write.
    let socks = "printf '\\005\\001\\000\\005\\001\\000\\003\\006a.test\\000\\120GET /s HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 1080";
    let script = format!("{CONNECT_A}; echo; {}; {socks}", wget("http://a.test/p"));
    let o = h.sh(&["--allow-host", "a.test"], &script);
    let s = text(&o.stdout);
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        s.contains("HTTP/1.1 200 Connection established"),
        "{}",
        out(&o)
    );
    assert!(
        s.contains("hello 198.51.100.10:443 path=/c"),
        "CONNECT: {}",
        out(&o)
    );
    // Plain HTTP: the absolute URI reached the server as a path.
    assert!(
        s.contains("hello 198.51.100.10:80 path=/p"),
        "plain HTTP: {}",
        out(&o)
    );
    assert!(
        s.contains("hello 198.51.100.10:80 path=/s"),
        "SOCKS5: {}",
        out(&o)
    );
}

fn a_name_not_allowed_is_refused() {
    let Some(h) = harness("a_name_not_allowed_is_refused") else {
        return;
    };
    let connect_b = CONNECT_A.replace("a.test", "b.test");
    let socks_b = "printf '\\005\\001\\000\\005\\001\\000\\003\\006b.test\\000\\120' | nc 127.0.0.1 1080 | od -An -tx1";
    let script = format!(
        "{}; echo wget=$?; {connect_b}; echo; {socks_b}",
        wget("http://b.test/")
    );
    let o = h.sh(&["--allow-host", "a.test"], &script);
    let s = text(&o.stdout);
    assert!(s.contains("wget=1") && !s.contains("hello"), "{}", out(&o));
    assert!(
        s.contains("403 Forbidden") && s.contains("not allowed by --allow-host"),
        "{}",
        out(&o)
    );
    // SOCKS5 reply 2: "connection not allowed by ruleset".
    assert!(s.contains("05 00 05 02"), "{}", out(&o));
    // Control: the same probes, with b.test allowed, reach its server.
    let o = h.sh(&["--allow-host", "b.test"], &script);
    let s = text(&o.stdout);
    assert!(s.contains("hello 198.51.100.11:80 path=/"), "{}", out(&o));
    assert!(s.contains("hello 198.51.100.11:443 path=/c"), "{}", out(&o));
    assert!(s.contains("05 00 05 00"), "{}", out(&o));
}

fn names_resolving_to_private_metadata_or_host_addresses_are_refused() {
    let Some(h) = harness("names_resolving_to_private_metadata_or_host_addresses_are_refused")
    else {
        return;
    };
    let script = format!(
        "{}; {}; {}",
        wget("http://private.test/"),
        wget("http://meta.test/latest/meta-data/"),
        wget("http://own.test/")
    );
    let opts = [
        "--allow-host",
        "private.test",
        "--allow-host",
        "meta.test",
        "--allow-host",
        "own.test",
    ];
    let st = status_path("private");
    let mut a = opts.to_vec();
    let st_s = st.display().to_string();
    a.extend(["--status-file", &st_s]);
    let o = h.sh(&a, &script);
    assert!(!text(&o.stdout).contains("hello"), "{}", out(&o));
    let json = std::fs::read_to_string(&st).unwrap();
    for want in [
        "{\"host\":\"private.test\",\"port\":80,\"reason\":\"resolves to a private address (10.0.5.5)\",\"count\":1}",
        "{\"host\":\"meta.test\",\"port\":80,\"reason\":\"resolves to a link-local address (169.254.169.254)\",\"count\":1}",
        "{\"host\":\"own.test\",\"port\":80,\"reason\":\"resolves to an address of the host's (203.0.113.77)\",\"count\":1}",
    ] {
        assert!(json.contains(want), "{want} not in {json}");
    }
    // Control: --allow-net lets those addresses through; the servers
    // answer there (own.test: nothing listens on the host's address, but
    // the proxy tried: 502, not 403).
    let mut a = opts.to_vec();
    a.extend([
        "--allow-net",
        "10.0.5.5/32",
        "--allow-net",
        "169.254.169.254/32:80",
        "--allow-net",
        "203.0.113.77/32",
    ]);
    let o = h.sh(&a, &script);
    let s = text(&o.stdout);
    assert!(s.contains("hello 10.0.5.5:80 path=/"), "{}", out(&o));
    assert!(
        s.contains("hello 169.254.169.254:80 path=/latest/meta-data/"),
        "{}",
        out(&o)
    );
    assert!(text(&o.stderr).contains("502 Bad Gateway"), "{}", out(&o));
}

fn a_program_ignoring_the_proxy_has_no_route() {
    let Some(h) = harness("a_program_ignoring_the_proxy_has_no_route") else {
        return;
    };
    let probe = "printf 'GET /raw HTTP/1.0\\r\\n\\r\\n' | nc 198.51.100.10 80; echo nc=$?";
    // Refused twice over: Landlock's TCP rule (ABI 4) allows connects to
    // the proxy's ports only, and below it there is no route.
    let o = h.sh(&["--allow-host", "a.test"], probe);
    assert!(!text(&o.stdout).contains("hello"), "{}", out(&o));
    let e = text(&o.stderr);
    assert!(
        e.contains("unreachable") || e.contains("Permission denied"),
        "{}",
        out(&o)
    );
    let o = h.sh(&["--allow-host", "a.test", "--landlock", "off"], probe);
    assert!(!text(&o.stdout).contains("hello"), "{}", out(&o));
    assert!(text(&o.stderr).contains("unreachable"), "{}", out(&o));
    // Raw IPs through the proxy: refused by CIDR (none given).
    let o = h.sh(
        &["--allow-host", "a.test"],
        &wget("http://198.51.100.10/ip"),
    );
    assert!(
        !o.status.success() && !text(&o.stdout).contains("hello"),
        "{}",
        out(&o)
    );
    // Control: the same probe from the host's network reaches the server;
    // and a raw IP inside an --allow-net CIDR goes through the proxy.
    let o = h.sh(&["--net", "host"], probe);
    assert!(
        text(&o.stdout).contains("hello 198.51.100.10:80 path=/raw"),
        "{}",
        out(&o)
    );
    let o = h.sh(
        &["--allow-host", "a.test", "--allow-net", "198.51.100.0/24"],
        &wget("http://198.51.100.10/ip"),
    );
    assert!(
        text(&o.stdout).contains("hello 198.51.100.10:80 path=/ip"),
        "{}",
        out(&o)
    );
}

fn wildcards_and_ports_match_as_documented() {
    let Some(h) = harness("wildcards_and_ports_match_as_documented") else {
        return;
    };
    let script = format!(
        "{}; echo; {}; echo wild=$?; {}; echo port80=$?",
        wget("http://x.wild.test/"),
        wget("http://wild.test/"),
        wget("http://a.test/")
    );
    let o = h.sh(
        &["--allow-host", "*.wild.test", "--allow-host", "a.test:8080"],
        &script,
    );
    let s = text(&o.stdout);
    assert!(s.contains("hello 198.51.100.12:80"), "{}", out(&o));
    assert!(
        s.contains("wild=1") && s.contains("port80=1"),
        "{}",
        out(&o)
    );
    // Control: 8080 itself is allowed, and without the wildcard x.wild.test
    // is refused.
    let o = h.sh(
        &["--allow-host", "a.test:8080"],
        &wget("http://a.test:8080/"),
    );
    assert!(
        text(&o.stdout).contains("hello 198.51.100.10:8080"),
        "{}",
        out(&o)
    );
    let o = h.sh(&["--allow-host", "a.test"], &wget("http://x.wild.test/"));
    assert!(!text(&o.stdout).contains("hello"), "{}", out(&o));
}

fn status_json_counts_and_verbose_names_each_refusal_once() {
    let Some(h) = harness("status_json_counts_and_verbose_names_each_refusal_once") else {
        return;
    };
    let st = status_path("counts");
    let st_s = st.display().to_string();
    let script = format!(
        "{a}; {a}; {b}; {b}; {b}; true",
        a = wget("http://a.test/"),
        b = wget("http://b.test/")
    );
    let o = h.sh(
        &["-v", "--allow-host", "a.test", "--status-file", &st_s],
        &script,
    );
    assert!(o.status.success(), "{}", out(&o));
    let json = std::fs::read_to_string(&st).unwrap();
    assert!(json.contains("\"network\":\"proxy\""), "{json}");
    assert!(
        json.contains("{\"host\":\"b.test\",\"port\":80,\"reason\":\"not allowed by --allow-host\",\"count\":3}"),
        "{json}"
    );
    let body = "hello 198.51.100.10:80 path=/\n".len()
        + "HTTP/1.0 200 OK\r\nContent-Length: 30\r\n\r\n".len();
    assert!(
        json.contains("{\"host\":\"a.test\",\"port\":80,\"connections\":2,"),
        "{json}"
    );
    assert!(
        json.contains(&format!("\"bytes_received\":{}}}", 2 * body)),
        "{json}"
    );
    let err = text(&o.stderr);
    assert_eq!(err.matches("proxy: refused b.test:80").count(), 1, "{err}");
    // Control: without -v the refusals are in the JSON only.
    let o = h.sh(&["--allow-host", "a.test"], &script);
    assert!(!text(&o.stderr).contains("proxy: refused"), "{}", out(&o));
}

/// /proc/net/tcp lines in LISTEN state (0A) on the proxy's ports.
fn proxy_listeners(tcp: &str) -> usize {
    tcp.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[3] == "0A" && (f[1].ends_with(":0C38") || f[1].ends_with(":0438"))
        })
        .count()
}

fn killing_the_launcher_leaves_no_proxy_listening() {
    let Some(h) = harness("killing_the_launcher_leaves_no_proxy_listening") else {
        return;
    };
    let mut launcher = h
        .outer(&stage().bin.display().to_string())
        .args(["run", "--allow-host", "a.test", &rootfs_arg()])
        .args(["/bin/sh", "-c", "echo started; exec sleep 60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut lout = BufReader::new(launcher.stdout.take().unwrap());
    lout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "started");
    // The sandbox's PID 1: the launcher's child in another network
    // namespace (the guard, its other child, is in the launcher's).
    let lpid = launcher.id();
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
    let children = std::fs::read_to_string(format!("/proc/{lpid}/task/{lpid}/children")).unwrap();
    let spid = children
        .split_whitespace()
        .find(|c| ns(c).is_some() && ns(c) != ns(&lpid.to_string()))
        .expect("the sandbox's pid 1")
        .to_string();
    // A probe that holds the sandbox's network namespace open and lists
    // its TCP sockets each time it reads a line.
    let mut probe = h
        .outer_root("sh")
        .arg("-c")
        .arg(format!(
            "exec 9< /proc/{spid}/ns/net; while read _; do nsenter --net=/proc/self/fd/9 cat /proc/net/tcp; echo end; done"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pin = probe.stdin.take().unwrap();
    let mut pout = BufReader::new(probe.stdout.take().unwrap());
    let mut listing = || {
        writeln!(pin).unwrap();
        let mut all = String::new();
        for _ in 0..1000 {
            let mut l = String::new();
            if pout.read_line(&mut l).unwrap() == 0 || l.trim() == "end" {
                break;
            }
            all.push_str(&l);
        }
        all
    };
    // Control: while the launcher lives, both proxies listen there.
    let before = listing();
    assert_eq!(proxy_listeners(&before), 2, "{before}");
    launcher.kill().unwrap();
    launcher.wait().unwrap();
    // The guard kills the sandbox; bounded wait for its pid 1 to go.
    let t = Instant::now();
    while std::path::Path::new(&format!("/proc/{spid}")).exists()
        && t.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let after = listing();
    drop(pin);
    let _ = probe.wait();
    assert!(after.contains("sl"), "the probe did not list: {after:?}");
    assert_eq!(proxy_listeners(&after), 0, "{after}");
}

fn a_download_through_the_proxy_is_nearly_as_fast_as_direct() {
    let Some(h) = harness("a_download_through_the_proxy_is_nearly_as_fast_as_direct") else {
        return;
    };
    // The best of three each way, the launch included in both.
    let time = |opts: &[&str], url: &str| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let o = h.sh(opts, &format!("wget -q -O- {url} | wc -c"));
                let d = t.elapsed();
                assert_eq!(text(&o.stdout).trim(), BIG.to_string(), "{}", out(&o));
                d
            })
            .min()
            .unwrap()
    };
    let direct = time(&["--net", "host"], "http://198.51.100.10/big");
    let proxied = time(&["--allow-host", "a.test"], "http://a.test/big");
    // Set-up: 50 small requests each way.
    let loop50 = |url: &str| {
        format!(
            "i=0; while [ $i -lt 50 ]; do wget -q -O /dev/null {url} || exit 1; i=$((i+1)); done"
        )
    };
    let t = Instant::now();
    let o = h.sh(&["--net", "host"], &loop50("http://198.51.100.10/"));
    let direct50 = t.elapsed();
    assert!(o.status.success(), "{}", out(&o));
    let t = Instant::now();
    let o = h.sh(&["--allow-host", "a.test"], &loop50("http://a.test/"));
    let proxied50 = t.elapsed();
    assert!(o.status.success(), "{}", out(&o));
    let mib = |d: Duration| BIG as f64 / (1 << 20) as f64 / d.as_secs_f64();
    eprintln!(
        "egress: 64 MiB direct {:.0} MiB/s, through the proxy {:.0} MiB/s ({:.2} x); 50 requests direct {:.1} ms, proxied {:.1} ms (+{:.2} ms per connection)",
        mib(direct),
        mib(proxied),
        direct.as_secs_f64() / proxied.as_secs_f64(),
        direct50.as_secs_f64() * 1e3,
        proxied50.as_secs_f64() * 1e3,
        (proxied50.as_secs_f64() - direct50.as_secs_f64()) * 1e3 / 50.0
    );
    // The target is 0.8 x (docs/BENCHMARKS.md). The proxy adds a third
    // busy process (server, proxy, wget) to the two of a direct download,
    // so on a loaded machine with few cores the ratio follows the CPU
    // share: only a gross regression (a relay that copies in small pieces,
    // or stalls) fails here.
    assert!(
        direct.as_secs_f64() / proxied.as_secs_f64() >= 0.25,
        "through the proxy {proxied:?}, direct {direct:?}"
    );
}

fn allow_host_refuses_other_networks_and_bad_patterns() {
    // No harness needed: these fail before anything starts.
    for (args, want) in [
        (
            vec!["--allow-host", "a.test", "--net", "host"],
            "--allow-host",
        ),
        (
            vec!["--allow-host", "a.test", "--share-net"],
            "--allow-host",
        ),
        (vec!["--allow-host", "203.0.113.5"], "not a host name"),
        (vec!["--allow-host", "a.test:0"], "not a port"),
        (vec!["--allow-net", "10.0.0.0/8"], "needs --net pasta"),
    ] {
        let mut a = vec!["run"];
        a.extend(&args);
        let root = rootfs_arg();
        a.extend([root.as_str(), "true"]);
        let o = sandbox(&a).output().unwrap();
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", out(&o));
        let err = text(&o.stderr);
        assert!(
            err.starts_with("sandbox: ") && err.contains(want),
            "{args:?}: {err}"
        );
    }
    // Control: the same options alone are accepted.
    let root = rootfs_arg();
    let o = sandbox(["run", "--allow-host", "a.test", &root, "true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
}

fn a_hostile_client_neither_wedges_nor_floods_the_launcher() {
    let Some(h) = harness("a_hostile_client_neither_wedges_nor_floods_the_launcher") else {
        return;
    };
    let st = status_path("hostile");
    let st_s = st.display().to_string();
    // A head that never ends within 16 KiB; then connections that never
    // finish their handshake, until the proxy closes new ones at once (a
    // probe request gets no answer), at most 100 probes; then the command
    // ends with 150 handshakes pending.
    let script = "dd if=/dev/zero bs=1024 count=20 2>/dev/null | nc 127.0.0.1 3128 | head -1
        probe() { printf 'GET http://a.test/ HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 3128 | head -c 12; }
        echo first=$(probe)
        i=0; while [ $i -lt 75 ]; do
            sleep 30 | nc 127.0.0.1 3128 & sleep 30 | nc 127.0.0.1 1080 &
            i=$((i+1))
        done
        j=0; while [ $j -lt 100 ] && [ -n \"$(probe)\" ]; do j=$((j+1)); done
        echo probes=$j";
    let t = Instant::now();
    let o = h.sh(&["--allow-host", "a.test", "--status-file", &st_s], script);
    let took = t.elapsed();
    let s = text(&o.stdout);
    assert!(s.contains("HTTP/1.1 400 Bad Request"), "{}", out(&o));
    // Control: before the flood the probe is answered.
    assert!(s.contains("first=HTTP/1.0 200"), "{}", out(&o));
    assert!(
        !s.contains("probes=100"),
        "the proxy never refused: {}",
        out(&o)
    );
    let json = std::fs::read_to_string(&st).unwrap();
    assert!(
        json.contains("\"host\":\"-\",\"port\":0,\"reason\":\"too many connections at once\""),
        "{json}"
    );
    // The pending handshakes (10 s each) did not hold the launcher.
    assert!(took < Duration::from_secs(8), "the run took {took:?}");
}

tests![
    harness_servers_answer,
    an_allowed_name_is_reached_through_connect_plain_http_and_socks5,
    a_name_not_allowed_is_refused,
    names_resolving_to_private_metadata_or_host_addresses_are_refused,
    a_program_ignoring_the_proxy_has_no_route,
    wildcards_and_ports_match_as_documented,
    status_json_counts_and_verbose_names_each_refusal_once,
    killing_the_launcher_leaves_no_proxy_listening,
    a_download_through_the_proxy_is_nearly_as_fast_as_direct,
    allow_host_refuses_other_networks_and_bad_patterns,
    a_hostile_client_neither_wedges_nor_floods_the_launcher,
];
