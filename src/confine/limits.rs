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
/// (`as _`: the RLIMIT_ constants are unsigned in glibc, int in musl.)
pub const RESOURCES: &[Resource] = &[
    r("as", libc::RLIMIT_AS as _, "bytes"),
    r("core", libc::RLIMIT_CORE as _, "bytes"),
    r("cpu", libc::RLIMIT_CPU as _, "seconds"),
    r("data", libc::RLIMIT_DATA as _, "bytes"),
    r("fsize", libc::RLIMIT_FSIZE as _, "bytes"),
    r("locks", libc::RLIMIT_LOCKS as _, "locks"),
    r("memlock", libc::RLIMIT_MEMLOCK as _, "bytes"),
    r("msgqueue", libc::RLIMIT_MSGQUEUE as _, "bytes"),
    r("nice", libc::RLIMIT_NICE as _, "(20 - nice)"),
    r("nofile", libc::RLIMIT_NOFILE as _, "files"),
    r("nproc", libc::RLIMIT_NPROC as _, "processes"),
    r("rss", libc::RLIMIT_RSS as _, "bytes"),
    r("rtprio", libc::RLIMIT_RTPRIO as _, "priority"),
    r("rttime", libc::RLIMIT_RTTIME as _, "microseconds"),
    r("sigpending", libc::RLIMIT_SIGPENDING as _, "signals"),
    r("stack", libc::RLIMIT_STACK as _, "bytes"),
];

/// RLIM_INFINITY.
pub const UNLIMITED: u64 = u64::MAX;

/// The two resources other code compares with, as the table's u32 (libc
/// has them as u32 on glibc and c_int on musl; a typed constant keeps the
/// comparisons unambiguous now that serde_json adds PartialEq impls).
pub const RLIMIT_CPU: u32 = libc::RLIMIT_CPU as _;
pub const RLIMIT_CORE: u32 = libc::RLIMIT_CORE as _;

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
    if l.resource().resource == RLIMIT_CPU && l.value != UNLIMITED {
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

/// A size for --memory and the tmpfs caps: a number of bytes with an
/// optional K, M or G (powers of 1024); never 0 or `unlimited`.
pub fn parse_size(opt: &str, v: &str) -> Result<u64, String> {
    match parse_value(v) {
        Some(n) if n > 0 && n != UNLIMITED => Ok(n),
        _ => Err(format!(
            "{opt}: {v:?} is not a size (a number above 0 with an optional K, M or G)"
        )),
    }
}

/// The longest --timeout or --kill-after we take: 100 years is forever.
const MAX_SECONDS: u64 = 100 * 365 * 24 * 3600;

/// `--timeout` and `--kill-after`: seconds with an optional fraction and an
/// optional unit, s, m, h or d (as GNU timeout takes them). Exact: parsed as
/// decimal digits, never through a float.
pub fn parse_duration(opt: &str, v: &str) -> Result<std::time::Duration, String> {
    let bad = || {
        format!("{opt}: {v:?} is not a duration (seconds, with an optional fraction and unit s, m, h or d: 10, 0.5, 2m)")
    };
    let (num, mult) = match v.as_bytes().last() {
        Some(b's') => (&v[..v.len() - 1], 1),
        Some(b'm') => (&v[..v.len() - 1], 60),
        Some(b'h') => (&v[..v.len() - 1], 3600),
        Some(b'd') => (&v[..v.len() - 1], 86400),
        _ => (v, 1),
    };
    let Some((int, frac)) = split_decimal(num) else {
        return Err(bad());
    };
    if (int.is_empty() && frac.is_empty()) || frac.len() > 9 {
        return Err(bad());
    }
    let secs: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let nanos = scaled_fraction(frac, 9);
    // (secs + nanos/1e9) * mult, kept exact in nanoseconds.
    let total = (secs as u128 * 1_000_000_000 + nanos as u128) * mult as u128;
    if total > MAX_SECONDS as u128 * 1_000_000_000 {
        return Err(format!("{opt}: {v:?} is longer than 100 years"));
    }
    Ok(std::time::Duration::new(
        (total / 1_000_000_000) as u64,
        (total % 1_000_000_000) as u32,
    ))
}

/// A duration as `parse_duration` reads it back: "1.5", "0", "120".
pub fn show_duration(d: std::time::Duration) -> String {
    show_decimal(d.as_secs(), d.subsec_nanos().into(), 9)
}

/// `int.frac` with decimal digits only on both sides (either may be empty,
/// as may the dot); `None` for anything else.
fn split_decimal(v: &str) -> Option<(&str, &str)> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (digits(int) && digits(frac)).then_some((int, frac))
}

