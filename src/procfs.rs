//! The /proc files both front ends read, parsed once: /proc/PID/stat
//! (a process's state and start time, to tell a live process from a
//! zombie and from one that reused its pid), /proc/PID/mountinfo (with
//! its octal escapes undone) and /proc/PID/cgroup.
//!
//! The parsers are pure and unit-tested, with property tests for the
//! parts a hostile process controls: its command name (any bytes but NUL,
//! ')' and newlines included) and the paths it mounts on.
//! Ref: proc(5) ("/proc/pid/stat", "/proc/pid/mountinfo",
//! "/proc/pid/cgroup")

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// What of /proc/PID/stat we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The state letter: R, S, D, Z (zombie), X (dead), T, t, ...
    pub state: char,
    /// When the process started, in clock ticks after boot (field 22).
    pub start_time: u64,
}

/// Parse a /proc/PID/stat line. The command name (field 2) is in
/// parentheses and may hold anything, spaces, ')' and newlines included,
/// so the fields are counted from the last ')': field 3, the state, is the
/// first after it, and field 22 the 20th.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?;
    let mut chars = state.chars();
    let (Some(state), None) = (chars.next(), chars.next()) else {
        return None;
    };
    let start_time = f.nth(18)?.parse().ok()?;
    Some(Stat { state, start_time })
}

/// /proc/PID/stat of `pid`, or None when it cannot be read (gone).
pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// A process's start time (clock ticks after boot).
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|s| s.start_time)
}

/// Whether `pid` is alive, not a zombie, and started at `start_time`.
pub fn alive(pid: i32, start_time: u64) -> bool {
    stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X' && s.start_time == start_time)
}

/// One line of /proc/PID/mountinfo, its paths unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount's root within its filesystem: "/" but for a bind mount
    /// of a subdirectory (or a cgroup namespace's view of cgroupfs).
    pub root: PathBuf,
    /// Where it is mounted, as the reading process sees it.
    pub mount_point: PathBuf,
    /// The per-mount options ("rw,nosuid,relatime").
    pub mount_options: String,
    /// The filesystem type ("cgroup2", "tmpfs").
    pub fstype: String,
    /// The per-superblock options ("rw,memory" for a cgroup v1 hierarchy).
    pub super_options: String,
}

/// Parse /proc/PID/mountinfo; malformed lines are left out.
/// "ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE
/// SOURCE SUPER_OPTIONS". The separator is found as " - ": a space in a
/// path is written `\040`, so no path holds it.
pub fn mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(mount_line).collect()
}

fn mount_line(line: &str) -> Option<Mount> {
    let (pre, post) = line.split_once(" - ")?;
    let f: Vec<&str> = pre.split(' ').collect();
    let mut post = post.split(' ');
    let fstype = post.next()?;
    let _source = post.next()?;
    Some(Mount {
        root: PathBuf::from(unescape(f.get(3)?)),
        mount_point: PathBuf::from(unescape(f.get(4)?)),
        mount_options: f.get(5)?.to_string(),
        fstype: fstype.to_string(),
        super_options: post.next().unwrap_or("").to_string(),
    })
}

/// The mounts of the calling process.
pub fn own_mounts() -> std::io::Result<Vec<Mount>> {
    Ok(mountinfo(&fs::read_to_string(MOUNTINFO)?))
}

/// Where the calling process's mount table is.
pub const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Undo mountinfo's escapes: the kernel writes space, tab, newline and
/// backslash as `\ooo` (three octal digits; fs/proc_namespace.c
/// mangle()). A backslash not followed by three octal digits of a byte
/// value (at most `\377`) stands for itself.
pub fn unescape(s: &str) -> OsString {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b.get(i + 1..i + 4).filter(|d| {
            (b'0'..=b'3').contains(&d[0]) && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
        });
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |v, c| (v << 3) | (c - b'0')));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    OsString::from_vec(out)
}

/// A line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine<'a> {
    /// The hierarchy's id: "0" for cgroup v2.
    pub id: &'a str,
    /// The v1 hierarchy's controllers ("cpu,cpuacct", "name=systemd");
    /// empty for cgroup v2.
    pub controllers: &'a str,
    /// The process's cgroup in that hierarchy, as seen from the reader's
    /// cgroup namespace.
    pub path: &'a str,
}

impl CgroupLine<'_> {
    /// Whether the line is cgroup v2's (the unified hierarchy).
    pub fn unified(&self) -> bool {
        self.id == "0" && self.controllers.is_empty()
    }

    /// Whether the hierarchy of the line has controller `c`.
    pub fn has(&self, c: &str) -> bool {
        self.controllers.split(',').any(|x| x == c)
    }
}

/// Parse /proc/PID/cgroup; malformed lines are left out. The path is the
/// rest of the line: it may hold ':'.
pub fn cgroups(text: &str) -> Vec<CgroupLine<'_>> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            Some(CgroupLine {
                id: f.next()?,
                controllers: f.next()?,
                path: f.next()?.trim_end(),
            })
        })
        .collect()
}

