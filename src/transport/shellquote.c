#include "rekey/shellquote.h"

#include <string.h>

int
rk_shell_quote(struct rk_buf *out, const char *s, struct rk_err *err)
{
	const char *quote;
	int r;

	if ((r = rk_buf_append(out, "'", 1, err)) != 0)
		return r;
	/* Copy each run up to the next quote, then close, escape the quote and reopen. */
	while ((quote = strchr(s, '\'')) != NULL) {
		if ((r = rk_buf_append(out, s, (size_t)(quote - s), err)) != 0 ||
		    (r = rk_buf_append(out, "'\\''", 4, err)) != 0)
			return r;
		s = quote + 1;
	}
	if ((r = rk_buf_append_str(out, s, err)) != 0)
		return r;
	return rk_buf_append(out, "'", 1, err);
}

int
rk_shell_join(struct rk_buf *out, const char *const *argv, struct rk_err *err)
{
	int r;

	if (argv == NULL || argv[0] == NULL)
		return rk_fail(err, RK_E_INTERNAL, "empty command");
	for (size_t i = 0; argv[i] != NULL; i++) {
		if (i > 0 && (r = rk_buf_append(out, " ", 1, err)) != 0)
			return r;
		if ((r = rk_shell_quote(out, argv[i], err)) != 0)
			return r;
	}
	return 0;
}
