/*
 * The client step over the local transport (no servers needed): two clients editing one .env
 * compose, and applying them out of order is refused; a missing file is named. The real
 * app host, psql and mariadb are in tests/integration/test_clients.c.
 */
#include "test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rekey/clientfile.h"
#include "rekey/hostfile.h"
#include "rekey/local.h"

static char dir[] = "/tmp/rk-clientfile-XXXXXX";
static char rekey_bin[4096];	/* REKEY_BIN, or the rekey next to this test (tests/valgrind.sh) */
static char env_path[600];

static struct rk_host host = { .name = (char *)"app", .transport = RK_TRANSPORT_LOCAL,
    .timeout = 30 };
static struct rk_setting tls_set[] = { { (char *)"DB_SSL_MODE", (char *)"verify-full",
    { 0, 0 } } };
static struct rk_setting url_set[] = { { (char *)"sslmode", (char *)"verify-full",
    { 0, 0 } } };
static struct rk_client clients[2];

static const char *before =
    "DB_SSL_MODE=require\n"
    "DATABASE_URL=postgresql://app:pw@db/app?sslmode=require\n";

static char *
slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(env_path, sizeof(env_path), "%s/.env", dir);
	fd = open(env_path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, before, strlen(before)), (ssize_t)strlen(before));
	close(fd);
	clients[0] = (struct rk_client){ .name = (char *)"tls", .host = &host, .path = env_path,
	    .format = RK_FORMAT_ENV, .set = tls_set, .nset = 1 };
	clients[1] = (struct rk_client){ .name = (char *)"url", .host = &host, .path = env_path,
	    .format = RK_FORMAT_CONNINFO, .variable = (char *)"DATABASE_URL", .set = url_set,
	    .nset = 1 };
	return 0;
}

static int
teardown(void **state)
{
	char path[700];

	(void)state;
	unlink(env_path);
	snprintf(path, sizeof(path), "rm -rf -- %s", dir);
	rk_test_run(path, sizeof(path), (char *[]){ "rm", "-rf", "--", dir, NULL });
	return 0;
}

