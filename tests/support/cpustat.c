/* CPU accounting for benchmarks, from /proc (cpustat.h). */
#include "cpustat.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtest.h"

/* CPU seconds (user + system) used so far by every process named `comm`. */
double cpu_of(const char *comm)
{
    double ticks = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[300], buf[1024];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close || (size_t)(close - open - 1) != strlen(comm) ||
            strncmp(open + 1, comm, strlen(comm)) != 0)
            continue;
        unsigned long utime = 0, stime = 0; /* fields 14 and 15 */
        if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                   &stime) == 2)
            ticks += (double)(utime + stime);
    }
    if (d)
        closedir(d);
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Fields 14-17 of /proc/PID/stat (utime, stime, cutime, cstime) and field 4
 * (ppid), in ticks; -1 when the process is gone. */
static int proc_times(long pid, long *ppid, unsigned long long t[4])
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *close = strrchr(buf, ')');
    long long c[4];
    if (!close ||
        sscanf(close + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %lld %lld", ppid,
               &c[0], &c[1], &c[2], &c[3]) != 5)
        return -1;
    for (int i = 0; i < 4; i++)
        t[i] = (unsigned long long)c[i];
    return 0;
}

/* The postmaster of the cluster PGTEST_URL names (the parent of a backend). */
static long cluster_postmaster(void)
{
    static long pm;
    if (pm)
        return pm;
    PGconn *c = pgt_connect(getenv("PGTEST_URL"));
    long ppid = 0;
    unsigned long long t[4];
    if (proc_times((long)PQbackendPID(c), &ppid, t) == 0)
        pm = ppid;
    PQfinish(c);
    return pm;
}

/* CPU seconds used so far by this cluster: the postmaster, its live
 * children, and the children it reaped (exited backends). Monotonic. */
double cluster_cpu(void)
{
    long pm = cluster_postmaster(), ppid;
    unsigned long long t[4], ticks = 0;
    if (pm <= 0 || proc_times(pm, &ppid, t) != 0)
        return 0;
    ticks = t[0] + t[1] + t[2] + t[3];
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (proc_times(atol(e->d_name), &ppid, t) == 0 && ppid == pm)
            ticks += t[0] + t[1];
    }
    if (d)
        closedir(d);
    return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

struct cpu cpu_now(const char *generator)
{
    struct cpu c = {cluster_cpu(), cpu_of("postpace"), cpu_of(generator), 0, 0, 0};
    unsigned long long t[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3],
                    &t[4], &t[5], &t[6], &t[7]) == 8) {
        for (int i = 0; i < 8; i++)
            c.all += t[i];
        c.idle = t[3] + t[4]; /* idle and iowait */
        c.steal = t[7];
    }
    if (f)
        fclose(f);
    return c;
}
