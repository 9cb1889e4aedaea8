#include "rekey/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_vset(struct rk_err *err, enum rk_code code, const char *file, int line,
    const char *fmt, va_list ap) RK_PRINTF(5, 0);

static void
err_vset(struct rk_err *err, enum rk_code code, const char *file, int line,
    const char *fmt, va_list ap)
{
	err->code = code;
	err->file = file;
	err->line = line;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int
rk_err_set(struct rk_err *err, enum rk_code code, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->code != RK_OK)
		return code;
	va_start(ap, fmt);
	err_vset(err, code, file, line, fmt, ap);
	va_end(ap);
	err->sys_errno = 0;
	return code;
}

int
rk_err_set_errno(struct rk_err *err, const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	size_t used;
	va_list ap;

	if (err == NULL || err->code != RK_OK)
		return RK_E_SYS;
	va_start(ap, fmt);
	err_vset(err, RK_E_SYS, file, line, fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", strerror(saved));
	err->sys_errno = saved;
	errno = saved;
	return RK_E_SYS;
}

void
rk_err_prefix(struct rk_err *err, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, mlen, room = sizeof(err->msg) - 1;
	va_list ap;

	if (err == NULL || err->code == RK_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix) - 2, fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	memcpy(prefix + plen, ": ", 2);		/* fits: vsnprintf left two bytes */
	plen += 2;
	mlen = strlen(err->msg);
	/* A message too long for both loses its tail, never the context. */
	if (plen + mlen > room)
		mlen = room - plen;
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + mlen] = '\0';
}

void
rk_err_clear(struct rk_err *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

const char *
rk_code_name(enum rk_code code)
{
	switch (code) {
	case RK_OK:		return "ok";
	case RK_E_USAGE:	return "usage";
	case RK_E_SYS:		return "system";
	case RK_E_REMOTE:	return "remote";
	case RK_E_HOSTKEY:	return "host key";
	case RK_E_CRYPTO:	return "crypto";
	case RK_E_INTERNAL:	return "internal";
	case RK_E_NOMEM:	return "out of memory";
	case RK_E_LIMIT:	return "limit";
	}
	return "unknown";
}
