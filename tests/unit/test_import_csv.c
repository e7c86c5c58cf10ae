/* The import readers (CSV, JSON Lines) and the row conversion: pure, no I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "import/ids.h"
#include "import/reader.h"
#include "util/text.h"
#include "import/row.h"

/* Records rendered as text: "L<line>[f1][f2]" plus " !<field>:<error>", one per line. */
struct sink {
    char out[8192];
    size_t len;
};

static int collect(void *arg, const struct imp_record *rec)
{
    struct sink *s = arg;
    s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, "L%ld", rec->line);
    for (size_t i = 0; i < rec->nfields; i++)
        s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, "[%.*s]",
                                   (int)rec->fields[i].len, rec->fields[i].ptr);
    if (rec->error)
        s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, " !%zu:%s",
                                   rec->error_field, rec->error);
    s->len += (size_t)snprintf(s->out + s->len, sizeof s->out - s->len, "\n");
    return 0;
}

/* Parses `in` fed `chunk` bytes at a time (bytewise: no run copying). */
static void parse_as(enum imp_format fmt, const char *in, size_t n, size_t chunk, size_t max,
                     int bytewise, struct sink *s)
{
    memset(s, 0, sizeof *s);
    struct imp_reader *r = imp_reader_create(fmt, max, collect, s);
    imp_reader_allow_unterminated(r, 1); /* these pin the parsing; the line-end rule has its own */
    imp_reader_set_bytewise(r, bytewise);
    for (size_t at = 0; at < n; at += chunk)
        assert_int_equal(imp_reader_feed(r, in + at, n - at < chunk ? n - at : chunk), 0);
    assert_int_equal(imp_reader_finish(r), 0);
    imp_reader_destroy(r);
}

static void parse(enum imp_format fmt, const char *in, size_t n, size_t chunk, size_t max,
                  struct sink *s)
{
    parse_as(fmt, in, n, chunk, max, 0, s);
}

/* The same result whatever the chunk size (1 byte splits every CRLF, quote and BOM). */
static void expect_fmt(enum imp_format fmt, const char *in, size_t n, const char *want)
{
    static const size_t chunks[] = {1, 2, 3, 5, 7, 64, 1 << 20};
    struct sink s;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        parse(fmt, in, n, chunks[i], 0, &s);
        if (strcmp(s.out, want) != 0)
            fprintf(stderr, "chunk %zu:\n%s---want:\n%s", chunks[i], s.out, want);
        assert_string_equal(s.out, want);
    }
}

static void expect_csv(const char *in, const char *want)
{
    expect_fmt(IMP_CSV, in, strlen(in), want);
}

static void test_plain_records_with_line_numbers(void **state)
{
    expect_csv("a,b,c\n1,2,3\n", "L1[a][b][c]\nL2[1][2][3]\n");
    expect_csv("a,b\n1,2", "L1[a][b]\nL2[1][2]\n"); /* no final newline */
    expect_csv("a,,\n", "L1[a][][]\n");
}

static void test_quoted_newlines_keep_the_record_and_count_lines(void **state)
{
    expect_csv("h\n\"one\ntwo\nthree\",x\nnext,y\n", "L1[h]\nL2[one\ntwo\nthree][x]\nL5[next][y]\n");
}

static void test_escaped_quotes_and_commas(void **state)
{
    expect_csv("\"say \"\"hi\"\", ok\",\"\"\n", "L1[say \"hi\", ok][]\n");
    expect_csv("\"\"\"\"\n", "L1[\"]\n");
}

static void test_bom_is_skipped_even_split_across_chunks(void **state)
{
    expect_csv("\xEF\xBB\xBF" "a,b\n", "L1[a][b]\n");
    /* Not a BOM after all: the bytes are data. */
    expect_csv("\xEF\xBB" "x\n", "L1[\xEF\xBBx]\n");
    expect_csv("\xEF", "L1[\xEF]\n");
}

static void test_crlf_line_ends(void **state)
{
    expect_csv("a,b\r\n1,\"x\r\ny\"\r\n2,3\r\n", "L1[a][b]\nL2[1][x\r\ny]\nL4[2][3]\n");
    expect_csv("a\rb,c\r\n", "L1[a\rb][c]\n"); /* a bare CR is data */
    expect_csv("a,b\r", "L1[a][b]\n");
}

