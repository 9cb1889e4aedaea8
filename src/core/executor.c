/*
 * The executor. Groups run in plan order with a barrier between them; inside a group each
 * host is a lane. The journal is written before and after every action, under one lock with
 * the observer calls, so records and events keep one order.
 *
 * Failure is handled per unit: a step belongs to its service, else its client, else its host.
 * A failed unit's later steps are skipped. A failure in preflight, or of a step with no host
 * (issue, revoke, the CRL), stops the run: nothing after it can be right. Otherwise the policy
 * decides: continue goes on with every other unit; halt lets the hosts already working in the
 * current wave finish it (so none is left between a new key and its reload) and starts
 * nothing more; rollback does the same after undoing the failed unit, newest first: its files
 * back, then a reload, then a check that the old state works. Under every policy a key and
 * its certificate are a pair: when one fails, the other, already replaced, is put back. The
 * record is written even after a halt: the auditor needs it most then. A rehearsal tries
 * every step: a failure skips only the rest of its unit.
 */
#include "rekey/executor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/workers.h"

static const char *const outcome_names[] = {
	"pending", "done", "done before", "failed", "skipped", "undone",
};

const char *
rk_step_outcome_name(enum rk_step_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ?
	    outcome_names[o] : "?";
}

static const char *const event_names[] = {
	"run-begin", "group-begin", "step-begin", "step-done", "step-done-before",
	"step-failed", "step-skipped", "step-undone", "undo-failed", "run-end",
};

const char *
rk_event_kind_name(enum rk_event_kind k)
{
	return (unsigned)k < sizeof(event_names) / sizeof(event_names[0]) ? event_names[k] : "?";
}

void
rk_step_result_reset(struct rk_step_result *r)
{
	free(r->overflow);
	memset(r, 0, sizeof(*r));
}

static int
result_put(struct rk_step_result *r, struct rk_kv *kv, size_t *n, const char *key,
    const char *value, struct rk_err *err)
{
	size_t len = strlen(value) + 1;
	char *at;

	if (*n >= RK_RESULT_KV_MAX)
		return rk_fail(err, RK_E_INTERNAL, "step result too large (%s)", key);
	if (len <= sizeof(r->store) - r->used) {
		at = r->store + r->used;
		r->used += len;
	} else {
		if (r->overflow == NULL && (r->overflow = malloc(RK_RESULT_OVERFLOW)) == NULL)
			return rk_fail_nomem(err);
		if (len > RK_RESULT_OVERFLOW - r->overflow_used)
			return rk_fail(err, RK_E_INTERNAL, "step result too large (%s)", key);
		at = r->overflow + r->overflow_used;
		r->overflow_used += len;
	}
	memcpy(at, value, len);
	kv[*n].key = key;
	kv[*n].value = at;
	(*n)++;
	return 0;
}

int
rk_step_result_out(struct rk_step_result *r, const char *key, const char *value,
    struct rk_err *err)
{
	return result_put(r, r->out, &r->nout, key, value, err);
}

int
rk_step_result_undo(struct rk_step_result *r, const char *key, const char *value,
    struct rk_err *err)
{
	return result_put(r, r->undo, &r->nundo, key, value, err);
}

/* A result rebuilt from a journal record. Keys stay the record's: the log outlives the run. */
static int
result_from_record(struct rk_step_result *r, const struct rk_journal_record *rec,
    struct rk_err *err)
{
	size_t i;
	int ret = 0;

	rk_step_result_reset(r);
	for (i = 0; i < rec->nout && ret == 0; i++)
		ret = rk_step_result_out(r, rec->out[i].key, rec->out[i].value, err);
	for (i = 0; i < rec->nundo && ret == 0; i++)
		ret = rk_step_result_undo(r, rec->undo[i].key, rec->undo[i].value, err);
	return ret;
}

struct exec {
	const struct rk_executor_config	*cfg;
	const struct rk_plan		*plan;
	struct rk_run_report		*rep;
	struct rk_step_result		*results;	/* per step, for undo in this run */
	pthread_mutex_t			 lock;
	struct rk_err			 journal_err;	/* the first journal failure */
	bool				 journal_failed;
	bool				 halt;
	unsigned			 wave;		/* of the group running */
	bool				*host_failed;	/* by index in the model */
	bool				*host_in_wave;	/* did a step in the current wave */
	bool				*service_failed;
	bool				*client_failed;
};

