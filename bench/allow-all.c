/* bench/allow-all.c: run a command under the smallest seccomp filter there
 * is (one instruction: allow), to measure what any filter costs the
 * command's syscalls on this kernel, apart from what our filter adds.
 *
 *   allow-all PROGRAM [ARG...]
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = { 1, &allow };

    if (argc < 2) {
        fprintf(stderr, "usage: allow-all PROGRAM [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        perror("allow-all: seccomp");
        return 1;
    }
    execv(argv[1], argv + 1);
    perror("allow-all: exec");
    return 127;
}
