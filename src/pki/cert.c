#include "rekey/cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki_int.h"
#include "rekey/strutil.h"
#include "rekey/fsutil.h"

/*
 * The next PEM certificate in bio. A block with Proc-Type headers makes a PEM reader ask for a
 * passphrase, and a NULL callback means OpenSSL's own, which reads the terminal (or stdin):
 * rekey's callback, given none, refuses instead.
 */
static X509 *
read_pem_cert(BIO *bio)
{
	struct rk_pki_pass none = { NULL, false };

	return PEM_read_bio_X509(bio, NULL, rk_pki_pass_cb, &none);
}

static int
wrap(struct rk_cert **out, X509 *x, struct rk_err *err)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		X509_free(x);
		return rk_fail_nomem(err);
	}
	(*out)->x509 = x;
	return 0;
}

/* RFC 5280 4.1.2.2: positive, at most 20 octets; 128 random bits with the top one clear. */
static int
set_random_serial(X509 *x, struct rk_err *err)
{
	unsigned char raw[16];
	BIGNUM *bn = NULL;
	int r = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return rk_fail_ssl(err, "no random bytes for the serial");
	raw[0] &= 0x7f;
	if (raw[0] == 0)
		raw[0] = 0x01;		/* keep it 16 bytes long, so its size says nothing */
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		r = rk_fail_ssl(err, "cannot set the serial");
	BN_free(bn);
	return r;
}

static int
set_name(X509_NAME *name, const struct rk_dn *dn, struct rk_err *err)
{
	size_t i;

	for (i = 0; i < dn->n; i++) {
		const struct rk_dn_attr *a = &dn->attrs[i];

		if (!X509_NAME_add_entry_by_txt(name, a->type, MBSTRING_UTF8,
		    (const unsigned char *)a->value, -1, -1, 0))
			return rk_fail_ssl(err, "subject %s=%s", a->type, a->value);
	}
	return 0;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct rk_err *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return rk_fail_ssl(err, "extension %s = %s", OBJ_nid2sn(nid), value);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : rk_fail_ssl(err, "cannot add extension %s", OBJ_nid2sn(nid));
}

static const char *
key_usage_for(enum rk_profile profile, const struct rk_key *key)
{
	bool rsa = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_RSA;

	switch (profile) {
	case RK_PROFILE_CA:
		return "critical,keyCertSign,cRLSign,digitalSignature";
	case RK_PROFILE_SERVER:
		/* keyEncipherment only for RSA: TLS 1.2 RSA key exchange encrypts to it. */
		return rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";
	case RK_PROFILE_CLIENT:
		return "critical,digitalSignature";
	}
	return "critical,digitalSignature";
}

const EVP_MD *
rk_pki_digest_for(const struct rk_key *signer)
{
	switch (EVP_PKEY_get_base_id(signer->pkey)) {
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		return NULL;
	case EVP_PKEY_EC:
		return EVP_PKEY_get_bits(signer->pkey) > 256 ? EVP_sha384() : EVP_sha256();
	default:
		return EVP_sha256();
	}
}

static int
san_config(char **out, const struct rk_cert_spec *spec, struct rk_err *err)
{
	struct rk_buf b;
	size_t i;
	int r = 0;

	rk_buf_init(&b, 64 * 1024);
	for (i = 0; i < spec->nsan && r == 0; i++)
		r = rk_buf_printf(&b, err, "%s%s", i == 0 ? "" : ",", spec->san[i]);
	if (r != 0) {
		rk_buf_clear(&b);
		return r;
	}
	*out = rk_buf_detach(&b);
	return *out == NULL ? rk_fail_nomem(err) : 0;
}

