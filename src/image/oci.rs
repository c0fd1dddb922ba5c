//! OCI image layouts (image-spec image-layout.md): `oci-layout`,
//! `index.json`, `blobs/sha256/HEX`. A directory is read in place; an
//! archive of one (oci-archive) has its layout files copied out first.
//! Every blob is checked against its descriptor's digest and size before
//! it is parsed or unpacked.

use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{build, decompress, remove_tree, sha256_of, Progress, FORMAT};
use crate::confine::untrusted;
use crate::error::{Context, Error, Result};

/// JSON documents (index, manifest, config) are small; bigger is refused.
const MAX_JSON: u64 = 4 << 20;

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn bad(why: impl Into<String>) -> Error {
    Error::msg("read image", why.into())
}

/// A layout file `untrusted` would not read: the path stays in the
/// reason, as callers name the image in the error's path.
fn refused(r: untrusted::Refused, p: &Path, step: &str) -> Error {
    match r {
        untrusted::Refused::Not(why) => Error::msg("read image", format!("{}: {why}", p.display())),
        missing => missing.into_error(step, p),
    }
}

#[derive(Debug, Clone)]
struct Descriptor {
    media_type: String,
    hex: String,
    size: u64,
}

impl Descriptor {
    fn from(v: &Value) -> Result<Descriptor> {
        let digest = v["digest"]
            .as_str()
            .ok_or_else(|| bad("a descriptor has no digest"))?;
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| bad(format!("digest {digest:?}: only sha256 is supported")))?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad(format!("malformed digest {digest:?}")));
        }
        Ok(Descriptor {
            media_type: v["mediaType"].as_str().unwrap_or("").to_string(),
            hex: hex.to_string(),
            size: v["size"]
                .as_u64()
                .ok_or_else(|| bad(format!("descriptor {digest} has no size")))?,
        })
    }
}

struct Layout {
    dir: PathBuf,
}

impl Layout {
    fn blob_path(&self, d: &Descriptor) -> PathBuf {
        self.dir.join("blobs/sha256").join(&d.hex)
    }

    /// The blob, opened, checked against its size and digest, rewound.
    /// Opened through `untrusted`: a FIFO or a device in its place is
    /// refused at once, not waited on or read forever.
    fn open_verified(&self, d: &Descriptor) -> Result<fs::File> {
        let p = self.blob_path(d);
        let (mut f, len) = untrusted::open_regular(&p).map_err(|r| refused(r, &p, "open blob"))?;
        if len != d.size {
            return Err(bad(format!(
                "blob sha256:{} is {len} bytes, its descriptor says {}",
                d.hex, d.size
            ))
            .with_hint("the image is damaged or was tampered with; fetch it again"));
        }
        let got = sha256_of(&mut (&mut f).take(len + 1)).ctx("read blob", p.display())?;
        if got != d.hex {
            return Err(bad(format!(
                "blob sha256:{} does not match its digest (its content hashes to sha256:{got})",
                d.hex
            ))
            .with_hint("the image is damaged or was tampered with; fetch it again"));
        }
        f.rewind().ctx("read blob", p.display())?;
        Ok(f)
    }

    fn json_blob(&self, d: &Descriptor) -> Result<Value> {
        if d.size > MAX_JSON {
            return Err(bad(format!(
                "document sha256:{} is too big ({} bytes)",
                d.hex, d.size
            )));
        }
        let mut f = self.open_verified(d)?;
        let mut b = Vec::new();
        (&mut f)
            .take(MAX_JSON)
            .read_to_end(&mut b)
            .ctx_step("read blob")?;
        serde_json::from_slice(&b).map_err(|e| bad(format!("sha256:{}: bad JSON: {e}", d.hex)))
    }

    /// oci-layout or index.json, through `untrusted` (a regular file of at
    /// most MAX_JSON bytes).
    fn json_file(&self, name: &str) -> Result<Value> {
        let p = self.dir.join(name);
        let b = untrusted::read_rootfs_file(&p, MAX_JSON).map_err(|r| {
            refused(r, &p, "read image")
                .with_hint("an OCI image layout holds oci-layout, index.json and blobs/ (skopeo copy ... oci:DIR:TAG, umoci, podman save --format oci-archive)")
        })?;
        serde_json::from_slice(&b).map_err(|e| bad(format!("{name}: bad JSON: {e}")))
    }

    /// The image manifest `tag` names (the only one when no tag is given),
    /// through a nested index for linux/amd64.
    fn select(&self, tag: Option<&str>) -> Result<Descriptor> {
        let layout = self.json_file("oci-layout")?;
        if layout["imageLayoutVersion"].as_str().is_none() {
            return Err(bad("oci-layout has no imageLayoutVersion"));
        }
        let index = self.json_file("index.json")?;
        let list = index["manifests"].as_array().cloned().unwrap_or_default();
        let tags: Vec<&str> = list
            .iter()
            .filter_map(|m| m["annotations"][REF_NAME].as_str())
            .collect();
        let chosen = match tag {
            Some(t) => list
                .iter()
                .find(|m| m["annotations"][REF_NAME].as_str() == Some(t)),
            None if list.len() == 1 => list.first(),
            None => None,
        };
        let Some(chosen) = chosen else {
            let have = if tags.is_empty() {
                "none".to_string()
            } else {
                tags.join(", ")
            };
            return Err(bad(match tag {
                Some(t) => format!("no image tagged {t:?} in index.json (tags: {have})"),
                None => format!(
                    "index.json lists {} images: name one with oci:DIR:TAG (tags: {have})",
                    list.len()
                ),
            }));
        };
        let mut d = Descriptor::from(chosen)?;
        for _ in 0..4 {
            if d.media_type != INDEX && d.media_type != DOCKER_LIST {
                return Ok(d);
            }
            let nested = self.json_blob(&d)?;
            let list = nested["manifests"].as_array().cloned().unwrap_or_default();
            let pick = list
                .iter()
                .find(|m| {
                    m["platform"]["os"].as_str() == Some("linux")
                        && m["platform"]["architecture"].as_str()
                            == Some(
                                std::env::consts::ARCH
                                    .replace("x86_64", "amd64")
                                    .replace("aarch64", "arm64")
                                    .as_str(),
                            )
                })
                .or(if list.len() == 1 { list.first() } else { None })
                .ok_or_else(|| {
                    bad("the image index has no manifest for this machine's platform")
                })?;
            d = Descriptor::from(pick)?;
        }
        Err(bad("image indexes nested too deep"))
    }
}

