#include "rekey/crl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki_int.h"
#include "rekey/strutil.h"
#include "rekey/fsutil.h"

bool
rk_serial_normalise(char *out, size_t size, const char *serial)
{
	char hex[41];
	size_t n = 0, i, used = 0;

	for (; *serial != '\0'; serial++) {
		if (*serial == ':')
			continue;
		if (!isxdigit((unsigned char)*serial) || n >= 40)
			return false;
		hex[n++] = (char)toupper((unsigned char)*serial);
	}
	if (n == 0)
		return false;
	if (n % 2 == 1) {
		memmove(hex + 1, hex, n);
		hex[0] = '0';
		n++;
	}
	if (size < n / 2 * 3)
		return false;
	for (i = 0; i < n; i += 2) {
		out[used++] = hex[i];
		out[used++] = hex[i + 1];
		out[used++] = i + 2 < n ? ':' : '\0';
	}
	return true;
}

static ASN1_INTEGER *
serial_to_asn1(const char *serial)
{
	char hex[41];
	size_t n = 0;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;

	for (; *serial != '\0' && n < 40; serial++)
		if (*serial != ':')
			hex[n++] = *serial;
	hex[n] = '\0';
	if (BN_hex2bn(&bn, hex) == 0)
		return NULL;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/*
 * The entry form of a serial. One that RFC 5280 does not allow is never shown as another
 * serial: a negative one starts with "-", and one too long for out ends in "..." after the
 * bytes that fit (it was cut to 21 bytes and a ':' before), so neither can equal a serial
 * rk_serial_normalise makes. Found by fuzz_pkiload.
 */
static void
asn1_serial_hex(char *out, size_t size, const ASN1_INTEGER *ai)
{
	const unsigned char *p = ASN1_STRING_get0_data(ai);
	int len = ASN1_STRING_length(ai), i;
	size_t used = 0;

	out[0] = '\0';
	if (size < 8)
		return;
	if (ASN1_STRING_type(ai) == V_ASN1_NEG_INTEGER)
		out[used++] = '-';
	for (i = 0; i < len; i++) {
		/* Room for this pair, its ':' and a last "..." and NUL. */
		if (used + 3 + 4 > size) {
			memcpy(out + used, "...", 4);
			return;
		}
		used += (size_t)snprintf(out + used, size - used, "%02X%s", p[i],
		    i + 1 < len ? ":" : "");
	}
	out[used] = '\0';
}

/*
 * The next PEM CRL in bio. A block with Proc-Type headers makes a PEM reader ask for a
 * passphrase, and a NULL callback means OpenSSL's own, which reads the terminal (or stdin):
 * rekey's callback, given none, refuses instead.
 */
static X509_CRL *
read_pem_crl(BIO *bio)
{
	struct rk_pki_pass none = { NULL, false };

	return PEM_read_bio_X509_CRL(bio, NULL, rk_pki_pass_cb, &none);
}

static int
wrap(struct rk_crl **out, X509_CRL *crl, struct rk_err *err)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		X509_CRL_free(crl);
		return rk_fail_nomem(err);
	}
	(*out)->crl = crl;
	return 0;
}

bool
rk_crl_has_serial(const struct rk_crl *crl, const char *serial)
{
	STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl->crl);
	char want[64], have[64];
	int i;

	if (!rk_serial_normalise(want, sizeof(want), serial))
		return false;
	for (i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
		asn1_serial_hex(have, sizeof(have),
		    X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i)));
		if (strcmp(want, have) == 0)
			return true;
	}
	return false;
}

static int
add_entry(X509_CRL *crl, const struct rk_crl_entry *e, struct rk_err *err)
{
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;
	int r = 0;

	if ((serial = serial_to_asn1(e->serial)) == NULL)
		return rk_fail(err, RK_E_USAGE, "serial %s is not hexadecimal", e->serial);
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (when = ASN1_TIME_set(NULL, e->revoked_at)) == NULL ||
	    !X509_REVOKED_set_serialNumber(rev, serial) ||
	    !X509_REVOKED_set_revocationDate(rev, when)) {
		r = rk_fail_ssl(err, "cannot create the CRL entry for %s", e->serial);
		goto out;
	}
	/* RFC 5280 5.3.1: reasonCode is omitted rather than written as unspecified. */
	if (e->has_reason && e->reason != RK_REASON_UNSPECIFIED) {
		if ((reason = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(reason, (long)e->reason) ||
		    !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0)) {
			r = rk_fail_ssl(err, "cannot set the reason for %s", e->serial);
			goto out;
		}
	}
	if (!X509_CRL_add0_revoked(crl, rev)) {
		r = rk_fail_ssl(err, "cannot add %s to the CRL", e->serial);
		goto out;
	}
	rev = NULL;		/* the CRL owns it now */
 out:
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	ASN1_ENUMERATED_free(reason);
	return r;
}

