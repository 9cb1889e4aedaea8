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
		{ "option before a group", "# c\nssl-ca=/a\n[client]\n", 0, "client", RK_E_USAGE,
		    "f:2: an option before any [group]: mysys refuses the file" },
		{ "blank in a key", "[client]\nssl ca=/a\n", 0, "client", RK_E_USAGE,
		    "f:2: not a key=value line" },
		{ "quote in a key", "[mysqld]\n\"a\"=1\n", 0, "client", RK_E_USAGE,
		    "f:2: not a key=value line" },
		{ "no key", "[client]\n=1\n", 0, "client", RK_E_USAGE,
		    "f:2: not a key=value line" },
		{ "NUL byte", "[client]\na=\0\n", 12, "client", RK_E_USAGE,
		    "f:2: NUL byte in text" },
		{ "bad UTF-8", "[client]\n# \xff\n", 0, "client", RK_E_USAGE,
		    "f:2: invalid UTF-8" },
		{ "bad section name", "", 0, "a]b", RK_E_USAGE, "f: bad section name" },
		{ "private key", "[client]\n-----BEGIN ENCRYPTED " "PRIVATE KEY-----\n", 0, "client",
		    RK_E_USAGE, "f:2: holds a PEM private key block; a client configuration file "
		    "holding one is neither edited nor shown" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]), apply_mycnf);
	run_caps(apply_mycnf, "client");
}

static void
test_inifile_pg_service_refuses_what_libpq_reads_otherwise(void **state)
{
	static const struct bad_case cases[] = {
		{ "blank before =", "[db]\nsslmode =require\n", 0, "db", RK_E_USAGE,
		    "f:2: a blank before \"=\": libpq reads it as part of the key" },
		{ "semicolon", "[db]\n;c\n", 0, "db", RK_E_USAGE, "f:2: not a key=value line "
		    "(libpq reads no \";\" comments, \"!include\" or keys without \"=\" in a service "
		    "file)" },
		{ "include", "!include /etc/x\n[db]\n", 0, "db", RK_E_USAGE, "f:1: not a key=value "
		    "line (libpq reads no \";\" comments, \"!include\" or keys without \"=\" in a "
		    "service file)" },
		{ "no =", "[db]\nsslmode\n", 0, "db", RK_E_USAGE, "f:2: not a key=value line "
		    "(libpq reads no \";\" comments, \"!include\" or keys without \"=\" in a service "
		    "file)" },
		{ "ldap", "[db]\n ldap://ldap.example/dc=x?y\n", 0, "db", RK_E_USAGE,
		    "f:2: an LDAP lookup line, which rekey does not follow" },
		{ "twice", "[db]\n\n[x]\n[db]\n", 0, "db", RK_E_USAGE, "f:4: service [db] is written "
		    "a second time (first at line 1); libpq reads only the first: merge them" },
	};

	(void)state;
	run_bad(cases, sizeof(cases) / sizeof(cases[0]), apply_pgservice);
}

static void
test_inifile_refuses_a_line_mysys_would_split(void **state)
{
	struct rk_setting set[] = { { (char *)"ssl-ca", NULL, { 0, 0 } } };
	struct rk_err err = { 0 };
	struct rk_buf out;
	char *text = malloc(5000), *value = malloc(5000);
	size_t n;

	(void)state;
	assert_non_null(text);
	assert_non_null(value);
	/* "[client]\n" and a line of 4094 bytes with its newline: read as one. */
	n = (size_t)snprintf(text, 5000, "[client]\nuser=");
	memset(text + n, 'x', 4094 - 6);
	memcpy(text + n + 4094 - 6, "\n", 2);
	memset(value, 'v', 4094 - 8);
	value[4094 - 8] = '\0';
	set[0].value = value;
	assert_int_equal(rk_inifile_set(&out, (struct rk_bytes){ (const unsigned char *)text,
	    strlen(text) }, RK_FORMAT_INI, "client", set, 1, "f", &err), 0);
	rk_buf_clear(&out);
	/* One byte more: mysys would read an option "--v..." of its own. */
	memcpy(text + n + 4094 - 6, "x\n", 3);
	assert_int_equal(rk_inifile_set(&out, (struct rk_bytes){ (const unsigned char *)text,
	    strlen(text) }, RK_FORMAT_INI, "client", set, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f:2: line longer than the 4094 bytes mysys reads as one");
	memset(&err, 0, sizeof(err));
	value[4094 - 8] = 'v';
	value[4094 - 7] = '\0';
	assert_int_equal(rk_inifile_set(&out, (struct rk_bytes){ (const unsigned char *)
	    "[client]\n", 9 }, RK_FORMAT_INI, "client", set, 1, "f", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "f:2: the new value would make a line longer than the 4094 "
	    "bytes mysys reads as one");
	assert_null(out.ptr);
	free(text);
	free(value);
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
test_inifile_keys_of_other_groups_stay(void **state)
{
	const char *text = "[mysqld]\nssl-ca=/srv\n[mysql]\nssl-ca=/m\n";
	const char *want = "[mysqld]\nssl-ca=/srv\n[mysql]\nssl-ca=/m\n\n[client]\nssl-ca=/new\n";
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
test_inifile_refuses_to_set_a_secret(void **state)
{
	struct rk_setting set[] = { { (char *)"password", (char *)"x", { 0, 0 } } };
	struct rk_bytes in = { (const unsigned char *)"[client]\n", 9 };
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	assert_int_equal(rk_inifile_set(&out, in, RK_FORMAT_INI, "client", set, 1, "f", &err),
	    RK_E_USAGE);
	assert_string_equal(err.msg, "f: password names a secret; rekey changes TLS settings, "
	    "never secrets");
	assert_null(out.ptr);
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
	const char *odd = "[client]\nssl ca=x\n-----BEGIN " "PRIVATE KEY-----\nMIGH\n"
	    "-----END " "PRIVATE KEY-----\nuser=app\n";
	const char *quote = "[client]\npassword='x # y\nMYSQL_PWD=z\n";
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
	/* A line the editor would refuse, and a PEM block, show as the mask alone. */
	assert_int_equal(rk_inifile_mask(&out, (struct rk_bytes){ (const unsigned char *)odd,
	    strlen(odd) }, RK_FORMAT_INI, "my.cnf", &err), 0);
	assert_string_equal((const char *)out.ptr, "[client]\n********\n********\n********\n"
	    "********\nuser=app\n");
	rk_buf_clear(&out);
	/* What mysys reads of an unmatched quote is the quote and all after it: masked too. */
	assert_int_equal(rk_inifile_mask(&out, (struct rk_bytes){ (const unsigned char *)quote,
	    strlen(quote) }, RK_FORMAT_INI, "my.cnf", &err), 0);
	assert_string_equal((const char *)out.ptr, "[client]\npassword=********\nMYSQL_PWD="
	    "********\n");
	rk_buf_clear(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inifile_mycnf_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_inifile_pg_service_golden_cases_are_exact_and_idempotent),
		cmocka_unit_test(test_inifile_refuses_malformed_input_with_line),
		cmocka_unit_test(test_inifile_pg_service_refuses_what_libpq_reads_otherwise),
		cmocka_unit_test(test_inifile_refuses_a_line_mysys_would_split),
		cmocka_unit_test(test_inifile_pg_service_refuses_values_it_cannot_hold),
		cmocka_unit_test(test_inifile_keys_of_other_groups_stay),
		cmocka_unit_test(test_inifile_refuses_to_set_a_secret),
		cmocka_unit_test(test_inifile_mask_hides_passwords_and_keeps_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
