//! The cases of make test-cri, and the pod start/teardown bench.
//!
//! Each case is a function of the handler; it returns the facts it wants
//! compared with runc's (often none) or why it failed ("skip: ..." for a
//! case this machine cannot run). Every check that a case makes on its own
//! has its control in the same case: the same probe seeing the thing
//! before it should be gone, or the other namespace mode.

use crate::cri::*;
use crate::ws::Ws;
use k8s_cri::v1::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

pub const NAMES: &[&str] = &[
    "pod-shared-ns",
    "pod-pid-shared",
    "exec-sync",
    "logs",
    "stop-grace",
    "update-resources",
    "oom",
    "security-context",
    "teardown",
    "ports",
    "exec-tty",
    "propagation",
    "host-namespaces",
    "hostile-links",
    "hostile-fifo",
];

type Facts = BTreeMap<String, String>;

async fn run_case(ctx: &Ctx, case: &str, h: &str) -> Result<Facts, String> {
    match case {
        "pod-shared-ns" => pod_shared_ns(ctx, h).await,
        "pod-pid-shared" => pod_pid_shared(ctx, h).await,
        "exec-sync" => exec_sync(ctx, h).await,
        "logs" => logs(ctx, h).await,
        "stop-grace" => stop_grace(ctx, h).await,
        "update-resources" => update_resources(ctx, h).await,
        "oom" => oom(ctx, h).await,
        "security-context" => security_context(ctx, h).await,
        "teardown" => teardown(ctx, h).await,
        "ports" => ports(ctx, h).await,
        "exec-tty" => exec_tty(ctx, h).await,
        "propagation" => propagation(ctx, h).await,
        "host-namespaces" => host_namespaces(ctx, h).await,
        "hostile-links" => hostile_links(ctx, h).await,
        "hostile-fifo" => hostile_fifo(ctx, h).await,
        _ => Err(format!("no case {case}")),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Verdict {
    Pass,
    Fail,
    Skip,
}

/// Runs the cases on each handler; returns the exit code.
pub async fn run_all(ctx: &Ctx, names: &[String]) -> i32 {
    let selected: Vec<&str> = if names.is_empty() {
        NAMES.to_vec()
    } else {
        for n in names {
            if !NAMES.contains(&n.as_str()) {
                eprintln!(
                    "sandbox-cri-client: no case {n} (cases: {})",
                    NAMES.join(" ")
                );
                return 2;
            }
        }
        names.iter().map(String::as_str).collect()
    };
    let mut table: Vec<(String, Vec<(String, Verdict)>)> = Vec::new();
    let (mut np, mut nf, mut ns) = (0, 0, 0);
    for case in selected {
        let mut reference: Option<Facts> = None;
        let mut row = Vec::new();
        for h in &ctx.handlers {
            let t0 = Instant::now();
            let r = timeout(Duration::from_secs(300), run_case(ctx, case, h)).await;
            ctx.remove_all_pods(Duration::from_secs(120)).await;
            let (v, detail) = match r {
                Err(_) => (
                    Verdict::Fail,
                    "the case did not end within 300 s".to_string(),
                ),
                Ok(Err(e)) if e.starts_with("skip: ") => (Verdict::Skip, e[6..].to_string()),
                Ok(Err(e)) => (Verdict::Fail, e),
                Ok(Ok(mut facts)) => {
                    let note = facts.remove("note").unwrap_or_default();
                    if h == "runc" {
                        reference = Some(facts);
                        (Verdict::Pass, note)
                    } else if let Some(refs) = reference.as_ref().filter(|_| !facts.is_empty()) {
                        let diff = compare(refs, &facts);
                        if diff.is_empty() {
                            (Verdict::Pass, note)
                        } else {
                            (Verdict::Fail, format!("differs from runc's:\n{diff}"))
                        }
                    } else if !facts.is_empty() && h != "runc" {
                        (
                            Verdict::Pass,
                            format!("{note}(runc gave no reference: its own run failed)")
                                .trim()
                                .to_string(),
                        )
                    } else {
                        (Verdict::Pass, note)
                    }
                }
            };
            let word = match v {
                Verdict::Pass => {
                    np += 1;
                    "ok"
                }
                Verdict::Fail => {
                    nf += 1;
                    "FAIL"
                }
                Verdict::Skip => {
                    ns += 1;
                    "skipped"
                }
            };
            println!(
                "{word:<8} {case:<18} {h:<8} {:.1} s",
                t0.elapsed().as_secs_f64()
            );
            for line in detail.lines().take(100) {
                println!("           | {line}");
            }
            row.push((h.clone(), v));
        }
        table.push((case.to_string(), row));
    }
    println!();
    print!("{:<18}", "case");
    for h in &ctx.handlers {
        print!(" {h:<8}");
    }
    println!();
    for (case, row) in &table {
        print!("{case:<18}");
        for (_, v) in row {
            let w = match v {
                Verdict::Pass => "ok",
                Verdict::Fail => "FAIL",
                Verdict::Skip => "skipped",
            };
            print!(" {w:<8}");
        }
        // A case that runc itself fails here is said so.
        if row.first().map(|(h, v)| h == "runc" && *v == Verdict::Fail) == Some(true) {
            print!(" (runc fails it here too)");
        }
        println!();
    }
    println!("total: {np} passed, {nf} failed, {ns} skipped");
    if nf > 0 {
        1
    } else {
        0
    }
}

fn compare(a: &Facts, b: &Facts) -> String {
    let mut out = String::new();
    for (k, va) in a {
        match b.get(k) {
            Some(vb) if vb == va => {}
            Some(vb) => out.push_str(&format!("{k}: runc {va:?}, ours {vb:?}\n")),
            None => out.push_str(&format!("{k}: runc {va:?}, ours none\n")),
        }
    }
    for (k, vb) in b {
        if !a.contains_key(k) {
            out.push_str(&format!("{k}: runc none, ours {vb:?}\n"));
        }
    }
    out
}

// --- helpers ----------------------------------------------------------------

fn opts() -> PodOpts {
    PodOpts {
        network: NS_POD,
        pid: NS_CONTAINER,
        ipc: NS_POD,
        ports: Vec::new(),
    }
}

/// A pod named CASE-HANDLER, running.
async fn pod(
    ctx: &Ctx,
    case: &str,
    h: &str,
    o: &PodOpts,
) -> Result<(String, PodSandboxConfig), String> {
    let cfg = ctx.pod_config(&format!("{case}-{h}"), o);
    let id = ctx.run_pod(&cfg, h).await?;
    Ok((id, cfg))
}

/// The container's namespace options as its pod's (what the kubelet does).
fn with_ns(mut c: ContainerConfig, o: &PodOpts) -> ContainerConfig {
    if let Some(sc) = c.linux.as_mut().and_then(|l| l.security_context.as_mut()) {
        sc.namespace_options = Some(NamespaceOption {
            network: o.network,
            pid: o.pid,
            ipc: o.ipc,
            ..Default::default()
        });
    }
    c
}

fn sc(c: &mut ContainerConfig) -> &mut LinuxContainerSecurityContext {
    c.linux
        .get_or_insert_with(Default::default)
        .security_context
        .get_or_insert_with(Default::default)
}

fn res(c: &mut ContainerConfig) -> &mut LinuxContainerResources {
    c.linux
        .get_or_insert_with(Default::default)
        .resources
        .get_or_insert_with(Default::default)
}

fn host_ns(pid: &str, kind: &str) -> Result<String, String> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .map(|p| p.to_string_lossy().into())
        .map_err(|e| format!("readlink /proc/{pid}/ns/{kind}: {e}"))
}

async fn ctr_ns(ctx: &Ctx, id: &str, kind: &str) -> Result<String, String> {
    Ok(ctx
        .sh(id, &format!("readlink /proc/self/ns/{kind}"))
        .await?
        .trim()
        .to_string())
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// Reads what a TCP peer sends until it contains `want` (bounded); retried
/// on a refused connection until `limit` (the server's readiness).
async fn tcp_read(addr: &str, want: &str, limit: Duration) -> Result<String, String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        match timeout(Duration::from_secs(5), TcpStream::connect(addr)).await {
            Ok(Ok(mut s)) => {
                let mut got = Vec::new();
                let mut buf = [0u8; 512];
                let r = timeout(Duration::from_secs(5), async {
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                got.extend_from_slice(&buf[..n]);
                                if String::from_utf8_lossy(&got).contains(want) {
                                    break;
                                }
                            }
                        }
                    }
                })
                .await;
                let text = String::from_utf8_lossy(&got).to_string();
                if text.contains(want) {
                    return Ok(text);
                }
                last = format!(
                    "read {text:?}{}",
                    if r.is_err() { " (timed out)" } else { "" }
                );
            }
            Ok(Err(e)) => last = format!("connect: {e}"),
            Err(_) => last = "connect: timed out".into(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{addr}: no {want:?} within {limit:?}: last {last}"))
}

