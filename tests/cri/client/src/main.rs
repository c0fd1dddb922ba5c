//! sandbox-cri-client: the CRI client of `make test-cri` and `make bench`
//! (tests/cri/run sets up containerd, the images and the environment).
//!
//!   sandbox-cri-client --socket PATH cases [CASE...]
//!   sandbox-cri-client --socket PATH bench [RUNS]
//!   sandbox-cri-client --socket PATH cleanup
//!
//! `cases` runs each case on every handler of CRI_HANDLERS in order (runc,
//! the control, first), prints a line per case and handler as it goes,
//! then a table and "total: N passed, N failed, N skipped". A case that
//! compares what the container sees with runc's (the security context)
//! compares ours with runc's answers of the same run.
//!
//! Environment (tests/cri/run sets it): CRI_WORK (a directory for logs,
//! host paths), CRI_CGROUP_PARENT (the pods' cgroup parent, one per run),
//! CRI_IMAGE (BusyBox), CRI_HOSTILE_IMAGE, CRI_HANDLERS.

mod cases;
mod cri;
mod ws;

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (socket, rest) = match args.as_slice() {
        [flag, socket, rest @ ..] if flag == "--socket" => (socket.clone(), rest.to_vec()),
        _ => usage(),
    };
    let ctx = match cri::Ctx::connect(&socket).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sandbox-cri-client: {e}");
            std::process::exit(1);
        }
    };
    match rest.first().map(String::as_str) {
        Some("cases") => {
            let code = cases::run_all(&ctx, &rest[1..]).await;
            std::process::exit(code);
        }
        Some("bench") => {
            let runs = rest
                .get(1)
                .map(|r| r.parse().unwrap_or_else(|_| usage()))
                .unwrap_or(20);
            let code = cases::bench(&ctx, runs).await;
            std::process::exit(code);
        }
        Some("cleanup") => {
            ctx.remove_all_pods(Duration::from_secs(60)).await;
        }
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: sandbox-cri-client --socket PATH cases [CASE...] | bench [RUNS] | cleanup\n\
         cases: {}",
        cases::NAMES.join(" ")
    );
    std::process::exit(2);
}
