//! Resource limits: `--limit NAME=VALUE`, names as prlimit(1) spells them.
//! Parsing is pure (unit- and proptest-tested); the child stage applies the
//! limits with setrlimit just before it drops its capabilities.

/// One resource: its prlimit(1) name, the RLIMIT_ constant, and the unit
/// a bare number is in (for messages and docs).
pub struct Resource {
    pub name: &'static str,
    pub resource: u32,
    pub unit: &'static str,
}

const fn r(name: &'static str, resource: u32, unit: &'static str) -> Resource {
    Resource {
        name,
        resource,
        unit,
    }
}

/// Every resource prlimit(1) names. Ref: getrlimit(2), prlimit(1)
pub const RESOURCES: &[Resource] = &[
    r("as", libc::RLIMIT_AS, "bytes"),
    r("core", libc::RLIMIT_CORE, "bytes"),
    r("cpu", libc::RLIMIT_CPU, "seconds"),
    r("data", libc::RLIMIT_DATA, "bytes"),
    r("fsize", libc::RLIMIT_FSIZE, "bytes"),
    r("locks", libc::RLIMIT_LOCKS, "locks"),
    r("memlock", libc::RLIMIT_MEMLOCK, "bytes"),
    r("msgqueue", libc::RLIMIT_MSGQUEUE, "bytes"),
    r("nice", libc::RLIMIT_NICE, "(20 - nice)"),
    r("nofile", libc::RLIMIT_NOFILE, "files"),
    r("nproc", libc::RLIMIT_NPROC, "processes"),
    r("rss", libc::RLIMIT_RSS, "bytes"),
    r("rtprio", libc::RLIMIT_RTPRIO, "priority"),
    r("rttime", libc::RLIMIT_RTTIME, "microseconds"),
    r("sigpending", libc::RLIMIT_SIGPENDING, "signals"),
    r("stack", libc::RLIMIT_STACK, "bytes"),
];

/// RLIM_INFINITY.
pub const UNLIMITED: u64 = u64::MAX;

/// A parsed `--limit`: index into RESOURCES and the value, soft = hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub index: u8,
    pub value: u64,
}

impl Limit {
    pub fn resource(&self) -> &'static Resource {
        &RESOURCES[self.index as usize]
    }

    pub fn named(name: &str, value: u64) -> Limit {
        let index = RESOURCES
            .iter()
            .position(|r| r.name == name)
            .expect("a known resource") as u8;
        Limit { index, value }
    }
}

