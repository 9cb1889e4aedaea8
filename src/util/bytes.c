#include "rekey/bytes.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void
rk_buf_init(struct rk_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

void
rk_buf_clear(struct rk_buf *b)
{
	if (b == NULL)
		return;
	if (b->ptr != NULL)
		OPENSSL_cleanse(b->ptr, b->alloc);
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
}

static int
buf_reserve(struct rk_buf *b, size_t extra, struct rk_err *err)
{
	unsigned char *grown;
	size_t want, alloc;

	if (extra > SIZE_MAX - b->len - 1 || b->len + extra > b->cap)
		return rk_fail(err, RK_E_LIMIT, "data exceeds the limit of %zu bytes", b->cap);
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	alloc = b->alloc == 0 ? 256 : b->alloc;
	while (alloc < want)
		alloc = alloc > SIZE_MAX / 2 ? want : alloc * 2;
	/* Grow by copy, not realloc, so old contents can be wiped: they may be secret. */
	if ((grown = malloc(alloc)) == NULL)
		return rk_fail_nomem(err);
	if (b->ptr != NULL) {
		memcpy(grown, b->ptr, b->len + 1);
		OPENSSL_cleanse(b->ptr, b->alloc);
		free(b->ptr);
	}
	b->ptr = grown;
	b->alloc = alloc;
	return 0;
}

int
rk_buf_append(struct rk_buf *b, const void *data, size_t len, struct rk_err *err)
{
	int r;

	if ((r = buf_reserve(b, len, err)) != 0)
		return r;
	if (len > 0)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int
rk_buf_append_str(struct rk_buf *b, const char *s, struct rk_err *err)
{
	return rk_buf_append(b, s, strlen(s), err);
}

int
rk_buf_printf(struct rk_buf *b, struct rk_err *err, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return rk_fail(err, RK_E_INTERNAL, "bad format string");
	if ((r = buf_reserve(b, (size_t)n, err)) != 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

struct rk_bytes
rk_buf_bytes(const struct rk_buf *b)
{
	struct rk_bytes v = { b->ptr, b->len };

	return v;
}

char *
rk_buf_detach(struct rk_buf *b)
{
	char *p = (char *)b->ptr;

	if (p == NULL)
		p = strdup("");
	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}

const char *
rk_text_newline(struct rk_bytes text)
{
	const unsigned char *nl = text.len > 0 ? memchr(text.ptr, '\n', text.len) : NULL;

	return nl != NULL && nl > text.ptr && nl[-1] == '\r' ? "\r\n" : "\n";
}

void
rk_line_appender_init(struct rk_line_appender *a, struct rk_bytes before, const char *nl)
{
	unsigned char last = before.len > 0 ? before.ptr[before.len - 1] : '\n';

	a->nl = nl;
	/* After a lone "\r", nl = "\r\n" would leave "\r\r\n": the line would gain a "\r". */
	a->lead = last == '\n' ? NULL : last == '\r' ? "\n" : nl;
}

int
rk_line_appender_put(struct rk_line_appender *a, struct rk_buf *out, const void *text,
    size_t len, struct rk_err *err)
{
	int r;

	if (a->lead == NULL)
		return (r = rk_buf_append(out, text, len, err)) != 0 ? r :
		    rk_buf_append_str(out, a->nl, err);
	if ((r = rk_buf_append_str(out, a->lead, err)) != 0)
		return r;
	a->lead = a->nl;
	return rk_buf_append(out, text, len, err);
}
