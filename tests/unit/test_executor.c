/*
 * The executor with fake actions that record every call and fail where a test says: order,
 * barriers, the journal's lines, each failure policy, undo order, resume and the stop flag.
 * The real actions are tested end to end on the harness; this is the scheduling alone.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/executor.h"
#include "rekey/journal.h"
#include "rekey/plan.h"
#include "rekey/playbook.h"

/* Three services on three hosts (canary 1: wave 1 is pa, wave 2 pb and pc), one client. */
static const char estate[] =
    "version: 1\n"
    "ca: {cert: c, key: k}\n"
    "certificates:\n"
    "  s1: {profile: server, subject: \"/CN=a\", san: [\"DNS:a\"]}\n"
    "  s2: {profile: server, subject: \"/CN=b\", san: [\"DNS:b\"]}\n"
    "  s3: {profile: server, subject: \"/CN=c\", san: [\"DNS:c\"]}\n"
    "hosts: {a: {address: a}, b: {address: b}, c: {address: c}, app: {address: app}}\n"
    "services:\n"
    "  - {name: pa, host: a, kind: postgresql, certificate: s1, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}}}\n"
    "  - {name: pb, host: b, kind: postgresql, certificate: s2, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}}}\n"
    "  - {name: pc, host: c, kind: postgresql, certificate: s3, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}}}\n"
    "clients:\n"
    "  - {name: env, host: app, file: {path: /srv/.env, format: env}, set: {A: b},\n"
    "     verify: {command: check}}\n"
    "policy: {canary: 1, max_parallel: 4}\n";

enum call_kind { CALL_RUN, CALL_UNDO, CALL_CHECK, CALL_BATCH };

struct call {
	enum call_kind	 kind;
	uint32_t	 step;
};

struct fake {
	pthread_mutex_t	 lock;
	struct call	 calls[512];
	size_t		 n;
	uint32_t	 fail_step;		/* run of this step fails; 0: none */
	uint32_t	 found_done;		/* check_done says this step is done */
	uint32_t	 stop_after;		/* raise stop when this step is done */
	volatile sig_atomic_t stop;
	size_t		 batched;		/* steps that came through run_batch */
};

struct world {
	struct rk_model		*model;
	struct rk_plan		*plan;
	struct fake		 fake;
	char			 dir[64];
	char			 journal[128];
	struct rk_action_ops	 ops[RK_ACTIONS];
};

static void
record(struct fake *f, enum call_kind kind, const struct rk_step *s)
{
	pthread_mutex_lock(&f->lock);
	assert_true(f->n < sizeof(f->calls) / sizeof(f->calls[0]));
	f->calls[f->n].kind = kind;
	f->calls[f->n].step = s->id;
	f->n++;
	pthread_mutex_unlock(&f->lock);
}

static int
fake_run(void *ctx, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct fake *f = ctx;

	record(f, CALL_RUN, s);
	if (s->action == RK_ACT_PUSH_FILE) {
		assert_int_equal(rk_step_result_undo(res, "path", s->file->path, err), 0);
		assert_int_equal(rk_step_result_undo(res, "backup", "/bak", err), 0);
	}
	if (s->action == RK_ACT_ISSUE_CERT)
		assert_int_equal(rk_step_result_out(res, "serial", "5D:3A", err), 0);
	if (s->id == f->fail_step)
		return rk_fail(err, RK_E_REMOTE, "step %u failed on purpose", s->id);
	return 0;
}

/* As push-file's batch does: each step as fake_run, in order, stopping at a failure. */
static size_t
fake_batch(void *ctx, const struct rk_step *const *steps, size_t n,
    struct rk_step_result *const *res, int *codes, struct rk_err *errs)
{
	struct fake *f = ctx;
	size_t i;

