#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "rekey/strutil.h"

static void
test_edit_distance_counts_edits(void **state)
{
	(void)state;
	assert_int_equal(rk_edit_distance("address", "address", 3), 0);
	assert_int_equal(rk_edit_distance("adress", "address", 3), 1);
	assert_int_equal(rk_edit_distance("kitten", "sitting", 5), 3);
	assert_int_equal(rk_edit_distance("", "abc", 5), 3);
	assert_int_equal(rk_edit_distance("prot", "port", 3), 1);	/* a swap is one edit */
	/* Past the limit it gives up with limit + 1. */
	assert_int_equal(rk_edit_distance("abcdef", "uvwxyz", 2), 3);
}

static void
test_closest_word_suggests_only_near_typos(void **state)
{
	static const char *const keys[] = { "address", "port", "user", "identity", NULL };

	(void)state;
	assert_string_equal(rk_closest_word("adress", keys), "address");
	assert_string_equal(rk_closest_word("prot", keys), "port");
	assert_string_equal(rk_closest_word("identiy", keys), "identity");
	assert_null(rk_closest_word("colour", keys));
	assert_null(rk_closest_word("x", keys));
}

static void
test_utf8_accepts_valid_and_finds_first_bad_byte(void **state)
{
	static const unsigned char ok[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";
	static const unsigned char overlong[] = "ab\xc0\xaf";
	static const unsigned char surrogate[] = "x\xed\xa0\x80";
	static const unsigned char truncated[] = "abc\xe2\x82";
	static const unsigned char stray[] = "a\x80";
	size_t bad = 99;

	(void)state;
	assert_true(rk_utf8_is_valid(ok, sizeof(ok) - 1, &bad));
	assert_false(rk_utf8_is_valid(overlong, sizeof(overlong) - 1, &bad));
	assert_int_equal(bad, 2);
	assert_false(rk_utf8_is_valid(surrogate, sizeof(surrogate) - 1, &bad));
	assert_int_equal(bad, 1);
	assert_false(rk_utf8_is_valid(truncated, sizeof(truncated) - 1, &bad));
	assert_int_equal(bad, 3);
	assert_false(rk_utf8_is_valid(stray, sizeof(stray) - 1, &bad));
	assert_int_equal(bad, 1);
}

static void
test_strlcpy_reports_truncation(void **state)
{
	char buf[4];

	(void)state;
	assert_true(rk_strlcpy(buf, "abc", sizeof(buf)));
	assert_string_equal(buf, "abc");
	assert_false(rk_strlcpy(buf, "abcd", sizeof(buf)));
	assert_string_equal(buf, "abc");
}

/* Table: a path, and the odd component found in it (its offset and length), or none. */
static void
test_path_odd_component_finds_dot_dotdot_and_empty(void **state)
{
	static const struct {
		const char	*path;
		int		 at;	/* -1: none */
		size_t		 len;
	} cases[] = {
		{ "/", -1, 0 },
		{ "/etc/ssl/db.key", -1, 0 },
		{ "/etc/.hidden/..x/x..", -1, 0 },	/* dots inside names are names */
		{ "/etc/../shadow", 5, 2 },
		{ "/etc/./db.key", 5, 1 },
		{ "/etc//db.key", 5, 0 },
		{ "/etc/ssl/", 9, 0 },		/* a final '/' is an empty component */
		{ "/etc/ssl/..", 9, 2 },
		{ "/.", 1, 1 },
		{ "//", 1, 0 },
	};
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = cases[i].path;
		const char *odd = rk_path_odd_component(p, strlen(p), &len);

		if (cases[i].at < 0) {
			assert_null(odd);
			continue;
		}
		assert_non_null(odd);
		assert_int_equal(odd - p, cases[i].at);
		assert_int_equal(len, cases[i].len);
	}
	/* Only path[0..n) is looked at: the caller may leave a final '/' out. */
	assert_null(rk_path_odd_component("/etc/ssl/", 8, &len));
	assert_non_null(rk_path_odd_component("/etc/ssl//", 9, &len));
}

/* Table: what comes in, what the terminal is shown. */
static void
test_text_escape_hides_controls_bidi_and_bad_bytes(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "db1.example.com", "db1.example.com" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },			/* U+00E9 prints as itself */
		{ "a\x1b[2Jb", "a\\x1b[2Jb" },			/* ESC */
		{ "bell\x07", "bell\\x07" },
		{ "l1\nl2\tx\r", "l1\\nl2\\tx\\r" },
		{ "del\x7f", "del\\x7f" },
		{ "c1\xc2\x9b", "c1\\u009b" },			/* CSI as a C1 control */
		{ "exe.\xe2\x80\xaetxt", "exe.\\u202etxt" },	/* RIGHT-TO-LEFT OVERRIDE */
		{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069" },	/* isolates */
		{ "\xd8\x9c", "\\u061c" },				/* ARABIC LETTER MARK */
		{ "bad\xff\xc3", "bad\\xff\\xc3" },		/* not UTF-8 */
		{ "\xf0\x9f\x94\x91", "\xf0\x9f\x94\x91" },	/* U+1F511 prints */
	};
	size_t i, n;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = rk_text_escape(cases[i].in);
		assert_non_null(e);
		assert_string_equal(e, cases[i].out);
		assert_int_equal(rk_text_is_safe(cases[i].in), strcmp(cases[i].in, e) == 0);
		free(e);
	}
	assert_false(rk_text_char_is_unsafe((const unsigned char *)"\t", 1, true, &n));
	assert_true(rk_text_char_is_unsafe((const unsigned char *)"\t", 1, false, &n));
	/* A sequence cut short by the end of the text is one bad byte, not a read past it. */
	assert_true(rk_text_char_is_unsafe((const unsigned char *)"\xe2\x80", 2, true, &n));
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_distance_counts_edits),
		cmocka_unit_test(test_closest_word_suggests_only_near_typos),
		cmocka_unit_test(test_utf8_accepts_valid_and_finds_first_bad_byte),
		cmocka_unit_test(test_strlcpy_reports_truncation),
		cmocka_unit_test(test_path_odd_component_finds_dot_dotdot_and_empty),
		cmocka_unit_test(test_text_escape_hides_controls_bidi_and_bad_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
