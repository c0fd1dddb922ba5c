/* probe: the escape suite's try-syscall program (bubblewrap's
 * tests/try-syscall.c pattern, our own code). Built static by the tests and
 * bound into the sandbox. Each probe makes a call with harmless bad
 * arguments and prints "NAME ERRNO" (or "NAME OK"), so an allowed call fails
 * with EBADF, EFAULT or EINVAL and a filtered one with EPERM or ENOSYS.
 *
 *   probe syscall NAME...        the calls below, one line each
 *   probe i386                   getpid through int 0x80 (the i386 entry)
 *   probe x32                    getpid with the x32 bit set
 *   probe tiocsti                push a byte into the terminal on fd 0
 *   probe connect-abstract NAME  connect to the abstract unix socket @NAME
 *   probe connect-path PATH      connect to the unix socket at PATH
 *   probe msgget KEY [create|rm] a SysV message queue
 *   probe ids                    real and effective uid and gid
 *   probe privs                  ids, the effective capability set, and
 *                                whether setuid(0) works: "ruid=R euid=E
 *                                capeff=HEX setuid0=OK|ERRNO"
 *   probe xattrs ROOT            on the host: every extended attribute of
 *                                every file under ROOT, not following
 *                                links: "REL NAME HEX" lines (for the
 *                                tests' tree hash)
 *   probe setxattr PATH NAME VAL set one extended attribute (no link
 *                                followed): "setxattr OK" or an errno
 *   probe securebits             "securebits 0xN" (PR_GET_SECUREBITS)
 *   probe landlock-abi           on the host: the Landlock ABI the kernel
 *                                offers ("landlock-abi N" or an errno), an
 *                                independent probe for the tests' skips
 *   probe open-write PATH        open PATH for writing
 *   probe no-landlock CMD...     on the host: run CMD (and all it starts)
 *                                with landlock_create_ruleset failing with
 *                                ENOSYS, as on a kernel built without
 *                                Landlock (a seccomp filter; no_new_privs)
 *   probe refuse WHAT CMD...     on the host: run CMD (and all it starts)
 *                                under a seccomp filter that refuses one
 *                                step of a sandbox's set-up as a host
 *                                would (no_new_privs): WHAT mount-proc is
 *                                mount(2) with exactly MS_NOSUID|MS_NODEV|
 *                                MS_NOEXEC (a fresh /proc's flags) failing
 *                                with EPERM, the kernel's answer under a
 *                                masked /proc; pivot_root is pivot_root(2)
 *                                failing with EACCES, an LSM's answer;
 *                                write-open is open(2) and openat(2) for
 *                                writing only (O_WRONLY, as the id maps
 *                                are written) failing with EACCES
 *   probe console PATH INPUT CMD...
 *                                an engine's console socket (sandbox-oci):
 *                                listen at PATH, run CMD, take the pty
 *                                master CMD's runtime sends (SCM_RIGHTS),
 *                                wait for CMD, write INPUT and a newline
 *                                to the master, then print "cmd=STATUS"
 *                                and what the master gives until EOF or
 *                                EIO (10 s at most)
 *
 * Network (issue 16; ADDR is numeric, IPv4 or IPv6):
 *   probe tcp ADDR PORT          connect; "tcp connected", "tcp ERRNO" or
 *                                "tcp timeout" (3 s)
 *   probe udp ADDR PORT          send a datagram on a connected socket, wait
 *                                3 s for an answer; "udp reply",
 *                                "udp ERRNO" or "udp timeout"
 *   probe udp-echo ADDR PORT     answer every datagram with itself, forever
 *
 * Stdio (issue 14):
 *   probe tty-harm               on fd 0: TIOCSETD N_NULL, O_NONBLOCK,
 *                                fchmod 0666; one line each
 *   probe tty-state              on the host: "ldisc=N nonblock=B mode=M"
 *                                of the terminal on fd 0
 *   probe meta FD                fchmod 0666, fchown to its own ids,
 *                                futimens to 1970, fsetxattr user.probe
 *   probe write-path PATH        open PATH for writing and write "PWNED"
 *   probe setwinsz ROWS COLS     TIOCSWINSZ on fd 0 (nothing else)
 *
 * Supervision (issue 4):
 *   probe nopdeath CMD...        clear PR_SET_PDEATHSIG, say so, exec CMD
 *   probe hold PATH              ignore the stop signals, leave a daemon
 *                                (double fork, setsid) holding an flock on
 *                                PATH and creating PATH.ready, then wait
 *                                forever
 *   probe orphans N              make N orphans (a child forks a grandchild
 *                                and exits), wait, print "zombies=K": the
 *                                ones nobody reaped, counted in /proc
 *   probe segv                   dereference NULL
 *   probe eat MB                 allocate and touch MB MiB, 1 MiB at a time;
 *                                "ate=N" with what it got
 *
 * Hardening (issue 14):
 *   probe netlink PROTO GROUPS   a netlink socket of PROTO, bound to the
 *                                multicast GROUPS: "netlink-socket R",
 *                                "netlink-bind R"
 *   probe inotify [READY GO]     inotify instances until one fails:
 *                                "inotify=N ERRNO"; with READY and GO, then
 *                                create READY and hold them until GO exists
 *                                (at most 60 s)
 *   probe shm MB COUNT           COUNT SysV segments of MB MiB each:
 *                                "shm=N ERRNO" (N made before one failed)
 *   probe subreap READY|-US MS CMD...
 *                                on the host: as a child subreaper, run CMD
 *                                (the launcher), SIGKILL it once the file
 *                                READY exists (or after US microseconds),
 *                                then wait up to MS ms for every process
 *                                left to it to end; "survivors=N"
 *
 * Denials (issue 25, --report-denials):
 *   probe flood NAME N           make the `syscall` probe NAME N times
 *                                (0: until killed): "flood NAME ERRNO N",
 *                                or "flood NAME mixed" if the answers differ
 *   probe flood-arg NR FROM TO   raw call NR with first argument FROM..TO-1
 *                                (the rest 0): "flood-arg N ERRNO" with the
 *                                last answer (as a number)
 *   probe own-listener NAME      install a filter of our own that sends NAME
 *                                (keyctl or getppid) to a listener of ours,
 *                                make the call in a child and answer it with
 *                                SECCOMP_USER_NOTIF_FLAG_CONTINUE: lines
 *                                "own-listener OK|ERRNO", "notified" and
 *                                the child's "NAME RESULT"
 *   probe fds                    every open descriptor: "fd N TARGET"
 *   probe rusage CMD...          on the host: run CMD, then "maxrss KB" of
 *                                it (wait4) on stderr
 *
 * Joined namespaces (issue 26, the bwrap front end's --userns/--pidns):
 *   probe joinexec USERFD PIDFD CMD...
 *                                on the host: setns into the user namespace
 *                                USERFD, then the PID namespace PIDFD, fork,
 *                                exec CMD in the child (the engine's old way
 *                                of joining), wait for it
 *   probe hunt COMM FILE [kill]  inside a sandbox holding capabilities:
 *                                find a process of its /proc named COMM
 *                                (10 s at most), then until it sleeps (S)
 *                                and once more: open its /proc/PID/root/,
 *                                /proc/PID/root/FILE (and read it),
 *                                /proc/PID/environ, PTRACE_SEIZE it; lines
 *                                "found", "name NAME" (its status), and
 *                                "root|file|environ|ptrace OK|ERRNO" (OK if
 *                                any attempt worked, else the last errno),
 *                                "secret TEXT" if FILE was read, or
 *                                "notfound"; with kill, SIGKILL it after
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/inotify.h>
#include <linux/netlink.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/resource.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

static const char *errname(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case ETXTBSY: return "ETXTBSY";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOMEM: return "ENOMEM";
    case E2BIG: return "E2BIG";
    case ENXIO: return "ENXIO";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static size_t xattr_root_len;
static int xattr_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    char names[65536], value[65536];
    ssize_t n = llistxattr(path, names, sizeof names);
    if (n < 0) { printf("%s ERROR %s\n", path + xattr_root_len, errname(errno)); return 0; }
    for (char *k = names; k < names + n; k += strlen(k) + 1) {
        ssize_t v = lgetxattr(path, k, value, sizeof value);
        printf("%s %s ", path + xattr_root_len, k);
        if (v < 0) printf("ERROR-%s", errname(errno));
        for (ssize_t i = 0; i < v; i++) printf("%02x", (unsigned char)value[i]);
        printf("\n");
    }
    return 0;
}

static void report(const char *name, long r) {
    if (r < 0)
        printf("%s %s\n", name, errname(errno));
    else
        printf("%s OK\n", name);
}

#define BAD ((void *)1) /* a pointer the kernel cannot read */

