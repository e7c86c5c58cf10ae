/*
 * DESIGN: the import readers are byte-at-a-time state machines, so a record
 * may be split anywhere between two feeds (inside a quote, between the CR
 * and LF of a line end, inside the byte-order mark). Runs of bytes the
 * machine would only store (most of a field) are found and copied at once,
 * with the same result as one at a time. The current record's
 * bytes live in one buffer, each field NUL-terminated, capped at max_record:
 * a longer record is still parsed to its end (so the next record starts in
 * the right place) but its bytes are dropped and it comes out with an error.
 *
 * CSV recovery: RFC 4180 gives no meaning to a quote inside an unquoted
 * field or to text after a closing quote. Both mark the record broken, the
 * stray byte is kept as data and the field continues unquoted, so the record
 * still ends at the next unquoted newline and the records after it read
 * normally. An unterminated quote swallows the rest of the file and is
 * reported on the record's first line. Empty lines between records are
 * skipped; a bare CR (not before LF) is data.
 *
 * Truncation: every record must end with a line end (a final CR counts),
 * unless the caller allows otherwise (imp_reader_allow_unterminated): the
 * one sign a reader has of an input cut short.
 */
#include "import/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

/* Where a CSV reader is inside the current field. */
enum csv_state {
    CSV_FIELD_START, /* nothing of the field read yet */
    CSV_UNQUOTED,    /* inside an unquoted field */
    CSV_QUOTED,      /* inside quotes */
    CSV_QUOTE_SEEN   /* a quote inside quotes: either "" or the closing quote */
};

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

struct imp_reader {
    enum imp_format fmt;
    imp_record_fn fn;
    void *arg;
    size_t max_record;
    char *buf; /* the record's fields, each NUL-terminated */
    size_t len, cap;
    size_t *starts; /* offset of each kept field in buf */
    struct imp_field *fields;
    size_t nkept;      /* fields stored in starts[] */
    size_t fieldno;    /* the field being read, 0-based (counts past the cap too) */
    int overflow;      /* bytes were dropped: the record is too long */
    enum csv_state state;
    int pending_cr;    /* a CR outside quotes, waiting to see whether LF follows */
    int field_quoted;  /* the current field began with a quote */
    int any_data;      /* the record has at least one byte (or a separator) */
    long line;         /* current physical line */
    long rec_line;     /* line the current record starts on */
    long quote_line;   /* line the current quoted field opened on */
    const char *error; /* first error of the current record */
    size_t error_field;
    char errbuf[160];
    int bom_matched;   /* BOM bytes matched at the start; 3 (or 4: gave up) ends the check */
    int stopped;       /* the callback returned non-zero */
    int bytewise;      /* tests: no run copying (imp_reader_set_bytewise) */
    int allow_unterminated; /* the input's end is known to be its true end */
};

struct imp_reader *imp_reader_create(enum imp_format fmt, size_t max_record, imp_record_fn fn,
                                     void *arg)
{
    struct imp_reader *r = xcalloc(1, sizeof *r);
    r->fmt = fmt;
    r->fn = fn;
    r->arg = arg;
    r->max_record = max_record ? max_record : IMP_MAX_RECORD;
    r->cap = 4096;
    r->buf = xmalloc(r->cap);
    r->starts = xcalloc(IMP_MAX_FIELDS, sizeof *r->starts);
    r->fields = xcalloc(IMP_MAX_FIELDS, sizeof *r->fields);
    r->line = 1;
    r->rec_line = 1;
    return r;
}

void imp_reader_destroy(struct imp_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->starts);
    free(r->fields);
    free(r);
}

long imp_reader_line(const struct imp_reader *r)
{
    return r->line;
}

void imp_reader_set_bytewise(struct imp_reader *r, int on)
{
    r->bytewise = on;
}

void imp_reader_allow_unterminated(struct imp_reader *r, int on)
{
    r->allow_unterminated = on;
}

static void set_error(struct imp_reader *r, const char *msg)
{
    if (r->error)
        return;
    snprintf(r->errbuf, sizeof r->errbuf, "%s", msg);
    r->error = r->errbuf;
    r->error_field = r->fieldno;
}

static void put_byte(struct imp_reader *r, char c)
{
    r->any_data = 1;
    if (r->overflow)
        return;
    if (r->len + 2 + IMP_MAX_FIELDS > r->max_record) { /* room for the byte and the NULs */
        r->overflow = 1;
        char msg[96];
        snprintf(msg, sizeof msg, "record longer than %zu bytes", r->max_record);
        set_error(r, msg);
        return;
    }
    if (r->len + 2 > r->cap) {
        r->cap *= 2;
        r->buf = xrealloc(r->buf, r->cap);
    }
    r->buf[r->len++] = c;
}

