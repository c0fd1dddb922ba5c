//! Fuzz target: the tar unpacker (unpack.rs) on hostile archives.
//!
//! Archives are written header by header (the tar crate's builder refuses
//! what an attacker would write): paths with `..`, absolute paths, `.`,
//! whiteouts and names given through GNU long-name and PAX records; every
//! entry type (files, directories, symlinks and hard links pointing
//! anywhere, devices, FIFOs, sparse, contiguous, unknown); any mode
//! (setuid, setgid); sizes that lie; cut short; compressed with gzip or
//! zstd, or with bytes flipped. Each is unpacked into `root`, a directory
//! beside a sentinel, and then:
//! - nothing outside `root` changed (the sentinel and its directory are as
//!   they were, and nothing new is beside them);
//! - the tree holds only regular files, directories and symlinks, none
//!   setuid or setgid, no hard link to a file outside it, and no more
//!   bytes than the limit;
//! - an archive holding an entry refused by itself (`..`, an absolute
//!   path, a device, a FIFO, sparse, setuid/setgid, past the size limit)
//!   fails, and an intact one that fails names an entry in its error, on
//!   one line with no control character (a name or a header can hold any
//!   byte);
//! - an archive cut inside an entry fails;
//! - the unpacker's memory stays bounded.

use std::collections::HashMap;
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;

use super::{clean_path, make_writable, Limits, Tree};
use crate::fuzz::check;
use crate::sys::alloc_meter;

/// The bytes limit of the tree in these tests: a "huge" entry is past it.
const MAX_BYTES: u64 = 1 << 20;
const HUGE: u64 = 1 << 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameVia {
    Header,
    GnuLong,
    Pax,
}

#[derive(Debug, Clone)]
struct Entry {
    path: Vec<u8>,
    via: NameVia,
    kind: u8,
    mode: u32,
    link: Vec<u8>,
    data: Vec<u8>,
    /// Bytes the header claims beyond `data` (0: it tells the truth).
    lie: u64,
}

#[derive(Debug, Clone, Copy)]
enum Wrap {
    Plain,
    Gzip,
    Zstd,
}

#[derive(Debug, Clone)]
struct Case {
    entries: Vec<Entry>,
    oci: bool,
    end_blocks: bool,
    wrap: Wrap,
    /// Cut the (uncompressed) archive at this fraction of its length.
    cut: Option<f64>,
    /// Flip these bytes of the final stream (position fraction, xor).
    flips: Vec<(f64, u8)>,
}

fn component() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b",
        "c",
        "..",
        ".",
        "",
        ".wh.a",
        ".wh.b",
        ".wh..wh..opq",
        ".wh..",
        ".wh...",
        ".wh.",
        "outside",
    ])
}

fn path() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec!["", "", "", "./", "/", "../"]),
        prop::collection::vec(component(), 1..4),
        any::<bool>(),
        prop::option::weighted(0.05, prop::collection::vec(any::<u8>(), 1..6)),
    )
        .prop_map(|(lead, comps, slash, raw)| {
            let mut p = lead.as_bytes().to_vec();
            p.extend_from_slice(comps.join("/").as_bytes());
            if slash {
                p.push(b'/');
            }
            if let Some(r) = raw {
                p.extend(r);
            }
            p
        })
}

fn link_target() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        path(),
        prop::sample::select(vec![
            "/",
            "/etc/passwd",
            "..",
            "../outside/file",
            "a/../../..",
            ""
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn mode() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => prop::sample::select(vec![0o644u32, 0o755, 0o700, 0o1777, 0o000, 0o444]),
        1 => prop::sample::select(vec![0o4755u32, 0o2755, 0o6755]),
        1 => 0u32..0o10000,
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        path(),
        prop_oneof![8 => Just(NameVia::Header), 1 => Just(NameVia::GnuLong), 1 => Just(NameVia::Pax)],
        prop_oneof![
            6 => prop::sample::select(b"0\x00555".to_vec()),
            3 => Just(b'2'),
            3 => Just(b'1'),
            2 => prop::sample::select(b"3467Sg".to_vec()),
            1 => prop::sample::select(b"ZVM".to_vec()),
        ],
        mode(),
        link_target(),
        prop::collection::vec(any::<u8>(), 0..48),
        prop_oneof![12 => Just(0u64), 1 => Just(HUGE), 1 => 1u64..600],
    )
        .prop_map(|(path, via, kind, mode, link, data, lie)| Entry {
            path,
            via,
            kind,
            mode,
            link,
            data,
            lie,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(entry(), 0..10),
        any::<bool>(),
        prop_oneof![4 => Just(true), 1 => Just(false)],
        prop_oneof![4 => Just(Wrap::Plain), 1 => Just(Wrap::Gzip), 1 => Just(Wrap::Zstd)],
        prop::option::weighted(0.15, 0.0f64..1.0),
        prop_oneof![6 => Just(vec![]), 1 => prop::collection::vec((0.0f64..1.0, 1u8..), 1..4)],
    )
        .prop_map(|(entries, oci, end_blocks, wrap, cut, flips)| Case {
            entries,
            oci,
            end_blocks,
            wrap,
            cut,
            flips,
        })
}

/// One header block for `kind`, with `name` written raw into the name
/// field (cut at 100 bytes).
pub(crate) fn header(name: &[u8], kind: u8, mode: u32, size: u64, link: &[u8]) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name[..n]);
        let l = link.len().min(100);
        old.linkname[..l].copy_from_slice(&link[..l]);
    }
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    *h.as_bytes()
}

