//! Where our errors go: stderr always, and `--log FILE` in the format asked
//! for. conmon and containerd's shim read that file (json) when a call
//! fails, so podman and ctr show our message. One JSON object a line, as
//! runc writes them: `{"level":"error","msg":"...","time":"..."}`.

use std::io::Write;
use std::path::PathBuf;

use crate::error::Error;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub struct Log {
    path: Option<PathBuf>,
    format: LogFormat,
    debug: bool,
}

impl Log {
    pub fn new(g: &super::cli::Global) -> Log {
        Log {
            path: g.log.clone(),
            format: g.log_format,
            debug: g.debug,
        }
    }

    /// A failure: one line on stderr (`sandbox: step: path: reason`) and
    /// one record in the log.
    pub fn error(&self, e: &Error) {
        e.report();
        // The record's message leaves out our "sandbox: " prefix only where
        // the engine adds its own ("OCI runtime error: ...").
        self.record("error", &e.to_string());
    }

    pub fn warn(&self, msg: &str) {
        eprintln!("sandbox: {msg}");
        self.record("warning", &format!("sandbox: {msg}"));
    }

    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.record("debug", msg);
        }
    }

    fn record(&self, level: &str, msg: &str) {
        let Some(path) = &self.path else { return };
        let time = super::time::rfc3339_now();
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
            }
            LogFormat::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
        };
        // Best effort: the log is a copy of what stderr already said.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}
