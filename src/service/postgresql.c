/* The PostgreSQL service backend on libpq (include/rekey/postgresql.h). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/postgresql.h"
#include "rekey/secret.h"
#include "rekey/service.h"

#include "service_int.h"

#define PG_RELOAD_SQL	"SELECT pg_reload_conf()"
/*
 * Whether the current user may run it, asked without running it. has_function_privilege()
 * answers as the call's own check would: true for a superuser, and counting a grant to the
 * role, to a role it inherits from, or to PUBLIC (PostgreSQL 15 documentation, 9.26, "Access
 * Privilege Inquiry Functions").
 */
#define PG_MAY_RELOAD_SQL \
	"SELECT pg_catalog.has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE')"
/* SQLSTATE insufficient_privilege (PostgreSQL documentation, appendix A). */
#define PG_SQLSTATE_NO_PRIVILEGE	"42501"

/* What libpq puts in front of each line of a connection error, and the severities. */
static const char *const pg_prefixes[] = {
	"connection to server at \"*\" (*), port * failed:",
	"connection to server at \"*\", port * failed:",
	"connection to server on socket \"*\" failed:",
	"FATAL:",
	"ERROR:",
	NULL,
};

enum pg_transport {
	PG_TLS,		/* as login->service->verify says */
	PG_PLAINTEXT,	/* sslmode=disable, and no password or client certificate */
};

static const char *
pg_sslmode(enum rk_sslmode m)
{
	switch (m) {
	case RK_SSLMODE_REQUIRE:
		return "require";
	case RK_SSLMODE_VERIFY_CA:
		return "verify-ca";
	case RK_SSLMODE_VERIFY_FULL:
		return "verify-full";
	}
	return "verify-full";	/* not reached: -Wswitch lists every mode above */
}

static const char *
pg_min_tls(enum rk_tls_version v)
{
	switch (v) {
	case RK_TLS_1_2:
		return "TLSv1.2";
	case RK_TLS_1_3:
		return "TLSv1.3";
	}
	return "TLSv1.3";	/* not reached */
}

/*
 * Waits until libpq's socket is ready to read (or to write), at most until deadline; false
 * when the deadline has passed. A failing poll counts as ready: libpq's next call then
 * meets the socket's real error and reports it.
 */
static bool
pg_wait_until(PGconn *conn, bool for_write, long long deadline)
{
	struct pollfd pfd = { .fd = PQsocket(conn), .events = for_write ? POLLOUT : POLLIN };
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - rk_clock_ms()) <= 0)
			return false;
		if ((n = poll(&pfd, 1, left > 1000 ? 1000 : (int)left)) > 0)
			return true;
		if (n == -1 && errno != EINTR)
			return true;
	}
}

/* What a connection still in status s is waiting for, for the message when time is up. */
static const char *
pg_phase(ConnStatusType s)
{
	switch (s) {
	case CONNECTION_STARTED:
	case CONNECTION_NEEDED:
	case CONNECTION_MADE:
		return "connect";
	case CONNECTION_SSL_STARTUP:
		return "TLS handshake";
	case CONNECTION_GSS_STARTUP:
		return "GSSAPI negotiation";
	case CONNECTION_AWAITING_RESPONSE:
		return "authentication";
	case CONNECTION_AUTH_OK:
	case CONNECTION_SETENV:
	case CONNECTION_CHECK_WRITABLE:
	case CONNECTION_CONSUME:
	case CONNECTION_CHECK_TARGET:
	case CONNECTION_CHECK_STANDBY:
		return "session start";
	default:		/* CONNECTION_OK, _BAD, or a state of a later libpq */
		return "login";
	}
}

/*
 * Drives a PQconnectStartParams connection to its end with poll() against deadline:
 * PQconnectdbParams would bound each wait by connect_timeout, so a server that sends one
 * byte a second would keep it going for hours. RK_E_REMOTE with *timed_out at the deadline,
 * RK_E_REMOTE when libpq gives up (its words are in PQerrorMessage).
 */