static int
set_crl_number(X509_CRL *crl, long number, struct rk_err *err)
{
	ASN1_INTEGER *n = ASN1_INTEGER_new();
	int ok = n != NULL && ASN1_INTEGER_set(n, number) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0);

	ASN1_INTEGER_free(n);
	return ok ? 0 : rk_fail_ssl(err, "cannot set the CRL number");
}

int
rk_crl_build(struct rk_crl **out, const struct rk_crl *previous, const struct rk_crl_entry *add,
    size_t nadd, const struct rk_cert *ca, const struct rk_key *ca_key, int next_update_days,
    struct rk_err *err)
{
	X509_CRL *crl = NULL;
	ASN1_TIME *last = NULL, *next = NULL;
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	struct rk_crl view = { NULL };
	time_t now = time(NULL);
	long number = 1;
	size_t i;
	int r = 0, k;

	*out = NULL;
	if (previous != NULL && !rk_crl_is_signed_by(previous, ca))
		return rk_fail(err, RK_E_USAGE, "the existing CRL was not signed by this CA: "
		    "refusing to replace it (its entries would be lost)");
	if (next_update_days < 1)
		return rk_fail(err, RK_E_USAGE, "nextUpdate must be at least one day ahead");
	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->x509)) ||
	    (last = ASN1_TIME_set(NULL, now)) == NULL ||
	    (next = ASN1_TIME_adj(NULL, now, next_update_days, 0)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next)) {
		r = rk_fail_ssl(err, "cannot create the CRL");
		goto out;
	}
	if (previous != NULL) {
		STACK_OF(X509_REVOKED) *old = X509_CRL_get_REVOKED(previous->crl);

		for (k = 0; k < sk_X509_REVOKED_num(old); k++) {
			X509_REVOKED *dup = X509_REVOKED_dup(sk_X509_REVOKED_value(old, k));

			if (dup == NULL || !X509_CRL_add0_revoked(crl, dup)) {
				X509_REVOKED_free(dup);
				r = rk_fail_ssl(err, "cannot copy an earlier CRL entry");
				goto out;
			}
		}
		if (rk_crl_number(previous) >= 0)
			number = rk_crl_number(previous) + 1;
	}
	view.crl = crl;
	for (i = 0; i < nadd; i++) {
		if (rk_crl_has_serial(&view, add[i].serial))
			continue;	/* revoked already: the first date and reason stand */
		if ((r = add_entry(crl, &add[i], err)) != 0)
			goto out;
	}
	if ((r = set_crl_number(crl, number, err)) != 0)
		goto out;
	X509V3_set_ctx(&ctx, ca->x509, NULL, NULL, crl, 0);
	if ((aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) == NULL || !X509_CRL_add_ext(crl, aki, -1)) {
		r = rk_fail_ssl(err, "cannot add the authority key identifier to the CRL");
		goto out;
	}
	if (!X509_CRL_sort(crl) ||
	    X509_CRL_sign(crl, ca_key->pkey, rk_pki_digest_for(ca_key)) <= 0) {
		r = rk_fail_ssl(err, "cannot sign the CRL");
		goto out;
	}
	r = wrap(out, crl, err);
	crl = NULL;
 out:
	X509_EXTENSION_free(aki);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return r;
}

int
rk_crl_load(struct rk_crl **out, struct rk_bytes data, const char *label, struct rk_err *err)
{
	const unsigned char *p = data.ptr;
	X509_CRL *crl = NULL;
	BIO *bio;

	*out = NULL;
	if (data.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%s: %zu bytes, over the %d-byte limit", label,
		    data.len, RK_PEM_MAX);
	if (data.len >= 10 && memmem(data.ptr, data.len, "-----BEGIN", 10) != NULL) {
		if ((bio = BIO_new_mem_buf(data.ptr, (int)data.len)) != NULL)
			crl = read_pem_crl(bio);
		BIO_free(bio);
	} else {
		crl = d2i_X509_CRL(NULL, &p, (long)data.len);
	}
	if (crl == NULL) {
		ERR_clear_error();
		return rk_fail(err, RK_E_USAGE, "%s: not a CRL (PEM or DER), or it is truncated",
		    label);
	}
	return wrap(out, crl, err);
}

