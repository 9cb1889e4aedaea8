/*
 * `rekey run`, `resume`, `rollback` and `rehearse`: the plan carried out by the executor, with the
 * backends picked here (ssh or local per host, PostgreSQL or MariaDB per service), the
 * journal in the incident folder, the board as observer, and the summary and exit code at
 * the end. What a run settles when it begins (the serials each revocation hits) goes into
 * the journal's header, so a resume never works it out again from files it has replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "board.h"
#include "cli.h"
#include "rehearse_report.h"
#include "rekey/actions.h"
#include "rekey/executor.h"
#include "rekey/expiry.h"
#include "rekey/fsutil.h"
#include "rekey/journal.h"
#include "rekey/key.h"
#include "rekey/local.h"
#include "rekey/mariadb.h"
#include "rekey/playbook.h"
#include "rekey/postgresql.h"
#include "rekey/record.h"
#include "rekey/ssh.h"
#include "rekey/strutil.h"

enum run_mode {
	MODE_RUN,
	MODE_RESUME,
	MODE_ROLLBACK,
	MODE_REHEARSE,
};

struct run_args {
	enum run_mode		 mode;
	bool			 json;
	bool			 has_policy;
	enum rk_on_failure	 on_failure;
	long			 only_expiring;	/* seconds; 0: every certificate */
	const char		*playbook;
};

/* What one invocation holds; cleared at the end whatever happened. */
struct run {
	const struct rk_cli	*cli;
	struct run_args		 args;
	struct rk_diags		 diags;
	struct rk_model		*model;
	struct rk_plan		*plan;
	char			*dir;		/* <records>/<incident> */
	char			*journal_path;
	char			*ledger;
	struct rk_journal	*journal;
	struct rk_journal_log	*log;		/* resume, rollback: what the journal held */
	struct rk_revoked_set	*revoked;	/* per revocation */
	char			**revoke_errors;
	struct rk_revocation_facts *facts;
	struct rk_kv		*header_facts;
	char			**header_strings;
	size_t			 nheader;
	struct rk_run_ctx	*ctx;
	struct board		 board;
	bool			 board_ready;
	struct rk_run_report	*report;
	bool			 ssh_ready;
	bool			 mariadb_ready;
	char			*scratch;	/* rehearse: its folder, removed at the end */
	char			*scratch_journal;
	struct rk_buf		 playbook_bytes;	/* as loaded, for the record */
	char			*record;	/* the record written, or NULL */
	char			 record_error[512];	/* why it was not */
	char			 journal_error[512];	/* why the journal stopped the run */
	const char		*earlier;	/* rehearse: what the incident's journal says */
	struct cli_selection	 selection;	/* --only-expiring */
};

/* Secrets a playbook can name (CA, certificates, hosts, services): more are not looked for. */
#define RECORD_SECRETS_MAX	4096

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char *
mode_name(enum run_mode mode)
{
	switch (mode) {
	case MODE_RUN:		return "run";
	case MODE_RESUME:	return "resume";
	case MODE_ROLLBACK:	return "rollback";
	case MODE_REHEARSE:	return "rehearse";
	}
	return "?";
}

static void
usage_of(FILE *f, enum run_mode mode)
{
	switch (mode) {
	case MODE_RUN:
		fprintf(f,
		    "usage: rekey run [--json] [--on-failure rollback|halt|continue]\n"
		    "                 [--only-expiring DURATION] PLAYBOOK\n"
		    "\n"
		    "Carries out the plan `rekey plan PLAYBOOK` prints: preflight (the CA, every host,\n"
		    "what every service serves now), then issue, revoke and sign the CRL, distribute\n"
		    "trust, and per wave swap, reload and verify; then the clients, the old trust\n"
		    "retired (ca.rotate with trust_overlap), and the record. Every step is journaled\n"
		    "in <records>/<incident>/journal.jsonl before and after it runs.\n"
		    "Exit status: 0 when every step was done and verified, 1 otherwise, 2 on a usage\n"
		    "or playbook error (nothing touched), 130 when stopped by Ctrl-C (resumable).\n"
		    "\n"
		    "  --on-failure P   rollback, halt or continue (default: policy.on_failure)\n"
		    "  --only-expiring D  only the certificates that end within D (30d, 12h, 2w),\n"
		    "                   served or deployed, as `rekey expiry` finds them, and the\n"
		    "                   CRL when it is due within 3 days; reason superseded unless\n"
		    "                   the playbook gives one; nothing due: nothing done, exit 0\n"
		    "  --json           one JSON event per line, then the summary as JSON\n"
		    "  --help           this help\n");
		break;
	case MODE_RESUME:
		fprintf(f,
		    "usage: rekey resume [--json] [--on-failure rollback|halt|continue] PLAYBOOK\n"
		    "\n"
		    "Finishes an interrupted or failed run of PLAYBOOK's incident from its journal:\n"
		    "steps done are not done again, a step started but not marked done is checked on\n"
		    "its host first, failed steps are tried again. Refused when the playbook's plan\n"
		    "changed since the run began. A run begun with --only-expiring resumes with the\n"
		    "certificates it chose then (its journal keeps them). Exit status as `rekey run`.\n"
		    "\n"
		    "  --on-failure P   rollback, halt or continue (default: policy.on_failure)\n"
		    "  --json           one JSON event per line, then the summary as JSON\n"
		    "  --help           this help\n");
		break;
	case MODE_ROLLBACK:
		fprintf(f,
		    "usage: rekey rollback [--json] PLAYBOOK\n"
		    "\n"
		    "Undoes what the journal of PLAYBOOK's incident records as done, newest first:\n"
		    "every file put back from its backup (bytes, mode, owner), then every reloaded\n"
		    "service reloaded and probed until it serves its old certificate again. Issued\n"
		    "certificates and revocations stay: a revoked certificate is never un-revoked.\n"
		    "Exit status 0 when everything was undone, 1 otherwise.\n"
		    "\n"
		    "  --json           one JSON event per line, then the summary as JSON\n"
		    "  --help           this help\n");
		break;
	case MODE_REHEARSE:
		fprintf(f,
		    "usage: rekey rehearse [--json] [--only-expiring DURATION] PLAYBOOK\n"
		    "\n"
		    "Tries every step of the plan against the real estate without changing a target:\n"
		    "the CA signs, every host is reached (sudo -n too), every file replace is tried up\n"
		    "to its rename (folder, owner, mode, free space), every reload's privilege is asked\n"
		    "of the server, every client edit is made in memory, keys and certificates are\n"
		    "made in a scratch folder and thrown away. Afterwards every file it read or would\n"
		    "replace is compared with its state before (SHA-256, mode, owner, group, mtime).\n"
		    "Ends with a go/no-go table, the fix for each no-go, and an estimate of the run.\n"
		    "Exit status: 0 when everything is go, 1 otherwise, 2 on a usage or playbook error.\n"
		    "\n"
		    "  --only-expiring D  rehearse what `rekey run --only-expiring D` would do\n"
		    "  --json           one JSON event per line, then the summary as JSON\n"
		    "  --help           this help\n");
		break;
	}
}

