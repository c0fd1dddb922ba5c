//! Images and tarballs as ROOTFS: `sandbox run alpine.tar.gz`, `sandbox
//! run oci:DIR[:TAG]` (an OCI image layout, or an oci-archive of one).
//!
//! Unpacked once into a per-user cache, `$XDG_CACHE_HOME/sandbox/images/`
//! (default `~/.cache/sandbox`), keyed by content: a tarball by the
//! sha256 of its bytes, an image by its manifest's digest. An entry is
//! made in `tmp/` and renamed into place only when complete, so a failed
//! or interrupted unpack leaves no entry. It is then the overlay's
//! read-only lower layer, as a rootfs directory would be.
//! Every layer is checked against its digest before it is read, and
//! unpacked as hostile input (unpack.rs).

mod oci;
pub mod unpack;

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{Context, Error, Result};

/// Bumped when the unpacker changes what it makes: old entries are then
/// not reused (`sandbox images --prune` removes them).
const FORMAT: &str = "v1";

/// What ROOTFS names, when it is not a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A rootfs tarball: plain, gzip or zstd (found by its first bytes).
    Tarball(PathBuf),
    /// `oci:DIR[:TAG]`, an image layout directory.
    OciDir(PathBuf, Option<String>),
    /// `oci:FILE[:TAG]`, a tar of an image layout (oci-archive).
    OciArchive(PathBuf, Option<String>),
}

/// Which kind of ROOTFS `arg` is: None for a directory (or anything that
/// is neither a file nor `oci:`, which Plan::from_args then reports).
pub fn source(arg: &OsStr) -> Option<Source> {
    if let Some(rest) = arg.as_bytes().strip_prefix(b"oci:") {
        let whole = Path::new(OsStr::from_bytes(rest)).to_path_buf();
        // DIR:TAG, unless the whole exists (a path with a colon).
        let (path, tag) = match rest.iter().rposition(|&b| b == b':') {
            Some(i) if !whole.exists() && !rest[i + 1..].contains(&b'/') => (
                Path::new(OsStr::from_bytes(&rest[..i])).to_path_buf(),
                Some(String::from_utf8_lossy(&rest[i + 1..]).into_owned()),
            ),
            _ => (whole, None),
        };
        return Some(if path.is_dir() {
            Source::OciDir(path, tag)
        } else {
            Source::OciArchive(path, tag)
        });
    }
    let p = Path::new(arg);
    (fs::metadata(p).is_ok_and(|m| m.is_file()) && looks_like_tarball(p))
        .then(|| Source::Tarball(p.to_path_buf()))
}

/// A compressed stream (gzip, zstd, and xz or bzip2 to refuse with a
/// hint) or a tar header (`ustar` at 257); any other file is no ROOTFS.
fn looks_like_tarball(p: &Path) -> bool {
    let mut head = [0u8; 263];
    let n = crate::confine::untrusted::open_regular(p)
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
        .and_then(|(mut f, _)| {
            let mut n = 0;
            while n < head.len() {
                match f.read(&mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            Ok(n)
        })
        .unwrap_or(0);
    let h = &head[..n];
    h.starts_with(&[0x1f, 0x8b])
        || h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || h.starts_with(b"\xfd7zXZ")
        || h.starts_with(b"BZh")
        || h.get(257..262) == Some(b"ustar")
}

/// The cache's root, made 0700 if missing.
pub fn cache_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| Path::new(v).is_absolute()) {
        Some(x) => PathBuf::from(x),
        None => match std::env::var_os("HOME").filter(|v| Path::new(v).is_absolute()) {
            Some(h) => Path::new(&h).join(".cache"),
            None => {
                return Err(Error::msg(
                    "image cache",
                    "neither XDG_CACHE_HOME nor HOME is set to an absolute path",
                )
                .with_hint("set XDG_CACHE_HOME to a directory of yours"))
            }
        },
    };
    let dir = base.join("sandbox");
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("images"))
        .ctx("create the image cache", dir.display())?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("tmp"))
        .ctx("create the image cache", dir.display())?;
    Ok(dir)
}