	record(f, CALL_BATCH, steps[0]);
	for (i = 1; i < n; i++) {
		assert_ptr_equal(steps[i]->host, steps[0]->host);
		assert_int_equal(steps[i]->action, steps[0]->action);
		assert_true(steps[i]->id > steps[i - 1]->id);
	}
	pthread_mutex_lock(&f->lock);
	f->batched += n;
	pthread_mutex_unlock(&f->lock);
	for (i = 0; i < n; i++)
		if ((codes[i] = fake_run(ctx, steps[i], res[i], &errs[i])) != 0)
			return i + 1;
	return n;
}

static int
fake_undo(void *ctx, const struct rk_step *s, const struct rk_kv *undo, size_t nundo,
    const struct rk_kv *out, size_t nout, struct rk_err *err)
{
	(void)out;
	(void)nout;
	(void)err;
	if (s->action == RK_ACT_PUSH_FILE)
		assert_string_equal(rk_kv_get(undo, nundo, "backup"), "/bak");
	record(ctx, CALL_UNDO, s);
	return 0;
}

static int
fake_check(bool *done, void *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct fake *f = ctx;

	record(f, CALL_CHECK, s);
	*done = s->id == f->found_done;
	/* As push-file's check does: the backup found beside the new file. */
	if (*done && rk_step_result_undo(res, "backup", "/bak", err) != 0)
		return err->code;
	return 0;
}

static void
observe(const struct rk_event *ev, void *payload)
{
	struct fake *f = payload;

	if (ev->kind == RK_EVENT_STEP_DONE && ev->step->id == f->stop_after)
		f->stop = 1;
}

static void
world_init(struct world *w)
{
	struct rk_bytes bytes = { (const unsigned char *)estate, sizeof(estate) - 1 };
	struct rk_diags d;
	struct rk_err err = { 0 };
	size_t a;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->fake.lock, NULL);
	rk_diags_init(&d, "t.yml");
	if (rk_playbook_parse(&w->model, "t.yml", "/base", bytes, &d, &err) != 0)
		fail_msg("parse: %s", d.n > 0 ? d.items[0].msg : err.msg);
	rk_diags_clear(&d);
	assert_int_equal(rk_plan_build(&w->plan, w->model, NULL, &err), 0);
	snprintf(w->dir, sizeof(w->dir), "/tmp/rk-exec-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->journal, sizeof(w->journal), "%s/journal.jsonl", w->dir);
	for (a = 0; a < RK_ACTIONS; a++)
		w->ops[a].run = fake_run;
	w->ops[RK_ACT_PUSH_FILE].undo = fake_undo;
	w->ops[RK_ACT_PUSH_FILE].undo_rank = RK_UNDO_CONTENT;
	w->ops[RK_ACT_PUSH_FILE].check_done = fake_check;
	w->ops[RK_ACT_EDIT_CLIENT_CONFIG].undo = fake_undo;
	w->ops[RK_ACT_RELOAD_SERVICE].undo = fake_undo;
	w->ops[RK_ACT_RELOAD_SERVICE].undo_rank = RK_UNDO_RELOAD;
	w->ops[RK_ACT_VERIFY_SERVICE].undo = fake_undo;
	w->ops[RK_ACT_VERIFY_SERVICE].undo_rank = RK_UNDO_CHECK;
}

static void
world_clear(struct world *w)
{
	char out[256];
	char *argv[] = { "rm", "-rf", "--", w->dir, NULL };

	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
	rk_plan_free(w->plan);
	rk_model_free(w->model);
	pthread_mutex_destroy(&w->fake.lock);
}

