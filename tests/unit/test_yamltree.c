#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/yamltree.h"

static const struct rk_ytree_limits limits = { 8, 1000, 256 };

static struct rk_ynode *
parse(const char *text, struct rk_diags *d)
{
	struct rk_bytes b = { (const unsigned char *)text, strlen(text) };
	struct rk_ynode *root = NULL;

	rk_diags_init(d, "t.yml");
	assert_true(rk_ytree_parse(&root, b, &limits, d));
	return root;
}

static void
test_builds_mapping_with_positions(void **state)
{
	struct rk_diags d;
	struct rk_ynode *root = parse("a: 1\nb:\n  - x\n  - 'y'\n", &d);
	const struct rk_ynode *b;

	(void)state;
	assert_non_null(root);
	assert_int_equal(d.n, 0);
	assert_int_equal(root->kind, RK_YNODE_MAP);
	assert_string_equal(rk_ynode_get(root, "a")->value, "1");
	assert_true(rk_ynode_get(root, "a")->plain);
	b = rk_ynode_get(root, "b");
	assert_int_equal(b->kind, RK_YNODE_SEQ);
	assert_int_equal(b->n, 2);
	assert_false(b->items[1]->plain);
	assert_int_equal(b->items[1]->pos.line, 4);
	assert_int_equal(b->items[1]->pos.col, 5);
	rk_ynode_free(root);
	rk_diags_clear(&d);
}

static void
test_refuses_alias_and_anchor(void **state)
{
	struct rk_diags d;
	struct rk_ynode *root = parse("a: &x [1, 2]\nb: *x\n", &d);

	(void)state;
	assert_null(root);
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.items[0].pos.line, 1);
	assert_int_equal(d.items[0].pos.col, 4);
	assert_non_null(strstr(d.items[0].msg, "anchors and aliases are not supported"));
	rk_diags_clear(&d);
}

static void
test_reports_every_duplicate_key(void **state)
{
	struct rk_diags d;
	struct rk_ynode *root = parse("k: 1\nj: 2\nk: 3\nk: 4\n", &d);

	(void)state;
	assert_null(root);
	assert_int_equal(d.nerrors, 2);
	assert_string_equal(d.items[0].msg, "duplicate key 'k' (first at line 1)");
	assert_int_equal(d.items[0].pos.line, 3);
	assert_int_equal(d.items[1].pos.line, 4);
	rk_diags_clear(&d);
}

static void
test_bounds_depth_nodes_and_scalars(void **state)
{
	struct rk_diags d;
	char deep[16], *many, big[400];
	size_t i, len;

	(void)state;
	memset(deep, '[', 10);
	deep[10] = '\0';
	assert_null(parse(deep, &d));
	assert_non_null(strstr(d.items[0].msg, "nests deeper than 8 levels"));
	rk_diags_clear(&d);

	many = malloc(1200 * 3 + 3);
	assert_non_null(many);
	many[0] = '[';
	for (i = 0, len = 1; i < 1200; i++, len += 3)
		memcpy(many + len, "1, ", 3);
	memcpy(many + len, "]", 2);
	assert_null(parse(many, &d));
	assert_non_null(strstr(d.items[0].msg, "more than 1000 YAML nodes"));
	rk_diags_clear(&d);
	free(many);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(parse(big, &d));
	assert_non_null(strstr(d.items[0].msg, "over the limit of 256"));
	rk_diags_clear(&d);
}

static void
test_reports_syntax_error_with_place(void **state)
{
	struct rk_diags d;

	(void)state;
	assert_null(parse("a: [1, 2\nb: 3\n", &d));
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.items[0].msg, "YAML syntax error"));
	assert_true(d.items[0].pos.line >= 1);
	rk_diags_clear(&d);
}

static void
test_refuses_second_document_and_complex_keys(void **state)
{
	struct rk_diags d;

	(void)state;
	assert_null(parse("a: 1\n---\nb: 2\n", &d));
	assert_non_null(strstr(d.items[0].msg, "second one"));
	assert_int_equal(d.items[0].pos.line, 2);
	rk_diags_clear(&d);
	assert_null(parse("? [a, b]\n: 1\n", &d));
	assert_non_null(strstr(d.items[0].msg, "mapping key must be a plain word"));
	rk_diags_clear(&d);
}

static void
test_empty_stream_gives_no_tree_and_no_error(void **state)
{
	struct rk_diags d;

	(void)state;
	assert_null(parse("# only a comment\n", &d));
	assert_int_equal(d.n, 0);
	rk_diags_clear(&d);
}

static void
test_null_forms(void **state)
{
	struct rk_diags d;
	struct rk_ynode *root = parse("a:\nb: ~\nc: null\nd: ''\n", &d);

	(void)state;
	assert_true(rk_ynode_is_null(rk_ynode_get(root, "a")));
	assert_true(rk_ynode_is_null(rk_ynode_get(root, "b")));
	assert_true(rk_ynode_is_null(rk_ynode_get(root, "c")));
	assert_false(rk_ynode_is_null(rk_ynode_get(root, "d")));	/* quoted: a string */
	rk_ynode_free(root);
	rk_diags_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builds_mapping_with_positions),
		cmocka_unit_test(test_refuses_alias_and_anchor),
		cmocka_unit_test(test_reports_every_duplicate_key),
		cmocka_unit_test(test_bounds_depth_nodes_and_scalars),
		cmocka_unit_test(test_reports_syntax_error_with_place),
		cmocka_unit_test(test_refuses_second_document_and_complex_keys),
		cmocka_unit_test(test_empty_stream_gives_no_tree_and_no_error),
		cmocka_unit_test(test_null_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
