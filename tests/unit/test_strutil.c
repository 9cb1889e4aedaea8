#include "test_util.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_distance_counts_edits),
		cmocka_unit_test(test_closest_word_suggests_only_near_typos),
		cmocka_unit_test(test_utf8_accepts_valid_and_finds_first_bad_byte),
		cmocka_unit_test(test_strlcpy_reports_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
