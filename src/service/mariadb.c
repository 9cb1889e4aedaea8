/* The MariaDB/MySQL service backend on Connector/C (include/rekey/mariadb.h). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mysql.h>
#include <errmsg.h>

#include "rekey/err.h"
#include "rekey/mariadb.h"
#include "rekey/model.h"
#include "rekey/secret.h"
#include "rekey/service.h"

#include "service_int.h"

/* Server error numbers (mysqld_error.h; the same in MariaDB and MySQL). */
#define MY_ER_UNKNOWN_ERROR		1105	/* FLUSH SSL: "Failed to refresh SSL, ..." */
#define MY_ER_SPECIFIC_ACCESS_DENIED	1227	/* "you need ... the RELOAD privilege(s)" */

/*
 * The grants in force for this session: the account's own, those of the roles it has
 * enabled (MariaDB: the default role set at login and every role that role holds; MySQL 8:
 * the active roles) and PUBLIC's (MariaDB 10.11). information_schema.USER_PRIVILEGES shows
 * an account's own global privileges only, never a role's or PUBLIC's, so it would miss a
 * RELOAD that FLUSH SSL honours; and for an account that may read the mysql schema it lists
 * every account.
 */
#define MY_GRANTS_SQL	"SHOW GRANTS"

/* Errors Connector/C raises itself, as opposed to errors the server sent. */
#define MY_IS_CLIENT_ERROR(e)	((e) >= CR_MIN_ERROR && (e) <= CR_MAX_ERROR)

/*
 * Challenge-response plugins only, for the plaintext attempt: none of them sends the
 * password itself (mysql_clear_password and dialog would, without TLS).
 */
#define MY_PLAINTEXT_AUTH	"mysql_native_password,client_ed25519,caching_sha2_password"

enum my_transport {
	MY_TLS,
	MY_PLAINTEXT,
};

/*
 * One exchange with the server (connect, handshake, login, each statement) and its one
 * deadline, on CLOCK_MONOTONIC in ms. Connector/C's own timeouts bound each read, so a
 * server that sends a byte a second would never trip them: every call here runs through the
 * non-blocking API (MYSQL_OPT_NONBLOCK, the _start/_cont pairs) and waits only in poll().
 */
struct my_exchange {
	long long	 deadline;
	int		 timeout;	/* seconds, for messages */
	const char	*label;
};

static struct my_exchange
my_exchange_of(const struct rk_service_login *login, const char *label)
{
	struct my_exchange x = { svc_deadline(login->timeout), login->timeout, label };

	return x;
}

/*
 * Waits for what a suspended _start/_cont call asked (*status, MYSQL_WAIT_*), and sets
 * *status to what happened, for the next _cont. Connector/C's own timeout
 * (MYSQL_WAIT_TIMEOUT) is honoured when it comes first. Returns false at the deadline; the
 * caller then abandons the call (my_abandon).
 */
static bool
my_wait(int *status, MYSQL *m, const struct my_exchange *x)
{
	struct pollfd pfd = { .fd = (int)mysql_get_socket(m), .events = 0 };
	long long left, lib = -1;
	int n, wait;

	if ((*status & MYSQL_WAIT_READ) != 0)
		pfd.events |= POLLIN;
	if ((*status & MYSQL_WAIT_WRITE) != 0)
		pfd.events |= POLLOUT;
	if ((*status & MYSQL_WAIT_EXCEPT) != 0)
		pfd.events |= POLLPRI;
	if ((*status & MYSQL_WAIT_TIMEOUT) != 0)
		lib = (long long)mysql_get_timeout_value_ms(m);
	for (;;) {
		if ((left = x->deadline - rk_clock_ms()) <= 0)
			return false;
		wait = (int)(lib >= 0 && lib < left ? lib : left > 1000 ? 1000 : left);
		if ((n = poll(&pfd, 1, wait)) > 0)
			break;
		if (n == 0 && lib >= 0 && wait == (int)lib) {
			*status = MYSQL_WAIT_TIMEOUT;	/* the library's own timeout is up */
			return true;
		}
		if (n == -1 && errno != EINTR) {
			/* Let the library meet the socket's error itself. */
			*status = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE;
			return true;
		}
	}
	*status = 0;
	if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
		*status |= MYSQL_WAIT_READ;
	if ((pfd.revents & (POLLOUT | POLLHUP | POLLERR)) != 0)
		*status |= MYSQL_WAIT_WRITE;
	if ((pfd.revents & POLLPRI) != 0)
		*status |= MYSQL_WAIT_EXCEPT;
	return true;
}