static void
run_usage(FILE *f)
{
	usage_of(f, MODE_RUN);
}

static void
resume_usage(FILE *f)
{
	usage_of(f, MODE_RESUME);
}

static void
rollback_usage(FILE *f)
{
	usage_of(f, MODE_ROLLBACK);
}

static void
rehearse_usage(FILE *f)
{
	usage_of(f, MODE_REHEARSE);
}

static int
parse_args(struct run_args *a, const struct rk_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "on-failure", required_argument, NULL, 'f' },
		{ "only-expiring", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	void (*usage)(FILE *) = a->mode == MODE_RUN ? run_usage : a->mode == MODE_RESUME ?
	    resume_usage : a->mode == MODE_ROLLBACK ? rollback_usage : rehearse_usage;
	int c, value;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'f':
			if (a->mode == MODE_ROLLBACK || a->mode == MODE_REHEARSE)
				return cli_usage_error(cli, "takes no --on-failure");
			if (!rk_enum_lookup(rk_on_failure_names, optarg, &value))
				return cli_usage_error(cli, "--on-failure: '%s' is not rollback, halt "
				    "or continue", optarg);
			a->on_failure = (enum rk_on_failure)value;
			a->has_policy = true;
			break;
		case 'x':
			if (a->mode == MODE_RESUME || a->mode == MODE_ROLLBACK)
				return cli_usage_error(cli, "takes no --only-expiring: the journal "
				    "says what the run chose");
			if (cli_parse_duration(cli, "--only-expiring", optarg, true,
			    &a->only_expiring) != RK_EXIT_OK)
				return RK_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			usage(stderr);
			return RK_EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cli, "expects one PLAYBOOK (see rekey %s --help)",
		    cli->command);
	a->playbook = argv[optind];
	return RK_EXIT_OK;
}

static void
say(const struct run *run, const char *fmt, ...) RK_PRINTF(2, 3);

/* A line for the operator: stderr under --json (stdout is the event stream), else stdout. */
static void
say(const struct run *run, const char *fmt, ...)
{
	FILE *f = run->args.json ? stderr : stdout;
	va_list ap;

	va_start(ap, fmt);
	fputs("rekey: ", f);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	va_end(ap);
}

static int
fail_with(const struct run *run, const struct rk_err *err, int code)
{
	cli_report_error(run->cli, mode_name(run->args.mode), err);
	return code;
}

/* ---- paths ------------------------------------------------------------------------------- */

static int
make_paths(struct run *run, struct rk_err *err)
{
	const struct rk_model *m = run->model;
	char *ca_dir = NULL;
	int r;

	if (mkdir(m->incident.records, 0700) != 0 && errno != EEXIST)
		return rk_fail_errno(err, "create %s", m->incident.records);
	/* asprintf leaves its pointer undefined on failure: each is cleared on its own. */
	if (asprintf(&run->dir, "%s/%s", m->incident.records, m->incident.id) < 0) {
		run->dir = NULL;
		return rk_fail_nomem(err);
	}
	if (asprintf(&run->journal_path, "%s/journal.jsonl", run->dir) < 0) {
		run->journal_path = NULL;
		return rk_fail_nomem(err);
	}
	if ((r = rk_path_dirname(&ca_dir, m->ca.cert, err)) != 0)
		return r;
	if (asprintf(&run->ledger, "%s/ledger.json", ca_dir) < 0) {
		run->ledger = NULL;
		r = rk_fail_nomem(err);
	}
	free(ca_dir);
	return r;
}

/*
 * An incident id the playbook leaves out is made from the time, so it differs on every
 * load: resume and rollback take the newest incident folder that holds a journal instead.
 */
