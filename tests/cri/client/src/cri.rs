//! The CRI calls the cases make, over containerd's socket, each bounded.

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::net::UnixStream;
use tokio::time::timeout;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::service_fn;

pub const NS_POD: i32 = 0;
pub const NS_CONTAINER: i32 = 1;
pub const NS_NODE: i32 = 2;
pub const STATE_RUNNING: i32 = 1;
pub const STATE_EXITED: i32 = 2;

/// The paths the kubelet masks and makes read-only in every container
/// that is not privileged (its default /proc mount type).
pub const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];
pub const READONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

pub struct Ctx {
    rt: RuntimeServiceClient<Channel>,
    pub work: PathBuf,
    pub cgparent: String,
    pub image: String,
    pub hostile: String,
    pub handlers: Vec<String>,
}

/// A call bounded in time, its error said with the call's name.
macro_rules! call {
    ($ctx:expr, $secs:expr, $name:literal, $method:ident, $req:expr) => {{
        let mut rt = $ctx.rt.clone();
        match timeout(Duration::from_secs($secs), rt.$method($req)).await {
            Err(_) => Err(format!("{}: no answer within {} s", $name, $secs)),
            Ok(Err(s)) => Err(format!("{}: {}", $name, s.message())),
            Ok(Ok(r)) => Ok(r.into_inner()),
        }
    }};
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (tests/cri/run sets it)"))
}

/// What a pod asks for, beyond its name and handler.
#[derive(Default, Clone)]
pub struct PodOpts {
    pub pid: i32,
    pub ipc: i32,
    pub network: i32,
    pub ports: Vec<(i32, i32)>,
}

