#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rekey/plan.h"

static void
plan_usage(FILE *f)
{
	fprintf(f,
	    "usage: rekey plan [--json] [--diff] [--only-expiring DURATION] PLAYBOOK\n"
	    "\n"
	    "Validates PLAYBOOK and prints the ordered plan that `rekey run` carries out,\n"
	    "grouped by phase and host: every file with its path, owner and mode, every\n"
	    "reload and every check. Opens no connection and writes nothing.\n"
	    "\n"
	    "  --json   print the plan as one JSON document\n"
	    "  --diff   also read each client's configuration file through its host's\n"
	    "           transport (read only) and show the edit as a unified diff, secret\n"
	    "           values masked; exit 1 when a file cannot be read or edited\n"
	    "  --only-expiring D\n"
	    "           the plan of `rekey run --only-expiring D`: checks what every server\n"
	    "           serves and every host holds (read only, as `rekey expiry` does) and\n"
	    "           plans only the certificates that end within D\n"
	    "  --help   this help\n");
}

int
cmd_plan(const struct rk_cli *cli, int argc, char **argv)
{
	struct cli_playbook_args args = { .takes_diff = true, .takes_only_expiring = true,
	    .check_local = true };
	struct cli_selection selection = { 0 };
	struct cli_client_views views = { NULL, 0 };
	struct cli_revocations revs = { 0 };
	struct rk_diags diags;
	struct rk_model *model = NULL;
	struct rk_plan *plan = NULL;
	struct rk_err err = { 0 };
	size_t i;
	int rc;

	if ((rc = cli_open_playbook_command(cli, argc, argv, plan_usage, &args, &diags,
	    &model)) != RK_EXIT_OK || model == NULL)
		goto out;
	if (args.only_expiring > 0) {
		if (cli_select_expiring(&selection, model, args.only_expiring,
		    args.json ? stderr : stdout, &err) != 0) {
			cli_report_error(cli, "plan", &err);
			rc = RK_EXIT_FAILED;
			goto out;
		}
		if (selection.nothing)
			goto out;
		putchar('\n');
	}
	if (cli_resolve_revocations(&revs, model, &err) != 0 ||
	    rk_plan_build(&plan, model, &revs.plan_facts, &err) != 0) {
		cli_report_error(cli, "plan", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	if (args.diff && cli_read_client_changes(&views, model, &err) != 0) {
		cli_report_error(cli, "plan", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	if (args.json)
		rc = render_plan_json(stdout, plan, args.diff ? &views : NULL, &revs, &diags);
	else
		render_plan_text(stdout, plan, args.diff ? &views : NULL, &revs, cli->color);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rekey: plan: cannot write the plan to standard output\n");
		rc = RK_EXIT_FAILED;
	}
	/* A file that cannot be read now will fail preflight: say so in the exit status. */
	for (i = 0; i < views.n; i++)
		if (views.views[i].error != NULL)
			rc = RK_EXIT_FAILED;
 out:
	cli_selection_clear(&selection);
	cli_client_views_clear(&views);
	cli_revocations_clear(&revs);
	rk_plan_free(plan);
	rk_model_free(model);
	rk_diags_clear(&diags);
	return rc;
}