static int
find_generated_incident(struct run *run, struct rk_err *err)
{
	struct rk_model *m = run->model;
	char *best = NULL;
	int r;

	if (!m->incident.id_generated)
		return 0;
	if ((r = cli_newest_incident(&best, m->incident.records, err)) != 0)
		return r;
	if (best == NULL)
		return rk_fail(err, RK_E_USAGE, "no incident with a journal in %s (the playbook "
		    "names no incident.id, so the newest one would be taken)",
		    m->incident.records);
	free(m->incident.id);
	m->incident.id = best;
	return 0;
}

/* ---- revocations, settled once ------------------------------------------------------------ */

static int
alloc_revocations(struct run *run, struct rk_err *err)
{
	size_t n = run->model->nrevocations + 1;

	if ((run->revoked = calloc(n, sizeof(*run->revoked))) == NULL ||
	    (run->revoke_errors = calloc(n, sizeof(*run->revoke_errors))) == NULL ||
	    (run->facts = calloc(n, sizeof(*run->facts))) == NULL)
		return rk_fail_nomem(err);
	return 0;
}

/* A fresh run: every revocation resolved now, as `plan` showed it. */
static int
resolve_now(struct run *run, struct rk_err *err)
{
	struct cli_revocations revs;
	size_t i;
	int r;

	if ((r = alloc_revocations(run, err)) != 0 ||
	    (r = cli_resolve_revocations(&revs, run->model, err)) != 0)
		return r;
	for (i = 0; i < revs.n; i++) {
		run->revoked[i] = revs.views[i].set;
		memset(&revs.views[i].set, 0, sizeof(revs.views[i].set));
		run->revoke_errors[i] = revs.views[i].error;
		revs.views[i].error = NULL;
		run->facts[i] = revs.facts[i];
	}
	cli_revocations_clear(&revs);
	return 0;
}

static int
add_header_fact(struct run *run, const char *key, const char *value, struct rk_err *err)
{
	size_t n = run->nheader;
	struct rk_kv *kv;
	char **strings;

	if ((kv = reallocarray(run->header_facts, n + 1, sizeof(*kv))) == NULL)
		return rk_fail_nomem(err);
	run->header_facts = kv;
	if ((strings = reallocarray(run->header_strings, 2 * (n + 1), sizeof(*strings))) == NULL)
		return rk_fail_nomem(err);
	run->header_strings = strings;
	strings[2 * n] = strdup(key);
	strings[2 * n + 1] = strdup(value);
	run->nheader++;
	if (strings[2 * n] == NULL || strings[2 * n + 1] == NULL)
		return rk_fail_nomem(err);
	kv[n].key = strings[2 * n];
	kv[n].value = strings[2 * n + 1];
	return 0;
}

/* revoke.N: "S1,S2"; revoke.N.error; revoke.N.client_cert and .client_key. */
static int
revocations_to_facts(struct run *run, struct rk_err *err)
{
	char key[64], *serials = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < run->model->nrevocations && r == 0; i++) {
		const struct rk_revoked_set *set = &run->revoked[i];
		const struct rk_revoked *client = rk_revoked_set_client_with_key(set);

		snprintf(key, sizeof(key), "revoke.%zu", i + 1);
		if ((r = rk_revoked_set_serials(&serials, set, err)) == 0)
			r = add_header_fact(run, key, serials, err);
		free(serials);
		serials = NULL;
		snprintf(key, sizeof(key), "revoke.%zu.error", i + 1);
		if (r == 0 && run->revoke_errors[i] != NULL)
			r = add_header_fact(run, key, run->revoke_errors[i], err);
		snprintf(key, sizeof(key), "revoke.%zu.client_cert", i + 1);
		if (r == 0 && client != NULL)
			r = add_header_fact(run, key, client->cert_path, err);
		snprintf(key, sizeof(key), "revoke.%zu.client_key", i + 1);
		if (r == 0 && client != NULL)
			r = add_header_fact(run, key, client->key_path, err);
	}
	return r;
}

/* Resume, rollback: the revocations as the run settled them, from the journal's header. */
static int
revocations_from_journal(struct run *run, struct rk_err *err)
{
	const struct rk_journal_log *log = run->log;
	char key[64], *list = NULL, *tok, *save = NULL;
	const char *serials, *why, *cert, *keyfile;
	size_t i;
	int r;

	if ((r = alloc_revocations(run, err)) != 0)
		return r;
	for (i = 0; i < run->model->nrevocations; i++) {
		struct rk_revoked_set *set = &run->revoked[i];

		snprintf(key, sizeof(key), "revoke.%zu", i + 1);
		if ((serials = rk_kv_get(log->facts, log->nfacts, key)) == NULL)
			return rk_fail(err, RK_E_USAGE, "%s: the journal does not say what "
			    "revocation %zu hits: it is of another playbook", run->journal_path,
			    i + 1);
		if ((list = strdup(serials)) == NULL)
			return rk_fail_nomem(err);
		for (tok = strtok_r(list, ",", &save); tok != NULL && r == 0;
		    tok = strtok_r(NULL, ",", &save))
			r = rk_revoked_add_serial(set, tok, "the journal", NULL, err);
		free(list);
		if (r != 0)
			return r;
		snprintf(key, sizeof(key), "revoke.%zu.error", i + 1);
		if ((why = rk_kv_get(log->facts, log->nfacts, key)) != NULL &&
		    (run->revoke_errors[i] = strdup(why)) == NULL)
			return rk_fail_nomem(err);
		snprintf(key, sizeof(key), "revoke.%zu.client_cert", i + 1);
		cert = rk_kv_get(log->facts, log->nfacts, key);
		snprintf(key, sizeof(key), "revoke.%zu.client_key", i + 1);
		keyfile = rk_kv_get(log->facts, log->nfacts, key);
		if (cert != NULL && keyfile != NULL && set->n > 0 &&
		    ((set->items[0].cert_path = strdup(cert)) == NULL ||
		    (set->items[0].key_path = strdup(keyfile)) == NULL))
			return rk_fail_nomem(err);
		run->facts[i].resolved = run->revoke_errors[i] == NULL;
		run->facts[i].hits_client = cert != NULL && keyfile != NULL;
	}
	/* The header's facts stay what they were: a resume writes no header. */
	return 0;
}