/* Runs (or resumes, or rolls back) against the world's journal. */
static struct rk_run_report *
execute(struct world *w, enum rk_on_failure policy, int mode)
{
	struct rk_journal_header h = { "INC-X", w->plan->digest, "0", 0, NULL, 0 };
	/* mode 0: a run, 1: a resume, 2: a rollback, 3: a rehearsal */
	struct rk_executor_config cfg = { w->plan, w->ops, &w->fake, NULL, NULL, policy, 4,
	    observe, &w->fake, &w->fake.stop, mode == 3 };
	struct rk_journal_log *log = NULL;
	struct rk_run_report *rep = NULL;
	struct rk_err err = { 0 };

	if (mode == 0 || mode == 3) {
		assert_int_equal(rk_journal_create(&cfg.journal, w->journal, &h, &err), 0);
	} else {
		assert_int_equal(rk_journal_reopen(&cfg.journal, &log, w->journal, &err), 0);
		cfg.before = log;
	}
	if (mode == 2)
		assert_int_equal(rk_executor_rollback(&rep, &cfg, &err), 0);
	else if (rk_executor_run(&rep, &cfg, &err) != 0)
		fail_msg("run: %s", err.msg);
	rk_journal_close(cfg.journal);
	rk_journal_log_free(log);
	return rep;
}

static const struct rk_step *
step_of(const struct world *w, enum rk_action a, const char *service, enum rk_content c)
{
	size_t i;

	for (i = 0; i < w->plan->nsteps; i++) {
		const struct rk_step *s = &w->plan->steps[i];

		if (s->action == a && (service == NULL || (s->service != NULL &&
		    strcmp(s->service->name, service) == 0)) &&
		    (c == RK_CONTENT_NONE || s->content == c))
			return s;
	}
	fail_msg("no such step");
	return NULL;
}

/* Position of the first call of kind for step, or SIZE_MAX. */
static size_t
call_at(const struct fake *f, enum call_kind kind, uint32_t step)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->calls[i].kind == kind && f->calls[i].step == step)
			return i;
	return SIZE_MAX;
}

static void
test_executor_runs_every_step_once_group_by_group(void **state)
{
	struct world w;
	struct rk_run_report *rep;
	struct rk_journal_log *log = NULL;
	struct rk_err err = { 0 };
	size_t g, i, k;

	(void)state;
	world_init(&w);
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 0);
	assert_int_equal(rep->done, w.plan->nsteps);
	assert_int_equal(rep->failed + rep->skipped + rep->undone, 0);
	assert_false(rep->halted);
	assert_int_equal(w.fake.n, w.plan->nsteps);
	/* Barriers: every step of a group runs after every step of the groups before it. */
	for (g = 1; g < w.plan->ngroups; g++)
		for (i = 0; i < w.plan->groups[g].n; i++)
			for (k = 0; k < w.plan->groups[g - 1].n; k++)
				assert_true(call_at(&w.fake, CALL_RUN,
				    w.plan->steps[w.plan->groups[g].first + i].id) >
				    call_at(&w.fake, CALL_RUN,
				    w.plan->steps[w.plan->groups[g - 1].first + k].id));
	/* One start and one done per step, the done carrying the undo. */
	assert_int_equal(rk_journal_read(&log, w.journal, &err), 0);
	assert_int_equal(log->nrecords, 2 * w.plan->nsteps);
	assert_string_equal(log->plan_digest, w.plan->digest);
	for (i = 0; i < w.plan->nsteps; i++) {
		const struct rk_journal_record *r = rk_journal_log_last(log, w.plan->steps[i].id);

		assert_non_null(r);
		assert_int_equal(r->state, RK_JOURNAL_DONE);
		if (w.plan->steps[i].action == RK_ACT_PUSH_FILE)
			assert_string_equal(rk_kv_get(r->undo, r->nundo, "backup"), "/bak");
	}
	rk_journal_log_free(log);
	rk_run_report_free(rep);
	world_clear(&w);
}

/*
 * rollback in wave 2, the failed service's reload: its files go back (newest first) and it is
 * reloaded; pc, which had its new files from the same wave's swap, finishes the wave;
 * nothing of a later phase runs. (A failure in the swap itself may or may not find pc
 * started, as threads go: after a failure, no new host starts.)
 */
