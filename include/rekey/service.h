/* Database services: log in as a verify-full client would, reload TLS without a restart. */
#ifndef REKEY_SERVICE_H
#define REKEY_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/secret.h"

/* What a client saw of the TLS session it logged in over. */
struct rk_tls_session {
	char	protocol[16];		/* "TLSv1.3" */
	char	cipher[64];		/* "TLS_AES_256_GCM_SHA384" */
	int	cipher_bits;
	char	fingerprint[96];	/* SHA-256 of the leaf the server presented, "AB:CD:..." */
};

/* How to reach one service, with everything a client needs; all borrowed. */
struct rk_service_login {
	const struct rk_service	*service;	/* address, port, dbname, user, verify settings */
	const char		*ca_file;	/* the trust bundle clients use (required) */
	const char		*crl_file;	/* checked by the client when set */
	const char		*cert_file;	/* client certificate for certificate login, or NULL */
	const char		*key_file;
	const struct rk_secret	*password;	/* or NULL */
	/* Seconds for each exchange (one connection: connect, TLS handshake, login and its
	 * statements), one deadline for all of it, so a server that trickles cannot stretch it. */
	int			 timeout;
};

/*
 * A backend per database kind. Every function returns 0 or a negative enum rk_code with a
 * message naming the cause as the server or client library said it (translated at this
 * border), never a password. Thread-safe for different logins.
 */
struct rk_service_ops {
	const char	*name;		/* "postgresql", "mysql" */
	/* Logs in with full verification per login->service->verify (sslmode, min_tls) and
	 * reports the session; fails when the server cannot be verified or refuses the login. */
	int	(*check_login)(struct rk_tls_session *out, const struct rk_service_login *login,
		    struct rk_err *err);
	/* Makes the server re-read its certificate, key, CA and CRL files without a restart:
	 * pg_reload_conf(), or FLUSH SSL (MariaDB 10.4+) / ALTER INSTANCE RELOAD TLS (MySQL
	 * 8.0.16+) chosen by server version. *statement (may be NULL) gets what was run. A
	 * reload the server reports as failed is an error with the server's words; PostgreSQL
	 * reports nothing, so the caller must probe for the new certificate. */
	int	(*reload_tls)(const struct rk_service_login *login, const char **statement,
		    struct rk_err *err);
	/*
	 * Asks the server (never by reloading) whether this login may make it reload TLS:
	 * PostgreSQL: superuser, or EXECUTE on pg_catalog.pg_reload_conf(); MariaDB: RELOAD
	 * (FLUSH SSL, 10.4+); MySQL: CONNECTION_ADMIN (ALTER INSTANCE RELOAD TLS, 8.0.16+), as
	 * the server version needs. Sets *may; when it may not, grant gets the statement that
	 * would allow it ("GRANT EXECUTE ON FUNCTION pg_reload_conf() TO rkclient", "GRANT RELOAD
	 * ON *.* TO 'rknoreload'@'%'"), and *statement (may be NULL) the reload statement the
	 * server would be sent. An error only when the question could not be asked (login
	 * refused, server unreachable, a server too old to reload TLS without a restart).
	 * grant is "" when it may; a GRANT that does not fit grant_size is RK_E_INTERNAL,
	 * never cut short.
	 */
	int	(*check_reload_privilege)(bool *may, char *grant, size_t grant_size,
		    const char **statement, const struct rk_service_login *login,
		    struct rk_err *err);
	/* Sets *refused when a login without TLS is refused (as require_tls wants). */
	int	(*check_plaintext_refused)(bool *refused, const struct rk_service_login *login,
		    struct rk_err *err);
};

#endif