static void
test_two_clients_of_one_file_compose_and_apply_in_order(void **state)
{
	struct rk_transport *t;
	struct rk_client_change *first, *second;
	struct rk_backup b1, b2;
	struct rk_err err = { 0 };
	struct rk_buf diff;
	struct stat st;

	(void)state;
	assert_int_equal(rk_local_transport_new(&t, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), 0);
	assert_int_equal(rk_client_change_read(&first, t, &clients[0], &err), 0);
	assert_int_equal(rk_client_change_read_after(&second, t, &clients[1], first, &err), 0);
	/* The second diff starts where the first ends: only DATABASE_URL changes in it. */
	rk_buf_init(&diff, 1 << 16);
	assert_int_equal(rk_client_change_diff(&diff, second, &err), 0);
	assert_non_null(strstr((const char *)diff.ptr, " DB_SSL_MODE=verify-full\n"));
	/* The masked line shows the file's own quoting: none before, and the quotes the
	 * editor adds for "?" (a shell would glob it) after. */
	assert_non_null(strstr((const char *)diff.ptr,
	    "-DATABASE_URL=postgresql://app:********@db/app?sslmode=require\n"));
	assert_non_null(strstr((const char *)diff.ptr,
	    "+DATABASE_URL='postgresql://app:********@db/app?sslmode=verify-full'\n"));
	assert_null(strstr((const char *)diff.ptr, ":pw@"));
	rk_buf_clear(&diff);

	/* Out of order, the second finds a file it did not expect, and writes nothing. */
	assert_int_equal(rk_client_change_apply(&b2, t, second, &err), RK_E_REMOTE);
	assert_string_equal(slurp(env_path), before);
	rk_err_clear(&err);
	assert_int_equal(rk_client_change_apply(&b1, t, first, &err), 0);
	assert_int_equal(rk_client_change_apply(&b2, t, second, &err), 0);
	assert_string_equal(slurp(env_path), "DB_SSL_MODE=verify-full\n"
	    "DATABASE_URL='postgresql://app:pw@db/app?sslmode=verify-full'\n");
	assert_int_equal(stat(env_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	/* Undone in reverse order, the file is as it was. */
	assert_int_equal(t->ops->restore_file(t, &b2, &err), 0);
	assert_int_equal(t->ops->restore_file(t, &b1, &err), 0);
	assert_string_equal(slurp(env_path), before);
	rk_backup_clear(&b1);
	rk_backup_clear(&b2);
	rk_client_change_free(first);
	rk_client_change_free(second);
	rk_transport_free(t);
}

static void
test_a_missing_file_is_named_and_not_created(void **state)
{
	struct rk_transport *t;
	struct rk_client_change *change = (struct rk_client_change *)1;
	struct rk_client missing = clients[0];
	struct rk_err err = { 0 };
	char path[700], want[800];

	(void)state;
	snprintf(path, sizeof(path), "%s/absent.env", dir);
	missing.path = path;
	assert_int_equal(rk_local_transport_new(&t, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), 0);
	assert_int_equal(rk_client_change_read(&change, t, &missing, &err), RK_E_REMOTE);
	assert_null(change);
	snprintf(want, sizeof(want), "app:%s: no such file (rekey edits configuration files, it "
	    "does not create them)", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(access(path, F_OK), -1);
	rk_transport_free(t);
}

static void
test_a_command_outcome_keeps_its_status_and_a_masked_last_line(void **state)
{
	struct rk_transport *t;
	struct rk_command_outcome out;
	struct rk_err err = { 0 };

	(void)state;
	assert_int_equal(rk_local_transport_new(&t, &host, &err), 0);
	assert_int_equal(t->ops->connect(t, &err), 0);
	assert_int_equal(rk_run_host_command(&out, t, "echo starting; echo 'first' >&2; "
	    "printf 'cannot reach postgresql://app:hunter2@db/x\\033[2J\\n\\n' >&2; exit 3",
	    &err), 0);
	assert_int_equal(out.exit_status, 3);
	assert_string_equal(out.summary, "cannot reach postgresql://app:********@db/x?[2J");
	/* Nothing on stderr: stdout's last line. */
	assert_int_equal(rk_run_host_command(&out, t, "echo rkclient; echo ok", &err), 0);
	assert_int_equal(out.exit_status, 0);
	assert_string_equal(out.summary, "ok");
	rk_transport_free(t);
}

/* Reads path whole into a malloc'ed, NUL-terminated string. */
static char *
read_all(const char *path)
{
	char *buf = malloc(65536);
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_non_null(buf);
	assert_true(fd >= 0);
	n = read(fd, buf, 65535);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/*
 * Fails when out holds any 6 characters in a row of the key's base64 lines (BEGIN and END
 * lines aside), or any 4 bytes in a row of its private scalar in hex, with or without colons.
 */
static void
assert_shows_nothing_of(const char *out, const char *pem, const char *scalar_hex)
{
	const char *line, *end;
	char frag[16];
	size_t i, n;

	for (line = pem; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
		end = strchr(line, '\n') != NULL ? strchr(line, '\n') : line + strlen(line);
		if (strncmp(line, "-----", 5) == 0)
			continue;
		for (i = 0; line + i + 6 <= end; i++) {
			snprintf(frag, sizeof(frag), "%.6s", line + i);
			if (strstr(out, frag) != NULL)
				fail_msg("the output shows \"%s\" of the key", frag);
		}
	}
	n = strlen(scalar_hex);
	for (i = 0; i + 8 <= n; i += 2) {
		snprintf(frag, sizeof(frag), "%.8s", scalar_hex + i);
		if (strstr(out, frag) != NULL)
			fail_msg("the output shows the secret bytes %s", frag);
		snprintf(frag, sizeof(frag), "%.2s:%.2s:%.2s:%.2s", scalar_hex + i,
		    scalar_hex + i + 2, scalar_hex + i + 4, scalar_hex + i + 6);
		if (strstr(out, frag) != NULL)
			fail_msg("the output shows the secret bytes %s", frag);
	}
}

/* The private scalar of an EC key, as hex without colons, from `openssl pkey -text`. */
static void
scalar_of(char *hex, size_t size, const char *key_path)
{
	static char text[16384];
	const char *p, *stop;
	size_t n = 0;

	assert_int_equal(rk_test_run(text, sizeof(text), (char *[]){ "openssl", "pkey", "-in",
	    (char *)key_path, "-noout", "-text", NULL }), 0);
	assert_non_null(p = strstr(text, "priv:"));
	assert_non_null(stop = strstr(p, "pub:"));
	for (p += 5; p < stop && n + 1 < size; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
			hex[n++] = *p;
	hex[n] = '\0';
	/* 32 bytes, with a leading 00 when the top bit is set. */
	assert_true(n >= 64);
}

/*
 * issue #12: a key file given as a client's env file was shown as diff context, 20 of its
 * 32 secret bytes with it. A real P-256 key (SEC1 and PKCS#8), and the same key without its
 * BEGIN line, through the library and through `rekey plan --diff` on a local host.
 */
static void
test_plan_diff_shows_nothing_of_a_private_key_given_as_a_client_file(void **state)
{
	static char out[1 << 16];
	static const char *const variants[] = { "sec1", "pkcs8", "tail" };
	const char *rekey = rekey_bin;
	char key[700], playbook[700], ca_key[700], ca_crt[700], hex[200], yml[4096];
	struct rk_transport *t;
	struct rk_client_change *change = (struct rk_client_change *)1;
	struct rk_client c = clients[0];
	struct rk_err err = { 0 };
	char *pem, *body;
	size_t v;

	(void)state;
	assert_true(rekey[0] != '\0' && access(rekey, X_OK) == 0);
	snprintf(key, sizeof(key), "%s/key.env", dir);
	snprintf(playbook, sizeof(playbook), "%s/pem.yml", dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
	snprintf(ca_crt, sizeof(ca_crt), "%s/ca.crt", dir);
	/* A real CA, so that plan has nothing else to say about it. */
	assert_int_equal(rk_test_run(out, sizeof(out), (char *[]){ "openssl", "req", "-x509",
	    "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
	    "-out", ca_crt, "-subj", "/CN=rekey test CA", "-days", "2", "-addext",
	    "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
	    NULL }), 0);
	assert_int_equal(chmod(ca_key, 0600), 0);
	snprintf(yml, sizeof(yml),
	    "version: 1\n"
	    "incident: {id: INC-pem, reason: keyCompromise}\n"
	    "ca: {cert: %s, key: %s}\n"
	    "hosts:\n"
	    "  here: {transport: local}\n"
	    "clients:\n"
	    "  - name: keyfile\n"
	    "    host: here\n"
	    "    file: {path: %s, format: env}\n"
	    "    set: {DB_SSL_MODE: verify-full}\n", ca_crt, ca_key, key);
	write_text(playbook, yml, 0644);
	c.path = key;
	for (v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		unlink(key);
		if (v == 1)
			assert_int_equal(rk_test_run(out, sizeof(out), (char *[]){ "openssl",
			    "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
			    "-out", key, NULL }), 0);
		else
			assert_int_equal(rk_test_run(out, sizeof(out), (char *[]){ "openssl",
			    "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key,
			    NULL }), 0);
		scalar_of(hex, sizeof(hex), key);
		pem = read_all(key);
		if (v == 2) {
			/* The tail alone: no BEGIN line, still nothing of it shows. */
			body = strchr(pem, '\n') + 1;
			write_text(key, body, 0600);
		}
		assert_int_equal(chmod(key, 0600), 0);

		rk_err_clear(&err);
		assert_int_equal(rk_local_transport_new(&t, &host, &err), 0);
		assert_int_equal(t->ops->connect(t, &err), 0);
		assert_int_equal(rk_client_change_read(&change, t, &c, &err), RK_E_USAGE);
		assert_null(change);
		assert_shows_nothing_of(err.msg, pem, hex);
		rk_transport_free(t);

		assert_int_equal(rk_test_run(out, sizeof(out), (char *[]){ (char *)rekey, "plan",
		    "--diff", playbook, NULL }), 1);
		assert_non_null(strstr(out, v == 2 ? "key.env:1: not a KEY=value line" :
		    "key.env:1: holds a PEM private key block; a client configuration file holding "
		    "one is neither edited nor shown"));
		assert_shows_nothing_of(out, pem, hex);
		free(pem);
	}
	unlink(key);
	unlink(playbook);
	unlink(ca_key);
	unlink(ca_crt);
}

int
main(int argc, char **argv)
{
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_clients_of_one_file_compose_and_apply_in_order),
		cmocka_unit_test(test_a_missing_file_is_named_and_not_created),
		cmocka_unit_test(test_a_command_outcome_keeps_its_status_and_a_masked_last_line),
		cmocka_unit_test(test_plan_diff_shows_nothing_of_a_private_key_given_as_a_client_file),
	};

	if (getenv("REKEY_BIN") != NULL)
		snprintf(rekey_bin, sizeof(rekey_bin), "%s", getenv("REKEY_BIN"));
	else if (slash != NULL)
		snprintf(rekey_bin, sizeof(rekey_bin), "%.*s/rekey", (int)(slash - argv[0]),
		    argv[0]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
