/*
 * The TLS probe against the harness's real PostgreSQL 15 and MariaDB (run under
 * with-servers.sh --pg --mariadb): what it reports must be what `openssl s_client -starttls`
 * reports, a wrong CA, a wrong name and a revoked server certificate must each be told for
 * what they are, and a handshake older than the server's minimum must be refused.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "rekey/probe.h"

#include "trickler.h"

struct server {
	enum rk_probe_protocol	 protocol;
	const char		*starttls;	/* s_client's name for it */
	int			 port;
	const char		*cert;		/* the certificate file the server loads */
};

static struct server pg, my;

/* trickle_server.py, from the command line. */
static const char *trickle_script;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		fail_msg("%s is not set: run under tests/harness/with-servers.sh --pg --mariadb",
		    name);
	return v;
}

/* A port from the harness's environment, all of it digits and in range. */
static int
env_port(const char *name)
{
	const char *v = env(name);
	char *end;
	long port = strtol(v, &end, 10);

	if (*end != '\0' || port < 1 || port > 65535)
		fail_msg("%s=%s is not a port", name, v);
	return (int)port;
}

static struct rk_probe_request
request_for(const struct server *s)
{
	struct rk_probe_request r = { s->protocol, "127.0.0.1", s->port, NULL,
	    env("RK_H_CA"), NULL, 10, 0, 0 };

	return r;
}

/* From s_client's "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" line, which it prints
 * after every handshake (its session block is skipped when the server closes first). */
static void
s_client_session(char *protocol, char *cipher, size_t size, const char *text)
{
	const char *p = strstr(text, "\nNew, "), *comma;

	protocol[0] = cipher[0] = '\0';
	if (p == NULL || (comma = strchr(p + 6, ',')) == NULL)
		return;
	snprintf(protocol, size, "%.*s", (int)(comma - (p + 6)), p + 6);
	if ((p = strstr(comma, "Cipher is ")) != NULL)
		snprintf(cipher, size, "%.*s", (int)strcspn(p + 10, "\n"), p + 10);
}

static void
fingerprint_of_file(char *out, size_t size, const char *file)
{
	char text[512], *eq;
	char *argv[] = { "openssl", "x509", "-in", (char *)file, "-noout", "-fingerprint",
	    "-sha256", NULL };

	assert_int_equal(rk_test_run(text, sizeof(text), argv), 0);
	assert_non_null(eq = strchr(text, '='));
	snprintf(out, size, "%.*s", (int)strcspn(eq + 1, "\n"), eq + 1);
}

static void
check_agrees_with_s_client(const struct server *s)
{
	struct rk_probe_request req = request_for(s);
	struct rk_probe_result res;
	struct rk_err err = { 0 };
	char text[65536], connect[64], want[128], protocol[32], cipher[64];
	char *argv[] = { "openssl", "s_client", "-starttls", (char *)s->starttls, "-connect",
	    connect, "-CAfile", (char *)env("RK_H_CA"), "-verify_return_error", NULL };

	snprintf(connect, sizeof(connect), "127.0.0.1:%d", s->port);
	assert_int_equal(rk_test_run(text, sizeof(text), argv), 0);
	if (rk_probe(&res, &req, &err) != 0)
		fail_msg("probe: %s", err.msg);
	s_client_session(protocol, cipher, sizeof(cipher), text);
	assert_string_equal(res.protocol, protocol);
	assert_string_equal(res.cipher, cipher);
	fingerprint_of_file(want, sizeof(want), s->cert);
	assert_string_equal(res.fingerprint, want);
	assert_true(res.chain_ok);
	assert_true(res.name_ok);
	assert_string_equal(res.sans, "DNS:localhost, IP:127.0.0.1");
	assert_non_null(strstr(res.subject, "CN=localhost"));
	assert_true(res.not_after > time(NULL));
}

static void
test_postgresql_probe_agrees_with_s_client(void **state)
{
	(void)state;
	check_agrees_with_s_client(&pg);
}

static void
test_mariadb_probe_agrees_with_s_client(void **state)
{
	(void)state;
	check_agrees_with_s_client(&my);
}

static void
test_a_name_not_in_the_certificate_is_told_apart_from_the_chain(void **state)
{
	struct rk_probe_request req = request_for(&pg);
	struct rk_probe_result res;
	struct rk_err err = { 0 };

	(void)state;
	req.name = "db.example.com";
	assert_int_equal(rk_probe(&res, &req, &err), 0);
	assert_true(res.chain_ok);
	assert_false(res.name_ok);
	req.name = "localhost";
	assert_int_equal(rk_probe(&res, &req, &err), 0);
	assert_true(res.name_ok);
}