/// The cgroup (v1 memory hierarchy, or v2) of a process, as a directory.
fn cgroup_dir(pid: u32, controller: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("read /proc/{pid}/cgroup: {e}"))?;
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if ctrls.split(',').any(|c| c == controller) {
            return Ok(format!("/sys/fs/cgroup/{controller}{path}"));
        }
    }
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("0::") {
            return Ok(format!("/sys/fs/cgroup{path}"));
        }
    }
    Err(format!(
        "/proc/{pid}/cgroup: no {controller} line in {text:?}"
    ))
}

fn read_trim(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("read {path}: {e}"))
}

fn sh_host(script: &str) -> Result<String, String> {
    let o = Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .map_err(|e| format!("sh -c {script:?}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "host sh -c {script:?}: {}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into())
}

const SLEEP: &[&str] = &["sleep", "3600"];

// --- the cases --------------------------------------------------------------

/// Two containers of one pod share its network (one listens, the other
/// connects over the pod IP), IPC and UTS namespaces, the pause
/// container's; each has its own PID namespace (the default).
async fn pod_shared_ns(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "pod-shared-ns", h, &o).await?;
    let a = ctx
        .run(
            &pod,
            &cfg,
            with_ns(
                ctx.container_config(
                    "a",
                    &[
                        "/bin/sh",
                        "-c",
                        "while :; do echo hello-over-pod-ip | nc -l -p 7000; done",
                    ],
                ),
                &o,
            ),
        )
        .await?;
    let b = ctx
        .run(&pod, &cfg, with_ns(ctx.container_config("b", SLEEP), &o))
        .await?;
    let ip = ctx.pod_ip(&pod).await?;
    let script = format!(
        "i=0; while [ $i -lt 100 ]; do out=$(nc -w 2 {ip} 7000 </dev/null) && \
         case $out in *hello-over-pod-ip*) echo \"$out\"; exit 0;; esac; i=$((i+1)); sleep 0.1; done; exit 1"
    );
    let got = ctx
        .sh(&b, &script)
        .await
        .map_err(|e| format!("b connects to a over {ip}:7000: {e}"))?;
    ensure(got.contains("hello-over-pod-ip"), || {
        format!("b read {got:?} from a")
    })?;
    let pause = ctx.pod_pid(&pod).await?.to_string();
    for kind in ["net", "ipc", "uts"] {
        let p = host_ns(&pause, kind)?;
        let na = ctr_ns(ctx, &a, kind).await?;
        let nb = ctr_ns(ctx, &b, kind).await?;
        ensure(na == p && nb == p, || {
            format!("{kind}: pause {p}, a {na}, b {nb}: not the pod's")
        })?;
    }
    let (pa, pb, pp) = (
        ctr_ns(ctx, &a, "pid").await?,
        ctr_ns(ctx, &b, "pid").await?,
        host_ns(&pause, "pid")?,
    );
    ensure(pa != pb && pa != pp, || {
        format!("pid: a {pa}, b {pb}, pause {pp}: asked for one each")
    })?;
    let host = cfg.hostname.clone();
    for (n, id) in [("a", &a), ("b", &b)] {
        let got = ctx.sh(id, "hostname").await?;
        ensure(got.trim() == host, || {
            format!("{n}: hostname {got:?}, the pod's is {host:?}")
        })?;
    }
    Ok(Facts::new())
}