/// `NAME=VALUE`: VALUE is a number with an optional K, M or G (powers of
/// 1024), or `unlimited`.
pub fn parse(s: &str) -> Result<Limit, String> {
    let names = || {
        RESOURCES
            .iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((name, value)) = s.split_once('=') else {
        return Err(format!("--limit wants NAME=VALUE, got {s:?}"));
    };
    let Some(index) = RESOURCES.iter().position(|r| r.name == name) else {
        return Err(format!(
            "--limit: unknown resource {name:?} (known: {})",
            names()
        ));
    };
    let value = parse_value(value).ok_or_else(|| {
        format!(
            "--limit {name}: {value:?} is not a number with an optional K, M or G, or 'unlimited'"
        )
    })?;
    Ok(Limit {
        index: index as u8,
        value,
    })
}

fn parse_value(v: &str) -> Option<u64> {
    if v == "unlimited" || v == "infinity" {
        return Some(UNLIMITED);
    }
    let (digits, shift) = match v.as_bytes().last()? {
        b'K' | b'k' => (&v[..v.len() - 1], 10),
        b'M' | b'm' => (&v[..v.len() - 1], 20),
        b'G' | b'g' => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let value = n.checked_mul(1u64 << shift)?;
    // RLIM_INFINITY is spelled `unlimited`, not as a number.
    (value != UNLIMITED).then_some(value)
}

/// The limits to apply: the ones asked for, plus `core=0` unless core was
/// named (no core dumps of a sandboxed program land in the caller's
/// directory or a host crash handler).
pub fn effective(asked: &[Limit]) -> Vec<Limit> {
    let mut out: Vec<Limit> = Vec::new();
    for l in asked {
        // A later --limit for the same resource wins.
        out.retain(|o| o.index != l.index);
        out.push(*l);
    }
    let core = Limit::named("core", 0);
    if !out.iter().any(|l| l.index == core.index) {
        out.push(core);
    }
    out
}

/// The (soft, hard) pair for a limit, given the current hard limit: both
/// the value asked for, but for cpu, whose hard limit is one second more
/// (when the current one allows it). At the soft limit the kernel sends
/// SIGXCPU, which a program may catch to save its work; at the hard one,
/// SIGKILL.
pub fn soft_hard(l: &Limit, current_hard: u64) -> (u64, u64) {
    if l.resource().resource == libc::RLIMIT_CPU && l.value != UNLIMITED {
        (l.value, l.value.saturating_add(1).min(current_hard))
    } else {
        (l.value, l.value)
    }
}

/// For messages: 1048576 → "1M", u64::MAX → "unlimited".
pub fn show(v: u64) -> String {
    match v {
        UNLIMITED => "unlimited".into(),
        v if v != 0 && v % (1 << 30) == 0 => format!("{}G", v >> 30),
        v if v != 0 && v % (1 << 20) == 0 => format!("{}M", v >> 20),
        v if v != 0 && v % (1 << 10) == 0 => format!("{}K", v >> 10),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_values_and_suffixes() {
        assert_eq!(parse("nofile=64").unwrap(), Limit::named("nofile", 64));
        assert_eq!(parse("fsize=1K").unwrap(), Limit::named("fsize", 1024));
        assert_eq!(parse("as=2M").unwrap(), Limit::named("as", 2 << 20));
        assert_eq!(parse("as=3g").unwrap(), Limit::named("as", 3 << 30));
        assert_eq!(
            parse("cpu=unlimited").unwrap(),
            Limit::named("cpu", UNLIMITED)
        );
        for bad in [
            "nofile",
            "nofile=",
            "=5",
            "bogus=1",
            "nofile=-1",
            "nofile=1.5",
            "nofile=1KB",
            "as=99999999999G",
            "nofile=K",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("bogus=1").unwrap_err().contains("known: as, core"));
    }

    #[test]
    fn core_is_off_unless_asked_and_the_last_wins() {
        let core = |v: &[Limit]| {
            v.iter()
                .find(|l| l.resource().name == "core")
                .map(|l| l.value)
        };
        assert_eq!(core(&effective(&[])), Some(0));
        assert_eq!(core(&effective(&[Limit::named("core", 4096)])), Some(4096));
        let e = effective(&[Limit::named("nofile", 10), Limit::named("nofile", 20)]);
        assert_eq!(
            e.iter().filter(|l| l.resource().name == "nofile").count(),
            1
        );
        assert!(e.contains(&Limit::named("nofile", 20)));
    }

    #[test]
    fn cpu_gets_a_second_of_grace_within_the_hard_limit() {
        assert_eq!(soft_hard(&Limit::named("cpu", 5), UNLIMITED), (5, 6));
        assert_eq!(soft_hard(&Limit::named("cpu", 5), 5), (5, 5));
        assert_eq!(
            soft_hard(&Limit::named("cpu", UNLIMITED), UNLIMITED),
            (UNLIMITED, UNLIMITED)
        );
        assert_eq!(soft_hard(&Limit::named("nofile", 5), 100), (5, 5));
    }

    #[test]
    fn every_resource_is_distinct() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                assert!(a.name != b.name && a.resource != b.resource);
            }
        }
    }

    proptest! {
        #[test]
        fn shown_values_parse_back(index in 0..RESOURCES.len(), v in any::<u64>()) {
            let name = RESOURCES[index].name;
            let l = parse(&format!("{name}={}", show(v))).unwrap();
            prop_assert_eq!(l, Limit { index: index as u8, value: v });
        }

        #[test]
        fn never_panics(s in ".{0,30}") {
            let _ = parse(&s);
        }
    }
}