int
rk_cert_issue(struct rk_cert **out, const struct rk_cert_spec *spec, const struct rk_key *key,
    const struct rk_cert *issuer, const struct rk_key *issuer_key, struct rk_err *err)
{
	X509 *x = NULL;
	X509V3_CTX ctx;
	char *san = NULL;
	int r;

	*out = NULL;
	if (issuer == NULL && spec->profile != RK_PROFILE_CA)
		return rk_fail(err, RK_E_INTERNAL, "only a CA certificate may be self-signed");
	if (spec->days < 1)
		return rk_fail(err, RK_E_USAGE, "validity must be at least one day");
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3)) {
		r = rk_fail_ssl(err, "cannot create a certificate");
		goto out;
	}
	if ((r = set_random_serial(x, err)) != 0 ||
	    (r = set_name(X509_get_subject_name(x), spec->subject, err)) != 0)
		goto out;
	if (!X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->x509) :
	    X509_get_subject_name(x)) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -RK_CLOCK_SKEW, NULL) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), spec->days, 0, NULL) == NULL ||
	    !X509_set_pubkey(x, key->pkey)) {
		r = rk_fail_ssl(err, "cannot fill the certificate");
		goto out;
	}
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer->x509 : x, x, NULL, NULL, 0);
	if ((r = add_ext(x, &ctx, NID_basic_constraints, spec->profile != RK_PROFILE_CA ?
	    "critical,CA:FALSE" : spec->issuing_only ? "critical,CA:TRUE,pathlen:0" :
	    "critical,CA:TRUE", err)) != 0 ||
	    (r = add_ext(x, &ctx, NID_key_usage, key_usage_for(spec->profile, key), err)) != 0 ||
	    (r = add_ext(x, &ctx, NID_subject_key_identifier, "hash", err)) != 0 ||
	    (r = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err)) != 0)
		goto out;
	if (spec->profile != RK_PROFILE_CA && (r = add_ext(x, &ctx, NID_ext_key_usage,
	    spec->profile == RK_PROFILE_SERVER ? "serverAuth" : "clientAuth", err)) != 0)
		goto out;
	if (spec->nsan > 0 && ((r = san_config(&san, spec, err)) != 0 ||
	    (r = add_ext(x, &ctx, NID_subject_alt_name, san, err)) != 0))
		goto out;
	if (X509_sign(x, issuer_key->pkey, rk_pki_digest_for(issuer_key)) <= 0) {
		r = rk_fail_ssl(err, "cannot sign the certificate");
		goto out;
	}
	r = wrap(out, x, err);
	x = NULL;
 out:
	free(san);
	X509_free(x);
	return r;
}

int
rk_cert_load(struct rk_cert **out, struct rk_bytes data, const char *label, struct rk_err *err)
{
	const unsigned char *p = data.ptr;
	BIO *bio = NULL;
	X509 *x = NULL;

	*out = NULL;
	if (data.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%s: %zu bytes, over the %d-byte limit",
		    label, data.len, RK_PEM_MAX);
	if (data.len >= 10 && memmem(data.ptr, data.len, "-----BEGIN", 10) != NULL) {
		if ((bio = BIO_new_mem_buf(data.ptr, (int)data.len)) != NULL)
			x = read_pem_cert(bio);
		BIO_free(bio);
	} else {
		x = d2i_X509(NULL, &p, (long)data.len);
	}
	if (x == NULL) {
		ERR_clear_error();
		return rk_fail(err, RK_E_USAGE, "%s: not a certificate (PEM or DER), or it is "
		    "truncated", label);
	}
	return wrap(out, x, err);
}

int
rk_cert_load_file(struct rk_cert **out, const char *path, struct rk_err *err)
{
	struct rk_buf buf;
	int r;

	*out = NULL;
	rk_buf_init(&buf, RK_PEM_MAX);
	if ((r = rk_file_read(&buf, path, RK_PEM_MAX, err)) == 0)
		r = rk_cert_load(out, rk_buf_bytes(&buf), path, err);
	rk_buf_clear(&buf);
	return r;
}

void
rk_cert_bundle_free(struct rk_cert **certs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rk_cert_free(certs[i]);
	free(certs);
}

int
rk_cert_load_bundle(struct rk_cert ***out, size_t *n, struct rk_bytes data, const char *label,
    struct rk_err *err)
{
	struct rk_cert **certs = NULL, **grown;
	size_t count = 0;
	BIO *bio = NULL;
	X509 *x;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (data.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%s: %zu bytes, over the %d-byte limit", label,
		    data.len, RK_PEM_MAX);
	if ((bio = BIO_new_mem_buf(data.ptr, (int)data.len)) == NULL)
		return rk_fail_ssl(err, "%s: cannot buffer the bundle", label);
	while ((x = read_pem_cert(bio)) != NULL) {
		if ((grown = reallocarray(certs, count + 1, sizeof(*grown))) == NULL) {
			X509_free(x);
			r = rk_fail_nomem(err);
			goto out;
		}
		certs = grown;
		if ((r = wrap(&certs[count], x, err)) != 0)
			goto out;
		count++;
	}
	ERR_clear_error();	/* the loop ends on "no start line" */
	if (count == 0) {
		r = rk_fail(err, RK_E_USAGE, "%s: no PEM certificate in it", label);
		goto out;
	}
	*out = certs;
	*n = count;
	certs = NULL;
	count = 0;
 out:
	rk_cert_bundle_free(certs, count);
	BIO_free(bio);
	return r;
}

