/*
 * The service contract (include/rekey/service.h) on real servers: the harness's PostgreSQL 15
 * and MariaDB, run by tests/harness/with-servers.sh --pg --mariadb (RK_H_ variables, root).
 * Every key and certificate a test needs is issued at run time with `rekey pki issue`; a
 * test that changes a server's files puts the harness's originals back (and reloads) in its
 * teardown, so the order of the tests does not matter.
 */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rekey/err.h"
#include "rekey/mariadb.h"
#include "rekey/model.h"
#include "rekey/postgresql.h"
#include "rekey/secret.h"
#include "rekey/service.h"

#include "trickler.h"

extern char **environ;

#define PATH_T		1024
#define TIMEOUT		5	/* seconds, for each login */
#define POLL_LIMIT_MS	20000	/* a server picks up a reload in ~0.1 s here (LAB.md (f)) */

/* What the harness started, from its RK_H_ variables. */
static struct {
	const char	*dir, *rekey, *ca, *ca_key, *crl, *client_cert, *client_key;
	const char	*revoked_cert, *revoked_key, *server_cert, *server_key;
	const char	*pg_host, *pg_data, *pg_log, *pg_cert, *pg_key, *pg_user, *pg_cert_user;
	const char	*pg_password_file, *pg_socket_dir;
	const char	*my_host, *my_socket, *my_pid_file, *my_cert, *my_key, *my_user;
	const char	*my_cert_user, *my_password_file;
	int		 pg_port, my_port;
	char		 work[PATH_T];		/* our folder under RK_H_DIR */
	char		 other_ca[PATH_T];	/* a CA that signed none of the servers' certs */
	char		 original_fp[96];	/* of the harness's server certificate */
	/* rekey's passwords, and the one of every MariaDB user the suite creates (prepare). */
	struct rk_secret pg_password, my_password, noreload_password;
} env;

enum which {
	PG,
	MY,
};

struct fixture {
	struct rk_service	 svc;
	struct rk_service_login	 login;
	const struct rk_service_ops *ops;
	enum which		 which;
	bool			 dirty;		/* server files changed: restore in teardown */
	int			 blocker;	/* a bound, never listening socket, or -1 */
	pid_t			 trickler;	/* a trickle_server.py we started, or 0 */
	char			 undo[512];	/* SQL that puts back a grant the test made */
	enum which		 undo_on;	/* the server undo is for */
};

/* trickle_server.py, from the command line. */
static const char *trickle_script;

static int counter;

/* ------------------------------------------------------------------------------------------ */
/* Small tools */

