/* Private to src/pki/: the OpenSSL objects behind the opaque types of key.h, cert.h and crl.h. */
#ifndef REKEY_PKI_INT_H
#define REKEY_PKI_INT_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "rekey/err.h"
#include "rekey/secret.h"

struct rk_key {
	EVP_PKEY	*pkey;
};

struct rk_cert {
	X509		*x509;
};

struct rk_crl {
	X509_CRL	*crl;
};

/*
 * Records an OpenSSL failure: the message, then ": " and the first reason on OpenSSL's error
 * queue, which is then cleared so the next failure does not report a stale cause.
 */
int	rk_fail_openssl(struct rk_err *err, const char *file, int line, const char *fmt, ...)
	    RK_PRINTF(4, 5);
#define rk_fail_ssl(err, ...)	rk_fail_openssl((err), __FILE__, __LINE__, __VA_ARGS__)

/* The digest a signer uses: none for Ed25519, SHA-384 for P-384 (RFC 5480), else SHA-256. */
const EVP_MD	*rk_pki_digest_for(const struct rk_key *signer);

/* 32 bytes of SHA-256 as "AB:CD:..." (95 characters and a NUL), as every fingerprint shows. */
void	rk_pki_format_fingerprint(char out[96], const unsigned char md[32]);

/*
 * OpenSSL's passphrase callback (pem_password_cb) for a decoder: hands over pass, or fails
 * when there is none, so OpenSSL never falls back to asking on the terminal. asked records
 * that the input wanted a passphrase at all.
 */
struct rk_pki_pass {
	const struct rk_secret	*pass;
	bool			 asked;
};
int	rk_pki_pass_cb(char *buf, int size, int rwflag, void *u);

/* rk_key_spki_sha256 for any key, public or private. */
int	rk_pki_spki_sha256(char out[65], EVP_PKEY *pkey, struct rk_err *err);

#endif
