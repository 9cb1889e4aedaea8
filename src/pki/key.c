#include "rekey/key.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki_int.h"
#include "rekey/digest.h"
#include "rekey/fsutil.h"

int
rk_fail_openssl(struct rk_err *err, const char *file, int line, const char *fmt, ...)
{
	char msg[384], reason[256] = "";
	unsigned long e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The earliest entry is the root cause; later ones are the callers' wrappers. */
	if ((e = ERR_peek_error()) != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (reason[0] != '\0') {
		const char *r = ERR_reason_error_string(e);

		return rk_err_set(err, RK_E_CRYPTO, file, line, "%s: %s", msg,
		    r != NULL ? r : reason);
	}
	return rk_err_set(err, RK_E_CRYPTO, file, line, "%s", msg);
}

int
rk_key_generate(struct rk_key **out, enum rk_key_type type, struct rk_err *err)
{
	EVP_PKEY *pkey = NULL;

	*out = NULL;
	switch (type) {
	case RK_KEY_RSA_2048:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case RK_KEY_RSA_3072:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case RK_KEY_RSA_4096:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case RK_KEY_EC_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case RK_KEY_EC_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case RK_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	if (pkey == NULL)
		return rk_fail_ssl(err, "generate %s key", rk_key_type_name(type));
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		EVP_PKEY_free(pkey);
		return rk_fail_nomem(err);
	}
	(*out)->pkey = pkey;
	return 0;
}

int
rk_pki_pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct rk_pki_pass *ps = u;

	(void)rwflag;
	ps->asked = true;
	if (ps->pass == NULL || ps->pass->ptr == NULL || ps->pass->len > (size_t)size)
		return -1;
	memcpy(buf, ps->pass->ptr, ps->pass->len);
	return (int)ps->pass->len;
}

int
rk_key_load(struct rk_key **out, struct rk_bytes data, const struct rk_secret *passphrase,
    const char *label, struct rk_err *err)
{
	OSSL_DECODER_CTX *dctx = NULL;
	struct rk_pki_pass ps = { passphrase, false };
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = data.ptr;
	size_t len = data.len;
	int r = 0;

	*out = NULL;
	if (data.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%s: %zu bytes, over the %d-byte limit for a key",
		    label, data.len, RK_PEM_MAX);
	/* NULL input type: the decoder tries PEM and DER, PKCS#8 and traditional forms. */
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, NULL, NULL, NULL, EVP_PKEY_KEYPAIR, NULL,
	    NULL);
	if (dctx == NULL || !OSSL_DECODER_CTX_set_pem_password_cb(dctx, rk_pki_pass_cb, &ps)) {
		r = rk_fail_ssl(err, "%s: cannot set up the key decoder", label);
		goto out;
	}
	if (!OSSL_DECODER_from_data(dctx, &p, &len) || pkey == NULL) {
		if (ps.asked && passphrase == NULL)
			r = rk_fail(err, RK_E_USAGE, "%s: the key is encrypted: give its "
			    "passphrase (a *_passphrase_env or *_passphrase_file key)", label);
		else if (ps.asked)
			r = rk_fail(err, RK_E_USAGE, "%s: wrong passphrase for the key", label);
		else
			r = rk_fail(err, RK_E_USAGE, "%s: not a private key (PEM or DER), or it "
			    "is damaged", label);
		ERR_clear_error();
		goto out;
	}
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	(*out)->pkey = pkey;
	pkey = NULL;
 out:
	OSSL_DECODER_CTX_free(dctx);
	EVP_PKEY_free(pkey);
	return r;
}

int
rk_key_load_file(struct rk_key **out, const char *path, const struct rk_secret *passphrase,
    struct rk_err *err)
{
	struct rk_buf buf;
	int r;

	*out = NULL;
	rk_buf_init(&buf, RK_PEM_MAX);
	if ((r = rk_file_read_private(&buf, path, RK_PEM_MAX, err)) == 0)
		r = rk_key_load(out, rk_buf_bytes(&buf), passphrase, path, err);
	rk_buf_clear(&buf);
	return r;
}

