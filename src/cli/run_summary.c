/*
 * The end of a run as the operator sees it: what became of every service and client (the
 * unit results the record repeats), the summary in text or JSON, what to do next, and the
 * exit code.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "run.h"
#include "rekey/actions.h"
#include "rekey/strutil.h"

const char *
run_mode_name(enum run_mode mode)
{
	switch (mode) {
	case MODE_RUN:		return "run";
	case MODE_RESUME:	return "resume";
	case MODE_ROLLBACK:	return "rollback";
	case MODE_REHEARSE:	return "rehearse";
	}
	return "?";
}

const char *
run_unit_result_name(enum unit_result u)
{
	switch (u) {
	case UNIT_VERIFIED:	return "verified";
	case UNIT_ROLLED_BACK:	return "rolled back";
	case UNIT_UNDO_FAILED:	return "undo FAILED";
	case UNIT_FAILED:	return "failed";
	case UNIT_INCOMPLETE:	return "incomplete";
	case UNIT_SKIPPED:	return "skipped";
	case UNIT_NOT_STARTED:	return "not started";
	}
	return "?";
}

/* A step counts for a unit when it is the unit's, or its host's own (connect, probe). */
static bool
step_of_unit(const struct rk_step *s, const struct rk_service *svc, const struct rk_client *c)
{
	const struct rk_host *h = svc != NULL ? svc->host : c->host;

	if (svc != NULL && s->service == svc)
		return true;
	if (c != NULL && s->client == c)
		return true;
	return s->host == h && s->service == NULL && s->client == NULL;
}

/*
 * Whether a step, once done, has begun its unit's change on its host: the swap and what
 * follows. Checks and the controller's work change nothing there, and trust distributed
 * ahead of every wave (the CA file and CRL each host gets first) is not yet the unit's
 * rotation: a unit with only that done is "not started", as the canary policy expects.
 */
static bool
changes_host(const struct rk_step *s)
{
	return s->host != NULL && (s->phase == RK_PHASE_SWAP || s->phase == RK_PHASE_RELOAD ||
	    s->phase == RK_PHASE_UPDATE_CLIENTS || s->phase == RK_PHASE_RETIRE_TRUST);
}

enum unit_result
run_unit_result(const struct run *run, const struct rk_service *svc, const struct rk_client *c,
    const struct rk_step **first_failed, const struct rk_step **undo_failed)
{
	const struct rk_run_report *rep = run->report;
	bool any = false, undone = false, failed = false, skipped = false, pending = false;
	bool changed = false;
	size_t i;

	*first_failed = NULL;
	*undo_failed = NULL;
	for (i = 0; i < run->plan->nsteps; i++) {
		const struct rk_step *s = &run->plan->steps[i];

		if (!step_of_unit(s, svc, c))
			continue;
		any = true;
		if (*undo_failed == NULL && board_undo_error_of(&run->board, s) != NULL)
			*undo_failed = s;
		switch (rep->outcomes[i]) {
		case RK_OUTCOME_UNDONE:
			undone = true;
			/*
			 * Under the rollback policy the failed step is undone too (a reload is
			 * reloaded again): its error is still why the unit was rolled back.
			 */
			if (*first_failed == NULL && board_error_of(&run->board, s) != NULL)
				*first_failed = s;
			break;
		case RK_OUTCOME_FAILED:
			failed = true;
			if (*first_failed == NULL)
				*first_failed = s;
			break;
		case RK_OUTCOME_SKIPPED:
			skipped = true;
			break;
		case RK_OUTCOME_PENDING:
			pending = true;
			break;
		case RK_OUTCOME_DONE:
		case RK_OUTCOME_DONE_BEFORE:
			/* A rehearsal's swap only tried the replace: nothing changed. */
			changed |= run->args.mode != MODE_REHEARSE && changes_host(s);
			break;
		}
	}
	/* Neither old nor new everywhere: what a human must look at first. */
	if (*undo_failed != NULL)
		return UNIT_UNDO_FAILED;
	if (undone)
		return UNIT_ROLLED_BACK;
	if (failed)
		return UNIT_FAILED;
	/* Neither "skipped" nor "not started": those promise the host untouched. */
	if (changed && (skipped || pending))
		return UNIT_INCOMPLETE;
	if (skipped)
		return UNIT_SKIPPED;
	if (pending || !any)
		return UNIT_NOT_STARTED;
	return UNIT_VERIFIED;
}

