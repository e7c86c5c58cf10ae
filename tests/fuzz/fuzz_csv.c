/*
 * libFuzzer target for the import readers (src/import/reader.c) and the row
 * conversion behind them: the input is fed in chunk sizes drawn from its
 * first bytes, so records split anywhere; every record is checked for
 * consistency and converted to a staging row (UTF-8, timestamps, media JSON,
 * COPY escaping). Built only with clang (tests/fuzz/CMakeLists.txt).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import/reader.h"
#include "import/row.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    struct imp_header header;
    int have_header;
    enum imp_format fmt;
    struct imp_row row;
    struct imp_buf copy;
    long last_line;
};

static int on_record(void *arg, const struct imp_record *rec)
{
    struct ctx *c = arg;
    if (rec->line <= c->last_line || rec->nfields > IMP_MAX_FIELDS)
        abort(); /* records come in order, within bounds */
    c->last_line = rec->line;
    for (size_t i = 0; i < rec->nfields; i++)
        if (rec->fields[i].ptr[rec->fields[i].len] != '\0')
            abort();
    if (c->fmt == IMP_JSONL)
        imp_row_from_jsonl(&c->row, rec);
    else if (!c->have_header) {
        char err[256];
        c->have_header = 1;
        if (imp_header_parse(&c->header, rec, err, sizeof err) != 0)
            return 0;
    } else if (c->header.nfields > 0)
        imp_row_from_csv(&c->row, &c->header, rec);
    else
        return 0;
    c->copy.len = 0;
    imp_row_copy_line(&c->row, &c->copy);
    if (c->copy.len == 0 || c->copy.p[c->copy.len - 1] != '\n' ||
        memchr(c->copy.p, '\n', c->copy.len) != c->copy.p + c->copy.len - 1)
        abort(); /* one row, one COPY line */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.fmt = data[0] & 1 ? IMP_JSONL : IMP_CSV;
    size_t seed = data[1];
    data += 2;
    size -= 2;
    imp_row_init(&c.row);
    struct imp_reader *r = imp_reader_create(c.fmt, 4096, on_record, &c);
    for (size_t at = 0; at < size;) {
        size_t n = seed % 17 + 1; /* 1..17 bytes, varying */
        seed = seed * 1103515245u + 12345u;
        if (n > size - at)
            n = size - at;
        imp_reader_feed(r, (const char *)data + at, n);
        at += n;
    }
    imp_reader_finish(r);
    imp_reader_destroy(r);
    imp_row_finish(&c.row);
    imp_buf_free(&c.copy);
    return 0;
}
