//! The exec trampoline: how a process of ours that has entered a sandbox
//! execs the sandbox's command without letting it reach our binary
//! (CVE-2019-5736; docs/SECURITY.md, "Our binary").
//!
//! The danger: the command may be a script whose `#!` line names
//! `/proc/self/exe`. The kernel resolves that while our image is still the
//! caller's, so the interpreter it starts is our binary on the host, in
//! the sandbox; the sandbox's root then holds /proc/PID/exe of it, and once
//! it exits (no more ETXTBSY) reopens it for writing: a user-owned install
//! (`~/.local/bin`, `cargo install`) runs the sandbox's code next time.
//! Landlock stops the exec (our binary is outside the sandbox's tree), but
//! not with `--landlock off` or on kernels without it; non-dumpable does
//! not survive the exec.
//!
//! So the last exec goes through a tiny program of our own held in a
//! sealed memfd (`CODE`, tools/trampoline.S): execveat(memfd) first, then
//! the trampoline execve()s the command with the argv and envp it was
//! given. While the command's exec runs, /proc/self/exe is the sealed
//! memfd; a `#!/proc/self/exe` script gets the trampoline as interpreter,
//! which refuses to run as one. The image is ~1 KiB, built per exec: a
//! full copy of our binary (2.7 MB, 1.3 ms here) would double the cost of
//! `sandbox exec`; this costs one memfd and one exec of a 1-page program.
//!
//! The trampoline reports a failed exec exactly as our code did: the
//! frames (channel.rs) are encoded here, before the exec; it patches the
//! errno into the one it needs and writes it to the report pipe, whose
//! close-on-exec it restores first (EOF still means "exec'd").
//!
//! Where the kernel will not exec a memfd (`vm.memfd_noexec = 2`, or a
//! seccomp profile that refuses execveat), the command is exec'd directly
//! only when our binary is not writable by us (then nothing in a sandbox
//! can write it either); otherwise the exec is refused with a hint.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::channel::{self, PreparedError};
use crate::error::{Error, EXIT_SANDBOX};
use crate::sys::{self, CStringArray};

/// Where the image is loaded (ET_EXEC, one PT_LOAD).
const BASE: u64 = 0x40_0000;
/// ELF header, then two program headers (PT_LOAD, PT_GNU_STACK).
const CODE_AT: usize = 64 + 2 * 56;
/// The data the code reads (`data` in tools/trampoline.S) follows it.
const DATA_AT: usize = CODE_AT + CODE.len();
/// The header of the data: report fd, search, count, two fixed frames.
const TABLE_AT: usize = 72;
/// One candidate's row: path, frame, length, errno slot, exit status.
const ROW: usize = 40;

