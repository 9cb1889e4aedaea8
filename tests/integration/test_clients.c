/*
 * Client configuration updates (issue #7) on real servers: an app host (the harness's sshd,
 * login rkuser) holds a .env, a .env with a DATABASE_URL, a pg_service.conf and a my.cnf that
 * point at a CA the servers do not use, so real `psql` and `mariadb` run there with full
 * verification fail. rekey pushes the client's CA, certificate and key, edits the four files
 * through the ssh transport, and then the same clients, run on the app host as the playbook's
 * verify commands, log in over verified TLS with the client certificate. Rollback puts every
 * byte, owner and mode back, and the clients fail again.
 * Runs under tests/harness/with-servers.sh --ssh 1 --pg --mariadb (root, RK_H_ variables).
 */
#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "rekey/clientfile.h"
#include "rekey/envfile.h"
#include "rekey/hostfile.h"
#include "rekey/playbook.h"
#include "rekey/ssh.h"
#include "rekey/transport.h"

#define NCLIENTS	4

/* What every test works on: the playbook's model, an ssh transport to the app host, and the
 * app's folder (the harness's scratch folder of the sshd, owned by rkuser). */
static struct {
	const char		*rekey;		/* the rekey program, for `plan --diff` */
	char			 dir[512];
	char			 playbook[600];
	struct rk_model		*model;
	struct rk_transport	*t;
	uid_t			 uid;
	gid_t			 gid;
} fx;

/* The files as the app's owner left them: old CA, TLS not verified. */
static const struct {
	const char	*name;
	mode_t		 mode;
	const char	*text;		/* @DIR@: the folder, @PG@ and @MY@: the ports */
} files[] = {
	{ "app.env", 0640,
	  "# billing app (deployed by hand)\n"
	  "export APP_NAME=billing\n"
	  "DB_PASSWORD='s3cr3t pass' # rotated by the DBAs, not by rekey\n"
	  "DB_HOST=127.0.0.1\n"
	  "DB_PORT=@PG@\n"
	  "DB_USER=rkclient\n"
	  "DB_SSL_MODE=require\n"
	  "DB_SSL_CA_CERT=\"@DIR@/old-ca.crt\"\n"
	  "\n"
	  "# keep this comment and the blank line above\n"
	  "FEATURE_FLAGS=\"a=1#b\"" },
	{ "url.env", 0600,
	  "# sourced by sh: quoted, or \"&\" would end the command\n"
	  "DATABASE_URL='postgresql://rkclient:hunter2@127.0.0.1:@PG@/postgres?sslmode=require"
	  "&sslrootcert=@DIR@/old-ca.crt&application_name=billing'\n"
	  "WORKERS=4\n" },
	{ "pg_service.conf", 0644,
	  "# libpq services of the billing app\n"
	  "[app]\n"
	  "host=127.0.0.1\n"
	  "port=@PG@\n"
	  "dbname=postgres\n"
	  "user=rkclient\n"
	  "sslmode=verify-full\n"
	  "sslrootcert=@DIR@/old-ca.crt\n"
	  "\n"
	  "[reporting]\n"
	  "host=127.0.0.1\n"
	  "sslmode=require\n" },
	{ "my.cnf", 0600,
	  "!includedir @DIR@/conf.d\n"
	  "[client]\n"
	  "host = 127.0.0.1\n"
	  "port = @MY@\n"
	  "user = rkclient\n"
	  "ssl-ca = @DIR@/old-ca.crt\n"
	  "ssl-verify-server-cert\n"
	  "\n"
	  "[mysqldump]\n"
	  "password = \"dump pass\"\n" },
};

static const char *
need(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set: run under tests/harness/with-servers.sh", name);
	return v;
}

