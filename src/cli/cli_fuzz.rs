//! Fuzz target: the `sandbox` command line (cli/mod.rs).
//!
//! argv is built from the words the parser knows (every subcommand, every
//! option of `run` and `exec` in its long, short and `--opt=value`
//! spellings), values that are valid, borderline or hostile (huge numbers,
//! empty, relative paths, NUL-free bytes that are not UTF-8) and `--`.
//! Properties:
//! - parsing gives a command or a usage error (exit 125, one plain line
//!   starting `sandbox: `), never a panic;
//! - whatever parses as `run` is what its canonical argv
//!   (`RunArgs::to_args`) parses to again: no option is lost or changed
//!   between what the user wrote and what the tool understood.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use proptest::prelude::*;

use super::{parse_with, profile::Memory, Cmd, ToArgs, RUN_OPTIONS};
use crate::fuzz::check;

fn word() -> impl Strategy<Value = OsString> {
    let mut names: Vec<String> = Vec::new();
    for o in RUN_OPTIONS {
        names.push(o.long.to_string());
        if let Some(c) = o.short {
            names.push(format!("-{c}"));
        }
    }
    let values = vec![
        "0",
        "1",
        "-1",
        "5",
        "65535",
        "4294967295",
        "4294967296",
        "18446744073709551616",
        "1.5",
        "10s",
        "1m",
        "0s",
        "",
        " ",
        "on",
        "off",
        "auto",
        "require",
        "tty",
        "inherit",
        "relay",
        "/",
        "/tmp",
        "/a:/b",
        "a:/b",
        "/a:b",
        ":",
        "A=b",
        "=x",
        "A",
        "sandbox",
        "a-b",
        "-a",
        "64m",
        "1g",
        "nofile=10",
        "nofile=10:20",
        "cpu=1",
        "x=1",
        "memory=1g",
        "pids=10",
        "none",
        "host",
        "pasta",
        "8080:80",
        "127.0.0.1:8080:80/udp",
        "name",
        "./rootfs",
    ];
    let subcommands = vec![
        "run",
        "exec",
        "ps",
        "kill",
        "stop",
        "logs",
        "images",
        "man",
        "completions",
        "profile",
        "show",
        "list",
        "doctor",
        "child",
        "help",
        "--help",
        "-h",
        "--version",
        "-V",
        "--",
    ];
    prop_oneof![
        4 => prop::sample::select(names.clone()).prop_map(OsString::from),
        2 => (prop::sample::select(names), prop::sample::select(values.clone()))
            .prop_map(|(n, v)| OsString::from(format!("{n}={v}"))),
        4 => prop::sample::select(values).prop_map(OsString::from),
        2 => prop::sample::select(subcommands).prop_map(OsString::from),
        1 => any::<String>().prop_map(OsString::from),
        1 => prop::collection::vec(1u8.., 0..6).prop_map(OsString::from_vec),
    ]
}

fn argv() -> impl Strategy<Value = Vec<OsString>> {
    (
        prop::sample::select(vec![
            "run",
            "run",
            "run",
            "exec",
            "ps",
            "kill",
            "stop",
            "logs",
            "images",
            "completions",
        ]),
        prop::collection::vec(word(), 0..10),
    )
        .prop_map(|(first, rest)| {
            let mut v = vec![OsString::from(first)];
            v.extend(rest);
            v
        })
}

#[test]
fn any_argv_parses_or_is_a_usage_error() {
    let input = prop_oneof![argv(), prop::collection::vec(word(), 0..10)];
    // Every --profile names this one: a later option of the command line
    // replaces or adds to what it sets.
    let profiles = Memory {
        files: Vec::new(),
        any: Some(
            "hostname = \"fz\"\ntmpfs = [\"~\"]\nbind = [\"/a\"]\nread-only = true\npids = 5\n",
        ),
    };
    let parse = |argv| parse_with(argv, &profiles);
    check(file!(), 512, input, |argv| {
        match parse(argv) {
            // The notices (options after COMMAND, hidden binds) are about
            // how it was written; the canonical argv must mean the same run.
            Ok(Cmd::Run(r, _)) => {
                let mut again = vec![OsString::from("run")];
                again.extend(r.to_args());
                let back = parse(again.clone());
                prop_assert!(
                    matches!(&back, Ok(Cmd::Run(b, _)) if *b == r),
                    "run parsed to {:?}, whose argv {:?} parses to {:?}",
                    r,
                    again,
                    back
                );
            }
            Ok(_) => {}
            Err(e) => {
                prop_assert_eq!(e.exit, 125);
                let msg = e.to_string();
                prop_assert!(msg.starts_with("sandbox: "), "{}", msg);
                prop_assert!(!msg.chars().any(char::is_control), "{:?}", msg);
            }
        }
        Ok(())
    });
}