/// The digits after the dot in units of 10^-places ("25", 3 → 250). The
/// caller has checked that `frac` holds at most `places` digits.
fn scaled_fraction(frac: &str, places: usize) -> u64 {
    format!("{frac:0<places$}").parse().unwrap_or(0)
}

/// `whole.frac`, `frac` in units of 10^-places, without trailing zeros
/// (and without the dot when nothing is left after it).
fn show_decimal(whole: u64, frac: u64, places: usize) -> String {
    let frac = format!("{frac:0places$}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    }
}

/// `--cpus`: how many CPUs' worth of time, in thousandths (1.5 → 1500);
/// at least 0.01, as cgroup v2's cpu.max takes no quota under 1 ms per
/// 100 ms period.
pub fn parse_cpus(v: &str) -> Result<u32, String> {
    let bad = || format!("--cpus: {v:?} is not a number of CPUs (such as 0.5, 1 or 2.25)");
    let Some((int, frac)) = split_decimal(v) else {
        return Err(bad());
    };
    if int.is_empty() || int.len() > 6 {
        return Err(bad());
    }
    if frac.len() > 3 {
        return Err(format!("--cpus: {v:?} has more than 3 decimals"));
    }
    let milli = int.parse::<u32>().map_err(|_| bad())? * 1000 + scaled_fraction(frac, 3) as u32;
    if milli < 10 {
        return Err(format!(
            "--cpus: {v:?} is below the least cgroup v2 takes, 0.01"
        ));
    }
    Ok(milli)
}

pub fn show_cpus(milli: u32) -> String {
    show_decimal((milli / 1000).into(), (milli % 1000).into(), 3)
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

    #[test]
    fn durations_are_exact() {
        use std::time::Duration;
        let d = |v| parse_duration("--timeout", v);
        assert_eq!(d("10").unwrap(), Duration::from_secs(10));
        assert_eq!(d("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(d(".25s").unwrap(), Duration::from_millis(250));
        assert_eq!(d("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(d("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(d("0").unwrap(), Duration::ZERO);
        assert_eq!(d("0.000000001").unwrap(), Duration::from_nanos(1));
        for bad in [
            "",
            ".",
            "s",
            "-1",
            "1e3",
            "1.2.3",
            "1x",
            "0.0000000001",
            "99999999999d",
            " 1",
        ] {
            assert!(d(bad).is_err(), "{bad:?}");
        }
        assert!(d("x").unwrap_err().starts_with("--timeout: "));
    }

    #[test]
    fn cpus_and_sizes() {
        assert_eq!(parse_cpus("1").unwrap(), 1000);
        assert_eq!(parse_cpus("0.5").unwrap(), 500);
        assert_eq!(parse_cpus("2.25").unwrap(), 2250);
        assert_eq!(parse_cpus("0.01").unwrap(), 10);
        for bad in [
            "", "0", "0.009", ".5", "1.0001", "-1", "1e2", "x", "9999999",
        ] {
            assert!(parse_cpus(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_size("--memory", "64M").unwrap(), 64 << 20);
        for bad in ["0", "unlimited", "", "1.5G", "-1"] {
            assert!(parse_size("--memory", bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn shown_durations_parse_back(secs in 0..MAX_SECONDS, nanos in 0u32..1_000_000_000) {
            let d = std::time::Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration("--timeout", &show_duration(d)).unwrap(), d);
        }

        #[test]
        fn shown_cpus_parse_back(milli in 10u32..1_000_000) {
            prop_assert_eq!(parse_cpus(&show_cpus(milli)).unwrap(), milli);
        }

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