int
rk_key_to_pem(struct rk_secret *out, const struct rk_key *key,
    const struct rk_secret *passphrase, struct rk_err *err)
{
	const EVP_CIPHER *cipher = passphrase != NULL ? EVP_aes_256_cbc() : NULL;
	BIO *bio = NULL;
	char *data;
	long len;
	int r;

	/* secmem: OpenSSL cleanses the BIO's buffer when it is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return rk_fail_ssl(err, "cannot allocate a buffer for the key");
	/* PEM_write_bio_PrivateKey writes PKCS#8 (PBES2 when encrypted) in OpenSSL 3. */
	if (!PEM_write_bio_PrivateKey(bio, key->pkey, cipher,
	    passphrase != NULL ? passphrase->ptr : NULL,
	    passphrase != NULL ? (int)passphrase->len : 0, NULL, NULL)) {
		r = rk_fail_ssl(err, "cannot encode the key as PKCS#8");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	r = rk_secret_set(out, data, (size_t)len, err);
 out:
	BIO_free(bio);
	return r;
}

int
rk_key_stage_file(struct rk_fileset *set, const char *path, const struct rk_key *key,
    const struct rk_secret *passphrase, struct rk_err *err)
{
	struct rk_secret pem = { NULL, 0 };
	int r;

	if ((r = rk_key_to_pem(&pem, key, passphrase, err)) == 0)
		r = rk_fileset_add(set, path, (struct rk_bytes){ pem.ptr, pem.len }, 0600, err);
	rk_secret_clear(&pem);
	return r;
}

int
rk_key_write_file(const char *path, const struct rk_key *key,
    const struct rk_secret *passphrase, struct rk_err *err)
{
	struct rk_fileset *set = NULL;
	int r;

	if ((r = rk_fileset_new(&set, err)) == 0 &&
	    (r = rk_key_stage_file(set, path, key, passphrase, err)) == 0)
		r = rk_fileset_commit(set, err);
	rk_fileset_free(set);
	return r;
}

int
rk_key_describe(char *buf, size_t size, const struct rk_key *key)
{
	char group[64];
	size_t glen = 0;

	switch (EVP_PKEY_get_base_id(key->pkey)) {
	case EVP_PKEY_RSA:
		return snprintf(buf, size, "RSA %d", EVP_PKEY_get_bits(key->pkey));
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(key->pkey, "group", group, sizeof(group),
		    &glen))
			return snprintf(buf, size, "EC %d", EVP_PKEY_get_bits(key->pkey));
		/* OpenSSL names the curves prime256v1/secp384r1; people say P-256/P-384. */
		if (strcmp(group, "prime256v1") == 0)
			return snprintf(buf, size, "EC P-256");
		if (strcmp(group, "secp384r1") == 0)
			return snprintf(buf, size, "EC P-384");
		if (strcmp(group, "secp521r1") == 0)
			return snprintf(buf, size, "EC P-521");
		return snprintf(buf, size, "EC %s", group);
	case EVP_PKEY_ED25519:
		return snprintf(buf, size, "Ed25519");
	case EVP_PKEY_ED448:
		return snprintf(buf, size, "Ed448");
	default:
		return snprintf(buf, size, "%s", EVP_PKEY_get0_type_name(key->pkey));
	}
}

int
rk_key_bits(const struct rk_key *key)
{
	return EVP_PKEY_get_security_bits(key->pkey);
}

int
rk_pki_spki_sha256(char out[RK_SHA256_HEX], EVP_PKEY *pkey, struct rk_err *err)
{
	unsigned char *der = NULL;
	int len, r;

	out[0] = '\0';
	/* i2d_PUBKEY writes the public half only, whatever pkey holds. */
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0)
		return rk_fail_ssl(err, "cannot encode the public key");
	r = rk_sha256_hex(out, (struct rk_bytes){ der, (size_t)len }, err);
	OPENSSL_free(der);
	return r;
}

int
rk_key_spki_sha256(char out[RK_SHA256_HEX], const struct rk_key *key, struct rk_err *err)
{
	return rk_pki_spki_sha256(out, key->pkey, err);
}

void
rk_key_free(struct rk_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);	/* OpenSSL cleanses private key material on free */
	free(key);
}

