#include "rekey/strutil.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t
rk_edit_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b), rows[3][65], i, j;
	size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;

	/* Keys are short; long words are never typos of them. */
	if (la > 64 || lb > 64)
		return limit + 1;
	/* Optimal string alignment: Levenshtein plus a swap of two neighbours ("prot"). */
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		size_t best;

		cur[0] = best = i;
		for (j = 1; j <= lb; j++) {
			size_t v = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > limit)
			return limit + 1;
		tmp = prev2;
		prev2 = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb];
}

const char *
rk_closest_word(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, limit, d;

	/* One edit per three letters, at least one and at most three: beyond that it is a guess. */
	limit = strlen(word) / 3;
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	for (; *candidates != NULL; candidates++) {
		d = rk_edit_distance(word, *candidates, limit);
		if (d <= limit && d < best_d) {
			best = *candidates;
			best_d = d;
		}
	}
	return best;
}

bool
rk_utf8_is_valid(const unsigned char *s, size_t len, size_t *bad_at)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else
			goto bad;
		if (len - i <= n)
			goto bad;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += n + 1;
	}
	return true;
 bad:
	if (bad_at != NULL)
		*bad_at = i;
	return false;
}

bool
rk_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size == 0)
		return false;
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

const char *
rk_path_odd_component(const char *path, size_t n, size_t *len)
{
	const char *c, *end, *stop = path + n;

	if (n <= 1)
		return NULL;
	for (c = path + 1;; c = end + 1) {
		end = memchr(c, '/', (size_t)(stop - c));
		*len = (size_t)((end != NULL ? end : stop) - c);
		if (*len == 0 || (*len == 1 && c[0] == '.') ||
		    (*len == 2 && c[0] == '.' && c[1] == '.'))
			return c;
		if (end == NULL)
			return NULL;
	}
}

void
rk_hex_encode(char *out, const unsigned char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void
rk_line_bounds(const unsigned char *text, size_t len, size_t start, size_t *end, size_t *next)
{
	const unsigned char *nl = memchr(text + start, '\n', len - start);

	*end = nl != NULL ? (size_t)(nl - text) : len;
	*next = nl != NULL ? *end + 1 : len;
	/* CRLF, or a CR closing the last line: the content ends before the CR, or an edit that
	 * appends a newline would turn it into CRLF and change the line. (Found by fuzz_inifile.) */
	if (*end > start && text[*end - 1] == '\r')
		(*end)--;
}

char *
rk_bytes_to_str(const unsigned char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* The code point of a valid UTF-8 sequence of n bytes at p (checked by the caller). */
static uint32_t
utf8_decode(const unsigned char *p, size_t n)
{
	uint32_t cp = p[0] & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
	size_t i;

	for (i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

static bool
is_hidden_code_point(uint32_t cp)
{
	/* C1 controls, then the bidirectional formatting characters of Unicode UAX #9. */
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool
rk_text_char_is_unsafe(const unsigned char *p, size_t len, bool keep_tab, size_t *n)
{
	size_t bad;

	*n = 1;
	if (p[0] < 0x80) {
		if (p[0] == '\t')
			return !keep_tab;
		return p[0] < 0x20 || p[0] == 0x7f;
	}
	*n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 1;
	if (*n == 1 || *n > len || !rk_utf8_is_valid(p, *n, &bad)) {
		*n = 1;		/* not UTF-8: one byte at a time */
		return true;
	}
	return is_hidden_code_point(utf8_decode(p, *n));
}

size_t
rk_text_escape_one(char out[RK_TEXT_ESCAPE_MAX], const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp;
	int i;

	if (n == 1) {
		if (p[0] == '\n' || p[0] == '\r' || p[0] == '\t') {
			out[0] = '\\';
			out[1] = p[0] == '\n' ? 'n' : p[0] == '\r' ? 'r' : 't';
			out[2] = '\0';
			return 2;
		}
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[p[0] >> 4];
		out[3] = hex[p[0] & 0x0f];
		out[4] = '\0';
		return 4;
	}
	cp = utf8_decode(p, n);
	out[0] = '\\';
	out[1] = 'u';
	for (i = 0; i < 4; i++)
		out[2 + i] = hex[(cp >> (12 - 4 * i)) & 0x0f];
	out[6] = '\0';
	return 6;
}

bool
rk_text_is_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i, n;

	for (i = 0; i < len; i += n)
		if (rk_text_char_is_unsafe(p + i, len - i, false, &n))
			return false;
	return true;
}

char *
rk_text_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i, n, o = 0;
	char *out;

	/*
	 * Each byte grows to at most four characters ("\xNN"; "\u202e" is 6 for 3), and the
	 * last escape is written into a full RK_TEXT_ESCAPE_MAX.
	 */
	if (len > (SIZE_MAX - RK_TEXT_ESCAPE_MAX) / 4 ||
	    (out = malloc(4 * len + RK_TEXT_ESCAPE_MAX)) == NULL)
		return NULL;
	for (i = 0; i < len; i += n) {
		if (!rk_text_char_is_unsafe(p + i, len - i, false, &n)) {
			memcpy(out + o, p + i, n);
			o += n;
			continue;
		}
		o += rk_text_escape_one(out + o, p + i, n);
	}
	out[o] = '\0';
	return out;
}

const char *
rk_size_text(char *buf, size_t size, unsigned long long bytes)
{
	if (bytes >= 10ULL << 30)
		snprintf(buf, size, "%llu GiB", bytes >> 30);
	else if (bytes >= 10ULL << 20)
		snprintf(buf, size, "%llu MiB", bytes >> 20);
	else if (bytes >= 10ULL << 10)
		snprintf(buf, size, "%llu KiB", bytes >> 10);
	else
		snprintf(buf, size, "%llu bytes", bytes);
	return buf;
}
