#include "rekey/strutil.h"

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