fn pad(out: &mut Vec<u8>) {
    while out.len() % 512 != 0 {
        out.push(0);
    }
}

/// A member whose data is `data`, padded.
pub(crate) fn member(out: &mut Vec<u8>, name: &[u8], kind: u8, data: &[u8]) {
    out.extend_from_slice(&header(name, kind, 0o644, data.len() as u64, b""));
    out.extend_from_slice(data);
    pad(out);
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // "LEN key=value\n", LEN counting itself.
    let body = value.len() + key.len() + 3;
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len += 1;
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// The archive, and where each entry starts and ends in it.
fn archive(c: &Case) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut out = Vec::new();
    let mut spans = Vec::new();
    for e in &c.entries {
        let start = out.len();
        let mut name = e.path.clone();
        match e.via {
            NameVia::Header => {}
            NameVia::GnuLong => {
                let mut d = e.path.clone();
                d.push(0);
                member(&mut out, b"././@LongLink", b'L', &d);
                name = b"placeholder".to_vec();
            }
            NameVia::Pax => {
                let mut d = pax_record("path", &e.path);
                if e.kind == b'1' || e.kind == b'2' {
                    d.extend(pax_record("linkpath", &e.link));
                }
                member(&mut out, b"PaxHeaders/x", b'x', &d);
                name = b"placeholder".to_vec();
            }
        }
        let size = e.data.len() as u64 + e.lie;
        out.extend_from_slice(&header(&name, e.kind, e.mode, size, &e.link));
        out.extend_from_slice(&e.data);
        pad(&mut out);
        spans.push((start, out.len()));
    }
    if c.end_blocks {
        out.extend_from_slice(&[0u8; 1024]);
    }
    (out, spans)
}

/// A zstd frame of raw (stored) blocks.
fn zstd_raw(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd];
    // Single segment, a 4-byte content size.
    out.push(0xa0);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(1 << 16).collect()
    };
    for (i, ch) in chunks.iter().enumerate() {
        let last = (i + 1 == chunks.len()) as u32;
        let h = last | ((ch.len() as u32) << 3);
        out.extend_from_slice(&h.to_le_bytes()[..3]);
        out.extend_from_slice(ch);
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    g.write_all(data).unwrap();
    g.finish().unwrap()
}

/// The path the unpacker sees: the name field and a GNU long name end at
/// a NUL; a PAX path is taken whole.
fn effective(e: &Entry) -> &[u8] {
    match e.via {
        // A PAX record, and a GNU long name (written with one NUL after
        // it, which is all tar takes off), keep every byte: a NUL inside
        // is the entry's, and refused (the kernel-matrix run drew
        // `a\0` by GNU long name, which this model had cut to `a`).
        // tar reads a PAX record line by line, so a path holding a newline
        // is no record to it, and the header's name stands.
        NameVia::Pax if e.path.contains(&b'\n') => b"placeholder",
        NameVia::Pax | NameVia::GnuLong => &e.path,
        // A header field ends at its first NUL.
        NameVia::Header => e.path.split(|&b| b == 0).next().unwrap_or_default(),
    }
}

/// Whether the entry is refused whatever came before it.
fn refused_by_itself(e: &Entry, oci: bool) -> bool {
    if e.kind == b'g' {
        // A PAX global header: skipped.
        return false;
    }
    let Ok(rel) = clean_path(effective(e)) else {
        return true;
    };
    if e.mode & 0o6000 != 0 || e.data.len() as u64 + e.lie > MAX_BYTES {
        return true;
    }
    if rel.as_os_str().is_empty() {
        // The root itself: nothing is made.
        return false;
    }
    let name = rel.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    if oci && name.starts_with(b".wh.") {
        // Whiteouts of nothing, of `.` and of `..`.
        return matches!(name, b".wh." | b".wh.." | b".wh...");
    }
    matches!(e.kind, b'3' | b'4' | b'6' | b'S' | b'Z' | b'V' | b'M')
}