/// The cgroup v2 path of /proc/PID/cgroup text: its "0::" line.
pub fn unified_cgroup(text: &str) -> Option<&str> {
    cgroups(text)
        .into_iter()
        .find(CgroupLine::unified)
        .map(|l| l.path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// What the kernel writes for a path (fs/proc_namespace.c mangle()).
    fn escape(b: &[u8]) -> String {
        let mut out = Vec::new();
        for &c in b {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\\') {
                out.extend(format!("\\{c:03o}").bytes());
            } else {
                out.push(c);
            }
        }
        String::from_utf8(out).expect("a UTF-8 path")
    }

    #[test]
    fn unescape_examples() {
        assert_eq!(unescape("/sys/fs/cgroup"), "/sys/fs/cgroup");
        assert_eq!(unescape("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape("/t\\011n\\012"), "/t\tn\n");
        // Not three octal digits: as it is.
        assert_eq!(unescape("/x\\04"), "/x\\04");
        assert_eq!(unescape("/x\\08a"), "/x\\08a");
        assert_eq!(unescape("\\"), "\\");
        // Above a byte: as it is (the kernel never writes it).
        assert_eq!(unescape("\\777"), "\\777");
        assert_eq!(unescape("\\377").as_bytes(), [0xff]);
    }

    #[test]
    fn stat_of_odd_names() {
        let line = |comm: &str, state: char, start: u64| {
            format!("42 ({comm}) {state} 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {start} 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n")
        };
        for comm in ["sh", "a) b (c", "a b", "x\ny", ")", ") S 1 2 3", ""] {
            assert_eq!(
                parse_stat(&line(comm, 'S', 123)),
                Some(Stat {
                    state: 'S',
                    start_time: 123
                }),
                "{comm:?}"
            );
        }
        assert_eq!(parse_stat(&line("z", 'Z', 7)).unwrap().state, 'Z');
        assert_eq!(parse_stat("42 (sh) S 1 2"), None);
        assert_eq!(parse_stat("42 sh S"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn own_stat_is_alive() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert!(s.state != 'Z' && s.state != 'X', "{s:?}");
        assert!(alive(me, s.start_time));
        // Control: another start time is another process.
        assert!(!alive(me, s.start_time + 1));
    }

    #[test]
    fn mountinfo_lines() {
        let text = "\
24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw
35 30 0:30 /sub /mnt/a\\040b rw,nosuid shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate
36 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
garbage
";
        let m = mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].root, Path::new("/sub"));
        assert_eq!(m[1].mount_point, Path::new("/mnt/a b"));
        assert_eq!(m[1].mount_options, "rw,nosuid");
        assert_eq!(m[1].fstype, "cgroup2");
        assert_eq!(m[1].super_options, "rw,nsdelegate");
        assert_eq!(m[2].super_options, "rw,memory");
        assert!(!own_mounts().unwrap().is_empty());
    }

    #[test]
    fn cgroup_lines() {
        let text = "9:name=systemd:/\n4:memory:/x\n2:cpu,cpuacct:/a:b\n0::/user.slice/a.scope\n";
        let l = cgroups(text);
        assert_eq!(l.len(), 4);
        assert!(l[2].has("cpuacct") && !l[2].has("cpu,cpuacct") && !l[2].unified());
        assert_eq!(l[2].path, "/a:b");
        assert!(l[3].unified());
        assert_eq!(unified_cgroup(text), Some("/user.slice/a.scope"));
        assert_eq!(unified_cgroup("0::/\n"), Some("/"));
        assert_eq!(unified_cgroup("4:memory:/x\n1:cpu:/\n"), None);
    }

    proptest! {
        /// Whatever bytes a path holds, what the kernel writes for it
        /// reads back as the path.
        #[test]
        fn unescape_undoes_the_kernels_escape(path in "([ \t\n\\\\0-7]|[^\x00]){0,40}") {
            // Weighted to what is escaped and to octal digits after it.
            let back = unescape(&escape(path.as_bytes()));
            prop_assert_eq!(back.as_bytes(), path.as_bytes());
        }

        /// Any text: no panic, and never longer than it was.
        #[test]
        fn unescape_any_text(s in ".*") {
            prop_assert!(unescape(&s).len() <= s.len());
        }

        /// A mountinfo line for any mount point reads back its fields.
        #[test]
        fn mountinfo_line_round_trip(path in "/[^\\x00]{0,30}", fstype in "[a-z0-9]{1,8}") {
            let line = format!("40 1 0:30 / {} rw,nosuid - {fstype} src rw,x\n", escape(path.as_bytes()));
            let m = mountinfo(&line);
            prop_assert_eq!(m.len(), 1);
            prop_assert_eq!(m[0].mount_point.as_os_str().as_bytes(), path.as_bytes());
            prop_assert_eq!(&m[0].fstype, &fstype);
        }

        /// The command name is anything but NUL (the kernel truncates it
        /// to 15 bytes; longer is no harder): the state and start time
        /// still come out.
        #[test]
        fn stat_with_any_comm(comm in "[^\\x00]{0,32}", state in "[RSDZXTtWIP]", start in any::<u64>()) {
            let line = format!("7 ({comm}) {state} 1 7 7 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {start} 1000 200 0\n");
            let s = parse_stat(&line).unwrap();
            prop_assert_eq!(s.state.to_string(), state);
            prop_assert_eq!(s.start_time, start);
        }
    }
}
