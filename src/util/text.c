/*
 * DESIGN: a table of code point ranges, walked per decoded code point. The
 * ranges are few (a dozen), so a linear scan beats anything cleverer; the
 * ASCII case is answered before decoding since nearly all text is ASCII.
 */
#include "util/text.h"

#include <stdint.h>
#include <string.h>

#include "util/xmalloc.h"

static const struct {
    uint32_t lo, hi;
} invisible[] = {
    {0x0009, 0x000D}, {0x0020, 0x0020}, {0x0085, 0x0085}, {0x00A0, 0x00A0},
    {0x115F, 0x1160}, /* HANGUL CHOSEONG / JUNGSEONG FILLER */
    {0x1680, 0x1680}, {0x180E, 0x180E}, /* MONGOLIAN VOWEL SEPARATOR (was White_Space) */
    {0x2000, 0x200D}, /* the spaces, ZERO WIDTH SPACE, ZWNJ, ZWJ */
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x2060}, /* ..., WORD JOINER */
    {0x2800, 0x2800}, /* BRAILLE PATTERN BLANK */
    {0x3000, 0x3000}, {0x3164, 0x3164}, /* HANGUL FILLER */
    {0xFEFF, 0xFEFF}, /* ZERO WIDTH NO-BREAK SPACE (BOM) */
    {0xFFA0, 0xFFA0}, /* HALFWIDTH HANGUL FILLER */
};

static int is_invisible(uint32_t c)
{
    for (size_t i = 0; i < sizeof invisible / sizeof invisible[0]; i++)
        if (c >= invisible[i].lo && c <= invisible[i].hi)
            return 1;
    return 0;
}

/* Decodes the code point at s; its length in *n (0 when the bytes are not UTF-8). */
static uint32_t decode(const unsigned char *s, size_t left, size_t *n)
{
    unsigned char c = s[0];
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    *n = 0;
    if (k == 0 || k > left)
        return 0;
    uint32_t v = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *n = k;
    return v;
}

int text_is_blank(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        size_t n = 1;
        uint32_t c = s[i] < 0x80 ? s[i] : decode(s + i, len - i, &n);
        if (n == 0 || !is_invisible(c))
            return 0;
        i += n;
    }
    return 1;
}

/* Length of the UTF-8 sequence starting at s (0 if invalid there). */
size_t text_utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else
        return 0;
    if (left < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

size_t text_utf8_check(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        if (s[i] >= 0x01 && s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] == 0)
            return i;
        size_t n = text_utf8_seq(s + i, len - i);
        if (!n)
            return i;
        i += n;
    }
    return len;
}

char *text_sanitize(const char *str, size_t len, size_t max)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const unsigned char *s = (const unsigned char *)str;
    char *out = xmalloc(max + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] >= 0x01 && s[i] < 0x80 ? 1 : text_utf8_seq(s + i, len - i);
        const char *piece = n ? (const char *)s + i : replacement;
        size_t plen = n ? n : sizeof replacement - 1;
        if (o + plen > max)
            break;
        memcpy(out + o, piece, plen);
        o += plen;
        i += n ? n : 1;
    }
    out[o] = '\0';
    return out;
}