int
rk_cert_load_bundle_file(struct rk_cert ***out, size_t *n, const char *path, struct rk_err *err)
{
	struct rk_buf buf;
	int r;

	*out = NULL;
	*n = 0;
	rk_buf_init(&buf, RK_PEM_MAX);
	if ((r = rk_file_read(&buf, path, RK_PEM_MAX, err)) == 0)
		r = rk_cert_load_bundle(out, n, rk_buf_bytes(&buf), path, err);
	rk_buf_clear(&buf);
	return r;
}

int
rk_cert_to_pem(struct rk_buf *out, const struct rk_cert *cert, struct rk_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r;

	if (bio == NULL || !PEM_write_bio_X509(bio, cert->x509)) {
		BIO_free(bio);
		return rk_fail_ssl(err, "cannot encode the certificate");
	}
	len = BIO_get_mem_data(bio, &data);
	r = rk_buf_append(out, data, (size_t)len, err);
	BIO_free(bio);
	return r;
}

int
rk_cert_stage_file(struct rk_fileset *set, const char *path, const struct rk_cert *cert,
    struct rk_err *err)
{
	return rk_cert_stage_bundle_file(set, path, &cert, 1, err);
}

int
rk_cert_stage_bundle_file(struct rk_fileset *set, const char *path,
    const struct rk_cert *const *certs, size_t n, struct rk_err *err)
{
	struct rk_buf pem;
	size_t i;
	int r = 0;

	rk_buf_init(&pem, RK_PEM_MAX);
	for (i = 0; i < n && r == 0; i++)
		r = rk_cert_to_pem(&pem, certs[i], err);
	/* Exactly 0644 whatever the umask: every client must be able to read a certificate. */
	if (r == 0)
		r = rk_fileset_add(set, path, rk_buf_bytes(&pem), 0644, err);
	rk_buf_clear(&pem);
	return r;
}

int
rk_cert_write_file(const char *path, const struct rk_cert *cert, struct rk_err *err)
{
	struct rk_fileset *set = NULL;
	int r;

	if ((r = rk_fileset_new(&set, err)) == 0 &&
	    (r = rk_cert_stage_file(set, path, cert, err)) == 0)
		r = rk_fileset_commit(set, err);
	rk_fileset_free(set);
	return r;
}

void
rk_cert_fingerprint(char out[RK_FINGERPRINT_LEN], const struct rk_cert *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	out[0] = '\0';
	if (!X509_digest(cert->x509, EVP_sha256(), md, &len) || len != 32)
		return;
	rk_pki_format_fingerprint(out, md);
}

int
rk_cert_spki_sha256(char out[RK_SHA256_HEX], const struct rk_cert *cert, struct rk_err *err)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert->x509);

	out[0] = '\0';
	if (pkey == NULL)
		return rk_fail_ssl(err, "the certificate's public key cannot be read");
	return rk_pki_spki_sha256(out, pkey, err);
}

void
rk_pki_format_fingerprint(char out[RK_FINGERPRINT_LEN], const unsigned char md[32])
{
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(out + 3 * i, RK_FINGERPRINT_LEN - 3 * i, "%02X%s", md[i],
		    i + 1 < 32 ? ":" : "");
}

static int
bytes_to_hex(char *buf, size_t size, const unsigned char *p, size_t len)
{
	size_t i, used = 0;

	if (size == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < len; i++) {
		int n = snprintf(buf + used, size - used, "%02X%s", p[i], i + 1 < len ? ":" : "");

		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
	}
	return (int)used;
}

int
rk_cert_serial(char *buf, size_t size, const struct rk_cert *cert)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert->x509);

	return bytes_to_hex(buf, size, ASN1_STRING_get0_data(serial),
	    (size_t)ASN1_STRING_length(serial));
}