/// namespace_options.pid = POD: the containers and the pause process
/// share one PID namespace, the pause process being its pid 1.
async fn pod_pid_shared(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = PodOpts {
        pid: NS_POD,
        ..opts()
    };
    let (pod, cfg) = pod(ctx, "pod-pid-shared", h, &o).await?;
    let a = ctx
        .run(
            &pod,
            &cfg,
            with_ns(ctx.container_config("a", &["sleep", "3601"]), &o),
        )
        .await?;
    let b = ctx
        .run(&pod, &cfg, with_ns(ctx.container_config("b", SLEEP), &o))
        .await?;
    let pause = ctx.pod_pid(&pod).await?.to_string();
    let pp = host_ns(&pause, "pid")?;
    let (pa, pb) = (ctr_ns(ctx, &a, "pid").await?, ctr_ns(ctx, &b, "pid").await?);
    ensure(pa == pp && pb == pp, || {
        format!("pid: pause {pp}, a {pa}, b {pb}: asked for the pod's")
    })?;
    let procs = ctx
        .sh(&b, "for p in /proc/[0-9]*; do printf '%s ' \"${p#/proc/}\"; tr '\\0' ' ' < $p/cmdline; echo; done")
        .await?;
    ensure(procs.contains("sleep 3601"), || {
        format!("b does not see a's sleep 3601:\n{procs}")
    })?;
    let one = ctx.sh(&b, "tr '\\0' ' ' < /proc/1/cmdline").await?;
    ensure(one.contains("catatonit"), || {
        format!("pid 1 is {one:?}, not the pause process")
    })?;
    Ok(Facts::new())
}

/// ExecSync: exit codes, stdout and stderr apart; a missing command.
async fn exec_sync(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "exec-sync", h, &o).await?;
    let c = ctx
        .run(&pod, &cfg, with_ns(ctx.container_config("c", SLEEP), &o))
        .await?;
    let r = ctx
        .exec_sync(&c, &["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], 10)
        .await?;
    ensure(r == (3, "out\n".into(), "err\n".into()), || {
        format!("sh exit 3: got {r:?}")
    })?;
    let r = ctx.exec_sync(&c, &["true"], 10).await?;
    ensure(r.0 == 0, || format!("true: got {r:?}"))?;
    let r = ctx.exec_sync(&c, &["/bin/sh", "-c", "exit 42"], 10).await?;
    ensure(r.0 == 42, || format!("exit 42: got {r:?}"))?;
    let mut facts = Facts::new();
    let missing = match ctx.exec_sync(&c, &["/no/such/command"], 10).await {
        Ok((code, _, _)) => format!("exit {code}"),
        Err(_) => "an error".into(),
    };
    facts.insert("missing command".into(), missing);
    Ok(facts)
}

/// The container's output in the CRI log format: TIMESTAMP STREAM F LINE.
async fn logs(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "logs", h, &o).await?;
    let c = ctx
        .run(
            &pod,
            &cfg,
            with_ns(
                ctx.container_config(
                    "c",
                    &[
                        "/bin/sh",
                        "-c",
                        "echo line-one; echo to-stderr >&2; echo line-two",
                    ],
                ),
                &o,
            ),
        )
        .await?;
    let (code, _) = ctx.wait_exited(&c, Duration::from_secs(30)).await?;
    ensure(code == 0, || format!("exit {code}"))?;
    let path = Path::new(&cfg.log_directory).join("c.log");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut got = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(4, ' ').collect();
        ensure(f.len() == 4, || format!("not CRI's format: {line:?}"))?;
        let ts = f[0];
        let ok_ts = ts.len() >= 20
            && ts.as_bytes()[4] == b'-'
            && ts.contains('T')
            && (ts.ends_with('Z') || ts.contains('+'));
        ensure(ok_ts, || format!("not an RFC 3339 time: {line:?}"))?;
        ensure(f[2] == "F", || format!("tag {:?}, not F: {line:?}", f[2]))?;
        got.push((f[1].to_string(), f[3].to_string()));
    }
    got.sort();
    let want = vec![
        ("stderr".to_string(), "to-stderr".to_string()),
        ("stdout".to_string(), "line-one".to_string()),
        ("stdout".to_string(), "line-two".to_string()),
    ];
    ensure(got == want, || {
        format!("the log has {got:?}, not {want:?}:\n{text}")
    })?;
    Ok(Facts::new())
}