/// tools/trampoline.S, assembled (`as --64`, then `objcopy -O binary -j
/// .text`); `tests::code_matches_the_source` checks it.
const CODE: [u8; 520] = [
    0x48, 0x8b, 0x0c, 0x24, 0x4c, 0x8d, 0x64, 0x24, 0x08, 0x4d, 0x8d, 0x6c, 0xcc, 0x08, 0x4c, 0x89,
    0xe8, 0x48, 0x8b, 0x10, 0x48, 0x83, 0xc0, 0x08, 0x48, 0x85, 0xd2, 0x75, 0xf4, 0x48, 0x8b, 0x10,
    0x48, 0x85, 0xd2, 0x0f, 0x84, 0x65, 0x01, 0x00, 0x00, 0x48, 0x83, 0xfa, 0x1f, 0x74, 0x06, 0x48,
    0x83, 0xc0, 0x10, 0xeb, 0xe8, 0x48, 0x8b, 0x70, 0x08, 0x48, 0xba, 0x2f, 0x64, 0x65, 0x76, 0x2f,
    0x66, 0x64, 0x2f, 0x48, 0x39, 0x16, 0x0f, 0x85, 0x42, 0x01, 0x00, 0x00, 0x48, 0x8d, 0x1d, 0xb5,
    0x01, 0x00, 0x00, 0x48, 0x8b, 0x3b, 0x48, 0x85, 0xff, 0x78, 0x11, 0xb8, 0x48, 0x00, 0x00, 0x00,
    0xbe, 0x02, 0x00, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x45, 0x31, 0xf6, 0x49,
    0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff, 0x4c, 0x3b, 0x73, 0x10, 0x73, 0x4a, 0x4d, 0x6b, 0xc6, 0x28,
    0x4e, 0x8d, 0x44, 0x03, 0x48, 0x49, 0x8b, 0x38, 0x4c, 0x89, 0xe6, 0x4c, 0x89, 0xea, 0xb8, 0x3b,
    0x00, 0x00, 0x00, 0x0f, 0x05, 0xf7, 0xd8, 0x89, 0xc5, 0x48, 0x83, 0x7b, 0x08, 0x00, 0x74, 0x35,
    0x83, 0xfd, 0x02, 0x74, 0x1c, 0x83, 0xfd, 0x14, 0x74, 0x17, 0x83, 0xfd, 0x24, 0x74, 0x12, 0x83,
    0xfd, 0x28, 0x74, 0x0d, 0x83, 0xfd, 0x0d, 0x75, 0x66, 0x4d, 0x85, 0xff, 0x79, 0x03, 0x4d, 0x89,
    0xf7, 0x49, 0xff, 0xc6, 0xeb, 0xb0, 0x4d, 0x85, 0xff, 0x78, 0x39, 0x4d, 0x89, 0xfe, 0xbd, 0x0d,
    0x00, 0x00, 0x00, 0xeb, 0x4a, 0x83, 0xfd, 0x02, 0x75, 0x45, 0x48, 0x81, 0xec, 0x00, 0x01, 0x00,
    0x00, 0xbf, 0x9c, 0xff, 0xff, 0xff, 0x49, 0x8b, 0x30, 0x48, 0x89, 0xe2, 0x41, 0xba, 0x00, 0x01,
    0x00, 0x00, 0xb8, 0x06, 0x01, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x06, 0x48, 0x8d,
    0x73, 0x30, 0xeb, 0x04, 0x48, 0x8d, 0x73, 0x18, 0x4c, 0x8b, 0x4e, 0x10, 0x48, 0x8b, 0x56, 0x08,
    0x48, 0x8b, 0x36, 0x48, 0x8b, 0x3b, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0x65, 0x4d,
    0x6b, 0xc6, 0x28, 0x4e, 0x8d, 0x44, 0x03, 0x48, 0x48, 0x83, 0xec, 0x40, 0x89, 0x6c, 0x24, 0x30,
    0x49, 0x8b, 0x40, 0x08, 0x49, 0x8b, 0x48, 0x18, 0x48, 0x89, 0x04, 0x24, 0x48, 0x89, 0x4c, 0x24,
    0x08, 0x48, 0x8d, 0x54, 0x24, 0x30, 0x48, 0x89, 0x54, 0x24, 0x10, 0x48, 0xc7, 0x44, 0x24, 0x18,
    0x04, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x44, 0x08, 0x04, 0x48, 0x89, 0x44, 0x24, 0x20, 0x49, 0x8b,
    0x50, 0x10, 0x48, 0x29, 0xca, 0x48, 0x83, 0xea, 0x04, 0x48, 0x89, 0x54, 0x24, 0x28, 0x4d, 0x8b,
    0x48, 0x20, 0x48, 0x8b, 0x3b, 0x48, 0x89, 0xe6, 0xba, 0x03, 0x00, 0x00, 0x00, 0xb8, 0x14, 0x00,
    0x00, 0x00, 0x0f, 0x05, 0x4c, 0x89, 0xcf, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x02,
    0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x18, 0x00, 0x00, 0x00, 0xba, 0x50, 0x00, 0x00, 0x00, 0xb8,
    0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x7e, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00,
    0x0f, 0x05, 0x73, 0x61, 0x6e, 0x64, 0x62, 0x6f, 0x78, 0x3a, 0x20, 0x74, 0x68, 0x65, 0x20, 0x65,
    0x78, 0x65, 0x63, 0x20, 0x74, 0x72, 0x61, 0x6d, 0x70, 0x6f, 0x6c, 0x69, 0x6e, 0x65, 0x20, 0x69,
    0x73, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x6e, 0x20, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x70, 0x72,
    0x65, 0x74, 0x65, 0x72, 0x20, 0x28, 0x61, 0x20, 0x23, 0x21, 0x2f, 0x70, 0x72, 0x6f, 0x63, 0x2f,
    0x73, 0x65, 0x6c, 0x66, 0x2f, 0x65, 0x78, 0x65, 0x20, 0x73, 0x63, 0x72, 0x69, 0x70, 0x74, 0x3f,
    0x29, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// What to exec and how to report each way it can fail. The errors are
/// `Error`s as the caller would have returned them.
pub struct Trampoline {
    /// The report pipe (-1: none); left close-on-exec for the command.
    pub report_fd: RawFd,
    /// Search mode: try each path in turn as execvp does (ENOENT,
    /// ENOTDIR, ENAMETOOLONG, ELOOP: the next; EACCES: remembered).
    /// Single mode: one path; ENOENT is `not_found` or, when the file
    /// exists (lstat), `interpreter_missing`.
    pub search: bool,
    /// Each path with its error for any other errno (its reason is
    /// replaced by the errno).
    pub candidates: Vec<(CString, Error)>,
    pub not_found: Error,
    pub interpreter_missing: Error,
}

impl Trampoline {
    /// The ELF image: headers, `CODE`, the data table, then the strings
    /// and frames it points to.
    fn image(&self) -> Vec<u8> {
        let rows = self.candidates.len();
        let blobs_at = DATA_AT + TABLE_AT + rows * ROW;
        let mut blobs: Vec<u8> = Vec::new();
        let mut put = |bytes: &[u8]| {
            let at = BASE + (blobs_at + blobs.len()) as u64;
            blobs.extend_from_slice(bytes);
            at
        };
        let mut table: Vec<u64> = vec![
            self.report_fd as i64 as u64,
            self.search as u64,
            rows as u64,
        ];
        for e in [&self.not_found, &self.interpreter_missing] {
            let f = channel::error_frame(e);
            table.extend([put(&f), f.len() as u64, e.exit as u64]);
        }
        for (path, e) in &self.candidates {
            let p = put(path.as_bytes_with_nul());
            let f = PreparedError::from_error(e);
            let at = put(f.frame());
            table.extend([
                p,
                at,
                f.frame().len() as u64,
                f.errno_at() as u64,
                e.exit as u64,
            ]);
        }
        let total = blobs_at + blobs.len();
        let mut img = Vec::with_capacity(total);
        // ELF header. Ref: elf(5)
        img.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        img.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
        img.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
        img.extend_from_slice(&1u32.to_le_bytes()); // e_version
        img.extend_from_slice(&(BASE + CODE_AT as u64).to_le_bytes()); // e_entry
        img.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        img.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        img.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        for v in [64u16, 56, 2, 64, 0, 0] {
            // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
            img.extend_from_slice(&v.to_le_bytes());
        }
        // PT_LOAD, read and execute, the whole file.
        let phdr = |img: &mut Vec<u8>, typ: u32, flags: u32, size: u64, align: u64| {
            img.extend_from_slice(&typ.to_le_bytes());
            img.extend_from_slice(&flags.to_le_bytes());
            let addr = if typ == 1 { BASE } else { 0 };
            for v in [0, addr, addr, size, size, align] {
                img.extend_from_slice(&v.to_le_bytes());
            }
        };
        phdr(&mut img, 1, 5, total as u64, 0x1000);
        // PT_GNU_STACK, read and write: no executable stack.
        phdr(&mut img, 0x6474_e551, 6, 0, 16);
        img.extend_from_slice(&CODE);
        for v in table {
            img.extend_from_slice(&v.to_le_bytes());
        }
        img.extend_from_slice(&blobs);
        debug_assert_eq!(img.len(), total);
        img
    }

    /// The image in a sealed memfd, made before the resource limits
    /// (RLIMIT_FSIZE applies to a memfd's writes too) and exec'd by
    /// `Sealed::exec` at the very end.
    pub fn seal(&self) -> Sealed {
        Sealed {
            fd: sys::sealed_memfd(c"sandbox-exec", &self.image())
                .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO)),
            report_fd: self.report_fd,
        }
    }
}