struct lane {
	const struct rk_host	*host;
	size_t			*steps;		/* indices into plan->steps */
	size_t			 n;
};

struct group_run {
	struct exec		*x;
	struct lane		*lanes;
	size_t			 nlanes;
	const struct rk_step_group *group;
};

static size_t
host_index(const struct exec *x, const struct rk_host *h)
{
	return (size_t)(h - x->plan->model->hosts);
}

static void
emit(struct exec *x, enum rk_event_kind kind, const struct rk_step *s, enum rk_phase phase,
    unsigned wave, const char *detail)
{
	struct rk_event ev = { kind, s, phase, wave, NULL, detail, { 0, 0 } };

	if (x->cfg->observer == NULL)
		return;
	if (s != NULL && s->host != NULL)
		ev.host = s->host->name;
	clock_gettime(CLOCK_REALTIME, &ev.at);
	x->cfg->observer(&ev, x->cfg->observer_payload);
}

static void
emit_step(struct exec *x, enum rk_event_kind kind, const struct rk_step *s, const char *detail)
{
	emit(x, kind, s, s->phase, s->wave, detail);
}

/* Journals one state of a step; called with the lock held. A failure stops the whole run. */
static bool
journal_step(struct exec *x, const struct rk_step *s, enum rk_journal_state state,
    const struct rk_step_result *res, const char *error)
{
	struct rk_journal_entry e = { s->id, rk_action_name(s->action), rk_phase_name(s->phase),
	    s->wave, s->host != NULL ? s->host->name : NULL, state, NULL, 0, NULL, 0, error };
	struct rk_err err = { 0 };

	if (x->journal_failed)
		return false;
	if (res != NULL) {
		e.out = res->out;
		e.nout = res->nout;
		e.undo = res->undo;
		e.nundo = res->nundo;
	}
	if (rk_journal_append(x->cfg->journal, &e, &err) != 0) {
		x->journal_failed = true;
		x->journal_err = err;
		x->halt = true;
		return false;
	}
	return true;
}

static bool
unit_has_failed(const struct exec *x, const struct rk_step *s)
{
	const struct rk_model *m = x->plan->model;

	return (s->host != NULL && x->host_failed[host_index(x, s->host)]) ||
	    (s->service != NULL && x->service_failed[s->service - m->services]) ||
	    (s->client != NULL && x->client_failed[s->client - m->clients]);
}

static void
mark_unit_failed(struct exec *x, const struct rk_step *s)
{
	const struct rk_model *m = x->plan->model;

	if (s->service != NULL)
		x->service_failed[s->service - m->services] = true;
	else if (s->client != NULL)
		x->client_failed[s->client - m->clients] = true;
	else if (s->host != NULL)
		x->host_failed[host_index(x, s->host)] = true;
}

static bool
same_unit(const struct rk_step *a, const struct rk_step *b)
{
	if (a->service != NULL || b->service != NULL)
		return a->service == b->service;
	if (a->client != NULL || b->client != NULL)
		return a->client == b->client;
	return a->host == b->host;
}

/* Undo order: by rank (files, reloads, checks), newest first within a rank. */
struct undo_item {
	size_t			 index;		/* plan step */
	enum rk_undo_rank	 rank;
	uint64_t		 order;		/* larger: newer */
};

static int
compare_undo(const void *pa, const void *pb)
{
	const struct undo_item *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->order > b->order ? -1 : a->order < b->order ? 1 : 0;
}

/* Runs the undo of each item in order; called without the lock. */
static void
undo_items(struct exec *x, struct undo_item *items, size_t n)
{
	const struct rk_action_ops *ops = x->cfg->ops;
	size_t i;

	qsort(items, n, sizeof(*items), compare_undo);
	for (i = 0; i < n; i++) {
		const struct rk_step *s = &x->plan->steps[items[i].index];
		const struct rk_step_result *res = &x->results[items[i].index];
		struct rk_err err = { 0 };
		int r;

		r = ops[s->action].undo(x->cfg->ctx, s, res->undo, res->nundo, res->out, res->nout,
		    &err);
		pthread_mutex_lock(&x->lock);
		if (r == 0) {
			(void)journal_step(x, s, RK_JOURNAL_UNDONE, NULL, NULL);
			x->rep->outcomes[items[i].index] = RK_OUTCOME_UNDONE;
			x->rep->undone++;
			emit_step(x, RK_EVENT_STEP_UNDONE, s, NULL);
		} else {
			x->rep->undo_failed++;
			emit_step(x, RK_EVENT_UNDO_FAILED, s, err.msg);
		}
		pthread_mutex_unlock(&x->lock);
	}
}

