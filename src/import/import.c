/*
 * DESIGN: `postpace import`, run on the main thread of a one-shot command.
 * The file is read in 256 KiB chunks into the streaming reader; each record
 * becomes one staged row, sent with COPY as it is made; nothing of the file
 * is kept beyond the record being read and one COPY batch, so memory does
 * not grow with the file. Validation then runs in SQL over the whole staging
 * table at once, and the insert follows in the same transaction: by default
 * only when no row was refused, with --partial for the good rows anyway,
 * never with --dry-run. A process killed at any point leaves the calendar as
 * it was (the server rolls back the open transaction).
 *
 * A cut-off input must not pass for a whole one: the reader refuses a last
 * record without a line end (allowed only for a regular file, with
 * --allow-unterminated), and a regular file is stat'ed at open, at EOF and
 * before commit: any change of size or mtime stops the import unwritten.
 */
#include "import/import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "import/ids.h"
#include "import/reader.h"
#include "import/row.h"
#include "import/stage.h"
#include "util/xmalloc.h"

#define CHUNK (256 * 1024)
#define TICK_TTY_MS 250      /* progress redraws on a terminal, at most */
#define TICK_PLAIN_MS 5000   /* progress lines otherwise */

struct imp_args {
    const char *path;   /* "-": standard input */
    const char *format; /* NULL: from the extension */
    int partial, dry_run;
    int allow_unterminated; /* a regular file may end without a final line end */
};

/* One import in progress. */
struct imp_run {
    struct imp_args args;
    const char *name;        /* the file as reports name it */
    enum imp_format fmt;
    int fd;
    long long size;          /* bytes, when known (a regular file); else -1 */
    struct stat st;          /* a regular file as opened: it must not change until commit */
    long long done;          /* bytes read */
    struct imp_header header;
    int have_header;
    struct imp_row row;
    struct imp_ids ids; /* external ids read so far, for repeats */
    struct imp_db db;
    long rows;               /* records read (not the header, not blank lines) */
    char err[512];
    int header_failed;
    uint64_t t0, last_tick;
    int tty, ticked;
    struct imp_buf report;   /* error lines not written yet */
    int catchup_ms;          /* the scheduler's catch-up window, for the past-time warning */
};

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "postpace: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see `postpace help`)\n");
    return 2;
}

/* The flag's name without dashes or "=value", for the error message. */
static const char *flag_name(const char *a, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)strcspn(a, "="), a);
    return buf;
}

static int parse_args(struct imp_args *a, int argc, char **argv)
{
    char name[128];
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--partial") == 0)
            a->partial = 1;
        else if (strcmp(s, "--dry-run") == 0)
            a->dry_run = 1;
        else if (strcmp(s, "--allow-unterminated") == 0)
            a->allow_unterminated = 1;
        else if (strncmp(s, "--format=", 9) == 0)
            a->format = s + 9;
        else if (strcmp(s, "--format") == 0) {
            if (i + 1 >= argc)
                return usage("%s: needs a value (csv or jsonl)", "--format");
            a->format = argv[++i];
        } else if (strncmp(s, "--", 2) == 0)
            return usage("%s: unknown flag", flag_name(s, name, sizeof name));
        else if (a->path)
            return usage("import: unexpected argument \"%s\"", s);
        else
            a->path = s;
    }
    if (!a->path)
        return usage("%s: needs a FILE (or - for standard input)", "import");
    if (a->format && strcmp(a->format, "csv") != 0 && strcmp(a->format, "jsonl") != 0)
        return usage("--format: \"%s\" is not csv or jsonl", a->format);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* --format, else the extension (.jsonl, .ndjson), else CSV. */
static enum imp_format pick_format(const struct imp_args *a)
{
    if (a->format)
        return strcmp(a->format, "jsonl") == 0 ? IMP_JSONL : IMP_CSV;
    if (ends_with(a->path, ".jsonl") || ends_with(a->path, ".ndjson"))
        return IMP_JSONL;
    return IMP_CSV;
}

static int open_input(struct imp_run *run)
{
    run->size = -1;
    if (strcmp(run->args.path, "-") == 0) {
        run->fd = 0;
        run->name = "stdin";
    } else {
        run->fd = open(run->args.path, O_RDONLY | O_CLOEXEC);
        run->name = run->args.path;
        if (run->fd < 0) {
            fprintf(stderr, "postpace: import: cannot open %s: %s\n", run->name, strerror(errno));
            return -1;
        }
    }
    if (fstat(run->fd, &run->st) == 0 && S_ISREG(run->st.st_mode))
        run->size = (long long)run->st.st_size;
    return 0;
}

/*
 * A regular file must be the same from open to commit: one that shrank,
 * grew or was rewritten meanwhile (size or mtime) was not read as any
 * single version of itself. 0, or -1 with the reason in run->err.
 */
