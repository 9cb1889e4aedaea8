/* The ini editor (my.cnf, pg_service.conf): golden cases and malformed input. */
#include "golden.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/envfile.h"
#include "rekey/inifile.h"

static int
apply_mycnf(struct rk_buf *out, struct rk_bytes in, const char *target,
    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err)
{
	return rk_inifile_set(out, in, RK_FORMAT_INI, target, set, nset, label, err);
}

static int
apply_pgservice(struct rk_buf *out, struct rk_bytes in, const char *target,
    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err)
{
	return rk_inifile_set(out, in, RK_FORMAT_PG_SERVICE, target, set, nset, label, err);
}

static void
test_inifile_mycnf_golden_cases_are_exact_and_idempotent(void **state)
{
	(void)state;
	run_golden("ini", apply_mycnf);
}

static void
test_inifile_pg_service_golden_cases_are_exact_and_idempotent(void **state)
{
	(void)state;
	run_golden("pg_service", apply_pgservice);
}

static void
test_inifile_refuses_malformed_input_with_line(void **state)
{
	static const struct bad_case cases[] = {
		{ "open header", "[client]\na=1\n[mysql\n", 0, "client", RK_E_USAGE,
		    "f:3: section header without \"]\"" },
		{ "double quote", "[client]\r\npassword=\"abc\r\n", 0, "client", RK_E_USAGE,
		    "f:2: unterminated double quote" },
		{ "single quote", "[x]\n[client]\n\nssl-ca='/a\n", 0, "client", RK_E_USAGE,
		    "f:4: unterminated single quote" },
		{ "NUL byte", "[client]\na=\0\n", 12, "client", RK_E_USAGE,
		    "f:2: NUL byte in text" },
		{ "bad UTF-8", "[client]\n# \xff\n", 0, "client", RK_E_USAGE,
		    "f:2: invalid UTF-8" },
		{ "bad section name", "", 0, "a]b", RK_E_USAGE, "f: bad section name" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]), apply_mycnf);
	run_caps(apply_mycnf, "client");
}

static void
test_inifile_pg_service_refuses_values_it_cannot_hold(void **state)
{
	struct rk_setting set[] = { { (char *)"sslrootcert", (char *)" /a", { 0, 0 } } };
	struct rk_bytes in = { (const unsigned char *)"[db]\n", 5 };
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	assert_int_equal(rk_inifile_set(&out, in, RK_FORMAT_PG_SERVICE, "db", set, 1, "f",
	    &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: the value for sslrootcert starts or ends with a "
	    "blank, which a service file cannot hold");
	assert_null(out.ptr);
	memset(&err, 0, sizeof(err));
	assert_int_equal(rk_inifile_set(&out, in, RK_FORMAT_ENV, "db", set, 1, "f", &err),
	    RK_E_INTERNAL);
}

static void
test_inifile_keys_outside_the_section_stay(void **state)
{
	const char *text = "ssl-ca=/top\n[mysqld]\nssl-ca=/srv\n";
	const char *want = "ssl-ca=/top\n[mysqld]\nssl-ca=/srv\n\n[client]\nssl-ca=/new\n";
	struct rk_setting set[] = { { (char *)"ssl-ca", (char *)"/new", { 0, 0 } } };
	struct rk_bytes in = { (const unsigned char *)text, strlen(text) };
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	assert_int_equal(rk_inifile_set(&out, in, RK_FORMAT_INI, "client", set, 1, "f", &err),
	    0);
	assert_string_equal((const char *)out.ptr, want);
	rk_buf_clear(&out);
}

static void
test_inifile_mask_hides_passwords_and_keeps_lines(void **state)
{
	const char *mycnf =
	    "[client]\r\n"
	    "user = app\r\n"
	    "password = \"hunter 2\"  # quoted\r\n"
	    "ssl-key=/etc/mysql/app.key\r\n"
	    "# password=comment stays\r\n"
	    "skip-password\r\n"
	    "[mysqldump]\r\n"
	    "passwd='hunter3'";
	const char *mycnf_want =
	    "[client]\r\n"
	    "user = app\r\n"
	    "password = ********  # quoted\r\n"
	    "ssl-key=/etc/mysql/app.key\r\n"
	    "# password=comment stays\r\n"
	    "skip-password\r\n"
	    "[mysqldump]\r\n"
	    "passwd=********";
	/* A service file has no quoting: the whole rest of the line is the password. */
	const char *service = "[app]\nhost=db1\npassword=hunter4 # all of it\nsslkey=./k\n";
	const char *service_want = "[app]\nhost=db1\npassword=********\nsslkey=./k\n";
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	assert_int_equal(rk_inifile_mask(&out, (struct rk_bytes){ (const unsigned char *)mycnf,
	    strlen(mycnf) }, RK_FORMAT_INI, "my.cnf", &err), 0);
	assert_string_equal((const char *)out.ptr, mycnf_want);
	rk_buf_clear(&out);
	assert_int_equal(rk_inifile_mask(&out, (struct rk_bytes){ (const unsigned char *)service,
	    strlen(service) }, RK_FORMAT_PG_SERVICE, "pg_service.conf", &err), 0);
	assert_string_equal((const char *)out.ptr, service_want);
	rk_buf_clear(&out);
	/* Malformed input is refused as the editor refuses it, with nothing written. */
	assert_int_equal(rk_inifile_mask(&out, (struct rk_bytes){ (const unsigned char *)
	    "[client]\npassword='x\n", 21 }, RK_FORMAT_INI, "my.cnf", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "my.cnf:2: unterminated single quote");
	assert_int_equal(out.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inifile_mycnf_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_inifile_pg_service_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_inifile_refuses_malformed_input_with_line),
		cmocka_unit_test(test_inifile_pg_service_refuses_values_it_cannot_hold),
		cmocka_unit_test(test_inifile_keys_outside_the_section_stay),
		cmocka_unit_test(test_inifile_mask_hides_passwords_and_keeps_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