/* put_byte for a run of bytes at once; the same result. */
static void put_bytes(struct imp_reader *r, const char *p, size_t n)
{
    r->any_data = 1;
    if (r->overflow)
        return;
    if (r->len + n + 1 + IMP_MAX_FIELDS > r->max_record) {
        /* Some byte of the run overflows: put_byte finds which. */
        for (size_t i = 0; i < n && !r->overflow; i++)
            put_byte(r, p[i]);
        return;
    }
    if (r->len + n + 1 > r->cap) {
        while (r->len + n + 1 > r->cap)
            r->cap *= 2;
        r->buf = xrealloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

/* Ends the current field: NUL-terminates it and opens the next one. */
static void end_field(struct imp_reader *r)
{
    if (!r->overflow && r->nkept < IMP_MAX_FIELDS) {
        if (r->len + 1 > r->cap) {
            r->cap *= 2;
            r->buf = xrealloc(r->buf, r->cap);
        }
        r->fields[r->nkept].len = r->len - r->starts[r->nkept];
        r->buf[r->len++] = '\0';
        r->nkept++;
        if (r->nkept < IMP_MAX_FIELDS)
            r->starts[r->nkept] = r->len;
    } else if (!r->overflow) {
        char msg[64];
        snprintf(msg, sizeof msg, "more than %d fields", IMP_MAX_FIELDS);
        set_error(r, msg);
    }
    r->fieldno++;
    r->field_quoted = 0;
    r->state = CSV_FIELD_START;
}

static void reset_record(struct imp_reader *r)
{
    r->len = 0;
    r->starts[0] = 0;
    r->nkept = 0;
    r->fieldno = 0;
    r->overflow = 0;
    r->state = CSV_FIELD_START;
    r->field_quoted = 0;
    r->any_data = 0;
    r->error = NULL;
    r->error_field = 0;
    r->rec_line = r->line;
}

/* A record with no byte at all (an empty line) is skipped, not handed over. */
static int is_blank(const struct imp_reader *r)
{
    if (r->error)
        return 0;
    if (r->fmt == IMP_CSV)
        return r->nkept == 1 && r->fieldno == 1 && r->len == 1 && !r->any_data;
    for (size_t i = 0; i + 1 < r->len; i++)
        if (r->buf[i] != ' ' && r->buf[i] != '\t' && r->buf[i] != '\r')
            return 0;
    return 1;
}

static int emit(struct imp_reader *r)
{
    int rc = 0;
    if (!is_blank(r)) {
        struct imp_record rec = {r->rec_line, r->overflow ? 0 : r->nkept, r->fields, r->error,
                                 r->error_field};
        for (size_t i = 0; i < rec.nfields; i++)
            r->fields[i].ptr = r->buf + r->starts[i];
        rc = r->fn(r->arg, &rec);
    }
    return rc;
}

/* Ends the record on a newline (already counted in r->line). */
static int end_record(struct imp_reader *r)
{
    end_field(r);
    int rc = emit(r);
    reset_record(r);
    return rc;
}

static void stray_quote(struct imp_reader *r, const char *why, char c)
{
    set_error(r, why);
    put_byte(r, c);
    r->state = CSV_UNQUOTED;
}

/* One byte of CSV, CR handling already done. Returns non-zero to stop. */
static int csv_byte(struct imp_reader *r, char c)
{
    switch (r->state) {
    case CSV_FIELD_START:
        if (c == '"') {
            r->state = CSV_QUOTED;
            r->field_quoted = 1;
            r->any_data = 1;
            r->quote_line = r->line;
            return 0;
        }
        /* fall through: the field is unquoted */
        r->state = CSV_UNQUOTED;
        if (c == ',') {
            r->any_data = 1;
            end_field(r);
            return 0;
        }
        if (c == '\n')
            return end_record(r);
        put_byte(r, c);
        return 0;
    case CSV_UNQUOTED:
        if (c == ',') {
            end_field(r);
            return 0;
        }
        if (c == '\n')
            return end_record(r);
        if (c == '"')
            stray_quote(r, "broken quoting: a quote inside an unquoted field", c);
        else
            put_byte(r, c);
        return 0;
    case CSV_QUOTED:
        if (c == '"')
            r->state = CSV_QUOTE_SEEN;
        else
            put_byte(r, c);
        return 0;
    case CSV_QUOTE_SEEN:
        if (c == '"') {
            put_byte(r, c);
            r->state = CSV_QUOTED;
        } else if (c == ',') {
            end_field(r);
        } else if (c == '\n') {
            return end_record(r);
        } else {
            stray_quote(r, "broken quoting: text after the closing quote", c);
        }
        return 0;
    }
    return 0;
}

/* CSV with line ends: a CR outside quotes waits for the next byte. */
static int csv_feed_byte(struct imp_reader *r, char c)
{
    int rc = 0;
    if (r->pending_cr) {
        r->pending_cr = 0;
        if (c != '\n')
            rc = csv_byte(r, '\r'); /* a bare CR is data */
        if (rc)
            return rc;
    }
    if (c == '\r' && r->state != CSV_QUOTED) {
        r->pending_cr = 1;
        return 0;
    }
    if (c == '\n')
        r->line++;
    return csv_byte(r, c);
}

static int jsonl_feed_byte(struct imp_reader *r, char c)
{
    if (c != '\n') {
        put_byte(r, c);
        return 0;
    }
    r->line++;
    if (!r->overflow && r->len > 0 && r->buf[r->len - 1] == '\r')
        r->len--;
    return end_record(r);
}

static int feed_byte(struct imp_reader *r, char c)
{
    return r->fmt == IMP_CSV ? csv_feed_byte(r, c) : jsonl_feed_byte(r, c);
}

/* Matches the byte-order mark; returns the bytes of data it consumed. */
static size_t skip_bom(struct imp_reader *r, const unsigned char *d, size_t len, int *rc)
{
    size_t used = 0;
    while (r->bom_matched < 3 && used < len) {
        if (d[used] != bom[r->bom_matched]) {
            int matched = r->bom_matched;
            r->bom_matched = 4;
            for (int i = 0; i < matched && !*rc; i++) /* not a BOM after all: replay it */
                *rc = feed_byte(r, (char)bom[i]);
            return used;
        }
        r->bom_matched++;
        used++;
    }
    return used;
}

/* How many bytes from s on the state machine would only store: none of them
 * ends a field, a record or a line, or is a quote or a CR it must look at. */
static size_t plain_run(const struct imp_reader *r, const char *s, size_t n)
{
    size_t i = 0;
    if (r->bytewise)
        return 0;
    if (r->fmt == IMP_JSONL) {
        const char *nl = memchr(s, '\n', n);
        return nl ? (size_t)(nl - s) : n;
    }
    if (r->pending_cr)
        return 0;
    if (r->state == CSV_QUOTED)
        while (i < n && s[i] != '"' && s[i] != '\n')
            i++;
    else if (r->state == CSV_UNQUOTED)
        while (i < n && s[i] != ',' && s[i] != '"' && s[i] != '\n' && s[i] != '\r')
            i++;
    return i;
}

int imp_reader_feed(struct imp_reader *r, const char *data, size_t len)
{
    if (r->stopped)
        return r->stopped;
    int rc = 0;
    size_t i = 0;
    if (r->bom_matched < 3)
        i = skip_bom(r, (const unsigned char *)data, len, &rc);
    while (i < len && !rc) { /* each pass consumes at least one byte */
        size_t run = plain_run(r, data + i, len - i);
        if (run > 0) {
            put_bytes(r, data + i, run); /* the bulk of a file: copied, not stepped through */
            i += run;
        } else
            rc = feed_byte(r, data[i++]);
    }
    r->stopped = rc;
    return rc;
}

/*
 * The last record has no line end: a file cut short (a pipe closed early, a
 * copy interrupted) looks exactly like this, its last value cut mid-word,
 * so it is refused unless the caller knows the input ends there. The error
 * is the record's own, so every other row is still checked and reported.
 */
static void unterminated(struct imp_reader *r)
{
    if (r->error)
        return; /* refused already, for a reason of its own */
    set_error(r, "no line end after the last record: the input may have been cut off");
    r->error_field = IMP_FIELD_RECORD;
}

int imp_reader_finish(struct imp_reader *r)
{
    if (r->stopped)
        return r->stopped;
    int rc = 0;
    if (r->bom_matched > 0 && r->bom_matched < 3) {
        int matched = r->bom_matched;
        r->bom_matched = 4;
        for (int i = 0; i < matched && !rc; i++)
            rc = feed_byte(r, (char)bom[i]);
    }
    int cr_ended = r->pending_cr; /* a final CR ends the last line */
    r->pending_cr = 0;
    if (!rc && r->fmt == IMP_CSV && r->state == CSV_QUOTED) {
        char msg[96];
        snprintf(msg, sizeof msg, "broken quoting: the quote opened on line %ld is never closed",
                 r->quote_line);
        set_error(r, msg);
    }
    if (!rc && (r->any_data || r->len > 0 || r->fieldno > 0)) {
        if (r->fmt == IMP_JSONL && !r->overflow && r->len > 0 && r->buf[r->len - 1] == '\r')
            r->len--;
        end_field(r);
        if (!cr_ended && !r->allow_unterminated && !is_blank(r))
            unterminated(r);
        rc = emit(r);
        reset_record(r);
    }
    r->stopped = rc;
    return rc;
}