static int
pg_connect_until(PGconn *conn, long long deadline, bool *timed_out)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;	/* as the manual starts */

	*timed_out = false;
	if (PQstatus(conn) == CONNECTION_BAD)
		return RK_E_REMOTE;
	for (;;) {
		switch (st) {
		case PGRES_POLLING_OK:
			return 0;
		case PGRES_POLLING_FAILED:
			return RK_E_REMOTE;
		case PGRES_POLLING_READING:
		case PGRES_POLLING_WRITING:
			if (!pg_wait_until(conn, st == PGRES_POLLING_WRITING, deadline)) {
				*timed_out = true;
				return RK_E_REMOTE;
			}
			break;
		default:	/* PGRES_POLLING_ACTIVE, unused since libpq 7.x: call again */
			if (rk_clock_ms() >= deadline) {
				*timed_out = true;
				return RK_E_REMOTE;
			}
			break;
		}
		st = PQconnectPoll(conn);
	}
}

/* How a failed login ended, for the plaintext check: only a refusal proves anything. */
struct pg_failure {
	bool	asked_password;	/* the server asked for a password that was not given */
	bool	timed_out;	/* the deadline passed first */
};

/*
 * Connects as login says, done by deadline. On failure the message is libpq's, one line,
 * behind label (or what was still awaited when time ran out), and *why (may be NULL) says
 * how it ended; the connection is always finished here, so *out is set only on success, and
 * then it is non-blocking.
 */
static int
pg_open(PGconn **out, const struct rk_service_login *login, enum pg_transport how,
    const char *label, long long deadline, struct pg_failure *why, struct rk_err *err)
{
	const struct rk_service *svc = login->service;
	const char *keys[24], *values[24];
	char port[16], timeout[16], user_timeout[24], text[SVC_TEXT_MAX];
	PGconn *conn = NULL;
	bool timed_out = false;
	size_t n = 0;
	int r;

	*out = NULL;
	(void)snprintf(port, sizeof(port), "%d", svc->connect.port);
	(void)snprintf(timeout, sizeof(timeout), "%d", login->timeout);
	/* Bounds each send too, so a server that stops answering mid-query cannot hang us. */
	(void)snprintf(user_timeout, sizeof(user_timeout), "%d", login->timeout * 1000);

#define KV(k, v)	do { keys[n] = (k); values[n] = (v); n++; } while (0)
	KV("host", svc->connect.address);
	KV("port", port);
	KV("dbname", svc->connect.dbname != NULL ? svc->connect.dbname : "postgres");
	KV("user", svc->connect.user);
	KV("connect_timeout", timeout);
	KV("tcp_user_timeout", user_timeout);
	KV("application_name", "rekey");
	/* Only TLS or nothing: no GSSAPI encryption attempt before it, whatever the build. */
	KV("gssencmode", "disable");
	/*
	 * A password comes from the login or not at all, never from ~/.pgpass: a path that
	 * cannot exist (stat fails with ENOTDIR, which libpq skips without a word; /dev/null
	 * itself makes it print a warning).
	 */
	KV("passfile", "/dev/null/none");
	if (how == PG_TLS) {
		KV("sslmode", pg_sslmode(svc->verify.sslmode));
		KV("sslrootcert", login->ca_file);
		KV("ssl_min_protocol_version", pg_min_tls(svc->verify.min_tls));
		if (login->crl_file != NULL)
			KV("sslcrl", login->crl_file);
		if (login->cert_file != NULL) {
			KV("sslcert", login->cert_file);
			KV("sslkey", login->key_file);
		}
		if (login->password != NULL && login->password->ptr != NULL)
			KV("password", (const char *)login->password->ptr);
	} else
		KV("sslmode", "disable");
#undef KV
	keys[n] = NULL;
	values[n] = NULL;

	if ((conn = PQconnectStartParams(keys, values, 0)) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if (pg_connect_until(conn, deadline, &timed_out) != 0 && timed_out) {
		if (why != NULL)
			why->timed_out = true;
		r = rk_fail(err, RK_E_REMOTE, "%s: login as %s%s: %s: no answer within %d s", label,
		    svc->connect.user, how == PG_PLAINTEXT ? " without TLS" : "",
		    pg_phase(PQstatus(conn)), login->timeout);
		goto out;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		if (why != NULL)
			why->asked_password = PQconnectionNeedsPassword(conn) != 0;
		svc_one_line(text, sizeof(text), PQerrorMessage(conn), pg_prefixes);
		r = rk_fail(err, RK_E_REMOTE, "%s: login as %s%s: %s", label, svc->connect.user,
		    how == PG_PLAINTEXT ? " without TLS" : "", text);
		goto out;
	}
	/* sslmode=require and up never fall back; this only guards against a libpq surprise. */
	if (how == PG_TLS && !PQsslInUse(conn)) {
		r = rk_fail(err, RK_E_INTERNAL, "%s: libpq logged in without TLS", label);
		goto out;
	}
	/* Queries too wait only in poll() against the deadline (pg_exec_until). */
	if (PQsetnonblocking(conn, 1) != 0) {
		svc_one_line(text, sizeof(text), PQerrorMessage(conn), pg_prefixes);
		r = rk_fail(err, RK_E_INTERNAL, "%s: libpq: %s", label, text);
		goto out;
	}
	*out = conn;
	conn = NULL;
	r = 0;
 out:
	PQfinish(conn);		/* NULL is fine; libpq wipes the password it copied */
	return r;
}

/* The SHA-256 of the certificate the server presented, "AB:CD:...". */
static int
pg_peer_fingerprint(char out[96], PGconn *conn, const char *label, struct rk_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	X509 *peer = NULL;
	SSL *ssl;
	int r;

	out[0] = '\0';
	if ((ssl = PQsslStruct(conn, "OpenSSL")) == NULL) {
		r = rk_fail(err, RK_E_INTERNAL, "%s: libpq gives no OpenSSL session", label);
		goto out;
	}
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL) {
		r = rk_fail(err, RK_E_REMOTE, "%s: the server presented no certificate", label);
		goto out;
	}
	if (X509_digest(peer, EVP_sha256(), md, &mdlen) != 1 || mdlen * 3 > 96) {
		r = rk_fail(err, RK_E_CRYPTO, "%s: cannot hash the server certificate", label);
		goto out;
	}
	for (i = 0; i < mdlen; i++) {
		out[3 * i] = hex[md[i] >> 4];
		out[3 * i + 1] = hex[md[i] & 0x0f];
		out[3 * i + 2] = i + 1 < mdlen ? ':' : '\0';
	}
	r = 0;
 out:
	X509_free(peer);
	return r;
}