bool
run_ok(const struct run *run)
{
	const struct rk_run_report *rep = run->report;

	if (rep->journal_failed)
		return false;
	if (run->args.mode == MODE_ROLLBACK)
		return rep->undo_failed == 0;
	return rep->done == rep->nsteps && !rep->stopped;
}

/* A reason under a row: the message, then the step it came from. */
static void
print_reason(const char *prefix, const char *why, const struct rk_step *s)
{
	char *esc = rk_text_escape(why);

	printf("        %s%s (step %u, %s)\n", prefix, esc != NULL ? esc : "(out of memory)",
	    s->id, rk_action_name(s->action));
	free(esc);
}

static void
print_row(const struct run *run, const char *kind, const char *name, const char *host,
    enum unit_result u, const char *served, const struct rk_step *failed,
    const struct rk_step *undo_failed)
{
	const char *color = "", *reset = run->cli->color ? "\033[0m" : "";
	const char *why = failed != NULL ? board_error_of(&run->board, failed) : NULL;

	if (run->cli->color)
		color = u == UNIT_VERIFIED ? "\033[32m" : u == UNIT_ROLLED_BACK ||
		    u == UNIT_SKIPPED ? "\033[33m" : "\033[31m";
	printf("%-7s %-20s %-12s %s%-12s%s %s\n", kind, name, host != NULL ? host : "-", color,
	    run_unit_result_name(u), reset, served);
	if (why != NULL)
		print_reason("", why, failed);
	if (undo_failed != NULL)
		print_reason("undo FAILED: ", board_undo_error_of(&run->board, undo_failed),
		    undo_failed);
}

static void
print_summary_text(const struct run *run)
{
	const struct rk_model *m = run->model;
	const struct rk_step *failed, *undo_failed;
	char served[64];
	size_t i;

	printf("\n%-7s %-20s %-12s %-12s %s\n", "KIND", "NAME", "HOST", "RESULT",
	    "SERVED NOW (SHA-256, start)");
	for (i = 0; i < m->nservices; i++) {
		const struct rk_served *sv = rk_run_ctx_served(run->ctx, i);
		enum unit_result u = run_unit_result(run, &m->services[i], NULL, &failed,
		    &undo_failed);

		snprintf(served, sizeof(served), "%.23s", sv->after[0] != '\0' ? sv->after :
		    sv->before[0] != '\0' ? sv->before : "-");
		print_row(run, "service", m->services[i].name, m->services[i].host != NULL ?
		    m->services[i].host->name : NULL, u, served, failed, undo_failed);
	}
	for (i = 0; i < m->nclients; i++) {
		enum unit_result u = run_unit_result(run, NULL, &m->clients[i], &failed,
		    &undo_failed);

		print_row(run, "client", m->clients[i].name, m->clients[i].host != NULL ?
		    m->clients[i].host->name : NULL, u, "", failed, undo_failed);
	}
	if (run->args.mode == MODE_ROLLBACK)
		printf("\n%zu steps undone, %zu could not be undone, in %.1f s\n",
		    run->report->undone, run->report->undo_failed, board_elapsed(&run->board));
	else
		printf("\n%zu of %zu steps done (%zu failed, %zu skipped, %zu undone%s) in %.1f s\n",
		    run->report->done, run->report->nsteps, run->report->failed,
		    run->report->skipped, run->report->undone, run->report->undo_failed > 0 ?
		    ", some undo FAILED" : "", board_elapsed(&run->board));
}

