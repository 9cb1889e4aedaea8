/* Private keys: generate, load (PEM or DER, encrypted or not), write as PKCS#8, describe. */
#ifndef REKEY_KEY_H
#define REKEY_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/bytes.h"
#include "rekey/digest.h"
#include "rekey/err.h"
#include "rekey/fsutil.h"
#include "rekey/model.h"
#include "rekey/secret.h"

/* Cap on any PEM or DER input (key, certificate, CRL): a 4 GB "key" must fail at once. */
#define RK_PEM_MAX	(1000 * 1000)

struct rk_key;

/* Generates a fresh key of type. Thread-safe; RSA-3072 takes about half a second. */
int	rk_key_generate(struct rk_key **out, enum rk_key_type type, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Loads a private key from PEM or DER (PKCS#8, encrypted PKCS#8, or traditional). passphrase
 * may be NULL; a key that needs one then fails with a message saying so, and a wrong one
 * fails as "wrong passphrase". label names the source in messages.
 */
int	rk_key_load(struct rk_key **out, struct rk_bytes data, const struct rk_secret *passphrase,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;
/* From a file, which must be private (rk_file_check_private), as ssh refuses an open key. */
int	rk_key_load_file(struct rk_key **out, const char *path,
	    const struct rk_secret *passphrase, struct rk_err *err) RK_MUST_CHECK;
/* The key as PEM PKCS#8, AES-256-CBC encrypted when passphrase is given; *out is wiped later. */
int	rk_key_to_pem(struct rk_secret *out, const struct rk_key *key,
	    const struct rk_secret *passphrase, struct rk_err *err) RK_MUST_CHECK;
/*
 * Adds the key (PEM, as rk_key_to_pem) to set as a new file at path, mode 0600 from the
 * first byte; it gets its name when the set is committed (fsutil.h). An existing file is an
 * error, never overwritten.
 */
int	rk_key_stage_file(struct rk_fileset *set, const char *path, const struct rk_key *key,
	    const struct rk_secret *passphrase, struct rk_err *err) RK_MUST_CHECK;
/* The same for one file alone: staged, then committed. */
int	rk_key_write_file(const char *path, const struct rk_key *key,
	    const struct rk_secret *passphrase, struct rk_err *err) RK_MUST_CHECK;
/* "RSA 3072", "EC P-256", "Ed25519". */
int	rk_key_describe(char *buf, size_t size, const struct rk_key *key);
/* Bits of security strength as OpenSSL rates it (128 for P-256 and RSA-3072). */
int	rk_key_bits(const struct rk_key *key);
/*
 * Signs data with key as `openssl dgst -sha256 -sign KEY` does: RSA PKCS#1 v1.5 or ECDSA
 * (DER) over its SHA-256, whatever the curve. Ed25519 has no separate digest: OpenSSL 3.0's
 * dgst refuses it ("Key type not supported for this operation"), so it is signed as pure
 * EdDSA over data itself (RFC 8032), which `openssl pkeyutl -verify -rawin -pubin -inkey PUB
 * -sigfile SIG -in DATA` checks. out is initialised here; the caller clears it.
 */
int	rk_key_sign_sha256(struct rk_buf *out, const struct rk_key *key, struct rk_bytes data,
	    struct rk_err *err) RK_MUST_CHECK;
/* The public half as PEM SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it. out is
 * initialised here; the caller clears it. */
int	rk_key_public_pem(struct rk_buf *out, const struct rk_key *key, struct rk_err *err)
	    RK_MUST_CHECK;
/*
 * Checks sig, as rk_key_sign_sha256 makes it, over data with the public key pub_pem (PEM
 * SubjectPublicKeyInfo, at most RK_PEM_MAX bytes). *ok says whether it verifies; an error
 * (RK_E_USAGE) only when pub_pem is not a public key. Anything but one PEM public key in
 * pub_pem (a certificate, a private key) is refused: the caller named a public key.
 */
int	rk_public_key_verify_sha256(bool *ok, struct rk_bytes pub_pem, struct rk_bytes data,
	    struct rk_bytes sig, struct rk_err *err) RK_MUST_CHECK;
/* "AB:CD:...": the SHA-256 of the key's DER SubjectPublicKeyInfo (what `openssl pkey -pubin
 * -outform DER | sha256sum` hashes); RK_KEY_FINGERPRINT_LEN as rk_cert_fingerprint's. */
#define RK_KEY_FINGERPRINT_LEN	96
int	rk_public_key_fingerprint(char out[RK_KEY_FINGERPRINT_LEN], struct rk_bytes pub_pem,
	    struct rk_err *err) RK_MUST_CHECK;
/*
 * Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo of the key's public half, as
 * `openssl pkey -pubout -outform DER | sha256sum` prints it: how material.h names a key
 * whatever file it is found in. Fails only when OpenSSL cannot encode it (out of memory).
 */
int	rk_key_spki_sha256(char out[RK_SHA256_HEX], const struct rk_key *key, struct rk_err *err)
	    RK_MUST_CHECK;
/* Frees and cleanses; NULL is fine. */
void	rk_key_free(struct rk_key *key);

#endif