static void
test_executor_rollback_undoes_the_failed_service_and_stops(void **state)
{
	const struct rk_step *key, *cert, *reload, *client;
	struct rk_run_report *rep;
	struct world w;

	(void)state;
	world_init(&w);
	key = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_KEY);
	cert = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_CERT);
	reload = step_of(&w, RK_ACT_RELOAD_SERVICE, "pb", RK_CONTENT_NONE);
	client = step_of(&w, RK_ACT_EDIT_CLIENT_CONFIG, NULL, RK_CONTENT_NONE);
	w.fake.fail_step = reload->id;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 0);
	assert_true(rep->halted);
	assert_int_equal(rep->failed, 1);
	assert_int_equal(rep->outcomes[key->id - 1], RK_OUTCOME_UNDONE);
	assert_int_equal(rep->outcomes[cert->id - 1], RK_OUTCOME_UNDONE);
	assert_true(call_at(&w.fake, CALL_UNDO, cert->id) < call_at(&w.fake, CALL_UNDO, key->id));
	assert_true(call_at(&w.fake, CALL_UNDO, key->id) <
	    call_at(&w.fake, CALL_UNDO, reload->id));
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pb",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_SKIPPED);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_RELOAD_SERVICE, "pc",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pc",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	/* Clients come after the waves: never started. The record is written all the same. */
	assert_int_equal(rep->outcomes[client->id - 1], RK_OUTCOME_PENDING);
	assert_int_equal(rep->outcomes[w.plan->nsteps - 1], RK_OUTCOME_DONE);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* A failed verify rolls back files first, newest first, then reloads, then checks the old. */
static void
test_executor_undo_order_is_files_then_reload_then_check(void **state)
{
	const struct rk_step *key, *cert, *reload, *verify;
	struct rk_run_report *rep;
	struct world w;

	(void)state;
	world_init(&w);
	key = step_of(&w, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_KEY);
	cert = step_of(&w, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_CERT);
	reload = step_of(&w, RK_ACT_RELOAD_SERVICE, "pa", RK_CONTENT_NONE);
	verify = step_of(&w, RK_ACT_VERIFY_SERVICE, "pa", RK_CONTENT_NONE);
	w.fake.fail_step = verify->id;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 0);
	assert_true(call_at(&w.fake, CALL_UNDO, cert->id) < call_at(&w.fake, CALL_UNDO, key->id));
	assert_true(call_at(&w.fake, CALL_UNDO, key->id) <
	    call_at(&w.fake, CALL_UNDO, reload->id));
	assert_true(call_at(&w.fake, CALL_UNDO, reload->id) <
	    call_at(&w.fake, CALL_UNDO, verify->id));
	/* The canary failed: wave 2 never starts. */
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_PUSH_FILE, "pb",
	    RK_CONTENT_KEY)->id - 1], RK_OUTCOME_PENDING);
	assert_true(rep->halted);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* continue: the failed service stops there, everything else goes on to the end. */
static void
test_executor_continue_goes_on_with_the_others(void **state)
{
	const struct rk_step *reload;
	struct rk_run_report *rep;
	struct world w;

	(void)state;
	world_init(&w);
	reload = step_of(&w, RK_ACT_RELOAD_SERVICE, "pb", RK_CONTENT_NONE);
	w.fake.fail_step = reload->id;
	rep = execute(&w, RK_ON_FAILURE_CONTINUE, 0);
	assert_false(rep->halted);
	assert_int_equal(rep->failed, 1);
	assert_int_equal(rep->undone, 0);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pb",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_SKIPPED);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pc",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_EDIT_CLIENT_CONFIG, NULL,
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	rk_run_report_free(rep);
	world_clear(&w);
}

/*
 * continue: a certificate that fails takes its key back with it; the others go on. With
 * batched, the host's pushes come through run_batch, which must end the same way.
 */
