#include "test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rekey/fsutil.h"
#include "rekey/secret.h"

struct fixture {
	char	dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rk-unit-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "small", "big", "secret", "empty-secret", NULL };
	struct fixture *f = *state;

	/* The tests make only these files; remove them, then the folder. */
	for (int i = 0; names[i] != NULL; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_file_read_returns_whole_file(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct rk_err err = { 0 };
	char p[128];

	write_file(f->dir, "small", "hello\n", 6, 0644);
	snprintf(p, sizeof(p), "%s/small", f->dir);
	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read(&b, p, 100, &err), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.ptr, "hello\n", 6);
	rk_buf_clear(&b);
}

static void
test_file_read_refuses_oversize_at_once(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct rk_err err = { 0 };
	char data[2000], p[128];

	memset(data, 'a', sizeof(data));
	write_file(f->dir, "big", data, sizeof(data), 0644);
	snprintf(p, sizeof(p), "%s/big", f->dir);
	rk_buf_init(&b, 1000);
	assert_int_equal(rk_file_read(&b, p, 1000, &err), RK_E_LIMIT);
	assert_non_null(strstr(err.msg, "over the limit of 1000"));
	assert_null(b.ptr);
	rk_buf_clear(&b);
}

static void
test_file_read_refuses_folders_and_missing_files(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	struct rk_err err = { 0 };
	char p[128];

	rk_buf_init(&b, 100);
	assert_int_equal(rk_file_read(&b, f->dir, 100, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "not a regular file"));
	rk_err_clear(&err);
	snprintf(p, sizeof(p), "%s/none", f->dir);
	assert_int_equal(rk_file_read(&b, p, 100, &err), RK_E_SYS);
	assert_non_null(strstr(err.msg, "No such file"));
	rk_buf_clear(&b);
}

static void
test_path_resolve_handles_relative_home_and_absolute(void **state)
{
	struct rk_err err = { 0 };
	char *out = NULL;

	(void)state;
	assert_int_equal(rk_path_resolve(&out, "/base", "pki/ca.crt", &err), 0);
	assert_string_equal(out, "/base/pki/ca.crt");
	free(out);
	assert_int_equal(rk_path_resolve(&out, "/base", "./pki/ca.crt", &err), 0);
	assert_string_equal(out, "/base/pki/ca.crt");
	free(out);
	assert_int_equal(rk_path_resolve(&out, "/base", "/etc/x", &err), 0);
	assert_string_equal(out, "/etc/x");
	free(out);
	setenv("HOME", "/home/oncall", 1);
	assert_int_equal(rk_path_resolve(&out, "/base", "~/.ssh/id", &err), 0);
	assert_string_equal(out, "/home/oncall/.ssh/id");
	free(out);
	assert_int_equal(rk_path_dirname(&out, "a/b/c.yml", &err), 0);
	assert_string_equal(out, "a/b");
	free(out);
	assert_int_equal(rk_path_dirname(&out, "c.yml", &err), 0);
	assert_string_equal(out, ".");
	free(out);
}

static void
test_secret_from_file_drops_one_newline(void **state)
{
	struct fixture *f = *state;
	struct rk_secret s = { 0 };
	struct rk_err err = { 0 };
	char p[128];

	write_file(f->dir, "secret", "pw1\n", 4, 0600);
	snprintf(p, sizeof(p), "%s/secret", f->dir);
	assert_int_equal(rk_secret_from_file(&s, p, &err), 0);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.ptr, "pw1", 4);	/* NUL-terminated too */
	rk_secret_clear(&s);
	assert_null(s.ptr);
	assert_int_equal(s.len, 0);
	write_file(f->dir, "empty-secret", "\n", 1, 0600);
	snprintf(p, sizeof(p), "%s/empty-secret", f->dir);
	assert_int_equal(rk_secret_from_file(&s, p, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "empty"));
}

static void
test_secret_from_env_requires_a_value(void **state)
{
	struct rk_secret s = { 0 };
	struct rk_err err = { 0 };

	(void)state;
	setenv("RK_UNIT_SECRET", "s3cret", 1);
	assert_int_equal(rk_secret_from_env(&s, "RK_UNIT_SECRET", &err), 0);
	assert_int_equal(s.len, 6);
	rk_secret_clear(&s);
	unsetenv("RK_UNIT_SECRET_MISSING");
	assert_int_equal(rk_secret_from_env(&s, "RK_UNIT_SECRET_MISSING", &err), RK_E_USAGE);
	/* The message names the variable, never a value. */
	assert_string_equal(err.msg, "environment variable RK_UNIT_SECRET_MISSING is not set");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_read_returns_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_read_refuses_oversize_at_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_read_refuses_folders_and_missing_files,
		    setup, teardown),
		cmocka_unit_test(test_path_resolve_handles_relative_home_and_absolute),
		cmocka_unit_test_setup_teardown(test_secret_from_file_drops_one_newline, setup,
		    teardown),
		cmocka_unit_test(test_secret_from_env_requires_a_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