static json_t *
units_json(const struct run *run, bool services)
{
	const struct rk_model *m = run->model;
	size_t i, n = services ? m->nservices : m->nclients;
	const struct rk_step *failed, *undo_failed;
	json_t *list = json_array();

	for (i = 0; list != NULL && i < n; i++) {
		const struct rk_service *svc = services ? &m->services[i] : NULL;
		const struct rk_client *c = services ? NULL : &m->clients[i];
		const struct rk_host *h = svc != NULL ? svc->host : c->host;
		enum unit_result u = run_unit_result(run, svc, c, &failed, &undo_failed);
		const char *why = failed != NULL ? board_error_of(&run->board, failed) : NULL;
		const char *undo_why = undo_failed != NULL ?
		    board_undo_error_of(&run->board, undo_failed) : NULL;
		json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o}", "name", svc != NULL ? svc->name :
		    c->name, "host", h != NULL ? json_string(h->name) : json_null(), "result",
		    run_unit_result_name(u), "error", why != NULL ? json_string(why) : json_null(),
		    "undo_error", undo_why != NULL ? json_string(undo_why) : json_null());

		if (o != NULL && svc != NULL) {
			const struct rk_served *sv = rk_run_ctx_served(run->ctx, i);

			json_object_set_new(o, "fingerprint_before", sv->before[0] != '\0' ?
			    json_string(sv->before) : json_null());
			json_object_set_new(o, "fingerprint_now", sv->after[0] != '\0' ?
			    json_string(sv->after) : json_null());
		}
		json_array_append_new(list, o);
	}
	return list;
}

static void
print_summary_json(const struct run *run)
{
	const struct rk_run_report *rep = run->report;
	json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:b}",
	    "event", "summary", "command", run_mode_name(run->args.mode), "ok", run_ok(run),
	    "incident", run->model->incident.id, "journal", run->journal_path,
	    "steps", (json_int_t)rep->nsteps, "done", (json_int_t)rep->done,
	    "failed", (json_int_t)rep->failed, "skipped", (json_int_t)rep->skipped,
	    "undone", (json_int_t)rep->undone, "stopped", rep->stopped);

	if (o == NULL)
		return;
	json_object_set_new(o, "record", run->record != NULL ? json_string(run->record) :
	    json_null());
	if (run->record == NULL)
		json_object_set_new(o, "record_error", json_string(run->record_error));
	if (rep->journal_failed)
		json_object_set_new(o, "journal_error", json_string(run->journal_error));
	json_object_set_new(o, "services", units_json(run, true));
	json_object_set_new(o, "clients", units_json(run, false));
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

int
run_finish(struct run *run)
{
	const char *pb = run->args.playbook;
	bool ok = run_ok(run);

	if (run->args.json) {
		print_summary_json(run);
	} else {
		print_summary_text(run);
		printf("journal: %s\n", run->journal_path);
		if (run->record != NULL)
			printf("record: %s (rekey record verify checks it)\n", run->record);
		else
			printf("record: NOT WRITTEN: %s\n", run->record_error);
		if (run->report->journal_failed)
			printf("the journal could not be written (%s): the run stopped there; once "
			    "this is fixed, `rekey %s %s` goes on from the journal (a step begun and "
			    "not marked done is looked at on its host first)\n", run->journal_error,
			    run->args.mode == MODE_ROLLBACK ? "rollback" : "resume", pb);
		else if (run->report->stopped)
			printf("stopped by a signal: `rekey resume %s` goes on, `rekey rollback %s` "
			    "undoes it\n", pb, pb);
		else if (!ok && run->args.mode != MODE_ROLLBACK)
			printf("not everything verified: `rekey resume %s` tries again what failed, "
			    "`rekey rollback %s` undoes what was done\n", pb, pb);
		/* The playbook still names the CA this run replaced: the next run, and every
		 * `rekey verify`, would judge the estate by the old one. */
		if (ok && run->model->ca.rotate && (run->args.mode == MODE_RUN ||
		    run->args.mode == MODE_RESUME))
			printf("next: the new CA is %s/ca/ca.crt (key ca/ca.key, CRL ca/ca.crl): point "
			    "ca.cert, ca.key and ca.crl of %s at them (or copy them over %s) before "
			    "`rekey verify` or the next run, which judge the estate by ca.cert\n",
			    run->dir, pb, run->model->ca.cert);
	}
	if (run->report->stopped)
		return 130;
	return ok ? RK_EXIT_OK : RK_EXIT_FAILED;
}