static void
test_another_ca_fails_the_chain_with_its_reason(void **state)
{
	char dir[] = "/tmp/rk-probe-XXXXXX", ca[96], out[4096];
	char *init[] = { (char *)env("RK_H_REKEY"), "pki", "init", dir, NULL };
	char *rm[] = { "rm", "-rf", dir, NULL };
	struct rk_probe_request req;
	struct rk_probe_result res;
	struct rk_err err = { 0 };
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rk_test_run(out, sizeof(out), init), 0);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	for (i = 0; i < 2; i++) {
		req = request_for(i == 0 ? &pg : &my);
		req.ca_file = ca;
		assert_int_equal(rk_probe(&res, &req, &err), 0);
		assert_false(res.chain_ok);
		/* OpenSSL's words depend on whether the server also sent its CA. */
		if (strcmp(res.chain_error, "unable to get local issuer certificate") != 0 &&
		    strcmp(res.chain_error, "self-signed certificate in certificate chain") != 0)
			fail_msg("unexpected reason: %s", res.chain_error);
		assert_true(res.name_ok);
		assert_true(res.fingerprint[0] != '\0');	/* the facts are there all the same */
	}
	(void)rk_test_run(out, sizeof(out), rm);
}

static void
test_a_revoked_server_certificate_is_reported_with_the_crl(void **state)
{
	char dir[] = "/tmp/rk-probe-XXXXXX", crl[96], ledger[96], out[4096];
	char *cp[] = { "cp", (char *)env("RK_H_CA_CRL"), crl, NULL };
	char *revoke[] = { (char *)env("RK_H_REKEY"), "pki", "revoke", "--ca-cert",
	    (char *)env("RK_H_CA"), "--ca-key", (char *)env("RK_H_CA_KEY"), "--crl", crl,
	    "--ledger", ledger, "--cert", (char *)env("RK_H_PG_SERVER_CERT"), NULL };
	char *rm[] = { "rm", "-rf", dir, NULL };
	struct rk_probe_request req = request_for(&pg);
	struct rk_probe_result res;
	struct rk_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(crl, sizeof(crl), "%s/ca.crl", dir);
	snprintf(ledger, sizeof(ledger), "%s/ledger.json", dir);
	assert_int_equal(rk_test_run(out, sizeof(out), cp), 0);
	/* The harness's CRL does not list the server: the chain passes with it. */
	req.crl_file = crl;
	assert_int_equal(rk_probe(&res, &req, &err), 0);
	assert_true(res.chain_ok);
	if (rk_test_run(out, sizeof(out), revoke) != 0)
		fail_msg("rekey pki revoke: %s", out);
	assert_int_equal(rk_probe(&res, &req, &err), 0);
	assert_false(res.chain_ok);
	assert_string_equal(res.chain_error, "certificate revoked");
	(void)rk_test_run(out, sizeof(out), rm);
}

