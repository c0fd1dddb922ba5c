//! Property tests that are also fuzz targets (tests only).
//!
//! Each parser of untrusted input has a file of properties beside it
//! (image/unpack_fuzz.rs, image/oci_fuzz.rs, channel_fuzz.rs,
//! oci/config_fuzz.rs, oci/cli_fuzz.rs, and the binary's cli/cli_fuzz.rs).
//! Under `make test` each property runs a modest number of cases, from a
//! fixed seed (the same verdict on every run and machine). Under
//! `make fuzz` (tools/fuzz) FUZZ_SECONDS is set and each property runs
//! round after round of fresh random cases until that much time has
//! passed. Stable Rust only: no cargo-fuzz, no libFuzzer.
//!
//! A failure is shrunk and its seed saved under proptest-regressions/ (the
//! path of the source file, `.txt`), which is committed: every later run
//! replays it first.
//!
//! Compiled into the library's tests and, through a `#[path]`, into the
//! binary's.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseResult, TestRng, TestRunner};

/// Run `test` on values of `strategy`: `cases` of them, or, when
/// FUZZ_SECONDS is set, rounds of `cases` until that many seconds have
/// passed. `source_file` is the caller's `file!()`, which names the
/// regressions file. Panics with the shrunk failing value.
pub fn check<S>(
    source_file: &'static str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) where
    S: Strategy,
    S::Value: Debug,
{
    let budget = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let config = Config {
        cases,
        source_file: Some(source_file),
        ..Config::default()
    };
    let name = std::thread::current()
        .name()
        .unwrap_or("a property")
        .to_string();
    let start = Instant::now();
    let mut rounds = 0u64;
    loop {
        // Under `make fuzz` a fresh runner draws a fresh random seed each
        // round. Under `make test` the seed is fixed: the suite gives the
        // same verdict on every run and machine (a CI run is never the
        // first to draw a new failing case; finding those is make fuzz's
        // job), and the saved regressions are replayed first either way.
        let mut runner = match budget {
            Some(_) => TestRunner::new(config.clone()),
            None => TestRunner::new_with_rng(
                config.clone(),
                TestRng::deterministic_rng(config.rng_algorithm),
            ),
        };
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: {e}");
        }
        rounds += 1;
        match budget {
            Some(b) if start.elapsed() < b => continue,
            _ => break,
        }
    }
    if budget.is_some() {
        eprintln!(
            "{name}: {} cases in {:.0?}, no failure",
            rounds * u64::from(cases),
            start.elapsed()
        );
    }
}
