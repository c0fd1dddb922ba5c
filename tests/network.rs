//! `--net pasta`, `--publish`, `--host-loopback`, `--dns`: each claim with
//! a control, inside a network the harness builds itself.
//!
//! The network rule: nothing here talks to any address but loopback or
//! addresses inside namespaces this file creates. The harness (root only;
//! the launches still drop to the test uid) makes two network namespaces:
//! `A`, where the sandboxes run, with a veth whose far end is in `D`, a
//! dead end: no address, nothing listening, and an nftables counter on its
//! ingress that counts every packet but the link's own chatter (MLD, router
//! and neighbour solicitation). A's default routes point into D, with
//! permanent neighbour entries, so pasta has a routable interface and any
//! packet that tried to leave shows up as a count. Every test ends by
//! checking that count; the harness proves the counter works first.
//!
//! /dev/net/tun: pasta opens it with our uid's rights. The launches run in
//! a private mount namespace with a 0666 tun node of the harness bound over
//! /dev/net/tun (the host's own node is never changed); the unusable-tun
//! test binds a 0600 node instead.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

const A_ADDR: &str = "198.51.100.2";
const GATEWAY: &str = "198.51.100.1";
const GATEWAY6: &str = "2001:db8::1";
/// The one port the dead end does not count: `host_loopback_is_unreachable_by_default`
/// aims at the gateway on it on purpose (in pasta's model the gateway is the
/// outside, so that probe does leave A).
const GATEWAY_PROBE_PORT: u16 = 47001;
const PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

struct Harness {
    a: String,
    /// A third namespace with only `lo`: a host without a routable
    /// interface.
    bare: String,
    d: String,
    tun_usable: PathBuf,
    tun_unusable: PathBuf,
    /// The dead end's count right after the control.
    baseline: u64,
}

fn sh_ok(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd}: {}", text(&out.stderr).trim()));
    }
    Ok(text(&out.stdout))
}

fn have(tool: &str) -> bool {
    PATH.split(':').any(|d| Path::new(d).join(tool).exists())
}