static long try_call(const char *n) {
#define IS(s) (strcmp(n, s) == 0)
    if (IS("keyctl")) return syscall(SYS_keyctl, 0x7fffffff, 0, 0, 0, 0);
    if (IS("add_key")) return syscall(SYS_add_key, BAD, BAD, NULL, 0, 0);
    if (IS("request_key")) return syscall(SYS_request_key, BAD, BAD, NULL, 0);
    if (IS("bpf")) return syscall(SYS_bpf, -1, NULL, 0);
    if (IS("perf_event_open")) return syscall(SYS_perf_event_open, BAD, 0, -1, -1, 0);
    if (IS("userfaultfd")) return syscall(SYS_userfaultfd, ~0);
    if (IS("io_uring_setup")) return syscall(SYS_io_uring_setup, 1, BAD);
    if (IS("io_uring_enter")) return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0);
    if (IS("io_uring_register")) return syscall(SYS_io_uring_register, -1, 0, NULL, 0);
    if (IS("kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, ~0UL);
    if (IS("kexec_file_load")) return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL);
    if (IS("init_module")) return syscall(SYS_init_module, BAD, 0, BAD);
    if (IS("finit_module")) return syscall(SYS_finit_module, -1, BAD, ~0);
    if (IS("delete_module")) return syscall(SYS_delete_module, BAD, 0);
    if (IS("reboot")) return syscall(SYS_reboot, 0, 0, 0, NULL);
    if (IS("swapon")) return syscall(SYS_swapon, BAD, 0);
    if (IS("swapoff")) return syscall(SYS_swapoff, BAD);
    if (IS("acct")) return syscall(SYS_acct, BAD);
    if (IS("quotactl")) return syscall(SYS_quotactl, 0, BAD, 0, NULL);
    if (IS("quotactl_fd")) return syscall(SYS_quotactl_fd, -1, 0, 0, NULL);
    if (IS("syslog")) return syscall(SYS_syslog, -1, NULL, 0);
    if (IS("iopl")) return syscall(SYS_iopl, 4);
    if (IS("ioperm")) return syscall(SYS_ioperm, 0, 0, 1);
    if (IS("clock_settime")) return syscall(SYS_clock_settime, -1, BAD);
    if (IS("clock_adjtime")) return syscall(SYS_clock_adjtime, -1, BAD);
    if (IS("settimeofday")) return syscall(SYS_settimeofday, BAD, BAD);
    if (IS("adjtimex")) return syscall(SYS_adjtimex, BAD);
    if (IS("vhangup")) return syscall(SYS_vhangup);
    if (IS("mount")) return syscall(SYS_mount, BAD, BAD, BAD, 0, NULL);
    if (IS("umount2")) return syscall(SYS_umount2, BAD, 0);
    if (IS("pivot_root")) return syscall(SYS_pivot_root, BAD, BAD);
    if (IS("chroot")) return syscall(SYS_chroot, BAD);
    if (IS("unshare")) return syscall(SYS_unshare, -1);
    if (IS("setns")) return syscall(SYS_setns, -1, 0);
    /* CLONE_NEWUSER with CLONE_FS is refused by the kernel with EINVAL, so
     * no process is ever created. */
    if (IS("clone")) return syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0, 0, 0, 0);
    if (IS("open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, BAD, 0);
    if (IS("name_to_handle_at")) return syscall(SYS_name_to_handle_at, -1, BAD, BAD, BAD, 0);
    if (IS("ptrace")) return syscall(SYS_ptrace, -1, 0, 0, 0);
    if (IS("process_vm_readv")) return syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, ~0UL);
    if (IS("process_vm_writev")) return syscall(SYS_process_vm_writev, 1, NULL, 0, NULL, 0, ~0UL);
    if (IS("kcmp")) return syscall(SYS_kcmp, 0, 0, -1, 0, 0);
    if (IS("pidfd_getfd")) return syscall(SYS_pidfd_getfd, -1, -1, 0);
    if (IS("move_pages")) return syscall(SYS_move_pages, 0, 0, NULL, NULL, NULL, ~0);
    if (IS("migrate_pages")) return syscall(SYS_migrate_pages, 0, ~0UL, BAD, BAD);
    if (IS("mbind")) return syscall(SYS_mbind, NULL, 0, -1, NULL, 0, 0);
    if (IS("set_mempolicy")) return syscall(SYS_set_mempolicy, -1, NULL, 0);
    if (IS("set_mempolicy_home_node")) return syscall(SYS_set_mempolicy_home_node, 0, 0, 0, ~0UL);
    if (IS("uselib")) return syscall(SYS_uselib, BAD);
    if (IS("ustat")) return syscall(SYS_ustat, 0, BAD);
    if (IS("sysfs")) return syscall(SYS_sysfs, -1);
    if (IS("_sysctl")) return syscall(SYS__sysctl, BAD);
    if (IS("nfsservctl")) return syscall(SYS_nfsservctl, 0, NULL, NULL);
    if (IS("lookup_dcookie")) return syscall(SYS_lookup_dcookie, 0, NULL, 0);
    /* Syscalls the kernel no longer has (sys_ni_syscall): ENOSYS unfiltered. */
    if (IS("create_module")) return syscall(174, BAD, 0);
    if (IS("get_kernel_syms")) return syscall(177, BAD);
    if (IS("query_module")) return syscall(178, BAD, 0, BAD, 0, BAD);
    if (IS("getpmsg")) return syscall(181, -1, BAD, BAD, BAD, BAD);
    if (IS("putpmsg")) return syscall(182, -1, BAD, BAD, 0, 0);
    if (IS("afs_syscall")) return syscall(183);
    if (IS("tuxcall")) return syscall(184);
    if (IS("security")) return syscall(185);
    if (IS("vserver")) return syscall(236);
    /* Issue 7, "filter gaps". Flags no kernel knows: EINVAL unfiltered. */
    if (IS("fanotify_init")) return syscall(SYS_fanotify_init, 0x200 /* FAN_REPORT_FID */, ~0U);
    if (IS("modify_ldt")) {
        /* The kernel returns an int in a long register: -EINVAL arrives as
         * 0xffffffea, which libc takes for success (see modify_ldt(2)). */
        long r = syscall(SYS_modify_ldt, 1 /* write */, BAD, 0);
        if (r > 0 && (int)r < 0) { errno = -(int)r; return -1; }
        return r;
    }
    if (IS("get_mempolicy")) return syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, ~0UL);
    if (IS("process_madvise")) return syscall(SYS_process_madvise, -1, NULL, 0, 0, ~0U);
    if (IS("sethostname")) return syscall(SYS_sethostname, BAD, 1);
    if (IS("setdomainname")) return syscall(SYS_setdomainname, BAD, 1);
    if (IS("lsm_get_self_attr")) return syscall(459, 0, NULL, NULL, ~0U);
    if (IS("lsm_set_self_attr")) return syscall(460, 0, NULL, 0, ~0U);
    if (IS("lsm_list_modules")) return syscall(461, NULL, NULL, ~0U);
    if (IS("open_tree_attr")) return syscall(467, -1, BAD, 0, NULL, 0);
    if (IS("listns")) return syscall(470, NULL, NULL, 0, ~0U);
    /* Calls left open on purpose (docs/SECURITY.md): they reach the kernel. */
    if (IS("file_getattr")) return syscall(468, -1, BAD, NULL, 0, 0);
    if (IS("file_setattr")) return syscall(469, -1, BAD, NULL, 0, 0);
    /* Controls: calls the filter must leave alone. */
    if (IS("chmod")) return syscall(SYS_chmod, "/nonexistent-probe", 0644);
    if (IS("listen")) return syscall(SYS_listen, -1, 1);
    if (IS("getpid")) return syscall(SYS_getpid);
    /* Argument-filtered calls. */
    if (IS("personality-read-implies-exec")) return syscall(SYS_personality, READ_IMPLIES_EXEC);
    if (IS("personality-query")) return syscall(SYS_personality, 0xffffffffUL);
    if (IS("tiocsti-badfd")) return syscall(SYS_ioctl, -1, TIOCSTI, BAD);
    if (IS("tiocsti-highbits-badfd")) return syscall(SYS_ioctl, -1, TIOCSTI | (1UL << 32), BAD);
    if (IS("tioclinux-badfd")) return syscall(SYS_ioctl, -1, TIOCLINUX, BAD);
    if (IS("tiocgwinsz-badfd")) return syscall(SYS_ioctl, -1, TIOCGWINSZ, BAD);
    if (IS("socket-alg")) return syscall(SYS_socket, AF_ALG, SOCK_SEQPACKET, 0);
    if (IS("socket-packet")) return syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
    if (IS("socket-unix")) return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    if (IS("socket-inet6")) return syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0);
    if (IS("clone3")) return syscall(SYS_clone3, NULL, 0);
    if (IS("open_tree")) return syscall(SYS_open_tree, -1, BAD, 0);
    if (IS("move_mount")) return syscall(SYS_move_mount, -1, BAD, -1, BAD, 0);
    if (IS("fsopen")) return syscall(SYS_fsopen, BAD, 0);
    if (IS("fsconfig")) return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0);
    if (IS("fsmount")) return syscall(SYS_fsmount, -1, 0, 0);
    if (IS("fspick")) return syscall(SYS_fspick, -1, BAD, 0);
    if (IS("mount_setattr")) return syscall(SYS_mount_setattr, -1, BAD, 0, NULL, 0);
    if (IS("ptrace-attach-1")) return syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 1, 0, 0);
    if (IS("process_vm_readv-1")) {
        /* Permission is checked before the remote address: EFAULT means
         * the kernel would have read PID 1's memory. */
        char buf[1];
        struct iovec l = {buf, 1}, r = {(void *)0x1000, 1};
        return syscall(SYS_process_vm_readv, 1, &l, 1, &r, 1, 0);
    }
    if (IS("ptrace-traceme")) return syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
    fprintf(stderr, "probe: unknown syscall probe %s\n", n);
    exit(2);
