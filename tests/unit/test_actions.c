/* The action table: every action of the plan has a row, and every change can be undone. */
#include "test_util.h"

#include <string.h>

#include "rekey/actions.h"

/* The executor refuses a table with a hole; this finds one before any run does. */
static void
test_every_action_has_a_row(void **state)
{
	const struct rk_action_ops *ops = rk_action_table();
	size_t a;

	(void)state;
	for (a = 0; a < RK_ACTIONS; a++) {
		print_message("%s\n", rk_action_name((enum rk_action)a));
		assert_non_null(ops[a].run);
		assert_string_not_equal(rk_action_name((enum rk_action)a), "?");
	}
}

/* What changes a host is undone by a rollback and found done by a resume. */
static void
test_changes_on_hosts_can_be_undone_and_found_done(void **state)
{
	const struct rk_action_ops *ops = rk_action_table();
	static const enum rk_action content[] = { RK_ACT_PUSH_FILE, RK_ACT_EDIT_CLIENT_CONFIG };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(content) / sizeof(content[0]); i++) {
		assert_non_null(ops[content[i]].undo);
		assert_non_null(ops[content[i]].check_done);
		assert_int_equal(ops[content[i]].undo_rank, RK_UNDO_CONTENT);
	}
	/* A reload is undone after the files are back, so the old ones are served again. */
	assert_non_null(ops[RK_ACT_RELOAD_SERVICE].undo);
	assert_int_equal(ops[RK_ACT_RELOAD_SERVICE].undo_rank, RK_UNDO_RELOAD);
	assert_non_null(ops[RK_ACT_RUN_CLIENT_RELOAD].undo);
	/* Issuing twice is what a resume must never do: a started issue is looked for. */
	assert_non_null(ops[RK_ACT_ISSUE_CERT].check_done);
	assert_non_null(ops[RK_ACT_GENERATE_CA].check_done);
	assert_non_null(ops[RK_ACT_SIGN_CRL].check_done);
	/* A revocation is never undone. */
	assert_null(ops[RK_ACT_REVOKE].undo);
	assert_null(ops[RK_ACT_SIGN_CRL].undo);
	/* The baseline a probe took must survive a resume that does not probe again. */
	assert_non_null(ops[RK_ACT_PROBE_SERVICE].recall);
}

/* Read-only actions change nothing, so they have nothing to undo. */
static void
test_read_only_actions_have_no_undo(void **state)
{
	const struct rk_action_ops *ops = rk_action_table();
	struct rk_step step;
	size_t a;

	(void)state;
	memset(&step, 0, sizeof(step));
	for (a = 0; a < RK_ACTIONS; a++) {
		step.action = (enum rk_action)a;
		if (rk_step_is_read_only(&step))
			assert_null(ops[a].undo);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_action_has_a_row),
		cmocka_unit_test(test_changes_on_hosts_can_be_undone_and_found_done),
		cmocka_unit_test(test_read_only_actions_have_no_undo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