/*
 * Gives up a call suspended at the deadline: mariadb_cancel() shuts the socket down, so the
 * COM_QUIT that mysql_close() then tries fails at once instead of waiting on the server
 * (in the middle of a TLS handshake it would try to finish the handshake first).
 */
static int
my_abandon(MYSQL *m, const struct my_exchange *x, const char *what, struct rk_err *err)
{
	(void)mariadb_cancel(m);	/* 1 when no socket is open yet: nothing to shut */
	return rk_fail(err, RK_E_REMOTE, "%s: %s: no answer within %d s", x->label, what,
	    x->timeout);
}

int
rk_mariadb_global_init(struct rk_err *err)
{
	if (mysql_library_init(0, NULL, NULL) != 0)
		return rk_fail(err, RK_E_INTERNAL, "mysql_library_init failed");
	return 0;
}

void
rk_mariadb_global_cleanup(void)
{
	mysql_library_end();
}

static const char *
my_tls_versions(enum rk_tls_version v)
{
	switch (v) {
	case RK_TLS_1_2:
		return "TLSv1.2,TLSv1.3";
	case RK_TLS_1_3:
		return "TLSv1.3";
	}
	return "TLSv1.3";	/* not reached: -Wswitch lists every version above */
}

static bool
my_verifies_server(enum rk_sslmode m)
{
	switch (m) {
	case RK_SSLMODE_REQUIRE:
		return false;
	case RK_SSLMODE_VERIFY_CA:	/* Connector/C checks the name too: see mariadb.h */
	case RK_SSLMODE_VERIFY_FULL:
		return true;
	}
	return true;	/* not reached */
}

/*
 * Runs sql and reads its result (*res, NULL for a statement without rows), done by x's
 * deadline. Returns RK_E_REMOTE, said, only at the deadline; a statement the server refused
 * sets *failed and leaves mysql_errno()/mysql_error() for the caller to name.
 */
static int
my_query_until(MYSQL_RES **res, bool *failed, MYSQL *m, const char *sql,
    const struct my_exchange *x, struct rk_err *err)
{
	int rc = 0, status;

	*res = NULL;
	*failed = false;
	status = mysql_real_query_start(&rc, m, sql, (unsigned long)strlen(sql));
	while (status != 0) {
		if (!my_wait(&status, m, x))
			return my_abandon(m, x, sql, err);
		status = mysql_real_query_cont(&rc, m, status);
	}
	if (rc != 0) {
		*failed = true;
		return 0;
	}
	status = mysql_store_result_start(res, m);
	while (status != 0) {
		if (!my_wait(&status, m, x))
			return my_abandon(m, x, sql, err);
		status = mysql_store_result_cont(res, m, status);
	}
	*failed = *res == NULL && mysql_errno(m) != 0;
	return 0;
}

