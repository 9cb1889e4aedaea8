/* Byte strings with a length and growable buffers with a hard cap. */
#ifndef REKEY_BYTES_H
#define REKEY_BYTES_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"

/* A borrowed view: never owns ptr. */
struct rk_bytes {
	const unsigned char	*ptr;
	size_t			 len;
};

/*
 * An owned, growable buffer. Every buffer has a cap: appending past it fails with
 * RK_E_LIMIT, so input from outside can never grow memory without bound.
 * The data is always followed by a NUL (not counted in len) for the C APIs that want one.
 */
struct rk_buf {
	unsigned char	*ptr;
	size_t		 len;
	size_t		 alloc;
	size_t		 cap;
};

void	rk_buf_init(struct rk_buf *b, size_t cap);
/* Wipes the contents before freeing: a buffer may have held a key. */
void	rk_buf_clear(struct rk_buf *b);
int	rk_buf_append(struct rk_buf *b, const void *data, size_t len, struct rk_err *err)
	    RK_MUST_CHECK;
int	rk_buf_append_str(struct rk_buf *b, const char *s, struct rk_err *err) RK_MUST_CHECK;
int	rk_buf_printf(struct rk_buf *b, struct rk_err *err, const char *fmt, ...)
	    RK_PRINTF(3, 4) RK_MUST_CHECK;
struct rk_bytes rk_buf_bytes(const struct rk_buf *b);
/* Hands the NUL-terminated data to the caller (free() it) and resets b. */
char	*rk_buf_detach(struct rk_buf *b);

/* "\r\n" when the first line of text ends with it, else "\n": the style new lines follow. */
const char *rk_text_newline(struct rk_bytes text);

/*
 * Adds whole lines to the end of a text in its newline style. After a text that ends with a
 * newline (or is empty) each line is written then ended; after one that does not, each line
 * is started with a newline instead, so a missing final newline stays missing. A text that
 * ends with a lone "\r" is closed by "\n" alone: that "\r" already belongs to its last line.
 */
struct rk_line_appender {
	const char	*nl;
	const char	*lead;	/* written before the next line; NULL: nl goes after it */
};

void	rk_line_appender_init(struct rk_line_appender *a, struct rk_bytes before,
	    const char *nl);
int	rk_line_appender_put(struct rk_line_appender *a, struct rk_buf *out, const void *text,
	    size_t len, struct rk_err *err) RK_MUST_CHECK;

#endif
