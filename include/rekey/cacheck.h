/* What a CA's files can be told to be fit for, before any host is touched. */
#ifndef REKEY_CACHECK_H
#define REKEY_CACHECK_H

#include <stdbool.h>

#include "rekey/cert.h"
#include "rekey/err.h"
#include "rekey/secret.h"

/* Which of the two files a problem is in, so the playbook error points at its line. */
enum rk_ca_file {
	RK_CA_FILE_CERT,
	RK_CA_FILE_KEY,
};

struct rk_ca_check {
	bool	signs_crls;	/* in: the run signs a CRL, so cRLSign is required too */
	bool	lacks_crl_sign;	/* out: it may not sign CRLs (only an error with signs_crls) */
	/* NULL: the key is not loaded, only the certificate is checked (an encrypted key
	 * whose passphrase is not at hand). */
	const struct rk_secret *passphrase;
	bool	check_key;
};

/*
 * Checks what the CA must be for a run: the certificate parses and is a CA (basicConstraints
 * CA:TRUE) allowed to sign certificates (keyCertSign) and, when asked, CRLs (cRLSign); it is
 * within its validity period; and, with check_key, the key loads and matches it. Returns 0,
 * or RK_E_USAGE (RK_E_NOMEM, RK_E_SYS) with *bad naming the file at fault and err why,
 * starting with that file's path.
 */
/* The certificate part alone, for a certificate already loaded from path (which starts the
 * message): what rk_signing_ca_open() checks too. */
int	rk_ca_check_cert(const struct rk_cert *cert, const char *path, struct rk_ca_check *how,
	    struct rk_err *err) RK_MUST_CHECK;
int	rk_ca_check_files(enum rk_ca_file *bad, const char *cert_path, const char *key_path,
	    struct rk_ca_check *how, struct rk_err *err) RK_MUST_CHECK;

#endif