static int input_unchanged(struct imp_run *run)
{
    struct stat now;
    if (run->size < 0)
        return 0;
    if (fstat(run->fd, &now) != 0) {
        snprintf(run->err, sizeof run->err, "cannot stat the file: %s", strerror(errno));
        return -1;
    }
    if (now.st_size != run->st.st_size || run->done != (long long)now.st_size)
        snprintf(run->err, sizeof run->err,
                 "the file changed while it was imported (%lld bytes at the start, %lld now, "
                 "%lld read)",
                 (long long)run->st.st_size, (long long)now.st_size, run->done);
    else if (now.st_mtim.tv_sec != run->st.st_mtim.tv_sec ||
             now.st_mtim.tv_nsec != run->st.st_mtim.tv_nsec)
        snprintf(run->err, sizeof run->err,
                 "the file changed while it was imported (it was modified)");
    else
        return 0;
    return -1;
}

/* ---- progress ---- */

static void progress(struct imp_run *run, int force)
{
    uint64_t now = clk_mono_ms(clk_real);
    uint64_t gap = run->tty ? TICK_TTY_MS : TICK_PLAIN_MS;
    if (!force && now - run->last_tick < gap)
        return;
    run->last_tick = now;
    double secs = (double)(now - run->t0) / 1000.0;
    double rate = secs > 0 ? (double)run->rows / secs : 0;
    char eta[48] = "";
    if (run->size > 0 && run->done > 0 && secs > 0) {
        double left = secs * (double)(run->size - run->done) / (double)run->done;
        snprintf(eta, sizeof eta, ", %.0f%%, ETA %.0f s", 100.0 * (double)run->done / (double)run->size,
                 left);
    }
    fprintf(stderr, "%simport: %s: %ld rows read, %.0f rows/s%s%s", run->tty ? "\r\033[K" : "",
            run->name, run->rows, rate, eta, run->tty ? "" : "\n");
    run->ticked = 1;
}

/* Says what happens next (validation can take a while on a big file). */
static void phase(struct imp_run *run, const char *what)
{
    if (run->tty && run->ticked)
        fprintf(stderr, "\r\033[Kimport: %s: %ld rows read, %s...", run->name, run->rows, what);
    else if (run->ticked)
        fprintf(stderr, "import: %s: %s\n", run->name, what);
}

static void end_progress(struct imp_run *run)
{
    if (run->tty && run->ticked)
        fprintf(stderr, "\r\033[K");
}

/* ---- reading ---- */

static int on_record(void *arg, const struct imp_record *rec)
{
    struct imp_run *run = arg;
    if (run->fmt == IMP_CSV && !run->have_header) {
        run->have_header = 1;
        if (imp_header_parse(&run->header, rec, run->err, sizeof run->err) == 0)
            return 0;
        run->header_failed = 1;
        return 1;
    }
    run->rows++;
    if (run->fmt == IMP_CSV)
        imp_row_from_csv(&run->row, &run->header, rec);
    else
        imp_row_from_jsonl(&run->row, rec);
    const struct imp_row *r = &run->row;
    if (!r->broken && r->val[IMP_COL_EXTERNAL_ID] && !(r->bad & (1u << IMP_COL_EXTERNAL_ID)))
        run->row.twin_of = imp_ids_first_line(&run->ids, r->val[IMP_COL_EXTERNAL_ID],
                                              r->len[IMP_COL_EXTERNAL_ID], r->line);
    return imp_db_put(&run->db, &run->row, run->err, sizeof run->err) ? 2 : 0;
}

