/* bench/interleave.c: launch commands in turn, round after round, and
 * report each one's wall time and CPU time, for `make bench` where two
 * commands are compared by a ratio: run interleaved, both see the same
 * load (hyperfine runs one command's runs, then the next's).
 *
 *   interleave RUNS WARMUP NAME COMMAND [NAME COMMAND...]
 *
 * COMMAND is split on spaces (no quoting: the commands of bench/run have
 * none) and run by path, with stdin, stdout and stderr on /dev/null. After
 * WARMUP rounds that are not counted, RUNS rounds; in each round every
 * command once, in the order given. The wall time is from fork to the
 * reaping of the command; the CPU time is user + system of the command and
 * of every descendant it waited for (wait4's rusage), which load disturbs
 * less than the wall time. A command that fails ends the run (exit 1,
 * with its name and status on stderr).
 *
 * Prints one CSV line per command, in milliseconds:
 *   name,median,mean,stddev,min,max,cpu_median,cpu_mean */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct cmd {
    const char *name;
    char **argv;
    double *wall, *cpu;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static char **split(const char *s)
{
    char *copy = strdup(s);
    size_t n = 0, cap = 8;
    char **argv = malloc(cap * sizeof *argv);
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
        if (n + 2 > cap)
            argv = realloc(argv, (cap *= 2) * sizeof *argv);
        argv[n++] = tok;
    }
    argv[n] = NULL;
    return argv;
}

/* One launch; its wall and CPU time in ms. */
static void launch(const struct cmd *c, int devnull, double *wall, double *cpu)
{
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("interleave: fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(c->argv[0], c->argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        perror("interleave: wait4");
        exit(1);
    }
    *wall = now() - start;
    *cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "interleave: %s failed (status 0x%x)\n", c->name, status);
        exit(1);
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (argc - 3) % 2 != 0) {
        fprintf(stderr, "usage: interleave RUNS WARMUP NAME COMMAND [NAME COMMAND...]\n");
        return 2;
    }
    int runs = atoi(argv[1]), warmup = atoi(argv[2]), n = (argc - 3) / 2;
    if (runs < 1 || warmup < 0) {
        fprintf(stderr, "interleave: RUNS must be > 0 and WARMUP >= 0\n");
        return 2;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        perror("interleave: /dev/null");
        return 1;
    }
    struct cmd *cmds = calloc(n, sizeof *cmds);
    for (int i = 0; i < n; i++) {
        cmds[i].name = argv[3 + 2 * i];
        cmds[i].argv = split(argv[4 + 2 * i]);
        cmds[i].wall = calloc(runs, sizeof(double));
        cmds[i].cpu = calloc(runs, sizeof(double));
    }
    double w, c;
    for (int r = 0; r < warmup; r++)
        for (int i = 0; i < n; i++)
            launch(&cmds[i], devnull, &w, &c);
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < n; i++)
            launch(&cmds[i], devnull, &cmds[i].wall[r], &cmds[i].cpu[r]);
    for (int i = 0; i < n; i++) {
        double sum = 0, sq = 0, csum = 0;
        for (int r = 0; r < runs; r++) {
            sum += cmds[i].wall[r];
            csum += cmds[i].cpu[r];
        }
        double mean = sum / runs;
        for (int r = 0; r < runs; r++)
            sq += (cmds[i].wall[r] - mean) * (cmds[i].wall[r] - mean);
        double med = median(cmds[i].wall, runs);
        printf("%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n", cmds[i].name, med, mean,
               runs > 1 ? sqrt(sq / (runs - 1)) : 0, cmds[i].wall[0], cmds[i].wall[runs - 1],
               median(cmds[i].cpu, runs), csum / runs);
    }
    return 0;
}