/// A trampoline in its memfd (close-on-exec), or why there is none.
pub struct Sealed {
    fd: std::result::Result<OwnedFd, i32>,
    report_fd: RawFd,
}

impl Sealed {
    /// Exec the command through the trampoline. Returns only when that
    /// cannot be done: `Ok(())` when the caller may exec the command
    /// directly (the kernel will not exec a memfd, and our binary is not
    /// writable by us), else the error to report.
    pub fn exec(&self, argv: &CStringArray, envp: &CStringArray) -> Result<(), Error> {
        let errno = match &self.fd {
            Ok(fd) => {
                if self.report_fd >= 0 {
                    let _ = sys::set_cloexec(self.report_fd, false);
                }
                let Err(e) = sys::execveat_fd(fd.as_raw_fd(), argv, envp);
                if self.report_fd >= 0 {
                    let _ = sys::set_cloexec(self.report_fd, true);
                }
                e.raw_os_error().unwrap_or(libc::EIO)
            }
            Err(errno) => *errno,
        };
        direct_or_refuse(errno)
    }
}

/// The memfd could not be made or exec'd (`errno`): a direct exec is safe
/// only when our binary is not writable by us.
pub fn direct_or_refuse(errno: i32) -> Result<(), Error> {
    if !sys::own_binary_writable() {
        return Ok(());
    }
    Err(Error::errno(
        "exec through a sealed memfd",
        Some("/proc/self/exe".into()),
        errno,
    )
    .with_hint(REFUSE_HINT)
    .with_exit(EXIT_SANDBOX))
}

