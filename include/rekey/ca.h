/* A CA ready to sign: its certificate and key loaded and checked together. */
#ifndef REKEY_CA_H
#define REKEY_CA_H

#include <stdbool.h>

#include "rekey/cert.h"
#include "rekey/crl.h"
#include "rekey/err.h"
#include "rekey/key.h"
#include "rekey/secret.h"

struct rk_signing_ca {
	struct rk_cert	*cert;
	struct rk_key	*key;
	char		*cert_path;
};

/*
 * Loads the CA at cert_path/key_path (passphrase may be NULL) and checks what signing needs:
 * the key matches the certificate, it is a CA (basicConstraints CA:TRUE) allowed to sign
 * certificates (keyCertSign), and it is within its validity period. Each failure names
 * the cause, as "/x/ca.crt: the CA expired 3 days ago" (the checks of rk_ca_check_cert).
 */
int	rk_signing_ca_open(struct rk_signing_ca *out, const char *cert_path, const char *key_path,
	    const struct rk_secret *passphrase, struct rk_err *err) RK_MUST_CHECK;
void	rk_signing_ca_close(struct rk_signing_ca *ca);

/* Whether cert names ca as issuer and ca's key verifies cert's signature. */
bool	rk_cert_is_issued_by(const struct rk_cert *cert, const struct rk_cert *ca);

/* Generates a key of type and a certificate for it signed by ca (ca NULL: self-signed CA). */
int	rk_issue_with_new_key(struct rk_cert **cert, struct rk_key **key,
	    const struct rk_cert_spec *spec, enum rk_key_type type,
	    const struct rk_signing_ca *ca, struct rk_err *err) RK_MUST_CHECK;

#endif