#undef IS
}

static int i386_getpid(void) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("i386 %s\n", r < 0 ? errname((int)-r) : "OK");
    return 0;
}

static int x32_getpid(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(0x40000000L | SYS_getpid) : "rcx", "r11", "memory");
    printf("x32 %s\n", r < 0 ? errname((int)-r) : "OK");
    return 0;
}

static int unix_connect(const char *name, int abstract) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n + 2 > sizeof a.sun_path) return 2;
    memcpy(a.sun_path + (abstract ? 1 : 0), name, n);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) { report("socket", -1); return 1; }
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    report("connect", connect(fd, (struct sockaddr *)&a, len));
    return 0;
}

static void ignore_stop_signals(void) {
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_IGN);
}

static int hold(const char *path) {
    ignore_stop_signals();
    pid_t a = fork();
    if (a < 0) return 1;
    if (a == 0) {
        setsid();
        if (fork() != 0) _exit(0);
        int fd = open(path, O_RDWR | O_CREAT, 0666);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) { perror("probe: hold"); _exit(1); }
        char ready[4096];
        snprintf(ready, sizeof ready, "%s.ready", path);
        close(open(ready, O_WRONLY | O_CREAT, 0666));
        for (;;) pause();
    }
    waitpid(a, NULL, 0);
    for (;;) pause();
}