static void
path_in(char *out, size_t size, const char *name)
{
	assert_true((size_t)snprintf(out, size, "%s/%s", fx.dir, name) < size);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchown(fd, fx.uid, fx.gid), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The whole file, as a string to free; NULL if it cannot be read. */
static char *
read_text(const char *path)
{
	char *buf;
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The original text of files[i], for this harness's folder and ports. */
static char *
original(size_t i)
{
	const char *words[][2] = { { "@DIR@", fx.dir }, { "@PG@", need("RK_H_PG_PORT") },
	    { "@MY@", need("RK_H_MY_PORT") } };
	const char *p = files[i].text;
	char *out = calloc(1, 8192);
	size_t n = 0, w, len;

	assert_non_null(out);
	while (*p != '\0') {
		for (w = 0; w < 3 && strncmp(p, words[w][0], strlen(words[w][0])) != 0; w++)
			;
		if (w == 3) {
			out[n++] = *p++;
			continue;
		}
		len = strlen(words[w][1]);
		assert_true(n + len < 8000);
		memcpy(out + n, words[w][1], len);
		n += len;
		p += strlen(words[w][0]);
	}
	return out;
}

static void
write_originals(void)
{
	char path[600], *text;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		path_in(path, sizeof(path), files[i].name);
		text = original(i);
		write_text(path, text, files[i].mode);
		free(text);
	}
}

static void
write_playbook(void)
{
	char *yml = NULL;
	FILE *f;

	assert_true(asprintf(&yml,
	    "version: 1\n"
	    "ca: {cert: %2$s, key: %3$s}\n"
	    "certificates:\n"
	    "  app-client: {profile: client, subject: /CN=rkclient, key: ec-p256, days: 30}\n"
	    "hosts:\n"
	    "  app1: {transport: ssh, address: 127.0.0.1, port: %4$s, user: rkuser,\n"
	    "         identity: %5$s, known_hosts: %6$s}\n"
	    "clients:\n"
	    "  - name: app-env\n"
	    "    host: app1\n"
	    "    file: {path: %1$s/app.env, format: env}\n"
	    "    set:\n"
	    "      DB_SSL_MODE: verify-full\n"
	    "      DB_SSL_CA_CERT: %1$s/db-ca.crt\n"
	    "      DB_SSL_CLIENT_CERT: %1$s/app.crt\n"
	    "      DB_SSL_CLIENT_KEY: %1$s/app.key\n"
	    "    files:\n"
	    "      ca: {path: %1$s/db-ca.crt, mode: \"0644\"}\n"
	    "      cert: {path: %1$s/app.crt, certificate: app-client, mode: \"0644\"}\n"
	    "      key: {path: %1$s/app.key, certificate: app-client, mode: \"0600\"}\n"
	    "    reload: {command: \"touch %1$s/reloaded\"}\n"
	    "    verify: {command: \"set -a; . %1$s/app.env; psql \\\"host=$DB_HOST port=$DB_PORT "
	    "dbname=postgres user=$DB_USER sslmode=$DB_SSL_MODE sslrootcert=$DB_SSL_CA_CERT "
	    "sslcert=$DB_SSL_CLIENT_CERT sslkey=$DB_SSL_CLIENT_KEY\\\" -Atc \\\"select "
	    "current_user || ' ' || ssl from pg_stat_ssl where pid = pg_backend_pid()\\\"\"}\n"
	    "  - name: app-url\n"
	    "    host: app1\n"
	    "    file: {path: %1$s/url.env, format: conninfo, variable: DATABASE_URL}\n"
	    "    set: {sslmode: verify-full, sslrootcert: %1$s/db-ca.crt,\n"
	    "          sslcert: %1$s/app.crt, sslkey: %1$s/app.key}\n"
	    "    verify: {command: \"set -a; . %1$s/url.env; psql \\\"$DATABASE_URL\\\" -Atc "
	    "\\\"select current_user || ' ' || ssl from pg_stat_ssl where pid = "
	    "pg_backend_pid()\\\"\"}\n"
	    "  - name: app-service\n"
	    "    host: app1\n"
	    "    file: {path: %1$s/pg_service.conf, format: pg_service, section: app}\n"
	    "    set: {sslrootcert: %1$s/db-ca.crt, sslcert: %1$s/app.crt, sslkey: %1$s/app.key}\n"
	    "    verify: {command: \"PGSERVICEFILE=%1$s/pg_service.conf psql service=app -Atc "
	    "\\\"select current_user || ' ' || ssl from pg_stat_ssl where pid = "
	    "pg_backend_pid()\\\"\"}\n"
	    "  - name: app-mycnf\n"
	    "    host: app1\n"
	    "    file: {path: %1$s/my.cnf, format: ini, section: client}\n"
	    "    set: {ssl-ca: %1$s/db-ca.crt, ssl-cert: %1$s/app.crt, ssl-key: %1$s/app.key,\n"
	    "          ssl-verify-server-cert: \"1\"}\n"
	    "    verify: {command: \"mariadb --defaults-file=%1$s/my.cnf -N -B -e \\\"select "
	    "current_user(), variable_value from information_schema.session_status where "
	    "variable_name = 'Ssl_version'\\\"\"}\n",
	    fx.dir, need("RK_H_CA"), need("RK_H_CA_KEY"), need("RK_H_SSH_PORT"),
	    need("RK_H_SSH_KEY"), need("RK_H_KNOWN_HOSTS")) > 0);
	path_in(fx.playbook, sizeof(fx.playbook), "rekey.yml");
	assert_non_null(f = fopen(fx.playbook, "w"));
	assert_int_equal(fputs(yml, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(yml);
}

static int
setup(void **state)
{
	struct passwd *pw = getpwnam(need("RK_H_SSH_USER"));
	struct rk_diags diags;
	struct rk_err err = { 0 };
	char out[4096], old_ca[600];
	const char *scratch = need("RK_H_SSH_SCRATCH_DIRS");

	(void)state;
	assert_non_null(pw);
	fx.uid = pw->pw_uid;
	fx.gid = pw->pw_gid;
	/* The first scratch folder: the one of the first (and only) sshd. */
	snprintf(fx.dir, sizeof(fx.dir), "%.*s", (int)strcspn(scratch, " "), scratch);
	/* A CA the servers do not use: what the app trusted before the rotation. */
	path_in(old_ca, sizeof(old_ca), "old-ca.crt");
	if (rk_test_run(out, sizeof(out), (char *[]){ "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj",
	    "/CN=Old Root", "-days", "2", "-out", old_ca, NULL }) != 0)
		fail_msg("openssl req: %s", out);
	assert_int_equal(chmod(old_ca, 0644), 0);
	path_in(old_ca, sizeof(old_ca), "conf.d");		/* my.cnf's !includedir */
	assert_int_equal(mkdir(old_ca, 0755) == 0 || errno == EEXIST, 1);
	write_playbook();
	rk_diags_init(&diags, fx.playbook);
	if (rk_playbook_load(&fx.model, fx.playbook, &diags, &err) != 0 ||
	    rk_diags_has_errors(&diags))
		fail_msg("playbook: %s (%zu problems, first: %s)", err.msg, diags.n,
		    diags.n > 0 ? diags.items[0].msg : "");
	rk_diags_clear(&diags);
	assert_int_equal(fx.model->nclients, NCLIENTS);
	assert_int_equal(rk_ssh_global_init(&err), 0);
	if (rk_ssh_transport_new(&fx.t, &fx.model->hosts[0], &err) != 0 ||
	    fx.t->ops->connect(fx.t, &err) != 0)
		fail_msg("ssh to the app host: %s", err.msg);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rk_transport_free(fx.t);
	rk_model_free(fx.model);
	rk_ssh_global_cleanup();
	return 0;
}

/* Runs every client's verify command on the app host; each outcome into out[]. */
static void
run_verify_commands(struct rk_command_outcome out[NCLIENTS])
{
	struct rk_err err = { 0 };
	size_t i;

	for (i = 0; i < NCLIENTS; i++)
		if (rk_run_host_command(&out[i], fx.t, fx.model->clients[i].verify_command,
		    &err) != 0)
			fail_msg("%s: cannot run its verify command: %s",
			    fx.model->clients[i].name, err.msg);
}

static void
push_client_files(struct rk_backup backups[3])
{
	const struct rk_client *c = &fx.model->clients[0];
	const char *sources[] = { need("RK_H_CA"), need("RK_H_CLIENT_CERT"),
	    need("RK_H_CLIENT_KEY") };
	const enum rk_file_role roles[] = { RK_FILE_CA, RK_FILE_CERT, RK_FILE_KEY };
	struct rk_err err = { 0 };
	struct stat st;
	char *pem;
	size_t i;

	for (i = 0; i < 3; i++) {
		const struct rk_file_target *f = &c->files[roles[i]];

		assert_true(f->present);
		assert_non_null(pem = read_text(sources[i]));
		if (rk_push_file(&backups[i], fx.t, f, (struct rk_bytes){
		    (const unsigned char *)pem, strlen(pem) }, &err) != 0)
			fail_msg("push %s: %s", f->path, err.msg);
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
		assert_int_equal(lstat(f->path, &st), 0);
		assert_int_equal(st.st_mode & 07777, f->mode);
		assert_int_equal(st.st_uid, fx.uid);
	}
}

static void
assert_file_is(const char *path, const char *want, mode_t mode)
{
	struct stat st;
	char *got = read_text(path);

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, fx.uid);
	assert_int_equal(st.st_gid, fx.gid);
	free(got);
}

static void
assert_has(const char *text, const char *what)
{
	if (strstr(text, what) == NULL)
		fail_msg("\"%s\" not found in:\n%s", what, text);
}

static void
assert_no_secret(const char *text)
{
	static const char *secrets[] = { "hunter2", "s3cr3t", "dump pass" };
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(text, secrets[i]) != NULL)
			fail_msg("a secret (%s) is shown:\n%s", secrets[i], text);
}

static void
remove_pushed_files(void)
{
	static const char *names[] = { "db-ca.crt", "app.crt", "app.key", "reloaded" };
	char path[600];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in(path, sizeof(path), names[i]);
		unlink(path);
	}
}

