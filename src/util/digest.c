#include "rekey/digest.h"
#include "rekey/strutil.h"

#include <errno.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int
rk_sha256_hex(char out[RK_SHA256_HEX], struct rk_bytes data, struct rk_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const unsigned char empty[1];

	if (EVP_Digest(data.ptr != NULL ? data.ptr : empty, data.len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		return rk_fail(err, RK_E_CRYPTO, "SHA-256 failed");
	rk_hex_encode(out, md, 32);
	return 0;
}

int
rk_sha256_fd(char out[RK_SHA256_HEX], int fd, const char *name, struct rk_err *err)
{
	unsigned char chunk[16384], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int r = 0;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return rk_fail_nomem(err);
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = rk_fail(err, RK_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			r = rk_fail_errno(err, "read %s", name);
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1) {
			r = rk_fail(err, RK_E_CRYPTO, "SHA-256 failed");
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		r = rk_fail(err, RK_E_CRYPTO, "SHA-256 failed");
		goto out;
	}
	rk_hex_encode(out, md, 32);
 out:
	/* The file may be a private key: leave none of it on the stack. */
	OPENSSL_cleanse(chunk, sizeof(chunk));
	EVP_MD_CTX_free(ctx);
	return r;
}

