/*
 * The incident record (issue 15): what a run, a resume, a rollback or a rehearsal leaves for
 * an auditor, gathered from the playbook, the plan, the incident's journal (the whole
 * incident: every run of it, interruptions included) and the files the run made, and sealed
 * into <records>/<incident>.tar.gz (a rehearsal: <incident>.rehearsal.tar.gz) by archive.h.
 *
 *   incident.json      id, reason, summary, live or rehearsal, operator, rekey version,
 *                      start and end, outcome, every service's and client's result
 *   timeline.jsonl     every journal record in order, each line with the SHA-256 of the line
 *                      before it ("prev"), the first line's that of playbook.yml
 *   playbook.yml       the playbook as run (no secret: the writer checks)
 *   certs/             the new CA certificate (ca.rotate), every issued certificate, the CRL;
 *                      fingerprints.tsv: service, old and new fingerprint, new notAfter
 *   changes/HOST.json  every file replaced on the host: path, old and new SHA-256, mode,
 *                      owner, group, backup, and whether it was undone
 *   verification.json  every verification and negative check: endpoint, TLS version,
 *                      cipher, fingerprint, result, latency
 *   report.md, report.html   the human report, summary first
 */
#ifndef REKEY_RECORD_H
#define REKEY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/journal.h"
#include "rekey/key.h"
#include "rekey/model.h"
#include "rekey/plan.h"

#define RK_RECORD_SECRET_MIN	8

/* How one service or client came out, as the command's summary says it. */
struct rk_record_unit {
	const char	*kind;			/* "service" or "client" */
	const char	*name;
	const char	*host;			/* may be NULL */
	const char	*result;		/* "verified", "failed", "go", "no-go", ... */
	const char	*error;			/* the first failure, or NULL */
	const char	*fingerprint_before;	/* services: "" or NULL when not known */
	const char	*fingerprint_after;
	const char	*undo_error;		/* why an undo of the unit failed, or NULL */
};

struct rk_record_input {
	const struct rk_model		*model;
	const struct rk_plan		*plan;
	const struct rk_journal_log	*log;		/* the incident's journal, read back */
	struct rk_bytes			 playbook;	/* its bytes as loaded */
	const char			*dir;		/* where the run made its files */
	bool				 rehearsal;
	const char			*command;	/* "run", "resume", "rollback", "rehearse" */
	const char			*outcome;	/* "verified", "failed", "rolled back", ... */
	const char			*operator_name;	/* user@host */
	time_t				 ended;
	const struct rk_record_unit	*units;
	size_t				 nunits;
	/* Values the run read that must appear in no member (passwords, passphrases); those
	 * shorter than RK_RECORD_SECRET_MIN bytes are not looked for. */
	const struct rk_bytes		*secrets;
	size_t				 nsecrets;
	const struct rk_key		*signer;	/* signs MANIFEST.sha256 */
	const char			*signed_by;	/* which key that is, in words */
};

/* <records>/<incident>.tar.gz, or .rehearsal.tar.gz; *out malloc'ed. */
int	rk_record_path(char **out, const struct rk_model *m, bool rehearsal, struct rk_err *err)
	    RK_MUST_CHECK;

/* Gathers every member and writes the signed archive at path (mode 0600, all or nothing). */
int	rk_record_write(const char *path, const struct rk_record_input *in, struct rk_err *err)
	    RK_MUST_CHECK;

#endif