/* Streams the whole input into the staging table. 0, or -1 (reason printed). */
static int stream(struct imp_run *run)
{
    char *buf = xmalloc(CHUNK);
    struct imp_reader *rd = imp_reader_create(run->fmt, IMP_MAX_RECORD, on_record, run);
    int rc = 0;
    /* Only a regular file's end is known to be its true end (checked again at EOF). */
    imp_reader_allow_unterminated(rd, run->args.allow_unterminated && run->size >= 0);
    for (;;) { /* bounded by the input: each pass reads at least one byte or stops */
        ssize_t n = read(run->fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(run->err, sizeof run->err, "read failed: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0) {
            rc = input_unchanged(run) != 0 || imp_reader_finish(rd) ? -1 : 0;
            break;
        }
        run->done += n;
        if (imp_reader_feed(rd, buf, (size_t)n)) {
            rc = -1;
            break;
        }
        progress(run, 0);
    }
    if (rc == 0 && run->fmt == IMP_CSV && !run->have_header) {
        snprintf(run->err, sizeof run->err, "header: the file is empty");
        run->header_failed = 1;
        rc = -1;
    }
    imp_reader_destroy(rd);
    free(buf);
    return rc;
}

/* ---- reporting ---- */

static void flush_report(struct imp_run *run)
{
    if (run->report.len)
        fwrite(run->report.p, 1, run->report.len, stderr);
    run->report.len = 0;
}

static void on_error(void *arg, long line, const char *column, const char *reason)
{
    struct imp_run *run = arg;
    char head[64];
    snprintf(head, sizeof head, ":%ld: ", line);
    imp_buf_adds(&run->report, run->name);
    imp_buf_adds(&run->report, head);
    imp_buf_adds(&run->report, column);
    imp_buf_add(&run->report, ": ", 2);
    imp_buf_adds(&run->report, reason);
    imp_buf_add(&run->report, "\n", 1);
    if (run->report.len > 64 * 1024)
        flush_report(run);
}

static void summary(struct imp_run *run, const struct imp_counts *n, long inserted)
{
    double secs = (double)(clk_mono_ms(clk_real) - run->t0) / 1000.0;
    double rate = secs > 0 ? (double)run->rows / secs : (double)run->rows;
    const char *verb = run->args.dry_run ? "would be inserted" : "inserted";
    if (run->args.dry_run)
        inserted = (!n->refused || run->args.partial) ? n->fresh : 0;
    fflush(stderr);
    printf("import: %s: %ld rows read, %ld %s, %ld already present, %ld refused (%.0f rows/s, %.2f s)%s\n",
           run->name, run->rows, inserted, verb, n->present, n->refused, rate, secs,
           run->args.dry_run ? " [dry run: nothing written]" : "");
    fflush(stdout);
}

static void fail(struct imp_run *run, const char *what)
{
    end_progress(run);
    if (run->header_failed)
        fprintf(stderr, "%s:1: %s\n", run->name, run->err);
    else
        fprintf(stderr, "postpace: import: %s: %s: %s (nothing imported)\n", run->name, what,
                run->err);
}

/*
 * Rows in the past are imported (a back-filled calendar is legitimate), but
 * never silently: the scheduler sends those overdue by less than catchup_ms
 * at once and expires the others unsent, and the user is told which.
 */
static void warn_past(struct imp_run *run, const struct imp_counts *n)
{
    if (n->late)
        fprintf(stderr,
                "%s:%ld: warning: %ld row%s scheduled in the past, overdue by less than "
                "catchup_ms (%d ms): sent at once (the first on this line)\n",
                run->name, n->late_line, n->late, n->late == 1 ? "" : "s", run->catchup_ms);
    if (n->expire)
        fprintf(stderr,
                "%s:%ld: warning: %ld row%s scheduled more than catchup_ms (%d ms) in the past: "
                "their targets expire unsent (the first on this line)\n",
                run->name, n->expire_line, n->expire, n->expire == 1 ? "" : "s", run->catchup_ms);
}

/* Validation, report, insert, commit: the part after streaming. */
static int finish(struct imp_run *run)
{
    struct imp_counts n;
    memset(&n, 0, sizeof n);
    long inserted = 0;
    phase(run, "checking");
    if (imp_db_check(&run->db, run->ids.full, run->catchup_ms, &n, run->err, sizeof run->err) !=
        0) {
        fail(run, "check failed");
        return 1;
    }
    end_progress(run);
    if (n.refused && imp_db_report(&run->db, on_error, run, run->err, sizeof run->err) != 0) {
        fail(run, "report failed");
        return 1;
    }
    flush_report(run);
    warn_past(run, &n);
    int write = !run->args.dry_run && (n.refused == 0 || run->args.partial);
    if (write && n.fresh > 0) {
        phase(run, "inserting");
        if (imp_db_insert(&run->db, &inserted, run->err, sizeof run->err) != 0) {
            fail(run, "insert failed");
            return 1;
        }
        end_progress(run);
    }
    if (write && input_unchanged(run) != 0) {
        fail(run, "stopped");
        return 1;
    }
    if (write && imp_db_commit(&run->db, run->err, sizeof run->err) != 0) {
        fail(run, "commit failed");
        return 1;
    }
    n.present += write ? n.fresh - inserted : 0; /* rows that appeared meanwhile */
    summary(run, &n, inserted);
    return n.refused ? 1 : 0;
}

static int run_import(struct imp_run *run, const struct config *cfg)
{
    if (imp_db_open(&run->db, cfg->database_url, run->err, sizeof run->err) != 0) {
        fail(run, "database");
        return 1;
    }
    char err2[256];
    if (stream(run) != 0) {
        (void)imp_db_end_copy(&run->db, "import stopped", err2, sizeof err2);
        fail(run, "stopped");
        return 1;
    }
    if (imp_db_end_copy(&run->db, NULL, run->err, sizeof run->err) != 0) {
        fail(run, "copy failed");
        return 1;
    }
    return finish(run);
}

int cmd_import(struct config *cfg, int argc, char **argv)
{
    struct imp_run *run = xcalloc(1, sizeof *run);
    int rc = parse_args(&run->args, argc, argv);
    if (rc == 0 && open_input(run) != 0)
        rc = 1;
    if (rc == 0) {
        run->fmt = pick_format(&run->args);
        run->catchup_ms = cfg->catchup_ms;
        run->tty = isatty(2);
        run->t0 = run->last_tick = clk_mono_ms(clk_real);
        imp_row_init(&run->row);
        imp_ids_init(&run->ids, (size_t)cfg->import_id_memory_mb << 20);
        rc = run_import(run, cfg);
        imp_ids_free(&run->ids);
        imp_db_close(&run->db);
        imp_row_finish(&run->row);
        imp_buf_free(&run->report);
        if (run->fd > 0)
            close(run->fd);
    }
    free(run);
    return rc;
}