/// Everything below `dir` (not following symlinks): relative path ->
/// (kind, mode, size, content for files).
fn snapshot(dir: &Path) -> HashMap<PathBuf, (u32, u32, Vec<u8>)> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for c in fs::read_dir(&d).unwrap().flatten() {
            let p = c.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let content = if m.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(
                p.strip_prefix(dir).unwrap().to_path_buf(),
                (m.mode() & libc::S_IFMT, m.mode() & 0o7777, content),
            );
        }
    }
    out
}

/// The tree's invariants; its total file bytes.
fn check_tree(root: &Path) -> Result<u64, TestCaseError> {
    let mut links: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
    let mut bytes = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for c in fs::read_dir(&d).unwrap().flatten() {
            let p = c.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let t = m.file_type();
            prop_assert!(
                t.is_file() || t.is_dir() || t.is_symlink(),
                "{} is neither a file, a directory nor a symlink: {:?}",
                p.display(),
                t
            );
            prop_assert_eq!(m.mode() & 0o6000, 0, "{} is setuid or setgid", p.display());
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                bytes += m.len();
                let seen = links.entry((m.dev(), m.ino())).or_insert((0, m.nlink()));
                seen.0 += 1;
            }
        }
    }
    for ((_, ino), (seen, nlink)) in links {
        prop_assert_eq!(
            seen,
            nlink,
            "inode {} has {} links, {} of them in the tree: one leads out",
            ino,
            nlink,
            seen
        );
    }
    Ok(bytes)
}