static void
check_pair_kept_under_continue(bool batched)
{
	const struct rk_step *cert, *key;
	struct rk_run_report *rep;
	struct world w;

	world_init(&w);
	if (batched)
		w.ops[RK_ACT_PUSH_FILE].run_batch = fake_batch;
	cert = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_CERT);
	key = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_KEY);
	w.fake.fail_step = cert->id;
	rep = execute(&w, RK_ON_FAILURE_CONTINUE, 0);
	assert_false(rep->halted);
	assert_int_equal(rep->outcomes[key->id - 1], RK_OUTCOME_UNDONE);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_RELOAD_SERVICE, "pb",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_SKIPPED);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pc",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	/* Only the pair (the failed push undoes what it may have left), nothing else. */
	assert_int_equal(rep->undone, 2);
	assert_int_equal(rep->outcomes[cert->id - 1], RK_OUTCOME_UNDONE);
	/* Nothing after the failed push on its host ran. */
	for (size_t i = 0; i < w.plan->nsteps; i++) {
		const struct rk_step *s = &w.plan->steps[i];

		if (s->host == cert->host && s->phase == cert->phase && s->wave == cert->wave &&
		    s->id > cert->id)
			assert_int_equal(call_at(&w.fake, CALL_RUN, s->id), SIZE_MAX);
	}
	assert_true(!batched || w.fake.batched > 0);
	rk_run_report_free(rep);
	world_clear(&w);
}

static void
test_executor_continue_keeps_the_key_and_certificate_a_pair(void **state)
{
	(void)state;
	check_pair_kept_under_continue(false);
}

/*
 * A host's consecutive pushes of one group come in one batch; each is still journaled with a
 * start before and a done after, as if it had run alone.
 */
static void
test_executor_batches_a_hosts_pushes_of_one_group(void **state)
{
	struct rk_journal_log *log = NULL;
	struct rk_err err = { 0 };
	struct rk_run_report *rep;
	struct world w;
	size_t i, pushes = 0, batches = 0;

	(void)state;
	world_init(&w);
	w.ops[RK_ACT_PUSH_FILE].run_batch = fake_batch;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 0);
	assert_int_equal(rep->done, w.plan->nsteps);
	for (i = 0; i < w.plan->nsteps; i++)
		pushes += w.plan->steps[i].action == RK_ACT_PUSH_FILE;
	for (i = 0; i < w.fake.n; i++)
		batches += w.fake.calls[i].kind == CALL_BATCH;
	assert_true(pushes > 2);
	assert_int_equal(w.fake.batched, pushes);	/* every push went in a batch */
	assert_true(batches < pushes);			/* of more than one push each */
	assert_int_equal(rk_journal_read(&log, w.journal, &err), 0);
	assert_int_equal(log->nrecords, 2 * w.plan->nsteps);
	for (i = 0; i < w.plan->nsteps; i++)
		assert_int_equal(rk_journal_log_last(log, w.plan->steps[i].id)->state,
		    RK_JOURNAL_DONE);
	rk_journal_log_free(log);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* A push that fails in a batch ends its host's lane as it would alone: the pair put back. */
static void
test_executor_batch_failure_is_handled_as_one_step_alone(void **state)
{
	(void)state;
	check_pair_kept_under_continue(true);
}

