//! uid_map / gid_map lines. Pure: no system calls.
//!
//! A line is `inside outside count`: ids `inside..inside+count` in the new
//! namespace stand for `outside..outside+count` in the parent one.
//! Ref: user_namespaces(7), "User and group ID mappings: uid_map and gid_map"

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl IdMap {
    /// The single mapping a rootless launcher may write: one id inside for
    /// the caller's own id outside.
    pub fn single(inside: u32, outside: u32) -> Self {
        IdMap {
            inside,
            outside,
            count: 1,
        }
    }

    /// Parse one line as the kernel prints it (fields separated by runs of
    /// spaces, optional trailing newline); the tests read maps back with it.
    #[cfg(test)]
    pub fn parse_line(line: &str) -> Result<IdMap, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [inside, outside, count] = fields[..] else {
            return Err(format!("expected 3 fields in id map line {line:?}"));
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("bad number {s:?} in id map line {line:?}"))
        };
        let m = IdMap {
            inside: num(inside)?,
            outside: num(outside)?,
            count: num(count)?,
        };
        m.check()?;
        Ok(m)
    }

    /// The kernel's own limits: a non-empty range that does not wrap, and
    /// never maps the invalid id 4294967295. Ref: kernel/user_namespace.c
    #[cfg(test)]
    pub fn check(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("id map range is empty".into());
        }
        let last = |start: u32| start.checked_add(self.count - 1);
        match (last(self.inside), last(self.outside)) {
            (Some(a), Some(b)) if a != u32::MAX && b != u32::MAX => Ok(()),
            _ => Err(format!("id map range {self} runs past the last valid id")),
        }
    }
}

impl fmt::Display for IdMap {
    /// The line written to /proc/PID/{uid,gid}_map.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.inside, self.outside, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_mapping_line() {
        assert_eq!(IdMap::single(0, 1000).to_string(), "0 1000 1");
    }

    #[test]
    fn parses_kernel_output() {
        let m = IdMap::parse_line("         0      65534          1\n").unwrap();
        assert_eq!(m, IdMap::single(0, 65534));
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "",
            "0 1",
            "0 1 2 3",
            "a 1 1",
            "0 1 0",
            "-1 0 1",
            "4294967295 0 1",
            "0 4294967294 2",
        ] {
            assert!(IdMap::parse_line(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn valid_maps_round_trip(inside in 0u32..u32::MAX, outside in 0u32..u32::MAX, count in 1u32..1000) {
            let m = IdMap { inside, outside, count };
            prop_assume!(m.check().is_ok());
            prop_assert_eq!(IdMap::parse_line(&m.to_string()).unwrap(), m);
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = IdMap::parse_line(&s);
        }
    }
}
