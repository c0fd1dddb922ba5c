//! `sandbox ps`, `kill`, `stop` and `logs`: what a user does to a running
//! sandbox by name, through its state entry (state.rs). `exec` is join.rs.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Context, Error, Result};
use crate::launch::status::{json_str, signal_name};
use crate::named::state::{self, Live};
use crate::sys;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `1970-01-01T00:00:00Z` for seconds since the epoch (UTC; Howard
/// Hinnant's civil-from-days).
pub fn iso_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        s => format!("{}d{:02}h", s / 86400, s / 3600 % 24),
    }
}

/// `sandbox ps [--json]`: this user's running sandboxes.
pub fn ps(json: bool) -> Result<String> {
    let all = state::list()?;
    let t = now();
    if json {
        let mut o = String::from("[");
        for (i, l) in all.iter().enumerate() {
            let r = &l.record;
            if i > 0 {
                o.push(',');
            }
            o.push_str("{\"name\":");
            json_str(&mut o, &l.name);
            o.push_str(&format!(",\"pid\":{},\"started\":", r.pid));
            json_str(&mut o, &iso_time(r.started));
            o.push_str(&format!(
                ",\"uptime_seconds\":{},\"rootfs\":",
                t.saturating_sub(r.started)
            ));
            json_str(&mut o, &r.rootfs);
            o.push_str(",\"command\":[");
            for (j, a) in r.command.iter().enumerate() {
                if j > 0 {
                    o.push(',');
                }
                json_str(&mut o, a);
            }
            o.push_str("],\"network\":");
            json_str(&mut o, &r.network);
            o.push_str(&format!(
                ",\"detached\":{},\"launcher_pid\":{}}}",
                r.detached, r.launcher
            ));
        }
        o.push_str("]\n");
        return Ok(o);
    }
    let rows: Vec<[String; 7]> = all
        .iter()
        .map(|l| {
            let r = &l.record;
            [
                l.name.clone(),
                r.pid.to_string(),
                iso_time(r.started),
                uptime(t.saturating_sub(r.started)),
                r.network.clone(),
                r.rootfs.clone(),
                r.command.join(" ").replace('\n', "\\n"),
            ]
        })
        .collect();
    let head = [
        "NAME", "PID", "STARTED", "UPTIME", "NET", "ROOTFS", "COMMAND",
    ]
    .map(String::from);
    let mut width = [0usize; 7];
    for row in std::iter::once(&head).chain(&rows) {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut o = String::new();
    for row in std::iter::once(&head).chain(&rows) {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i == 6 {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        o.push_str(line.trim_end());
        o.push('\n');
    }
    Ok(o)
}

/// `TERM`, `SIGTERM` or `15`.
pub fn parse_signal(s: &str) -> std::result::Result<i32, String> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let want = s.to_ascii_uppercase();
    let want = want.strip_prefix("SIG").unwrap_or(&want);
    (1..32)
        .find(|&n| signal_name(n).strip_prefix("SIG") == Some(want))
        .ok_or_else(|| format!("unknown signal {s:?} (a name such as TERM, or a number)"))
}

/// The sandbox's PID 1 as a pidfd, checked against the record.
fn sandbox_pidfd(l: &Live) -> Result<OwnedFd> {
    state::checked_pidfd(l.record.pid, l.record.pid_start)
        .ok_or_else(|| Error::msg("find the sandbox", "it has ended").with_path(l.name.clone()))
}

/// `sandbox kill NAME [SIGNAL]`: SIGNAL (default KILL) to the sandbox's
/// PID 1, through a pidfd checked against the record; KILL ends the
/// whole sandbox.
pub fn kill(name: &str, sig: i32) -> Result<()> {
    let l = state::find(name)?;
    let fd = sandbox_pidfd(&l)?;
    sys::sigsafe::pidfd_send_signal(std::os::fd::AsRawFd::as_raw_fd(&fd), sig).ctx("kill", name)
}

fn wait_readable(fd: &OwnedFd, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        match sys::poll(&[(fd.as_fd(), libc::POLLIN)], ms) {
            Ok(r) if r[0] != 0 => return true,
            _ if left.is_zero() => return false,
            _ => {}
        }
    }
}

