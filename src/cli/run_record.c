/*
 * The incident record of a run: the journal, the plan, every unit's result as the summary
 * says it, signed by the record's key, with every secret the playbook names refused.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "rekey/actions.h"
#include "rekey/journal.h"
#include "rekey/key.h"
#include "rekey/record.h"
#include "rekey/secret.h"

/* Secrets a playbook can name (CA, certificates, hosts, services): more are not looked for. */
#define RECORD_SECRETS_MAX	4096

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
	return run_unit_result_name(u);
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
		enum unit_result u = run_unit_result(run, &m->services[i], NULL, &failed,
		    &undo_failed);

		(*out)[n] = (struct rk_record_unit){ "service", m->services[i].name,
		    m->services[i].host != NULL ? m->services[i].host->name : NULL,
		    record_unit_result(run, u), failed != NULL ? board_error_of(&run->board,
		    failed) : NULL, sv->before, sv->after, undo_failed != NULL ?
		    board_undo_error_of(&run->board, undo_failed) : NULL };
	}
	for (i = 0; i < m->nclients; i++, n++) {
		enum unit_result u = run_unit_result(run, NULL, &m->clients[i], &failed,
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

/* Who ran it, for the record: user@host. */
static void
operator_of(char *buf, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());
	char host[256] = "?";

	(void)gethostname(host, sizeof(host) - 1);
	snprintf(buf, size, "%s@%s", pw != NULL ? pw->pw_name : "?", host);
}

int
run_write_record(struct run *run, struct rk_err *err)
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
	/* record.signing_key when the playbook names one, else the CA's (with its passphrase);
	 * after a CA rotation the new CA's, since the old one's key is the one that leaked. */
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
		    rehearse, run_mode_name(run->args.mode), record_outcome(run), operator,
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
