//! Fuzz target: OCI image layouts and oci-archives (oci.rs): index.json,
//! nested indexes, manifests, configs, descriptors and their digests, and
//! the members of an archive.
//!
//! Properties:
//! - a descriptor is accepted only with a `sha256:` digest of 64 lowercase
//!   hex digits, so a blob's path is always one name in blobs/sha256/
//!   (`sha256:../..` and the like are refused);
//! - an archive member is copied out only as oci-layout, index.json or
//!   blobs/sha256/HEX;
//! - a valid layout unpacks, and one with anything tampered (a blob's
//!   bytes, a descriptor's size or digest, a blob that is a FIFO, a link
//!   to /dev/zero, a directory or missing, indexes nested too deep)
//!   fails: every blob is checked before it is used;
//! - index.json with bytes flipped, or any JSON at all, never panics or
//!   hangs, and nothing is written outside the cache.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{json, Value};

use super::super::unpack::fuzz::{header, member};
use super::super::{hex, Progress};
use super::{layout_member, resolve_archive, resolve_dir, Descriptor, Layout, DOCKER_LIST, INDEX};
use crate::fuzz::check;

fn sha(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(b))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,10}".prop_map(Value::from),
        prop::sample::select(vec![
            INDEX,
            DOCKER_LIST,
            "application/vnd.oci.image.manifest.v1+json",
            "linux",
            "amd64"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "digest",
                    "size",
                    "mediaType",
                    "manifests",
                    "platform",
                    "os",
                    "architecture",
                    "annotations",
                    "org.opencontainers.image.ref.name",
                    "layers",
                    "config",
                    "x",
                ])
                .prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn digest() -> impl Strategy<Value = Value> {
    let hex64 = "[0-9a-f]{64}";
    prop_oneof![
        hex64.prop_map(|h| json!(format!("sha256:{h}"))),
        "[0-9a-fA-F./]{60,68}".prop_map(|h| json!(format!("sha256:{h}"))),
        ".{0,70}".prop_map(|h| json!(format!("sha256:{h}"))),
        prop::sample::select(vec![
            "sha256:../../../../etc/passwd",
            "sha256:..",
            "sha256:/etc/passwd",
            "sha512:00",
            "",
        ])
        .prop_map(Value::from),
        json_value(),
    ]
}

