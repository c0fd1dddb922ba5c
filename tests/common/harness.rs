//! The integration tests' own runner (`harness = false` in Cargo.toml):
//! libtest reports a test that returned early after `skip()` as `ok` and
//! counts it as passed. Here it is `skipped`, and the closing line counts
//! it among the ignored, in libtest's own shape, so `make test` (and any
//! reader of cargo's output) can add the runs up. libtest-mimic was
//! considered: it can only ignore a test before running it, and our tests
//! find out that the kernel lacks a feature while they run.
//!
//! Arguments, as libtest's: substrings to filter on (`--exact` for whole
//! names), `--list`, `--test-threads N` (or RUST_TEST_THREADS); the rest
//! (`--nocapture`, `--quiet`, …) are accepted and ignored. Output is not
//! captured.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A test: its name and its function.
pub type Test = (&'static str, fn());

/// A test whose body is a closure (tests/library.rs passes the rootfs).
pub type Case = (&'static str, Box<dyn Fn() + Sync>);

thread_local! {
    /// What `skip()` said during the test running on this thread.
    static SKIPPED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Called by `common::skip`: the running test (or a part of it) did not
/// run here.
pub fn note_skip(reason: &str) {
    SKIPPED.with(|s| s.borrow_mut().push(reason.to_string()));
}

enum Outcome {
    Ok,
    Skipped(Vec<String>),
    Failed,
}

/// Run `tests` (of the file `source`) as libtest would, then exit: 0 when
/// none failed, 101 otherwise.
pub fn main(source: &str, tests: &[Test]) -> ! {
    refuse_unlisted(source);
    let boxed: Vec<Case> = tests
        .iter()
        .map(|(n, f)| (*n, Box::new(*f) as Box<dyn Fn() + Sync>))
        .collect();
    run(&boxed, false)
}

/// With `harness = false`, a function marked `#[test]` is compiled out
/// and would never run: refuse the file instead (when its source is here
/// to read; the kernel-matrix guest has only the binaries).
fn refuse_unlisted(source: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if text.lines().any(|l| l.trim() == "#[test]") {
            eprintln!(
                "{source}: a #[test] function would never run under this harness: \
                 drop the attribute and list it in tests![...] at the end of the file"
            );
            std::process::exit(101);
        }
    }
}

/// Run named tests; `main`'s engine, also for tests that are closures
/// (tests/library.rs). `serial`: one at a time, whatever the arguments
/// say (for tests that check the whole process, such as its children).
pub fn run(tests: &[Case], serial: bool) -> ! {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = Vec::new();
    let mut exact = false;
    let mut list = false;
    let mut threads = std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--test-threads" => threads = it.next().and_then(|v| v.parse().ok()).unwrap_or(threads),
            s if s.starts_with("--test-threads=") => {
                threads = s["--test-threads=".len()..].parse().unwrap_or(threads)
            }
            s if s.starts_with('-') => {}
            s => filters.push(s.to_string()),
        }
    }
    let chosen: Vec<&Case> = tests
        .iter()
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        name == f
                    } else {
                        name.contains(f.as_str())
                    }
                })
        })
        .collect();
    if list {
        for (name, _) in &chosen {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    if serial {
        threads = 1;
    }
    let filtered_out = tests.len() - chosen.len();
    println!("\nrunning {} tests", chosen.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(&'static str, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, chosen.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((name, f)) = chosen.get(i) else {
                    break;
                };
                SKIPPED.with(|s| s.borrow_mut().clear());
                let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    Err(_) => Outcome::Failed,
                    Ok(()) => match SKIPPED.with(|s| std::mem::take(&mut *s.borrow_mut())) {
                        v if v.is_empty() => Outcome::Ok,
                        v => Outcome::Skipped(v),
                    },
                };
                match &outcome {
                    Outcome::Ok => println!("test {name} ... ok"),
                    Outcome::Failed => println!("test {name} ... FAILED"),
                    Outcome::Skipped(why) => {
                        println!("test {name} ... skipped: {}", why.join("; "))
                    }
                }
                results.lock().unwrap().push((name, outcome));
            });
        }
    });
    let results = results.into_inner().unwrap();
    let count = |f: fn(&Outcome) -> bool| results.iter().filter(|(_, o)| f(o)).count();
    let passed = count(|o| matches!(o, Outcome::Ok));
    let failed = count(|o| matches!(o, Outcome::Failed));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    if failed > 0 {
        println!("\nfailures:");
        for (name, _) in results.iter().filter(|(_, o)| matches!(o, Outcome::Failed)) {
            println!("    {name}");
        }
    }
    super::cleanup();
    // libtest's closing line; a skipped test is counted as ignored.
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; {skipped} ignored; 0 measured; {filtered_out} filtered out; finished in {:.2}s\n",
        if failed == 0 { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if failed == 0 { 0 } else { 101 });
}

/// `fn main` for a test file: its tests, listed once.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        fn main() {
            common::harness::main(file!(), &[$((stringify!($name), $name as fn())),*]);
        }
    };
}