/// The cached rootfs for ROOTFS, unpacked now if it is not there yet; None
/// when ROOTFS is a directory.
pub fn resolve(arg: &OsStr) -> Result<Option<PathBuf>> {
    let Some(src) = source(arg) else {
        return Ok(None);
    };
    let shown = Path::new(arg).display().to_string();
    let cache = cache_dir()?;
    let mut progress = Progress::new();
    let dir = match &src {
        Source::Tarball(p) => {
            let (mut f, _) = crate::confine::untrusted::open_regular(p)
                .map_err(|r| r.into_error("open image", p))?;
            let key = format!(
                "{FORMAT}-tar-sha256-{}",
                sha256_of(&mut f).ctx("read image", p.display())?
            );
            let entry = cache.join("images").join(&key);
            if !entry.is_dir() {
                f.rewind().ctx("read image", p.display())?;
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                build(&cache, &entry, &shown, |tree| {
                    progress.layer(1, 1, size);
                    let r = decompress(io::BufReader::new(f))?;
                    tree.apply(r, false, &mut |n| progress.add(n))
                })?;
            }
            entry
        }
        Source::OciDir(dir, tag) => {
            oci::resolve_dir(&cache, dir, tag.as_deref(), &shown, &mut progress)?
        }
        Source::OciArchive(file, tag) => {
            oci::resolve_archive(&cache, file, tag.as_deref(), &shown, &mut progress)?
        }
    };
    progress.done();
    Ok(Some(dir.join("rootfs")))
}

/// The hex sha256 of what `r` holds.
pub fn sha256_of(r: &mut impl Read) -> io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A tar stream from plain, gzip or zstd bytes (by their magic number).
fn decompress<R: io::BufRead + 'static>(mut r: R) -> Result<Box<dyn Read>> {
    let head = r.fill_buf().ctx_step("read image")?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let d = ruzstd::StreamingDecoder::new(r)
            .map_err(|e| Error::msg("unpack image", format!("bad zstd stream: {e}")))?;
        Ok(Box::new(d))
    } else if head.starts_with(b"\xfd7zXZ") || head.starts_with(b"BZh") {
        Err(
            Error::msg("unpack image", "xz and bzip2 tarballs are not supported")
                .with_hint("recompress it: xz -dc x.tar.xz | gzip > x.tar.gz (or zstd)"),
        )
    } else {
        Ok(Box::new(r))
    }
}

/// Make the cache entry `entry`: unpack into a fresh directory under
/// tmp/, then rename it into place. On failure nothing is left.
fn build(
    cache: &Path,
    entry: &Path,
    shown: &str,
    fill: impl FnOnce(&mut unpack::Tree) -> Result<()>,
) -> Result<()> {
    clean_stale(&cache.join("tmp"));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = cache
        .join("tmp")
        .join(format!("{}-{nanos}", std::process::id()));
    let rootfs = tmp.join("rootfs");
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&rootfs)
        .ctx("create", tmp.display())?;
    let mut tree = unpack::Tree::new(rootfs.clone(), unpack::Limits::from_env());
    let made = fill(&mut tree).and_then(|()| tree.finish()).and_then(|()| {
        fs::set_permissions(&rootfs, fs::Permissions::from_mode(0o755))
            .ctx("chmod", rootfs.display())?;
        let info = serde_json::json!({
            "source": shown,
            "bytes": tree.bytes,
            "unpacked": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        });
        fs::write(tmp.join("info.json"), info.to_string()).ctx("write", tmp.display())
    });
    if let Err(e) = made {
        remove_tree(&tmp);
        return Err(e.or_path(shown.to_string()));
    }
    match fs::rename(&tmp, entry) {
        Ok(()) => Ok(()),
        // Another run made it meanwhile: use theirs.
        Err(_) if entry.is_dir() => {
            remove_tree(&tmp);
            Ok(())
        }
        Err(e) => {
            remove_tree(&tmp);
            Err(e).ctx("add to the image cache", entry.display())
        }
    }
}

