/* A secret reference becomes a secret in one place: the variable, else the file, else none. */
#include "test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rekey/secret.h"

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_secret_from_source_takes_env_then_file_then_nothing(void **state)
{
	char dir[] = "/tmp/rk-secret-XXXXXX", path[64];
	struct rk_secret s = { NULL, 0 };
	struct rk_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pass", dir);
	write_file(path, "from-file\n", 0600);
	setenv("RK_TEST_SECRET", "from-env", 1);

	assert_int_equal(rk_secret_from_source(&s, "RK_TEST_SECRET", path, &err), 0);
	assert_int_equal(s.len, 8);
	assert_memory_equal(s.ptr, "from-env", 8);
	assert_int_equal(rk_secret_from_source(&s, NULL, path, &err), 0);
	assert_int_equal(s.len, 9);	/* the final newline is not part of it */
	assert_memory_equal(s.ptr, "from-file", 9);
	assert_int_equal(rk_secret_from_source(&s, NULL, NULL, &err), 0);
	assert_null(s.ptr);
	assert_int_equal(s.len, 0);

	unsetenv("RK_TEST_SECRET");
	assert_int_not_equal(rk_secret_from_source(&s, "RK_TEST_SECRET", NULL, &err), 0);
	assert_string_equal(err.msg, "environment variable RK_TEST_SECRET is not set");
	rk_err_clear(&err);
	setenv("RK_TEST_SECRET", "", 1);	/* set, but nothing in it: said so */
	assert_int_not_equal(rk_secret_from_source(&s, "RK_TEST_SECRET", NULL, &err), 0);
	assert_string_equal(err.msg, "environment variable RK_TEST_SECRET is set but empty");
	unsetenv("RK_TEST_SECRET");
	rk_err_clear(&err);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_not_equal(rk_secret_from_source(&s, NULL, path, &err), 0);
	assert_non_null(strstr(err.msg, "chmod 600"));

	rk_secret_clear(&s);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_from_source_takes_env_then_file_then_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
