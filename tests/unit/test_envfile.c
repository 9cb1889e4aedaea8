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
		/* What bash reads otherwise than as KEY=value (issue #12): refused, not guessed. */
		{ "command", "A=1\necho hi\n", 0, NULL, RK_E_USAGE, "f:2: not a KEY=value line" },
		{ "append", "A+=1\n", 0, NULL, RK_E_USAGE, "f:1: not a KEY=value line" },
		{ "export two", "export A B\n", 0, NULL, RK_E_USAGE,
		    "f:1: not a KEY=value line" },
		{ "blank after =", "A=\tB\n", 0, NULL, RK_E_USAGE, "f:1: a blank after \"=\" "
		    "ends the value: bash runs the rest of the line as a command" },
		{ "quoted then word", "A='x' y\n", 0, NULL, RK_E_USAGE, "f:1: more than one word "
		    "after \"=\": bash runs the rest of the line as another assignment or a command" },
		{ "quotes joined", "A=\"x\"'y'\n", 0, NULL, RK_E_USAGE, "f:1: quotes joined to "
		    "other text (as in K=''a) make one word, which rekey does not edit" },
		{ "command substitution", "A=\"$(id)\"\n", 0, NULL, RK_E_USAGE,
		    "f:1: a command substitution: rekey cannot tell what bash reads" },
		{ "backtick", "A=`id`\n", 0, NULL, RK_E_USAGE,
		    "f:1: a command substitution: rekey cannot tell what bash reads" },
		{ "pipe", "A=b|c\n", 0, NULL, RK_E_USAGE,
		    "f:1: a shell operator (one of ;&|<>()) outside quotes" },
		{ "key in a value", "JWT=\"-----BEGIN RSA " "PRIVATE KEY-----\\nMIIE\"\n", 0, NULL,
		    RK_E_USAGE, "f:1: holds a PEM private key block; a client configuration file "
		    "holding one is neither edited nor shown" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]), apply_env);
	run_caps(apply_env, NULL);
}

/* A whole key block on its own lines, as when a key file was pasted into a .env: refused. */
static void
test_envfile_refuses_a_real_private_key(void **state)
{
	struct rk_setting set[] = { { (char *)"K", (char *)"x", { 0, 0 } } };
	char pem[1024], text[1200];
	struct rk_buf out = { 0 };
	struct rk_err err = { 0 };
	struct rk_bytes in;

	(void)state;
	rk_test_private_key_pem(pem, sizeof(pem));
	snprintf(text, sizeof(text), "%sA=1\n", pem);
	in = (struct rk_bytes){ (const unsigned char *)text, strlen(text) };
	assert_int_equal(rk_envfile_set(&out, in, set, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f:1: holds a PEM private key block; a client configuration "
	    "file holding one is neither edited nor shown");
	assert_null(out.ptr);
	rk_buf_clear(&out);
}

static void
test_envfile_refuses_bad_settings(void **state)
{
	struct rk_setting bad_key[] = { { (char *)"1A", (char *)"x", { 0, 0 } } };
	struct rk_setting newline[] = { { (char *)"A", (char *)"x\ny", { 0, 0 } } };
	struct rk_setting twice[] = {
		{ (char *)"A", (char *)"x", { 0, 0 } }, { (char *)"A", (char *)"y", { 0, 0 } },
	};
	struct rk_setting secret[] = { { (char *)"MYSQL_PWD", (char *)"x", { 0, 0 } } };
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
	memset(&err, 0, sizeof(err));
	assert_int_equal(rk_envfile_set(&out, in, secret, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: MYSQL_PWD names a secret; rekey changes TLS settings, "
	    "never secrets");
	assert_null(out.ptr);
}

/* A value bash computes cannot be edited in part: rk_envfile_edit refuses it, with the line. */
static int
append_x(struct rk_buf *out, const char *value, unsigned line, void *arg, struct rk_err *err)
{
	(void)line;
	(void)arg;
	if (rk_buf_append_str(out, value, err) != 0)
		return -1;
	return rk_buf_append_str(out, "x", err);
}

static void
test_envfile_edit_refuses_a_value_bash_expands(void **state)
{
	static const char *const texts[] = { "A=1\nURL=\"$BASE/db\"\n", "A=1\nURL=~/db\n" };
	struct rk_err err;
	struct rk_buf out;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(rk_envfile_edit(&out, (struct rk_bytes){ (const unsigned char *)
		    texts[i], strlen(texts[i]) }, "URL", append_x, NULL, "f", &err), RK_E_USAGE);
		assert_string_equal(err.msg, "f:2: the value of URL holds a shell expansion ($ or "
		    "~); rekey cannot tell what bash reads");
		assert_null(out.ptr);
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(rk_envfile_edit(&out, (struct rk_bytes){ (const unsigned char *)
	    "URL='~/db'\n", 11 }, "URL", append_x, NULL, "f", &err), 0);
	assert_string_equal((const char *)out.ptr, "URL='~/dbx'\n");
	rk_buf_clear(&out);
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
expect_mask(const char *text, const char *want)
{
	struct rk_bytes in = { (const unsigned char *)text, strlen(text) };
	struct rk_err err = { 0 };
	struct rk_buf out;

	assert_int_equal(rk_envfile_mask(&out, in, "f", &err), 0);
	assert_string_equal((const char *)out.ptr, want);
	rk_buf_clear(&out);
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
	    "MYSQL_PWD=hunter5\r\n"
	    "REDIS_AUTH=hunter6\r\n"
	    "URL2=postgresql://u:hun#ter7@db/x\r\n"
	    "HOST=db";
	const char *want =
	    "PGPASSWORD=********\r\n"
	    "API_KEY=******** # c\r\n"
	    "PGSSLKEY=/etc/app.key\r\n"
	    "DATABASE_URL=\"postgresql://app:********@db/x?sslmode=require\"\r\n"
	    "DSN='host=db password=******** sslmode=require'\r\n"
	    "# PASSWORD=comment stays\r\n"
	    "MYSQL_PWD=********\r\n"
	    "REDIS_AUTH=********\r\n"
	    "URL2=postgresql://u:********@db/x\r\n"
	    "HOST=db";

	(void)state;
	assert_null(strstr(want, "hunter"));
	assert_null(strstr(want, "ter7"));
	expect_mask(text, want);
}

static void
test_envfile_mask_hides_pem_blocks_and_lines_it_cannot_read(void **state)
{
	const char *text =
	    "A=1\n"
	    "-----BEGIN CERTIFICATE-----\n"
	    "MIIBszCCAVmgAwIBAgIUY2VydA==\n"
	    "-----END CERTIFICATE-----\n"
	    "B=2\n"
	    "not an assignment hunter8\n"
	    "C='unterminated hunter9\n"
	    "TAIL=x -----END " "PRIVATE KEY-----\n";
	const char *want = "A=1\n********\n********\n********\nB=2\n********\n********\n"
	    "********\n";

	(void)state;
	expect_mask(text, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envfile_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_envfile_refuses_malformed_input_with_line),
		cmocka_unit_test(test_envfile_refuses_a_real_private_key),
		cmocka_unit_test(test_envfile_refuses_bad_settings),
		cmocka_unit_test(test_envfile_get_returns_last_decoded_value),
		cmocka_unit_test(test_envfile_edit_refuses_a_value_bash_expands),
		cmocka_unit_test(test_envfile_mask_hides_secrets_and_url_passwords),
		cmocka_unit_test(test_envfile_mask_hides_pem_blocks_and_lines_it_cannot_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