static void test_empty_lines_are_skipped(void **state)
{
    expect_csv("a\n\n\r\nb\n\n", "L1[a]\nL4[b]\n");
    expect_csv("\"\"\n", "L1[]\n"); /* a quoted empty field is a record */
}

static void test_broken_quoting_names_the_line_and_recovers(void **state)
{
    expect_csv("h\nab\"c,d\nok,1\n", "L1[h]\nL2[ab\"c][d] !0:broken quoting: a quote inside an unquoted field\nL3[ok][1]\n");
    expect_csv("x,\"a\"b,c\nok\n",
               "L1[x][ab][c] !1:broken quoting: text after the closing quote\nL2[ok]\n");
}

static void test_unterminated_quote_reports_where_it_opened(void **state)
{
    expect_csv("h\nok\nx,\"never\nclosed\n",
               "L1[h]\nL2[ok]\nL3[x][never\nclosed\n] !1:broken quoting: the quote opened on line 3 is never closed\n");
}

static void test_a_record_split_across_tiny_chunks(void **state)
{
    const char *in = "id,text\r\n7,\"a \"\"long\"\"\r\nquoted, split\"\r\n8,end";
    expect_csv(in, "L1[id][text]\nL2[7][a \"long\"\r\nquoted, split]\nL4[8][end]\n");
}

static void test_overlong_record_is_reported_and_the_next_read(void **state)
{
    struct sink s;
    const char *in = "short\n\"0123456789012345678901234567890123456789\n,more\"\nnext\n";
    for (size_t chunk = 1; chunk < 9; chunk++) {
        parse(IMP_CSV, in, strlen(in), chunk, 100, &s);
        assert_string_equal(s.out, "L1[short]\nL2 !0:record longer than 100 bytes\nL4[next]\n");
    }
}

static void test_too_many_fields(void **state)
{
    char in[300] = "";
    for (int i = 0; i < IMP_MAX_FIELDS + 1; i++)
        strcat(in, i ? ",x" : "x");
    strcat(in, "\nok\n");
    struct sink s;
    parse(IMP_CSV, in, strlen(in), 4096, 0, &s);
    assert_non_null(strstr(s.out, "more than 64 fields"));
    assert_non_null(strstr(s.out, "L2[ok]"));
}

static void test_jsonl_lines(void **state)
{
    const char *in = "\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"b\":\"x,\\\"y\"}\n{\"c\":2}";
    expect_fmt(IMP_JSONL, in, strlen(in), "L1[{\"a\":1}]\nL4[{\"b\":\"x,\\\"y\"}]\nL5[{\"c\":2}]\n");
}

static void test_invalid_utf8_and_nul_are_found(void **state)
{
    assert_int_equal(text_utf8_check("h\xC3\xA9llo \xF0\x9F\x98\x80", 11), 11);
    assert_int_equal(text_utf8_check("ab\xFF", 3), 2);
    assert_int_equal(text_utf8_check("ab\xC3", 3), 2);           /* truncated */
    assert_int_equal(text_utf8_check("\xC0\xAF", 2), 0);         /* overlong */
    assert_int_equal(text_utf8_check("x\xED\xA0\x80", 4), 1);    /* surrogate */
    assert_int_equal(text_utf8_check("x\xF4\x90\x80\x80", 5), 1); /* above U+10FFFF */
    assert_int_equal(text_utf8_check("a\0b", 3), 1);
    /* The reader keeps the bytes; the row refuses the column, naming the byte. */
    static const char in[] = "external_id,provider_key,account_ids,content,scheduled_at\n"
                             "e1,k,a,caf\xE9,2026-01-01 10:00\n";
    struct sink s;
    parse(IMP_CSV, in, sizeof in - 1, 3, 0, &s);
    assert_non_null(strstr(s.out, "L2[e1][k][a][caf\xE9]"));
}

