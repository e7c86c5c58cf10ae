/*
 * row (import module): turns a read record (a CSV record under its header,
 * or a JSON Lines object) into one canonical row of the staging table, and
 * encodes it as a line of COPY text. What needs no database is checked here
 * (UTF-8, timestamp syntax, JSON syntax of media, header columns); the rest
 * is checked in SQL, set-wise (sql/import_check.sql). Pure: no I/O.
 */
#ifndef POSTPACE_IMPORT_ROW_H
#define POSTPACE_IMPORT_ROW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "import/reader.h"

/* The columns of an import file, in report order. */
enum imp_col {
    IMP_COL_EXTERNAL_ID,
    IMP_COL_PROVIDER_KEY,
    IMP_COL_ACCOUNT_IDS,
    IMP_COL_CONTENT,
    IMP_COL_MEDIA,
    IMP_COL_SCHEDULED_AT,
    IMP_COL_TIME_ZONE,
    IMP_NCOLS
};

/* Column names as they appear in a CSV header or as JSON keys. */
extern const char *const imp_col_names[IMP_NCOLS];

/* A growable byte buffer (xmalloc'd; imp_buf_free releases it). */
struct imp_buf {
    char *p;
    size_t len, cap;
};
void imp_buf_add(struct imp_buf *b, const char *s, size_t n);
void imp_buf_adds(struct imp_buf *b, const char *s);
void imp_buf_free(struct imp_buf *b);

/* Which CSV field holds which column. */
struct imp_header {
    int col[IMP_MAX_FIELDS]; /* column of field i */
    size_t nfields;
};

/*
 * Reads the header record. Column names are matched exactly (surrounding
 * blanks ignored). Returns 0, or -1 with "column: reason" in err (an unknown
 * or repeated column, or a required one missing).
 */
int imp_header_parse(struct imp_header *h, const struct imp_record *rec, char *err,
                     size_t errlen);

/* Account ids a row may name (more are refused in SQL; repeats are then not looked for here). */
#define IMP_MAX_ACCOUNTS 100

/* One canonical row; init/finish pair. */
struct imp_row {
    long line;
    int broken;                 /* the record could not be read: only its own errors count */
    unsigned bad;               /* bit (1 << column) per column already refused here */
    const char *val[IMP_NCOLS]; /* NULL: absent (SQL NULL) */
    size_t len[IMP_NCOLS];
    int has_time;               /* scheduled_at parsed: */
    int64_t local_us;           /* its wall time as PostgreSQL's timestamp: us since 2000-01-01 */
    int has_offset;             /* it gave an offset (else a local time in time_zone): */
    int64_t offset_us;          /* that offset in us */
    char num[24];               /* JSONL: a numeric provider_key as text */
    int accounts_twice;         /* an account id may repeat: the check names it (else skipped) */
    long twin_of;               /* line its external_id was first on (0: none; the caller's) */
    size_t naccounts;           /* account ids seen so far in this row */
    size_t nelems;              /* elements of the account list, empty ones too */
    int empty_account;          /* one of them is the empty string */
    struct imp_field account[IMP_MAX_ACCOUNTS]; /* the first ones, to find repeats */
    struct imp_buf errors;      /* "column\treason\n" entries */
    struct imp_buf accounts;    /* account_ids: its elements as COPY's binary text[] holds them */
    struct imp_buf media;       /* media as compact JSON */
    /* What the check needs to know of the media without reading it (see media_summary). */
    int media_look;             /* a file breaks a structural rule: the check names it */
    long long media_bytes;      /* the largest size_bytes (-1: no file) */
    struct imp_buf media_types; /* the files' mime types, elements as in accounts */
    size_t ntypes;              /* how many */
    json_t *json;               /* JSONL: the object the values point into */
};
void imp_row_init(struct imp_row *row);
void imp_row_finish(struct imp_row *row);

/* Fills the row from a CSV record (not the header). */
void imp_row_from_csv(struct imp_row *row, const struct imp_header *h,
                      const struct imp_record *rec);

/* Fills the row from a JSON Lines record. */
void imp_row_from_jsonl(struct imp_row *row, const struct imp_record *rec);

/* Adds an error for `column` (a column name, or "record"). */
void imp_row_error(struct imp_row *row, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* COPY's binary format: what starts the data, what ends it. */
void imp_copy_header(struct imp_buf *out);
void imp_copy_trailer(struct imp_buf *out);

/* Appends the row as one tuple of binary COPY (the staging table's columns). */
void imp_row_copy_line(const struct imp_row *row, struct imp_buf *out);

/*
 * Parses a time in the grammar and range of util/rfc3339.h. On success fills
 * local (40 bytes: YYYY-MM-DD HH:MM:SS.ffffff) and offset (8 bytes, "" when
 * absent) and returns NULL; else returns the reason.
 */
const char *imp_time_parse(const char *s, size_t len, char *local, char *offset);

/* The same, giving the wall time (us since 2000-01-01) and whether an offset
 * was given, and which (in us), instead of text: what the staging row holds. */
const char *imp_time_parse_us(const char *s, size_t len, int64_t *local_us, int *has_offset,
                              int64_t *offset_us);

#endif
