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

#include "rekey/chainlinks.h"
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
 * Link i ties certs[i - 1] to certs[i] (l, from rk_chain_links_describe). A link that does
 * not hold is told for what it is: out of order, a CA without keyCertSign, a leaf in the
 * chain, another key under the issuer's name, or a stranger. OpenSSL refuses a signer
 * whose keyUsage lacks keyCertSign as an issuer at all, so the names are what tell those.
 */
static int
check_link(const struct rk_chain *chain, const struct rk_chain_link *l, size_t i,
    struct rk_err *err)
{
	const struct rk_cert *below = chain->certs[i - 1];
	char what[320], under[320], issuer[256], signer[320];
	size_t below_cas;

	name_link(what, sizeof(what), chain, i);
	name_link(under, sizeof(under), chain, i - 1);
	if (!l->issued && l->issuer_at != RK_CHAIN_NONE) {
		name_link(signer, sizeof(signer), chain, l->issuer_at);
		return rk_fail(err, RK_E_USAGE, "%s did not sign %s, %s did: the chain is out "
		    "of order (list each CA's issuer right after it, up to the root)", what, under,
		    signer);
	}
	if ((l->issued || l->names_match) && !l->issuer_is_ca)
		return rk_fail(err, RK_E_USAGE, "%s is not a CA (no basicConstraints CA:TRUE), "
		    "so clients refuse what it signed", what);
	if ((l->issued || l->names_match) && !l->issuer_can_sign)
		return rk_fail(err, RK_E_USAGE, "%s may not sign certificates (its keyUsage lacks "
		    "keyCertSign)", what);
	if (!l->issued && l->names_match)
		return rk_fail(err, RK_E_USAGE, "%s has the name of the issuer of %s, but its "
		    "key does not verify that certificate's signature: another CA of the same "
		    "name", what, under);
	if (!l->issued) {
		if (rk_cert_issuer(issuer, sizeof(issuer), below) < 0)
			issuer[0] = '\0';
		return rk_fail(err, RK_E_USAGE, "%s did not sign %s, whose issuer is \"%s\": "
		    "put the certificate of \"%s\" here", what, under, issuer, issuer);
	}
	/* RFC 5280 4.2.1.9: pathLenConstraint counts the CAs below it, the leaf aside; the
	 * links count from certs[1], and ca.cert below them is a CA too. */
	below_cas = l->cas_below + (rk_cert_names_as_issuer(chain->certs[0], chain->certs[0]) ?
	    0 : 1);
	if (l->issuer_path_len >= 0 && (size_t)l->issuer_path_len < below_cas)
		return rk_fail(err, RK_E_USAGE, "%s allows %ld CA%s below it (pathLenConstraint) "
		    "and has %zu: clients refuse the chain", what, l->issuer_path_len,
		    l->issuer_path_len == 1 ? "" : "s", below_cas);
	return 0;
}

int
rk_chain_check(const struct rk_chain *chain, time_t now, size_t *bad, struct rk_err *err)
{
	struct rk_chain_links links;
	char what[320];
	size_t i;
	int r;

	*bad = 0;
	if ((r = rk_chain_links_describe(&links, chain->certs, chain->n, err)) != 0)
		goto out;
	for (i = 1; i < chain->n; i++) {
		*bad = i;
		if ((r = check_link(chain, &links.links[i - 1], i, err)) != 0 ||
		    (r = check_validity(chain, i, now, err)) != 0)
			goto out;
	}
	*bad = chain->n - 1;
	if (!links.top.self_signed) {
		name_link(what, sizeof(what), chain, chain->n - 1);
		if (chain->n == 1)
			r = rk_fail(err, RK_E_USAGE, "%s is not a root (it is not self-signed): "
			    "name the certificates above it, up to the root, as ca.chain", what);
		else
			r = rk_fail(err, RK_E_USAGE, "the chain ends at %s, which is not a root (it "
			    "is not self-signed): add its issuer, up to the root", what);
		goto out;
	}
	*bad = 0;
 out:
	rk_chain_links_clear(&links);
	return r;
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