static int
build_plan(struct run *run, struct rk_err *err)
{
	struct rk_plan_facts facts = { run->facts };

	return rk_plan_build(&run->plan, run->model, &facts, err);
}

/* ---- the journal -------------------------------------------------------------------------- */

/* Whether the journal says the run is over: every step of the plan's last record done. */
static bool
journal_completed(const struct rk_plan *plan, const struct rk_journal_log *log)
{
	size_t i;

	for (i = 0; i < plan->nsteps; i++) {
		const struct rk_journal_record *rec = rk_journal_log_last(log, plan->steps[i].id);

		if (rec == NULL || rec->state != RK_JOURNAL_DONE)
			return false;
	}
	return true;
}

/* A fresh run on an incident that has a journal: nothing to do, or refused. */
static int
refuse_or_skip(struct run *run)
{
	struct rk_journal_log *log = NULL;
	struct rk_err err = { 0 };
	long holder = rk_journal_holder(run->journal_path);
	int rc;

	if (holder > 0) {
		fprintf(stderr, "rekey: run: incident %s is being carried out right now by another "
		    "rekey (pid %ld, journal %s): one run at a time per incident\n",
		    run->model->incident.id, holder, run->journal_path);
		return RK_EXIT_FAILED;
	}
	if (rk_journal_read(&log, run->journal_path, &err) != 0)
		return fail_with(run, &err, RK_EXIT_FAILED);
	if (strcmp(log->plan_digest, run->plan->digest) == 0 &&
	    journal_completed(run->plan, log)) {
		say(run, "nothing to do: incident %s was carried out completely (journal %s, "
		    "begun %s); nothing was changed", log->incident, run->journal_path,
		    log->started);
		rc = RK_EXIT_OK;
	} else {
		fprintf(stderr, "rekey: run: incident %s already has a journal (%s, begun %s) "
		    "from a run that did not finish or had failures.\n"
		    "  rekey resume %s    finishes it\n"
		    "  rekey rollback %s  undoes it\n"
		    "A new rotation needs a new incident.id.\n", log->incident, run->journal_path,
		    log->started, run->args.playbook, run->args.playbook);
		rc = RK_EXIT_FAILED;
	}
	rk_journal_log_free(log);
	return rc;
}

static int
open_fresh(struct run *run, const char *path, struct rk_err *err)
{
	struct rk_journal_header h = { run->model->incident.id, run->plan->digest,
	    REKEY_VERSION, time(NULL), run->header_facts, run->nheader };

	return rk_journal_create(&run->journal, path, &h, err);
}

static int
open_existing(struct run *run, struct rk_err *err)
{
	int r;

	if (access(run->journal_path, F_OK) != 0)
		return rk_fail(err, RK_E_USAGE, "incident %s has no journal (%s): there is "
		    "nothing to %s; `rekey run %s` starts it", run->model->incident.id,
		    run->journal_path, mode_name(run->args.mode), run->args.playbook);
	if ((r = rk_journal_reopen(&run->journal, &run->log, run->journal_path, err)) != 0)
		return r;
	if (strcmp(run->log->incident, run->model->incident.id) != 0)
		return rk_fail(err, RK_E_USAGE, "%s is the journal of incident %s, not %s",
		    run->journal_path, run->log->incident, run->model->incident.id);
	return 0;
}

/* ---- backends ------------------------------------------------------------------------------ */

static const struct rk_service_ops *
service_ops_for(const struct rk_service *svc)
{
	return svc->kind == RK_SERVICE_POSTGRESQL ? rk_postgresql_ops() : rk_mariadb_ops();
}

static size_t
keygen_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (size_t)n : 1;
}

/* ---- the summary ----------------------------------------------------------------------------- */

enum unit_result {
	UNIT_VERIFIED,
	UNIT_ROLLED_BACK,
	UNIT_UNDO_FAILED,	/* a rollback left something of it neither old nor new */
	UNIT_FAILED,
	UNIT_INCOMPLETE,	/* its host changed, the rest not reached (journal, stop) */
	UNIT_SKIPPED,
	UNIT_NOT_STARTED,
};

static const char *
unit_result_name(enum unit_result u)
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

/*
 * What became of a unit; *first_failed is the step whose error says why (or NULL), and
 * *undo_failed the first of its steps whose undo failed (or NULL).
 */