/* ---- signatures over a record's manifest --------------------------------------------- */

/* SHA-256 for RSA and ECDSA; none for EdDSA, which hashes inside (RFC 8032). */
static const EVP_MD *
manifest_digest_for(const EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return NULL;
	default:
		return EVP_sha256();
	}
}

int
rk_key_sign_sha256(struct rk_buf *out, const struct rk_key *key, struct rk_bytes data,
    struct rk_err *err)
{
	static const unsigned char empty[1];
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int r;

	rk_buf_init(out, 64 * 1024);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return rk_fail_nomem(err);
	/* One-shot EVP_DigestSign: EdDSA accepts no other form. */
	if (EVP_DigestSignInit_ex(ctx, NULL, manifest_digest_for(key->pkey) != NULL ?
	    "SHA256" : NULL, NULL, NULL, key->pkey, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, data.ptr != NULL ? data.ptr : empty,
	    data.len) != 1) {
		r = rk_fail_ssl(err, "cannot set up a signature with the key");
		goto out;
	}
	if ((sig = OPENSSL_malloc(siglen)) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, data.ptr != NULL ? data.ptr : empty,
	    data.len) != 1) {
		r = rk_fail_ssl(err, "cannot sign with the key");
		goto out;
	}
	r = rk_buf_append(out, sig, siglen, err);
 out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(ctx);
	return r;
}

int
rk_key_public_pem(struct rk_buf *out, const struct rk_key *key, struct rk_err *err)
{
	BIO *bio = NULL;
	char *data;
	long len;
	int r;

	rk_buf_init(out, RK_PEM_MAX);
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return rk_fail_ssl(err, "cannot allocate a buffer for the public key");
	if (!PEM_write_bio_PUBKEY(bio, key->pkey)) {
		r = rk_fail_ssl(err, "cannot encode the public key");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	r = rk_buf_append(out, data, (size_t)len, err);
 out:
	BIO_free(bio);
	return r;
}

/* The public key in pem: exactly one "PUBLIC KEY" PEM block, nothing private. */
static int
load_public_pem(EVP_PKEY **out, struct rk_bytes pem, struct rk_err *err)
{
	BIO *bio = NULL;
	int r = 0;

	*out = NULL;
	if (pem.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%zu bytes, over the %d-byte limit for a key",
		    pem.len, RK_PEM_MAX);
	if (pem.len > INT_MAX || (bio = BIO_new_mem_buf(pem.ptr, (int)pem.len)) == NULL)
		return rk_fail_ssl(err, "cannot read the public key");
	if ((*out = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		r = rk_fail(err, RK_E_USAGE, "not a PEM public key (\"BEGIN PUBLIC KEY\")");
	}
	BIO_free(bio);
	return r;
}

int
rk_public_key_verify_sha256(bool *ok, struct rk_bytes pub_pem, struct rk_bytes data,
    struct rk_bytes sig, struct rk_err *err)
{
	static const unsigned char empty[1];
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r, v;

	*ok = false;
	if ((r = load_public_pem(&pkey, pub_pem, err)) != 0)
		return r;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(ctx, NULL, manifest_digest_for(pkey) != NULL ? "SHA256" :
	    NULL, NULL, NULL, pkey, NULL) != 1) {
		r = rk_fail_ssl(err, "cannot check a signature with this key");
		goto out;
	}
	/* 1 verifies; 0 or a negative value (a malformed signature) does not. */
	v = EVP_DigestVerify(ctx, sig.ptr != NULL ? sig.ptr : empty, sig.len,
	    data.ptr != NULL ? data.ptr : empty, data.len);
	ERR_clear_error();
	*ok = v == 1;
 out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return r;
}

int
rk_public_key_fingerprint(char out[RK_KEY_FINGERPRINT_LEN], struct rk_bytes pub_pem,
    struct rk_err *err)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_PKEY *pkey = NULL;
	int len, r;

	out[0] = '\0';
	if ((r = load_public_pem(&pkey, pub_pem, err)) != 0)
		return r;
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		r = rk_fail_ssl(err, "cannot hash the public key");
	else
		rk_pki_format_fingerprint(out, md);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	return r;
}