/* A key or certificate push: the two files of one unit form a set. */
static bool
is_pair_push(const struct rk_step *s)
{
	return s->action == RK_ACT_PUSH_FILE &&
	    (s->content == RK_CONTENT_KEY || s->content == RK_CONTENT_CERT);
}

/*
 * Undoes what failed's unit changed: every step of it (the rollback policy), or, under the
 * other policies, only the other half of its key and certificate pair when one of the two
 * failed (a new key beside the old certificate would take the server down at its next
 * restart).
 */
static void
roll_back_unit(struct exec *x, size_t failed, bool pair_only)
{
	const struct rk_step *f = &x->plan->steps[failed];
	struct undo_item *items;
	size_t i, n = 0;

	if (pair_only && !is_pair_push(f))
		return;
	if ((items = calloc(x->plan->nsteps, sizeof(*items))) == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	for (i = 0; i <= failed; i++) {
		const struct rk_step *s = &x->plan->steps[i];
		enum rk_step_outcome o = x->rep->outcomes[i];

		/* Outside the rollback policy, the failed step is undone only when it says it
		 * changed something: a service that got nothing stays "failed". */
		if (x->cfg->ops[s->action].undo == NULL || !same_unit(s, f) ||
		    !(o == RK_OUTCOME_DONE || o == RK_OUTCOME_DONE_BEFORE ||
		    (i == failed && o == RK_OUTCOME_FAILED &&
		    (!pair_only || x->results[i].nundo > 0))))
			continue;
		if (pair_only && (!is_pair_push(s) || s->phase != f->phase || s->wave != f->wave))
			continue;
		items[n].index = i;
		items[n].rank = x->cfg->ops[s->action].undo_rank;
		items[n].order = i;
		n++;
	}
	pthread_mutex_unlock(&x->lock);
	undo_items(x, items, n);
	free(items);
}

/*
 * Resume: what the interrupted run left of step i. Returns true when the step needs no run
 * (done before, or found done on the host); called without the lock.
 */
static bool
resume_step(struct exec *x, size_t i, bool *ok)
{
	const struct rk_step *s = &x->plan->steps[i];
	const struct rk_action_ops *ops = &x->cfg->ops[s->action];
	const struct rk_journal_record *rec;
	struct rk_err err = { 0 };
	bool done = false;

	*ok = true;
	if (x->cfg->before == NULL ||
	    (rec = rk_journal_log_last(x->cfg->before, s->id)) == NULL)
		return false;
	if (rec->state == RK_JOURNAL_DONE) {
		if (result_from_record(&x->results[i], rec, &err) != 0) {
			*ok = false;
			return false;
		}
		if (ops->recall != NULL)
			ops->recall(x->cfg->ctx, s, rec->out, rec->nout);
		pthread_mutex_lock(&x->lock);
		x->rep->outcomes[i] = RK_OUTCOME_DONE_BEFORE;
		x->rep->done++;
		emit_step(x, RK_EVENT_STEP_DONE_BEFORE, s, NULL);
		pthread_mutex_unlock(&x->lock);
		return true;
	}
	/*
	 * Started and never marked done, or failed with nothing to undo: look at the host
	 * before doing it again. A step may fail after its work is in place (the ledger could
	 * not be saved after the certificate was written), and doing it again would meet its
	 * own files. A failure that left something to undo is done again, so its undo stays.
	 */
	if (ops->check_done == NULL || (rec->state != RK_JOURNAL_START &&
	    (rec->state != RK_JOURNAL_FAILED || rec->nundo > 0)))
		return false;
	rk_step_result_reset(&x->results[i]);
	if (ops->check_done(&done, x->cfg->ctx, s, &x->results[i], &err) != 0 || !done)
		return false;
	pthread_mutex_lock(&x->lock);
	*ok = journal_step(x, s, RK_JOURNAL_DONE, &x->results[i], NULL);
	x->rep->outcomes[i] = RK_OUTCOME_DONE;
	x->rep->done++;
	emit_step(x, RK_EVENT_STEP_DONE, s, "found done on the host");
	pthread_mutex_unlock(&x->lock);
	return true;
}

static void
skip_rest(struct exec *x, const struct lane *l, size_t from, const char *why)
{
	size_t k;

	for (k = from; k < l->n; k++) {
		const struct rk_step *s = &x->plan->steps[l->steps[k]];

		if (x->rep->outcomes[l->steps[k]] != RK_OUTCOME_PENDING)
			continue;
		x->rep->outcomes[l->steps[k]] = RK_OUTCOME_SKIPPED;
		x->rep->skipped++;
		emit_step(x, RK_EVENT_STEP_SKIPPED, s, why);
	}
}

static bool
stop_raised(const struct exec *x)
{
	return x->cfg->stop != NULL && *x->cfg->stop;
}

/*
 * Whether a lane may start. After a halt or a stop, only hosts already working in this wave
 * go on, so that none is left with new files it never reloaded; the record is still written
 * after a halt.
 */
static bool
lane_may_start(const struct exec *x, const struct rk_step_group *g, const struct lane *l)
{
	bool in_wave = g->wave > 0 && l->host != NULL && x->host_in_wave[host_index(x, l->host)];

	if (stop_raised(x))
		return in_wave;
	if (!x->halt || g->phase == RK_PHASE_RECORD)
		return true;
	return in_wave;
}

/*
 * After step k of the lane (plan step i) ran: journals and reports how it ended. Returns
 * false when the lane must stop (it failed, outside a rehearsal). Called without the lock.
 */
static bool
settle_step(struct exec *x, const struct rk_step_group *g, const struct lane *l, size_t k,
    int r, const struct rk_err *err)
{
	size_t i = l->steps[k];
	const struct rk_step *s = &x->plan->steps[i];
	struct rk_step_result *res = &x->results[i];

	pthread_mutex_lock(&x->lock);
	if (r == 0) {
		(void)journal_step(x, s, RK_JOURNAL_DONE, res, NULL);
		x->rep->outcomes[i] = RK_OUTCOME_DONE;
		x->rep->done++;
		emit_step(x, RK_EVENT_STEP_DONE, s, NULL);
		pthread_mutex_unlock(&x->lock);
		return true;
	}
	(void)journal_step(x, s, RK_JOURNAL_FAILED, res, err->msg);
	x->rep->outcomes[i] = RK_OUTCOME_FAILED;
	x->rep->failed++;
	emit_step(x, RK_EVENT_STEP_FAILED, s, err->msg);
	mark_unit_failed(x, s);
	if (x->cfg->rehearsal) {
		pthread_mutex_unlock(&x->lock);
		return true;
	}
	if (g->phase == RK_PHASE_PREFLIGHT || s->host == NULL ||
	    x->cfg->on_failure != RK_ON_FAILURE_CONTINUE)
		x->halt = true;
	skip_rest(x, l, k + 1, "an earlier step on this host failed");
	pthread_mutex_unlock(&x->lock);
	if (g->phase != RK_PHASE_PREFLIGHT)
		roll_back_unit(x, i, x->cfg->on_failure != RK_ON_FAILURE_ROLLBACK);
	return false;
}

/* Journals the start of steps k..k+n-1 of the lane; false (the rest skipped) when the
 * journal cannot be written. Called without the lock. */
static bool
begin_steps(struct exec *x, const struct lane *l, size_t k, size_t n)
{
	bool ok = true;

	pthread_mutex_lock(&x->lock);
	for (size_t j = 0; j < n && ok; j++) {
		const struct rk_step *s = &x->plan->steps[l->steps[k + j]];

		rk_step_result_reset(&x->results[l->steps[k + j]]);
		emit_step(x, RK_EVENT_STEP_BEGIN, s, NULL);
		ok = journal_step(x, s, RK_JOURNAL_START, NULL, NULL);
	}
	if (!ok)
		skip_rest(x, l, k, "the journal cannot be written");
	pthread_mutex_unlock(&x->lock);
	return ok;
}

/*
 * How many steps from the lane's k-th on run as one batch: the same action, which has a
 * run_batch, none of a failed unit, none the interrupted run touched (resume looks at those
 * one by one). Outside a rehearsal only: a rehearsal tries every step, whatever failed
 * before it. Called with the lock held.
 */
static size_t
batch_length(const struct exec *x, const struct lane *l, size_t k)
{
	const struct rk_step *first = &x->plan->steps[l->steps[k]];
	size_t m;

	if (x->cfg->ops[first->action].run_batch == NULL || x->cfg->rehearsal)
		return 1;
	for (m = 0; k + m < l->n && m < RK_BATCH_STEPS_MAX; m++) {
		const struct rk_step *s = &x->plan->steps[l->steps[k + m]];

		if (s->action != first->action || unit_has_failed(x, s) ||
		    (x->cfg->before != NULL && rk_journal_log_last(x->cfg->before, s->id) != NULL))
			break;
	}
	return m > 0 ? m : 1;
}

/* Steps k..k+n-1 of the lane as one batch. Returns false when the lane must stop. */
static bool
run_batch(struct exec *x, const struct rk_step_group *g, const struct lane *l, size_t k,
    size_t n)
{
	const struct rk_step *steps[RK_BATCH_STEPS_MAX];
	struct rk_step_result *res[RK_BATCH_STEPS_MAX];
	struct rk_err *errs;
	int codes[RK_BATCH_STEPS_MAX];
	size_t j, ran;
	bool go_on = true;

	if ((errs = calloc(n, sizeof(*errs))) == NULL)
		return settle_step(x, g, l, k, RK_E_NOMEM, &(struct rk_err){ .code = RK_E_NOMEM,
		    .msg = "out of memory" });
	for (j = 0; j < n; j++) {
		steps[j] = &x->plan->steps[l->steps[k + j]];
		res[j] = &x->results[l->steps[k + j]];
		codes[j] = 0;
	}
	if (!begin_steps(x, l, k, n)) {
		free(errs);
		return false;
	}
	ran = x->cfg->ops[steps[0]->action].run_batch(x->cfg->ctx, steps, n, res, codes, errs);
	for (j = 0; j < ran && j < n && go_on; j++)
		go_on = settle_step(x, g, l, k + j, codes[j], &errs[j]);
	if (go_on && ran < n) {
		/* Stopped without saying why: the steps it did not reach fail, not vanish. */
		struct rk_err why = { .code = RK_E_INTERNAL };

		snprintf(why.msg, sizeof(why.msg), "%s", "the batch stopped before this step");
		go_on = settle_step(x, g, l, k + ran, RK_E_INTERNAL, &why);
	}
	free(errs);
	return go_on;
}

static void
run_lane(void *arg, size_t li)
{
	struct group_run *gr = arg;
	struct exec *x = gr->x;
	struct lane *l = &gr->lanes[li];
	const struct rk_step_group *g = gr->group;
	size_t k, m;
	bool ok;

	pthread_mutex_lock(&x->lock);
	if (!lane_may_start(x, g, l)) {
		/* Stopped by the operator: left pending, for resume. */
		if (stop_raised(x))
			x->rep->stopped = true;
		else
			skip_rest(x, l, 0, x->journal_failed ? "the journal cannot be written" :
			    "the run stopped after a failure");
		pthread_mutex_unlock(&x->lock);
		return;
	}
	if (g->wave > 0 && l->host != NULL)
		x->host_in_wave[host_index(x, l->host)] = true;
	pthread_mutex_unlock(&x->lock);

	for (k = 0; k < l->n; k++) {
		size_t i = l->steps[k];
		const struct rk_step *s = &x->plan->steps[i];
		struct rk_err err = { 0 };
		int r;

		pthread_mutex_lock(&x->lock);
		if (x->journal_failed || unit_has_failed(x, s)) {
			x->rep->outcomes[i] = RK_OUTCOME_SKIPPED;
			x->rep->skipped++;
			emit_step(x, RK_EVENT_STEP_SKIPPED, s, x->journal_failed ?
			    "the journal cannot be written" :
			    "an earlier step of its host, service or client failed");
			pthread_mutex_unlock(&x->lock);
			continue;
		}
		m = batch_length(x, l, k);
		pthread_mutex_unlock(&x->lock);
		if (m > 1) {
			if (!run_batch(x, g, l, k, m))
				return;
			k += m - 1;
			continue;
		}
		if (resume_step(x, i, &ok)) {
			if (!ok)
				return;
			continue;
		}
		if (!begin_steps(x, l, k, 1))
			return;
		r = x->cfg->ops[s->action].run(x->cfg->ctx, s, &x->results[i], &err);
		if (!settle_step(x, g, l, k, r, &err))
			return;
	}
}

/* Splits a group into lanes, one per host (NULL: this machine), hosts in first-seen order. */
static int
make_lanes(struct group_run *gr, const struct rk_plan *plan, const struct rk_step_group *g,
    size_t *scratch, struct rk_err *err)
{
	size_t i, k, used = 0;

	gr->group = g;
	gr->nlanes = 0;
	if ((gr->lanes = calloc(g->n, sizeof(*gr->lanes))) == NULL)
		return rk_fail_nomem(err);
	for (i = g->first; i < g->first + g->n; i++) {
		const struct rk_host *h = plan->steps[i].host;

		for (k = 0; k < gr->nlanes && gr->lanes[k].host != h; k++)
			;
		if (k == gr->nlanes) {
			gr->lanes[k].host = h;
			gr->nlanes++;
		}
	}
	/* Each lane's steps, in plan order, in one scratch array of g->n indices. */
	for (k = 0; k < gr->nlanes; k++) {
		gr->lanes[k].steps = scratch + used;
		for (i = g->first; i < g->first + g->n; i++)
			if (plan->steps[i].host == gr->lanes[k].host)
				gr->lanes[k].steps[gr->lanes[k].n++] = i;
		used += gr->lanes[k].n;
	}
	return 0;
}

static int
exec_init(struct exec *x, const struct rk_executor_config *cfg, struct rk_err *err)
{
	const struct rk_model *m = cfg->plan->model;
	size_t a;

	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);	/* first: exec_clear() destroys it */
	x->cfg = cfg;
	x->plan = cfg->plan;
	for (a = 0; a < RK_ACTIONS; a++)
		if (cfg->ops[a].run == NULL)
			return rk_fail(err, RK_E_INTERNAL, "no operations for action %s",
			    rk_action_name((enum rk_action)a));
	if ((x->rep = calloc(1, sizeof(*x->rep))) == NULL ||
	    (x->rep->outcomes = calloc(x->plan->nsteps + 1, sizeof(*x->rep->outcomes))) == NULL ||
	    (x->results = calloc(x->plan->nsteps + 1, sizeof(*x->results))) == NULL ||
	    (x->host_failed = calloc(m->nhosts + 1, sizeof(bool))) == NULL ||
	    (x->host_in_wave = calloc(m->nhosts + 1, sizeof(bool))) == NULL ||
	    (x->service_failed = calloc(m->nservices + 1, sizeof(bool))) == NULL ||
	    (x->client_failed = calloc(m->nclients + 1, sizeof(bool))) == NULL)
		return rk_fail_nomem(err);
	x->rep->nsteps = x->plan->nsteps;
	return 0;
}

