/* SHA-256 of bytes and of files, as lower-case hex (what sha256sum prints). */
#ifndef REKEY_DIGEST_H
#define REKEY_DIGEST_H

#include "rekey/bytes.h"
#include "rekey/err.h"

#define RK_SHA256_HEX	65		/* 64 hex digits and a NUL */

int	rk_sha256_hex(char out[RK_SHA256_HEX], struct rk_bytes data, struct rk_err *err)
	    RK_MUST_CHECK;
/* Hashes what is left to read of fd; name labels errors. The read buffer is wiped. */
int	rk_sha256_fd(char out[RK_SHA256_HEX], int fd, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;

#endif