static int zombies(void) {
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) {
            char *close_paren = strrchr(buf, ')');
            if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z') n++;
        }
        fclose(f);
    }
    if (d) closedir(d);
    return n;
}

static int orphans(int n) {
    for (int i = 0; i < n; i++) {
        pid_t a = fork();
        if (a < 0) { perror("probe: fork"); return 1; }
        if (a == 0) {
            if (fork() < 0) _exit(1);
            _exit(0); /* the grandchild (if any) exits at once as well */
        }
        waitpid(a, NULL, 0);
    }
    /* Whoever adopts the orphans has a moment to reap them. */
    int z = 0;
    for (int t = 0; t < 100; t++) {
        z = zombies();
        if (z == 0) break;
        usleep(20000);
    }
    printf("zombies=%d\n", z);
    return 0;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int subreap(const char *ready, long wait_ms, char **cmd) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) { perror("probe: subreaper"); return 2; }
    pid_t l = fork();
    if (l == 0) { execvp(cmd[0], cmd); perror("probe: exec"); _exit(127); }
    if (ready[0] == '-') {
        usleep((useconds_t)atol(ready + 1));
    } else {
        struct stat st;
        long long until = now_ms() + 10000;
        while (stat(ready, &st) < 0) {
            if (now_ms() > until) { printf("never ready\n"); kill(l, SIGKILL); return 3; }
            usleep(1000);
        }
    }
    kill(l, SIGKILL);
    long long until = now_ms() + wait_ms;
    for (;;) {
        pid_t p = waitpid(-1, NULL, WNOHANG);
        if (p < 0 && errno == ECHILD) { printf("survivors=0\n"); return 0; }
        if (p > 0) continue;
        if (now_ms() > until) break;
        usleep(1000);
    }
    /* Who is left: our children (the sandbox's PID 1 is one, once the
     * launcher is gone). */
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[300], buf[512];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) {
            char *cp = strrchr(buf, ')');
            int ppid = 0;
            if (cp && sscanf(cp + 2, "%*c %d", &ppid) == 1 && ppid == getpid()) {
                n++;
                fprintf(stderr, "probe: survivor %s", buf);
            }
        }
        fclose(f);
    }
    printf("survivors=%d\n", n);
    return 1;
}

