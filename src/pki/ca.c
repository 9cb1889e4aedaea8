#include "rekey/ca.h"
#include "rekey/cacheck.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

int
rk_signing_ca_open(struct rk_signing_ca *out, const char *cert_path, const char *key_path,
    const struct rk_secret *passphrase, struct rk_err *err)
{
	struct rk_ca_check how = { 0 };
	int r;

	memset(out, 0, sizeof(*out));
	if ((out->cert_path = strdup(cert_path)) == NULL)
		return rk_fail_nomem(err);
	if ((r = rk_cert_load_file(&out->cert, cert_path, err)) != 0 ||
	    (r = rk_key_load_file(&out->key, key_path, passphrase, err)) != 0)
		goto fail;
	if ((r = rk_cert_check_key(out->cert, out->key, err)) != 0) {
		rk_err_prefix(err, "CA key %s", key_path);
		goto fail;
	}
	/* The same checks plan makes before any run (cacheck), so both say the same. */
	if ((r = rk_ca_check_cert(out->cert, cert_path, &how, err)) != 0)
		goto fail;
	return 0;
 fail:
	rk_signing_ca_close(out);
	return r;
}

void
rk_signing_ca_close(struct rk_signing_ca *ca)
{
	if (ca == NULL)
		return;
	rk_cert_free(ca->cert);
	rk_key_free(ca->key);
	free(ca->cert_path);
	memset(ca, 0, sizeof(*ca));
}

bool
rk_cert_is_issued_by(const struct rk_cert *cert, const struct rk_cert *ca)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca->x509);
	bool ok = X509_check_issued(ca->x509, cert->x509) == X509_V_OK && pub != NULL &&
	    X509_verify(cert->x509, pub) == 1;

	ERR_clear_error();
	return ok;
}

int
rk_issue_with_new_key(struct rk_cert **cert, struct rk_key **key,
    const struct rk_cert_spec *spec, enum rk_key_type type, const struct rk_signing_ca *ca,
    struct rk_err *err)
{
	int r;

	*cert = NULL;
	*key = NULL;
	if ((r = rk_key_generate(key, type, err)) != 0)
		return r;
	r = rk_cert_issue(cert, spec, *key, ca != NULL ? ca->cert : NULL,
	    ca != NULL ? ca->key : *key, err);
	if (r != 0) {
		rk_key_free(*key);
		*key = NULL;
	}
	return r;
}
