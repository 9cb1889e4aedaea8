/*
 * A service judged as its clients see it: rekey's TLS probe (chain up to the CA, name, TLS
 * version, days left, older handshakes refused), then a login through the service's backend
 * with full verification, and the proof that a login without TLS is refused. Changes
 * nothing. `rekey verify` prints verdicts; the engine's verify steps decide on them.
 */
#ifndef REKEY_VERDICT_H
#define REKEY_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/model.h"
#include "rekey/probe.h"
#include "rekey/service.h"

struct rk_verdict {
	const struct rk_service	*service;
	struct rk_probe_result	 probe;
	bool			 reached;
	char			 error[512];	/* why the probe failed, when it did */
	bool			 old_tls_refused;
	bool			 old_tls_checked;
	char			 old_tls_error[512];
	long			 days_left;
	bool			 version_ok;
	bool			 login_checked;		/* connect.user is set */
	struct rk_tls_session	 login;
	char			 login_error[512];
	bool			 plaintext_checked;	/* and verify.require_tls */
	bool			 plaintext_refused;
	bool			 ok;
	char			 problems[1024];	/* what failed, "; "-separated, one line */
};

struct rk_verdict_request {
	const struct rk_service		*service;
	const struct rk_service_ops	*ops;		/* NULL: no login is checked */
	const char			*ca_file;	/* what clients trust */
	const char			*crl_file;	/* or NULL */
	/* ca_file's subject (rk_verdict_ca_subject), so a server on another CA is named
	 * for what it is; "" when unknown. */
	const char			*ca_subject;
	/* The client certificate to log in with, instead of connect.sslcert/sslkey (one the
	 * run just issued); NULL: those. */
	const char			*cert_file;
	const char			*key_file;
	/* The leaf is signed by an intermediate, which the server must send after it: a
	 * server that sends its leaf alone fails, the missing intermediate named. */
	bool				 expect_intermediates;
};

/* The probe of a service as its clients reach it (connect.address and port, the name they
 * check, the host's timeout), judged against ca_file and crl_file (either may be NULL). */
void	rk_verdict_probe_request(struct rk_probe_request *req, const struct rk_service *s,
	    const char *ca_file, const char *crl_file);

/* Judges one service into *out (zeroed first). Thread-safe for different services. */
void	rk_verdict_check(struct rk_verdict *out, const struct rk_verdict_request *req);
/* The subject of the certificate at path, "" when it cannot be read. */
void	rk_verdict_ca_subject(char *buf, size_t size, const char *path);
/* What a passing verdict proved of the name: only verify-full checks it. */
const char *rk_verdict_what_was_verified(enum rk_sslmode mode);

#endif