/* Runs of plain bytes are copied at once (put_bytes); the result must be the
 * one the state machine gives a byte at a time. Random records over the
 * bytes that matter (separators, quotes, CR, LF, a UTF-8 pair), some past
 * the record cap, must read the same with run copying, fed whole or in
 * pieces, as without it. */
static void test_runs_read_like_single_bytes(void **state)
{
    static const char *const atoms[] = {"a",  "bc", ",",    "\"",      "\"\"",
                                        "\r", "\n", "\r\n", "\xC3\xA9"};
    static const size_t caps[] = {0, 70, 72, 80, 100};
    unsigned seed = 12345;
    for (int t = 0; t < 3000; t++) {
        char in[128];
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        int atoms_n = (int)(seed >> 16) % 24;
        for (int k = 0; k < atoms_n; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *a = atoms[(seed >> 16) % (sizeof atoms / sizeof atoms[0])];
            memcpy(in + n, a, strlen(a));
            n += strlen(a);
        }
        seed = seed * 1103515245u + 12345u;
        size_t cap = caps[(seed >> 16) % (sizeof caps / sizeof caps[0])];
        enum imp_format fmt = t % 4 == 3 ? IMP_JSONL : IMP_CSV;
        struct sink want, got;
        parse_as(fmt, in, n, 1 << 20, cap, 1, &want);
        for (size_t chunk = 3; chunk <= (1 << 20); chunk *= 1024) {
            parse_as(fmt, in, n, chunk, cap, 0, &got);
            if (strcmp(got.out, want.out) != 0)
                fprintf(stderr, "input %d (%zu bytes, cap %zu, chunk %zu):\n%s---bytewise:\n%s",
                        t, n, cap, chunk, got.out, want.out);
            assert_string_equal(got.out, want.out);
        }
    }
}

/* ---- rows ---- */

struct rows {
    struct imp_header h;
    int have;
    struct imp_row row;
    char copy[4096];
    char errors[1024];
};

/* ---- the staged row, read back from binary COPY into COPY text's shape ---- */

enum fkind { F_INT8, F_BOOL, F_INT4, F_TEXT, F_ARRAY, F_JSONB, F_TS, F_INTERVAL };
static const enum fkind stage_kinds[] = {
    F_INT8, F_BOOL,     F_INT4, F_TEXT, F_TEXT, F_TEXT, F_ARRAY, F_TEXT,  F_JSONB,
    F_TS,   F_INTERVAL, F_TEXT, F_BOOL, F_INT8, F_BOOL, F_INT8,  F_ARRAY,
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Appends text as COPY text escapes it (backslash, tab, line ends). */
static void esc(char *out, size_t size, size_t *k, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *k + 3 < size; i++) {
        const char *e = s[i] == '\\' ? "\\\\" : s[i] == '\t' ? "\\t" : s[i] == '\n' ? "\\n" : NULL;
        if (e) {
            memcpy(out + *k, e, 2);
            *k += 2;
        } else {
            out[(*k)++] = s[i];
        }
    }
    out[*k] = '\0';
}

