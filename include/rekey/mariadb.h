/* The MariaDB/MySQL service backend on Connector/C: verified login, FLUSH SSL, plaintext check. */
#ifndef REKEY_MARIADB_H
#define REKEY_MARIADB_H

#include "rekey/err.h"
#include "rekey/service.h"

/*
 * mysql_library_init(): once per process, before any login and before worker threads start
 * (Connector/C documents it as not thread-safe). rk_mariadb_global_cleanup() after the last.
 */
int	rk_mariadb_global_init(struct rk_err *err) RK_MUST_CHECK;
void	rk_mariadb_global_cleanup(void);

/*
 * The backend's table (name "mysql"); a constant, never freed. Thread-safe for different
 * logins once rk_mariadb_global_init() has run.
 *
 * Every call runs on the non-blocking API (MYSQL_OPT_NONBLOCK, mysql_real_connect_start and
 * _cont, mysql_real_query_start and _cont, ...) and waits only in poll(), against one
 * deadline of login->timeout per connection, login and statements together: Connector/C's
 * own timeouts bound each read, which a server sending a byte a second never trips. At the
 * deadline the socket is shut (mariadb_cancel) and the message says what was awaited
 * ("login as rekey: connect or greeting: no answer within 5 s"). What each call does:
 *
 * check_login: TCP only, TLS enforced (never a silent fallback to plaintext), the CA, CRL and
 *   client certificate of the login, TLS 1.2+ or 1.3 only. verify-ca and verify-full both
 *   set MYSQL_OPT_SSL_VERIFY_SERVER_CERT, which in Connector/C 3.3 checks the chain AND the
 *   host name: verify-ca is therefore as strict as verify-full here (stricter than asked,
 *   never weaker); a server whose certificate lacks the address fails with Connector/C's
 *   "Validation of SSL server certificate failed". The session gives protocol and cipher;
 *   cipher_bits is 0 and fingerprint is "" because Connector/C 3.3 exposes neither (its only
 *   fingerprint is the SHA-1 one it checks against MARIADB_OPT_TLS_PEER_FP): the TLS probe
 *   (src/verify/) reports the served certificate.
 * reload_tls: by server version: MariaDB 10.4+ FLUSH SSL, MySQL 8.0.16+ ALTER INSTANCE
 *   RELOAD TLS, anything older RK_E_USAGE. A reload the server refuses (error 1105 "Failed
 *   to refresh SSL, error: Unable to get private key") is RK_E_REMOTE with its words; a
 *   missing privilege (1227) names the GRANT that fixes it.
 * check_reload_privilege: picks the statement as reload_tls does (too old: RK_E_USAGE), then
 *   reads SHOW GRANTS, which lists the grants in force for the session: the account's own,
 *   its enabled roles' (MariaDB: the default role and the roles it holds; MySQL 8: the
 *   active roles) and PUBLIC's. The login may reload when a line "GRANT <list> ON *.* TO"
 *   lists RELOAD (MariaDB), CONNECTION_ADMIN (MySQL; SUPER does not do), or ALL PRIVILEGES;
 *   a list with a quote, backtick or parenthesis never counts. information_schema's
 *   USER_PRIVILEGES cannot tell: it shows no role's and no PUBLIC's privileges. The grant
 *   named otherwise is reload_tls's hint: "GRANT RELOAD ON *.* TO 'user'@'host'" with the
 *   account of CURRENT_USER() (CONNECTION_ADMIN on MySQL).
 * check_plaintext_refused: logs in over TLS first (the login must work, else that error),
 *   then the same login without TLS, with only challenge-response authentication plugins
 *   allowed, so no password ever crosses the wire in clear: *refused is true when the server
 *   turns the plaintext login away with an error of its own (MariaDB says 1045 "Access
 *   denied" when require_secure_transport is ON), false when it lets it in.
 */
const struct rk_service_ops *rk_mariadb_ops(void);

#endif