static void
exec_clear(struct exec *x)
{
	pthread_mutex_destroy(&x->lock);
	for (size_t i = 0; x->results != NULL && i < x->plan->nsteps; i++)
		free(x->results[i].overflow);
	free(x->results);
	free(x->host_failed);
	free(x->host_in_wave);
	free(x->service_failed);
	free(x->client_failed);
}

/* The end of a run: its event, then the report handed over, with the journal's failure. */
static int
finish(struct exec *x, struct rk_run_report **out, struct rk_err *err)
{
	emit(x, RK_EVENT_RUN_END, NULL, RK_PHASE_RECORD, 0, NULL);
	x->rep->journal_failed = x->journal_failed;
	*out = x->rep;
	x->rep = NULL;
	if (x->journal_failed) {
		*err = x->journal_err;
		return err->code;
	}
	return 0;
}

int
rk_executor_run(struct rk_run_report **out, const struct rk_executor_config *cfg,
    struct rk_err *err)
{
	const struct rk_plan *plan = cfg->plan;
	struct group_run gr = { 0 };
	size_t g, *scratch = NULL;
	struct exec x;
	int r;

	*out = NULL;
	if ((r = exec_init(&x, cfg, err)) != 0)
		goto out;
	if ((scratch = calloc(plan->nsteps + 1, sizeof(*scratch))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	gr.x = &x;
	emit(&x, RK_EVENT_RUN_BEGIN, NULL, RK_PHASE_PREFLIGHT, 0, NULL);
	for (g = 0; g < plan->ngroups; g++) {
		const struct rk_step_group *grp = &plan->groups[g];

		if (stop_raised(&x) && !(grp->wave > 0 && grp->wave == x.wave)) {
			x.rep->stopped = true;
			break;
		}
		if (x.journal_failed || (x.halt && grp->phase != RK_PHASE_RECORD &&
		    !(grp->wave > 0 && grp->wave == x.wave)))
			continue;	/* left pending: the report says where it stopped */
		if (grp->wave != x.wave) {
			x.wave = grp->wave;
			memset(x.host_in_wave, 0, plan->model->nhosts * sizeof(bool));
		}
		pthread_mutex_lock(&x.lock);
		emit(&x, RK_EVENT_GROUP_BEGIN, NULL, grp->phase, grp->wave, NULL);
		pthread_mutex_unlock(&x.lock);
		if ((r = make_lanes(&gr, plan, grp, scratch, err)) != 0)
			goto out;
		(void)rk_workers_run(gr.nlanes, cfg->max_parallel > 0 ? cfg->max_parallel : 1,
		    run_lane, &gr);
		free(gr.lanes);
		gr.lanes = NULL;
	}
	x.rep->halted = x.halt;
	r = finish(&x, out, err);
 out:
	free(gr.lanes);
	free(scratch);
	rk_run_report_free(x.rep);
	exec_clear(&x);
	return r;
}

/* Rollback: whether step i, started and never marked done, was carried out on its host. */
static bool
started_step_was_done(struct exec *x, size_t i)
{
	const struct rk_step *s = &x->plan->steps[i];
	const struct rk_action_ops *ops = &x->cfg->ops[s->action];
	struct rk_err err = { 0 };
	bool done = false;

	if (ops->check_done == NULL)
		return false;
	rk_step_result_reset(&x->results[i]);
	if (ops->check_done(&done, x->cfg->ctx, s, &x->results[i], &err) != 0) {
		/* Unknown is not "not done": a human must look. */
		x->rep->undo_failed++;
		emit_step(x, RK_EVENT_UNDO_FAILED, s, err.msg);
		return false;
	}
	return done && x->results[i].nundo > 0;
}

int
rk_executor_rollback(struct rk_run_report **out, const struct rk_executor_config *cfg,
    struct rk_err *err)
{
	const struct rk_plan *plan = cfg->plan;
	const struct rk_journal_log *log = cfg->before;
	struct undo_item *items = NULL;
	size_t i, n = 0;
	struct exec x;
	int r;

	*out = NULL;
	if (log == NULL)
		return rk_fail(err, RK_E_INTERNAL, "rollback without a journal");
	if ((r = exec_init(&x, cfg, err)) != 0)
		goto out;
	if ((items = calloc(plan->nsteps + 1, sizeof(*items))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	emit(&x, RK_EVENT_RUN_BEGIN, NULL, RK_PHASE_PREFLIGHT, 0, NULL);
	/* What the journal says is done (or failed having changed something), by plan step. */
	for (i = 0; i < plan->nsteps; i++) {
		const struct rk_step *s = &plan->steps[i];
		const struct rk_journal_record *rec = rk_journal_log_last(log, s->id);
		const struct rk_action_ops *ops = &cfg->ops[s->action];

		if (rec == NULL || ops->undo == NULL)
			continue;
		if (rec->state == RK_JOURNAL_START) {
			/* Killed before its "done": the host tells whether the change was made,
			 * and what undoes it (the backup beside the file). */
			if (!started_step_was_done(&x, i))
				continue;
		} else if (rec->state == RK_JOURNAL_DONE ||
		    (rec->state == RK_JOURNAL_FAILED && rec->nundo > 0)) {
			if ((r = result_from_record(&x.results[i], rec, err)) != 0)
				goto out;
		} else {
			continue;
		}
		x.rep->outcomes[i] = RK_OUTCOME_DONE;
		items[n].index = i;
		items[n].rank = cfg->ops[s->action].undo_rank;
		items[n].order = rec->seq;
		n++;
	}
	undo_items(&x, items, n);
	r = finish(&x, out, err);
 out:
	free(items);
	rk_run_report_free(x.rep);
	exec_clear(&x);
	return r;
}

void
rk_run_report_free(struct rk_run_report *report)
{
	if (report == NULL)
		return;
	free(report->outcomes);
	free(report);
}