fn run_case(c: &Case) -> TestCaseResult {
    let (tar, spans) = archive(c);
    let cut = c.cut.map(|f| (tar.len() as f64 * f) as usize);
    let tar = match cut {
        Some(n) => tar[..n].to_vec(),
        None => tar,
    };
    let mut stream = match c.wrap {
        Wrap::Plain => tar.clone(),
        Wrap::Gzip => gzip(&tar),
        Wrap::Zstd => zstd_raw(&tar),
    };
    for (at, x) in &c.flips {
        if !stream.is_empty() {
            let i = ((stream.len() as f64 * at) as usize).min(stream.len() - 1);
            stream[i] ^= x;
        }
    }
    let intact = c.cut.is_none()
        && c.flips.is_empty()
        && c.entries
            .iter()
            .all(|e| e.lie == 0 || (e.lie == HUGE && e.kind != b'g'));

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir(&root).unwrap();
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("file"), b"keep").unwrap();
    let before = snapshot(&outside);

    let limits = Limits {
        entries: 1000,
        bytes: MAX_BYTES,
    };
    let (result, peak) = alloc_meter::peak(|| {
        let mut tree = Tree::new(root.clone(), limits);
        let r = super::super::decompress(Cursor::new(stream))
            .and_then(|r| tree.apply(r, c.oci, &mut |_| {}))
            .and_then(|()| tree.finish());
        drop(tree);
        r
    });

    // Nothing outside the tree changed, or appeared beside it.
    let mut beside: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    beside.sort();
    prop_assert_eq!(
        beside,
        vec!["outside", "root"],
        "the unpacker changed the tree's parent"
    );
    prop_assert_eq!(
        snapshot(&outside),
        before,
        "the unpacker changed a file outside the tree"
    );
    prop_assert!(fs::symlink_metadata(&root).unwrap().is_dir());
    make_writable(&root);
    let bytes = check_tree(&root)?;
    prop_assert!(bytes <= MAX_BYTES);
    prop_assert!(peak < 4 << 20, "the unpacker held {peak} bytes at once");

    let named = |msg: &str| {
        c.entries.iter().any(|e| {
            let shown = String::from_utf8_lossy(effective(e));
            let rel = clean_path(effective(e)).unwrap_or_default();
            msg.contains(&format!("{shown:?}"))
                || msg.contains(&format!("{rel:?}"))
                || msg.contains(&root.join(&rel).display().to_string())
        })
    };
    // An entry whose header lies about its size shifts every header after
    // it: tar reads those from the wrong place, so only the entries up to
    // and including the first liar are surely seen as they were written.
    let reached = c
        .entries
        .iter()
        .position(|e| e.lie != 0)
        .map_or(c.entries.len(), |i| i + 1);
    let hostile = c.entries[..reached]
        .iter()
        .any(|e| refused_by_itself(e, c.oci));
    match &result {
        Ok(()) => {
            prop_assert!(
                !(hostile && c.flips.is_empty() && cut.is_none()),
                "an archive with an entry refused by itself was unpacked"
            );
            if let Some(n) = cut {
                let inside = spans.iter().any(|&(s, e)| s < n && n < e);
                prop_assert!(
                    !inside || !c.flips.is_empty(),
                    "an archive cut inside an entry (at {n}) was unpacked"
                );
            }
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("sandbox: "), "{msg}");
            prop_assert!(
                !msg.chars().any(char::is_control),
                "{msg:?} is not one plain line"
            );
            if intact {
                // A malformed first header has no entry before it to name.
                prop_assert!(
                    named(&msg) || msg.contains("bad tar entry: "),
                    "the error names no entry: {msg}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn hostile_archives() {
    check(file!(), 96, case(), |c| run_case(&c));
}

/// Decompressors on garbage: an error, never a panic, a hang or a
/// runaway allocation.
#[test]
fn compressed_garbage() {
    let stream = (
        prop::sample::select(vec![
            vec![0x1fu8, 0x8b],
            vec![0x28, 0xb5, 0x2f, 0xfd],
            vec![0xfd, b'7', b'z', b'X', b'Z'],
            vec![],
        ]),
        prop::collection::vec(any::<u8>(), 0..400),
    );
    check(file!(), 256, stream, |(magic, rest)| {
        let mut b = magic;
        b.extend(rest);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        fs::create_dir(&root).unwrap();
        let (_, peak) = alloc_meter::peak(|| {
            let mut tree = Tree::new(
                root.clone(),
                Limits {
                    entries: 1000,
                    bytes: MAX_BYTES,
                },
            );
            super::super::decompress(Cursor::new(b)).and_then(|r| tree.apply(r, true, &mut |_| {}))
        });
        prop_assert!(peak < 16 << 20, "decompressing garbage held {peak} bytes");
        make_writable(&root);
        check_tree(&root)?;
        Ok(())
    });
}

/// A gzip bomb (a small stream of a large file) is refused by the size
/// limit, naming the entry, and streams within bounded memory when the
/// limit allows it.
#[test]
fn gzip_bomb_is_bounded() {
    let size = 8u64 << 20;
    let mut tar = header(b"bomb", b'0', 0o644, size, b"").to_vec();
    tar.resize(tar.len() + size as usize, 0);
    tar.extend_from_slice(&[0; 1024]);
    let gz = gzip(&tar);
    assert!(gz.len() < 64 << 10);
    for (limit, ok) in [(size / 2, false), (size * 2, true)] {
        let tmp = tempfile::tempdir().unwrap();
        let mut tree = Tree::new(
            tmp.path().to_path_buf(),
            Limits {
                entries: 10,
                bytes: limit,
            },
        );
        let (r, peak) = alloc_meter::peak(|| {
            super::super::decompress(Cursor::new(gz.clone()))
                .and_then(|r| tree.apply(r, false, &mut |_| {}))
        });
        assert!(peak < 1 << 20, "held {peak} bytes");
        match r {
            Ok(()) => {
                assert!(ok);
                assert_eq!(fs::metadata(tmp.path().join("bomb")).unwrap().len(), size);
            }
            Err(e) => {
                assert!(!ok, "{e}");
                assert!(e.to_string().contains("\"bomb\""), "{e}");
            }
        }
    }
}

/// The controls: the checks above see an escape when there is one (a
/// tree that links out, a FIFO, a setuid file), so they can fail.
#[test]
fn the_tree_checks_can_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir(&root).unwrap();
    assert!(check_tree(&root).is_ok());
    fs::write(tmp.path().join("out"), b"x").unwrap();
    fs::hard_link(tmp.path().join("out"), root.join("in")).unwrap();
    assert!(check_tree(&root).is_err());
    fs::remove_file(root.join("in")).unwrap();
    crate::sys::mkfifo(root.join("fifo").as_os_str(), 0o600).unwrap();
    assert!(check_tree(&root).is_err());
    fs::remove_file(root.join("fifo")).unwrap();
    fs::write(root.join("suid"), b"x").unwrap();
    fs::set_permissions(root.join("suid"), fs::Permissions::from_mode(0o4755)).unwrap();
    assert!(check_tree(&root).is_err());
}

/// Regressions the properties found: a whiteout of `.` or `..` removed
/// the directory holding it, or its parent (outside the tree at the top).
#[test]
fn whiteouts_of_dot_and_dot_dot_are_refused() {
    for name in [&b".wh..."[..], b".wh..", b"a/.wh...", b"a/.wh.."] {
        let c = Case {
            entries: vec![
                Entry {
                    path: b"a/".to_vec(),
                    via: NameVia::Header,
                    kind: b'5',
                    mode: 0o755,
                    link: vec![],
                    data: vec![],
                    lie: 0,
                },
                Entry {
                    path: name.to_vec(),
                    via: NameVia::Header,
                    kind: b'0',
                    mode: 0o644,
                    link: vec![],
                    data: vec![],
                    lie: 0,
                },
            ],
            oci: true,
            end_blocks: true,
            wrap: Wrap::Plain,
            cut: None,
            flips: vec![],
        };
        run_case(&c).unwrap();
    }
}