static int
pg_read_session(struct rk_tls_session *out, PGconn *conn, const char *label,
    struct rk_err *err)
{
	const char *protocol = PQsslAttribute(conn, "protocol");
	const char *cipher = PQsslAttribute(conn, "cipher");
	const char *bits = PQsslAttribute(conn, "key_bits");
	char *end = NULL;
	long v;

	memset(out, 0, sizeof(*out));
	if (protocol == NULL || cipher == NULL || bits == NULL)
		return rk_fail(err, RK_E_INTERNAL, "%s: libpq reports no TLS session", label);
	(void)snprintf(out->protocol, sizeof(out->protocol), "%s", protocol);
	(void)snprintf(out->cipher, sizeof(out->cipher), "%s", cipher);
	errno = 0;
	v = strtol(bits, &end, 10);
	if (errno != 0 || end == bits || *end != '\0' || v < 0 || v > 65536)
		return rk_fail(err, RK_E_INTERNAL, "%s: libpq reports key_bits \"%.16s\"", label,
		    bits);
	out->cipher_bits = (int)v;
	return pg_peer_fingerprint(out->fingerprint, conn, label, err);
}

/*
 * Runs sql on a non-blocking connection and waits for its answer until deadline, the one of
 * the whole exchange. *out is the first result; the caller clears it. At the deadline no
 * cancel request is sent: libpq 15's PQcancel connects and waits for the server's answer
 * with no timeout at all, so a stalled server would stall us there instead. Closing the
 * connection (the caller's PQfinish) is what ends the session.
 */
static int
pg_exec_until(PGresult **out, PGconn *conn, const char *sql, long long deadline, int timeout,
    const char *label, struct rk_err *err)
{
	char text[SVC_TEXT_MAX];
	PGresult *res = NULL, *first = NULL;
	int flushed, r;

	*out = NULL;
	if (!PQsendQuery(conn, sql))
		goto failed;
	while ((flushed = PQflush(conn)) == 1)
		if (!pg_wait_until(conn, true, deadline))
			goto timed_out;
	if (flushed == -1)
		goto failed;
	/* Drain every result, keeping the first, so the connection is left idle. */
	for (;;) {
		while (PQisBusy(conn)) {
			if (!pg_wait_until(conn, false, deadline))
				goto timed_out;
			if (!PQconsumeInput(conn))
				goto failed;
		}
		if ((res = PQgetResult(conn)) == NULL)
			break;
		if (first == NULL)
			first = res;
		else
			PQclear(res);
	}
	if (first == NULL)
		goto failed;
	*out = first;
	first = NULL;
	r = 0;
	goto out;
 timed_out:
	r = rk_fail(err, RK_E_REMOTE, "%s: %s: no answer within %d s", label, sql, timeout);
	goto out;
 failed:
	svc_one_line(text, sizeof(text), PQerrorMessage(conn), pg_prefixes);
	r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s", label, sql, text);
 out:
	PQclear(first);
	return r;
}