static void
test_clients_verify_full_after_the_update_and_fail_again_after_rollback(void **state)
{
	struct rk_command_outcome before[NCLIENTS], after[NCLIENTS], undone[NCLIENTS], reload;
	struct rk_client_change *changes[NCLIENTS];
	struct rk_backup backups[NCLIENTS], pushed[3];
	struct rk_err err = { 0 };
	struct rk_buf diff;
	char path[600], *want = NULL, *text;
	size_t i;

	(void)state;
	write_originals();
	remove_pushed_files();
	run_verify_commands(before);
	for (i = 0; i < NCLIENTS; i++)
		if (before[i].exit_status == 0)
			fail_msg("%s verifies before the update: the test proves nothing",
			    fx.model->clients[i].name);

	push_client_files(pushed);
	for (i = 0; i < NCLIENTS; i++) {
		if (rk_client_change_read(&changes[i], fx.t, &fx.model->clients[i], &err) != 0)
			fail_msg("%s: %s", fx.model->clients[i].name, err.msg);
		assert_true(changes[i]->changed);
		rk_buf_init(&diff, 1 << 20);
		assert_int_equal(rk_client_change_diff(&diff, changes[i], &err), 0);
		assert_has((const char *)diff.ptr, "--- app1:");
		assert_no_secret((const char *)diff.ptr);
		rk_buf_clear(&diff);
	}
	/* Reading and diffing wrote nothing. */
	for (i = 0; i < NCLIENTS; i++) {
		path_in(path, sizeof(path), files[i].name);
		text = original(i);
		assert_file_is(path, text, files[i].mode);
		free(text);
	}
	for (i = 0; i < NCLIENTS; i++)
		if (rk_client_change_apply(&backups[i], fx.t, changes[i], &err) != 0)
			fail_msg("apply %s: %s", fx.model->clients[i].name, err.msg);

	/* Only the named keys changed; owner, group and mode are the file's own. */
	assert_true(asprintf(&want,
	    "# billing app (deployed by hand)\n"
	    "export APP_NAME=billing\n"
	    "DB_PASSWORD='s3cr3t pass' # rotated by the DBAs, not by rekey\n"
	    "DB_HOST=127.0.0.1\n"
	    "DB_PORT=%2$s\n"
	    "DB_USER=rkclient\n"
	    "DB_SSL_MODE=verify-full\n"
	    "DB_SSL_CA_CERT=\"%1$s/db-ca.crt\"\n"
	    "\n"
	    "# keep this comment and the blank line above\n"
	    "FEATURE_FLAGS=\"a=1#b\"\n"
	    "DB_SSL_CLIENT_CERT=%1$s/app.crt\n"
	    "DB_SSL_CLIENT_KEY=%1$s/app.key", fx.dir, need("RK_H_PG_PORT")) > 0);
	path_in(path, sizeof(path), "app.env");
	assert_file_is(path, want, 0640);
	free(want);
	path_in(path, sizeof(path), "url.env");
	assert_non_null(text = read_text(path));
	assert_has(text, "postgresql://rkclient:hunter2@127.0.0.1:");
	assert_has(text, "sslmode=verify-full");
	assert_has(text, "&application_name=billing&sslcert=");
	assert_has(text, "'\nWORKERS=4\n");
	free(text);

	assert_int_equal(rk_run_host_command(&reload, fx.t, fx.model->clients[0].reload_command,
	    &err), 0);
	assert_int_equal(reload.exit_status, 0);
	path_in(path, sizeof(path), "reloaded");
	assert_int_equal(access(path, F_OK), 0);

	/* The real clients, on the app host, now log in over verified TLS with the new files. */
	run_verify_commands(after);
	for (i = 0; i < NCLIENTS; i++)
		if (after[i].exit_status != 0)
			fail_msg("%s fails after the update (exit %d): %s", fx.model->clients[i].name,
			    after[i].exit_status, after[i].summary);
	for (i = 0; i < 3; i++)
		assert_string_equal(after[i].summary, "rkclient true");
	assert_has(after[3].summary, "rkclient@%");
	assert_has(after[3].summary, "TLSv1.");

	/* A second run changes nothing. */
	for (i = 0; i < NCLIENTS; i++) {
		struct rk_client_change *again;

		assert_int_equal(rk_client_change_read(&again, fx.t, &fx.model->clients[i], &err),
		    0);
		assert_false(again->changed);
		rk_buf_init(&diff, 1 << 20);
		assert_int_equal(rk_client_change_diff(&diff, again, &err), 0);
		assert_int_equal(diff.len, 0);
		rk_buf_clear(&diff);
		rk_client_change_free(again);
	}

	/* Rollback: every byte, owner and mode back, and the clients fail as before. */
	for (i = 0; i < NCLIENTS; i++) {
		assert_int_equal(fx.t->ops->restore_file(fx.t, &backups[i], &err), 0);
		path_in(path, sizeof(path), files[i].name);
		text = original(i);
		assert_file_is(path, text, files[i].mode);
		free(text);
		rk_backup_clear(&backups[i]);
		rk_client_change_free(changes[i]);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(fx.t->ops->restore_file(fx.t, &pushed[i], &err), 0);
		assert_int_equal(access(pushed[i].target, F_OK), -1);	/* there was none */
		rk_backup_clear(&pushed[i]);
	}
	run_verify_commands(undone);
	for (i = 0; i < NCLIENTS; i++)
		assert_int_not_equal(undone[i].exit_status, 0);
}