static void
format_into(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
format_into(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

static void
assert_message_has(const struct rk_err *err, const char *needle)
{
	if (strstr(err->msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, needle);
}

static long long
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wait between two polls: 20 ms, doubling up to 500 ms. */
static void
back_off(int *delay_ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)*delay_ms * 1000000L };

	(void)nanosleep(&ts, NULL);
	*delay_ms = *delay_ms * 2 > 500 ? 500 : *delay_ms * 2;
}

/* Runs argv with stdin from /dev/null; returns its stdout (malloc'ed, 64 KiB at most). */
static char *
run_capture(const char *const *argv, int *status)
{
	posix_spawn_file_actions_t fa;
	char *out = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;
	int pipefd[2], st;
	pid_t pid;

	assert_non_null(out);
	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	assert_int_equal(posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (len < 65535 && (n = read(pipefd[0], out + len, 65535 - len)) > 0)
		len += (size_t)n;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return out;
}

static void
run_ok(const char *const *argv)
{
	int status;

	free(run_capture(argv, &status));
	if (status != 0)
		fail_msg("%s %s exited %d", argv[0], argv[1], status);
}

/* Runs sql as the postgres superuser over the Unix socket; returns psql -At's output. */
static char *
pg_superuser_sql(const char *sql)
{
	char port[16];
	const char *argv[] = { "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h",
	    env.pg_socket_dir, "-p", port, "-U", "postgres", "-d", "postgres", "-c", sql, NULL };
	char *out;
	int status;

	format_into(port, sizeof(port), "%d", env.pg_port);
	out = run_capture(argv, &status);
	if (status != 0)
		fail_msg("psql as postgres: %s: exited %d", sql, status);
	return out;
}

/* Runs sql as MariaDB's root over the socket (unix_socket authentication). */
static int
mariadb_root_sql(const char *sql)
{
	const char *argv[] = { "mariadb", "--no-defaults", "--socket", env.my_socket, "-uroot",
	    "-e", sql, NULL };
	int status;

	free(run_capture(argv, &status));
	return status;
}

/* Runs sql as the superuser of which's server, and fails the test if it fails. */
static void
admin_sql(enum which which, const char *sql)
{
	if (which == PG)
		free(pg_superuser_sql(sql));
	else if (mariadb_root_sql(sql) != 0)
		fail_msg("mariadb as root: %s failed", sql);
}

/* The SHA-256 fingerprint `openssl x509 -fingerprint -sha256` prints for a PEM file. */
static bool
fingerprint_of_file(char out[96], const char *path)
{
	const char *argv[] = { "openssl", "x509", "-in", path, "-noout", "-fingerprint",
	    "-sha256", NULL };
	char *text, *eq, *nl;
	int status;

	out[0] = '\0';
	text = run_capture(argv, &status);
	if (status == 0 && (eq = strchr(text, '=')) != NULL) {
		if ((nl = strchr(eq, '\n')) != NULL)
			*nl = '\0';
		format_into(out, 96, "%s", eq + 1);
	}
	free(text);
	return out[0] != '\0';
}

/*
 * The fingerprint of the certificate MariaDB serves, seen by `openssl s_client -starttls
 * mysql` (Connector/C 3.3 does not give it): false when the handshake did not happen.
 */
static bool
mariadb_served_fingerprint(char out[96])
{
	char connect[64], pem[PATH_T];
	const char *argv[] = { "openssl", "s_client", "-starttls", "mysql", "-connect", connect,
	    NULL };
	char *text, *begin, *end;
	bool ok = false;
	int status, fd;

	format_into(connect, sizeof(connect), "%s:%d", env.my_host, env.my_port);
	format_into(pem, sizeof(pem), "%s/served.pem", env.work);
	text = run_capture(argv, &status);
	if ((begin = strstr(text, "-----BEGIN CERTIFICATE-----")) != NULL &&
	    (end = strstr(begin, "-----END CERTIFICATE-----\n")) != NULL) {
		end += strlen("-----END CERTIFICATE-----\n");
		assert_true((fd = open(pem, O_WRONLY | O_CREAT | O_TRUNC, 0644)) != -1);
		assert_int_equal(write(fd, begin, (size_t)(end - begin)), end - begin);
		close(fd);
		ok = fingerprint_of_file(out, pem);
	}
	free(text);
	return ok;
}

/* The pid a server wrote at start: the first line of its pid file. */
static long
pid_in_file(const char *path)
{
	char buf[64] = { 0 };
	ssize_t n;
	int fd;

	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	return strtol(buf, NULL, 10);
}

static off_t
size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* true when path holds needle after offset from (the part a test's actions wrote). */
static bool
file_has_after(const char *path, off_t from, const char *needle)
{
	char *buf;
	bool found;
	ssize_t n;
	int fd;

	assert_non_null(buf = calloc(1, 1 << 20));
	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = pread(fd, buf, (1 << 20) - 1, from);
	close(fd);
	found = n > 0 && strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

/* Copies src over dst as a server would want it: owner, mode, then an atomic rename. */
static void
install_file(const char *src, const char *dst, const char *owner, mode_t mode)
{
	char tmp[PATH_T], buf[65536];
	struct passwd *pw = getpwnam(owner);
	ssize_t n;
	int in, out;

	assert_non_null(pw);
	format_into(tmp, sizeof(tmp), "%s.rk-test", dst);
	assert_true((in = open(src, O_RDONLY)) != -1);
	assert_true((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	assert_true((n = read(in, buf, sizeof(buf))) > 0);
	assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(fchown(out, pw->pw_uid, pw->pw_gid), 0);
	assert_int_equal(fchmod(out, mode), 0);
	assert_int_equal(fsync(out), 0);
	close(in);
	close(out);
	assert_int_equal(rename(tmp, dst), 0);
}

/* Issues a server certificate for /CN=localhost with the SANs given, into our folder. */
static void
issue_server_cert(char cert[PATH_T], char key[PATH_T], const char *san1, const char *san2)
{
	const char *argv[24];
	size_t n = 0;

	counter++;
	format_into(cert, PATH_T, "%s/srv-%d.crt", env.work, counter);
	format_into(key, PATH_T, "%s/srv-%d.key", env.work, counter);
	argv[n++] = env.rekey;
	argv[n++] = "pki";
	argv[n++] = "issue";
	argv[n++] = "--ca-cert";
	argv[n++] = env.ca;
	argv[n++] = "--ca-key";
	argv[n++] = env.ca_key;
	argv[n++] = "--profile";
	argv[n++] = "server";
	argv[n++] = "--subject";
	argv[n++] = "/CN=localhost";
	argv[n++] = "--san";
	argv[n++] = san1;
	if (san2 != NULL) {
		argv[n++] = "--san";
		argv[n++] = san2;
	}
	argv[n++] = "--key";
	argv[n++] = "ec-p256";
	argv[n++] = "--days";
	argv[n++] = "2";
	argv[n++] = "--cert-out";
	argv[n++] = cert;
	argv[n++] = "--key-out";
	argv[n++] = key;
	argv[n] = NULL;
	run_ok(argv);
}

/* ------------------------------------------------------------------------------------------ */
/* Fixtures */

static void
init_service(struct fixture *f, enum which which, const char *user, const char *address)
{
	f->which = which;
	f->ops = which == PG ? rk_postgresql_ops() : rk_mariadb_ops();
	f->svc = (struct rk_service){
		.name = (char *)(which == PG ? "pg-lab" : "my-lab"),
		.kind = which == PG ? RK_SERVICE_POSTGRESQL : RK_SERVICE_MYSQL,
	};
	f->svc.connect.address = (char *)address;
	f->svc.connect.port = which == PG ? env.pg_port : env.my_port;
	f->svc.connect.dbname = (char *)(which == PG ? "postgres" : NULL);
	f->svc.connect.user = (char *)user;
	f->svc.verify.sslmode = RK_SSLMODE_VERIFY_FULL;
	f->svc.verify.min_tls = RK_TLS_1_2;
	f->svc.verify.require_tls = true;
	f->login = (struct rk_service_login){
		.service = &f->svc,
		.ca_file = env.ca,
		.crl_file = env.crl,
		.timeout = TIMEOUT,
	};
}

/* The password login: rekey, which may reload. */
static void
use_password(struct fixture *f, enum which which)
{
	init_service(f, which, which == PG ? env.pg_user : env.my_user,
	    which == PG ? env.pg_host : env.my_host);
	f->login.password = which == PG ? &env.pg_password : &env.my_password;
}

/* The certificate login: rkclient with the harness's client certificate (or another). */
static void
use_certificate(struct fixture *f, enum which which, const char *cert, const char *key)
{
	init_service(f, which, which == PG ? env.pg_cert_user : env.my_cert_user,
	    which == PG ? env.pg_host : env.my_host);
	f->login.cert_file = cert;
	f->login.key_file = key;
}

static int
setup_pg(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->blocker = -1;
	use_password(f, PG);
	*state = f;
	return 0;
}

static int
setup_my(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->blocker = -1;
	use_password(f, MY);
	*state = f;
	return 0;
}

/* The fingerprint PostgreSQL serves now, by a verify-full login as rekey at name. */
static bool
pg_served_fingerprint(char out[96], const char *name)
{
	struct fixture g = { .blocker = -1 };
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	use_password(&g, PG);
	g.svc.connect.address = (char *)name;
	out[0] = '\0';
	if (g.ops->check_login(&s, &g.login, &err) != 0)
		return false;
	format_into(out, 96, "%s", s.fingerprint);
	return true;
}

/* Polls (with back-off, bounded) until the server serves the certificate whose fp is want. */
static bool
wait_until_served(enum which which, const char *name, const char *want)
{
	long long deadline = now_ms() + POLL_LIMIT_MS;
	int delay = 20;
	char fp[96];

	for (;;) {
		bool ok = which == PG ? pg_served_fingerprint(fp, name) :
		    mariadb_served_fingerprint(fp);

		if (ok && strcmp(fp, want) == 0)
			return true;
		if (now_ms() > deadline)
			return false;
		back_off(&delay);
	}
}

/* Installs cert and key as the server's own files (key mode as given), without a reload. */
static void
install_server_files(struct fixture *f, const char *cert, const char *key, mode_t key_mode)
{
	const char *owner = f->which == PG ? "postgres" : "mysql";

	f->dirty = true;
	install_file(cert, f->which == PG ? env.pg_cert : env.my_cert, owner, 0644);
	install_file(key, f->which == PG ? env.pg_key : env.my_key, owner, key_mode);
}

/* Installs cert and key as the server's own files (key mode as given) and reloads. */
static void
swap_server_files(struct fixture *f, const char *cert, const char *key, mode_t key_mode,
    int expect, struct rk_err *err)
{
	struct fixture admin = { .blocker = -1 };
	const char *statement = NULL;

	install_server_files(f, cert, key, key_mode);
	use_password(&admin, f->which);
	/* Every certificate a test installs carries DNS:localhost, not always 127.0.0.1. */
	admin.svc.connect.address = (char *)"localhost";
	assert_int_equal(admin.ops->reload_tls(&admin.login, &statement, err), expect);
	assert_string_equal(statement, f->which == PG ? "SELECT pg_reload_conf()" : "FLUSH SSL");
}

static void
restore_server_files(enum which which)
{
	struct fixture f = { .which = which, .blocker = -1 };
	struct rk_err err = { 0 };

	swap_server_files(&f, env.server_cert, env.server_key, 0600, 0, &err);
	if (!wait_until_served(which, "localhost", env.original_fp))
		fail_msg("the original certificate is not served again");
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->undo[0] != '\0')
		admin_sql(f->undo_on, f->undo);
	if (f->dirty)
		restore_server_files(f->which);
	if (f->blocker != -1)
		close(f->blocker);
	rk_trickler_stop(&f->trickler);
	free(f);
	return 0;
}

/* A loopback port bound by us and never listened on: a connection there is refused. */
static int
dead_port(struct fixture *f)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sin);

	assert_true((f->blocker = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(f->blocker, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(f->blocker, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static void
assert_tls_session(const struct rk_tls_session *s)
{
	if (strcmp(s->protocol, "TLSv1.3") != 0 && strcmp(s->protocol, "TLSv1.2") != 0)
		fail_msg("protocol \"%s\"", s->protocol);
	assert_true(strlen(s->cipher) > 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Logins */

static void
test_pg_verify_full_password_login_reports_tls_and_served_fingerprint(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	char want[96];

	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_tls_session(&s);
	assert_true(s.cipher_bits >= 128);
	assert_true(fingerprint_of_file(want, env.pg_cert));
	assert_string_equal(s.fingerprint, want);
}

static void
test_pg_verify_full_certificate_login_reports_tls_and_served_fingerprint(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	use_certificate(f, PG, env.client_cert, env.client_key);
	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_tls_session(&s);
	assert_string_equal(s.fingerprint, env.original_fp);
	/* The same role without its certificate is turned away by pg_hba.conf "cert". */
	f->login.cert_file = f->login.key_file = NULL;
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	assert_message_has(&err, "pg-lab 127.0.0.1:");
	assert_message_has(&err, "connection requires a valid client certificate");
}

static void
test_my_verify_full_password_login_reports_tls(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_tls_session(&s);
	/* Connector/C 3.3 does not expose the peer certificate: see include/rekey/mariadb.h. */
	assert_string_equal(s.fingerprint, "");
	/* TLS 1.3 only is honoured too. */
	f->svc.verify.min_tls = RK_TLS_1_3;
	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(s.protocol, "TLSv1.3");
}

static void
test_my_verify_full_certificate_login_reports_tls(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	use_certificate(f, MY, env.client_cert, env.client_key);
	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_tls_session(&s);
	/* REQUIRE X509: without the certificate the same user is refused. */
	f->login.cert_file = f->login.key_file = NULL;
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	assert_message_has(&err, "my-lab 127.0.0.1:");
	assert_message_has(&err, "Access denied");
}

/* ------------------------------------------------------------------------------------------ */
/* Reload without restart */

static void
test_pg_reload_serves_new_certificate_without_restart(void **state)
{
	struct fixture *f = *state;
	char cert[PATH_T], key[PATH_T], want[96], pidfile[PATH_T];
	struct rk_err err = { 0 };
	long pid;

	format_into(pidfile, sizeof(pidfile), "%s/postmaster.pid", env.pg_data);
	pid = pid_in_file(pidfile);
	issue_server_cert(cert, key, "DNS:localhost", "IP:127.0.0.1");
	assert_true(fingerprint_of_file(want, cert));
	assert_string_not_equal(want, env.original_fp);
	swap_server_files(f, cert, key, 0600, 0, &err);
	if (!wait_until_served(PG, env.pg_host, want))
		fail_msg("the new certificate is not served after pg_reload_conf()");
	assert_int_equal(pid_in_file(pidfile), pid);
}

static void
test_my_flush_ssl_serves_new_certificate_without_restart(void **state)
{
	struct fixture *f = *state;
	char cert[PATH_T], key[PATH_T], want[96];
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	long pid = pid_in_file(env.my_pid_file);

	issue_server_cert(cert, key, "DNS:localhost", "IP:127.0.0.1");
	assert_true(fingerprint_of_file(want, cert));
	swap_server_files(f, cert, key, 0600, 0, &err);
	if (!wait_until_served(MY, env.my_host, want))
		fail_msg("the new certificate is not served after FLUSH SSL");
	/* And a new verify-full session works with it. */
	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(pid_in_file(env.my_pid_file), pid);
}

/* ------------------------------------------------------------------------------------------ */
/* Client certificates */

static void
test_pg_revoked_client_certificate_is_refused(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	use_certificate(f, PG, env.revoked_cert, env.revoked_key);
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	assert_message_has(&err, "pg-lab 127.0.0.1:");
	assert_message_has(&err, "certificate revoked");
}

static void
test_my_revoked_client_certificate_is_refused(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	use_certificate(f, MY, env.revoked_cert, env.revoked_key);
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	assert_message_has(&err, "my-lab 127.0.0.1:");
	/* The server drops the handshake; Connector/C only sees the connection go (LAB.md (g)). */
	if (strstr(err.msg, "revoked") == NULL && strstr(err.msg, "Lost connection") == NULL)
		fail_msg("message \"%s\" names no cause", err.msg);
}

/* ------------------------------------------------------------------------------------------ */
/* Bad files on the server */

static void
test_pg_key_mode_0644_keeps_old_certificate_and_log_says_why(void **state)
{
	struct fixture *f = *state;
	char cert[PATH_T], key[PATH_T], fp[96];
	struct rk_err err = { 0 };
	long long deadline;
	off_t from = size_of(env.pg_log);
	int delay = 20;

	issue_server_cert(cert, key, "DNS:localhost", "IP:127.0.0.1");
	/* pg_reload_conf() returns true: PostgreSQL reports the bad key only in its log. */
	swap_server_files(f, cert, key, 0644, 0, &err);
	deadline = now_ms() + POLL_LIMIT_MS;
	while (!file_has_after(env.pg_log, from, "has group or world access")) {
		if (now_ms() > deadline)
			fail_msg("the server log never said why the key was refused");
		back_off(&delay);
	}
	assert_true(file_has_after(env.pg_log, from, "SSL configuration was not reloaded"));
	assert_true(pg_served_fingerprint(fp, env.pg_host));
	assert_string_equal(fp, env.original_fp);
}

static void
test_my_mismatched_key_fails_flush_ssl_with_server_words(void **state)
{
	struct fixture *f = *state;
	char cert[PATH_T], key[PATH_T], cert2[PATH_T], key2[PATH_T], fp[96];
	struct rk_err err = { 0 };

	issue_server_cert(cert, key, "DNS:localhost", "IP:127.0.0.1");
	issue_server_cert(cert2, key2, "DNS:localhost", "IP:127.0.0.1");
	swap_server_files(f, cert, key2, 0600, RK_E_REMOTE, &err);
	assert_message_has(&err, "my-lab localhost:");
	assert_message_has(&err, "FLUSH SSL: Failed to refresh SSL, error: Unable to get private key");
	assert_message_has(&err, "(1105)");
	/* The old certificate is still served. */
	assert_true(mariadb_served_fingerprint(fp));
	assert_string_equal(fp, env.original_fp);
}

/* ------------------------------------------------------------------------------------------ */
/* Verification failures */

static void
test_wrong_ca_fails_verification(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	char ca[PATH_T];

	format_into(ca, sizeof(ca), "%s/ca.crt", env.other_ca);
	f->login.ca_file = ca;
	f->login.crl_file = NULL;
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	assert_message_has(&err, f->which == PG ? "pg-lab 127.0.0.1:" : "my-lab 127.0.0.1:");
	assert_message_has(&err, f->which == PG ? "SSL error: certificate verify failed" :
	    "certificate");
}

/*
 * A server certificate for DNS:localhost only: verify-full to 127.0.0.1 must fail and name
 * the mismatch, while the same login to "localhost" works.
 */
static void
test_name_not_in_sans_fails_verify_full(void **state)
{
	struct fixture *f = *state;
	char cert[PATH_T], key[PATH_T], want[96];
	struct rk_tls_session s;
	struct rk_err err = { 0 };

	issue_server_cert(cert, key, "DNS:localhost", NULL);
	assert_true(fingerprint_of_file(want, cert));
	swap_server_files(f, cert, key, 0600, 0, &err);
	if (!wait_until_served(f->which, "localhost", want))
		fail_msg("the DNS-only certificate is not served");
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	if (f->which == PG) {
		assert_message_has(&err, "pg-lab 127.0.0.1:");
		/* "(and 1 other name)": libpq counts the CN as well. */
		assert_message_has(&err, "server certificate for \"localhost\"");
		assert_message_has(&err, "does not match host name \"127.0.0.1\"");
	} else {
		assert_message_has(&err, "my-lab 127.0.0.1:");
		assert_message_has(&err, "Validation of SSL server certificate failed");
	}
	rk_err_clear(&err);
	f->svc.connect.address = (char *)"localhost";
	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	/* verify-ca skips the name under libpq; Connector/C checks it anyway (mariadb.h). */
	f->svc.connect.address = (char *)"127.0.0.1";
	f->svc.verify.sslmode = RK_SSLMODE_VERIFY_CA;
	rk_err_clear(&err);
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), f->which == PG ? 0 : RK_E_REMOTE);
}

static void
test_server_down_is_reported_with_address(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	char where[64], grant[256] = "x";
	bool refused = true, may = true;

	f->svc.connect.port = dead_port(f);
	format_into(where, sizeof(where), "%s 127.0.0.1:%d: ", f->svc.name, f->svc.connect.port);
	assert_int_equal(f->ops->check_login(&s, &f->login, &err), RK_E_REMOTE);
	assert_message_has(&err, where);
	assert_message_has(&err, f->which == PG ? "Connection refused" : "Can't connect");
	/* A dead server is an error, never "plaintext refused". */
	rk_err_clear(&err);
	assert_int_equal(f->ops->check_plaintext_refused(&refused, &f->login, &err), RK_E_REMOTE);
	assert_false(refused);
	rk_err_clear(&err);
	assert_int_equal(f->ops->reload_tls(&f->login, NULL, &err), RK_E_REMOTE);
	assert_message_has(&err, where);
	/* Nor is it "may not reload". */
	rk_err_clear(&err);
	assert_int_equal(f->ops->check_reload_privilege(&may, grant, sizeof(grant), NULL,
	    &f->login, &err), RK_E_REMOTE);
	assert_false(may);
	assert_string_equal(grant, "");
	assert_message_has(&err, where);
}

/* ------------------------------------------------------------------------------------------ */
/* Privileges and plaintext */

static void
test_pg_reload_without_privilege_names_the_grant(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	const char *statement = NULL;

	/* rkclient logs in (certificate) but was never granted pg_reload_conf(). */
	use_certificate(f, PG, env.client_cert, env.client_key);
	assert_int_equal(f->ops->reload_tls(&f->login, &statement, &err), RK_E_REMOTE);
	assert_string_equal(statement, "SELECT pg_reload_conf()");
	assert_message_has(&err, "pg-lab 127.0.0.1:");
	assert_message_has(&err, "permission denied for function pg_reload_conf");
	assert_message_has(&err, "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO rkclient");
}

static void
test_my_reload_without_privilege_names_the_grant(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	const char *statement = NULL;

	init_service(f, MY, "rknoreload", env.my_host);
	f->login.password = &env.noreload_password;
	assert_int_equal(f->ops->reload_tls(&f->login, &statement, &err), RK_E_REMOTE);
	assert_string_equal(statement, "FLUSH SSL");
	assert_message_has(&err, "my-lab 127.0.0.1:");
	assert_message_has(&err, "RELOAD privilege");
	assert_message_has(&err, "(1227)");
	assert_message_has(&err, "GRANT RELOAD ON *.* TO 'rknoreload'@'%'");
}

/* ------------------------------------------------------------------------------------------ */
/* Asking whether a login may reload, without reloading */

/* A MariaDB user the suite created (prepare), with its password. */
static void
use_my_test_user(struct fixture *f, const char *user)
{
	init_service(f, MY, user, env.my_host);
	f->login.password = &env.noreload_password;
}

/* The GRANT both reload calls must name for f's login (every test login is a plain name). */
static void
grant_for(char out[256], const struct fixture *f)
{
	if (f->which == PG)
		format_into(out, 256, "GRANT EXECUTE ON FUNCTION pg_reload_conf() TO %s",
		    f->svc.connect.user);
	else
		format_into(out, 256, "GRANT RELOAD ON *.* TO '%s'@'%%'", f->svc.connect.user);
}

/* Asks; the call must succeed. grant is filled with junk first, to see it is always set. */
static bool
may_reload(struct fixture *f, char grant[256], const char **statement)
{
	struct rk_err err = { 0 };
	bool may = false;

	memset(grant, 'x', 255);
	grant[255] = '\0';
	if (f->ops->check_reload_privilege(&may, grant, 256, statement, &f->login, &err) != 0)
		fail_msg("%s: %s", f->svc.connect.user, err.msg);
	return may;
}

/*
 * The check says want for f's login, naming exactly the GRANT when it may not, and the
 * reload itself agrees: it works when the check said it may, and fails naming the same
 * GRANT when not. (That reload re-reads unchanged files: it changes nothing either.)
 */
static void
assert_check_agrees_with_reload(struct fixture *f, bool want)
{
	char grant[256], expected[256];
	const char *statement = NULL, *ran = NULL;
	struct rk_err err = { 0 };
	bool may = may_reload(f, grant, &statement);

	if (may != want)
		fail_msg("%s: the check says it may%s reload", f->svc.connect.user,
		    may ? "" : " not");
	assert_string_equal(statement, f->which == PG ? "SELECT pg_reload_conf()" : "FLUSH SSL");
	grant_for(expected, f);
	assert_string_equal(grant, want ? "" : expected);
	if (want) {
		if (f->ops->reload_tls(&f->login, &ran, &err) != 0)
			fail_msg("%s may reload, says the check, yet: %s", f->svc.connect.user,
			    err.msg);
	} else {
		assert_int_equal(f->ops->reload_tls(&f->login, &ran, &err), RK_E_REMOTE);
		assert_message_has(&err, expected);
	}
	assert_string_equal(ran, statement);
}

/* Runs sql as which's superuser; teardown runs undo, whatever happens in between. */
static void
grant_for_this_test(struct fixture *f, enum which which, const char *sql, const char *undo)
{
	format_into(f->undo, sizeof(f->undo), "%s", undo);
	f->undo_on = which;
	admin_sql(which, sql);
}

static void
undo_now(struct fixture *f)
{
	admin_sql(f->undo_on, f->undo);
	f->undo[0] = '\0';
}

static void
test_pg_admin_login_may_reload(void **state)
{
	struct fixture *f = *state;
	char *super = pg_superuser_sql("SELECT rolsuper FROM pg_roles WHERE rolname = 'rekey'");

	/* rekey is no superuser: the harness granted it EXECUTE on pg_reload_conf() alone. */
	assert_string_equal(super, "f\n");
	free(super);
	assert_check_agrees_with_reload(f, true);
}

static void
test_my_admin_and_certificate_logins_may_reload(void **state)
{
	struct fixture *f = *state;

	assert_check_agrees_with_reload(f, true);
	/* rkclient: REQUIRE X509, RELOAD granted by the harness. */
	use_certificate(f, MY, env.client_cert, env.client_key);
	assert_check_agrees_with_reload(f, true);
}

/*
 * rkclient (PostgreSQL) and rknoreload (MariaDB) may not reload; the GRANT the check names,
 * run as it stands by the superuser, is what lets them, and revoking it takes it away again.
 */
static void
test_login_without_privilege_may_reload_after_the_named_grant(void **state)
{
	struct fixture *f = *state;
	const char *statement = NULL;
	struct rk_err err = { 0 };
	char grant[256];
	bool may = true;

	if (f->which == PG)
		use_certificate(f, PG, env.client_cert, env.client_key);
	else
		use_my_test_user(f, "rknoreload");
	assert_check_agrees_with_reload(f, false);
	assert_false(may_reload(f, grant, &statement));
	grant_for_this_test(f, f->which, grant, f->which == PG ?
	    "REVOKE EXECUTE ON FUNCTION pg_reload_conf() FROM rkclient" :
	    "REVOKE RELOAD ON *.* FROM 'rknoreload'@'%'");
	assert_check_agrees_with_reload(f, true);
	undo_now(f);
	assert_check_agrees_with_reload(f, false);

	/* A buffer too small for the GRANT is an error, never a GRANT cut short. */
	memset(grant, 'x', sizeof(grant));
	assert_int_equal(f->ops->check_reload_privilege(&may, grant, 12, NULL, &f->login, &err),
	    RK_E_INTERNAL);
	assert_false(may);
	assert_string_equal(grant, "");
}

static void
test_pg_superuser_or_inherited_grant_may_reload(void **state)
{
	struct fixture *f = *state;
	const char *statement = NULL;
	struct rk_err err = { 0 };
	char grant[256] = "x";
	bool may = true;

	use_certificate(f, PG, env.client_cert, env.client_key);
	grant_for_this_test(f, PG, "ALTER ROLE rkclient SUPERUSER",
	    "ALTER ROLE rkclient NOSUPERUSER INHERIT; REVOKE rkreloaders FROM rkclient");
	assert_check_agrees_with_reload(f, true);
	/* Through a role it is a member of (PG_TEST_ROLES), as the call itself counts it. */
	admin_sql(PG, "ALTER ROLE rkclient NOSUPERUSER; GRANT rkreloaders TO rkclient");
	assert_check_agrees_with_reload(f, true);
	/* NOINHERIT: still a member, but the role's privileges are not rkclient's. */
	admin_sql(PG, "ALTER ROLE rkclient NOINHERIT");
	assert_check_agrees_with_reload(f, false);

	/* A refused login is an error, not a "may not". */
	f->login.cert_file = f->login.key_file = NULL;
	assert_int_equal(f->ops->check_reload_privilege(&may, grant, sizeof(grant), &statement,
	    &f->login, &err), RK_E_REMOTE);
	assert_false(may);
	assert_string_equal(grant, "");
	assert_message_has(&err, "pg-lab 127.0.0.1:");
	assert_message_has(&err, "connection requires a valid client certificate");
}

/*
 * RELOAD counts from ALL PRIVILEGES ON *.*, from a default role, and from PUBLIC; not from
 * ALL PRIVILEGES on one database, SUPER, a role granted but not enabled at login, or a role
 * whose name spells a grant. Each answer is checked against FLUSH SSL itself.
 */
static void
test_my_reload_from_all_privileges_a_default_role_or_public_counts(void **state)
{
	static const struct {
		const char	*user;
		bool		 may;
	} cases[] = {
		{ "rkallpriv", true },
		{ "rkbyrole", true },
		{ "rkdball", false },
		{ "rksuper", false },
		{ "rkroleoff", false },
		{ "rktricky", false },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		use_my_test_user(f, cases[i].user);
		assert_check_agrees_with_reload(f, cases[i].may);
	}
	/* MariaDB 10.11 takes global grants to PUBLIC, and every account holds them. */
	grant_for_this_test(f, MY, "GRANT RELOAD ON *.* TO PUBLIC",
	    "REVOKE RELOAD ON *.* FROM PUBLIC");
	use_my_test_user(f, "rknoreload");
	assert_check_agrees_with_reload(f, true);
}

/*
 * The check reloads nothing: with a new certificate on disk and no reload, the server still
 * serves the old one after the check, and PostgreSQL did not load its configuration again
 * (pg_conf_load_time, and no "received SIGHUP" in its log). Both PostgreSQL probes are
 * exact: the postmaster of PostgreSQL 15 handles a SIGHUP before it accepts the next
 * connection, so the session psql opens afterwards already shows a reload the check made.
 * Then rekey's own reload proves the probes see one.
 */
static void
test_privilege_check_reloads_nothing(void **state)
{
	struct fixture *f = *state;
	char cert[PATH_T], key[PATH_T], grant[256], fp[96], want[96];
	const char *statement = NULL, *host = f->which == PG ? env.pg_host : env.my_host;
	struct rk_err err = { 0 };
	char *loaded = NULL, *again;
	off_t from = 0;

	issue_server_cert(cert, key, "DNS:localhost", "IP:127.0.0.1");
	assert_true(fingerprint_of_file(want, cert));
	assert_string_not_equal(want, env.original_fp);
	install_server_files(f, cert, key, 0600);
	if (f->which == PG) {
		loaded = pg_superuser_sql("SELECT pg_conf_load_time()");
		from = size_of(env.pg_log);
	}
	assert_true(may_reload(f, grant, &statement));
	assert_true(f->which == PG ? pg_served_fingerprint(fp, host) :
	    mariadb_served_fingerprint(fp));
	assert_string_equal(fp, env.original_fp);
	if (f->which == PG) {
		again = pg_superuser_sql("SELECT pg_conf_load_time()");
		assert_string_equal(again, loaded);
		free(again);
		assert_false(file_has_after(env.pg_log, from, "received SIGHUP"));
	}

	if (f->ops->reload_tls(&f->login, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	if (!wait_until_served(f->which, host, want))
		fail_msg("the new certificate is not served after %s", statement);
	if (f->which == PG) {
		again = pg_superuser_sql("SELECT pg_conf_load_time()");
		assert_string_not_equal(again, loaded);
		free(again);
		assert_true(file_has_after(env.pg_log, from, "received SIGHUP"));
	}
	free(loaded);
}

static void
test_plaintext_login_is_refused(void **state)
{
	struct fixture *f = *state;
	struct rk_err err = { 0 };
	bool refused = false;

	if (f->ops->check_plaintext_refused(&refused, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(refused);
	/* The certificate login too. */
	use_certificate(f, f->which, env.client_cert, env.client_key);
	refused = false;
	if (f->ops->check_plaintext_refused(&refused, &f->login, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(refused);
}

static void
test_no_message_holds_the_password(void **state)
{
	struct fixture *f = *state;
	struct rk_secret *pw = f->which == PG ? &env.pg_password : &env.my_password;
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	char grant[256];
	bool may;

	/* A wrong CA and a dead port: two failures after the password was handed over. */
	f->login.ca_file = env.client_cert;
	assert_int_not_equal(f->ops->check_login(&s, &f->login, &err), 0);
	assert_null(strstr(err.msg, (const char *)pw->ptr));
	rk_err_clear(&err);
	f->login.ca_file = env.ca;
	f->svc.connect.port = dead_port(f);
	assert_int_not_equal(f->ops->reload_tls(&f->login, NULL, &err), 0);
	assert_null(strstr(err.msg, (const char *)pw->ptr));
	rk_err_clear(&err);
	assert_int_not_equal(f->ops->check_reload_privilege(&may, grant, sizeof(grant), NULL,
	    &f->login, &err), 0);
	assert_null(strstr(err.msg, (const char *)pw->ptr));
}


/* ------------------------------------------------------------------------------------------ */
/* Deadlines: a server that answers a byte a second, or never */

#define SHORT_TIMEOUT	2	/* seconds; each exchange must end well within 3 times this */

/* Points f at a trickling server in mode, with the short timeout. */
static void
use_trickler(struct fixture *f, const char *mode, bool tls)
{
	f->svc.connect.port = rk_trickler_start(&f->trickler, trickle_script, mode, env.work,
	    tls ? env.server_cert : NULL, tls ? env.server_key : NULL);
	f->login.timeout = SHORT_TIMEOUT;
}

/* The call ended with RK_E_REMOTE, want in its message, within the margin. */
static void
assert_ended_in_time(int r, long long started, const struct rk_err *err, const char *want)
{
	long long took = now_ms() - started;

	assert_int_equal(r, RK_E_REMOTE);
	assert_message_has(err, want);
	if (took >= 3 * SHORT_TIMEOUT * 1000)
		fail_msg("took %lld ms with a timeout of %d s: %s", took, SHORT_TIMEOUT, err->msg);
}

static void
check_login_ends_at_the_deadline(struct fixture *f, const char *mode, const char *want)
{
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	char where[128], what[256], grant[256];
	bool refused = true, may = true;
	long long started;

	use_trickler(f, mode, false);
	format_into(where, sizeof(where), "%s 127.0.0.1:%d: ", f->svc.name, f->svc.connect.port);
	format_into(what, sizeof(what), "login as %s: %s: no answer within %d s",
	    f->svc.connect.user, want, SHORT_TIMEOUT);
	started = now_ms();
	assert_ended_in_time(f->ops->check_login(&s, &f->login, &err), started, &err, what);
	assert_message_has(&err, where);
	/* Silence is not a refusal: the plaintext check fails, it does not pass. */
	rk_err_clear(&err);
	started = now_ms();
	assert_ended_in_time(f->ops->check_plaintext_refused(&refused, &f->login, &err), started,
	    &err, what);
	assert_false(refused);
	rk_err_clear(&err);
	started = now_ms();
	assert_ended_in_time(f->ops->reload_tls(&f->login, NULL, &err), started, &err, what);
	rk_err_clear(&err);
	started = now_ms();
	assert_ended_in_time(f->ops->check_reload_privilege(&may, grant, sizeof(grant), NULL,
	    &f->login, &err), started, &err, what);
	assert_false(may);
	rk_trickler_stop(&f->trickler);
}

static void
test_pg_login_to_a_trickling_server_ends_at_the_deadline(void **state)
{
	struct fixture *f = *state;

	/* S to the SSLRequest, then a 16384-byte TLS record at a byte a second. */
	check_login_ends_at_the_deadline(f, "pg-tls", "TLS handshake");
	/* Accepted, never answered: libpq waits for the answer to its SSLRequest. */
	check_login_ends_at_the_deadline(f, "silent", "TLS handshake");
}

static void
test_my_login_to_a_trickling_server_ends_at_the_deadline(void **state)
{
	struct fixture *f = *state;

	/* The greeting at a byte a second: Connector/C's read timeout never trips. */
	check_login_ends_at_the_deadline(f, "mysql-greeting", "connect or greeting");
	check_login_ends_at_the_deadline(f, "silent", "connect or greeting");
}

/*
 * A server that lets the login in and then never answers the query (nor the cancel request
 * libpq 15 would send, and wait for without any timeout): the query ends at the deadline
 * the login started, with the statement named.
 */
static void
test_pg_query_that_is_never_answered_ends_at_the_deadline(void **state)
{
	struct fixture *f = *state;
	struct rk_tls_session s;
	struct rk_err err = { 0 };
	char what[128], grant[256];
	long long started;
	bool may = true;

	use_trickler(f, "pg-stall-query", true);
	/* The fake server does log in, with full verification of its certificate. */
	if (f->ops->check_login(&s, &f->login, &err) != 0)
		fail_msg("login to the stalling server: %s", err.msg);
	format_into(what, sizeof(what), "SELECT pg_reload_conf(): no answer within %d s",
	    SHORT_TIMEOUT);
	started = now_ms();
	assert_ended_in_time(f->ops->reload_tls(&f->login, NULL, &err), started, &err, what);
	/* The privilege check's own query, likewise. */
	format_into(what, sizeof(what), "'EXECUTE'): no answer within %d s", SHORT_TIMEOUT);
	rk_err_clear(&err);
	started = now_ms();
	assert_ended_in_time(f->ops->check_reload_privilege(&may, grant, sizeof(grant), NULL,
	    &f->login, &err), started, &err, what);
	assert_false(may);
}
/* ------------------------------------------------------------------------------------------ */

static int
int_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? (int)strtol(v, NULL, 10) : 0;
}

static int
read_env(void)
{
#define E(field, name)	do { if ((env.field = getenv(name)) == NULL) return -1; } while (0)
	E(dir, "RK_H_DIR");
	E(rekey, "RK_H_REKEY");
	E(ca, "RK_H_CA");
	E(ca_key, "RK_H_CA_KEY");
	E(crl, "RK_H_CA_CRL");
	E(client_cert, "RK_H_CLIENT_CERT");
	E(client_key, "RK_H_CLIENT_KEY");
	E(revoked_cert, "RK_H_REVOKED_CERT");
	E(revoked_key, "RK_H_REVOKED_KEY");
	E(server_cert, "RK_H_SERVER_CERT");
	E(server_key, "RK_H_SERVER_KEY");
	E(pg_host, "RK_H_PG_HOST");
	E(pg_data, "RK_H_PG_DATA");
	E(pg_log, "RK_H_PG_LOG");
	E(pg_cert, "RK_H_PG_SERVER_CERT");
	E(pg_key, "RK_H_PG_SERVER_KEY");
	E(pg_user, "RK_H_PG_USER");
	E(pg_cert_user, "RK_H_PG_CERT_USER");
	E(pg_password_file, "RK_H_PG_PASSWORD_FILE");
	E(pg_socket_dir, "RK_H_PG_SOCKET_DIR");
	E(my_host, "RK_H_MY_HOST");
	E(my_socket, "RK_H_MY_SOCKET");
	E(my_pid_file, "RK_H_MY_PID_FILE");
	E(my_cert, "RK_H_MY_SERVER_CERT");
	E(my_key, "RK_H_MY_SERVER_KEY");
	E(my_user, "RK_H_MY_USER");
	E(my_cert_user, "RK_H_MY_CERT_USER");
	E(my_password_file, "RK_H_MY_PASSWORD_FILE");
#undef E
	env.pg_port = int_env("RK_H_PG_PORT");
	env.my_port = int_env("RK_H_MY_PORT");
	return env.pg_port > 0 && env.my_port > 0 ? 0 : -1;
}

/*
 * The MariaDB users the suite creates, each with the noreload password, REQUIRE SSL, and
 * RELOAD from one source or none: none; ALL PRIVILEGES ON *.*; ALL PRIVILEGES on one
 * database only; SUPER only (which does not hold RELOAD since MariaDB 10.5.2); a default
 * role that holds RELOAD; the same role granted but never enabled; a default role that holds
 * nothing, named so that its SHOW GRANTS line reads "GRANT `x``, RELOAD ON *.* TO ...".
 */
static const char *const my_test_users[] = { "rknoreload", "rkallpriv", "rkdball", "rksuper",
	"rkbyrole", "rkroleoff", "rktricky", NULL };
#define MY_TRICKY_ROLE	"`x``, RELOAD ON *.* TO y`"
#define MY_TEST_GRANTS \
	"GRANT ALL PRIVILEGES ON *.* TO 'rkallpriv'@'%'; " \
	"GRANT ALL PRIVILEGES ON rkdb.* TO 'rkdball'@'%'; " \
	"GRANT SUPER ON *.* TO 'rksuper'@'%'; " \
	"CREATE ROLE rkreloader; GRANT RELOAD ON *.* TO rkreloader; " \
	"GRANT rkreloader TO 'rkbyrole'@'%', 'rkroleoff'@'%'; " \
	"SET DEFAULT ROLE rkreloader FOR 'rkbyrole'@'%'; " \
	"CREATE ROLE " MY_TRICKY_ROLE "; GRANT " MY_TRICKY_ROLE " TO 'rktricky'@'%'; " \
	"SET DEFAULT ROLE " MY_TRICKY_ROLE " FOR 'rktricky'@'%'"
/* A PostgreSQL role that may reload, for rkclient to inherit the privilege from. */
#define PG_TEST_ROLES \
	"CREATE ROLE rkreloaders NOLOGIN; " \
	"GRANT EXECUTE ON FUNCTION pg_reload_conf() TO rkreloaders"

/* Our folder, a second CA, the passwords, the MariaDB users and the PostgreSQL role above. */
static int
prepare(struct rk_err *err)
{
	unsigned char raw[12];
	char pw[32], sql[256];
	const char *init[] = { env.rekey, "pki", "init", "--ca-cn", "some other CA", env.other_ca,
	    NULL };
	int status;

	format_into(env.work, sizeof(env.work), "%s/services-%d", env.dir, (int)getpid());
	format_into(env.other_ca, sizeof(env.other_ca), "%s/other-ca", env.work);
	if (mkdir(env.work, 0755) != 0)
		return rk_fail_errno(err, "mkdir %s", env.work);
	free(run_capture(init, &status));
	if (status != 0)
		return rk_fail(err, RK_E_USAGE, "rekey pki init %s failed", env.other_ca);
	if (!fingerprint_of_file(env.original_fp, env.server_cert))
		return rk_fail(err, RK_E_USAGE, "no fingerprint of %s", env.server_cert);
	if (rk_secret_from_file(&env.pg_password, env.pg_password_file, err) != 0 ||
	    rk_secret_from_file(&env.my_password, env.my_password_file, err) != 0)
		return err->code;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return rk_fail(err, RK_E_CRYPTO, "RAND_bytes");
	for (size_t i = 0; i < sizeof(raw); i++)
		(void)snprintf(pw + 2 * i, 3, "%02x", raw[i]);
	for (size_t i = 0; my_test_users[i] != NULL; i++) {
		(void)snprintf(sql, sizeof(sql), "CREATE USER '%s'@'%%' IDENTIFIED BY '%s' "
		    "REQUIRE SSL", my_test_users[i], pw);
		if (mariadb_root_sql(sql) != 0)
			return rk_fail(err, RK_E_USAGE, "CREATE USER %s failed", my_test_users[i]);
	}
	if (mariadb_root_sql(MY_TEST_GRANTS) != 0)
		return rk_fail(err, RK_E_USAGE, "the grants of the MariaDB test users failed");
	free(pg_superuser_sql(PG_TEST_ROLES));
	return rk_secret_set(&env.noreload_password, pw, strlen(pw), err);
}

int
main(int argc, char **argv)
{
#define TPG(name)	cmocka_unit_test_setup_teardown(name, setup_pg, teardown)
#define TMY(name)	cmocka_unit_test_setup_teardown(name, setup_my, teardown)
	const struct CMUnitTest tests[] = {
		TPG(test_pg_verify_full_password_login_reports_tls_and_served_fingerprint),
		TPG(test_pg_verify_full_certificate_login_reports_tls_and_served_fingerprint),
		TMY(test_my_verify_full_password_login_reports_tls),
		TMY(test_my_verify_full_certificate_login_reports_tls),
		TPG(test_pg_reload_serves_new_certificate_without_restart),
		TMY(test_my_flush_ssl_serves_new_certificate_without_restart),
		TPG(test_pg_revoked_client_certificate_is_refused),
		TMY(test_my_revoked_client_certificate_is_refused),
		TPG(test_pg_key_mode_0644_keeps_old_certificate_and_log_says_why),
		TMY(test_my_mismatched_key_fails_flush_ssl_with_server_words),
		TPG(test_wrong_ca_fails_verification),
		TMY(test_wrong_ca_fails_verification),
		TPG(test_name_not_in_sans_fails_verify_full),
		TMY(test_name_not_in_sans_fails_verify_full),
		TPG(test_server_down_is_reported_with_address),
		TMY(test_server_down_is_reported_with_address),
		TPG(test_pg_reload_without_privilege_names_the_grant),
		TMY(test_my_reload_without_privilege_names_the_grant),
		TPG(test_pg_admin_login_may_reload),
		TMY(test_my_admin_and_certificate_logins_may_reload),
		TPG(test_login_without_privilege_may_reload_after_the_named_grant),
		TMY(test_login_without_privilege_may_reload_after_the_named_grant),
		TPG(test_pg_superuser_or_inherited_grant_may_reload),
		TMY(test_my_reload_from_all_privileges_a_default_role_or_public_counts),
		TPG(test_privilege_check_reloads_nothing),
		TMY(test_privilege_check_reloads_nothing),
		TPG(test_plaintext_login_is_refused),
		TMY(test_plaintext_login_is_refused),
		TPG(test_no_message_holds_the_password),
		TMY(test_no_message_holds_the_password),
		TPG(test_pg_login_to_a_trickling_server_ends_at_the_deadline),
		TMY(test_my_login_to_a_trickling_server_ends_at_the_deadline),
		TPG(test_pg_query_that_is_never_answered_ends_at_the_deadline),
	};
#undef TPG
#undef TMY
	struct rk_err err = { 0 };
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: test_services TRICKLE_SERVER_PY\n");
		return 2;
	}
	trickle_script = argv[1];
	if (geteuid() != 0 || read_env() != 0) {
		fprintf(stderr, "test_services: SKIP: needs root and with-servers.sh --pg --mariadb\n");
		return 77;
	}
	if (rk_mariadb_global_init(&err) != 0 || prepare(&err) != 0) {
		fprintf(stderr, "test_services: %s\n", err.msg);
		rk_secret_clear(&env.pg_password);
		rk_secret_clear(&env.my_password);
		return 1;
	}
	/* RK_TEST_FILTER=test_pg_* runs some tests only (cmocka's pattern). */
	if (getenv("RK_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("RK_TEST_FILTER"));
	failed = cmocka_run_group_tests_name("services", tests, NULL, NULL);
	rk_secret_clear(&env.pg_password);
	rk_secret_clear(&env.my_password);
	rk_secret_clear(&env.noreload_password);
	rk_mariadb_global_cleanup();
	return failed == 0 ? 0 : 1;
}