/// StopContainer with a grace period: a container that handles SIGTERM
/// exits by itself at once (exit 0, its handler's line in the log); one
/// that does not (sleep as pid 1) is killed when the grace period ends.
async fn stop_grace(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "stop-grace", h, &o).await?;
    let a = ctx
        .run(
            &pod,
            &cfg,
            with_ns(
                ctx.container_config(
                    "a",
                    &["/bin/sh", "-c", "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.2; done"],
                ),
                &o,
            ),
        )
        .await?;
    let b = ctx
        .run(&pod, &cfg, with_ns(ctx.container_config("b", SLEEP), &o))
        .await?;
    let log = Path::new(&cfg.log_directory).join("a.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ready")
    {
        ensure(start.elapsed() < Duration::from_secs(20), || {
            "a never said ready".into()
        })?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = Instant::now();
    ctx.stop(&a, 20).await?;
    let took = t.elapsed();
    let (st, code, reason) = ctx.state(&a).await?;
    ensure(st == STATE_EXITED && code == 0, || {
        format!("a: state {st}, exit {code} ({reason}), not exited 0")
    })?;
    ensure(took < Duration::from_secs(15), || {
        format!("a took {took:?} to stop: the TERM handler did not run")
    })?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    ensure(text.contains("got-term"), || {
        format!("a's log has no got-term:\n{text}")
    })?;
    let t = Instant::now();
    ctx.stop(&b, 2).await?;
    let took = t.elapsed();
    let (st, code, reason) = ctx.state(&b).await?;
    ensure(st == STATE_EXITED && code == 137, || {
        format!("b: state {st}, exit {code} ({reason}), not killed (137)")
    })?;
    ensure(took >= Duration::from_secs(2), || {
        format!("b was killed after {took:?}, before its 2 s grace period")
    })?;
    ensure(took < Duration::from_secs(15), || {
        format!("b took {took:?} to be killed")
    })?;
    Ok(Facts::new())
}

/// UpdateContainerResources reaches the container's cgroup: memory and
/// CPU quota, read from the cgroup its init is in, before and after.
async fn update_resources(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "update-resources", h, &o).await?;
    let mut c = with_ns(ctx.container_config("c", SLEEP), &o);
    *res(&mut c) = LinuxContainerResources {
        memory_limit_in_bytes: 128 << 20,
        cpu_period: 100000,
        cpu_quota: 200000,
        cpu_shares: 512,
        ..Default::default()
    };
    let c = ctx.run(&pod, &cfg, c).await?;
    let pid = ctx.pid(&c).await?;
    let mem = cgroup_dir(pid, "memory")?;
    let cpu = cgroup_dir(pid, "cpu")?;
    let v2 = !mem.starts_with("/sys/fs/cgroup/memory/");
    let (mem_file, cpu_file) = if v2 {
        (format!("{mem}/memory.max"), format!("{cpu}/cpu.max"))
    } else {
        (
            format!("{mem}/memory.limit_in_bytes"),
            format!("{cpu}/cpu.cfs_quota_us"),
        )
    };
    let before = (read_trim(&mem_file)?, read_trim(&cpu_file)?);
    let want_before = if v2 {
        ("134217728".into(), "200000 100000".into())
    } else {
        ("134217728".into(), "200000".into())
    };
    ensure(before == want_before, || {
        format!("at create: {before:?}, not {want_before:?} ({mem_file}, {cpu_file})")
    })?;
    ctx.update(
        &c,
        LinuxContainerResources {
            memory_limit_in_bytes: 96 << 20,
            cpu_period: 100000,
            cpu_quota: 50000,
            cpu_shares: 256,
            ..Default::default()
        },
    )
    .await?;
    let after = (read_trim(&mem_file)?, read_trim(&cpu_file)?);
    let want = if v2 {
        ("100663296".into(), "50000 100000".into())
    } else {
        ("100663296".into(), "50000".into())
    };
    ensure(after == want, || {
        format!("after the update: {after:?}, not {want:?} ({mem_file}, {cpu_file})")
    })?;
    Ok(Facts::new())
}

/// A memory limit the container exceeds: killed, and reported OOMKilled.
async fn oom(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "oom", h, &o).await?;
    // tail buffers /dev/zero's one endless line.
    let mut c = with_ns(
        ctx.container_config("c", &["/bin/busybox", "tail", "/dev/zero"]),
        &o,
    );
    *res(&mut c) = LinuxContainerResources {
        memory_limit_in_bytes: 32 << 20,
        memory_swap_limit_in_bytes: 32 << 20,
        ..Default::default()
    };
    let c = ctx.run(&pod, &cfg, c).await?;
    let (code, reason) = ctx.wait_exited(&c, Duration::from_secs(60)).await?;
    ensure(code == 137 && reason == "OOMKilled", || {
        format!("exit {code}, reason {reason:?}: not 137 OOMKilled")
    })?;
    Ok(Facts::new())
}

/// What a container sees, as key=value lines, for the comparison with
/// runc's. Mounts are compared by mount point and type, as make test-oci's
/// probe does; what they let a process do is asked by the writes.
const PROBE: &str = r#"
echo "id=$(id)"
for k in CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do
  echo "$k=$(grep "^$k:" /proc/self/status | cut -f2)"
done
w() { if (echo x > "$1") 2>/dev/null; then echo "write $1=yes"; else echo "write $1=no"; fi; }
w /probe-root; w /tmp/probe; w /mnt/host-rw/probe; w /mnt/host-ro/probe; w /mnt/empty/probe; w /dev/shm/probe
w /proc/sys/kernel/domainname
for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do
  [ -e $p ] && echo "masked $p=$(cat $p 2>&1 | wc -c)"
done
for d in /proc/acpi /proc/scsi /sys/firmware /proc/asound; do
  [ -e $d ] && echo "masked $d=$(ls -A $d 2>&1 | wc -l)"
