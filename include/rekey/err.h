/* Errors as values: a code that tells the caller what to do, a place, and one human line. */
#ifndef REKEY_ERR_H
#define REKEY_ERR_H

#include <stddef.h>

#define RK_MUST_CHECK	__attribute__((warn_unused_result))
#define RK_PRINTF(f, a)	__attribute__((format(printf, f, a)))

enum rk_code {
	RK_OK = 0,
	RK_E_USAGE = -1,	/* bad command line or playbook: exit 2 */
	RK_E_SYS = -2,		/* local system call failed; errno kept */
	RK_E_REMOTE = -3,	/* unreachable, auth refused, command failed: may retry */
	RK_E_HOSTKEY = -4,	/* unknown or changed host key: never retried */
	RK_E_CRYPTO = -5,	/* OpenSSL failed; its error queue is drained into msg */
	RK_E_INTERNAL = -6,	/* a bug */
	RK_E_NOMEM = -7,	/* out of memory */
	RK_E_LIMIT = -8,	/* input over a size or depth cap */
};

struct rk_err {
	enum rk_code	 code;
	int		 sys_errno;
	const char	*file;		/* where it was raised; shown with --debug */
	int		 line;
	char		 msg[512];	/* one line, never a secret */
};

/*
 * Records the first error only: later calls on an err that already holds one keep the
 * first message, as curl's Curl_failf() does, because the first cause is the real one.
 * Returns code, so a caller can write `return rk_fail(err, ...)`. err may be NULL.
 */
int	rk_err_set(struct rk_err *err, enum rk_code code, const char *file, int line,
	    const char *fmt, ...) RK_PRINTF(5, 6);
/* As rk_err_set with RK_E_SYS, appending ": strerror(errno)" and keeping errno. */
int	rk_err_set_errno(struct rk_err *err, const char *file, int line,
	    const char *fmt, ...) RK_PRINTF(4, 5);
/* Puts "prefix: " in front of the message already held (context from an outer layer). */
void	rk_err_prefix(struct rk_err *err, const char *fmt, ...) RK_PRINTF(2, 3);
void	rk_err_clear(struct rk_err *err);
/* A constant name for a code ("usage", "system", ...). */
const char *rk_code_name(enum rk_code code);

#define rk_fail(err, code, ...)	rk_err_set((err), (code), __FILE__, __LINE__, __VA_ARGS__)
#define rk_fail_errno(err, ...)	rk_err_set_errno((err), __FILE__, __LINE__, __VA_ARGS__)
#define rk_fail_nomem(err)	rk_err_set((err), RK_E_NOMEM, __FILE__, __LINE__, "out of memory")

#endif
