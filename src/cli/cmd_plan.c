#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rekey/plan.h"

static void
plan_usage(FILE *f)
{
	fprintf(f,
	    "usage: rekey plan [--json] PLAYBOOK\n"
	    "\n"
	    "Validates PLAYBOOK and prints the ordered plan that `rekey run` carries out,\n"
	    "grouped by phase and host: every file with its path, owner and mode, every\n"
	    "reload and every check. Opens no connection and writes nothing.\n"
	    "\n"
	    "  --json   print the plan as one JSON document\n"
	    "  --help   this help\n");
}

int
cmd_plan(const struct rk_cli *cli, int argc, char **argv)
{
	struct rk_model *model = NULL;
	struct rk_plan *plan = NULL;
	struct rk_err err = { 0 };
	bool json;
	int rc;

	if ((rc = cli_open_playbook_command(cli, argc, argv, plan_usage, &json, &model)) !=
	    RK_EXIT_OK || model == NULL)
		return rc;
	if (rk_plan_build(&plan, model, &err) != 0) {
		cli_report_error(cli, "plan", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	if (json)
		rc = render_plan_json(stdout, plan);
	else
		render_plan_text(stdout, plan, cli->color);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rekey: plan: cannot write the plan to standard output\n");
		rc = RK_EXIT_FAILED;
	}
 out:
	rk_plan_free(plan);
	rk_model_free(model);
	return rc;
}
