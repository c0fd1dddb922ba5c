//! The network and UTS namespaces' setup: the loopback interface and the
//! hostname.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::cvt;

/// Bring the loopback interface up: SIOCGIFFLAGS then SIOCSIFFLAGS with
/// IFF_UP, through a throwaway datagram socket. Ref: netdevice(7)
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket takes integers; the fd it returns is new and owned by
    // the OwnedFd at once.
    let sock = unsafe {
        let fd = cvt(libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
        ))?;
        OwnedFd::from_raw_fd(fd)
    };
    // SAFETY: ifreq is plain data (integers, arrays and unions of them);
    // all-zero bytes are a valid value.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and fills ifru_flags in `ifr`, a
    // local `struct ifreq` that outlives the call.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut ifr) })?;
    // SAFETY: reading the union as flags is what the kernel just filled in,
    // and any bit pattern is a valid c_short anyway.
    unsafe { ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS only reads `ifr`, which is fully initialised.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &ifr) })?;
    Ok(())
}

pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes, borrowed for
    // the call; no NUL terminator is needed with an explicit length.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// Whether `path` is a file this process may execute (access(2) X_OK).
pub fn is_executable(path: &std::path::Path) -> bool {
    let Ok(c) = super::cstr(path) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path borrowed for the call.
    let ok = unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0;
    ok && path.is_file()
}

/// Every address on this network namespace's interfaces (getifaddrs(3)),
/// for `--allow-host`'s proxy, which refuses to connect to the host's own.
pub fn local_addresses() -> io::Result<Vec<std::net::IpAddr>> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a pointer to a list it allocated into
    // `head`, a local; the list is freed below with freeifaddrs.
    cvt(unsafe { libc::getifaddrs(&mut head) })?;
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs made, not yet
        // freed; ifa_addr is null or points at a sockaddr whose family says
        // which struct it is, and only that struct's size is read.
        unsafe {
            let a = (*cur).ifa_addr;
            if !a.is_null() {
                match (*a).sa_family as libc::c_int {
                    libc::AF_INET => {
                        let sin = a.cast::<libc::sockaddr_in>().read_unaligned();
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = a.cast::<libc::sockaddr_in6>().read_unaligned();
                        out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
    }
    // SAFETY: `head` is the list getifaddrs returned, freed once; no
    // pointer into it is used after this.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}