static void
test_clients_refuse_a_file_changed_since_it_was_read(void **state)
{
	struct rk_client_change *change;
	struct rk_backup backup;
	struct rk_err err = { 0 };
	char path[600], *text, *edited = NULL;
	FILE *f;

	(void)state;
	write_originals();
	assert_int_equal(rk_client_change_read(&change, fx.t, &fx.model->clients[3], &err), 0);
	/* A DBA edits my.cnf between the plan and the run. */
	path_in(path, sizeof(path), "my.cnf");
	assert_non_null(f = fopen(path, "a"));
	fputs("[mysql]\nprompt = db> \n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rk_client_change_apply(&backup, fx.t, change, &err), RK_E_REMOTE);
	assert_has(err.msg, "changed since it was read; nothing written");
	text = original(3);
	assert_true(asprintf(&edited, "%s[mysql]\nprompt = db> \n", text) > 0);
	assert_file_is(path, edited, 0600);
	assert_null(backup.target);
	free(text);
	free(edited);
	rk_client_change_free(change);
}

static void
test_clients_refuse_malformed_files_and_symlinks_with_the_line(void **state)
{
	struct rk_client_change *change = NULL;
	struct rk_err err = { 0 };
	char path[600], target[600], want[800];
	const char *broken = "A=1\nB=2\nDB_SSL_MODE='require\nC=3\n";

	(void)state;
	write_originals();
	path_in(path, sizeof(path), "app.env");
	write_text(path, broken, 0640);
	assert_int_equal(rk_client_change_read(&change, fx.t, &fx.model->clients[0], &err),
	    RK_E_USAGE);
	assert_null(change);
	snprintf(want, sizeof(want), "app1:%s:3: unterminated single quote", path);
	assert_string_equal(err.msg, want);
	assert_file_is(path, broken, 0640);
	rk_err_clear(&err);

	/* A symlinked service file: replacing it would cut the link, so it is refused. */
	path_in(path, sizeof(path), "pg_service.conf");
	path_in(target, sizeof(target), "pg_service.real");
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(rk_client_change_read(&change, fx.t, &fx.model->clients[2], &err),
	    RK_E_USAGE);
	assert_has(err.msg, "is a symbolic link");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(target, path), 0);
}