/* A host that fails preflight stops the run before anything changes, whatever the policy. */
static void
test_executor_preflight_failure_changes_nothing(void **state)
{
	const struct rk_step *connect = NULL;
	struct rk_run_report *rep;
	struct world w;
	size_t i;

	(void)state;
	world_init(&w);
	for (i = 0; i < w.plan->nsteps && connect == NULL; i++)
		if (w.plan->steps[i].action == RK_ACT_CONNECT_HOST)
			connect = &w.plan->steps[i];
	w.fake.fail_step = connect->id;
	rep = execute(&w, RK_ON_FAILURE_CONTINUE, 0);
	assert_true(rep->halted);
	for (i = 0; i < w.plan->nsteps; i++)
		if (!rk_step_is_read_only(&w.plan->steps[i]) &&
		    w.plan->steps[i].action != RK_ACT_WRITE_RECORD)
			assert_int_equal(call_at(&w.fake, CALL_RUN, w.plan->steps[i].id), SIZE_MAX);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* A rehearsal tries every step: a host it cannot reach loses only its own steps. */
static void
test_executor_rehearsal_goes_on_past_a_failed_host(void **state)
{
	const struct rk_step *connect = NULL, *s;
	struct rk_run_report *rep;
	struct world w;
	size_t i, others = 0;

	(void)state;
	world_init(&w);
	for (i = 0; i < w.plan->nsteps && connect == NULL; i++)
		if (w.plan->steps[i].action == RK_ACT_CONNECT_HOST)
			connect = &w.plan->steps[i];
	w.fake.fail_step = connect->id;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 3);
	assert_false(rep->halted);
	assert_int_equal(rep->failed, 1);
	assert_int_equal(rep->undone, 0);
	for (i = 0; i < w.plan->nsteps; i++) {
		s = &w.plan->steps[i];
		if (s == connect)
			continue;
		if (s->host == connect->host) {
			assert_int_equal(rep->outcomes[i], RK_OUTCOME_SKIPPED);
			assert_int_equal(call_at(&w.fake, CALL_RUN, s->id), SIZE_MAX);
		} else {
			assert_int_equal(rep->outcomes[i], RK_OUTCOME_DONE);
			others++;
		}
	}
	assert_true(others > 0);
	for (i = 0; i < w.fake.n; i++)
		assert_int_not_equal(w.fake.calls[i].kind, CALL_UNDO);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* A rehearsal step that fails where a run would halt (the CA, a push) halts nothing and
 * undoes nothing: every later check is still made. */
static void
test_executor_rehearsal_never_halts_or_undoes(void **state)
{
	const struct rk_step *check_ca, *cert;
	struct rk_run_report *rep;
	struct world w;
	size_t i;

	(void)state;
	world_init(&w);
	check_ca = step_of(&w, RK_ACT_CHECK_CA, NULL, RK_CONTENT_NONE);
	w.fake.fail_step = check_ca->id;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 3);
	assert_false(rep->halted);
	assert_int_equal(rep->failed, 1);
	assert_int_equal(rep->done, w.plan->nsteps - 1);
	rk_run_report_free(rep);
	world_clear(&w);

	world_init(&w);
	cert = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_CERT);
	w.fake.fail_step = cert->id;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 3);
	assert_false(rep->halted);
	assert_int_equal(rep->undone, 0);
	for (i = 0; i < w.fake.n; i++)
		assert_int_not_equal(w.fake.calls[i].kind, CALL_UNDO);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_RELOAD_SERVICE, "pb",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_SKIPPED);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pc",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_WRITE_RECORD, NULL,
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* Resume: done steps are not run again; a started one is checked on the host first. */
static void
test_executor_resume_skips_done_and_checks_started(void **state)
{
	const struct rk_step *cert, *key;
	struct rk_run_report *rep;
	struct world w;
	size_t i, runs = 0;

	(void)state;
	world_init(&w);
	cert = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_CERT);
	key = step_of(&w, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_KEY);
	w.fake.fail_step = cert->id;
	rep = execute(&w, RK_ON_FAILURE_HALT, 0);
	assert_true(rep->halted);

	/* The key landed, the certificate did not: even under halt the key went back, so
	 * the pair is never new key with old certificate. */
	assert_int_equal(rep->outcomes[key->id - 1], RK_OUTCOME_UNDONE);
	assert_true(call_at(&w.fake, CALL_UNDO, key->id) != SIZE_MAX);
	rk_run_report_free(rep);

	/* Resume: only what did not finish runs: the pair again, key first. */
	w.fake.n = 0;
	w.fake.fail_step = 0;
	rep = execute(&w, RK_ON_FAILURE_HALT, 1);
	assert_false(rep->halted);
	assert_int_equal(rep->failed, 0);
	assert_int_equal(rep->outcomes[key->id - 1], RK_OUTCOME_DONE);
	assert_true(call_at(&w.fake, CALL_RUN, key->id) < call_at(&w.fake, CALL_RUN, cert->id));
	assert_true(call_at(&w.fake, CALL_RUN, cert->id) != SIZE_MAX);
	for (i = 0; i < w.fake.n; i++)
		runs += w.fake.calls[i].kind == CALL_RUN;
	assert_true(runs < w.plan->nsteps);
	for (i = 0; i < w.plan->nsteps; i++)
		assert_true(rep->outcomes[i] == RK_OUTCOME_DONE ||
		    rep->outcomes[i] == RK_OUTCOME_DONE_BEFORE);
	rk_run_report_free(rep);
	world_clear(&w);
}

