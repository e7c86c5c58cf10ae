/*
 * reader (import module): streaming record readers for CSV (RFC 4180) and
 * JSON Lines. Bytes are pushed in chunks of any size; each complete record
 * is handed to a callback with the physical line it starts on. Memory is
 * bounded by the longest record allowed, never by the file. No I/O, no
 * clock: the caller reads the file and feeds it here.
 *
 *   struct imp_reader *r = imp_reader_create(IMP_CSV, IMP_MAX_RECORD, on_record, ctx);
 *   while ((n = read(fd, buf, sizeof buf)) > 0)
 *       if (imp_reader_feed(r, buf, n)) break;
 *   imp_reader_finish(r);
 *   imp_reader_destroy(r);
 */
#ifndef POSTPACE_IMPORT_READER_H
#define POSTPACE_IMPORT_READER_H

#include <stddef.h>

enum imp_format {
    IMP_CSV,   /* RFC 4180: header row, "quoted" fields with "" escapes and newlines */
    IMP_JSONL  /* one JSON value per line; the record's one field is the line */
};

/* Longest record kept (bytes); longer ones are reported, not stored. */
#define IMP_MAX_RECORD ((size_t)1 << 20)
/* Most fields a CSV record may have. */
#define IMP_MAX_FIELDS 64

struct imp_field {
    const char *ptr; /* NUL-terminated (the field itself may hold NUL bytes: use len) */
    size_t len;
};

struct imp_record {
    long line;                      /* physical line the record starts on, 1-based */
    size_t nfields;                 /* 0 when the record was too long to keep */
    const struct imp_field *fields; /* valid during the callback only */
    const char *error;              /* NULL, or why the record could not be read */
    size_t error_field;             /* with error: the field (0-based) it is in, or
                                       IMP_FIELD_RECORD for the record as a whole */
};

#define IMP_FIELD_RECORD ((size_t)-1)

/* Called once per record; a non-zero return stops the reader and is passed back. */
typedef int (*imp_record_fn)(void *arg, const struct imp_record *rec);

struct imp_reader;

/* Creates a reader; a UTF-8 byte-order mark at the very start is skipped. */
struct imp_reader *imp_reader_create(enum imp_format fmt, size_t max_record, imp_record_fn fn,
                                     void *arg);
/* destroy(NULL) is a no-op. */
void imp_reader_destroy(struct imp_reader *r);

/* Parses `len` more bytes. Returns 0, or the callback's non-zero return. */
int imp_reader_feed(struct imp_reader *r, const char *data, size_t len);

/* End of input: hands over the last record (an open quote is an error). 0 or the callback's. */
int imp_reader_finish(struct imp_reader *r);

/*
 * By default a last record without a line end comes out with an error (the
 * input may have been cut off). on != 0: the caller knows the input ends
 * exactly there (a regular file of unchanged size), and it is read as is.
 */
void imp_reader_allow_unterminated(struct imp_reader *r, int on);

/* Physical lines seen so far (the line being read, 1-based). */
long imp_reader_line(const struct imp_reader *r);

/* Tests: with on != 0 every byte goes through the state machine, none is
 * copied as part of a run; the records must come out the same either way. */
void imp_reader_set_bytewise(struct imp_reader *r, int on);


#endif