static enum unit_result
unit_result(const struct run *run, const struct rk_service *svc, const struct rk_client *c,
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

static bool
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
	    unit_result_name(u), reset, served);
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
		enum unit_result u = unit_result(run, &m->services[i], NULL, &failed,
		    &undo_failed);

		snprintf(served, sizeof(served), "%.23s", sv->after[0] != '\0' ? sv->after :
		    sv->before[0] != '\0' ? sv->before : "-");
		print_row(run, "service", m->services[i].name, m->services[i].host != NULL ?
		    m->services[i].host->name : NULL, u, served, failed, undo_failed);
	}
	for (i = 0; i < m->nclients; i++) {
		enum unit_result u = unit_result(run, NULL, &m->clients[i], &failed,
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
		enum unit_result u = unit_result(run, svc, c, &failed, &undo_failed);
		const char *why = failed != NULL ? board_error_of(&run->board, failed) : NULL;
		const char *undo_why = undo_failed != NULL ?
		    board_undo_error_of(&run->board, undo_failed) : NULL;
		json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o}", "name", svc != NULL ? svc->name :
		    c->name, "host", h != NULL ? json_string(h->name) : json_null(), "result",
		    unit_result_name(u), "error", why != NULL ? json_string(why) : json_null(),
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
	    "event", "summary", "command", mode_name(run->args.mode), "ok", run_ok(run),
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

static int
finish(struct run *run)
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

/* ---- the command --------------------------------------------------------------------------- */

static void
run_clear(struct run *run)
{
	size_t i;

	rk_run_report_free(run->report);
	cli_selection_clear(&run->selection);
	if (run->board_ready)
		board_clear(&run->board);
	rk_run_ctx_free(run->ctx);
	rk_journal_close(run->journal);
	if (run->scratch != NULL)
		rehearse_remove_scratch(run->scratch);
	free(run->scratch);
	free(run->scratch_journal);
	free(run->record);
	rk_buf_clear(&run->playbook_bytes);
	rk_journal_log_free(run->log);
	for (i = 0; run->model != NULL && i < run->model->nrevocations; i++) {
		if (run->revoked != NULL)
			rk_revoked_set_clear(&run->revoked[i]);
		if (run->revoke_errors != NULL)
			free(run->revoke_errors[i]);
	}
	free(run->revoked);
	free(run->revoke_errors);
	free(run->facts);
	for (i = 0; i < 2 * run->nheader; i++)
		free(run->header_strings[i]);
	free(run->header_strings);
	free(run->header_facts);
	rk_plan_free(run->plan);
	free(run->dir);
	free(run->journal_path);
	free(run->ledger);
	if (run->mariadb_ready)
		rk_mariadb_global_cleanup();
	if (run->ssh_ready)
		rk_ssh_global_cleanup();
	rk_model_free(run->model);
	rk_diags_clear(&run->diags);
}

static void
catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	/* A host that drops the connection must not kill rekey mid-journal. */
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Rehearse: a journal of the incident means it ran (or runs) already. The rehearsal goes on
 * all the same, checking the estate as it is now, and says so.
 */
static void
note_earlier_run(struct run *run)
{
	struct rk_journal_log *log = NULL;
	struct rk_err err = { 0 };
	long holder;

	if (access(run->journal_path, F_OK) != 0)
		return;
	if ((holder = rk_journal_holder(run->journal_path)) > 0) {
		run->earlier = "in progress";
		say(run, "incident %s is being carried out right now by another rekey (pid %ld): "
		    "this rehearsal sees the estate mid-change, and its proof of zero change may "
		    "see that run's changes", run->model->incident.id, holder);
		return;
	}
	if (rk_journal_read(&log, run->journal_path, &err) != 0) {
		run->earlier = "unreadable";
		say(run, "incident %s has a journal that cannot be read (%s): rehearsing the "
		    "estate as it is now", run->model->incident.id, err.msg);
		return;
	}
	if (strcmp(log->plan_digest, run->plan->digest) == 0 &&
	    journal_completed(run->plan, log)) {
		run->earlier = "completed";
		say(run, "incident %s was carried out completely (journal %s, begun %s): this "
		    "rehearsal checks the estate as that run left it", log->incident,
		    run->journal_path, log->started);
	} else {
		run->earlier = "unfinished";
		say(run, "incident %s has a journal of a run that did not finish (begun %s): this "
		    "rehearsal checks the estate as it is now; `rekey resume %s` finishes the run",
		    log->incident, log->started, run->args.playbook);
	}
	rk_journal_log_free(log);
}

/*
 * --only-expiring: the playbook narrowed to what is due now, and the choice written into the
 * journal's header. -1 when nothing is due (nothing to do, exit 0).
 */
static int
narrow_to_expiring(struct run *run, struct rk_err *err)
{
	FILE *f = run->args.json ? stderr : stdout;
	char window[32];

	if (cli_select_expiring(&run->selection, run->model, run->args.only_expiring, f,
	    err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	if (run->selection.nothing)
		return -1;
	snprintf(window, sizeof(window), "%ld", run->args.only_expiring);
	if (add_header_fact(run, "only.window_seconds", window, err) != 0 ||
	    add_header_fact(run, "only.certificates", run->selection.certificates, err) != 0 ||
	    add_header_fact(run, "only.crl", run->selection.crl ? "yes" : "no", err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	return RK_EXIT_OK;
}

/* Resume, rollback: a run begun with --only-expiring is narrowed as its journal says. */
static int
narrow_as_journaled(struct run *run, struct rk_err *err)
{
	const struct rk_journal_log *log = run->log;
	const char *names = rk_kv_get(log->facts, log->nfacts, "only.certificates");
	const char *crl = rk_kv_get(log->facts, log->nfacts, "only.crl");

	if (names == NULL)
		return 0;
	return cli_select_named(run->model, names, crl != NULL && strcmp(crl, "yes") == 0, err);
}

/* Loads the playbook, settles the revocations and builds the plan, for each mode its way. */
static int
prepare(struct run *run, struct rk_err *err)
{
	/*
	 * A rehearsal leaves the CA's files to its check-ca row, which names the fix (a wrong
	 * passphrase is not a playbook error, and exit 2 would hide every other finding).
	 */
	struct cli_load_opts load = { run->args.json, run->args.mode != MODE_REHEARSE };
	int rc;

	if ((rc = cli_load_playbook(run->cli, run->args.playbook, &load, &run->diags,
	    &run->model)) != RK_EXIT_OK)
		return rc;
	/* The playbook as run, for the record: read once, now. */
	rk_buf_init(&run->playbook_bytes, RK_PLAYBOOK_MAX);
	if (rk_file_read(&run->playbook_bytes, run->args.playbook, RK_PLAYBOOK_MAX, err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	/* A playbook without incident.id makes a new incident each run: a rehearsal tries the
	 * next one, which has no journal yet; resume and rollback take the newest. */
	if (run->args.mode != MODE_RUN && run->args.mode != MODE_REHEARSE &&
	    find_generated_incident(run, err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	if (make_paths(run, err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	if (run->args.only_expiring > 0 && (rc = narrow_to_expiring(run, err)) != RK_EXIT_OK)
		return rc;
	if (run->args.mode == MODE_REHEARSE) {
		if (resolve_now(run, err) != 0 || build_plan(run, err) != 0 ||
		    revocations_to_facts(run, err) != 0)
			return fail_with(run, err, RK_EXIT_FAILED);
		note_earlier_run(run);
		return RK_EXIT_OK;
	}
	if (run->args.mode == MODE_RUN) {
		if (resolve_now(run, err) != 0 || build_plan(run, err) != 0)
			return fail_with(run, err, RK_EXIT_FAILED);
		if (access(run->journal_path, F_OK) == 0)
			return refuse_or_skip(run) == RK_EXIT_OK ? -1 : RK_EXIT_FAILED;
		if (revocations_to_facts(run, err) != 0)
			return fail_with(run, err, RK_EXIT_FAILED);
		return RK_EXIT_OK;
	}
	if (open_existing(run, err) != 0 || narrow_as_journaled(run, err) != 0 ||
	    revocations_from_journal(run, err) != 0 || build_plan(run, err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	if (strcmp(run->log->plan_digest, run->plan->digest) != 0) {
		fprintf(stderr, "rekey: %s: the playbook changed since incident %s began (%s): its "
		    "plan is %s now, the journal's is %s. Put the playbook back as it was to %s, "
		    "or start a new incident.\n", mode_name(run->args.mode),
		    run->model->incident.id, run->log->started, run->plan->digest,
		    run->log->plan_digest, mode_name(run->args.mode));
		return RK_EXIT_FAILED;
	}
	return RK_EXIT_OK;
}

/* ---- the record --------------------------------------------------------------------------- */

static const char *
record_outcome(const struct run *run)
{
	const struct rk_run_report *rep = run->report;

	if (rep->stopped)
		return "interrupted";
	if (rep->journal_failed)
		return run->args.mode == MODE_ROLLBACK ? "rollback incomplete" :
		    "failed, journal not written";
	switch (run->args.mode) {
	case MODE_REHEARSE:
		return rep->failed == 0 && rep->skipped == 0 && rep->done == rep->nsteps ? "go" :
		    "no-go";
	case MODE_ROLLBACK:
		return rep->undo_failed == 0 ? "rolled back" : "rollback incomplete";
	default:
		if (run_ok(run))
			return "verified";
		if (rep->undo_failed > 0)
			return "failed, rollback incomplete";
		return rep->undone > 0 ? "failed, rolled back" : "failed";
	}
}

static const char *
record_unit_result(const struct run *run, enum unit_result u)
{
	if (run->args.mode == MODE_REHEARSE && u == UNIT_VERIFIED)
		return "go";
	if (run->args.mode == MODE_REHEARSE && u == UNIT_FAILED)
		return "no-go";
	return unit_result_name(u);
}

/* Every service and client as the summary says it. */
static int
record_units(struct rk_record_unit **out, const struct run *run, struct rk_err *err)
{
	const struct rk_model *m = run->model;
	const struct rk_step *failed, *undo_failed;
	size_t i, n = 0;

	if ((*out = calloc(m->nservices + m->nclients + 1, sizeof(**out))) == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < m->nservices; i++, n++) {
		const struct rk_served *sv = rk_run_ctx_served(run->ctx, i);
		enum unit_result u = unit_result(run, &m->services[i], NULL, &failed,
		    &undo_failed);

		(*out)[n] = (struct rk_record_unit){ "service", m->services[i].name,
		    m->services[i].host != NULL ? m->services[i].host->name : NULL,
		    record_unit_result(run, u), failed != NULL ? board_error_of(&run->board,
		    failed) : NULL, sv->before, sv->after, undo_failed != NULL ?
		    board_undo_error_of(&run->board, undo_failed) : NULL };
	}
	for (i = 0; i < m->nclients; i++, n++) {
		enum unit_result u = unit_result(run, NULL, &m->clients[i], &failed,
		    &undo_failed);

		(*out)[n] = (struct rk_record_unit){ "client", m->clients[i].name,
		    m->clients[i].host != NULL ? m->clients[i].host->name : NULL,
		    record_unit_result(run, u), failed != NULL ? board_error_of(&run->board,
		    failed) : NULL, NULL, NULL, undo_failed != NULL ?
		    board_undo_error_of(&run->board, undo_failed) : NULL };
	}
	return 0;
}

/* The values of every secret the playbook names, so that the record can refuse them. */
static size_t
record_secrets(struct rk_secret *held, size_t max, const struct rk_model *m)
{
	const struct rk_secret_ref *refs[RECORD_SECRETS_MAX];
	struct rk_err ignored = { 0 };
	size_t i, n = 0, k = 0;

	refs[n++] = &m->ca.key_passphrase;
	refs[n++] = &m->record.signing_key_passphrase;
	for (i = 0; i < m->ncertificates && n < RECORD_SECRETS_MAX; i++)
		refs[n++] = &m->certificates[i].key_passphrase;
	for (i = 0; i < m->nhosts && n < RECORD_SECRETS_MAX; i++)
		refs[n++] = &m->hosts[i].identity_passphrase;
	for (i = 0; i < m->nservices && n < RECORD_SECRETS_MAX; i++)
		refs[n++] = &m->services[i].connect.password;
	for (i = 0; i < n && k < max; i++) {
		if (refs[i]->env == NULL && refs[i]->file == NULL)
			continue;
		rk_err_clear(&ignored);
		if (rk_secret_from_source(&held[k], refs[i]->env, refs[i]->file, &ignored) == 0 &&
		    held[k].ptr != NULL)
			k++;
	}
	return k;
}

/*
 * The key that signs the record: record.signing_key when the playbook names one, else the
 * CA's (with its passphrase); after a CA rotation the new CA's, since the old one's key is
 * the one that leaked.
 */
static void
operator_of(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());
	char host[256] = "?";

	(void)gethostname(host, sizeof(host) - 1);
	snprintf(buf, size, "%s@%s", pw != NULL ? pw->pw_name : "?", host);
}

static int
write_record(struct run *run, struct rk_err *err)
{
	const struct rk_model *m = run->model;
	bool rehearse = run->args.mode == MODE_REHEARSE;
	struct rk_secret held[RECORD_SECRETS_MAX];
	struct rk_bytes secrets[RECORD_SECRETS_MAX];
	struct rk_journal_log *log = NULL;
	struct rk_record_unit *units = NULL;
	struct rk_key *signer = NULL;
	char *path = NULL, operator[320], why[512];
	const char *signed_by = NULL;
	struct rk_err signer_err = { 0 };
	size_t i, nheld = 0;
	int r;

	memset(held, 0, sizeof(held));
	operator_of(operator, sizeof(operator));
	if ((r = rk_record_path(&path, m, rehearse, err)) != 0 ||
	    (r = rk_journal_read(&log, rehearse ? run->scratch_journal : run->journal_path,
	    err)) != 0 ||
	    (r = record_units(&units, run, err)) != 0)
		goto out;
	if (cli_open_record_signer(&signer, &signed_by, m, run->dir, rehearse, &signer_err) != 0)
		signer = NULL;
	nheld = record_secrets(held, RECORD_SECRETS_MAX, m);
	/* A record is written whatever happened, also when the signing key cannot be opened
	 * (the CA passphrase a rehearsal found wrong): sealed then with a key made for it, which
	 * proves the record whole but not who sealed it, and incident.json says so. */
	if (signer == NULL) {
		snprintf(why, sizeof(why), "a key made for this record, since %s could not be "
		    "opened: %.300s", signed_by, signer_err.msg);
		signed_by = why;
		if ((r = rk_key_generate(&signer, RK_KEY_EC_P256, err)) != 0)
			goto out;
	}
	for (i = 0; i < nheld; i++)
		secrets[i] = (struct rk_bytes){ (const unsigned char *)held[i].ptr, held[i].len };
	{
		struct rk_record_input in = { m, run->plan, log,
		    rk_buf_bytes(&run->playbook_bytes), rehearse ? run->scratch : run->dir,
		    rehearse, mode_name(run->args.mode), record_outcome(run), operator,
		    time(NULL), units, m->nservices + m->nclients, secrets, nheld, signer,
		    signed_by };

		if ((r = rk_record_write(path, &in, err)) == 0) {
			run->record = path;
			path = NULL;
		}
	}
 out:
	for (i = 0; i < nheld; i++)
		rk_secret_clear(&held[i]);
	rk_key_free(signer);
	rk_journal_log_free(log);
	free(units);
	free(path);
	return r;
}

/* Rehearse: the scratch folder beside the incidents, 0700, for the keys it makes. */
static int
make_scratch(struct run *run, char **journal, struct rk_err *err)
{
	const struct rk_model *m = run->model;

	if (asprintf(&run->scratch, "%s/.rehearsal-%s-XXXXXX", m->incident.records,
	    m->incident.id) < 0) {
		run->scratch = NULL;
		return rk_fail_nomem(err);
	}
	if (mkdtemp(run->scratch) == NULL) {
		free(run->scratch);
		run->scratch = NULL;
		return rk_fail_errno(err, "create a scratch folder in %s", m->incident.records);
	}
	if (asprintf(journal, "%s/journal.jsonl", run->scratch) < 0) {
		*journal = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

static int
execute(struct run *run, struct rk_err *err)
{
	const struct rk_model *m = run->model;
	bool rehearse = run->args.mode == MODE_REHEARSE;
	struct rk_run_setup setup = { run->plan, run->dir, cli_transport_new, service_ops_for,
	    run->revoked, (const char *const *)run->revoke_errors, run->ledger,
	    keygen_threads(), rehearse };
	struct rk_executor_config cfg = { run->plan, rehearse ? rk_rehearsal_table() :
	    rk_action_table(), NULL, NULL, run->log,
	    run->args.has_policy ? run->args.on_failure : m->policy.on_failure,
	    (size_t)m->policy.max_parallel, board_observe, &run->board, &stop_requested,
	    rehearse };
	enum board_style style = run->args.json ? BOARD_JSON : isatty(STDOUT_FILENO) ?
	    BOARD_TERMINAL : BOARD_LINES;
	int rc;

	/* libssh2 and Connector/C set up their global state before any thread starts. */
	if (rk_ssh_global_init(err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	run->ssh_ready = true;
	if (rk_mariadb_global_init(err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	run->mariadb_ready = true;
	if (board_init(&run->board, run->plan, style, run->cli->color) != 0) {
		(void)rk_fail_nomem(err);
		return fail_with(run, err, RK_EXIT_FAILED);
	}
	run->board_ready = true;
	run->board.rehearsal = rehearse;
	if (rehearse && make_scratch(run, &run->scratch_journal, err) != 0)
		return fail_with(run, err, RK_EXIT_FAILED);
	if (rehearse)
		setup.dir = run->scratch;
	if (rk_run_ctx_new(&run->ctx, &setup, err) != 0 ||
	    (run->args.mode == MODE_RUN && open_fresh(run, run->journal_path, err) != 0) ||
	    (rehearse && open_fresh(run, run->scratch_journal, err) != 0))
		return fail_with(run, err, RK_EXIT_FAILED);
	cfg.ctx = run->ctx;
	cfg.journal = run->journal;
	catch_stop_signals();
	if (rehearse && !run->args.json)
		printf("rekey rehearse: incident %s, %zu steps tried against the real estate; "
		    "nothing on any host is changed\n", m->incident.id, run->plan->nsteps);
	else if (!run->args.json)
		printf("rekey %s: incident %s, %zu steps, journal %s\n", mode_name(run->args.mode),
		    m->incident.id, run->plan->nsteps, run->journal_path);
	if (run->args.mode == MODE_ROLLBACK)
		rc = rk_executor_rollback(&run->report, &cfg, err);
	else if ((rc = rk_run_ctx_start_keygen(run->ctx, err)) == 0)
		rc = rk_executor_run(&run->report, &cfg, err);
	if (rc != 0 && run->report == NULL)
		return fail_with(run, err, RK_EXIT_FAILED);
	if (rc != 0) {
		/* The journal could not be written (a full disk): the run stopped before its
		 * next step, and what it did is on the hosts; the summary and the record say
		 * how far it got, and the journal holds only what happened. */
		cli_report_error(run->cli, mode_name(run->args.mode), err);
		snprintf(run->journal_error, sizeof(run->journal_error), "%s", err->msg);
		rk_err_clear(err);
	}
	rk_run_ctx_close_transports(run->ctx);
	/* Whatever happened, the auditor gets the record of it. */
	if (write_record(run, err) != 0) {
		cli_report_error(run->cli, mode_name(run->args.mode), err);
		snprintf(run->record_error, sizeof(run->record_error), "%s", err->msg);
		rk_err_clear(err);
	}
	if (!rehearse)
		rc = finish(run);
	else
		rc = rehearse_report(&(struct rehearse_view){ run->cli, run->plan, run->ctx,
		    run->report, &run->board, run->args.json, run->earlier, run->record,
		    run->record_error });
	if (rc == RK_EXIT_OK && run->record == NULL)
		rc = RK_EXIT_FAILED;
	return run->report->stopped ? 130 : rc;
}

static int
cmd_common(const struct rk_cli *cli, int argc, char **argv, enum run_mode mode)
{
	struct run run;
	struct rk_err err = { 0 };
	int rc;

	memset(&run, 0, sizeof(run));
	run.cli = cli;
	run.args.mode = mode;
	rk_diags_init(&run.diags, NULL);
	if ((rc = parse_args(&run.args, cli, argc, argv)) != RK_EXIT_OK) {
		rk_diags_clear(&run.diags);
		return rc == -1 ? RK_EXIT_OK : rc;
	}
	rk_diags_clear(&run.diags);
	if ((rc = prepare(&run, &err)) == RK_EXIT_OK)
		rc = execute(&run, &err);
	else if (rc == -1)
		rc = RK_EXIT_OK;
	run_clear(&run);
	return rc;
}

int
cmd_run(const struct rk_cli *cli, int argc, char **argv)
{
	return cmd_common(cli, argc, argv, MODE_RUN);
}

int
cmd_resume(const struct rk_cli *cli, int argc, char **argv)
{
	return cmd_common(cli, argc, argv, MODE_RESUME);
}

int
cmd_rollback(const struct rk_cli *cli, int argc, char **argv)
{
	return cmd_common(cli, argc, argv, MODE_ROLLBACK);
}

int
cmd_rehearse(const struct rk_cli *cli, int argc, char **argv)
{
	return cmd_common(cli, argc, argv, MODE_REHEARSE);
}