/* Writes name as SQL would need it in a GRANT: bare when it is a plain lower-case word. */
static void
pg_role_for_sql(char *out, size_t size, const char *name)
{
	bool plain = name[0] != '\0' && !(name[0] >= '0' && name[0] <= '9') && name[0] != '$';
	size_t i, len = 0;

	for (i = 0; name[i] != '\0' && plain; i++)
		plain = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '_' || name[i] == '$';
	if (plain) {
		(void)snprintf(out, size, "%s", name);
		return;
	}
	if (size < 3) {
		if (size > 0)
			out[0] = '\0';
		return;
	}
	out[len++] = '"';
	for (i = 0; name[i] != '\0' && len + 3 < size; i++) {
		if (name[i] == '"')
			out[len++] = '"';
		out[len++] = name[i];
	}
	out[len++] = '"';
	out[len] = '\0';
}

/* The GRANT that lets user run pg_reload_conf(), for the hints of both reload calls. */
static void
pg_reload_grant(char out[SVC_GRANT_MAX], const char *user)
{
	char role[SVC_GRANT_MAX - 64];

	pg_role_for_sql(role, sizeof(role), user);
	(void)snprintf(out, SVC_GRANT_MAX, "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO %s",
	    role);
}

/* The server's own words for a failed statement, on one line. */
static void
pg_result_text(char out[SVC_TEXT_MAX], const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	svc_one_line(out, SVC_TEXT_MAX, msg != NULL ? msg : PQresultErrorMessage(res),
	    pg_prefixes);
}

static int
pg_check_login(struct rk_tls_session *out, const struct rk_service_login *login,
    struct rk_err *err)
{
	char label[SVC_LABEL_MAX];
	PGconn *conn = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	svc_label(label, login != NULL ? login->service : NULL, "postgresql");
	if ((r = svc_check_login(login, RK_SERVICE_POSTGRESQL, label, err)) != 0 ||
	    (r = pg_open(&conn, login, PG_TLS, label, svc_deadline(login->timeout), NULL,
	    err)) != 0 ||
	    (r = pg_read_session(out, conn, label, err)) != 0)
		goto out;
	r = 0;
 out:
	PQfinish(conn);
	return r;
}

static int
pg_reload_tls(const struct rk_service_login *login, const char **statement, struct rk_err *err)
{
	char label[SVC_LABEL_MAX], text[SVC_TEXT_MAX], grant[SVC_GRANT_MAX];
	const char *state, *value;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	long long deadline;
	int r;

	if (statement != NULL)
		*statement = PG_RELOAD_SQL;
	svc_label(label, login != NULL ? login->service : NULL, "postgresql");
	if ((r = svc_check_login(login, RK_SERVICE_POSTGRESQL, label, err)) != 0)
		goto out;
	deadline = svc_deadline(login->timeout);	/* one for the login and the query */
	if ((r = pg_open(&conn, login, PG_TLS, label, deadline, NULL, err)) != 0 ||
	    (r = pg_exec_until(&res, conn, PG_RELOAD_SQL, deadline, login->timeout, label,
	    err)) != 0)
		goto out;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		pg_result_text(text, res);
		if (state != NULL && strcmp(state, PG_SQLSTATE_NO_PRIVILEGE) == 0) {
			pg_reload_grant(grant, login->service->connect.user);
			r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s (as superuser: %s)", label,
			    PG_RELOAD_SQL, text, grant);
		} else
			r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s", label, PG_RELOAD_SQL, text);
		goto out;
	}
	/* pg_reload_conf() returns false only when it could not signal the postmaster. */
	if (PQntuples(res) != 1 || PQnfields(res) != 1 ||
	    (value = PQgetvalue(res, 0, 0)) == NULL || strcmp(value, "t") != 0) {
		r = rk_fail(err, RK_E_REMOTE, "%s: %s did not return true", label, PG_RELOAD_SQL);
		goto out;
	}
	r = 0;
 out:
	PQclear(res);
	PQfinish(conn);
	return r;
}