#[test]
fn descriptors() {
    let input = (digest(), json_value(), proptest::option::of(json_value()));
    check(file!(), 512, input, |(digest, size, media)| {
        let mut v = json!({ "digest": digest, "size": size });
        if let Some(m) = media {
            v["mediaType"] = m;
        }
        let layout = Layout {
            dir: PathBuf::from("/layout"),
        };
        if let Ok(d) = Descriptor::from(&v) {
            prop_assert!(
                d.hex.len() == 64
                    && d.hex
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            let p = layout.blob_path(&d);
            prop_assert_eq!(p.parent(), Some(Path::new("/layout/blobs/sha256")));
            prop_assert_eq!(p.file_name().and_then(|n| n.to_str()), Some(d.hex.as_str()));
        }
        Ok(())
    });
}

#[test]
fn archive_members() {
    let name = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        (
            prop::sample::select(vec![
                "",
                "./",
                "/",
                "../",
                "blobs/",
                "blobs/sha256/",
                "./blobs/sha256/",
                "blobs/sha256/../../"
            ]),
            prop::sample::select(vec!["oci-layout", "index.json", "..", ".", "x"]),
            "[0-9a-fA-F]{62,66}",
            any::<bool>(),
        )
            .prop_map(|(a, b, h, hexname)| {
                let tail = if hexname { h } else { b.to_string() };
                format!("{a}{tail}").into_bytes()
            }),
    ];
    check(file!(), 512, name, |raw| {
        if let Some(p) = layout_member(&raw) {
            let s = p.to_str().unwrap();
            let hex_blob = s.strip_prefix("blobs/sha256/").is_some_and(|h| {
                h.len() == 64
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            prop_assert!(s == "oci-layout" || s == "index.json" || hex_blob, "{s:?}");
        }
        Ok(())
    });
}

/// Which blob a tamper hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blob {
    Layer,
    Config,
    Manifest,
    /// The outermost nested index (the manifest when there is none).
    Nested,
}

#[derive(Debug, Clone, PartialEq)]
enum Tamper {
    None,
    FlipByte(Blob, f64),
    SizeLie(Blob, i64),
    Digest(Blob, String),
    Fifo(Blob),
    DevZero(Blob),
    Directory(Blob),
    Missing(Blob),
    /// index.json: bytes flipped (the outcome is not predicted).
    IndexFlip(Vec<(f64, u8)>),
    /// index.json replaced with this JSON.
    IndexJson(Value),
    MediaType(String),
}

#[derive(Debug, Clone)]
struct Case {
    nested: usize,
    gzip: bool,
    tag: Option<String>,
    tamper: Tamper,
    archive: bool,
}

fn blob() -> impl Strategy<Value = Blob> {
    prop::sample::select(vec![
        Blob::Layer,
        Blob::Config,
        Blob::Manifest,
        Blob::Nested,
    ])
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        3 => Just(Tamper::None),
        2 => (blob(), 0.0f64..1.0).prop_map(|(b, f)| Tamper::FlipByte(b, f)),
        1 => (blob(), prop_oneof![Just(-1i64), Just(1), Just(1 << 40)]).prop_map(|(b, d)| Tamper::SizeLie(b, d)),
        1 => (blob(), prop::sample::select(vec!["sha256:../../../../etc/passwd", "sha256:..", "sha512:ab", "sha256:"]))
            .prop_map(|(b, d)| Tamper::Digest(b, d.to_string())),
        1 => blob().prop_map(Tamper::Fifo),
        1 => blob().prop_map(Tamper::DevZero),
        1 => blob().prop_map(Tamper::Directory),
        1 => blob().prop_map(Tamper::Missing),
        2 => prop::collection::vec((0.0f64..1.0, 1u8..), 1..4).prop_map(Tamper::IndexFlip),
        1 => json_value().prop_map(Tamper::IndexJson),
        1 => prop::sample::select(vec!["application/vnd.oci.image.config.v1+json", "text/plain"])
            .prop_map(|m| Tamper::MediaType(m.to_string())),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        0usize..6,
        any::<bool>(),
        prop_oneof![
            Just(None),
            Just(Some("latest".to_string())),
            Just(Some("other".to_string()))
        ],
        tamper(),
        prop_oneof![3 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(nested, gzip, tag, tamper, archive)| Case {
            nested,
            gzip,
            tag,
            tamper,
            archive,
        })
}

/// Write `bytes` as a blob; its descriptor, tampered if `which` is hit.
fn put(dir: &Path, c: &Case, which: Blob, media: &str, bytes: &[u8]) -> Value {
    let h = sha(bytes);
    fs::write(dir.join("blobs/sha256").join(&h), bytes).unwrap();
    let mut d = json!({ "mediaType": media, "digest": format!("sha256:{h}"), "size": bytes.len() });
    match &c.tamper {
        Tamper::SizeLie(b, delta) if *b == which => {
            d["size"] = json!((bytes.len() as i64 + delta).max(0));
        }
        Tamper::Digest(b, s) if *b == which => d["digest"] = json!(s),
        _ => {}
    }
    let p = dir.join("blobs/sha256").join(&h);
    match &c.tamper {
        Tamper::FlipByte(b, at) if *b == which => {
            let mut v = bytes.to_vec();
            let i = ((v.len() as f64 * at) as usize).min(v.len() - 1);
            v[i] ^= 0x20;
            fs::write(&p, v).unwrap();
        }
        Tamper::Fifo(b) if *b == which => {
            fs::remove_file(&p).unwrap();
            crate::sys::mkfifo(p.as_os_str(), 0o600).unwrap();
        }
        Tamper::DevZero(b) if *b == which => {
            fs::remove_file(&p).unwrap();
            std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        }
        Tamper::Directory(b) if *b == which => {
            fs::remove_file(&p).unwrap();
            fs::create_dir(&p).unwrap();
        }
        Tamper::Missing(b) if *b == which => fs::remove_file(&p).unwrap(),
        _ => {}
    }
    d
}

/// The layout, in `dir`.
fn layout(dir: &Path, c: &Case) {
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let mut tar = Vec::new();
    member(&mut tar, b"hello", b'0', b"hello from the image\n");
    tar.extend_from_slice(&[0; 1024]);
    let (layer, media) = if c.gzip {
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(&tar).unwrap();
        (
            g.finish().unwrap(),
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    } else {
        (tar, "application/vnd.oci.image.layer.v1.tar")
    };
    let media = match &c.tamper {
        Tamper::MediaType(m) => m.as_str(),
        _ => media,
    };
    let layer = put(dir, c, Blob::Layer, media, &layer);
    let config = put(
        dir,
        c,
        Blob::Config,
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"amd64","os":"linux"}"#,
    );
    let manifest = json!({ "schemaVersion": 2, "config": config, "layers": [layer] });
    let mut desc = put(
        dir,
        c,
        Blob::Manifest,
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    for level in 1..=c.nested {
        desc["platform"] = json!({ "os": "linux", "architecture": "amd64" });
        let index = json!({ "schemaVersion": 2, "manifests": [desc] });
        // Only the outermost index is a tamper target.
        let inner = Case {
            tamper: Tamper::None,
            ..c.clone()
        };
        let this = if level == c.nested { c } else { &inner };
        desc = put(dir, this, Blob::Nested, INDEX, index.to_string().as_bytes());
    }
    desc["annotations"] = json!({ "org.opencontainers.image.ref.name": "latest" });
    let mut index = json!({ "schemaVersion": 2, "manifests": [desc] })
        .to_string()
        .into_bytes();
    match &c.tamper {
        Tamper::IndexFlip(flips) => {
            for (at, x) in flips {
                let i = ((index.len() as f64 * at) as usize).min(index.len() - 1);
                index[i] ^= x;
            }
        }
        Tamper::IndexJson(v) => index = v.to_string().into_bytes(),
        _ => {}
    }
    fs::write(dir.join("index.json"), index).unwrap();
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// A tar of the layout, with hostile members the copy must skip.
fn archive_of(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut files = vec![PathBuf::from("oci-layout"), PathBuf::from("index.json")];
    for e in fs::read_dir(dir.join("blobs/sha256")).unwrap().flatten() {
        files.push(Path::new("blobs/sha256").join(e.file_name()));
    }
    member(&mut out, b"../escaped", b'0', b"x");
    member(&mut out, b"/escaped", b'0', b"x");
    member(&mut out, b"blobs/sha256/../../../escaped", b'0', b"x");
    out.extend_from_slice(&header(b"index.json.lnk", b'2', 0o777, 0, b"/etc/passwd"));
    for f in files {
        let p = dir.join(&f);
        let m = fs::symlink_metadata(&p).unwrap();
        if m.is_file() {
            member(
                &mut out,
                f.to_str().unwrap().as_bytes(),
                b'0',
                &fs::read(&p).unwrap(),
            );
        }
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn run_case(c: &Case) -> TestCaseResult {
    // Without an index, the outermost blob is the manifest.
    let mut c = c.clone();
    if c.nested == 0 {
        let retarget = |b: &mut Blob| {
            if *b == Blob::Nested {
                *b = Blob::Manifest
            }
        };
        match &mut c.tamper {
            Tamper::FlipByte(b, _)
            | Tamper::SizeLie(b, _)
            | Tamper::Digest(b, _)
            | Tamper::Fifo(b)
            | Tamper::DevZero(b)
            | Tamper::Directory(b)
            | Tamper::Missing(b) => retarget(b),
            _ => {}
        }
    }
    let c = &c;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    let cache = tmp.path().join("cache");
    fs::create_dir_all(cache.join("images")).unwrap();
    fs::create_dir_all(cache.join("tmp")).unwrap();
    layout(&dir, c);
    let mut progress = Progress::new();
    let r = if c.archive {
        let file = tmp.path().join("image.tar");
        fs::write(&file, archive_of(&dir)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        resolve_archive(
            &cache,
            &file,
            c.tag.as_deref(),
            "oci:image.tar",
            &mut progress,
        )
    } else {
        resolve_dir(&cache, &dir, c.tag.as_deref(), "oci:layout", &mut progress)
    };
    let mut beside: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    beside.sort();
    let want: &[&str] = if c.archive {
        &["cache", "image.tar"]
    } else {
        &["cache", "layout"]
    };
    prop_assert_eq!(beside, want, "something was written beside the cache");
    let tag_ok = c.tag.as_deref() != Some("other");
    // Indexes are followed 3 deep (select's 4 steps end at a manifest).
    let expect_ok = c.tamper == Tamper::None && c.nested <= 3 && tag_ok;
    match &r {
        Ok(entry) => {
            prop_assert!(entry.starts_with(cache.join("images")));
            if !matches!(c.tamper, Tamper::IndexFlip(_) | Tamper::IndexJson(_)) {
                prop_assert!(expect_ok, "a tampered layout was used: {:?}", c.tamper);
            }
            prop_assert_eq!(
                fs::read(entry.join("rootfs/hello")).unwrap(),
                b"hello from the image\n"
            );
        }
        Err(e) => {
            prop_assert!(!expect_ok, "a valid layout failed: {e}");
            let msg = e.to_string();
            prop_assert!(!msg.chars().any(char::is_control), "{msg:?}");
        }
    }
    // Nothing half-made is left in the cache.
    prop_assert_eq!(fs::read_dir(cache.join("tmp")).unwrap().count(), 0);
    Ok(())
}

#[test]
fn tampered_layouts() {
    check(file!(), 48, case(), |c| run_case(&c));
}