/* `rekey plan --diff`: the masked diffs, read through ssh, and still nothing written. */
static void
test_plan_diff_shows_each_edit_masked_and_writes_nothing(void **state)
{
	static char out[1 << 18];
	char path[600], *text, *yml, *bad;
	size_t i;
	int status;

	(void)state;
	write_originals();
	status = rk_test_run(out, sizeof(out), (char *[]){ (char *)fx.rekey, "plan", "--diff",
	    fx.playbook, NULL });
	if (status != 0)
		fail_msg("plan --diff: exit %d\n%s", status, out);
	assert_has(out, "-DB_SSL_MODE=require\n");
	assert_has(out, "+DB_SSL_MODE=verify-full\n");
	assert_has(out, "\\ No newline at end of file\n");
	assert_has(out, "DATABASE_URL='postgresql://rkclient:********@127.0.0.1:");
	assert_has(out, " password = ********\n");		/* context in my.cnf, masked */
	assert_has(out, "-ssl-verify-server-cert\n");
	assert_has(out, "+ssl-verify-server-cert = 1\n");
	assert_has(out, "Client files read: 4 to change, 0 already up to date, 0 that cannot");
	assert_no_secret(out);
	for (i = 0; i < NCLIENTS; i++) {
		path_in(path, sizeof(path), files[i].name);
		text = original(i);
		assert_file_is(path, text, files[i].mode);
		free(text);
	}
	status = rk_test_run(out, sizeof(out), (char *[]){ (char *)fx.rekey, "plan", "--json",
	    "--diff", fx.playbook, NULL });
	assert_int_equal(status, 0);
	assert_has(out, "\"changes_file\": true");
	assert_has(out, "\"diff\": \"--- app1:");
	assert_no_secret(out);

	/* An app host that does not answer: its files are named as unreadable, exit 1. */
	assert_non_null(yml = read_text(fx.playbook));
	assert_non_null(bad = strstr(yml, need("RK_H_SSH_PORT")));
	memcpy(bad, "1", 1);
	memset(bad + 1, ' ', strlen(need("RK_H_SSH_PORT")) - 1);
	path_in(path, sizeof(path), "down.yml");
	write_text(path, yml, 0644);
	free(yml);
	status = rk_test_run(out, sizeof(out), (char *[]){ (char *)fx.rekey, "plan", "--diff",
	    path, NULL });
	assert_int_equal(status, 1);
	assert_has(out, "cannot read or edit it:");
	assert_has(out, "0 to change, 0 already up to date, 4 that cannot be read or edited");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients_verify_full_after_the_update_and_fail_again_after_rollback),
		cmocka_unit_test(test_clients_refuse_a_file_changed_since_it_was_read),
		cmocka_unit_test(test_clients_refuse_malformed_files_and_symlinks_with_the_line),
		cmocka_unit_test(test_plan_diff_shows_each_edit_masked_and_writes_nothing),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: test_clients REKEY\n");
		return 2;
	}
	fx.rekey = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