/// `sandbox stop [--time SECS] NAME`: TERM to the launcher, which passes
/// it on and starts its own grace (so `--status-file` says it was
/// stopped); KILL to the whole sandbox once SECS (default: the sandbox's
/// `--kill-after`) have passed; then wait for the launcher to finish.
/// Returns a notice when the grace ran out.
pub fn stop(name: &str, time: Option<Duration>) -> Result<Option<String>> {
    let l = state::find(name)?;
    let pid1 = sandbox_pidfd(&l)?;
    let launcher = state::checked_pidfd(l.record.launcher, l.record.launcher_start);
    let term = |fd: &OwnedFd| {
        sys::sigsafe::pidfd_send_signal(std::os::fd::AsRawFd::as_raw_fd(fd), libc::SIGTERM)
    };
    if launcher.as_ref().is_none_or(|fd| term(fd).is_err()) {
        let _ = term(&pid1);
    }
    let grace = time.unwrap_or(Duration::from_millis(l.record.kill_after_ms));
    let mut notice = None;
    if !wait_readable(&pid1, grace) {
        let _ =
            sys::sigsafe::pidfd_send_signal(std::os::fd::AsRawFd::as_raw_fd(&pid1), libc::SIGKILL);
        notice = Some(format!(
            "stop: {name}: killed the sandbox after the {} s grace period",
            crate::confine::limits::show_duration(grace)
        ));
        wait_readable(&pid1, Duration::from_secs(10));
    }
    // The launcher collects the end, writes the status and removes the
    // entry; wait for that, so the name is free when we return.
    if let Some(fd) = launcher {
        wait_readable(&fd, Duration::from_secs(10));
    }
    Ok(notice)
}

/// `sandbox logs [-f] NAME`: a detached sandbox's output so far (`log.1`,
/// then `log`); with `-f`, then what comes, until the sandbox's launcher
/// ends.
pub fn logs(name: &str, follow: bool, out: &mut dyn Write) -> Result<()> {
    let l = state::find(name)?;
    if !l.record.detached {
        return Err(Error::msg(
            "logs",
            "it was not started with --detach: its output goes where its launcher's does",
        )
        .with_path(name.to_string()));
    }
    let launcher = state::checked_pidfd(l.record.launcher, l.record.launcher_start);
    let path = l.log.clone();
    let mut buf = vec![0u8; 64 << 10];
    let mut copy = |f: &mut fs::File, out: &mut dyn Write| -> Result<()> {
        loop {
            let n = f.read(&mut buf).ctx("read the log", path.display())?;
            if n == 0 {
                return Ok(());
            }
            match out.write_all(&buf[..n]) {
                Ok(()) => {}
                // A reader that stops early (`| head`) is no error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e).ctx("write", "stdout"),
            }
        }
    };
    if let Ok(mut old) = fs::File::open(&l.old_log) {
        copy(&mut old, out)?;
    }
    let mut cur = fs::File::open(&path).ctx("open the log", path.display())?;
    copy(&mut cur, out)?;
    let _ = out.flush();
    let Some(launcher) = launcher.filter(|_| follow) else {
        return Ok(());
    };
    loop {
        let ended = wait_readable(&launcher, Duration::from_millis(200));
        copy(&mut cur, out)?;
        // Rotated: what was `log` is `log.1` now, and read to its end.
        let rotated = match (fs::metadata(&path), cur.metadata()) {
            (Ok(a), Ok(b)) => a.ino() != b.ino(),
            _ => false,
        };
        if rotated {
            if let Ok(f) = fs::File::open(&path) {
                cur = f;
                copy(&mut cur, out)?;
            }
        }
        let _ = out.flush();
        if ended {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(uptime(59), "59s");
        assert_eq!(uptime(3661), "1h01m");
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("sigkill"), Ok(9));
        assert_eq!(parse_signal("10"), Ok(10));
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