static int netlink(int proto, unsigned groups) {
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
    report("netlink-socket", s);
    if (s < 0) return 0;
    struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = groups };
    report("netlink-bind", bind(s, (struct sockaddr *)&a, sizeof a));
    return 0;
}

static int inotify_hog(const char *ready, const char *go) {
    int n = 0;
    while (n < 100000 && inotify_init1(IN_CLOEXEC) >= 0) n++;
    printf("inotify=%d %s\n", n, errname(errno));
    if (!ready) return 0;
    close(open(ready, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    for (int i = 0; i < 600 && access(go, F_OK) != 0; i++) usleep(100000);
    return 0;
}

static int shm(long mb, int count) {
    int n = 0;
    for (; n < count; n++)
        if (shmget(IPC_PRIVATE, (size_t)mb << 20, IPC_CREAT | 0600) < 0) break;
    printf("shm=%d %s\n", n, n < count ? errname(errno) : "OK");
    return 0;
}

/* A numeric address and port; returns its length, 0 if not an address. */
static socklen_t inet_addr_of(const char *a, const char *port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, a, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)atoi(port));
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, a, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)atoi(port));
        return sizeof *v6;
    }
    return 0;
}

static int net_probe(const char *kind, const char *a, const char *port) {
    struct sockaddr_storage ss;
    socklen_t len = inet_addr_of(a, port, &ss);
    if (!len) { fprintf(stderr, "probe: bad address %s\n", a); return 2; }
    int tcp = !strcmp(kind, "tcp");
    int fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0);
    if (fd < 0) { report(kind, -1); return 0; }
    if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) { report(kind, -1); return 0; }
    if (!tcp && send(fd, "x", 1, 0) < 0) { report(kind, -1); return 0; }
    struct pollfd p = { .fd = fd, .events = tcp ? POLLOUT : POLLIN };
    if (poll(&p, 1, 3000) == 0) { printf("%s timeout\n", kind); return 0; }
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) { errno = err; report(kind, -1); return 0; }
    if (tcp) { printf("tcp connected\n"); return 0; }
    char b[16];
    if (recv(fd, b, sizeof b, 0) < 0) { report(kind, -1); return 0; }
    printf("udp reply\n");
    return 0;
}

static int udp_echo(const char *a, const char *port) {
    struct sockaddr_storage ss, from;
    socklen_t len = inet_addr_of(a, port, &ss);
    int fd = len ? socket(ss.ss_family, SOCK_DGRAM, 0) : -1;
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) { report("udp-echo", -1); return 1; }
    printf("ready\n");
    for (;;) {
        char b[512];
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
        if (n > 0) sendto(fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
}

static int flood(const char *name, long n) {
    int first = -1, mixed = 0;
    for (long i = 0; n == 0 || i < n; i++) {
        errno = 0;
        int e = try_call(name) < 0 ? errno : 0;
        if (first < 0) first = e;
        else if (e != first) mixed = 1;
    }
    if (mixed) printf("flood %s mixed\n", name);
    else printf("flood %s %s %ld\n", name, first ? errname(first) : "OK", n);
    return 0;
}

static int flood_arg(long nr, long from, long to) {
    long r = 0;
    for (long a = from; a < to; a++) { errno = 0; r = syscall(nr, a, 0, 0, 0, 0, 0); }
    printf("flood-arg %ld %d\n", to - from, r < 0 ? errno : 0);
    return 0;
}

static int own_listener(const char *name) {
    long nr = !strcmp(name, "keyctl") ? SYS_keyctl : SYS_getppid;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {4, f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int l = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (l < 0) { printf("own-listener %s\n", errname(errno)); return 0; }
    printf("own-listener OK\n");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        errno = 0;
        report(name, nr == SYS_keyctl ? syscall(SYS_keyctl, 0x7fffffff, 0, 0, 0, 0) : syscall(SYS_getppid));
        fflush(stdout);
        _exit(0);
    }
    struct pollfd p = {l, POLLIN, 0};
    if (poll(&p, 1, 3000) == 1) {
        struct seccomp_notif n;
        memset(&n, 0, sizeof n);
        if (ioctl(l, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0) {
            struct seccomp_notif_resp r;
            memset(&r, 0, sizeof r);
            r.id = n.id;
            r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            if (ioctl(l, SECCOMP_IOCTL_NOTIF_SEND, &r) == 0) printf("notified\n");
            fflush(stdout);
        }
    }
    waitpid(c, NULL, 0);
    return 0;
}

static int fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) { printf("fds %s\n", errname(errno)); return 1; }
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d)) continue;
        char p[64], t[256];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(p, t, sizeof t - 1);
        t[n < 0 ? 0 : n] = 0;
        printf("fd %d %s\n", fd, t);
    }
    closedir(d);
    return 0;
}

