/*
 * The chain above an issuing CA, checked as OpenSSL will judge it on every client, but one
 * link at a time so the message names the link: OpenSSL's own "unable to get local issuer
 * certificate" says neither which certificate nor why.
 */
#include "rekey/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

int
rk_chain_load(struct rk_chain *out, const char *ca_path, const char *chain_path,
    struct rk_err *err)
{
	struct rk_cert *ca = NULL, **above = NULL;
	size_t nabove = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = rk_cert_load_file(&ca, ca_path, err)) != 0)
		return r;
	if (chain_path != NULL && (r = rk_cert_load_bundle_file(&above, &nabove, chain_path,
	    err)) != 0) {
		rk_cert_free(ca);
		return r;
	}
	if ((out->certs = calloc(nabove + 1, sizeof(*out->certs))) == NULL) {
		rk_cert_free(ca);
		rk_cert_bundle_free(above, nabove);
		return rk_fail_nomem(err);
	}
	out->certs[0] = ca;
	if (nabove > 0)
		memcpy(out->certs + 1, above, nabove * sizeof(*above));
	out->n = nabove + 1;
	free(above);		/* the certificates are the chain's now */
	return 0;
}

void
rk_chain_clear(struct rk_chain *chain)
{
	if (chain->certs != NULL)
		rk_cert_bundle_free(chain->certs, chain->n);
	chain->certs = NULL;
	chain->n = 0;
}

const struct rk_cert *
rk_chain_root(const struct rk_chain *chain)
{
	return chain->n > 0 ? chain->certs[chain->n - 1] : NULL;
}

/* "ca.cert" for the first certificate, "certificate N of ca.chain" for the others. */
static void
name_link(char *buf, size_t size, const struct rk_chain *chain, size_t i)
{
	char subject[256];

	if (rk_cert_subject(subject, sizeof(subject), chain->certs[i]) < 0)
		subject[0] = '\0';
	if (i == 0)
		snprintf(buf, size, "ca.cert (\"%s\")", subject);
	else
		snprintf(buf, size, "certificate %zu of ca.chain (\"%s\")", i, subject);
}

/* Whole days between two times, for "expired 3 days ago". */
static long
days_between(time_t from, time_t to)
{
	return (long)((to - from) / 86400);
}

static int
check_validity(const struct rk_chain *chain, size_t i, time_t now, struct rk_err *err)
{
	const struct rk_cert *c = chain->certs[i];
	char what[320];
	long ago;

	name_link(what, sizeof(what), chain, i);
	if (rk_cert_not_after(c) < now) {
		ago = days_between(rk_cert_not_after(c), now);
		if (ago == 0)
			return rk_fail(err, RK_E_USAGE, "%s expired less than a day ago: every "
			    "client refuses what it signed", what);
		return rk_fail(err, RK_E_USAGE, "%s expired %ld day%s ago: every client refuses "
		    "what it signed", what, ago, ago == 1 ? "" : "s");
	}
	if (rk_cert_not_before(c) > now)
		return rk_fail(err, RK_E_USAGE, "%s is not valid yet (check this machine's clock)",
		    what);
	return 0;
}

/*
 * Whether above signed below: its name and key identifier match below's issuer fields
 * (X509_check_issued) and its key verifies below's signature. Unlike rk_cert_is_issued_by,
 * a keyUsage without keyCertSign is not held against it here, although X509_check_issued
 * refuses it: check_link names that fault itself, rather than calling the link a stranger.
 */
static bool
did_sign(const struct rk_cert *below, const struct rk_cert *above)
{
	EVP_PKEY *pub = X509_get0_pubkey(above->x509);
	int code = X509_check_issued(above->x509, below->x509);
	bool yes = (code == X509_V_OK || code == X509_V_ERR_KEYUSAGE_NO_CERTSIGN) &&
	    pub != NULL && X509_verify(below->x509, pub) == 1;

	ERR_clear_error();
	return yes;
}

/* Which certificate of the chain did sign certs[i], if one did: a chain out of order. */
static size_t
find_issuer(const struct rk_chain *chain, size_t i)
{
	size_t j;

	for (j = 0; j < chain->n; j++)
		if (j != i && did_sign(chain->certs[i], chain->certs[j]))
			return j;
	return chain->n;
}