impl Harness {
    /// The harness, or why this machine cannot have it: not root, or a
    /// tool missing (`Err((feature, why))`, a skip). Anything failing once
    /// those are there is a failure, never a skip.
    fn build() -> Result<Harness, (&'static str, String)> {
        if stage().drop_to.is_none() {
            return Err(("root", "the network harness needs root (network namespaces, a veth pair, tun nodes); run the suite as root, as CI does".into()));
        }
        for (tool, pkg) in [
            ("pasta", "passt"),
            ("ip", "iproute2"),
            ("nft", "nftables"),
            ("nsenter", "util-linux"),
        ] {
            if !have(tool) {
                return Err((
                    "pasta",
                    format!("{tool} is not installed (apt install {pkg})"),
                ));
            }
        }
        let pid = std::process::id();
        // Namespaces of earlier runs whose process is gone.
        if let Ok(list) = sh_ok("ip netns list") {
            for name in list.split_whitespace().filter(|n| n.starts_with("sbxnet")) {
                let owner: String = name[6..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if !owner.is_empty() && !Path::new("/proc").join(&owner).exists() {
                    let _ = sh_ok(&format!("ip netns del {name}"));
                }
            }
        }
        let (a, d) = (format!("sbxnet{pid}a"), format!("sbxnet{pid}d"));
        let bare = format!("sbxnet{pid}e");
        let (va, vd) = (format!("sbx{pid}a"), format!("sbx{pid}d"));
        let dir = stage().dir.join("tun");
        let _ = fs::create_dir(&dir);
        let tun_usable = dir.join("usable");
        let tun_unusable = dir.join("unusable");
        let script = format!(
            "set -e
            ip netns add {a}; ip netns add {d}; ip netns add {bare}
            ip -n {bare} link set lo up
            ip link add {va} type veth peer name {vd}
            ip link set {va} netns {a}; ip link set {vd} netns {d}
            ip -n {a} link set lo up
            ip netns exec {a} sysctl -qw net.ipv4.ip_unprivileged_port_start=0
            ip -n {a} addr add {A_ADDR}/24 dev {va}
            ip -n {a} addr add 2001:db8::2/64 dev {va} nodad
            ip -n {a} addr add 198.51.100.3/32 dev lo
            ip -n {a} addr add 198.51.100.5/32 dev lo
            ip -n {a} addr add 2001:db8::3/128 dev lo
            ip -n {a} link set {va} up
            ip -n {d} link set {vd} up
            mac=$(cat /sys/class/net/lo/address >/dev/null; ip -n {d} -o link show {vd} | sed 's/.*link\\/ether \\([^ ]*\\).*/\\1/')
            ip -n {a} neigh replace {GATEWAY} lladdr $mac dev {va} nud permanent
            ip -n {a} -6 neigh replace {GATEWAY6} lladdr $mac dev {va} nud permanent
            ip -n {a} route add default via {GATEWAY}
            ip -n {a} -6 route add default via {GATEWAY6}
            ip netns exec {d} nft -f - <<'EOF'
table netdev deadend {{
    counter stray {{ }}
    chain in {{
        type filter hook ingress device \"{vd}\" priority 0;
        icmpv6 type {{ mld-listener-report, mld2-listener-report, nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert }} accept
        ip protocol igmp accept
        ip daddr {GATEWAY} tcp dport {GATEWAY_PROBE_PORT} accept
        counter name \"stray\" drop
    }}
}}
EOF
            rm -f {u} {n}
            echo 'nameserver 198.51.100.3' > {dir}/resolv.conf
            mknod -m 0666 {u} c 10 200
            mknod -m 0600 {n} c 10 200
            ",
            u = tun_usable.display(),
            dir = dir.display(),
            n = tun_unusable.display(),
        );
        sh_ok(&script).unwrap_or_else(|e| panic!("building the network harness: {e}"));
        // Removed when this test process ends (libtest has no hook for it):
        // a watcher waits for our pid to go, then deletes the namespaces.
        let _ = Command::new("setsid")
            .args(["sh", "-c"])
            .arg(format!(
                "tail --pid={pid} -f /dev/null; ip netns del {a}; ip netns del {d}; ip netns del {bare}"
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut h = Harness {
            a,
            bare,
            d,
            tun_usable,
            tun_unusable,
            baseline: 0,
        };
        // The control: one packet from A towards the outside is counted.
        let before = h.count();
        let busybox = stage().rootfs.join("bin/busybox");
        let _ = sh_ok(&format!(
            "ip netns exec {} {} ping -c 1 -W 1 {GATEWAY}",
            h.a,
            busybox.display()
        ));
        let after = h.count();
        assert!(
            after > before,
            "the dead end's counter did not see a ping sent into it ({before} → {after})"
        );
        h.baseline = after;
        Ok(h)
    }

    fn count(&self) -> u64 {
        let out = sh_ok(&format!(
            "ip netns exec {} nft list counter netdev deadend stray",
            self.d
        ))
        .unwrap_or_default();
        out.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX)
    }

    /// Test 7, after every test: nothing reached the dead end.
    fn assert_no_stray_packets(&self) {
        let n = self.count();
        assert_eq!(
            n,
            self.baseline,
            "the dead end saw {} packet(s) that tried to leave the harness",
            n.wrapping_sub(self.baseline)
        );
    }

    /// `sandbox ARGS` as the test uid, in A, with `tun` over /dev/net/tun
    /// in a private mount namespace, and PATH `path`.
    fn sandbox(&self, tun: &Path, path: &str, args: &[&str]) -> Command {
        self.sandbox_in(&self.a, tun, path, args)
    }

    /// `sandbox` in the network namespace `netns`.
    fn sandbox_in(&self, netns: &str, tun: &Path, path: &str, args: &[&str]) -> Command {
        let st = stage();
        let (u, g) = st.drop_to.unwrap();
        let mut c = Command::new("/usr/bin/nsenter");
        c.arg(format!("--net=/run/netns/{netns}"))
            .args(["--", "/usr/bin/unshare", "-m", "--propagation", "private"])
            // The harness's resolv.conf too: pasta forwards --dns queries to
            // the first nameserver it reads there, which must be a server
            // of the harness's, never the host's real resolver.
            .args([
                "/bin/sh",
                "-c",
                "/usr/bin/mount --bind \"$0\" /dev/net/tun && /usr/bin/mount --bind \"${0%/*}/resolv.conf\" /etc/resolv.conf && exec \"$@\"",
            ])
            .arg(tun)
            .arg("/usr/bin/setpriv")
            .arg(format!("--reuid={u}"))
            .arg(format!("--regid={g}"))
            .args(["--clear-groups", "--"])
            .arg(&st.bin)
            .args(args)
            .env_clear()
            .env("PATH", path)
            .current_dir(&st.dir)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut a = vec!["run"];
        a.extend(args);
        self.sandbox(&self.tun_usable, PATH, &a)
            .output()
            .expect("run sandbox in the harness")
    }

    /// `run` with the rootfs after the options in `opts`.
    fn run_in(&self, opts: &[&str], command: &[&str]) -> Output {
        let root = rootfs_arg();
        let mut a: Vec<&str> = opts.to_vec();
        a.push(&root);
        a.extend(command);
        self.run(&a)
    }

    /// A web server on A's 127.0.0.1:`port` (the "host's loopback" of the
    /// sandboxes in A), serving `marker` at /m: busybox httpd in a
    /// `--net host` sandbox, so it is bound in A. Killed when dropped.
    fn loopback_server(&self, port: u16, marker: &str) -> Server {
        let root = rootfs_arg();
        let script = format!(
            "mkdir -p /tmp/w && echo {marker} > /tmp/w/m && httpd -p 127.0.0.1:{port} -h /tmp/w && echo ready && exec sleep 120"
        );
        let mut child = self
            .sandbox(
                &self.tun_usable,
                PATH,
                &[
                    "run",
                    "--net",
                    "host",
                    "--timeout",
                    "150",
                    &root,
                    "/bin/sh",
                    "-c",
                    &script,
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the loopback server did not start");
        Server(child)
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Test 1: the command's first instruction already sees a configured
/// interface: `ip` and `cat` are the command itself, no shell, no wait.
fn pasta_interface_is_up_with_an_address_and_a_route_before_the_command() {
    let Some(h) = harness("pasta_interface_is_up_with_an_address_and_a_route_before_the_command")
    else {
        return;
    };
    let routes = ok(
        &h.run_in(&["--net", "pasta"], &["cat", "/proc/net/route"]),
        "routes",
    );
    let default = routes
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some("00000000"))
        .unwrap_or_else(|| panic!("no default route at the first instruction:\n{routes}"));
    let iface = default.split_whitespace().next().unwrap().to_string();
    assert_ne!(iface, "lo");
    let addrs = ok(
        &h.run_in(
            &["--net", "pasta"],
            &["ip", "-4", "-o", "addr", "show", "dev", &iface],
        ),
        "addresses",
    );
    assert!(addrs.contains(&format!("inet {A_ADDR}/")), "{addrs}");
    let link = ok(
        &h.run_in(
            &["--net", "pasta"],
            &["ip", "-o", "link", "show", "dev", &iface],
        ),
        "link",
    );
    assert!(link.contains(",UP") || link.contains("<UP"), "{link}");
    // Control: the same probes see only lo without pasta.
    let none = ok(
        &h.run_in(&[], &["cat", "/proc/net/route"]),
        "routes, --net none",
    );
    assert_eq!(none.lines().count(), 1, "a route without pasta: {none}");
    h.assert_no_stray_packets();
}

/// Test 2: a service on the host's 127.0.0.1 is out of reach by default, at
/// 127.0.0.1, at the gateway and at host.sandbox.internal; `--host-loopback`
/// reaches it at host.sandbox.internal (the control).
fn host_loopback_is_unreachable_by_default() {
    let Some(h) = harness("host_loopback_is_unreachable_by_default") else {
        return;
    };
    let port = GATEWAY_PROBE_PORT;
    let _server = h.loopback_server(port, "host-secret");
    // (busybox wget's own -T crashes in this build: timeout(1) bounds it.)
    let get = |target: &str| {
        format!("timeout 3 wget -q -O - http://{target}:{port}/m 2>/dev/null || echo unreached")
    };
    let probe = format!(
        "{}; {}; {}",
        get("127.0.0.1"),
        get(GATEWAY),
        get(net_name())
    );
    let out = ok(
        &h.run_in(&["--net", "pasta"], &["/bin/sh", "-c", &probe]),
        "default",
    );
    assert_eq!(out, "unreached\nunreached\nunreached\n", "{out}");
    let out = ok(
        &h.run_in(
            &["--net", "pasta", "--host-loopback"],
            // By address: the rootfs's static busybox cannot resolve names
            // (glibc's NSS needs dlopen); /etc/hosts is checked as text.
            &[
                "/bin/sh",
                "-c",
                &format!("{}; grep {} /etc/hosts", get(GATEWAY), net_name()),
            ],
        ),
        "--host-loopback",
    );
    assert!(
        out.starts_with("host-secret\n"),
        "--host-loopback did not reach it: {out}"
    );
    assert!(out.contains(&format!("{GATEWAY}\t{}", net_name())), "{out}");
    // The host side of the control: --net host reaches it too.
    let out = ok(
        &h.run_in(&["--net", "host"], &["/bin/sh", "-c", &get("127.0.0.1")]),
        "host",
    );
    assert_eq!(out, "host-secret\n");
    h.assert_no_stray_packets();
}

fn net_name() -> &'static str {
    "host.sandbox.internal"
}

/// Test 3: `-p 127.0.0.1:H:80` reaches httpd on port 80 inside; a port
/// that was not published is refused at once.
fn a_published_port_reaches_a_server_inside_and_others_do_not() {
    let Some(h) = harness("a_published_port_reaches_a_server_inside_and_others_do_not") else {
        return;
    };
    let root = rootfs_arg();
    let mut inside = h
        .sandbox(
            &h.tun_usable,
            PATH,
            &[
                "run", "--net", "pasta", "-p", "127.0.0.1:47080:80", "--timeout", "60", "--kill-after", "0",
                &root, "/bin/sh", "-c",
                "mkdir /tmp/w && echo inside > /tmp/w/m && httpd -p 80 -h /tmp/w && httpd -p 81 -h /tmp/w && echo ready && exec sleep 60",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(inside.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // From A's loopback, as a --net host sandbox would see it.
    let probe = "timeout 3 wget -q -O - http://127.0.0.1:47080/m 2>&1; timeout 3 wget -q -O - http://127.0.0.1:81/m >/dev/null 2>&1 || echo refused";
    let got = h.run_in(&["--net", "host"], &["/bin/sh", "-c", probe]);
    let _ = inside.kill();
    let _ = inside.wait();
    let got = ok(&got, "probe");
    assert_eq!(got, "inside\nrefused\n");
    h.assert_no_stray_packets();
}

/// Test 5: `--dns` writes resolv.conf (pointing at pasta's forwarder) and
/// hosts (naming the hostname) in the throwaway layer only.
fn dns_writes_resolv_conf_inside_only() {
    let Some(h) = harness("dns_writes_resolv_conf_inside_only") else {
        return;
    };
    let root = private_rootfs("dns");
    let before = tree_hash(&root);
    let root_s = root.display().to_string();
    let out = ok(
        &h.run(&[
            "--net",
            "pasta",
            "--dns",
            "--hostname",
            "box1",
            &root_s,
            "cat",
            "/etc/resolv.conf",
            "/etc/hosts",
        ]),
        "--dns",
    );
    assert!(out.contains("nameserver 169.254.1.1\n"), "{out}");
    assert!(out.contains("\tbox1\n"), "{out}");
    assert_eq!(tree_hash(&root), before, "the rootfs on disk changed");
    // Control: without --dns the rootfs's own file is what the command sees.
    let plain = ok(
        &h.run(&["--net", "pasta", &root_s, "cat", "/etc/hosts"]),
        "no --dns",
    );
    assert!(!plain.contains("box1"), "{plain}");
    // And the options that write /etc refuse a root they would change.
    let rw = h.run(&["--net", "pasta", "--dns", "--rw", &root_s, "true"]);
    assert_eq!(rw.status.code(), Some(125), "{}", text(&rw.stderr));
    assert_eq!(tree_hash(&root), before);
    h.assert_no_stray_packets();
}

/// pasta processes of the test uid, with the sandbox PID 1 each serves
/// (pasta's last argument).
fn pastas() -> Vec<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let uid = stage().host_uid;
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if fs::metadata(e.path()).map(|m| m.uid()).ok() != Some(uid) {
            continue;
        }
        let cmd = fs::read(e.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_pasta = args
            .first()
            .is_some_and(|a| a.ends_with("pasta") || a.ends_with("pasta.avx2"));
        if let (true, Some(Ok(target))) = (is_pasta, args.last().map(|a| a.parse::<u32>())) {
            found.push((pid, target));
        }
    }
    found
}

/// A pasta whose sandbox is gone is a leak (pastas of the other tests,
/// running meanwhile, serve live sandboxes); so is any file of pasta's in
/// /tmp. Waits (bounded) for the guard's or the launcher's kill to land.
fn assert_pasta_gone(case: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let orphans: Vec<(u32, u32)> = pastas()
            .into_iter()
            .filter(|(_, target)| !Path::new("/proc").join(target.to_string()).exists())
            .collect();
        let files: Vec<PathBuf> = fs::read_dir("/tmp")
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                n.starts_with("pasta") || n.starts_with("passt") || n.starts_with("sandbox-pasta")
            })
            .collect();
        if orphans.is_empty() && files.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{case}: left behind: pasta processes (pid, sandbox) {orphans:?}, files {files:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Test 6: pasta ends with the sandbox: normal exit, --timeout, and SIGKILL
/// of the launcher (the guard's job), 100 times.
fn pasta_ends_with_the_sandbox() {
    let Some(h) = harness("pasta_ends_with_the_sandbox") else {
        return;
    };
    let root = rootfs_arg();
    // Control: while the sandbox runs, the probe finds its pasta.
    let mut c = h
        .sandbox(
            &h.tun_usable,
            PATH,
            &[
                "run",
                "--net",
                "pasta",
                &root,
                "/bin/sh",
                "-c",
                "echo up; exec sleep 30",
            ],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let launcher = c.id();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(c.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    // nsenter, unshare, sh and setpriv exec in turn: the pid is the launcher's.
    let init = sandbox_init(launcher, None);
    assert!(
        pastas().iter().any(|(_, target)| *target == init),
        "the probe should see this sandbox's pasta: {:?}",
        pastas()
    );
    send_signal("-KILL", launcher);
    let _ = c.wait();
    assert_pasta_gone("SIGKILL of the launcher");

    // Normal exit.
    let c = h
        .sandbox(
            &h.tun_usable,
            PATH,
            &["run", "--net", "pasta", &root, "true"],
        )
        .spawn()
        .unwrap();
    assert!(c.wait_with_output().unwrap().status.success());
    assert_pasta_gone("normal exit");

    // --timeout.
    let c = h
        .sandbox(
            &h.tun_usable,
            PATH,
            &[
                "run",
                "--net",
                "pasta",
                "--timeout",
                "0.2",
                "--kill-after",
                "0",
                &root,
                "sleep",
                "30",
            ],
        )
        .spawn()
        .unwrap();
    assert_eq!(c.wait_with_output().unwrap().status.code(), Some(124));
    assert_pasta_gone("--timeout");

    // SIGKILL of the launcher at any moment of its life: 100 trials, the
    // kill sent after a delay that walks through the launch.
    for i in 0..100u64 {
        let mut c = h
            .sandbox(
                &h.tun_usable,
                PATH,
                &["run", "--net", "pasta", &root, "sleep", "30"],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 2));
        let _ = c.kill();
        let _ = c.wait();
        assert_pasta_gone(&format!(
            "SIGKILL of the launcher, trial {i} ({} ms in)",
            i * 2
        ));
    }
    h.assert_no_stray_packets();
}

/// Test 8: pasta missing, a tun device the user cannot open, a host with
/// no routable interface: 125 and what to do.
fn missing_pasta_and_unusable_tun_fail_with_125() {
    let Some(h) = harness("missing_pasta_and_unusable_tun_fail_with_125") else {
        return;
    };
    let root = rootfs_arg();
    let out = h
        .sandbox(
            &h.tun_usable,
            "/nonexistent",
            &["run", "--net", "pasta", &root, "true"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.contains("pasta is not installed") && err.contains("apt install passt"),
        "{err}"
    );
    let out = h
        .sandbox(
            &h.tun_unusable,
            PATH,
            &["run", "--net", "pasta", &root, "true"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.contains("/dev/net/tun: Permission denied") && err.contains("chmod 0666"),
        "{err}"
    );
    let out = h
        .sandbox_in(
            &h.bare,
            &h.tun_usable,
            PATH,
            &["run", "--net", "pasta", &root, "true"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.contains("no routable interface") && err.contains("--net none"),
        "{err}"
    );
    // Control: the same launches work with pasta on PATH and a usable node.
    ok(&h.run_in(&["--net", "pasta"], &["true"]), "control");
    h.assert_no_stray_packets();
}

/// Test 7 on its own: the dead end has seen nothing by the time this runs
/// (each test above checks it again when it ends).
fn the_dead_end_saw_no_packets() {
    let Some(h) = harness("the_dead_end_saw_no_packets") else {
        return;
    };
    h.assert_no_stray_packets();
}

/// Options that need pasta are refused without it (no harness needed).
fn pasta_options_need_net_pasta() {
    for opt in [&["-p", "8080:80"][..], &["--host-loopback"], &["--dns"]] {
        let mut a = vec!["run".to_string()];
        a.extend(opt.iter().map(|s| s.to_string()));
        a.extend([rootfs_arg(), "true".into()]);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(125), "{opt:?}");
        assert!(
            text(&out.stderr).contains("needs --net pasta"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(&[
        "run",
        "--share-net",
        "--net",
        "pasta",
        &rootfs_arg(),
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("sandbox: usage: --share-net and --net pasta exclude each other"),
        "{err}"
    );
}

/// `sandbox doctor` reports pasta, the tun device and the route as the
/// harness made them; `--status-file` and `-v` name the mode that ran.
fn doctor_and_status_name_the_network() {
    let Some(h) = harness("doctor_and_status_name_the_network") else {
        return;
    };
    let doc = text(
        &h.sandbox(&h.tun_usable, PATH, &["doctor"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(
        doc.contains("ok   pasta: ") && doc.contains("--dns"),
        "{doc}"
    );
    assert!(doc.contains("ok   /dev/net/tun: usable"), "{doc}");
    assert!(
        doc.contains(&format!(
            "ok   routable interface: default route via {GATEWAY}"
        )),
        "{doc}"
    );
    // Control: the same check says no where the device is 0600.
    let doc = text(
        &h.sandbox(&h.tun_unusable, PATH, &["doctor"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(
        doc.contains("no   /dev/net/tun: ") && doc.contains("chmod 0666"),
        "{doc}"
    );
    let dir = test_dir("net-status");
    for (mode, args) in [
        ("pasta", &["--net", "pasta"][..]),
        ("none", &[]),
        ("host", &["--share-net"]),
    ] {
        let file = dir.join(format!("{mode}.json"));
        let f = file.display().to_string();
        let mut opts = vec!["-v", "--status-file", &f];
        opts.extend(args);
        let out = h.run_in(&opts, &["true"]);
        ok(&out, mode);
        let json = fs::read_to_string(&file).unwrap();
        assert!(json.contains(&format!("\"network\":\"{mode}\"")), "{json}");
        assert!(
            text(&out.stderr).contains(&format!("sandbox: network: {mode}")),
            "{}",
            text(&out.stderr)
        );
    }
    h.assert_no_stray_packets();
}

/// Test 4: with `--allow-net`, the listed address and port connect; an
/// unlisted port on the same address and an unlisted address are refused
/// at once (a TCP reset, a local error for UDP, never a timeout), over
/// TCP and UDP, IPv4 and IPv6; and the command cannot flush the rules.
/// The servers are in A (addresses .3 and .5 of the harness's network,
/// on A's lo so that pasta does not take them for the sandbox's own,
/// reached through pasta); the control reaches every one of them without
/// `--allow-net`.
fn allow_net_lets_only_the_listed_destinations_through() {
    let Some(h) = harness("allow_net_lets_only_the_listed_destinations_through") else {
        return;
    };
    let root = rootfs_arg();
    let probe = format!("{}:/probe", stage().probe.display());
    let servers = "i=0; for a in 198.51.100.3:47200 198.51.100.3:47201 198.51.100.5:47200 2001:db8::3:47200 2001:db8::3:47201; do \
        /probe udp-echo ${a%:*} ${a##*:} > /tmp/r$i & i=$((i+1)); done; \
        httpd -p 47100 -h /tmp && httpd -p 47101 -h /tmp && \
        n=0; while [ $n -lt 200 ] && [ $(cat /tmp/r* | grep -c ready) -lt 5 ]; do sleep 0.05; n=$((n+1)); done; \
        echo ready; exec sleep 120";
    let mut srv = h
        .sandbox(
            &h.tun_usable,
            PATH,
            &[
                "run",
                "--net",
                "host",
                "--ro-bind",
                &probe,
                "--timeout",
                "150",
                &root,
                "/bin/sh",
                "-c",
                servers,
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(srv.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _srv = Server(srv);
    assert_eq!(line.trim(), "ready");
    let probes = "/probe udp 198.51.100.3 47200; /probe udp 198.51.100.3 47201; /probe udp 198.51.100.5 47200; \
        /probe tcp 198.51.100.3 47100; /probe tcp 198.51.100.3 47101; /probe tcp 198.51.100.5 47100; \
        /probe udp 2001:db8::3 47200; /probe udp 2001:db8::3 47201; \
        /probe tcp 2001:db8::3 47100; /probe tcp 2001:db8::3 47101";
    let allowed = [
        "--allow-net",
        "198.51.100.3:47200/udp",
        "--allow-net",
        "198.51.100.3/32:47100/tcp",
        "--allow-net",
        "[2001:db8::3/128]:47200/udp",
        "--allow-net",
        "[2001:db8::3]:47100",
    ];
    let mut opts = vec!["--net", "pasta", "--ro-bind", &probe];
    opts.extend(allowed);
    let out = ok(&h.run_in(&opts, &["/bin/sh", "-c", probes]), "--allow-net");
    let got: Vec<&str> = out.lines().collect();
    let listed = [0, 3, 6, 8];
    assert_eq!(got.len(), 10, "{out}");
    for (i, g) in got.iter().enumerate() {
        if listed.contains(&i) {
            assert!(
                g.ends_with(" reply") || g.ends_with(" connected"),
                "probe {i} is listed: {out}"
            );
        } else {
            assert!(
                !g.ends_with(" reply") && !g.ends_with(" connected") && !g.ends_with(" timeout"),
                "probe {i} should be refused at once: {out}"
            );
        }
    }
    // Control: without --allow-net every server answers.
    let out = ok(
        &h.run_in(
            &["--net", "pasta", "--ro-bind", &probe],
            &["/bin/sh", "-c", probes],
        ),
        "control",
    );
    assert!(
        out.lines()
            .all(|l| l.ends_with(" reply") || l.ends_with(" connected")),
        "{out}"
    );
    // The rules cannot be flushed from inside: the host's nft (bound in,
    // run through the host's loader) is refused, and the rules still hold.
    let nft = "/hostusr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path /hostusr/lib/x86_64-linux-gnu /hostusr/sbin/nft";
    if Path::new("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").exists() {
        let flush = format!("{nft} flush ruleset; echo nft=$?; /probe tcp 198.51.100.5 47100");
        let mut opts = vec![
            "--net",
            "pasta",
            "--ro-bind",
            &probe,
            "--ro-bind",
            "/usr:/hostusr",
        ];
        opts.extend(allowed);
        let out = h.run_in(&opts, &["/bin/sh", "-c", &flush]);
        let (o, e) = (text(&out.stdout), text(&out.stderr));
        // Refused twice over: the seccomp filter allows no
        // NETLINK_NETFILTER socket (EPROTONOSUPPORT, D5), and without it
        // the command would still lack CAP_NET_ADMIN (EPERM).
        assert!(
            o.contains("nft=")
                && !o.contains("nft=0")
                && (e.contains("Protocol not supported") || e.contains("Operation not permitted")),
            "{o}{e}"
        );
        assert!(
            o.contains("tcp ECONNREFUSED"),
            "the rules were flushed: {o}"
        );
        // Control: the same invocation flushes where it has CAP_NET_ADMIN
        // (a user and network namespace of the test uid's own).
        let at = test_dir("hostusr").display().to_string();
        let ctl = as_test_user("unshare")
            .args(["-Urn", "--mount", "sh", "-c"])
            .arg(format!(
                "mount --bind /usr {at} && {} flush ruleset; echo nft=$?",
                nft.replace("/hostusr", &at)
            ))
            .output()
            .unwrap();
        assert!(
            text(&ctl.stdout).contains("nft=0"),
            "{}{}",
            text(&ctl.stdout),
            text(&ctl.stderr)
        );
    } else {
        skip(
            "allow_net_lets_only_the_listed_destinations_through (flush)",
            "nft",
            "the host's loader is not at /usr/lib/x86_64-linux-gnu",
        );
    }
    h.assert_no_stray_packets();
}

/// Test 5, further: `--dns`'s forwarder works (a query to 169.254.1.1:53
/// reaches the harness's resolver, a UDP echo server on 198.51.100.3:53
/// that pasta reads from /etc/resolv.conf), and `--allow-net` lets it
/// through with `--dns` while the resolver's address stays unlisted.
fn dns_forwarder_answers_and_allow_net_lets_only_it_through() {
    let Some(h) = harness("dns_forwarder_answers_and_allow_net_lets_only_it_through") else {
        return;
    };
    let root = rootfs_arg();
    let probe = format!("{}:/probe", stage().probe.display());
    let mut srv = h
        .sandbox(
            &h.tun_usable,
            PATH,
            &[
                "run",
                "--net",
                "host",
                "--ro-bind",
                &probe,
                "--timeout",
                "150",
                &root,
                "/bin/sh",
                "-c",
                "/probe udp-echo 198.51.100.3 53 & /probe udp-echo 198.51.100.3 54 & wait",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(srv.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..2 {
        line.clear();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line.trim(), "ready");
    }
    let _srv = Server(srv);
    // (The resolver's own port 53 is not probed directly: pasta maps its
    // answers back to the forwarder's address, so a direct query never
    // sees a reply. Its port 54 stands for "the resolver's address".)
    let probes = "/probe udp 169.254.1.1 53; /probe udp 198.51.100.3 54";
    let dns_allow = [
        "--net",
        "pasta",
        "--ro-bind",
        &probe,
        "--dns",
        "--allow-net",
        "198.51.100.3:47100/tcp",
    ];
    let out = ok(
        &h.run_in(&dns_allow, &["/bin/sh", "-c", probes]),
        "--dns --allow-net",
    );
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got[0], "udp reply", "the forwarder: {out}");
    assert!(
        !got[1].ends_with("reply") && !got[1].ends_with("timeout"),
        "the resolver itself is not listed: {out}"
    );
    // Control: without --dns the forwarder is not allowed either; without
    // --allow-net the resolver is reachable directly.
    let out = ok(
        &h.run_in(
            &[
                "--net",
                "pasta",
                "--ro-bind",
                &probe,
                "--allow-net",
                "198.51.100.3:47100/tcp",
            ],
            &["/bin/sh", "-c", probes],
        ),
        "--allow-net without --dns",
    );
    assert!(
        !out.lines().next().unwrap_or("").ends_with("reply"),
        "{out}"
    );
    let out = ok(
        &h.run_in(
            &["--net", "pasta", "--ro-bind", &probe, "--dns"],
            &["/bin/sh", "-c", probes],
        ),
        "--dns",
    );
    assert_eq!(out, "udp reply\nudp reply\n");
    h.assert_no_stray_packets();
}

tests![
    pasta_interface_is_up_with_an_address_and_a_route_before_the_command,
    host_loopback_is_unreachable_by_default,
    a_published_port_reaches_a_server_inside_and_others_do_not,
    dns_writes_resolv_conf_inside_only,
    pasta_ends_with_the_sandbox,
    missing_pasta_and_unusable_tun_fail_with_125,
    the_dead_end_saw_no_packets,
    pasta_options_need_net_pasta,
    doctor_and_status_name_the_network,
    allow_net_lets_only_the_listed_destinations_through,
    dns_forwarder_answers_and_allow_net_lets_only_it_through,
];