done
if unshare -U true 2>/dev/null; then echo unshare=yes; else echo unshare=no; fi
echo "ulimit -n=$(ulimit -n)"
echo "umask=$(umask)"
echo "cwd=$(pwd)"
echo "HOME=$HOME"
echo "dev=$(ls /dev | sort | tr '\n' ' ')"
while read -r id parent dev root mp opts rest; do
  fstype=${rest#*- }; fstype=${fstype%% *}
  echo "mount $mp=$fstype"
done < /proc/self/mountinfo | sort
"#;

/// The security context, field by field against runc's: runAsUser/Group,
/// supplemental groups, readOnlyRootFilesystem, capabilities add/drop,
/// privileged false, the RuntimeDefault and Unconfined seccomp profiles,
/// hostPath (rw, ro) and emptyDir volumes, masked and read-only /proc
/// paths. Plus the checks each handler must pass on its own.
async fn security_context(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "security-context", h, &o).await?;
    let mut vols = Vec::new();
    for v in ["host-rw", "host-ro", "empty"] {
        let dir = ctx.work.join(format!("sc-{h}-{v}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        sh_host(&format!("chmod 0777 '{}'", dir.display()))?;
        vols.push(Mount {
            container_path: format!("/mnt/{v}"),
            host_path: dir.to_string_lossy().into(),
            readonly: v == "host-ro",
            ..Default::default()
        });
    }
    let masked: Vec<String> = MASKED.iter().map(|s| s.to_string()).collect();
    let readonly: Vec<String> = READONLY.iter().map(|s| s.to_string()).collect();
    let mut c1 = with_ns(ctx.container_config("hardened", SLEEP), &o);
    c1.mounts = vols.clone();
    {
        let s = sc(&mut c1);
        s.run_as_user = Some(Int64Value { value: 1000 });
        s.run_as_group = Some(Int64Value { value: 1000 });
        s.supplemental_groups = vec![2000];
        s.readonly_rootfs = true;
        s.privileged = false;
        s.capabilities = Some(Capability {
            add_capabilities: vec!["NET_ADMIN".into()],
            drop_capabilities: vec!["CHOWN".into()],
            ..Default::default()
        });
        s.seccomp = Some(SecurityProfile {
            profile_type: 0,
            localhost_ref: String::new(),
        });
        #[allow(deprecated)]
        {
            s.seccomp_profile_path = "runtime/default".into();
        }
        s.masked_paths = masked.clone();
        s.readonly_paths = readonly.clone();
    }
    let mut c2 = with_ns(ctx.container_config("unconfined", SLEEP), &o);
    c2.mounts = vols;
    {
        let s = sc(&mut c2);
        s.seccomp = Some(SecurityProfile {
            profile_type: 1,
            localhost_ref: String::new(),
        });
        #[allow(deprecated)]
        {
            s.seccomp_profile_path = "unconfined".into();
        }
        s.masked_paths = masked;
        s.readonly_paths = readonly;
    }
    let c1 = ctx.run(&pod, &cfg, c1).await?;
    let c2 = ctx.run(&pod, &cfg, c2).await?;
    let mut facts = Facts::new();
    for (n, id) in [("hardened", &c1), ("unconfined", &c2)] {
        let (code, out, err) = ctx.exec_sync(id, &["/bin/sh", "-c", PROBE], 30).await?;
        ensure(code == 0, || format!("{n}: the probe exited {code}: {err}"))?;
        for line in out.lines() {
            if let Some((k, v)) = line.split_once('=') {
                // The pod's own names differ by handler.
                let v = v.replace(h, "HANDLER");
                facts.insert(format!("{n}: {k}"), v);
            }
        }
    }
    // Kept with the run's results (tests/cri/run copies the logs).
    let all: Vec<String> = facts.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    let _ = std::fs::write(
        Path::new(&cfg.log_directory).join("probe.txt"),
        all.concat(),
    );
    let get = |k: &str| facts.get(k).cloned().unwrap_or_default();
    let mut wrong = Vec::new();
    let id = get("hardened: id");
    if !(id.starts_with("uid=1000 gid=1000") && id.contains("2000")) {
        wrong.push(format!("hardened: id {id:?}"));
    }
    for (k, want) in [
        ("hardened: write /probe-root", "no"),
        ("hardened: write /mnt/host-rw/probe", "yes"),
        ("hardened: write /mnt/host-ro/probe", "no"),
        ("hardened: write /mnt/empty/probe", "yes"),
        ("hardened: Seccomp", "2"),
        ("unconfined: Seccomp", "0"),
        ("unconfined: write /probe-root", "yes"),
        ("unconfined: write /proc/sys/kernel/domainname", "no"),
        ("unconfined: masked /proc/keys", "0"),
        ("unconfined: masked /proc/timer_list", "0"),
    ] {
        let got = get(k);
        if got != want {
            wrong.push(format!("{k}: {got:?}, not {want:?}"));
        }
    }
    let bnd = u64::from_str_radix(&get("hardened: CapBnd"), 16).unwrap_or(0);
    if bnd & 1 != 0 || bnd & (1 << 12) == 0 {
        wrong.push(format!(
            "hardened: CapBnd {bnd:x}: CHOWN kept or NET_ADMIN missing"
        ));
    }
    if !wrong.is_empty() {
        return Err(format!(
            "{}\n(all answers in {}/probe.txt)",
            wrong.join("\n"),
            cfg.log_directory
        ));
    }
    Ok(facts)
}

/// StopPodSandbox and RemovePodSandbox leave no process, mount, cgroup or
/// runtime state behind; each is seen present first (the probe's control).
async fn teardown(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "teardown", h, &o).await?;
    let c = ctx
        .run(&pod, &cfg, with_ns(ctx.container_config("c", SLEEP), &o))
        .await?;
    let pids = [ctx.pod_pid(&pod).await?, ctx.pid(&c).await?];
    let mut cgroups = Vec::new();
    for p in pids {
        for ctl in ["memory", "pids", "cpu", "freezer"] {
            if let Ok(d) = cgroup_dir(p, ctl) {
                ensure(Path::new(&d).is_dir(), || {
                    format!("{d} (of pid {p}) is not there while it runs")
                })?;
                ensure(d.contains(&format!("/{}/", ctx.cgparent)), || {
                    format!(
                        "pid {p} ({}) is in {d}, not below the pod's cgroup parent /{}/...:\n{}",
                        read_trim(&format!("/proc/{p}/cmdline"))
                            .unwrap_or_default()
                            .replace('\0', " "),
                        ctx.cgparent,
                        read_trim(&format!("/proc/{p}/cgroup")).unwrap_or_default()
                    )
                })?;
                cgroups.push(d);
            }
        }
    }
    let state_dirs: Vec<String> = [&pod, &c]
        .iter()
        .map(|id| format!("/run/containerd/runc/k8s.io/{id}"))
        .collect();
    for d in &state_dirs {
        ensure(Path::new(d).exists(), || {
            format!(
                "{d}: no runtime state there while it runs (the probe looks in the wrong place)"
            )
        })?;
    }
    let mounts_of = || -> Vec<String> {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(pod.as_str()) || l.contains(c.as_str()))
            .map(String::from)
            .collect()
    };
    ensure(!mounts_of().is_empty(), || {
        "no mount names the pod or container while it runs".into()
    })?;
    let starts: Vec<String> = pids
        .iter()
        .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
        .collect();
    ctx.stop_pod(&pod).await?;
    ctx.remove_pod(&pod).await?;
    let mut left = Vec::new();
    for (p, st) in pids.iter().zip(&starts) {
        let now = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // The same process: the same start time (field 22).
        if !now.is_empty() && now.split(' ').nth(21) == st.split(' ').nth(21) {
            left.push(format!(
                "process {p}: {}",
                now.split(' ').take(3).collect::<Vec<_>>().join(" ")
            ));
        }
    }
    for d in cgroups.iter().collect::<std::collections::BTreeSet<_>>() {
        if Path::new(d).exists() {
            left.push(format!("cgroup {d}"));
        }
    }
    for d in &state_dirs {
        if Path::new(d).exists() {
            left.push(format!("state {d}"));
        }
    }
    for m in mounts_of() {
        left.push(format!("mount {m}"));
    }
    ensure(left.is_empty(), || {
        format!("left behind:\n{}", left.join("\n"))
    })?;
    Ok(Facts::new())
}

