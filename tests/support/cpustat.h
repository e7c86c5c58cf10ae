/*
 * CPU a benchmark run cost, from /proc: its own cluster's postgres
 * processes (the postmaster of PGTEST_URL's cluster, its live children,
 * and the ones it reaped: backends that exited are counted; another
 * cluster on the machine is not), the daemon, the generator, and the
 * machine's idle and stolen time. Take cpu_now() before and after a run
 * and subtract: steadier than a rate on a shared machine, and it says
 * where the time went. Linux only.
 */
#ifndef POSTPACE_TEST_CPUSTAT_H
#define POSTPACE_TEST_CPUSTAT_H

struct cpu {
    double pg, daemon, gen;              /* CPU seconds used so far */
    unsigned long long all, idle, steal; /* the machine's ticks, from /proc/stat */
};

/* CPU seconds (user + system) used so far by every process named `comm`. */
double cpu_of(const char *comm);

/* CPU seconds used so far by PGTEST_URL's cluster. Monotonic. */
double cluster_cpu(void);

/* Now: the cluster, every process named postpace, and every one named `generator`. */
struct cpu cpu_now(const char *generator);

#endif