/* The playbook's own form, "/O=Example/CN=db1", so a responder can compare them by eye. */
static int
name_oneline(char *buf, size_t size, const X509_NAME *name)
{
	char line[1024];

	if (X509_NAME_oneline(name, line, sizeof(line)) == NULL)
		return snprintf(buf, size, "?");
	(void)rk_strlcpy(buf, line, size);	/* a long name is cut, never overrun */
	return (int)strlen(buf);
}

int
rk_cert_subject(char *buf, size_t size, const struct rk_cert *cert)
{
	return name_oneline(buf, size, X509_get_subject_name(cert->x509));
}

int
rk_cert_issuer(char *buf, size_t size, const struct rk_cert *cert)
{
	return name_oneline(buf, size, X509_get_issuer_name(cert->x509));
}

int
rk_cert_common_name(char *buf, size_t size, const struct rk_cert *cert)
{
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert->x509), NID_commonName,
	    buf, (int)size);

	if (n < 0 && size > 0)
		buf[0] = '\0';
	return n < 0 ? 0 : n;
}

void
rk_cert_sans_free(char **sans, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(sans[i]);
	free(sans);
}

int
rk_cert_sans(char ***out, size_t *n, const struct rk_cert *cert, struct rk_err *err)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert->x509, NID_subject_alt_name, NULL, NULL);
	char **list = NULL, ip[64];
	int i, count;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (names == NULL)
		return 0;
	count = sk_GENERAL_NAME_num(names);
	if ((list = calloc((size_t)count + 1, sizeof(*list))) == NULL)
		goto oom;
	for (i = 0; i < count; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *d;
		int len, rc = -1;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			rc = asprintf(&list[k], "DNS:%.*s", len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if (len == 4 || len == 16) {
				inet_ntop(len == 4 ? AF_INET : AF_INET6, d, ip, sizeof(ip));
				rc = asprintf(&list[k], "IP:%s", ip);
			}
		} else if (g->type == GEN_EMAIL) {
			d = ASN1_STRING_get0_data(g->d.rfc822Name);
			len = ASN1_STRING_length(g->d.rfc822Name);
			rc = asprintf(&list[k], "email:%.*s", len, (const char *)d);
		} else {
			continue;
		}
		if (rc < 0) {
			list[k] = NULL;
			goto oom;
		}
		k++;
	}
	GENERAL_NAMES_free(names);
	*out = list;
	*n = k;
	return 0;
 oom:
	GENERAL_NAMES_free(names);
	rk_cert_sans_free(list, k);
	return rk_fail_nomem(err);
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

time_t
rk_cert_not_before(const struct rk_cert *cert)
{
	return asn1_to_time(X509_get0_notBefore(cert->x509));
}

time_t
rk_cert_not_after(const struct rk_cert *cert)
{
	return asn1_to_time(X509_get0_notAfter(cert->x509));
}

long
rk_days_left_until(time_t end, time_t now)
{
	long long secs = (long long)end - (long long)now;

	/* Floor division: a certificate expired one second ago has -1 days left, not 0. */
	return (long)(secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400));
}

long
rk_cert_days_left(const struct rk_cert *cert, time_t now)
{
	return rk_days_left_until(rk_cert_not_after(cert), now);
}

bool
rk_cert_is_ca(const struct rk_cert *cert)
{
	/* basicConstraints alone: X509_check_ca() also weighs keyUsage, and a CA lacking
	 * keyCertSign must be told as such, not as "not a CA". */
	return (X509_get_extension_flags(cert->x509) & EXFLAG_CA) != 0;
}

long
rk_cert_path_len(const struct rk_cert *cert)
{
	return X509_get_pathlen(cert->x509);
}

bool
rk_cert_same(const struct rk_cert *a, const struct rk_cert *b)
{
	return X509_cmp(a->x509, b->x509) == 0;
}

bool
rk_cert_is_self_signed(const struct rk_cert *cert)
{
	/* verify_signature 1: the key in it must verify it, not only the names match. */
	bool yes = X509_self_signed(cert->x509, 1) == 1;

	ERR_clear_error();
	return yes;
}

bool
rk_cert_names_as_issuer(const struct rk_cert *cert, const struct rk_cert *ca)
{
	/* X509_NAME_cmp compares the canonical encodings, as chain building does. */
	bool yes = X509_NAME_cmp(X509_get_issuer_name(cert->x509),
	    X509_get_subject_name(ca->x509)) == 0;

	ERR_clear_error();
	return yes;
}