/// Port mappings: the containerPort on the pod IP, the hostPort through
/// CNI's portmap (on the bridge's address, this namespace's own), and
/// PortForward through the streaming server.
async fn ports(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let host_port = if h == "runc" { 18080 } else { 18081 };
    let o = PodOpts {
        ports: vec![(8080, host_port)],
        ..opts()
    };
    let (pod, cfg) = pod(ctx, "ports", h, &o).await?;
    ctx.run(
        &pod,
        &cfg,
        with_ns(
            ctx.container_config(
                "web",
                &[
                    "/bin/sh",
                    "-c",
                    "while :; do echo hi-from-pod | nc -l -p 8080; done",
                ],
            ),
            &o,
        ),
    )
    .await?;
    let ip = ctx.pod_ip(&pod).await?;
    tcp_read(
        &format!("{ip}:8080"),
        "hi-from-pod",
        Duration::from_secs(20),
    )
    .await
    .map_err(|e| format!("containerPort: {e}"))?;
    tcp_read(
        &format!("198.51.100.1:{host_port}"),
        "hi-from-pod",
        Duration::from_secs(10),
    )
    .await
    .map_err(|e| format!("hostPort (portmap): {e}"))?;
    // The server listens again only after each connection (nc in a
    // loop): a refused forward is retried, bounded.
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(20) {
        match port_forward_once(ctx, &pod).await {
            Ok(()) => return Ok(Facts::new()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("port-forward: {last}"))
}

async fn port_forward_once(ctx: &Ctx, pod: &str) -> Result<(), String> {
    let url = ctx.port_forward_url(pod, 8080).await?;
    let mut ws = Ws::connect(&url, "?port=8080", "v4.channel.k8s.io").await?;
    let mut data = Vec::new();
    let mut errs = Vec::new();
    loop {
        match ws.recv(Duration::from_secs(10)).await? {
            None => break,
            // The first message of each channel is its port, 2 bytes.
            Some((0, m)) if m.len() == 2 && data.is_empty() && m == 8080u16.to_le_bytes() => {}
            Some((0, m)) => data.extend(m),
            Some((1, m)) if m.len() == 2 && errs.is_empty() => {}
            Some((_, m)) => errs.push(String::from_utf8_lossy(&m).to_string()),
        }
        if String::from_utf8_lossy(&data).contains("hi-from-pod") {
            return Ok(());
        }
        if !errs.is_empty() {
            break;
        }
    }
    Err(format!(
        "read {:?}, error channel {errs:?}",
        String::from_utf8_lossy(&data)
    ))
}

/// Exec with a tty and stdin through the streaming server (what
/// `kubectl exec -it` does): a terminal, its size as resized, the input
/// run, the exit code on the error channel.
async fn exec_tty(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "exec-tty", h, &o).await?;
    let c = ctx
        .run(&pod, &cfg, with_ns(ctx.container_config("c", SLEEP), &o))
        .await?;
    let url = ctx
        .exec_url(ExecRequest {
            container_id: c.clone(),
            cmd: vec!["/bin/sh".into()],
            tty: true,
            stdin: true,
            stdout: true,
            stderr: false,
        })
        .await?;
    let mut ws = Ws::connect(&url, "", "v4.channel.k8s.io")
        .await
        .map_err(|e| format!("exec: {e}"))?;
    ws.send(4, br#"{"Width":101,"Height":31}"#).await?;
    ws.send(0, b"tty; stty size; echo A$((6*7))B; exit 3\n")
        .await?;
    let mut out = Vec::new();
    let mut status = String::new();
    let mut other = Vec::new();
    let start = Instant::now();
    loop {
        ensure(start.elapsed() < Duration::from_secs(30), || {
            format!(
                "exec: no end within 30 s; output {:?}",
                String::from_utf8_lossy(&out)
            )
        })?;
        match ws.recv(Duration::from_secs(30)).await? {
            None => break,
            Some((1, m)) | Some((2, m)) => out.extend(m),
            Some((3, m)) => status.push_str(&String::from_utf8_lossy(&m)),
            Some((ch, m)) => other.push((ch, String::from_utf8_lossy(&m).to_string())),
        }
    }
    let text = String::from_utf8_lossy(&out).to_string();
    ensure(text.contains("/dev/pts/"), || {
        format!("no terminal: output {text:?}, status {status:?}, other channels {other:?}")
    })?;
    ensure(text.contains("31 101"), || {
        format!("the size is not the resized 31 101: {text:?}")
    })?;
    ensure(text.contains("A42B"), || {
        format!("the input did not run: {text:?}")
    })?;
    ensure(
        status.contains("\"ExitCode\"") && status.contains("\"message\":\"3\""),
        || format!("exit status {status:?}, not 3 (output {text:?})"),
    )?;
    Ok(Facts::new())
}

/// A hostPath volume with Bidirectional (rshared) propagation: a mount
/// made on the host inside it after the start is seen in the container,
/// and one made in the container is seen on the host.
async fn propagation(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let dir = ctx.work.join(format!("prop-{h}"));
    let d = dir.to_string_lossy().to_string();
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {d}: {e}"))?;
    sh_host(&format!("mount --bind '{d}' '{d}' && mount --make-shared '{d}' && mkdir '{d}/from-host' '{d}/from-ctr'"))?;
    let r = propagation_inner(ctx, h, &d).await;
    let _ = sh_host(&format!(
        "umount -l '{d}/from-host' '{d}/from-ctr' 2>/dev/null; umount -l '{d}'"
    ));
    r
}

async fn propagation_inner(ctx: &Ctx, h: &str, d: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "propagation", h, &o).await?;
    let mut c = with_ns(ctx.container_config("c", SLEEP), &o);
    c.mounts = vec![Mount {
        container_path: "/mnt/prop".into(),
        host_path: d.into(),
        propagation: 2,
        ..Default::default()
    }];
    sc(&mut c).capabilities = Some(Capability {
        add_capabilities: vec!["SYS_ADMIN".into()],
        ..Default::default()
    });
    let c = ctx.run(&pod, &cfg, c).await?;
    // Host to container; the control: not there before the host's mount.
    let before = ctx
        .sh(&c, "cat /mnt/prop/from-host/mark 2>/dev/null; true")
        .await?;
    ensure(before.is_empty(), || {
        format!("the mark is there before the host mounted: {before:?}")
    })?;
    sh_host(&format!("mount -t tmpfs -o size=1m sbx-cri-prop '{d}/from-host' && echo host-mark > '{d}/from-host/mark'"))?;
    let seen = ctx
        .sh(&c, "cat /mnt/prop/from-host/mark 2>&1; true")
        .await?;
    ensure(seen.trim() == "host-mark", || {
        format!("host -> container: the container reads {seen:?}")
    })?;
    // Container to host: the mark is written into the container's tmpfs,
    // so the host sees it only through the propagated mount.
    ctx.sh(&c, "mount -t tmpfs -o size=1m sbx-cri-prop /mnt/prop/from-ctr && echo ctr-mark > /mnt/prop/from-ctr/mark")
        .await
        .map_err(|e| format!("container -> host: {e}"))?;
    let seen = std::fs::read_to_string(format!("{d}/from-ctr/mark")).unwrap_or_default();
    ensure(seen.trim() == "ctr-mark", || {
        format!("container -> host: the host reads {seen:?} in {d}/from-ctr")
    })?;
    Ok(Facts::new())
}

/// hostPID and hostIPC: the container is in the host's PID and IPC
/// namespaces; the control, a pod asking for its own: the pause
/// process's, not the host's.
async fn host_namespaces(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let me = std::process::id().to_string();
    let o = PodOpts {
        pid: NS_NODE,
        ipc: NS_NODE,
        ..opts()
    };
    let (pod1, cfg1) = pod(ctx, "host-ns", h, &o).await?;
    let c = ctx
        .run(&pod1, &cfg1, with_ns(ctx.container_config("c", SLEEP), &o))
        .await?;
    for kind in ["pid", "ipc"] {
        let (got, host) = (ctr_ns(ctx, &c, kind).await?, host_ns(&me, kind)?);
        ensure(got == host, || {
            format!("host {kind}: the container's {got}, the host's {host}")
        })?;
    }
    let o = PodOpts {
        pid: NS_POD,
        ..opts()
    };
    let (pod2, cfg2) = pod(ctx, "pod-ns", h, &o).await?;
    let c = ctx
        .run(&pod2, &cfg2, with_ns(ctx.container_config("c", SLEEP), &o))
        .await?;
    let pause = ctx.pod_pid(&pod2).await?.to_string();
    for kind in ["pid", "ipc"] {
        let (got, host, p) = (
            ctr_ns(ctx, &c, kind).await?,
            host_ns(&me, kind)?,
            host_ns(&pause, kind)?,
        );
        ensure(got == p && got != host, || {
            format!("pod {kind}: the container's {got}, the pause's {p}, the host's {host}")
        })?;
    }
    Ok(Facts::new())
}

/// A hostile image: /etc/hosts, /etc/hostname and /etc/resolv.conf (where
/// CRI mounts its files) are links that climb to files of the host.
/// Either the container is refused with an error (and its pod goes away
/// cleanly), or it runs with the links resolved inside its root, and
/// writes to them: the host's files are untouched either way (checked
/// before: the control that the probe reads the right files).
async fn hostile_links(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let targets =
        ["hosts", "hostname", "resolv.conf"].map(|f| ctx.work.join("host-target").join(f));
    for t in &targets {
        let text = std::fs::read_to_string(t).map_err(|e| format!("read {}: {e}", t.display()))?;
        ensure(text == "untouched\n", || {
            format!("{} is {text:?} before the case", t.display())
        })?;
    }
    let o = opts();
    let (pod, cfg) = pod(ctx, "hostile-links", h, &o).await?;
    let mut c = with_ns(
        ctx.container_config(
            "c",
            &[
                "/bin/sh",
                "-c",
                "for f in hosts hostname resolv.conf; do echo owned > /etc/$f || exit 1; done",
            ],
        ),
        &o,
    );
    c.image = Some(ImageSpec {
        image: format!("{}links:test", ctx.hostile),
        ..Default::default()
    });
    let outcome = match ctx.run(&pod, &cfg, c).await {
        Err(e) => format!("refused: {e}"),
        Ok(id) => match ctx.wait_exited(&id, Duration::from_secs(30)).await {
            Ok((code, _)) => format!("ran, exit {code}"),
            Err(e) => format!("ran: {e}"),
        },
    };
    for t in &targets {
        let text = std::fs::read_to_string(t).unwrap_or_else(|e| format!("unreadable: {e}"));
        ensure(text == "untouched\n", || {
            format!("{} is now {text:?} ({outcome})", t.display())
        })?;
    }
    ctx.stop_pod(&pod).await?;
    ctx.remove_pod(&pod).await?;
    let mut f = Facts::new();
    f.insert(
        "note".into(),
        outcome
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect(),
    );
    Ok(f)
}

/// A hostile image whose /etc/passwd is a FIFO: CreateContainer fails or
/// the container runs, bounded (20 s), and the pod is removed cleanly
/// afterwards. containerd 1.6 itself reads the image's /etc/passwd (for
/// the additional gids) before any runtime is called: the note says which
/// happened.
async fn hostile_fifo(ctx: &Ctx, h: &str) -> Result<Facts, String> {
    let o = opts();
    let (pod, cfg) = pod(ctx, "hostile-fifo", h, &o).await?;
    let mut c = with_ns(
        ctx.container_config("c", &["/bin/sh", "-c", "echo ran"]),
        &o,
    );
    c.image = Some(ImageSpec {
        image: format!("{}fifo:test", ctx.hostile),
        ..Default::default()
    });
    let outcome = match ctx.create_within(&pod, &cfg, c, 20).await {
        Err(e) => format!("refused: {e}"),
        Ok(id) => match ctx.start(&id).await {
            Err(e) => format!("refused at start: {e}"),
            Ok(()) => match ctx.wait_exited(&id, Duration::from_secs(20)).await {
                Ok((code, _)) => format!("ran, exit {code}"),
                Err(e) => format!("ran: {e}"),
            },
        },
    };
    ctx.stop_pod(&pod)
        .await
        .map_err(|e| format!("after {outcome}: {e}"))?;
    ctx.remove_pod(&pod)
        .await
        .map_err(|e| format!("after {outcome}: {e}"))?;
    let mut f = Facts::new();
    f.insert(
        "note".into(),
        outcome
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect(),
    );
    Ok(f)
}

// --- bench ------------------------------------------------------------------

/// Pod start (RunPodSandbox + CreateContainer + StartContainer until the
/// container is reported running) and teardown (StopPodSandbox +
/// RemovePodSandbox), the handlers interleaved run by run.
pub async fn bench(ctx: &Ctx, runs: usize) -> i32 {
    let mut start: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut stop: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let o = opts();
    for i in 0..runs + 1 {
        for h in &ctx.handlers {
            let cfg = ctx.pod_config(&format!("bench-{h}-{i}"), &o);
            let t = Instant::now();
            let r: Result<(), String> = async {
                let pod = ctx.run_pod(&cfg, h).await?;
                let c = ctx
                    .run(&pod, &cfg, with_ns(ctx.container_config("c", SLEEP), &o))
                    .await?;
                loop {
                    let (st, _, _) = ctx.state(&c).await?;
                    if st == STATE_RUNNING {
                        break;
                    }
                    ensure(t.elapsed() < Duration::from_secs(60), || {
                        "not running within 60 s".into()
                    })?;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let started = t.elapsed().as_secs_f64() * 1000.0;
                let t2 = Instant::now();
                ctx.stop_pod(&pod).await?;
                ctx.remove_pod(&pod).await?;
                let stopped = t2.elapsed().as_secs_f64() * 1000.0;
                // The first run of each handler warms the caches.
                if i > 0 {
                    start.entry(h.clone()).or_default().push(started);
                    stop.entry(h.clone()).or_default().push(stopped);
                }
                Ok(())
            }
            .await;
            if let Err(e) = r {
                eprintln!("bench: {h} run {i}: {e}");
                ctx.remove_all_pods(Duration::from_secs(60)).await;
                return 1;
            }
        }
    }
    let med = |v: &Vec<f64>| {
        let mut v = v.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!("| handler | pod start median (ms) | min | max | teardown median (ms) | runs |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for h in &ctx.handlers {
        let s = &start[h];
        let mn = s.iter().cloned().fold(f64::MAX, f64::min);
        let mx = s.iter().cloned().fold(0.0, f64::max);
        println!(
            "| {h} | {:.1} | {mn:.1} | {mx:.1} | {:.1} | {} |",
            med(s),
            med(&stop[h]),
            s.len()
        );
    }
    if let (Some(r), Some(s)) = (start.get("runc"), start.get("sandbox")) {
        println!();
        println!(
            "pod start, sandbox / runc: {:.2} (median); teardown: {:.2}",
            med(s) / med(r),
            med(&stop["sandbox"]) / med(&stop["runc"])
        );
    }
    0
}
