/*
 * `rekey run`, `resume`, `rollback` and `rehearse`: the plan carried out by the executor,
 * with the backends picked here (ssh or local per host, PostgreSQL or MariaDB per service),
 * the journal in the incident folder, the board as observer, and at the end the record
 * (run_record) and the summary and exit code (run_summary). What a run settles when it
 * begins (the serials each revocation hits) goes into the journal's header, so a resume
 * never works it out again from files it has replaced.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rehearse_report.h"
#include "run.h"
#include "rekey/actions.h"
#include "rekey/executor.h"
#include "rekey/fsutil.h"
#include "rekey/journal.h"
#include "rekey/mariadb.h"
#include "rekey/playbook.h"
#include "rekey/postgresql.h"
#include "rekey/ssh.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
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
	cli_report_error(run->cli, run_mode_name(run->args.mode), err);
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
		    run->journal_path, run_mode_name(run->args.mode), run->args.playbook);
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
		    "or start a new incident.\n", run_mode_name(run->args.mode),
		    run->model->incident.id, run->log->started, run->plan->digest,
		    run->log->plan_digest, run_mode_name(run->args.mode));
		return RK_EXIT_FAILED;
	}
	return RK_EXIT_OK;
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
		printf("rekey %s: incident %s, %zu steps, journal %s\n", run_mode_name(run->args.mode),
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
		cli_report_error(run->cli, run_mode_name(run->args.mode), err);
		snprintf(run->journal_error, sizeof(run->journal_error), "%s", err->msg);
		rk_err_clear(err);
	}
	rk_run_ctx_close_transports(run->ctx);
	/* Whatever happened, the auditor gets the record of it. */
	if (run_write_record(run, err) != 0) {
		cli_report_error(run->cli, run_mode_name(run->args.mode), err);
		snprintf(run->record_error, sizeof(run->record_error), "%s", err->msg);
		rk_err_clear(err);
	}
	if (!rehearse)
		rc = run_finish(run);
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