/* Sets the options of a login; Connector/C copies every string it is given. */
static int
my_set_options(MYSQL *m, const struct rk_service_login *login, enum my_transport how,
    const char *label, struct rk_err *err)
{
	const struct rk_service *svc = login->service;
	unsigned int protocol = MYSQL_PROTOCOL_TCP, timeout = (unsigned int)login->timeout;
	my_bool yes = 1, no = 0;
	int bad = 0;

	bad |= mysql_optionsv(m, MYSQL_OPT_NONBLOCK, 0);	/* default stack size */
	bad |= mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol);
	bad |= mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	bad |= mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	bad |= mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	if (how == MY_TLS) {
		/* TLS or no session at all: never a silent fallback to plaintext. */
		bad |= mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &yes);
		bad |= mysql_optionsv(m, MYSQL_OPT_SSL_CA, login->ca_file);
		if (login->crl_file != NULL)
			bad |= mysql_optionsv(m, MYSQL_OPT_SSL_CRL, login->crl_file);
		if (login->cert_file != NULL) {
			bad |= mysql_optionsv(m, MYSQL_OPT_SSL_CERT, login->cert_file);
			bad |= mysql_optionsv(m, MYSQL_OPT_SSL_KEY, login->key_file);
		}
		bad |= mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
		    my_verifies_server(svc->verify.sslmode) ? &yes : &no);
		bad |= mysql_optionsv(m, MARIADB_OPT_TLS_VERSION,
		    my_tls_versions(svc->verify.min_tls));
	} else {
		/*
		 * Connector/C 3.3 uses TLS only when an SSL option is set; ENFORCE off says so
		 * explicitly for later versions too, and my_open() checks that no cipher was
		 * negotiated before it believes a plaintext session.
		 */
		bad |= mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &no);
		bad |= mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &no);
		bad |= mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH, MY_PLAINTEXT_AUTH);
	}
	if (bad != 0)
		return rk_fail(err, RK_E_INTERNAL, "%s: Connector/C refused an option: %s", label,
		    mysql_error(m));
	return 0;
}

/*
 * Connects as login says, done by x's deadline. On failure the message is Connector/C's (or
 * the server's), one line, behind label, and *server_said (may be NULL) is true when the
 * server itself turned the login away (a server error number, not a client one). *out is
 * set only on success.
 */
