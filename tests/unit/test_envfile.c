/* The dotenv editor: golden cases, malformed input, secret masking. */
#include "golden.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/envfile.h"

static int
apply_env(struct rk_buf *out, struct rk_bytes in, const char *target,
    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err)
{
	(void)target;
	return rk_envfile_set(out, in, set, nset, label, err);
}

static void
test_envfile_golden_cases_are_exact_and_idempotent(void **state)
{
	(void)state;
	run_golden("env", apply_env);
}

static void
test_envfile_refuses_malformed_input_with_line(void **state)
{
	static const struct bad_case cases[] = {
		{ "double quote", "A=1\nB=\"open\n", 0, NULL, RK_E_USAGE,
		    "f:2: unterminated double quote" },
		{ "single quote", "A=1\n\nC='x\n", 0, NULL, RK_E_USAGE,
		    "f:3: unterminated single quote" },
		{ "escaped close", "X=\"a\\\"\n", 0, NULL, RK_E_USAGE,
		    "f:1: unterminated double quote" },
		{ "NUL byte", "A=1\nB=2\0\n", 8, NULL, RK_E_USAGE, "f:2: NUL byte in text" },
		{ "bad UTF-8", "A=1\r\nB=\xc3\x28\n", 0, NULL, RK_E_USAGE, "f:2: invalid UTF-8" },
		{ "overlong", "A=\xc0\xaf\n", 0, NULL, RK_E_USAGE, "f:1: invalid UTF-8" },
		{ "surrogate", "\n\nA=\xed\xa0\x80\n", 0, NULL, RK_E_USAGE,
		    "f:3: invalid UTF-8" },
		{ "truncated", "A=\xe2\x82", 0, NULL, RK_E_USAGE, "f:1: invalid UTF-8" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]), apply_env);
	run_caps(apply_env, NULL);
}

static void
test_envfile_refuses_bad_settings(void **state)
{
	struct rk_setting bad_key[] = { { (char *)"1A", (char *)"x", { 0, 0 } } };
	struct rk_setting newline[] = { { (char *)"A", (char *)"x\ny", { 0, 0 } } };
	struct rk_setting twice[] = {
		{ (char *)"A", (char *)"x", { 0, 0 } }, { (char *)"A", (char *)"y", { 0, 0 } },
	};
	struct rk_bytes in = { (const unsigned char *)"A=1\n", 4 };
	struct rk_buf out;
	struct rk_err err = { 0 };

	(void)state;
	assert_int_equal(rk_envfile_set(&out, in, bad_key, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: bad variable name \"1A\"");
	memset(&err, 0, sizeof(err));
	assert_int_equal(rk_envfile_set(&out, in, newline, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: the value for A holds a newline");
	assert_null(strstr(err.msg, "x"));
	memset(&err, 0, sizeof(err));
	assert_int_equal(rk_envfile_set(&out, in, twice, 2, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: A is set twice");
	assert_null(out.ptr);
}

static void
test_envfile_get_returns_last_decoded_value(void **state)
{
	const char *text = "K=first\nexport K=\"a \\$b\" # c\nL='x'\n";
	struct rk_bytes in = { (const unsigned char *)text, strlen(text) };
	struct rk_err err = { 0 };
	unsigned line = 0;
	char *v = NULL;

	(void)state;
	assert_int_equal(rk_envfile_get(&v, &line, in, "K", "f", &err), 0);
	assert_string_equal(v, "a $b");
	assert_int_equal(line, 2);
	free(v);
	assert_int_equal(rk_envfile_get(&v, NULL, in, "NOPE", "f", &err), 0);
	assert_null(v);
}

static void
test_envfile_key_is_secret_spares_paths(void **state)
{
	(void)state;
	assert_true(rk_envfile_key_is_secret("PGPASSWORD", "x"));
	assert_true(rk_envfile_key_is_secret("api_token", "x"));
	assert_true(rk_envfile_key_is_secret("CLIENT_SECRET", NULL));
	assert_true(rk_envfile_key_is_secret("API_KEY", "abc123"));
	assert_false(rk_envfile_key_is_secret("PGSSLKEY", "/etc/ssl/app.key"));
	assert_false(rk_envfile_key_is_secret("SSL_KEY", "./app.key"));
	assert_false(rk_envfile_key_is_secret("PGSSLMODE", "verify-full"));
	assert_false(rk_envfile_key_is_secret("PGHOST", "db1"));
}

static void
test_envfile_mask_hides_secrets_and_url_passwords(void **state)
{
	const char *text =
	    "PGPASSWORD=hunter2\r\n"
	    "API_KEY='abc def' # c\r\n"
	    "PGSSLKEY=/etc/app.key\r\n"
	    "DATABASE_URL=\"postgresql://app:hunter3@db/x?sslmode=require\"\r\n"
	    "DSN='host=db password=hunter4 sslmode=require'\r\n"
	    "# PASSWORD=comment stays\r\n"
	    "HOST=db";
	const char *want =
	    "PGPASSWORD=********\r\n"
	    "API_KEY=******** # c\r\n"
	    "PGSSLKEY=/etc/app.key\r\n"
	    "DATABASE_URL=\"postgresql://app:********@db/x?sslmode=require\"\r\n"
	    "DSN='host=db password=******** sslmode=require'\r\n"
	    "# PASSWORD=comment stays\r\n"
	    "HOST=db";
	struct rk_bytes in = { (const unsigned char *)text, strlen(text) };
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	assert_int_equal(rk_envfile_mask(&out, in, "f", &err), 0);
	assert_string_equal((const char *)out.ptr, want);
	assert_null(strstr((const char *)out.ptr, "hunter"));
	rk_buf_clear(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envfile_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_envfile_refuses_malformed_input_with_line),
		cmocka_unit_test(test_envfile_refuses_bad_settings),
		cmocka_unit_test(test_envfile_get_returns_last_decoded_value),
		cmocka_unit_test(test_envfile_key_is_secret_spares_paths),
		cmocka_unit_test(test_envfile_mask_hides_secrets_and_url_passwords),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