const char *
rk_cert_profile(const struct rk_cert *cert, bool *client_auth)
{
	uint32_t eku = X509_get_extended_key_usage(cert->x509);

	*client_auth = !rk_cert_is_ca(cert) && (eku == UINT32_MAX || (eku & XKU_SSL_CLIENT));
	if (rk_cert_is_ca(cert))
		return "ca";
	if (eku == UINT32_MAX)
		return NULL;
	if (eku & XKU_SSL_SERVER)
		return "server";
	return (eku & XKU_SSL_CLIENT) ? "client" : NULL;
}

bool
rk_cert_can_sign_certificates(const struct rk_cert *cert)
{
	uint32_t usage = X509_get_key_usage(cert->x509);

	return (usage & KU_KEY_CERT_SIGN) != 0;
}

int
rk_cert_describe_key(char *buf, size_t size, const struct rk_cert *cert)
{
	struct rk_key k = { X509_get0_pubkey(cert->x509) };

	if (k.pkey == NULL)
		return snprintf(buf, size, "unknown key");
	return rk_key_describe(buf, size, &k);
}

int
rk_cert_key_type(char *buf, size_t size, const struct rk_cert *cert)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert->x509);

	if (pkey == NULL)
		return snprintf(buf, size, "unknown");
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		return snprintf(buf, size, "RSA");
	case EVP_PKEY_EC:
		return snprintf(buf, size, "EC");
	case EVP_PKEY_ED25519:
		return snprintf(buf, size, "Ed25519");
	case EVP_PKEY_ED448:
		return snprintf(buf, size, "Ed448");
	default:
		return snprintf(buf, size, "%s", EVP_PKEY_get0_type_name(pkey));
	}
}

int
rk_cert_key_size(const struct rk_cert *cert)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert->x509);

	if (pkey == NULL)
		return 0;
	/* OpenSSL counts Ed25519 as 253 bits (the group order); its key is 256 bits long. */
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519)
		return 256;
	return EVP_PKEY_get_bits(pkey);
}

int
rk_cert_check_key(const struct rk_cert *cert, const struct rk_key *key, struct rk_err *err)
{
	char subject[256];

	if (X509_check_private_key(cert->x509, key->pkey) == 1)
		return 0;
	ERR_clear_error();
	rk_cert_subject(subject, sizeof(subject), cert);
	return rk_fail(err, RK_E_USAGE, "the private key does not match the certificate %s",
	    subject);
}

int
rk_cert_check_name(const struct rk_cert *cert, const char *name, struct rk_err *err)
{
	unsigned char addr[16];
	int rc;

	if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
		rc = X509_check_ip_asc(cert->x509, name, 0);
	else
		rc = X509_check_host(cert->x509, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
		    NULL);
	if (rc == 1)
		return 0;
	ERR_clear_error();
	return rk_fail(err, RK_E_USAGE, "%s is not among the certificate's names", name);
}

int
rk_cert_verify(const struct rk_cert *cert, struct rk_cert *const *trusted, size_t ntrusted,
    const struct rk_crl *crl, time_t at, struct rk_err *err)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	size_t i;
	int r = 0, code;

	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL) {
		r = rk_fail_ssl(err, "cannot create a certificate store");
		goto out;
	}
	for (i = 0; i < ntrusted; i++)
		if (!X509_STORE_add_cert(store, trusted[i]->x509)) {
			r = rk_fail_ssl(err, "cannot add a trusted certificate");
			goto out;
		}
	if (crl != NULL) {
		if (!X509_STORE_add_crl(store, crl->crl)) {
			r = rk_fail_ssl(err, "cannot add the CRL");
			goto out;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	if (!X509_STORE_CTX_init(ctx, store, cert->x509, NULL)) {
		r = rk_fail_ssl(err, "cannot set up verification");
		goto out;
	}
	if (at != 0)
		X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) != 1) {
		code = X509_STORE_CTX_get_error(ctx);
		r = rk_fail(err, RK_E_CRYPTO, "verification failed: %s",
		    X509_verify_cert_error_string(code));
		ERR_clear_error();
	}
 out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

void
rk_cert_free(struct rk_cert *cert)
{
	if (cert == NULL)
		return;
	X509_free(cert->x509);
	free(cert);
}
