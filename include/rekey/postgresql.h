/* The PostgreSQL service backend on libpq: verify-full login, pg_reload_conf(), plaintext check. */
#ifndef REKEY_POSTGRESQL_H
#define REKEY_POSTGRESQL_H

#include "rekey/service.h"

/*
 * The backend's table (name "postgresql"); a constant, never freed. libpq is thread-safe, so
 * different logins may be checked from different threads at once. What each call does:
 *
 * check_login: PQconnectStartParams with host, port, dbname (NULL: "postgres"), user, the
 *   password (never copied anywhere but into libpq), sslmode, sslrootcert = ca_file, sslcrl,
 *   sslcert/sslkey and ssl_min_protocol_version, driven by PQconnectPoll and poll() against
 *   one deadline of login->timeout for the whole exchange (queries included, sent
 *   non-blocking); at the deadline the message names what was awaited ("login as rekey: TLS
 *   handshake: no answer within 5 s"), and no cancel request is sent (libpq 15's PQcancel
 *   waits for the server without a timeout). The session reports PQsslAttribute's protocol,
 *   cipher and key_bits, and the SHA-256 fingerprint of the certificate the server
 *   presented, as `openssl x509 -fingerprint -sha256` prints it. A refused login or an
 *   unverifiable server is RK_E_REMOTE with libpq's words on one line.
 * reload_tls: SELECT pg_reload_conf() over such a login; *statement is that text. The server
 *   reports a bad new key only in its log and keeps serving the old certificate, so success
 *   here proves nothing: probe the fingerprint afterwards (LAB.md (f)).
 * check_reload_privilege: over such a login, SELECT pg_catalog.has_function_privilege(
 *   'pg_catalog.pg_reload_conf()', 'EXECUTE'): true for a superuser and for a grant to the
 *   role, to a role it inherits, or to PUBLIC, as the call itself would judge; the grant
 *   named otherwise is "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO <role>", the same as
 *   reload_tls's hint. A server older than 10 (whose reload keeps the old TLS files) is
 *   RK_E_USAGE.
 * check_plaintext_refused: logs in over TLS first (the login must work, else that error), then
 *   tries the same login with sslmode=disable and no password at all, so a password never
 *   crosses the wire in clear: *refused is false when the server lets the plaintext session
 *   in or asks it for a password, true when it turns it away before authentication; a server
 *   silent until the deadline has refused nothing, and that is an error. Each of the two
 *   connections has its own deadline.
 */
const struct rk_service_ops *rk_postgresql_ops(void);

#endif
