//! Fuzz target: sandbox-oci's command line (runc's, oci/cli.rs), as
//! podman, containerd or a user may write it: global flags, every
//! subcommand, their flags in `--flag value`, `--flag=value` and `-flag`
//! spellings, ids that are valid or not, and bytes that are not UTF-8.
//! Parsing gives a command or an error on one plain line, never a panic.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use proptest::prelude::*;

use super::parse;
use crate::fuzz::check;

fn word() -> impl Strategy<Value = OsString> {
    let words = vec![
        "create",
        "start",
        "run",
        "state",
        "kill",
        "delete",
        "exec",
        "ps",
        "list",
        "features",
        "spec",
        "init",
        "pause",
        "resume",
        "update",
        "checkpoint",
        "--root",
        "--log",
        "--log-format",
        "--debug",
        "--systemd-cgroup",
        "--rootless",
        "--criu",
        "--version",
        "-v",
        "--help",
        "-h",
        "--bundle",
        "-b",
        "--pid-file",
        "--console-socket",
        "--preserve-fds",
        "--no-pivot",
        "--no-new-keyring",
        "--force",
        "-f",
        "--all",
        "-a",
        "--process",
        "-p",
        "--tty",
        "-t",
        "--detach",
        "-d",
        "--cwd",
        "--env",
        "-e",
        "--user",
        "-u",
        "--cap",
        "-c",
        "--format",
        "--additional-gids",
        "-g",
        "--no-new-privs",
        "--",
        "-",
        "id",
        "c1",
        "..",
        ".",
        "a/b",
        "/tmp",
        "json",
        "table",
        "9",
        "KILL",
        "SIGTERM",
        "0",
        "-1",
        "4294967296",
        "true",
        "false",
        "--debug=false",
        "--log-format=json",
        "--preserve-fds=3",
        "--root=/tmp/x",
        "",
    ];
    prop_oneof![
        8 => prop::sample::select(words).prop_map(OsString::from),
        1 => any::<String>().prop_map(OsString::from),
        1 => prop::collection::vec(1u8.., 0..6).prop_map(OsString::from_vec),
    ]
}

#[test]
fn any_argv_parses_or_is_an_error() {
    check(file!(), 512, prop::collection::vec(word(), 0..10), |argv| {
        if let Err(e) = parse(argv) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("sandbox: "), "{}", msg);
            prop_assert!(!msg.chars().any(char::is_control), "{:?}", msg);
        }
        Ok(())
    });
}