impl Ctx {
    pub async fn connect(socket: &str) -> Result<Ctx, String> {
        let path = socket.to_string();
        let channel = Endpoint::try_from("http://[::]")
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(10))
            .connect_with_connector(service_fn(move |_: Uri| {
                let p = path.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(p).await?)) }
            }))
            .await
            .map_err(|e| format!("connect {socket}: {e}"))?;
        let handlers = std::env::var("CRI_HANDLERS").unwrap_or_else(|_| "runc sandbox".into());
        Ok(Ctx {
            rt: RuntimeServiceClient::new(channel),
            work: PathBuf::from(env("CRI_WORK").unwrap_or_else(|_| "/nonexistent".into())),
            cgparent: env("CRI_CGROUP_PARENT").unwrap_or_else(|_| "sandbox-cri".into()),
            image: env("CRI_IMAGE").unwrap_or_default(),
            hostile: env("CRI_HOSTILE_PREFIX").unwrap_or_default(),
            handlers: handlers.split_whitespace().map(String::from).collect(),
        })
    }

    pub fn pod_config(&self, name: &str, o: &PodOpts) -> PodSandboxConfig {
        let logdir = self.work.join("logs").join(name);
        let _ = std::fs::create_dir_all(&logdir);
        PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.into(),
                uid: format!("uid-{name}"),
                namespace: "sandbox-cri".into(),
                attempt: 0,
            }),
            hostname: name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect(),
            log_directory: logdir.to_string_lossy().into(),
            port_mappings: o
                .ports
                .iter()
                .map(|&(c, h)| PortMapping {
                    protocol: 0,
                    container_port: c,
                    host_port: h,
                    host_ip: String::new(),
                })
                .collect(),
            labels: HashMap::from([("sandbox-cri-test".into(), "1".into())]),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: format!("/{}/{}", self.cgparent, name),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: o.network,
                        pid: o.pid,
                        ipc: o.ipc,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub async fn run_pod(&self, cfg: &PodSandboxConfig, handler: &str) -> Result<String, String> {
        let r = call!(
            self,
            120,
            "RunPodSandbox",
            run_pod_sandbox,
            RunPodSandboxRequest {
                config: Some(cfg.clone()),
                runtime_handler: handler.into(),
            }
        )?;
        Ok(r.pod_sandbox_id)
    }

    pub async fn pod_status(&self, id: &str) -> Result<PodSandboxStatusResponse, String> {
        call!(
            self,
            30,
            "PodSandboxStatus",
            pod_sandbox_status,
            PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose: true,
            }
        )
    }

    pub async fn pod_ip(&self, id: &str) -> Result<String, String> {
        let s = self.pod_status(id).await?;
        s.status
            .and_then(|s| s.network)
            .map(|n| n.ip)
            .filter(|ip| !ip.is_empty())
            .ok_or_else(|| "PodSandboxStatus: the pod has no IP".into())
    }

    pub async fn stop_pod(&self, id: &str) -> Result<(), String> {
        call!(
            self,
            90,
            "StopPodSandbox",
            stop_pod_sandbox,
            StopPodSandboxRequest {
                pod_sandbox_id: id.into()
            }
        )
        .map(|_| ())
    }

    pub async fn remove_pod(&self, id: &str) -> Result<(), String> {
        call!(
            self,
            60,
            "RemovePodSandbox",
            remove_pod_sandbox,
            RemovePodSandboxRequest {
                pod_sandbox_id: id.into()
            }
        )
        .map(|_| ())
    }

    /// Stops and removes every pod (the cases' leftovers), bounded.
    pub async fn remove_all_pods(&self, limit: Duration) {
        let start = Instant::now();
        let pods = match call!(
            self,
            30,
            "ListPodSandbox",
            list_pod_sandbox,
            ListPodSandboxRequest { filter: None }
        ) {
            Ok(r) => r.items,
            Err(_) => return,
        };
        for p in pods {
            if start.elapsed() > limit {
                return;
            }
            let _ = self.stop_pod(&p.id).await;
            let _ = self.remove_pod(&p.id).await;
        }
    }

    pub fn container_config(&self, name: &str, cmd: &[&str]) -> ContainerConfig {
        ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: self.image.clone(),
                ..Default::default()
            }),
            command: cmd.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}.log"),
            linux: Some(LinuxContainerConfig {
                resources: None,
                security_context: Some(LinuxContainerSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NS_POD,
                        pid: NS_CONTAINER,
                        ipc: NS_POD,
                        ..Default::default()
                    }),
                    masked_paths: MASKED.iter().map(|s| s.to_string()).collect(),
                    readonly_paths: READONLY.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }
    }

    pub async fn create(
        &self,
        pod: &str,
        pod_cfg: &PodSandboxConfig,
        cfg: ContainerConfig,
    ) -> Result<String, String> {
        self.create_within(pod, pod_cfg, cfg, 60).await
    }

    pub async fn create_within(
        &self,
        pod: &str,
        pod_cfg: &PodSandboxConfig,
        cfg: ContainerConfig,
        secs: u64,
    ) -> Result<String, String> {
        let r = call!(
            self,
            secs,
            "CreateContainer",
            create_container,
            CreateContainerRequest {
                pod_sandbox_id: pod.into(),
                config: Some(cfg),
                sandbox_config: Some(pod_cfg.clone()),
            }
        )?;
        Ok(r.container_id)
    }

    pub async fn start(&self, id: &str) -> Result<(), String> {
        call!(
            self,
            60,
            "StartContainer",
            start_container,
            StartContainerRequest {
                container_id: id.into()
            }
        )
        .map(|_| ())
    }

    /// CreateContainer and StartContainer; the container is running (or
    /// has already run) when it returns.
    pub async fn run(
        &self,
        pod: &str,
        pod_cfg: &PodSandboxConfig,
        cfg: ContainerConfig,
    ) -> Result<String, String> {
        let id = self.create(pod, pod_cfg, cfg).await?;
        self.start(&id).await?;
        Ok(id)
    }

    pub async fn stop(&self, id: &str, grace: i64) -> Result<(), String> {
        call!(
            self,
            (grace as u64) + 60,
            "StopContainer",
            stop_container,
            StopContainerRequest {
                container_id: id.into(),
                timeout: grace,
            }
        )
        .map(|_| ())
    }

    pub async fn status(&self, id: &str) -> Result<ContainerStatusResponse, String> {
        call!(
            self,
            30,
            "ContainerStatus",
            container_status,
            ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            }
        )
    }

    /// The container's state, exit code and reason.
    pub async fn state(&self, id: &str) -> Result<(i32, i32, String), String> {
        let s = self
            .status(id)
            .await?
            .status
            .ok_or("ContainerStatus: no status")?;
        Ok((s.state, s.exit_code, s.reason))
    }

    /// Polls until the container has exited (bounded).
    pub async fn wait_exited(&self, id: &str, limit: Duration) -> Result<(i32, String), String> {
        let start = Instant::now();
        loop {
            let (st, code, reason) = self.state(id).await?;
            if st == STATE_EXITED {
                return Ok((code, reason));
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "the container did not exit within {limit:?} (state {st})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The pid of a container's init, from the verbose status' info.
    pub async fn pid(&self, id: &str) -> Result<u32, String> {
        let s = self.status(id).await?;
        json_pid(s.info.get("info").map(String::as_str).unwrap_or(""))
            .ok_or_else(|| "ContainerStatus: no pid in the verbose info".into())
    }

    pub async fn pod_pid(&self, id: &str) -> Result<u32, String> {
        let s = self.pod_status(id).await?;
        json_pid(s.info.get("info").map(String::as_str).unwrap_or(""))
            .ok_or_else(|| "PodSandboxStatus: no pid in the verbose info".into())
    }

    pub async fn exec_sync(
        &self,
        id: &str,
        cmd: &[&str],
        secs: i64,
    ) -> Result<(i32, String, String), String> {
        let r = call!(
            self,
            (secs as u64) + 30,
            "ExecSync",
            exec_sync,
            ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout: secs,
            }
        )?;
        Ok((
            r.exit_code,
            String::from_utf8_lossy(&r.stdout).into(),
            String::from_utf8_lossy(&r.stderr).into(),
        ))
    }

    /// `sh -c SCRIPT` through ExecSync; its stdout when it exits 0.
    pub async fn sh(&self, id: &str, script: &str) -> Result<String, String> {
        let (code, out, err) = self.exec_sync(id, &["/bin/sh", "-c", script], 30).await?;
        if code != 0 {
            return Err(format!(
                "exec sh -c {script:?}: exit {code}, stdout {out:?}, stderr {err:?}"
            ));
        }
        Ok(out)
    }

    pub async fn update(&self, id: &str, res: LinuxContainerResources) -> Result<(), String> {
        call!(
            self,
            60,
            "UpdateContainerResources",
            update_container_resources,
            UpdateContainerResourcesRequest {
                container_id: id.into(),
                linux: Some(res),
                ..Default::default()
            }
        )
        .map(|_| ())
    }

    pub async fn exec_url(&self, req: ExecRequest) -> Result<String, String> {
        call!(self, 30, "Exec", exec, req).map(|r| r.url)
    }

    pub async fn port_forward_url(&self, pod: &str, port: i32) -> Result<String, String> {
        call!(
            self,
            30,
            "PortForward",
            port_forward,
            PortForwardRequest {
                pod_sandbox_id: pod.into(),
                port: vec![port],
            }
        )
        .map(|r| r.url)
    }
}

/// The first `"pid": N` of containerd's verbose info (JSON).
fn json_pid(info: &str) -> Option<u32> {
    let i = info.find("\"pid\":")?;
    let rest = info[i + 6..].trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok().filter(|&p| p > 0)
}