static int
check_link(const struct rk_chain *chain, size_t i, struct rk_err *err)
{
	const struct rk_cert *above = chain->certs[i], *below = chain->certs[i - 1];
	char what[320], under[320], issuer[256];
	size_t j;
	long len;

	name_link(what, sizeof(what), chain, i);
	name_link(under, sizeof(under), chain, i - 1);
	if (!did_sign(below, above)) {
		if ((j = find_issuer(chain, i - 1)) < chain->n) {
			char signer[320];

			name_link(signer, sizeof(signer), chain, j);
			return rk_fail(err, RK_E_USAGE, "%s did not sign %s, %s did: the chain is out "
			    "of order (list each CA's issuer right after it, up to the root)", what,
			    under, signer);
		}
		if (rk_cert_issuer(issuer, sizeof(issuer), below) < 0)
			issuer[0] = '\0';
		/* By name alone: a root re-made under its old name has another key identifier. */
		if (X509_NAME_cmp(X509_get_subject_name(above->x509),
		    X509_get_issuer_name(below->x509)) == 0)
			return rk_fail(err, RK_E_USAGE, "%s has the name of the issuer of %s, but its "
			    "key does not verify that certificate's signature: another CA of the "
			    "same name", what, under);
		return rk_fail(err, RK_E_USAGE, "%s did not sign %s, whose issuer is \"%s\": "
		    "put the certificate of \"%s\" here", what, under, issuer, issuer);
	}
	if (!rk_cert_is_ca(above))
		return rk_fail(err, RK_E_USAGE, "%s is not a CA (no basicConstraints CA:TRUE), "
		    "so clients refuse what it signed", what);
	if (!rk_cert_can_sign_certificates(above))
		return rk_fail(err, RK_E_USAGE, "%s may not sign certificates (its keyUsage lacks "
		    "keyCertSign)", what);
	/* RFC 5280 4.2.1.9: pathLenConstraint counts the CAs below it, the leaf aside. */
	len = rk_cert_path_len(above);
	if (len >= 0 && (size_t)len < i)
		return rk_fail(err, RK_E_USAGE, "%s allows %ld CA%s below it (pathLenConstraint) "
		    "and has %zu: clients refuse the chain", what, len, len == 1 ? "" : "s", i);
	return 0;
}

int
rk_chain_check(const struct rk_chain *chain, time_t now, size_t *bad, struct rk_err *err)
{
	const struct rk_cert *root;
	char what[320];
	size_t i;
	int r;

	*bad = 0;
	for (i = 1; i < chain->n; i++) {
		*bad = i;
		if ((r = check_link(chain, i, err)) != 0 ||
		    (r = check_validity(chain, i, now, err)) != 0)
			return r;
	}
	root = rk_chain_root(chain);
	*bad = chain->n - 1;
	if (!rk_cert_is_self_signed(root)) {
		name_link(what, sizeof(what), chain, chain->n - 1);
		if (chain->n == 1)
			return rk_fail(err, RK_E_USAGE, "%s is not a root (it is not self-signed): "
			    "name the certificates above it, up to the root, as ca.chain", what);
		return rk_fail(err, RK_E_USAGE, "the chain ends at %s, which is not a root (it "
		    "is not self-signed): add its issuer, up to the root", what);
	}
	*bad = 0;
	return 0;
}

int
rk_chain_verify_leaf(struct rk_chain_verdict *out, const struct rk_cert *leaf,
    struct rk_cert *const *untrusted, size_t nuntrusted, const char *trusted_file,
    const char *crl_file, struct rk_err *err)
{
	STACK_OF(X509) *others = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_LOOKUP *lookup;
	size_t i;
	int r = 0;

	int code;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    (others = sk_X509_new_null()) == NULL) {
		r = rk_fail_ssl(err, "cannot create a certificate store");
		goto out;
	}
	if ((lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file())) == NULL ||
	    X509_load_cert_file(lookup, trusted_file, X509_FILETYPE_PEM) < 1) {
		r = rk_fail_ssl(err, "%s: cannot load the trusted certificates", trusted_file);
		goto out;
	}
	if (crl_file != NULL) {
		if (X509_load_crl_file(lookup, crl_file, X509_FILETYPE_PEM) < 1) {
			r = rk_fail_ssl(err, "%s: cannot load the CRLs", crl_file);
			goto out;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	for (i = 0; i < nuntrusted; i++)
		if (!sk_X509_push(others, untrusted[i]->x509)) {
			r = rk_fail_ssl(err, "cannot list the untrusted certificates");
			goto out;
		}
	if (!X509_STORE_CTX_init(ctx, store, leaf->x509, others)) {
		r = rk_fail_ssl(err, "cannot set up verification");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		code = X509_STORE_CTX_get_error(ctx);
		out->ok = false;
		out->revoked = code == X509_V_ERR_CERT_REVOKED;
		out->depth = X509_STORE_CTX_get_error_depth(ctx);
		snprintf(out->reason, sizeof(out->reason), "%s",
		    X509_verify_cert_error_string(code));
	}
	ERR_clear_error();
 out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(others);	/* the certificates stay their owners' */
	return r;
}