/// Why a memfd exec was needed and what to do without one.
pub const REFUSE_HINT: &str = "this kernel or seccomp profile does not let a sealed memfd be exec'd (vm.memfd_noexec = 2?), and without one a program in the sandbox could rewrite this binary, which you can write to: install sandbox where you cannot write (make install as root), or allow memfd execution (docs/SECURITY.md, \"Our binary\")";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_matches_the_source() {
        let dir = std::env::temp_dir().join(format!("tramp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/trampoline.S");
        let obj = dir.join("t.o");
        let bin = dir.join("t.bin");
        let ok = std::process::Command::new("as")
            .args(["--64", "-o"])
            .arg(&obj)
            .arg(src)
            .status()
            .is_ok_and(|s| s.success())
            && std::process::Command::new("objcopy")
                .args(["-O", "binary", "-j", ".text"])
                .arg(&obj)
                .arg(&bin)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: no `as` and `objcopy` (binutils) to assemble tools/trampoline.S");
            return;
        }
        let built = std::fs::read(&bin).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            built, CODE,
            "tools/trampoline.S and CODE differ: paste the new bytes"
        );
    }

    #[test]
    fn the_code_finds_its_data_where_the_builder_puts_it() {
        // `lea rbx, [rip+data]` at offset 0x4c, 7 bytes long: its
        // displacement must land on the end of CODE (8-aligned).
        let at = 0x4c;
        assert_eq!(&CODE[at..at + 3], &[0x48, 0x8d, 0x1d]);
        let disp = i32::from_le_bytes(CODE[at + 3..at + 7].try_into().unwrap());
        assert_eq!(at + 7 + disp as usize, CODE.len());
        assert_eq!(DATA_AT % 8, 0);
    }

    #[test]
    fn image_layout() {
        let t = Trampoline {
            report_fd: 3,
            search: true,
            candidates: vec![
                (
                    c"/bin/a".into(),
                    Error::errno("exec", Some("/bin/a".into()), 0).with_exit(126),
                ),
                (
                    c"/usr/bin/a".into(),
                    Error::errno("exec", Some("/usr/bin/a".into()), 0),
                ),
            ],
            not_found: Error::msg("exec", "not found").with_exit(127),
            interpreter_missing: Error::msg("exec", "no interpreter").with_exit(126),
        };
        let img = t.image();
        assert_eq!(&img[..4], b"\x7fELF");
        let u64_at = |o: usize| u64::from_le_bytes(img[o..o + 8].try_into().unwrap());
        assert_eq!(u64_at(24), BASE + CODE_AT as u64);
        // PT_LOAD's file and memory sizes are the whole image.
        assert_eq!(u64_at(64 + 32) as usize, img.len());
        assert_eq!(&img[CODE_AT..DATA_AT], &CODE);
        let d = DATA_AT;
        assert_eq!(u64_at(d), 3);
        assert_eq!(u64_at(d + 8), 1);
        assert_eq!(u64_at(d + 16), 2);
        let at = |addr: u64| (addr - BASE) as usize;
        // The not-found frame decodes to the error given.
        let nf = &img[at(u64_at(d + 24))..at(u64_at(d + 24)) + u64_at(d + 32) as usize];
        assert_eq!(nf, channel::error_frame(&t.not_found).as_slice());
        assert_eq!(u64_at(d + 40), 127);
        // Row 1: the path, NUL-terminated; the frame with its errno slot.
        let row = d + TABLE_AT + ROW;
        let p = at(u64_at(row));
        assert_eq!(&img[p..p + 11], b"/usr/bin/a\0");
        let f = at(u64_at(row + 8));
        let len = u64_at(row + 16) as usize;
        let slot = u64_at(row + 24) as usize;
        let mut frame = img[f..f + len].to_vec();
        frame[slot..slot + 4].copy_from_slice(&13u32.to_le_bytes());
        let want = Error::errno("exec", Some("/usr/bin/a".into()), libc::EACCES);
        assert_eq!(frame, channel::error_frame(&want));
        assert_eq!(u64_at(row + 32), want.exit as u64);
    }
}