/* A journal where the key push of service pa started and never finished (a kill). */
static const struct rk_step *
journal_a_started_push(struct world *w)
{
	struct rk_journal_header h = { "INC-X", "d", "0", 0, NULL, 0 };
	struct rk_journal_entry e = { 0 };
	const struct rk_step *key = step_of(w, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_KEY);
	struct rk_journal *j = NULL;
	struct rk_err err = { 0 };

	assert_int_equal(rk_journal_create(&j, w->journal, &h, &err), 0);
	e.step = key->id;
	e.action = "push-file";
	e.phase = "swap";
	e.state = RK_JOURNAL_START;
	assert_int_equal(rk_journal_append(j, &e, &err), 0);
	rk_journal_close(j);
	return key;
}

/* A step whose "done" never reached the journal is looked for on the host before a redo. */
static void
test_executor_resume_finds_a_started_step_done_on_the_host(void **state)
{
	const struct rk_step *key;
	struct rk_run_report *rep;
	struct world w;

	(void)state;
	world_init(&w);
	key = journal_a_started_push(&w);
	w.fake.found_done = key->id;
	rep = execute(&w, RK_ON_FAILURE_HALT, 1);
	assert_true(call_at(&w.fake, CALL_CHECK, key->id) != SIZE_MAX);
	assert_int_equal(call_at(&w.fake, CALL_RUN, key->id), SIZE_MAX);
	assert_int_equal(rep->outcomes[key->id - 1], RK_OUTCOME_DONE);
	rk_run_report_free(rep);
	world_clear(&w);
}

/*
 * A run killed after a file landed but before its "done" was journaled: rollback asks the
 * host, and puts back what it finds changed; what it finds untouched it leaves alone.
 */
static void
test_executor_rollback_undoes_a_started_step_found_done_on_the_host(void **state)
{
	const struct rk_step *key;
	struct rk_run_report *rep;
	struct world w;
	int found;

	(void)state;
	for (found = 1; found >= 0; found--) {
		world_init(&w);
		key = journal_a_started_push(&w);
		w.fake.found_done = found ? key->id : 0;
		rep = execute(&w, RK_ON_FAILURE_HALT, 2);
		assert_true(call_at(&w.fake, CALL_CHECK, key->id) != SIZE_MAX);
		if (found) {
			assert_true(call_at(&w.fake, CALL_UNDO, key->id) != SIZE_MAX);
			assert_int_equal(rep->undone, 1);
		} else {
			assert_int_equal(call_at(&w.fake, CALL_UNDO, key->id), SIZE_MAX);
			assert_int_equal(rep->undone, 0);
		}
		rk_run_report_free(rep);
		world_clear(&w);
	}
}