static int
pg_check_reload_privilege(bool *may, char *grant, size_t grant_size, const char **statement,
    const struct rk_service_login *login, struct rk_err *err)
{
	char label[SVC_LABEL_MAX], text[SVC_TEXT_MAX], wanted[SVC_GRANT_MAX];
	const char *value;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	long long deadline;
	int r, version;

	svc_clear_privilege_answer(may, grant, grant_size);
	if (statement != NULL)
		*statement = PG_RELOAD_SQL;
	svc_label(label, login != NULL ? login->service : NULL, "postgresql");
	if ((r = svc_check_login(login, RK_SERVICE_POSTGRESQL, label, err)) != 0)
		goto out;
	deadline = svc_deadline(login->timeout);	/* one for the login and the query */
	if ((r = pg_open(&conn, login, PG_TLS, label, deadline, NULL, err)) != 0)
		goto out;
	/*
	 * Older servers keep their TLS files until a restart, whatever a reload says (release
	 * notes of PostgreSQL 10: "Allow SSL configuration to be updated during configuration
	 * reload").
	 */
	if ((version = PQserverVersion(conn)) < 100000) {
		r = rk_fail(err, RK_E_USAGE, "%s: cannot reload TLS without a restart on "
		    "PostgreSQL %d.%d (pg_reload_conf() reloads it from PostgreSQL 10)", label,
		    version / 10000, version / 100 % 100);
		goto out;
	}
	if ((r = pg_exec_until(&res, conn, PG_MAY_RELOAD_SQL, deadline, login->timeout, label,
	    err)) != 0)
		goto out;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_result_text(text, res);
		r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s", label, PG_MAY_RELOAD_SQL, text);
		goto out;
	}
	if (PQntuples(res) != 1 || PQnfields(res) != 1 ||
	    (value = PQgetvalue(res, 0, 0)) == NULL ||
	    (strcmp(value, "t") != 0 && strcmp(value, "f") != 0)) {
		r = rk_fail(err, RK_E_REMOTE, "%s: %s did not return true or false", label,
		    PG_MAY_RELOAD_SQL);
		goto out;
	}
	*may = strcmp(value, "t") == 0;
	if (!*may) {
		pg_reload_grant(wanted, login->service->connect.user);
		if ((r = svc_give_grant(grant, grant_size, wanted, label, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	PQclear(res);
	PQfinish(conn);
	return r;
}

static int
pg_check_plaintext_refused(bool *refused, const struct rk_service_login *login,
    struct rk_err *err)
{
	char label[SVC_LABEL_MAX];
	struct rk_err plain = { 0 };
	struct pg_failure why = { false, false };
	PGconn *conn = NULL;
	int r;

	*refused = false;
	svc_label(label, login != NULL ? login->service : NULL, "postgresql");
	/* Only a server that accepts this login over TLS can prove anything by refusing it. */
	if ((r = svc_check_login(login, RK_SERVICE_POSTGRESQL, label, err)) != 0 ||
	    (r = pg_open(&conn, login, PG_TLS, label, svc_deadline(login->timeout), NULL,
	    err)) != 0)
		goto out;
	PQfinish(conn);
	conn = NULL;

	/*
	 * The plaintext attempt offers no password: a server that asks for one has accepted the
	 * plaintext session already (PQconnectionNeedsPassword), and the real password must
	 * never cross the wire unencrypted to find that out. pg_hba.conf "reject" or a missing
	 * host line turns the session away before authentication ("... no encryption"). A
	 * server that says nothing until the deadline has refused nothing: that is an error.
	 */
	r = pg_open(&conn, login, PG_PLAINTEXT, label, svc_deadline(login->timeout), &why,
	    &plain);
	if (r == 0 || (r == RK_E_REMOTE && why.asked_password))
		*refused = false;
	else if (r == RK_E_REMOTE && !why.timed_out)
		*refused = true;
	else {
		r = rk_fail(err, r, "%s", plain.msg);
		goto out;
	}
	r = 0;
 out:
	PQfinish(conn);
	return r;
}

static const struct rk_service_ops pg_ops = {
	.name = "postgresql",
	.check_login = pg_check_login,
	.reload_tls = pg_reload_tls,
	.check_reload_privilege = pg_check_reload_privilege,
	.check_plaintext_refused = pg_check_plaintext_refused,
};

const struct rk_service_ops *
rk_postgresql_ops(void)
{
	return &pg_ops;
}
