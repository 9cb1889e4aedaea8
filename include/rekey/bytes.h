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

#endif
