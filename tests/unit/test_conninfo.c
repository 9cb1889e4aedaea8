/* The connection string editor: URLs, keyword strings, env variables, masking. */
#include "golden.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/conninfo.h"
#include "rekey/envfile.h"

static int
apply_conninfo(struct rk_buf *out, struct rk_bytes in, const char *target,
    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err)
{
	return rk_conninfo_set(out, in, target, set, nset, label, err);
}

/* Each case's in, with set applied, must give its want. */
struct edit_case {
	const char	*in, *want;
};

static void
expect_edits(const struct edit_case *cases, size_t n, const char *key, const char *value)
{
	struct rk_setting set[] = { { (char *)key, (char *)value, { 0, 0 } } };
	struct rk_err err = { 0 };
	struct rk_bytes in;
	struct rk_buf out;
	size_t i;

	for (i = 0; i < n; i++) {
		in.ptr = (const unsigned char *)cases[i].in;
		in.len = strlen(cases[i].in);
		assert_int_equal(rk_conninfo_set(&out, in, NULL, set, 1, "f", &err), 0);
		assert_string_equal((const char *)out.ptr, cases[i].want);
		rk_buf_clear(&out);
	}
}

static void
test_conninfo_golden_cases_are_exact_and_idempotent(void **state)
{
	(void)state;
	run_golden("conninfo", apply_conninfo);
}

static void
test_conninfo_refuses_malformed_input_with_line(void **state)
{
	static const struct bad_case cases[] = {
		{ "open quote", "host=db sslrootcert='/a b\n", 0, NULL, RK_E_USAGE,
		    "f:1: unterminated quote in connection string" },
		{ "no equals", "\n\nhost=db sslmode\n", 0, NULL, RK_E_USAGE,
		    "f:3: expected key=value in connection string" },
		{ "lone backslash", "host=db sslkey=\\\n", 0, NULL, RK_E_USAGE,
		    "f:1: connection string ends with a lone backslash" },
		{ "two lines", "host=db\nport=1\n", 0, NULL, RK_E_USAGE,
		    "f:2: more than one line in a connection string file" },
		{ "env open quote", "A=1\nURL=\"postgresql://u:pw@h/x\n", 0, "URL", RK_E_USAGE,
		    "f:2: unterminated double quote" },
		{ "env keyword quote", "A=1\nDSN=\"host=h sslcert='x\"\n", 0, "DSN", RK_E_USAGE,
		    "f:2: unterminated quote in connection string" },
		{ "env missing", "A=1\n", 0, "URL", RK_E_USAGE, "f: no variable URL to edit" },
		{ "NUL", "host=db\0", 8, NULL, RK_E_USAGE, "f:1: NUL byte in text" },
		{ "bad UTF-8", "host=\xf5\x80\x80\x80", 0, NULL, RK_E_USAGE, "f:1: invalid UTF-8" },
		/* Found by fuzz_conninfo: "sslmode=/" stopped libpq's lookahead for "@"; with
		 * sslmode=verify-full written, the query would become user information. */
		{ "raw @ in a query with no path", "postgresql://?sslmode=/&@x", 0, NULL,
		    RK_E_USAGE, "f:1: a raw \"@\" after the host of a connection URL with no path "
		    "is ambiguous (libpq may read it as user information); write it as %40" },
		/* libpq has no fragments: "#" is data to it, a fragment to others (issue #12). */
		{ "raw # in a query", "postgresql://h/x?sslmode=require#ss", 0, NULL, RK_E_USAGE,
		    "f:1: a raw \"#\" in a connection URL: libpq reads it as data, other readers as "
		    "the start of a fragment; write it as %23" },
		{ "raw # in an env URL", "A=1\nURL=mysql://u:p#w@h/x\n", 0, "URL", RK_E_USAGE,
		    "f:2: a raw \"#\" in a connection URL: libpq reads it as data, other readers as "
		    "the start of a fragment; write it as %23" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]), apply_conninfo);
	run_caps(apply_conninfo, NULL);
}

static void
test_conninfo_never_names_the_password(void **state)
{
	/* A bad parameter name is reported; the URL's password is in no message. */
	struct rk_setting set[] = { { (char *)"ssl mode", (char *)"x", { 0, 0 } } };
	struct rk_setting pw[] = { { (char *)"password", (char *)"x", { 0, 0 } } };
	const char *text = "postgresql://u:hunter2@h/x\n";
	struct rk_bytes in = { (const unsigned char *)text, strlen(text) };
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	assert_int_equal(rk_conninfo_set(&out, in, NULL, set, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: bad parameter name \"ssl mode\"");
	assert_null(strstr(err.msg, "hunter2"));
	/* rekey writes TLS settings, never a password, not even into a connection string. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(rk_conninfo_set(&out, in, NULL, pw, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f: password names a secret; rekey changes TLS settings, "
	    "never secrets");
}

static void
test_conninfo_setting_sslmode_settles_its_aliases(void **state)
{
	static const struct edit_case cases[] = {
		{ "sslmode=disable requiressl=1", "sslmode=verify-full sslmode=verify-full" },
		{ "requiressl='0' host=h", "sslmode=verify-full host=h" },
		{ "postgresql://h/x?sslmode=disable&ssl=true",
		  "postgresql://h/x?sslmode=verify-full&sslmode=verify-full" },
		{ "postgresql://h/x?ssl&requiressl=1", "postgresql://h/x?sslmode=verify-full&"
		  "sslmode=verify-full" },
		/* "ssl" is a URL's alias only: in a keyword string it is no libpq option. */
		{ "host=h ssl=true", "host=h ssl=true sslmode=verify-full" },
	};

	(void)state;
	expect_edits(cases, sizeof(cases) / sizeof(cases[0]), "sslmode", "verify-full");
}