static void
test_handshakes_older_than_the_minimum_are_refused(void **state)
{
	struct rk_probe_request req;
	struct rk_err err = { 0 };
	bool refused = false;

	(void)state;
	/* Both servers accept TLS 1.2 and 1.3 only (their defaults on Debian 12). */
	req = request_for(&pg);
	if (rk_probe_refuses_older_than(&refused, &req, TLS1_2_VERSION, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(refused);
	req = request_for(&my);
	assert_int_equal(rk_probe_refuses_older_than(&refused, &req, TLS1_2_VERSION, &err), 0);
	assert_true(refused);
	/* The check can fail: TLS 1.2 is accepted, so "older than 1.3" is not refused. */
	req = request_for(&pg);
	assert_int_equal(rk_probe_refuses_older_than(&refused, &req, TLS1_3_VERSION, &err), 0);
	assert_false(refused);
}

static void
test_unreachable_and_non_tls_servers_fail_with_the_cause(void **state)
{
	struct rk_probe_request req = request_for(&pg);
	struct rk_probe_result res;
	struct rk_err err = { 0 };
	char want[64];

	(void)state;
	req.port = 1;		/* nothing listens on port 1 of loopback */
	assert_int_equal(rk_probe(&res, &req, &err), RK_E_REMOTE);
	snprintf(want, sizeof(want), "127.0.0.1:1: connect: Connection refused");
	assert_string_equal(err.msg, want);
	rk_err_clear(&err);
	/* MariaDB's port spoken to as PostgreSQL: the greeting is not an answer to SSLRequest. */
	req = request_for(&my);
	req.protocol = RK_PROBE_POSTGRESQL;
	assert_int_equal(rk_probe(&res, &req, &err), RK_E_REMOTE);
	assert_non_null(strstr(err.msg, "not a PostgreSQL server"));
}

static void
run_ok(char *const argv[])
{
	char out[8192];

	if (rk_test_run(out, sizeof(out), argv) != 0)
		fail_msg("%s failed: %s", argv[0], out);
}

/* Installs cert and key as PostgreSQL's (key first, with key_mode) and reloads. */
static void
install_pg_pair(const char *cert, const char *key, const char *key_mode)
{
	char *install_key[] = { "install", "-o", "postgres", "-g", "postgres", "-m",
	    (char *)key_mode, (char *)key, (char *)env("RK_H_PG_SERVER_KEY"), NULL };
	char *install_cert[] = { "install", "-o", "postgres", "-g", "postgres", "-m", "0644",
	    (char *)cert, (char *)env("RK_H_PG_SERVER_CERT"), NULL };
	char *reload[] = { "psql", "-X", "-q", "-h", (char *)env("RK_H_PG_SOCKET_DIR"), "-p",
	    (char *)env("RK_H_PG_PORT"), "-U", "postgres", "-c", "SELECT pg_reload_conf()", NULL };

	run_ok(install_key);
	run_ok(install_cert);
	run_ok(reload);
}

static void
issue_server_pair(const char *dir, const char *name)
{
	char cert[128], key[128], ledger[128];
	char *issue[] = { (char *)env("RK_H_REKEY"), "pki", "issue", "--ca-cert",
	    (char *)env("RK_H_CA"), "--ca-key", (char *)env("RK_H_CA_KEY"), "--ledger", ledger,
	    "--profile", "server", "--subject", "/CN=localhost", "--san", "DNS:localhost",
	    "--san", "IP:127.0.0.1", "--days", "2", "--cert-out", cert, "--key-out", key, NULL };

	snprintf(cert, sizeof(cert), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(ledger, sizeof(ledger), "%s/ledger.json", dir);
	run_ok(issue);
}

static void
test_a_reload_is_confirmed_by_what_is_served(void **state)
{
	char dir[] = "/tmp/rk-probe-XXXXXX", cert[128], key[128], want[128], first[128];
	char original[128], out[256];
	char *rm[] = { "rm", "-rf", dir, NULL };
	struct rk_probe_request req = request_for(&pg);
	struct rk_probe_result res;
	struct rk_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	fingerprint_of_file(original, sizeof(original), env("RK_H_SERVER_CERT"));
	issue_server_pair(dir, "one");
	snprintf(cert, sizeof(cert), "%s/one.crt", dir);
	snprintf(key, sizeof(key), "%s/one.key", dir);
	fingerprint_of_file(first, sizeof(first), cert);
	install_pg_pair(cert, key, "0600");
	if (rk_probe_wait_for_fingerprint(&res, &req, first, 10000, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(res.fingerprint, first);

	/* A key PostgreSQL refuses (group and world readable): pg_reload_conf() still says
	 * true, the old certificate stays served, and the wait says so. */
	issue_server_pair(dir, "two");
	snprintf(cert, sizeof(cert), "%s/two.crt", dir);
	snprintf(key, sizeof(key), "%s/two.key", dir);
	fingerprint_of_file(want, sizeof(want), cert);
	install_pg_pair(cert, key, "0644");
	assert_int_equal(rk_probe_wait_for_fingerprint(&res, &req, want, 1500, &err),
	    RK_E_REMOTE);
	snprintf(out, sizeof(out), "still serves %.23s...", first);
	assert_non_null(strstr(err.msg, out));
	assert_non_null(strstr(err.msg, "the reload did not take the new files"));
	assert_string_equal(res.fingerprint, first);

	/* Put the harness's own pair back for the tests that follow. */
	rk_err_clear(&err);
	install_pg_pair(env("RK_H_SERVER_CERT"), env("RK_H_SERVER_KEY"), "0600");
	if (rk_probe_wait_for_fingerprint(NULL, &req, original, 10000, &err) != 0)
		fail_msg("%s", err.msg);
	(void)rk_test_run(out, sizeof(out), rm);
}

/* ------------------------------------------------------------------------------------------ */
/* Deadlines: a server that answers a byte a second, or never */

#define SHORT_TIMEOUT	2	/* seconds; each exchange must end well within 3 times this */

static void
assert_ended_in_time(int r, long long started, const struct rk_err *err, const char *want)
{
	long long took = rk_trickler_now_ms() - started;

	assert_int_equal(r, RK_E_REMOTE);
	if (strstr(err->msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err->msg, want);
	if (took >= 3 * SHORT_TIMEOUT * 1000)
		fail_msg("took %lld ms with a timeout of %d s: %s", took, SHORT_TIMEOUT, err->msg);
}

static void
probe_ends_at_the_deadline(const char *mode, enum rk_probe_protocol protocol,
    const char *phase)
{
	struct rk_probe_request req = request_for(&pg);
	struct rk_probe_result res;
	struct rk_err err = { 0 };
	char want[128];
	bool refused = true;
	long long started;
	pid_t pid = 0;

	req.protocol = protocol;
	req.port = rk_trickler_start(&pid, trickle_script, mode, env("RK_H_DIR"), NULL, NULL);
	req.timeout = SHORT_TIMEOUT;
	snprintf(want, sizeof(want), "127.0.0.1:%d: %s: no answer within %d s", req.port, phase,
	    SHORT_TIMEOUT);
	started = rk_trickler_now_ms();
	assert_ended_in_time(rk_probe(&res, &req, &err), started, &err, want);
	/* The older-TLS check is one exchange too; silence there proves no refusal. */
	rk_err_clear(&err);
	started = rk_trickler_now_ms();
	assert_ended_in_time(rk_probe_refuses_older_than(&refused, &req, TLS1_2_VERSION, &err),
	    started, &err, want);
	assert_false(refused);
	rk_trickler_stop(&pid);
}

static void
test_a_trickling_or_silent_server_cannot_stretch_the_probe(void **state)
{
	(void)state;
	/* S, then a TLS record header announcing 16384 bytes, then a byte a second. */
	probe_ends_at_the_deadline("pg-tls", RK_PROBE_POSTGRESQL, "TLS handshake");
	/* A MySQL greeting of 1 KB at a byte a second. */
	probe_ends_at_the_deadline("mysql-greeting", RK_PROBE_MYSQL, "MySQL greeting");
	/* Accepted, never answered. */
	probe_ends_at_the_deadline("silent", RK_PROBE_POSTGRESQL, "SSLRequest");
	probe_ends_at_the_deadline("silent", RK_PROBE_MYSQL, "MySQL greeting");
}

/* Waiting for a fingerprint never outlasts its own limit, whatever one try may take. */
static void
test_waiting_for_a_fingerprint_on_a_silent_server_ends_in_its_time(void **state)
{
	struct rk_probe_request req = request_for(&pg);
	struct rk_err err = { 0 };
	long long started;
	pid_t pid = 0;

	(void)state;
	req.port = rk_trickler_start(&pid, trickle_script, "silent", env("RK_H_DIR"), NULL, NULL);
	req.timeout = 30;	/* one try may take this long; the wait may not */
	started = rk_trickler_now_ms();
	assert_ended_in_time(rk_probe_wait_for_fingerprint(NULL, &req, "AB:CD", 1500, &err),
	    started, &err, "SSLRequest: no answer within");
	rk_trickler_stop(&pid);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postgresql_probe_agrees_with_s_client),
		cmocka_unit_test(test_mariadb_probe_agrees_with_s_client),
		cmocka_unit_test(test_a_name_not_in_the_certificate_is_told_apart_from_the_chain),
		cmocka_unit_test(test_another_ca_fails_the_chain_with_its_reason),
		cmocka_unit_test(test_a_revoked_server_certificate_is_reported_with_the_crl),
		cmocka_unit_test(test_handshakes_older_than_the_minimum_are_refused),
		cmocka_unit_test(test_unreachable_and_non_tls_servers_fail_with_the_cause),
		cmocka_unit_test(test_a_reload_is_confirmed_by_what_is_served),
		cmocka_unit_test(test_a_trickling_or_silent_server_cannot_stretch_the_probe),
		cmocka_unit_test(
		    test_waiting_for_a_fingerprint_on_a_silent_server_ends_in_its_time),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_probe TRICKLE_SERVER_PY\n");
		return 2;
	}
	trickle_script = argv[1];
	pg = (struct server){ RK_PROBE_POSTGRESQL, "postgres", env_port("RK_H_PG_PORT"),
	    env("RK_H_PG_SERVER_CERT") };
	my = (struct server){ RK_PROBE_MYSQL, "mysql", env_port("RK_H_MY_PORT"),
	    env("RK_H_MY_SERVER_CERT") };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
