/* bench/floor.c: the least a rootless namespace launcher does, as a floor
 * for `make bench` (see "The floor" in docs/BENCHMARKS.md).
 *
 *   floor ROOTFS COMMAND [ARG...]
 *
 * The launcher clones a child into new user, PID, mount, UTS, IPC, network
 * and cgroup namespaces, writes its uid_map, "deny" to setgroups and its
 * gid_map (0 inside is the caller outside), then lets it go. The child
 * makes every mount private, binds ROOTFS onto itself, mounts a fresh
 * /proc in it, pivots into it (pivot_root(".", ".") then a lazy unmount of
 * the old root stacked beneath), brings `lo` up and execs COMMAND. The
 * launcher waits and exits with the command's status (128 + N for a
 * signal). Nothing else: no overlay, /dev, /tmp, masks, seccomp, Landlock,
 * capability drop, hostname or guard. A failed step exits 125 with a line
 * on stderr. Linux only; built static by bench/run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "floor: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    _exit(125);
}

static void put(pid_t pid, const char *file, const char *text)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die("write", path);
    close(fd);
}

static void child(int go, const char *rootfs, char **argv)
{
    char byte, proc[4096];
    /* Wait for the id maps: the launcher writes one byte when they are in
     * (and none when it failed, so the read ends at EOF). */
    if (read(go, &byte, 1) != 1) {
        fprintf(stderr, "floor: the launcher gave no id maps\n");
        _exit(125);
    }
    close(go);

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private", NULL);
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind", rootfs);
    if (snprintf(proc, sizeof proc, "%s/proc", rootfs) >= (int)sizeof proc)
        errno = ENAMETOOLONG, die("mount /proc in", rootfs);
    if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount", proc);
    if (chdir(rootfs) < 0)
        die("chdir", rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root", rootfs);
    if (umount2(".", MNT_DETACH) < 0)
        die("unmount the old root", NULL);
    if (chdir("/") < 0)
        die("chdir", "/");

    struct ifreq ifr = { 0 };
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    strcpy(ifr.ifr_name, "lo");
    if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        die("read the flags of", "lo");
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
        die("bring up", "lo");
    close(sock);

    execv(argv[0], argv);
    die("exec", argv[0]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: floor ROOTFS COMMAND [ARG...]\n");
        return 125;
    }
    char map[64];
    int go[2];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (pipe2(go, O_CLOEXEC) < 0)
        die("pipe", NULL);

    /* clone with no new stack: the child continues here, as after fork. */
    long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                 CLONE_NEWNET | CLONE_NEWCGROUP | SIGCHLD;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid < 0)
        die("clone", NULL);
    if (pid == 0) {
        close(go[1]);
        child(go[0], argv[1], argv + 2);
    }
    close(go[0]);

    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    put(pid, "uid_map", map);
    put(pid, "setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    put(pid, "gid_map", map);
    if (write(go[1], "", 1) != 1)
        die("release the child", NULL);
    close(go[1]);

    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("wait", NULL);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