static int rusage_of(char **cmd) {
    pid_t c = fork();
    if (c == 0) { execvp(cmd[0], cmd); _exit(127); }
    int st;
    struct rusage ru;
    if (wait4(c, &st, 0, &ru) < 0) return 1;
    fprintf(stderr, "maxrss %ld\n", ru.ru_maxrss);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int console(const char *path, const char *input, char **cmd) {
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (l < 0 || strlen(path) >= sizeof a.sun_path) { perror("probe console: socket"); return 1; }
    strcpy(a.sun_path, path);
    unlink(path);
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1)) { perror("probe console: bind"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { perror("probe console: fork"); return 1; }
    if (pid == 0) { execvp(cmd[0], cmd); perror("probe console: exec"); _exit(127); }
    struct pollfd pl = {.fd = l, .events = POLLIN};
    if (poll(&pl, 1, 10000) != 1) { fprintf(stderr, "probe console: no connection in 10 s\n"); return 1; }
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    char byte, ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    int master = -1;
    if (c >= 0 && recvmsg(c, &m, MSG_CMSG_CLOEXEC) >= 0) {
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) memcpy(&master, CMSG_DATA(h), sizeof master);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("cmd=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    if (master < 0) { fprintf(stderr, "probe console: no descriptor received\n"); return 1; }
    if (write(master, input, strlen(input)) < 0 || write(master, "\n", 1) < 0) perror("probe console: write");
    char buf[4096];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = 10000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd pm = {.fd = master, .events = POLLIN};
        if (left <= 0 || poll(&pm, 1, (int)left) != 1) break;
        ssize_t n = read(master, buf, sizeof buf);
        if (n <= 0) break;
        fwrite(buf, 1, (size_t)n, stdout);
    }
    fflush(stdout);
    return 0;
}

/* joinexec: the engine's old order, as the control of the --userns
 * attack: the process that execs is inside the joined user namespace. */
static int joinexec(int userfd, int pidfd, char **cmd) {
    if (setns(userfd, CLONE_NEWUSER) != 0) { perror("probe: setns user"); return 1; }
    if (setns(pidfd, CLONE_NEWPID) != 0) { perror("probe: setns pid"); return 1; }
    pid_t c = fork();
    if (c < 0) { perror("probe: fork"); return 1; }
    if (c == 0) {
        execv(cmd[0], cmd);
        perror("probe: exec");
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The first process of /proc named comm, other than this one; 0: none. */
static pid_t find_comm(const char *comm) {
    DIR *d = opendir("/proc");
    pid_t found = 0;
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        char p[300], buf[64] = "";
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        if (atoi(e->d_name) == getpid()) continue;
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        int fd = open(p, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
        if (n > 0 && !strcmp(buf, comm)) found = atoi(e->d_name);
    }
    if (d) closedir(d);
    return found;
}

/* Field 3 of /proc/PID/stat (after the command name's parenthesis). */
static char proc_state(pid_t pid) {
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    int fd = open(p, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *r = strrchr(buf, ')');
    return r && r[1] == ' ' ? r[2] : 0;
}

struct attempt { const char *name; int ok; int err; };

static void attempt(struct attempt *a, int r) {
    if (r >= 0) a->ok = 1; else a->err = errno;
}

static int hunt(const char *comm, const char *file, int kill_it) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = 0;
    struct attempt root = {"root", 0, 0}, fil = {"file", 0, 0}, env = {"environ", 0, 0},
                   tr = {"ptrace", 0, 0};
    char secret[256] = "", name[256] = "";
    int rounds = 0, asleep = 0;
    /* Until found and asleep (then once more), within 10 s; each round
     * makes its calls whatever they answer. */
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 10000) break;
        if (!pid) { pid = find_comm(comm); if (!pid) { sched_yield(); continue; } }
        char p[4200];
        snprintf(p, sizeof p, "/proc/%d/status", pid);
        FILE *f = fopen(p, "r");
        if (f) {
            char line[256];
            while (fgets(line, sizeof line, f))
                if (!strncmp(line, "Name:", 5)) { sscanf(line + 5, "%255s", name); break; }
            fclose(f);
        }
        snprintf(p, sizeof p, "/proc/%d/root/", pid);
        int fd = open(p, O_RDONLY | O_DIRECTORY);
        attempt(&root, fd);
        if (fd >= 0) close(fd);
        snprintf(p, sizeof p, "/proc/%d/root%s", pid, file);
        fd = open(p, O_RDONLY);
        attempt(&fil, fd);
        if (fd >= 0) {
            ssize_t n = read(fd, secret, sizeof secret - 1);
            secret[n > 0 ? n : 0] = 0;
            if (n > 0 && secret[n - 1] == '\n') secret[n - 1] = 0;
            close(fd);
        }
        snprintf(p, sizeof p, "/proc/%d/environ", pid);
        fd = open(p, O_RDONLY);
        attempt(&env, fd);
        if (fd >= 0) close(fd);
        long r = ptrace(PTRACE_SEIZE, pid, 0, 0);
        attempt(&tr, (int)r);
        if (r == 0) ptrace(PTRACE_DETACH, pid, 0, 0);
        rounds++;
        if (asleep) break;
        asleep = proc_state(pid) == 'S';
        if (proc_state(pid) == 0) break;
    }
    if (!pid) { printf("notfound\n"); return 1; }
    printf("found\nname %s\nrounds %d\n", name, rounds);
    struct attempt *all[] = {&root, &fil, &env, &tr};
    for (int i = 0; i < 4; i++) {
        if (all[i]->ok) printf("%s OK\n", all[i]->name);
        else printf("%s %s\n", all[i]->name, errname(all[i]->err));
    }
    if (secret[0]) printf("secret %s\n", secret);
    if (kill_it) kill(pid, SIGKILL);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) { fprintf(stderr, "usage: probe WHAT [ARGS]\n"); return 2; }
    const char *w = argv[1];
    if (!strcmp(w, "syscall")) {
        for (int i = 2; i < argc; i++) { errno = 0; report(argv[i], try_call(argv[i])); }
        return 0;
    }
    if (!strcmp(w, "i386")) return i386_getpid();
    if (!strcmp(w, "x32")) return x32_getpid();
    if (!strcmp(w, "tiocsti")) {
        char c = '#';
        report("tiocsti", ioctl(0, TIOCSTI, &c));
        return 0;
    }
    if ((!strcmp(w, "tcp") || !strcmp(w, "udp")) && argc == 4) return net_probe(w, argv[2], argv[3]);
    if (!strcmp(w, "udp-echo") && argc == 4) return udp_echo(argv[2], argv[3]);
    if (!strcmp(w, "connect-abstract") && argc == 3) return unix_connect(argv[2], 1);
    if (!strcmp(w, "connect-path") && argc == 3) return unix_connect(argv[2], 0);
    if (!strcmp(w, "msgget") && argc >= 3) {
        key_t key = (key_t)strtol(argv[2], NULL, 0);
        int flags = (argc == 4 && !strcmp(argv[3], "create")) ? IPC_CREAT | 0600 : 0;
        int id = msgget(key, flags);
        if (id >= 0 && argc == 4 && !strcmp(argv[3], "rm")) { report("msgrm", msgctl(id, IPC_RMID, NULL)); return 0; }
        report("msgget", id);
        return 0;
    }
    if (!strcmp(w, "privs")) {
        char line[256], eff[64] = "?";
        FILE *f = fopen("/proc/self/status", "r");
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "CapEff: %63s", eff) == 1) break;
        if (f) fclose(f);
        printf("ruid=%d euid=%d capeff=%s ", getuid(), geteuid(), eff);
        fflush(stdout);
        report("setuid0", setuid(0));
        return 0;
    }
    if (!strcmp(w, "xattrs") && argc == 3) {
        xattr_root_len = strlen(argv[2]);
        return nftw(argv[2], xattr_one, 32, FTW_PHYS) ? 1 : 0;
    }
    if (!strcmp(w, "setxattr") && argc == 5) {
        report("setxattr", lsetxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0));
        return 0;
    }
    if (!strcmp(w, "securebits")) {
        long b = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (b < 0) report("securebits", b);
        else printf("securebits %#lx\n", b);
        return 0;
    }
    if (!strcmp(w, "landlock-abi")) {
        /* LANDLOCK_CREATE_RULESET_VERSION = 1; syscall 444 on x86_64 */
        long abi = syscall(444, NULL, 0, 1UL);
        if (abi < 0) report("landlock-abi", abi);
        else printf("landlock-abi %ld\n", abi);
        return 0;
    }
    if (!strcmp(w, "no-landlock") && argc >= 3) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            /* landlock_create_ruleset is 444 on x86_64 */
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 444, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
            perror("no-landlock: seccomp");
            return 1;
        }
        execvp(argv[2], argv + 2);
        perror("no-landlock: exec");
        return 127;
    }
    if (!strcmp(w, "refuse") && argc >= 4) {
        struct sock_filter proc[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mount, 0, 5),
            /* flags, args[3]: the low word, then the high one */
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, 3),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3]) + 4),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_filter pivot[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pivot_root, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_filter wronly[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 0, 2),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
            BPF_STMT(BPF_JMP | BPF_JA, 2),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 4),
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
            BPF_STMT(BPF_ALU | BPF_AND | BPF_K, O_ACCMODE),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, O_WRONLY, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog;
        if (!strcmp(argv[2], "write-open")) {
            prog.len = sizeof wronly / sizeof wronly[0];
            prog.filter = wronly;
        } else if (!strcmp(argv[2], "mount-proc")) {
            prog.len = sizeof proc / sizeof proc[0];
            prog.filter = proc;
        } else if (!strcmp(argv[2], "pivot_root")) {
            prog.len = sizeof pivot / sizeof pivot[0];
            prog.filter = pivot;
        } else {
            fprintf(stderr, "refuse: unknown step %s\n", argv[2]);
            return 2;
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
            perror("refuse: seccomp");
            return 1;
        }
        execvp(argv[3], argv + 3);
        perror("refuse: exec");
        return 127;
    }
    if (!strcmp(w, "ids")) {
        printf("ruid=%d euid=%d rgid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
        return 0;
    }
    if (!strcmp(w, "open-write") && argc == 3) {
        report("open-write", open(argv[2], O_WRONLY));
        return 0;
    }
    if (!strcmp(w, "tty-harm")) {
        int nnull = 27; /* N_NULL */
        report("tiocsetd", ioctl(0, TIOCSETD, &nnull));
        report("nonblock", fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK));
        report("fchmod", fchmod(0, 0666));
        return 0;
    }
    if (!strcmp(w, "tty-state")) {
        int ld = -1;
        struct stat st;
        ioctl(0, TIOCGETD, &ld);
        fstat(0, &st);
        printf("ldisc=%d nonblock=%d mode=%o\n", ld, !!(fcntl(0, F_GETFL) & O_NONBLOCK),
               st.st_mode & 07777);
        return 0;
    }
    if (!strcmp(w, "meta") && argc == 3) {
        int fd = atoi(argv[2]);
        struct timespec old[2] = {{0, 0}, {0, 0}};
        report("fchmod", fchmod(fd, 0666));
        report("fchown", fchown(fd, geteuid(), getegid()));
        report("futimens", futimens(fd, old));
        report("fsetxattr", fsetxattr(fd, "user.probe", "1", 1, 0));
        return 0;
    }
    if (!strcmp(w, "write-path") && argc == 3) {
        int fd = open(argv[2], O_WRONLY);
        report("open", fd);
        if (fd >= 0) report("write", write(fd, "PWNED", 5) == 5 ? 0 : -1);
        return 0;
    }
    if (!strcmp(w, "setwinsz") && argc == 4) {
        struct winsize ws = {.ws_row = atoi(argv[2]), .ws_col = atoi(argv[3])};
        report("setwinsz", ioctl(0, TIOCSWINSZ, &ws));
        return 0;
    }
    if (!strcmp(w, "nopdeath") && argc >= 3) {
        int before = -1, after = -1;
        prctl(PR_GET_PDEATHSIG, &before);
        prctl(PR_SET_PDEATHSIG, 0);
        prctl(PR_GET_PDEATHSIG, &after);
        fprintf(stderr, "pdeathsig before=%d after=%d\n", before, after);
        execv(argv[2], argv + 2);
        perror("probe: exec");
        return 127;
    }
    /* cloexec FD on|off PROG ARGS...: set or clear FD's close-on-exec
     * flag (what a shell cannot do), then exec PROG. */
    if (!strcmp(w, "cloexec") && argc >= 5) {
        int fd = atoi(argv[2]);
        if (fcntl(fd, F_SETFD, strcmp(argv[3], "on") ? 0 : FD_CLOEXEC) != 0) {
            perror("probe: fcntl");
            return 1;
        }
        execv(argv[4], argv + 4);
        perror("probe: exec");
        return 127;
    }
    if (!strcmp(w, "hold") && argc == 3) return hold(argv[2]);
    if (!strcmp(w, "joinexec") && argc >= 5) return joinexec(atoi(argv[2]), atoi(argv[3]), argv + 4);
    if (!strcmp(w, "hunt") && (argc == 4 || argc == 5))
        return hunt(argv[2], argv[3], argc == 5 && !strcmp(argv[4], "kill"));
    if (!strcmp(w, "segv")) return *(volatile int *)0;
    if (!strcmp(w, "flood") && argc == 4) return flood(argv[2], atol(argv[3]));
    if (!strcmp(w, "flood-arg") && argc == 5) return flood_arg(atol(argv[2]), atol(argv[3]), atol(argv[4]));
    if (!strcmp(w, "own-listener") && argc == 3) return own_listener(argv[2]);
    if (!strcmp(w, "fds")) return fds();
    if (!strcmp(w, "rusage") && argc >= 3) return rusage_of(argv + 2);
    if (!strcmp(w, "eat") && argc == 3) {
        long want = atol(argv[2]), got = 0;
        for (; got < want; got++) {
            char *p = malloc(1 << 20);
            if (!p) break;
            memset(p, 1, 1 << 20);
        }
        printf("ate=%ld\n", got);
        return got == want ? 0 : 1;
    }
    if (!strcmp(w, "orphans") && argc == 3) return orphans(atoi(argv[2]));
    if (!strcmp(w, "subreap") && argc >= 5) return subreap(argv[2], atol(argv[3]), argv + 4);
    if (!strcmp(w, "netlink") && argc == 4) return netlink(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 0));
    if (!strcmp(w, "inotify") && (argc == 2 || argc == 4)) return inotify_hog(argc == 4 ? argv[2] : NULL, argc == 4 ? argv[3] : NULL);
    if (!strcmp(w, "shm") && argc == 4) return shm(atol(argv[2]), atoi(argv[3]));
    if (!strcmp(w, "console") && argc >= 5) return console(argv[2], argv[3], argv + 4);
    fprintf(stderr, "probe: unknown probe %s\n", w);
    return 2;
}
