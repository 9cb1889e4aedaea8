#include "test_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/bytes.h"
#include "rekey/diag.h"
#include "rekey/err.h"

static void
test_err_keeps_the_first_error(void **state)
{
	struct rk_err err = { 0 };

	(void)state;
	assert_int_equal(rk_fail(&err, RK_E_REMOTE, "db1: connect: refused"), RK_E_REMOTE);
	assert_int_equal(rk_fail(&err, RK_E_SYS, "later"), RK_E_SYS);
	assert_int_equal(err.code, RK_E_REMOTE);
	assert_string_equal(err.msg, "db1: connect: refused");
	assert_non_null(err.file);
	assert_true(err.line > 0);
}

static void
test_err_prefix_adds_context(void **state)
{
	struct rk_err err = { 0 };

	(void)state;
	rk_err_prefix(&err, "ignored while no error");
	assert_string_equal(err.msg, "");
	(void)rk_fail(&err, RK_E_USAGE, "a password is required");
	rk_err_prefix(&err, "sudo");
	rk_err_prefix(&err, "db1: replace %s", "/etc/ssl/app.key");
	assert_string_equal(err.msg, "db1: replace /etc/ssl/app.key: sudo: a password is required");
}

static void
test_err_errno_appends_strerror(void **state)
{
	struct rk_err err = { 0 };

	(void)state;
	errno = ENOENT;
	assert_int_equal(rk_fail_errno(&err, "open %s", "/x"), RK_E_SYS);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_string_equal(err.msg, "open /x: No such file or directory");
}

static void
test_err_prefix_never_overflows(void **state)
{
	struct rk_err err = { 0 };
	char longmsg[600];

	(void)state;
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	(void)rk_fail(&err, RK_E_SYS, "%s", longmsg);
	rk_err_prefix(&err, "context");
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_memory_equal(err.msg, "context: xxx", 12);
}

static void
test_buf_refuses_to_grow_past_its_cap(void **state)
{
	struct rk_buf b;
	struct rk_err err = { 0 };

	(void)state;
	rk_buf_init(&b, 10);
	assert_int_equal(rk_buf_append_str(&b, "0123456789", &err), 0);
	assert_int_equal(b.len, 10);
	assert_string_equal((char *)b.ptr, "0123456789");
	assert_int_equal(rk_buf_append(&b, "x", 1, &err), RK_E_LIMIT);
	assert_int_equal(b.len, 10);
	rk_buf_clear(&b);
	assert_null(b.ptr);
}

static void
test_buf_printf_appends(void **state)
{
	struct rk_buf b;
	struct rk_err err = { 0 };
	char *s;

	(void)state;
	rk_buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rk_buf_printf(&b, &err, "%d,", i), 0);
	assert_memory_equal(b.ptr, "0,1,2,", 6);
	assert_int_equal(b.len, 3890);
	s = rk_buf_detach(&b);
	assert_int_equal(strlen(s), 3890);
	assert_null(b.ptr);
	free(s);
}

static void
test_diags_sort_by_place_and_count_errors(void **state)
{
	struct rk_diags d;

	(void)state;
	rk_diags_init(&d, "p.yml");
	rk_diags_error(&d, ((struct rk_pos){ 9, 1 }), "third");
	rk_diags_warn(&d, ((struct rk_pos){ 2, 5 }), "second");
	rk_diags_error(&d, ((struct rk_pos){ 2, 3 }), "first");
	rk_diags_error(&d, ((struct rk_pos){ 9, 1 }), "fourth");
	rk_diags_sort(&d);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.nerrors, 3);
	assert_string_equal(d.items[0].msg, "first");
	assert_string_equal(d.items[1].msg, "second");
	assert_string_equal(d.items[2].msg, "third");	/* stable among equal places */
	assert_string_equal(d.items[3].msg, "fourth");
	assert_true(rk_diags_has_errors(&d));
	rk_diags_clear(&d);
}

static void
test_diags_are_capped_but_still_counted(void **state)
{
	struct rk_diags d;

	(void)state;
	rk_diags_init(&d, "p.yml");
	for (int i = 0; i < RK_DIAGS_MAX + 50; i++)
		rk_diags_error(&d, ((struct rk_pos){ 1, 1 }), "e%d", i);
	assert_int_equal(d.n, RK_DIAGS_MAX);
	assert_int_equal(d.nerrors, RK_DIAGS_MAX + 50);
	rk_diags_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_keeps_the_first_error),
		cmocka_unit_test(test_err_prefix_adds_context),
		cmocka_unit_test(test_err_errno_appends_strerror),
		cmocka_unit_test(test_err_prefix_never_overflows),
		cmocka_unit_test(test_buf_refuses_to_grow_past_its_cap),
		cmocka_unit_test(test_buf_printf_appends),
		cmocka_unit_test(test_diags_sort_by_place_and_count_errors),
		cmocka_unit_test(test_diags_are_capped_but_still_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