/* One binary COPY tuple rendered as the line COPY text would have had. */
static void render(const unsigned char *p, size_t n, char *out, size_t size)
{
    size_t k = 0, at = 2;
    assert_true(n >= 2);
    int nf = p[0] << 8 | p[1];
    assert_int_equal(nf, (int)(sizeof stage_kinds / sizeof stage_kinds[0]));
    out[0] = '\0';
    for (int f = 0; f < nf; f++) {
        if (f)
            out[k++] = '\t';
        uint32_t len = be32(p + at);
        at += 4;
        if (len == UINT32_MAX) {
            k += (size_t)snprintf(out + k, size - k, "\\N");
            continue;
        }
        const unsigned char *v = p + at;
        char tmp[1024];
        size_t t = 0;
        switch (stage_kinds[f]) {
        case F_INT8: k += (size_t)snprintf(out + k, size - k, "%lld", (long long)be64(v)); break;
        case F_INT4: k += (size_t)snprintf(out + k, size - k, "%u", be32(v)); break;
        case F_BOOL: out[k++] = v[0] ? 't' : 'f'; break;
        case F_TEXT: esc(out, size, &k, (const char *)v, len); break;
        case F_JSONB:
            assert_int_equal(v[0], 1);
            esc(out, size, &k, (const char *)v + 1, len - 1);
            break;
        case F_ARRAY: { /* {"a","b"}, as a text[] literal */
            uint32_t ndim = be32(v), elems = ndim ? be32(v + 12) : 0;
            assert_int_equal(be32(v + 8), 25);
            const unsigned char *e = v + (ndim ? 20 : 12);
            tmp[t++] = '{';
            for (uint32_t i = 0; i < elems; i++) {
                uint32_t el = be32(e);
                tmp[t++] = i ? ',' : '"';
                if (i)
                    tmp[t++] = '"';
                for (uint32_t j = 0; j < el; j++) {
                    if (e[4 + j] == '"' || e[4 + j] == '\\')
                        tmp[t++] = '\\';
                    tmp[t++] = (char)e[4 + j];
                }
                tmp[t++] = '"';
                e += 4 + el;
            }
            tmp[t++] = '}';
            assert_int_equal((size_t)(e - v), len);
            esc(out, size, &k, tmp, t);
            break;
        }
        case F_TS: { /* microseconds since 2000-01-01 */
            int64_t us = be64(v);
            time_t secs = (time_t)(us / 1000000 + 946684800);
            struct tm tm;
            gmtime_r(&secs, &tm);
            k += strftime(out + k, size - k, "%Y-%m-%d %H:%M:%S", &tm);
            k += (size_t)snprintf(out + k, size - k, ".%06d", (int)(us % 1000000));
            break;
        }
        case F_INTERVAL: { /* microseconds, days, months: an offset */
            int64_t us = be64(v), m = (us < 0 ? -us : us) / 60000000;
            assert_int_equal(len, 16);
            k += (size_t)snprintf(out + k, size - k, "%c%02d:%02d", us < 0 ? '-' : '+',
                                  (int)(m / 60), (int)(m % 60));
            break;
        }
        }
        at += len;
    }
    assert_int_equal(at, n);
    out[k++] = '\n';
    out[k] = '\0';
}

static int to_row(void *arg, const struct imp_record *rec)
{
    struct rows *r = arg;
    char err[256];
    if (!r->have) {
        r->have = 1;
        assert_int_equal(imp_header_parse(&r->h, rec, err, sizeof err), 0);
        return 0;
    }
    imp_row_from_csv(&r->row, &r->h, rec);
    struct imp_buf b = {0};
    imp_row_copy_line(&r->row, &b);
    render((const unsigned char *)b.p, b.len, r->copy, sizeof r->copy);
    snprintf(r->errors, sizeof r->errors, "%.*s", (int)r->row.errors.len,
             r->row.errors.p ? r->row.errors.p : "");
    imp_buf_free(&b);
    return 0;
}

static void one_row(const char *csv, struct rows *r)
{
    memset(r, 0, sizeof *r);
    imp_row_init(&r->row);
    struct imp_reader *rd = imp_reader_create(IMP_CSV, 0, to_row, r);
    assert_int_equal(imp_reader_feed(rd, csv, strlen(csv)), 0);
    assert_int_equal(imp_reader_finish(rd), 0);
    imp_reader_destroy(rd);
    imp_row_finish(&r->row);
}

#define HDR "external_id,provider_key,account_ids,content,media,scheduled_at,time_zone\n"
/* A staged line's end without twin_of or a media summary. */
#define NO_EXTRAS "\t\\N\t\\N\t\\N\t\\N\n"