static void
test_conninfo_mask_hides_passwords(void **state)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "postgresql://app:s%40cret@db:5432/x?sslmode=require",
		    "postgresql://app:********@db:5432/x?sslmode=require" },
		{ "mysql://app@db/x?password=pw&ssl-mode=REQUIRED",
		    "mysql://app@db/x?password=********&ssl-mode=REQUIRED" },
		{ "host=db password='a b' user=u", "host=db password=******** user=u" },
		/* The one list of secret names (secretname.h): the key's passphrase too. */
		{ "postgresql://db/x?sslpassword=pw&sslkey=/k.pem",
		  "postgresql://db/x?sslpassword=********&sslkey=/k.pem" },
		{ "host=db sslpassword=pw sslkey=k", "host=db sslpassword=******** sslkey=********" },
		{ "jdbc:postgresql://db/x", "jdbc:postgresql://db/x" },
		{ "just some words", "just some words" },
		/* Not a URL rekey can edit, but its password is still hidden. */
		{ "mysql://h?password=pw&x=@", "mysql://h?password=********&x=@" },
		/* A password that runs over a line keeps the newline: a masked copy keeps its
		 * lines (found by fuzz_conninfo). */
		{ "postgresql://app:pa\nss@db/x", "postgresql://app:********\n@db/x" },
		{ "", "" },
	};
	struct rk_err err = { 0 };
	struct rk_bytes in;
	struct rk_buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in.ptr = (const unsigned char *)cases[i].in;
		in.len = strlen(cases[i].in);
		assert_int_equal(rk_conninfo_mask(&out, in, &err), 0);
		assert_string_equal((const char *)out.ptr, cases[i].want);
		rk_buf_clear(&out);
	}
}

static void
test_conninfo_url_query_edge_cases(void **state)
{
	static const struct edit_case cases[] = {
		{ "postgresql://h/x?", "postgresql://h/x?sslmode=a%20b%26c%2B" },
		{ "postgresql://h/x?a=1&", "postgresql://h/x?a=1&sslmode=a%20b%26c%2B" },
		{ "postgres://h?sslmode", "postgres://h?sslmode=a%20b%26c%2B" },
		{ "mysql://u:p/w@h/x", "mysql://u:p/w@h/x?sslmode=a%20b%26c%2B" },
		{ "", "sslmode='a b&c+'" },
		{ "sslmode=x sslmode=y", "sslmode='a b&c+' sslmode='a b&c+'" },
	};

	(void)state;
	expect_edits(cases, sizeof(cases) / sizeof(cases[0]), "sslmode", "a b&c+");
}

static void
test_conninfo_mask_text_hides_passwords_in_messages(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "psql: error: connection to postgresql://app:hunter2@db:5432/x failed",
		  "psql: error: connection to postgresql://app:********@db:5432/x failed" },
		{ "dsn host=db password=hunter2 sslmode=require",
		  "dsn host=db password=******** sslmode=require" },
		{ "PASSWORD = 'hunter 2' rejected", "PASSWORD = '********' rejected" },
		{ "db_password: hunter2, retrying", "db_password: ********, retrying" },
		{ "MYSQL_PWD=hunter2 mysql -h db", "MYSQL_PWD=******** mysql -h db" },
		{ "api token: abc, secret=def", "api token: ********, secret=********" },
		{ "two: mysql://a:x@h and jdbc:mysql://b:y@h/", "two: mysql://a:********@h and "
		  "jdbc:mysql://b:********@h/" },
		/* Nothing to hide: copied as it is. */
		{ "password authentication failed for user \"app\"",
		  "password authentication failed for user \"app\"" },
		{ "http://host:8080/path and user@host", "http://host:8080/path and user@host" },
		{ "password=", "password=" },
		/* An unclosed quote ends at the line: the mask keeps every newline. */
		{ "password='abc\nnext line", "password='********\nnext line" },
	};
	struct rk_err err = { 0 };
	struct rk_buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(rk_conninfo_mask_text(&out, (struct rk_bytes){
		    (const unsigned char *)cases[i].in, strlen(cases[i].in) }, &err), 0);
		assert_string_equal(out.ptr != NULL ? (const char *)out.ptr : "", cases[i].want);
		rk_buf_clear(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conninfo_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_conninfo_refuses_malformed_input_with_line),
		cmocka_unit_test(test_conninfo_never_names_the_password),
		cmocka_unit_test(test_conninfo_setting_sslmode_settles_its_aliases),
		cmocka_unit_test(test_conninfo_mask_hides_passwords),
		cmocka_unit_test(test_conninfo_mask_text_hides_passwords_in_messages),
		cmocka_unit_test(test_conninfo_url_query_edge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