/* rollback walks the journal back: files newest first, then reloads, then checks. */
static void
test_executor_rollback_command_undoes_the_whole_run(void **state)
{
	struct rk_journal_log *log = NULL;
	struct rk_run_report *rep;
	struct rk_err err = { 0 };
	struct world w;
	size_t i, undos = 0, last_push = 0, first_reload = SIZE_MAX;

	(void)state;
	world_init(&w);
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 0);
	rk_run_report_free(rep);
	w.fake.n = 0;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 2);
	for (i = 0; i < w.fake.n; i++) {
		const struct rk_step *s = &w.plan->steps[w.fake.calls[i].step - 1];

		assert_int_equal(w.fake.calls[i].kind, CALL_UNDO);
		undos++;
		if (s->action == RK_ACT_PUSH_FILE)
			last_push = i;
		if (s->action == RK_ACT_RELOAD_SERVICE && first_reload == SIZE_MAX)
			first_reload = i;
	}
	assert_int_equal(undos, rep->undone);
	assert_true(last_push < first_reload);
	/* Newest first: the client's edit is put back first; each service's certificate
	 * before its key; the canary's (wave 1, oldest) last of the files. */
	assert_int_equal(w.fake.calls[0].step, step_of(&w, RK_ACT_EDIT_CLIENT_CONFIG, NULL,
	    RK_CONTENT_NONE)->id);
	for (i = 0; i < 3; i++) {
		const char *svc = (const char *[]){ "pa", "pb", "pc" }[i];

		assert_true(call_at(&w.fake, CALL_UNDO, step_of(&w, RK_ACT_PUSH_FILE, svc,
		    RK_CONTENT_CERT)->id) < call_at(&w.fake, CALL_UNDO, step_of(&w,
		    RK_ACT_PUSH_FILE, svc, RK_CONTENT_KEY)->id));
	}
	assert_int_equal(w.fake.calls[last_push].step, step_of(&w, RK_ACT_PUSH_FILE, "pa",
	    RK_CONTENT_KEY)->id);
	rk_run_report_free(rep);
	assert_int_equal(rk_journal_read(&log, w.journal, &err), 0);
	assert_int_equal(log->records[log->nrecords - 1].state, RK_JOURNAL_UNDONE);
	rk_journal_log_free(log);
	world_clear(&w);
}

/* Ctrl-C during the canary's swap: the canary finishes its wave; nothing else starts. */
static void
test_executor_stop_finishes_the_wave_in_flight(void **state)
{
	const struct rk_step *key;
	struct rk_run_report *rep;
	struct world w;

	(void)state;
	world_init(&w);
	key = step_of(&w, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_KEY);
	w.fake.stop_after = key->id;
	rep = execute(&w, RK_ON_FAILURE_ROLLBACK, 0);
	assert_true(rep->stopped);
	assert_int_equal(rep->failed, 0);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_VERIFY_SERVICE, "pa",
	    RK_CONTENT_NONE)->id - 1], RK_OUTCOME_DONE);
	assert_int_equal(rep->outcomes[step_of(&w, RK_ACT_PUSH_FILE, "pb",
	    RK_CONTENT_KEY)->id - 1], RK_OUTCOME_PENDING);
	assert_int_equal(rep->outcomes[w.plan->nsteps - 1], RK_OUTCOME_PENDING);
	rk_run_report_free(rep);
	world_clear(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executor_runs_every_step_once_group_by_group),
		cmocka_unit_test(test_executor_rollback_undoes_the_failed_service_and_stops),
		cmocka_unit_test(test_executor_undo_order_is_files_then_reload_then_check),
		cmocka_unit_test(test_executor_continue_goes_on_with_the_others),
		cmocka_unit_test(test_executor_continue_keeps_the_key_and_certificate_a_pair),
		cmocka_unit_test(test_executor_batches_a_hosts_pushes_of_one_group),
		cmocka_unit_test(test_executor_batch_failure_is_handled_as_one_step_alone),
		cmocka_unit_test(test_executor_preflight_failure_changes_nothing),
		cmocka_unit_test(test_executor_rehearsal_goes_on_past_a_failed_host),
		cmocka_unit_test(test_executor_rehearsal_never_halts_or_undoes),
		cmocka_unit_test(test_executor_resume_skips_done_and_checks_started),
		cmocka_unit_test(test_executor_resume_finds_a_started_step_done_on_the_host),
		cmocka_unit_test(test_executor_rollback_command_undoes_the_whole_run),
		cmocka_unit_test(
		    test_executor_rollback_undoes_a_started_step_found_done_on_the_host),
		cmocka_unit_test(test_executor_stop_finishes_the_wave_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
