//! OCI image layouts and tarballs built from the BusyBox rootfs with the
//! tar crate (no registry, no tool). For tests/images.rs and
//! tests/oci_hostile.rs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;
use sha2::{Digest, Sha256};

/// The BusyBox tree as a tar stream, with `extra` files (path, content).
pub fn rootfs_tar(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", &stage().rootfs).unwrap();
    for (p, c) in extra {
        file(&mut b, p, c.as_bytes(), 0o644);
    }
    b.into_inner().unwrap()
}

pub fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_entry_type(tar::EntryType::Regular);
    set_name(&mut h, path);
    b.append(&h, data).unwrap();
}

/// Any name, `..` and absolute ones too (the builder's own checks would
/// refuse them: this is the attacker's archive).
pub fn set_name(h: &mut tar::Header, path: &str) {
    let name = &mut h.as_old_mut().name;
    name.fill(0);
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn sha(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Write a file the test user can read.
pub fn put(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// An OCI layout at `dir`, tagged `latest`: the layers given (bytes and
/// media type), in order. Returns the blobs' paths.
pub fn layout(dir: &Path, layers: &[(Vec<u8>, &str)]) -> Vec<PathBuf> {
    let blob = |data: &[u8]| {
        let h = sha(data);
        put(&dir.join("blobs/sha256").join(&h), data);
        (
            format!("sha256:{h}"),
            data.len(),
            dir.join("blobs/sha256").join(&h),
        )
    };
    let mut paths = Vec::new();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let (cd, cs, _) = blob(config);
    let mut ls = Vec::new();
    for (data, mt) in layers {
        let (d, s, p) = blob(data);
        paths.push(p);
        ls.push(format!(
            r#"{{"mediaType":"{mt}","digest":"{d}","size":{s}}}"#
        ));
    }
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{cs}}},"layers":[{}]}}"#,
        ls.join(",")
    );
    let (md, ms, _) = blob(manifest.as_bytes());
    put(
        &dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{md}","size":{ms},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        )
        .as_bytes(),
    );
    put(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    paths
}

pub const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