fn key(d: &Descriptor) -> String {
    format!("{FORMAT}-oci-sha256-{}", d.hex)
}

/// Unpack the image `manifest` of `layout` into `entry`.
fn unpack(
    cache: &Path,
    layout: &Layout,
    manifest: &Descriptor,
    entry: &Path,
    shown: &str,
    progress: &mut Progress,
) -> Result<()> {
    let m = layout.json_blob(manifest)?;
    if let Some(cfg) = m.get("config").filter(|c| !c.is_null()) {
        layout.open_verified(&Descriptor::from(cfg)?)?;
    }
    let layers = m["layers"]
        .as_array()
        .ok_or_else(|| bad(format!("manifest sha256:{} lists no layers", manifest.hex)))?
        .iter()
        .map(Descriptor::from)
        .collect::<Result<Vec<_>>>()?;
    for l in &layers {
        let t = &l.media_type;
        if !(t.contains("image.layer") || t.contains("rootfs.diff.tar") || t.is_empty()) {
            return Err(bad(format!(
                "layer sha256:{} has media type {t:?}, not a layer",
                l.hex
            )));
        }
    }
    build(cache, entry, shown, |tree| {
        for (i, l) in layers.iter().enumerate() {
            let f = layout.open_verified(l)?;
            progress.layer(i + 1, layers.len(), l.size);
            let r = decompress(io::BufReader::new(f))?;
            tree.apply(r, true, &mut |n| progress.add(n)).map_err(|e| {
                e.with_hint(format!(
                    "in layer {} of {} (sha256:{})",
                    i + 1,
                    layers.len(),
                    l.hex
                ))
            })?;
        }
        Ok(())
    })
}

pub(super) fn resolve_dir(
    cache: &Path,
    dir: &Path,
    tag: Option<&str>,
    shown: &str,
    progress: &mut Progress,
) -> Result<PathBuf> {
    let layout = Layout {
        dir: dir.to_path_buf(),
    };
    let manifest = layout
        .select(tag)
        .map_err(|e| e.or_path(shown.to_string()))?;
    let entry = cache.join("images").join(key(&manifest));
    if !entry.is_dir() {
        unpack(cache, &layout, &manifest, &entry, shown, progress)
            .map_err(|e| e.or_path(shown.to_string()))?;
    }
    Ok(entry)
}

/// A path of an oci-archive that is part of the layout: the two files and
/// `blobs/sha256/HEX`. Anything else in the archive is skipped.
fn layout_member(raw: &[u8]) -> Option<PathBuf> {
    let p = super::unpack::clean_path(raw).ok()?;
    let s = p.to_str()?;
    let ok = s == "oci-layout"
        || s == "index.json"
        || s.strip_prefix("blobs/sha256/").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
    ok.then_some(p)
}

pub(super) fn resolve_archive(
    cache: &Path,
    file: &Path,
    tag: Option<&str>,
    shown: &str,
    progress: &mut Progress,
) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = cache
        .join("tmp")
        .join(format!("{}-layout-{nanos}", std::process::id()));
    struct Gone(PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            remove_tree(&self.0);
        }
    }
    let _gone = Gone(dir.clone());
    fs::create_dir_all(dir.join("blobs/sha256")).ctx("create", dir.display())?;
    // First the two small files alone: a cached image needs no blob.
    copy_members(file, &dir, true).map_err(|e| e.or_path(shown.to_string()))?;
    let layout = Layout { dir: dir.clone() };
    if let Ok(m) = layout.select(tag) {
        let entry = cache.join("images").join(key(&m));
        if entry.is_dir() {
            return Ok(entry);
        }
    }
    copy_members(file, &dir, false).map_err(|e| e.or_path(shown.to_string()))?;
    resolve_dir(cache, &dir, tag, shown, progress)
}

/// Copy the layout's files out of the archive `file` into `dir` (only
/// oci-layout and index.json when `small`).
fn copy_members(file: &Path, dir: &Path, small: bool) -> Result<()> {
    let (f, _) = untrusted::open_regular(file).map_err(|r| r.into_error("open image", file))?;
    let r = decompress(io::BufReader::new(f))?;
    let mut a = tar::Archive::new(r);
    let limits = super::unpack::Limits::from_env();
    let mut total = 0u64;
    for e in a
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?
    {
        let mut e = e.map_err(|e| bad(format!("bad tar entry: {e}")))?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let Some(rel) = layout_member(&e.path_bytes()) else {
            continue;
        };
        if small && rel.starts_with("blobs") {
            continue;
        }
        let size = e.size();
        total = total.saturating_add(size);
        if total > limits.bytes {
            return Err(bad("the archive holds more than SANDBOX_UNPACK_MAX_BYTES"));
        }
        let dst = dir.join(&rel);
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dst)
            .ctx("create", dst.display())?;
        io::copy(&mut (&mut e).take(size), &mut out)
            .ctx("copy out of the archive", rel.display())?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "oci_fuzz.rs"]
mod fuzz;
