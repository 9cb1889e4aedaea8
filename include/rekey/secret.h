/* Secrets (keys, passphrases, passwords) as a type of their own, wiped when released. */
#ifndef REKEY_SECRET_H
#define REKEY_SECRET_H

#include <stddef.h>

#include "rekey/err.h"

/*
 * Not a char *, so printf("%s", secret) does not compile under -Wformat -Werror.
 * ptr comes from OPENSSL_malloc and is NUL-terminated (not counted in len) for C APIs.
 */
struct rk_secret {
	unsigned char	*ptr;
	size_t		 len;
};

/* Cap on a secret read from a file or the environment. */
#define RK_SECRET_MAX	4096

/* Copies len bytes into a fresh secret. */
int	rk_secret_set(struct rk_secret *s, const void *data, size_t len, struct rk_err *err)
	    RK_MUST_CHECK;
/* Reads a secret from environment variable name; a missing or empty variable is an error. */
int	rk_secret_from_env(struct rk_secret *s, const char *name, struct rk_err *err) RK_MUST_CHECK;
/*
 * Reads a secret from a file, dropping one final newline (as echo writes it). The file must
 * be private (rk_file_check_private: mode 0600 or narrower, owned by this user or root).
 */
int	rk_secret_from_file(struct rk_secret *s, const char *path, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * A secret from wherever the playbook or command line points: the variable env, else the
 * file; neither given leaves *s empty and returns 0 (the caller decides whether it is
 * needed). The one place a secret reference becomes a secret.
 */
int	rk_secret_from_source(struct rk_secret *s, const char *env, const char *file,
	    struct rk_err *err) RK_MUST_CHECK;
/* Cleanses, then frees; NULL and an empty secret are fine. */
void	rk_secret_clear(struct rk_secret *s);

#endif
