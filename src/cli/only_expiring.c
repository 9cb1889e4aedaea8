/*
 * --only-expiring: a run narrowed to the certificates that end inside a window, found the
 * way `rekey expiry` finds them (what is served and what is deployed), and to the CRL when
 * it is due. The choice is made once, when the run begins, and kept in its journal: a resume
 * or rollback narrows the playbook the same way even though the estate has changed since.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rekey/bytes.h"
#include "rekey/expiry.h"
#include "rekey/strutil.h"

/* The CRL window of --only-expiring: `rekey expiry`'s default. */
#define ONLY_CRL_WINDOW	(3L * 86400)

static void
narrow_reason(struct rk_model *m)
{
	/* A routine rotation replaces certificates that did nothing wrong (RFC 5280). */
	if (!m->incident.reason_given)
		m->incident.reason = RK_REASON_SUPERSEDED;
}

static int
join_names(char **out, const struct rk_model *m, const bool *keep, struct rk_err *err)
{
	struct rk_buf b;
	size_t i;
	int r;

	rk_buf_init(&b, SIZE_MAX);
	for (i = 0; i < m->ncertificates; i++) {
		if (keep[i] && (r = rk_buf_printf(&b, err, "%s%s", b.len > 0 ? "," : "",
		    m->certificates[i].name)) != 0) {
			rk_buf_clear(&b);
			return r;
		}
	}
	*out = rk_buf_detach(&b);
	return *out != NULL ? 0 : rk_fail_nomem(err);
}

/* One line per certificate: names and reasons are the playbook's and servers' words. */
static void
say_choice(FILE *f, const char *what, const char *name, const char *why)
{
	char *n = rk_text_escape(name), *w = rk_text_escape(why);

	fprintf(f, "rekey:   %s %s: %s\n", what, n != NULL ? n : "?", w != NULL ? w : "?");
	free(n);
	free(w);
}

int
cli_select_expiring(struct cli_selection *out, struct rk_model *m, long window, FILE *f,
    struct rk_err *err)
{
	struct rk_expiry_report report = { 0 };
	char why[300];
	bool *keep = NULL, any = false;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = cli_expiry_report(&report, m, window, ONLY_CRL_WINDOW, err)) != 0)
		return r;
	if ((keep = calloc(m->ncertificates + 1, sizeof(*keep))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	fprintf(f, "rekey: --only-expiring %ldd: what ends within %ld days, as served and as "
	    "deployed\n", window / 86400, window / 86400);
	for (i = 0; i < m->ncertificates; i++) {
		keep[i] = rk_expiry_certificate_due(&report, &m->certificates[i], why, sizeof(why));
		if (!keep[i])
			snprintf(why, sizeof(why), "not due within %ld days: left out",
			    window / 86400);
		say_choice(f, keep[i] ? "rotate" : "keep  ", m->certificates[i].name, why);
		any |= keep[i];
	}
	/* Revocations the playbook makes are signed whatever is due. */
	out->crl = rk_expiry_crl_due(&report) || m->nrevocations > 0;
	if (out->crl)
		fprintf(f, "rekey:   a new CRL: %s\n", m->nrevocations > 0 ?
		    "the playbook revokes" : "the CRL is due within 3 days or past");
	out->nothing = !any && !out->crl;
	if (out->nothing) {
		fprintf(f, "rekey: nothing ends within %ld days and no CRL is due: nothing to do, "
		    "nothing was changed\n", window / 86400);
		goto out;
	}
	if ((r = join_names(&out->certificates, m, keep, err)) == 0 &&
	    (r = rk_model_select(m, keep, out->crl, err)) == 0)
		narrow_reason(m);
 out:
	free(keep);
	rk_expiry_report_clear(&report);
	return r;
}

int
cli_select_named(struct rk_model *m, const char *names, bool crl, struct rk_err *err)
{
	bool *keep = calloc(m->ncertificates + 1, sizeof(*keep));
	const char *p, *comma;
	size_t i, len;
	int r;

	if (keep == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < m->ncertificates; i++) {
		len = strlen(m->certificates[i].name);
		for (p = names; *p != '\0'; p = *comma != '\0' ? comma + 1 : comma) {
			comma = strchr(p, ',');
			if (comma == NULL)
				comma = p + strlen(p);
			if ((size_t)(comma - p) == len &&
			    strncmp(p, m->certificates[i].name, len) == 0)
				keep[i] = true;
		}
	}
	if ((r = rk_model_select(m, keep, crl, err)) == 0)
		narrow_reason(m);
	free(keep);
	return r;
}

void
cli_selection_clear(struct cli_selection *s)
{
	free(s->certificates);
	memset(s, 0, sizeof(*s));
}
