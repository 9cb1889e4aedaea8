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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_clients_of_one_file_compose_and_apply_in_order),
		cmocka_unit_test(test_a_missing_file_is_named_and_not_created),
		cmocka_unit_test(test_a_command_outcome_keeps_its_status_and_a_masked_last_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
