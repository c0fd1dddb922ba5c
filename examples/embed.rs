//! A program that embeds sandbox: runs a command in a rootfs and prints
//! how it ended as JSON.
//!
//!     cargo run --example embed -- ./rootfs /bin/sh -c 'echo hi; exit 3'

use std::time::Duration;

fn main() {
    // First thing: when this process is a sandbox's re-exec'd second
    // stage, init() runs it and never returns.
    sandbox::init();

    let mut args = std::env::args_os().skip(1);
    let (Some(rootfs), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: embed ROOTFS COMMAND [ARG...]");
        std::process::exit(2);
    };
    let mut cmd = sandbox::Command::new(rootfs, program);
    cmd.args(args)
        .timeout(Duration::from_secs(60))
        .on_notice(|n| eprintln!("embed: {n}"));
    match cmd.spawn() {
        Ok(mut child) => {
            let report = child.wait();
            println!("{}", report.json());
            std::process::exit(report.status.into());
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(e.exit.into());
        }
    }
}