/// Remove a tree of ours whatever modes the image gave its directories.
pub fn remove_tree(p: &Path) {
    unpack::make_writable(p);
    let _ = fs::remove_dir_all(p);
}

/// tmp/PID-N of runs that are gone (killed while unpacking).
fn clean_stale(tmp: &Path) {
    let Ok(list) = fs::read_dir(tmp) else {
        return;
    };
    for e in list.flatten() {
        let name = e.file_name();
        let pid = name
            .to_string_lossy()
            .split('-')
            .next()
            .unwrap_or("")
            .to_string();
        if !pid.is_empty() && !Path::new("/proc").join(&pid).exists() {
            remove_tree(&e.path());
        }
    }
}

/// One cache entry, for `sandbox images`.
pub struct Entry {
    pub key: String,
    pub source: String,
    pub bytes: u64,
    pub unpacked: u64,
}

pub fn list() -> Result<Vec<Entry>> {
    let cache = cache_dir()?;
    let mut out = Vec::new();
    let dir = cache.join("images");
    for e in fs::read_dir(&dir)
        .ctx("read the image cache", dir.display())?
        .flatten()
    {
        let info: serde_json::Value = fs::read(e.path().join("info.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        out.push(Entry {
            key: e.file_name().to_string_lossy().into_owned(),
            source: info["source"].as_str().unwrap_or("?").to_string(),
            bytes: du(&e.path()),
            unpacked: info["unpacked"].as_u64().unwrap_or(0),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Bytes the tree takes on disk (allocated blocks; hard links once).
fn du(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![p.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(m) = fs::symlink_metadata(&d) else {
            continue;
        };
        if m.nlink() > 1 && !m.is_dir() && !seen.insert((m.dev(), m.ino())) {
            continue;
        }
        total += m.blocks() * 512;
        if m.is_dir() {
            if let Ok(l) = fs::read_dir(&d) {
                stack.extend(l.flatten().map(|e| e.path()));
            }
        }
    }
    total
}

/// Remove every entry (and leftovers of unpacks); returns how many.
pub fn prune() -> Result<usize> {
    let cache = cache_dir()?;
    let mut n = 0;
    for sub in ["images", "tmp"] {
        let dir = cache.join(sub);
        for e in fs::read_dir(&dir)
            .ctx("read the image cache", dir.display())?
            .flatten()
        {
            remove_tree(&e.path());
            if sub == "images" {
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Whether unpacking may show progress on stderr: the CLI turns it on; a
/// program using the library gets no output of ours.
static SHOW_PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For the CLI: show unpacking progress when stderr is a terminal.
pub fn show_progress(on: bool) {
    SHOW_PROGRESS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Progress on stderr, when it is a terminal and the CLI asked for it:
/// bytes and layers.
pub struct Progress {
    on: bool,
    layer: (usize, usize),
    bytes: u64,
    total: u64,
    shown_at: u64,
    said: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            on: SHOW_PROGRESS.load(std::sync::atomic::Ordering::Relaxed) && crate::sys::isatty(2),
            layer: (0, 0),
            bytes: 0,
            total: 0,
            shown_at: 0,
            said: false,
        }
    }

    /// Layer `i` of `n`, `size` bytes as stored (compressed).
    fn layer(&mut self, i: usize, n: usize, size: u64) {
        self.layer = (i, n);
        self.total = size;
        self.bytes = 0;
        self.shown_at = 0;
        self.show();
    }

    fn add(&mut self, n: u64) {
        self.bytes += n;
        if self.bytes - self.shown_at >= 4 << 20 {
            self.shown_at = self.bytes;
            self.show();
        }
    }

    fn show(&mut self) {
        if !self.on {
            return;
        }
        self.said = true;
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let _ = write!(
            io::stderr(),
            "\r\x1b[Ksandbox: unpacking layer {}/{} ({:.1} MiB stored): {:.1} MiB written",
            self.layer.0,
            self.layer.1,
            mib(self.total),
            mib(self.bytes)
        );
    }

    fn done(&mut self) {
        if self.on && self.said {
            self.show();
            let _ = writeln!(io::stderr());
        }
    }
}