static void test_row_becomes_one_escaped_copy_line(void **state)
{
    struct rows r;
    one_row(HDR "e\\1,k1,\" a ;b\"\"c ;x\\y\",\"tab\there\nnl\",,2026-03-29T02:30,Europe/Paris\n", &r);
    assert_string_equal(r.errors, "");
    assert_string_equal(r.copy, "2\tf\t0\t\\N\te\\\\1\tk1\t{\"a\",\"b\\\\\"c\",\"x\\\\\\\\y\"}"
                                "\ttab\\there\\nnl\t\\N\t2026-03-29 02:30:00.000000\t\\N"
                                "\tEurope/Paris\tf" NO_EXTRAS);
    /* The wall time and the offset, as PostgreSQL's timestamp and interval. */
    one_row(HDR "e2,k1,a,x,,2026-12-01T09:00:00.25-05:30,\n", &r);
    assert_non_null(strstr(r.copy, "\t2026-12-01 09:00:00.250000\t-05:30\tUTC\t"));
    one_row(HDR "e2,k1,a,x,,1999-12-31 23:59:59Z,\n", &r);
    assert_non_null(strstr(r.copy, "\t1999-12-31 23:59:59.000000\t+00:00\tUTC\t"));
    /* What starts and ends the data. */
    struct imp_buf b = {0};
    imp_copy_header(&b);
    assert_int_equal(b.len, 19);
    assert_memory_equal(b.p, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    b.len = 0;
    imp_copy_trailer(&b);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.p, "\377\377", 2);
    imp_buf_free(&b);
    /* A repeated account id is flagged for the check (which words the refusal). */
    one_row(HDR "e2,k1,a; b;a,x,,2026-03-29T02:30,\n", &r);
    assert_non_null(strstr(r.copy, "\tt" NO_EXTRAS));
    one_row(HDR "e3,k1,a;;b;,x,,2026-03-29T02:30,\n", &r);
    assert_non_null(strstr(r.copy, "\tf" NO_EXTRAS));
}

/* The zone is staged trimmed, and UTC when the cell is blank or the column absent. */
static void test_row_zone_is_trimmed_and_defaults_to_utc(void **state)
{
    struct rows r;
    one_row(HDR "e1,k,a,x,,2026-03-29T02:30,\t Europe/Paris \n", &r);
    assert_non_null(strstr(r.copy, "\tEurope/Paris\tf" NO_EXTRAS));
    one_row(HDR "e1,k,a,x,,2026-03-29T02:30,  \n", &r);
    assert_non_null(strstr(r.copy, "\tUTC\tf" NO_EXTRAS));
    one_row(
        "external_id,provider_key,account_ids,content,scheduled_at\ne1,k,a,x,2026-03-29T02:30\n",
        &r);
    assert_non_null(strstr(r.copy, "\tUTC\tf" NO_EXTRAS));
}

/* With media, the check gets its summary: a broken rule, the largest size, the types. */
static void test_row_media_summary(void **state)
{
    struct rows r;
    one_row(HDR
            "e1,k,a,x,\"[{\"\"url\"\":\"\"u\"\",\"\"mime_type\"\":\"\"image/"
            "png\"\",\"\"size_bytes\"\":5},"
            "{\"\"url\"\":\"\"v\"\",\"\"mime_type\"\":\"\"video/mp4\"\",\"\"size_bytes\"\":900}]\","
            "2026-03-29T02:30,\n",
            &r);
    assert_string_equal(r.errors, "");
    assert_non_null(strstr(r.copy, "\tf\t\\N\tf\t900\t{\"image/png\",\"video/mp4\"}\n"));
    /* A size that is not a whole number, a missing url, a file that is not an object. */
    const char *const bad[] = {
        "\"[{\"\"url\"\":\"\"u\"\",\"\"mime_type\"\":\"\"image/png\"\",\"\"size_bytes\"\":5.0}]\"",
        "\"[{\"\"mime_type\"\":\"\"image/png\"\",\"\"size_bytes\"\":5}]\"",
        "\"[7]\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char csv[512];
        snprintf(csv, sizeof csv, HDR "e1,k,a,x,%s,2026-03-29T02:30,\n", bad[i]);
        one_row(csv, &r);
        assert_non_null(strstr(r.copy, "\tf\t\\N\tt\t\\N\t{}\n"));
    }
    /* Not an array at all; and no media. */
    one_row(HDR "e1,k,a,x,\"{}\",2026-03-29T02:30,\n", &r);
    assert_non_null(strstr(r.copy, "\tf\t\\N\tt\t\\N\t{}\n"));
    one_row(HDR "e1,k,a,x,,2026-03-29T02:30,\n", &r);
    assert_non_null(strstr(r.copy, "\tf" NO_EXTRAS));
}