static int
my_open(MYSQL **out, const struct rk_service_login *login, enum my_transport how,
    const struct my_exchange *x, bool *server_said, struct rk_err *err)
{
	const struct rk_service *svc = login->service;
	const char *password = NULL, *label = x->label;
	char text[SVC_TEXT_MAX], what[200];
	MYSQL *m = NULL, *ret = NULL;
	unsigned int code;
	int r, status;

	*out = NULL;
	if (server_said != NULL)
		*server_said = false;
	if ((m = mysql_init(NULL)) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if ((r = my_set_options(m, login, how, label, err)) != 0)
		goto out;
	if (login->password != NULL && login->password->ptr != NULL)
		password = (const char *)login->password->ptr;
	status = mysql_real_connect_start(&ret, m, svc->connect.address, svc->connect.user,
	    password, svc->connect.dbname, (unsigned int)svc->connect.port, NULL, 0);
	while (status != 0) {
		if (!my_wait(&status, m, x)) {
			/* The server's version is known once its greeting has been read. */
			(void)snprintf(what, sizeof(what), "login as %s%s: %s", svc->connect.user,
			    how == MY_PLAINTEXT ? " without TLS" : "",
			    mysql_get_server_info(m) == NULL ? "connect or greeting" :
			    how == MY_TLS ? "TLS handshake or authentication" : "authentication");
			r = my_abandon(m, x, what, err);
			goto out;
		}
		status = mysql_real_connect_cont(&ret, m, status);
	}
	if (ret == NULL) {
		code = mysql_errno(m);
		if (server_said != NULL)
			*server_said = code != 0 && !MY_IS_CLIENT_ERROR(code);
		svc_one_line(text, sizeof(text), mysql_error(m), NULL);
		r = rk_fail(err, RK_E_REMOTE, "%s: login as %s%s: %s (%u)", label,
		    svc->connect.user, how == MY_PLAINTEXT ? " without TLS" : "", text, code);
		goto out;
	}
	if ((how == MY_TLS) != (mysql_get_ssl_cipher(m) != NULL)) {
		r = rk_fail(err, RK_E_INTERNAL, "%s: Connector/C logged in %s TLS against the "
		    "options", label, how == MY_TLS ? "without" : "with");
		goto out;
	}
	*out = m;
	m = NULL;
	r = 0;
 out:
	mysql_close(m);		/* NULL is fine */
	return r;
}

static int
my_read_session(struct rk_tls_session *out, MYSQL *m, const char *label, struct rk_err *err)
{
	const char *version = NULL, *cipher = mysql_get_ssl_cipher(m);

	memset(out, 0, sizeof(*out));
	if (mariadb_get_infov(m, MARIADB_CONNECTION_TLS_VERSION, &version) != 0 ||
	    version == NULL || cipher == NULL)
		return rk_fail(err, RK_E_INTERNAL, "%s: Connector/C reports no TLS session", label);
	(void)snprintf(out->protocol, sizeof(out->protocol), "%s", version);
	(void)snprintf(out->cipher, sizeof(out->cipher), "%s", cipher);
	/*
	 * XXX(#6): Connector/C 3.3 exposes neither the cipher's bits nor the peer certificate
	 * (3.4 adds MARIADB_TLS_PEER_CERT_INFO). cipher_bits stays 0 and fingerprint "": the
	 * TLS probe (src/verify/) reports the certificate served.
	 */
	return 0;
}

static int
my_check_login(struct rk_tls_session *out, const struct rk_service_login *login,
    struct rk_err *err)
{
	char label[SVC_LABEL_MAX];
	struct my_exchange x;
	MYSQL *m = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	svc_label(label, login != NULL ? login->service : NULL, "mysql");
	if ((r = svc_check_login(login, RK_SERVICE_MYSQL, label, err)) != 0)
		goto out;
	x = my_exchange_of(login, label);
	if ((r = my_open(&m, login, MY_TLS, &x, NULL, err)) != 0 ||
	    (r = my_read_session(out, m, label, err)) != 0)
		goto out;
	r = 0;
 out:
	mysql_close(m);
	return r;
}

/* The account the server logged us in as, "'user'@'host'", for a GRANT; best effort. */
static void
my_current_account(char *out, size_t size, MYSQL *m, const char *user,
    const struct my_exchange *x)
{
	struct rk_err ignored = { 0 };
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	const char *at;
	bool failed;

	(void)snprintf(out, size, "'%s'@'%%'", user);
	if (my_query_until(&res, &failed, m, "SELECT CURRENT_USER()", x, &ignored) != 0 ||
	    failed || res == NULL)
		goto out;
	if ((row = mysql_fetch_row(res)) == NULL || row[0] == NULL ||
	    (at = strrchr(row[0], '@')) == NULL)
		goto out;
	(void)snprintf(out, size, "'%.*s'@'%s'", (int)(at - row[0]), row[0], at + 1);
 out:
	mysql_free_result(res);
}

/* MariaDB and MySQL spell the same need differently; the greeting's version tells them apart. */
static bool
my_is_mariadb(MYSQL *m)
{
	const char *info = mysql_get_server_info(m);

	return info != NULL && strstr(info, "MariaDB") != NULL;
}

/* The reload statement the server understands, from its version; NULL when none exists. */
static const char *
my_reload_statement(MYSQL *m)
{
	unsigned long version = mysql_get_server_version(m);

	if (my_is_mariadb(m))
		return version >= 100400 ? "FLUSH SSL" : NULL;
	return version >= 80016 ? "ALTER INSTANCE RELOAD TLS" : NULL;
}

/*
 * The start of both reload calls: logs in as login says, on the exchange *x made here (the
 * caller's statements share its deadline; label must outlive it), and picks the reload
 * statement for the server (*sql, and *statement when not NULL). RK_E_USAGE for a server
 * that can only pick up new TLS files by restarting. *out is set only on success.
 */
static int
my_open_for_reload(MYSQL **out, const char **sql, const char **statement,
    struct my_exchange *x, const struct rk_service_login *login, const char *label,
    struct rk_err *err)
{
	const char *info;
	MYSQL *m = NULL;
	int r;

	*out = NULL;
	if (statement != NULL)
		*statement = NULL;
	if ((r = svc_check_login(login, RK_SERVICE_MYSQL, label, err)) != 0)
		goto out;
	*x = my_exchange_of(login, label);
	if ((r = my_open(&m, login, MY_TLS, x, NULL, err)) != 0)
		goto out;
	if ((*sql = my_reload_statement(m)) == NULL) {
		info = mysql_get_server_info(m);
		r = rk_fail(err, RK_E_USAGE, "%s: cannot reload TLS without a restart on %.64s "
		    "(FLUSH SSL needs MariaDB 10.4, ALTER INSTANCE RELOAD TLS MySQL 8.0.16)",
		    label, info != NULL ? info : "this server");
		goto out;
	}
	if (statement != NULL)
		*statement = *sql;
	*out = m;
	m = NULL;
	r = 0;
 out:
	mysql_close(m);
	return r;
}

/*
 * The global privilege that statement checks: FLUSH SSL wants RELOAD (SUPER does not include
 * it since MariaDB 10.5.2); ALTER INSTANCE RELOAD TLS wants CONNECTION_ADMIN and nothing
 * else, not even SUPER (MySQL 8.0, Alter_instance_reload_tls::execute).
 */
static const char *
my_reload_privilege(MYSQL *m)
{
	return my_is_mariadb(m) ? "RELOAD" : "CONNECTION_ADMIN";
}

/* The GRANT that lets the account logged in on m reload TLS, for both reload calls. */
static void
my_reload_grant(char out[SVC_GRANT_MAX], MYSQL *m, const char *user,
    const struct my_exchange *x)
{
	char account[SVC_GRANT_MAX - 48];

	my_current_account(account, sizeof(account), m, user, x);
	(void)snprintf(out, SVC_GRANT_MAX, "GRANT %s ON *.* TO %s", my_reload_privilege(m),
	    account);
}

/* Whether the n bytes at p spell name, as SQL keywords do: in any case. */
static bool
my_word_is(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

/*
 * Whether one line of SHOW GRANTS gives priv on every database: "GRANT <list> ON *.* TO
 * ...", the list naming priv or ALL PRIVILEGES, comma-separated (MySQL 8 puts no space
 * after the commas between dynamic privileges). A list with a quote, a backtick or a
 * parenthesis in it grants a role or holds column names, never global privileges: such a
 * line never counts, so no name a user chose can make a line say more than it does.
 */
static bool
my_grant_line_gives(const char *line, const char *priv)
{
	const char *list, *on, *p, *end;
	size_t n;

	if (strncmp(line, "GRANT ", 6) != 0)
		return false;
	list = line + 6;
	if ((on = strstr(list, " ON ")) == NULL || strncmp(on, " ON *.* TO ", 11) != 0 ||
	    strcspn(list, "`'\"(") < (size_t)(on - list))
		return false;
	for (p = list; p < on; p = end + 1) {
		if ((end = memchr(p, ',', (size_t)(on - p))) == NULL)
			end = on;
		while (p < end && *p == ' ')
			p++;
		for (n = (size_t)(end - p); n > 0 && p[n - 1] == ' '; n--)
			;
		if (my_word_is(p, n, priv) || my_word_is(p, n, "ALL PRIVILEGES") ||
		    my_word_is(p, n, "ALL"))
			return true;
	}
	return false;
}

static int
my_reload_tls(const struct rk_service_login *login, const char **statement, struct rk_err *err)
{
	char label[SVC_LABEL_MAX], text[SVC_TEXT_MAX], grant[SVC_GRANT_MAX];
	const char *sql;
	struct my_exchange x;
	MYSQL_RES *res = NULL;
	MYSQL *m = NULL;
	unsigned int code;
	bool failed;
	int r;

	svc_label(label, login != NULL ? login->service : NULL, "mysql");
	/* x: one deadline for the login and the statement */
	if ((r = my_open_for_reload(&m, &sql, statement, &x, login, label, err)) != 0 ||
	    (r = my_query_until(&res, &failed, m, sql, &x, err)) != 0)
		goto out;
	if (failed) {
		code = mysql_errno(m);
		svc_one_line(text, sizeof(text), mysql_error(m), NULL);
		if (code == MY_ER_SPECIFIC_ACCESS_DENIED) {
			/* Only now: asking for the account replaces the error kept above. */
			my_reload_grant(grant, m, login->service->connect.user, &x);
			r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s (%u) (as root: %s)", label, sql,
			    text, code, grant);
		} else
			r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s (%u)", label, sql, text, code);
		goto out;
	}
	/* Neither statement returns rows; my_query_until read whatever came, in step. */
	r = 0;
 out:
	mysql_free_result(res);
	mysql_close(m);
	return r;
}

static int
my_check_reload_privilege(bool *may, char *grant, size_t grant_size, const char **statement,
    const struct rk_service_login *login, struct rk_err *err)
{
	char label[SVC_LABEL_MAX], text[SVC_TEXT_MAX], wanted[SVC_GRANT_MAX];
	const char *sql, *priv;
	struct my_exchange x;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	MYSQL *m = NULL;
	bool failed;
	int r;

	svc_clear_privilege_answer(may, grant, grant_size);
	svc_label(label, login != NULL ? login->service : NULL, "mysql");
	/* x: one deadline for the login, SHOW GRANTS and CURRENT_USER() */
	if ((r = my_open_for_reload(&m, &sql, statement, &x, login, label, err)) != 0 ||
	    (r = my_query_until(&res, &failed, m, MY_GRANTS_SQL, &x, err)) != 0)
		goto out;
	if (failed) {
		svc_one_line(text, sizeof(text), mysql_error(m), NULL);
		r = rk_fail(err, RK_E_REMOTE, "%s: %s: %s (%u)", label, MY_GRANTS_SQL, text,
		    mysql_errno(m));
		goto out;
	}
	if (res == NULL) {
		r = rk_fail(err, RK_E_REMOTE, "%s: %s returned no rows", label, MY_GRANTS_SQL);
		goto out;
	}
	priv = my_reload_privilege(m);
	while (!*may && (row = mysql_fetch_row(res)) != NULL)
		*may = row[0] != NULL && my_grant_line_gives(row[0], priv);
	if (!*may) {
		my_reload_grant(wanted, m, login->service->connect.user, &x);
		if ((r = svc_give_grant(grant, grant_size, wanted, label, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	mysql_free_result(res);
	mysql_close(m);
	return r;
}

static int
my_check_plaintext_refused(bool *refused, const struct rk_service_login *login,
    struct rk_err *err)
{
	char label[SVC_LABEL_MAX];
	struct rk_err plain = { 0 };
	struct my_exchange x;
	bool server_said = false;
	MYSQL *m = NULL;
	int r;

	*refused = false;
	svc_label(label, login != NULL ? login->service : NULL, "mysql");
	/* Only a server that accepts this login over TLS can prove anything by refusing it. */
	if ((r = svc_check_login(login, RK_SERVICE_MYSQL, label, err)) != 0)
		goto out;
	x = my_exchange_of(login, label);
	if ((r = my_open(&m, login, MY_TLS, &x, NULL, err)) != 0)
		goto out;
	mysql_close(m);
	m = NULL;

	/*
	 * MariaDB answers a plaintext login under require_secure_transport with 1045 "Access
	 * denied", the same words as for a wrong password: the TLS login above with the same
	 * credentials is what makes the refusal mean "TLS required".
	 */
	x = my_exchange_of(login, label);	/* another exchange, its own deadline */
	r = my_open(&m, login, MY_PLAINTEXT, &x, &server_said, &plain);
	if (r == 0)
		*refused = false;
	else if (r == RK_E_REMOTE && server_said)
		*refused = true;
	else {
		r = rk_fail(err, r, "%s", plain.msg);
		goto out;
	}
	r = 0;
 out:
	mysql_close(m);
	return r;
}

static const struct rk_service_ops my_ops = {
	.name = "mysql",
	.check_login = my_check_login,
	.reload_tls = my_reload_tls,
	.check_reload_privilege = my_check_reload_privilege,
	.check_plaintext_refused = my_check_plaintext_refused,
};

const struct rk_service_ops *
rk_mariadb_ops(void)
{
	return &my_ops;
}
