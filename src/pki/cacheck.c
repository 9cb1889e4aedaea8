/*
 * A CA checked as plan sees it: without connecting anywhere, so that a server certificate
 * given as ca.cert, a junk file, or the key of another CA is an error on the playbook's own
 * line, minutes before an emergency run would find it.
 */
#include "rekey/cacheck.h"

#include <time.h>

#include <openssl/x509v3.h>

#include "rekey/cert.h"
#include "rekey/key.h"
#include "pki_int.h"

static int
check_cert(const struct rk_cert *cert, struct rk_ca_check *how, struct rk_err *err)
{
	uint32_t usage = X509_get_key_usage(cert->x509);
	time_t now = time(NULL);
	char subject[256];
	long days;

	if (rk_cert_subject(subject, sizeof(subject), cert) < 0)
		subject[0] = '\0';
	if (!rk_cert_is_ca(cert))
		return rk_fail(err, RK_E_USAGE, "not a CA certificate (\"%s\" has no "
		    "basicConstraints CA:TRUE): name the CA that signs the servers' certificates",
		    subject);
	if ((usage & KU_KEY_CERT_SIGN) == 0)
		return rk_fail(err, RK_E_USAGE, "the CA may not sign certificates (its keyUsage "
		    "lacks keyCertSign)");
	how->lacks_crl_sign = (usage & KU_CRL_SIGN) == 0;
	if (how->signs_crls && how->lacks_crl_sign)
		return rk_fail(err, RK_E_USAGE, "the CA may not sign CRLs (its keyUsage lacks "
		    "cRLSign), and this run signs one");
	if ((days = rk_cert_days_left(cert, now)) < 0) {
		/* Whole days since it expired: three days and a second ago is "3 days ago". */
		long ago = (long)((now - rk_cert_not_after(cert)) / 86400);

		if (ago == 0)
			return rk_fail(err, RK_E_USAGE, "the CA expired less than a day ago");
		return rk_fail(err, RK_E_USAGE, "the CA expired %ld day%s ago", ago,
		    ago == 1 ? "" : "s");
	}
	if (rk_cert_not_before(cert) > now)
		return rk_fail(err, RK_E_USAGE, "the CA is not valid yet (check this machine's "
		    "clock)");
	return 0;
}

int
rk_ca_check_cert(const struct rk_cert *cert, const char *path, struct rk_ca_check *how,
    struct rk_err *err)
{
	int r;

	if ((r = check_cert(cert, how, err)) != 0)
		rk_err_prefix(err, "%s", path);
	return r;
}

int
rk_ca_check_files(enum rk_ca_file *bad, const char *cert_path, const char *key_path,
    struct rk_ca_check *how, struct rk_err *err)
{
	struct rk_cert *cert = NULL;
	struct rk_key *key = NULL;
	int r;

	/* The loaders' messages start with the path; ours are given it in front. */
	*bad = RK_CA_FILE_CERT;
	if ((r = rk_cert_load_file(&cert, cert_path, err)) != 0)
		goto out;
	if ((r = rk_ca_check_cert(cert, cert_path, how, err)) != 0)
		goto out;
	if (!how->check_key)
		goto out;
	*bad = RK_CA_FILE_KEY;
	if ((r = rk_key_load_file(&key, key_path, how->passphrase, err)) != 0)
		goto out;
	if ((r = rk_cert_check_key(cert, key, err)) != 0)
		rk_err_prefix(err, "%s: not the key of ca.cert", key_path);
 out:
	rk_key_free(key);
	rk_cert_free(cert);
	return r;
}