/* Repeated external ids are named with the line they were first on, until the set is full. */
static void test_ids_name_the_first_line_until_full(void **state)
{
    struct imp_ids s;
    char id[32];
    imp_ids_init(&s, 1 << 20);
    /* Enough ids to grow the table and the arena several times. */
    for (long i = 0; i < 20000; i++) {
        int n = snprintf(id, sizeof id, "cal-%ld", i);
        assert_int_equal(imp_ids_first_line(&s, id, (size_t)n, i + 2), 0);
    }
    for (long i = 0; i < 20000; i += 7) {
        int n = snprintf(id, sizeof id, "cal-%ld", i);
        assert_int_equal(imp_ids_first_line(&s, id, (size_t)n, 30000 + i), i + 2);
    }
    /* Same bytes up to a length are not the same id. */
    assert_int_equal(imp_ids_first_line(&s, "cal-1", 4, 50000), 0);
    assert_int_equal(imp_ids_first_line(&s, "cal-", 4, 50001), 50000);
    assert_false(s.full);
    assert_true(imp_ids_bytes(&s) <= 1 << 20);
    /* Over budget: it gives up, frees what it held, and names nothing more. */
    for (long i = 0; !s.full && i < 1000000; i++) {
        int n = snprintf(id, sizeof id, "more-%ld", i);
        assert_int_equal(imp_ids_first_line(&s, id, (size_t)n, i), 0);
    }
    assert_true(s.full);
    assert_int_equal(imp_ids_bytes(&s), 0);
    assert_int_equal(imp_ids_first_line(&s, "cal-7", 5, 60000), 0);
    imp_ids_free(&s);
    imp_ids_init(&s, 0);
    assert_true(s.full);
    imp_ids_free(&s);
}

static void test_row_refuses_bad_columns_in_c(void **state)
{
    struct rows r;
    one_row(HDR "e1,k,a,\"caf\xE9\",\"[{\"\"url\"\":}]\",2026-02-29 10:00,\n", &r);
    assert_string_equal(r.errors,
                        "content\tinvalid UTF-8 at byte 4\n"
                        "scheduled_at\t\"2026-02-29 10:00\" is not a valid time: no such date\n"
                        "media\tnot valid JSON: unexpected token near '}' (at character 9)\n");
    /* Refused columns are staged as NULL with their bits set (content 8, media 16, scheduled_at 32). */
    assert_int_equal(strncmp(r.copy, "2\tf\t56\t", 7), 0);
    one_row(HDR "e1,k,a,x\n", &r);
    assert_string_equal(r.errors, "record\t4 fields, the header has 7\n");
}

/* A message is staged as text: it is made UTF-8 whatever it quotes. */
static void test_row_error_is_always_utf8(void **state)
{
    struct imp_row row;
    imp_row_init(&row);
    imp_row_error(&row, "content", "cut %s and bad %s", "caf\xC3", "\xFF\xFEok \xC3\xA9");
    assert_string_equal(row.errors.p, "content\tcut caf? and bad ??ok \xC3\xA9\n");
    imp_row_finish(&row);
}

static void test_header_must_name_known_columns(void **state)
{
    struct imp_header h;
    char err[256];
    struct imp_field f[3] = {{"external_id", 11}, {" content ", 9}, {"colour", 6}};
    struct imp_record rec = {1, 3, f, NULL, 0};
    assert_int_equal(imp_header_parse(&h, &rec, err, sizeof err), -1);
    assert_string_equal(err, "header: unknown column \"colour\"");
    rec.nfields = 2;
    assert_int_equal(imp_header_parse(&h, &rec, err, sizeof err), -1);
    assert_string_equal(err, "header: column \"provider_key\" is missing");
}

