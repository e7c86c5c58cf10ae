/*
 * libFuzzer target for the import readers (src/import/reader.c) and the row
 * conversion behind them: the input is fed in chunk sizes drawn from its
 * first bytes, so records split anywhere; every record is checked for
 * consistency and converted to a staging row (UTF-8, timestamps, media JSON,
 * binary COPY). The row must be one well-formed binary tuple whose text is
 * valid UTF-8 without NUL: the server refuses anything else, and one refused
 * value fails the whole COPY. Built only with clang (tests/fuzz/CMakeLists.txt).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import/reader.h"
#include "import/row.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    struct imp_header header;
    int have_header;
    enum imp_format fmt;
    struct imp_row row;
    struct imp_buf copy;
    long last_line;
};

/* The staging table's columns: a fixed width, text, jsonb or text[]. */
enum kind { FIXED, TEXT, JSONB, ARRAY };
static const struct {
    enum kind kind;
    uint32_t width;
} cols[] = {
    {FIXED, 8}, {FIXED, 1}, {FIXED, 4}, {TEXT, 0},  {TEXT, 0},   {TEXT, 0},
    {ARRAY, 0}, {TEXT, 0},  {JSONB, 0}, {FIXED, 8}, {FIXED, 16}, {TEXT, 0},
    {FIXED, 1}, {FIXED, 8}, {FIXED, 1}, {FIXED, 8}, {ARRAY, 0},
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void text_ok(const unsigned char *p, uint32_t n)
{
    if (text_utf8_check((const char *)p, n) != n)
        abort(); /* COPY would refuse it, and the whole import with it */
}

/* Aborts unless buf is one binary COPY tuple of the staging table's shape. */
static void check_tuple(const unsigned char *p, size_t n)
{
    size_t ncols = sizeof cols / sizeof cols[0], at = 2;
    if (n < 2 || (size_t)(p[0] << 8 | p[1]) != ncols)
        abort();
    for (size_t c = 0; c < ncols; c++) {
        if (n - at < 4)
            abort();
        uint32_t len = be32(p + at);
        at += 4;
        if (len == UINT32_MAX)
            continue;
        if (len > n - at)
            abort();
        const unsigned char *v = p + at;
        switch (cols[c].kind) {
        case FIXED:
            if (len != cols[c].width)
                abort();
            break;
        case TEXT: text_ok(v, len); break;
        case JSONB:
            if (len < 1 || v[0] != 1)
                abort();
            text_ok(v + 1, len - 1);
            break;
        case ARRAY: {
            if (len < 12 || be32(v + 4) != 0 || be32(v + 8) != 25)
                abort();
            uint32_t ndim = be32(v), elems = 0, k = 12;
            if (ndim > 1 || (ndim == 1 && (len < 20 || be32(v + 16) != 1)))
                abort();
            if (ndim == 1)
                elems = be32(v + 12), k = 20;
            for (uint32_t e = 0; e < elems; e++) {
                if (len - k < 4 || be32(v + k) > len - k - 4)
                    abort();
                text_ok(v + k + 4, be32(v + k));
                k += 4 + be32(v + k);
            }
            if (k != len || (ndim == 1 && elems == 0))
                abort();
            break;
        }
        }
        at += len;
    }
    if (at != n)
        abort(); /* one row, one tuple */
}

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
    check_tuple((const unsigned char *)c->copy.p, c->copy.len);
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