int
rk_crl_load_bundle(struct rk_crl ***out, size_t *n, struct rk_bytes data, const char *label,
    struct rk_err *err)
{
	struct rk_crl **crls = NULL, **grown;
	size_t count = 0;
	X509_CRL *x;
	BIO *bio;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (data.len > RK_PEM_MAX)
		return rk_fail(err, RK_E_LIMIT, "%s: %zu bytes, over the %d-byte limit", label,
		    data.len, RK_PEM_MAX);
	/* DER holds one CRL: the single loader says what is wrong with it. */
	if (data.len < 10 || memmem(data.ptr, data.len, "-----BEGIN", 10) == NULL) {
		if ((crls = calloc(1, sizeof(*crls))) == NULL)
			return rk_fail_nomem(err);
		if ((r = rk_crl_load(&crls[0], data, label, err)) != 0) {
			free(crls);
			return r;
		}
		*out = crls;
		*n = 1;
		return 0;
	}
	if ((bio = BIO_new_mem_buf(data.ptr, (int)data.len)) == NULL)
		return rk_fail_ssl(err, "%s: cannot buffer the CRLs", label);
	while ((x = read_pem_crl(bio)) != NULL) {
		if ((grown = reallocarray(crls, count + 1, sizeof(*grown))) == NULL) {
			X509_CRL_free(x);
			r = rk_fail_nomem(err);
			goto out;
		}
		crls = grown;
		if ((r = wrap(&crls[count], x, err)) != 0)
			goto out;
		count++;
	}
	ERR_clear_error();	/* the loop ends on "no start line" */
	if (count == 0) {
		r = rk_fail(err, RK_E_USAGE, "%s: no PEM CRL in it, or it is truncated", label);
		goto out;
	}
	*out = crls;
	*n = count;
	crls = NULL;
	count = 0;
 out:
	rk_crl_bundle_free(crls, count);
	BIO_free(bio);
	return r;
}

void
rk_crl_bundle_free(struct rk_crl **crls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rk_crl_free(crls[i]);
	free(crls);
}

int
rk_crl_load_file(struct rk_crl **out, const char *path, struct rk_err *err)
{
	struct rk_buf buf;
	int r;

	*out = NULL;
	rk_buf_init(&buf, RK_PEM_MAX);
	if ((r = rk_file_read(&buf, path, RK_PEM_MAX, err)) == 0)
		r = rk_crl_load(out, rk_buf_bytes(&buf), path, err);
	rk_buf_clear(&buf);
	return r;
}

int
rk_crl_to_pem(struct rk_buf *out, const struct rk_crl *crl, struct rk_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r;

	if (bio == NULL || !PEM_write_bio_X509_CRL(bio, crl->crl)) {
		BIO_free(bio);
		return rk_fail_ssl(err, "cannot encode the CRL");
	}
	len = BIO_get_mem_data(bio, &data);
	r = rk_buf_append(out, data, (size_t)len, err);
	BIO_free(bio);
	return r;
}

bool
rk_crl_is_signed_by(const struct rk_crl *crl, const struct rk_cert *ca)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca->x509);
	bool ok = pub != NULL && X509_CRL_verify(crl->crl, pub) == 1;

	ERR_clear_error();
	return ok;
}

size_t
rk_crl_count(const struct rk_crl *crl)
{
	int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl->crl));

	return n < 0 ? 0 : (size_t)n;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

void
rk_crl_entry_at(struct rk_crl_entry *out, const struct rk_crl *crl, size_t i)
{
	X509_REVOKED *rev = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl->crl), (int)i);
	ASN1_ENUMERATED *reason;
	int crit;

	memset(out, 0, sizeof(*out));
	asn1_serial_hex(out->serial, sizeof(out->serial), X509_REVOKED_get0_serialNumber(rev));
	out->revoked_at = asn1_time(X509_REVOKED_get0_revocationDate(rev));
	if ((reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL)) != NULL) {
		out->reason = (enum rk_reason)ASN1_ENUMERATED_get(reason);
		out->has_reason = true;
		ASN1_ENUMERATED_free(reason);
	}
}

long
rk_crl_number(const struct rk_crl *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl->crl, NID_crl_number, NULL, NULL);
	long v = -1;

	if (n != NULL)
		v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	/* RFC 5280 makes it non-negative: a negative one is no number (found by fuzz_pkiload). */
	return v < 0 ? -1 : v;
}

time_t
rk_crl_last_update(const struct rk_crl *crl)
{
	return asn1_time(X509_CRL_get0_lastUpdate(crl->crl));
}

time_t
rk_crl_next_update(const struct rk_crl *crl)
{
	return asn1_time(X509_CRL_get0_nextUpdate(crl->crl));
}

int
rk_crl_issuer(char *buf, size_t size, const struct rk_crl *crl)
{
	char line[1024];

	if (X509_NAME_oneline(X509_CRL_get_issuer(crl->crl), line, sizeof(line)) == NULL)
		return snprintf(buf, size, "?");
	(void)rk_strlcpy(buf, line, size);	/* a long name is cut, never overrun */
	return (int)strlen(buf);
}

void
rk_crl_free(struct rk_crl *crl)
{
	if (crl == NULL)
		return;
	X509_CRL_free(crl->crl);
	free(crl);
}