static void test_time_parse(void **state)
{
    char local[40], off[8];
    assert_null(imp_time_parse("2026-12-01T09:00", 16, local, off));
    assert_string_equal(local, "2026-12-01 09:00:00.000000");
    assert_string_equal(off, "");
    assert_null(imp_time_parse("2024-02-29 23:59:59.25Z", 23, local, off));
    assert_string_equal(local, "2024-02-29 23:59:59.250000");
    assert_string_equal(off, "+00:00");
    assert_null(imp_time_parse("2026-12-01T09:00:00-0530", 24, local, off));
    assert_string_equal(off, "-05:30");
    assert_null(imp_time_parse("2026-12-01T09:00+02", 19, local, off));
    assert_string_equal(off, "+02:00");
    assert_string_equal(imp_time_parse("2026-02-29 10:00", 16, local, off), "no such date");
    assert_string_equal(imp_time_parse("2026-12-01 24:00", 16, local, off), "no such time of day");
    assert_non_null(imp_time_parse("2026-12-01", 10, local, off));
    assert_non_null(imp_time_parse("01/12/2026 10:00", 16, local, off));
    assert_non_null(imp_time_parse("2026-12-01 10:00 UTC", 20, local, off));
    assert_non_null(imp_time_parse("2026-12-01 10:00:00.1234567", 27, local, off));
}

/* #21 item 3: a last record without a line end may be a cut-off file. */
static int keep_error(void *arg, const struct imp_record *rec)
{
    if (rec->error)
        snprintf(arg, 160, "%ld:%s:%s", rec->line,
                 rec->error_field == IMP_FIELD_RECORD ? "record" : "field", rec->error);
    return 0;
}

static void test_a_last_record_without_a_line_end_is_refused_unless_allowed(void **state)
{
    static const struct {
        enum imp_format fmt;
        const char *in;
        int allow;
        const char *want;
    } cases[] = {
        {IMP_CSV, "h\na\nb", 0, "3:record:no line end after the last record: the input may have been cut off"},
        {IMP_CSV, "h\na\nb", 1, ""},
        {IMP_CSV, "h\na\nb\n", 0, ""},
        {IMP_CSV, "h\na\nb\r", 0, ""}, /* a final CR ends the line */
        {IMP_JSONL, "{}\n{\"a\":", 0, "2:record:no line end after the last record: the input may have been cut off"},
        {IMP_JSONL, "{}\n  ", 0, ""}, /* trailing blanks are no record */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[160] = "";
        struct imp_reader *r = imp_reader_create(cases[i].fmt, 0, keep_error, err);
        imp_reader_allow_unterminated(r, cases[i].allow);
        assert_int_equal(imp_reader_feed(r, cases[i].in, strlen(cases[i].in)), 0);
        assert_int_equal(imp_reader_finish(r), 0);
        imp_reader_destroy(r);
        assert_string_equal(err, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_last_record_without_a_line_end_is_refused_unless_allowed),
        cmocka_unit_test(test_plain_records_with_line_numbers),
        cmocka_unit_test(test_quoted_newlines_keep_the_record_and_count_lines),
        cmocka_unit_test(test_escaped_quotes_and_commas),
        cmocka_unit_test(test_bom_is_skipped_even_split_across_chunks),
        cmocka_unit_test(test_crlf_line_ends),
        cmocka_unit_test(test_empty_lines_are_skipped),
        cmocka_unit_test(test_broken_quoting_names_the_line_and_recovers),
        cmocka_unit_test(test_unterminated_quote_reports_where_it_opened),
        cmocka_unit_test(test_a_record_split_across_tiny_chunks),
        cmocka_unit_test(test_overlong_record_is_reported_and_the_next_read),
        cmocka_unit_test(test_too_many_fields),
        cmocka_unit_test(test_jsonl_lines),
        cmocka_unit_test(test_invalid_utf8_and_nul_are_found),
        cmocka_unit_test(test_runs_read_like_single_bytes),
        cmocka_unit_test(test_row_becomes_one_escaped_copy_line),
        cmocka_unit_test(test_row_error_is_always_utf8),
        cmocka_unit_test(test_row_zone_is_trimmed_and_defaults_to_utc),
        cmocka_unit_test(test_row_media_summary),
        cmocka_unit_test(test_ids_name_the_first_line_until_full),
        cmocka_unit_test(test_row_refuses_bad_columns_in_c),
        cmocka_unit_test(test_header_must_name_known_columns),
        cmocka_unit_test(test_time_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
