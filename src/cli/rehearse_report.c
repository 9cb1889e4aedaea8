/*
 * The end of `rekey rehearse`: a row per step of the plan (what it checked, on which unit, the
 * result, what was seen, and for a no-go its fix), the client diffs, an estimate of the live
 * run made from what the rehearsal measured, and the verdict. The estimate takes the
 * rehearsal's own times for what the run repeats as it is (connecting, probing, making keys,
 * the CA's work) and scales the rest by what the run does more (a push is an upload and a
 * replace where the rehearsal ran one command; a verification makes four connections where
 * the probe made one), group by group with the lanes in parallel as the executor runs them.
 */
#include "rehearse_report.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "rekey/strutil.h"

enum row_result {
	ROW_GO,
	ROW_NO_GO,
	ROW_LIVE_ONLY,
	ROW_SKIPPED,
	ROW_NOT_TRIED,
};

static const char *
result_name(enum row_result r)
{
	switch (r) {
	case ROW_GO:		return "go";
	case ROW_NO_GO:		return "NO-GO";
	case ROW_LIVE_ONLY:	return "live only";
	case ROW_SKIPPED:	return "skipped";
	case ROW_NOT_TRIED:	return "not tried";
	}
	return "?";
}

static const char *
result_key(enum row_result r)
{
	switch (r) {
	case ROW_GO:		return "go";
	case ROW_NO_GO:		return "no-go";
	case ROW_LIVE_ONLY:	return "live-only";
	case ROW_SKIPPED:	return "skipped";
	case ROW_NOT_TRIED:	return "not-tried";
	}
	return "?";
}

static enum row_result
row_result(const struct rehearse_view *v, size_t i)
{
	const struct rk_finding *f = rk_run_ctx_finding(v->ctx, &v->plan->steps[i]);

	switch (v->report->outcomes[i]) {
	case RK_OUTCOME_DONE:
	case RK_OUTCOME_DONE_BEFORE:
		return f != NULL && f->live_only ? ROW_LIVE_ONLY : ROW_GO;
	case RK_OUTCOME_FAILED:
		return ROW_NO_GO;
	case RK_OUTCOME_SKIPPED:
		return ROW_SKIPPED;
	default:
		return ROW_NOT_TRIED;
	}
}

/* "service pg-lab", "client app-env", "host db1", "here". */
static void
unit_of(char *buf, size_t size, const struct rk_step *s)
{
	if (s->service != NULL)
		snprintf(buf, size, "service %s", s->service->name);
	else if (s->client != NULL)
		snprintf(buf, size, "client %s", s->client->name);
	else if (s->host != NULL)
		snprintf(buf, size, "host %s", s->host->name);
	else
		snprintf(buf, size, "here");
}

/* The action and what it acts on: "push-file /srv/pg/server.crt", "check-refused plaintext". */
static void
check_of(char *buf, size_t size, const struct rk_step *s)
{
	const char *action = rk_action_name(s->action);

	switch (s->action) {
	case RK_ACT_PUSH_FILE:
		snprintf(buf, size, "%s %s", action, s->file->path);
		break;
	case RK_ACT_CHECK_REFUSED:
		snprintf(buf, size, "%s %s", action, rk_refusal_name(s->refusal));
		break;
	case RK_ACT_ISSUE_CERT:
		snprintf(buf, size, "%s %s", action, s->certificate->name);
		break;
	case RK_ACT_RELOAD_SERVICE:
		snprintf(buf, size, "%s%s", action, s->phase == RK_PHASE_RETIRE_TRUST ?
		    " (old CA retired)" : "");
		break;
	default:
		snprintf(buf, size, "%s", action);
		break;
	}
}

/* What the row says: the finding's facts, else the executor's error or skip reason. */
static const char *
what_of(const struct rehearse_view *v, const struct rk_step *s, enum row_result r)
{
	const struct rk_finding *f = rk_run_ctx_finding(v->ctx, s);
	const char *said = board_error_of(v->board, s);

	if (r == ROW_NO_GO || r == ROW_SKIPPED)
		return said != NULL ? said : "";
	return f != NULL && f->detail != NULL ? f->detail : "";
}

/* ---- the estimate -------------------------------------------------------------------------- */

static double
probe_seconds(const struct rehearse_view *v, const struct rk_service *svc)
{
	size_t i;

	for (i = 0; i < v->plan->nsteps; i++) {
		const struct rk_step *s = &v->plan->steps[i];
		const struct rk_finding *f;

		if (s->action == RK_ACT_PROBE_SERVICE && s->service == svc &&
		    (f = rk_run_ctx_finding(v->ctx, s)) != NULL)
			return f->seconds;
	}
	return 0.1;
}

/* What step s should take in the live run, from what its rehearsal took. */
static double
live_seconds(const struct rehearse_view *v, const struct rk_step *s)
{
	const struct rk_finding *f = rk_run_ctx_finding(v->ctx, s);
	double took = f != NULL ? f->seconds : 0, probe;

	switch (s->action) {
	case RK_ACT_PUSH_FILE:
		return 2 * took;		/* an upload, then the replace */
	case RK_ACT_RELOAD_SERVICE:
		return took + 0.5;		/* the login, then probes until it serves the new */
	case RK_ACT_VERIFY_SERVICE:
		probe = probe_seconds(v, s->service);
		return 4 * probe > took ? 4 * probe : took;
	case RK_ACT_CHECK_REFUSED:
		probe = probe_seconds(v, s->service);
		if (f != NULL && f->live_only)
			return s->refusal == RK_REFUSE_REVOKED_CLIENT ? 2 * probe : probe;
		return took;
	case RK_ACT_EDIT_CLIENT_CONFIG:
		return 1.5 * took;
	case RK_ACT_WRITE_RECORD:
		return 0.05;			/* the manifest; the rehearsal's proof reads hosts */
	default:
		return took;
	}
}

struct estimate {
	double	total;
	double	preflight, issue, servers, clients;
};

static size_t
lane_of(const struct rk_step *s, const struct rk_model *m)
{
	return s->host != NULL ? (size_t)(s->host - m->hosts) : m->nhosts;
}

static void
estimate_run(struct estimate *e, const struct rehearse_view *v)
{
	const struct rk_model *m = v->plan->model;
	size_t g, i, k, parallel = m->policy.max_parallel > 0 ? (size_t)m->policy.max_parallel : 1;
	double *lanes = calloc(m->nhosts + 1, sizeof(*lanes));

	memset(e, 0, sizeof(*e));
	if (lanes == NULL)
		return;
	for (g = 0; g < v->plan->ngroups; g++) {
		const struct rk_step_group *grp = &v->plan->groups[g];
		double longest = 0, sum = 0, t;

		memset(lanes, 0, (m->nhosts + 1) * sizeof(*lanes));
		for (i = grp->first; i < grp->first + grp->n; i++)
			lanes[lane_of(&v->plan->steps[i], m)] += live_seconds(v, &v->plan->steps[i]);
		for (k = 0; k <= m->nhosts; k++) {
			sum += lanes[k];
			if (lanes[k] > longest)
				longest = lanes[k];
		}
		t = sum / (double)parallel > longest ? sum / (double)parallel : longest;
		e->total += t;
		switch (grp->phase) {
		case RK_PHASE_PREFLIGHT:
			e->preflight += t;
			break;
		case RK_PHASE_ISSUE:
		case RK_PHASE_REVOKE:
			e->issue += t;
			break;
		case RK_PHASE_UPDATE_CLIENTS:
		case RK_PHASE_VERIFY_CLIENTS:
			e->clients += t;
			break;
		default:
			e->servers += t;
			break;
		}
	}
	free(lanes);
}

/* ---- text ---------------------------------------------------------------------------------- */

struct counts {
	size_t	by[ROW_NOT_TRIED + 1];
};

static void
put_escaped(const char *text)
{
	char *esc = rk_text_escape(text);

	fputs(esc != NULL ? esc : "?", stdout);
	free(esc);
}

static void
print_diff(const char *diff, bool color)
{
	const char *line, *end, *c;

	for (line = diff; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		c = !color ? "" : strncmp(line, "---", 3) == 0 || strncmp(line, "+++", 3) == 0 ?
		    "\033[1m" : line[0] == '@' ? "\033[36m" : line[0] == '-' ? "\033[31m" :
		    line[0] == '+' ? "\033[32m" : "";
		printf("%40s%s%.*s%s\n", "", c, (int)(end - line), line, c[0] != '\0' ?
		    "\033[0m" : "");
	}
}

static void
print_rows(const struct rehearse_view *v, struct counts *n)
{
	bool color = v->cli->color;
	char unit[160], check[600];
	size_t i;

	printf("\n%4s  %-9s  %-22s %s\n", "STEP", "RESULT", "UNIT", "CHECK: WHAT WAS SEEN");
	for (i = 0; i < v->plan->nsteps; i++) {
		const struct rk_step *s = &v->plan->steps[i];
		const struct rk_finding *f = rk_run_ctx_finding(v->ctx, s);
		enum row_result r = row_result(v, i);
		const char *what = what_of(v, s, r);
		const char *c = !color ? "" : r == ROW_GO ? "\033[32m" : r == ROW_NO_GO ?
		    "\033[31m" : "\033[33m";

		n->by[r]++;
		unit_of(unit, sizeof(unit), s);
		check_of(check, sizeof(check), s);
		printf("%4u  %s%-9s%s  %-22s ", s->id, c, result_name(r), color ? "\033[0m" : "",
		    unit);
		put_escaped(check);
		if (what[0] != '\0') {
			fputs(": ", stdout);
			put_escaped(what);
		}
		putchar('\n');
		if (r == ROW_NO_GO && f != NULL && f->fix != NULL) {
			printf("%40sfix: ", "");
			put_escaped(f->fix);
			putchar('\n');
		}
		if (f != NULL && f->diff != NULL)
			print_diff(f->diff, color);
	}
}

static void
print_text(const struct rehearse_view *v, const struct estimate *e, struct counts *n)
{
	size_t files, hosts, local, no_go;

	print_rows(v, n);
	rk_run_ctx_proof_counts(v->ctx, &files, &hosts, &local);
	no_go = n->by[ROW_NO_GO] + n->by[ROW_SKIPPED] + n->by[ROW_NOT_TRIED];
	printf("\nestimate: the live run would take about %.1f s (preflight %.1f s, keys and "
	    "certificates %.1f s, servers %.1f s, clients %.1f s), from what this rehearsal "
	    "measured\n", e->total, e->preflight, e->issue, e->servers, e->clients);
	if (v->earlier != NULL)
		printf("incident %s: its journal says %s; the estate was checked as it is now\n",
		    v->plan->model->incident.id, v->earlier);
	if (v->record != NULL)
		printf("record: %s (rekey record verify checks it)\n", v->record);
	else
		printf("record: NOT WRITTEN: %s\n", v->record_error);
	if (no_go == 0)
		printf("%sGO%s: all %zu checks pass (%zu go, %zu for the live run only); %zu file%s "
		    "on %zu host%s and %zu here unchanged; rehearsed in %.1f s\n",
		    v->cli->color ? "\033[1;32m" : "", v->cli->color ? "\033[0m" : "",
		    v->plan->nsteps, n->by[ROW_GO], n->by[ROW_LIVE_ONLY], files,
		    files == 1 ? "" : "s", hosts, hosts == 1 ? "" : "s", local,
		    board_elapsed(v->board));
	else
		printf("%sNO-GO%s: %zu of %zu checks failed, %zu not reached (skipped after a "
		    "failure of their host, service or client); fix each and rehearse again; "
		    "rehearsed in %.1f s\n", v->cli->color ? "\033[1;31m" : "",
		    v->cli->color ? "\033[0m" : "", n->by[ROW_NO_GO], v->plan->nsteps,
		    n->by[ROW_SKIPPED] + n->by[ROW_NOT_TRIED], board_elapsed(v->board));
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *
maybe_string(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static double
hundredths(double seconds)
{
	return (double)(long long)(seconds * 100 + 0.5) / 100;
}

static json_t *
rows_json(const struct rehearse_view *v, struct counts *n)
{
	json_t *list = json_array();
	char unit[160], check[600];
	size_t i;

	for (i = 0; list != NULL && i < v->plan->nsteps; i++) {
		const struct rk_step *s = &v->plan->steps[i];
		const struct rk_finding *f = rk_run_ctx_finding(v->ctx, s);
		enum row_result r = row_result(v, i);
		json_t *o;

		n->by[r]++;
		unit_of(unit, sizeof(unit), s);
		check_of(check, sizeof(check), s);
		o = json_pack("{s:i, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:f}",
		    "step", (json_int_t)s->id, "action", rk_action_name(s->action), "unit", unit,
		    "host", s->host != NULL ? json_string(s->host->name) : json_null(),
		    "check", check, "result", result_key(r), "detail",
		    maybe_string(what_of(v, s, r)), "fix",
		    maybe_string(r == ROW_NO_GO && f != NULL ? f->fix : NULL), "diff",
		    maybe_string(f != NULL ? f->diff : NULL), "seconds",
		    hundredths(f != NULL ? f->seconds : 0.0));
		json_array_append_new(list, o);
	}
	return list;
}

/* One file as the rehearsal found it before, for unchanged.paths. */
static void
add_snapshot(const char *host, const char *path, const struct rk_path_state *st, void *arg)
{
	json_t *o = json_pack("{s:o, s:s, s:b}", "host", host != NULL ? json_string(host) :
	    json_null(), "path", path, "exists", st->exists);
	char mode[8];

	if (o != NULL && st->exists) {
		snprintf(mode, sizeof(mode), "%04o", st->raw_mode & 07777);
		json_object_set_new(o, "mode", json_string(mode));
		json_object_set_new(o, "owner", json_string(st->owner));
		json_object_set_new(o, "group", json_string(st->group));
		json_object_set_new(o, "size", json_integer((json_int_t)st->size));
		json_object_set_new(o, "mtime", json_string(st->mtime));
		json_object_set_new(o, "sha256", maybe_string(st->sha256));
	}
	json_array_append_new(arg, o);
}

static void
print_json(const struct rehearse_view *v, const struct estimate *e, struct counts *n, bool go)
{
	size_t files, hosts, local;
	json_t *o, *paths, *rows = rows_json(v, n);

	rk_run_ctx_proof_counts(v->ctx, &files, &hosts, &local);
	o = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:o, s:{s:i, s:i, s:i, s:i}, "
	    "s:{s:i, s:i, s:i}, s:{s:f, s:f, s:f, s:f, s:f}, s:f}",
	    "event", "summary", "command", "rehearse", "go", go,
	    "incident", v->plan->model->incident.id,
	    "earlier_run", maybe_string(v->earlier), "record", maybe_string(v->record),
	    "checks", rows,
	    "counts", "go", (json_int_t)n->by[ROW_GO], "no_go", (json_int_t)n->by[ROW_NO_GO],
	    "live_only", (json_int_t)n->by[ROW_LIVE_ONLY], "skipped",
	    (json_int_t)(n->by[ROW_SKIPPED] + n->by[ROW_NOT_TRIED]),
	    "unchanged", "files", (json_int_t)files, "hosts", (json_int_t)hosts, "local",
	    (json_int_t)local,
	    "estimate_seconds", "total", hundredths(e->total), "preflight",
	    hundredths(e->preflight), "issue", hundredths(e->issue), "servers",
	    hundredths(e->servers), "clients", hundredths(e->clients),
	    "elapsed_seconds", hundredths(board_elapsed(v->board)));
	if (o == NULL)
		return;
	paths = json_array();
	rk_run_ctx_each_snapshot(v->ctx, add_snapshot, paths);
	json_object_set_new(json_object_get(o, "unchanged"), "paths", paths);
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

int
rehearse_report(const struct rehearse_view *v)
{
	struct counts n;
	struct estimate e;
	size_t i;
	bool go = !v->report->stopped;

	memset(&n, 0, sizeof(n));
	estimate_run(&e, v);
	for (i = 0; i < v->plan->nsteps; i++) {
		enum row_result r = row_result(v, i);

		if (r != ROW_GO && r != ROW_LIVE_ONLY)
			go = false;
	}
	if (v->json)
		print_json(v, &e, &n, go);
	else
		print_text(v, &e, &n);
	return go ? RK_EXIT_OK : RK_EXIT_FAILED;
}

/* ---- the scratch folder --------------------------------------------------------------------- */

/* A key the rehearsal made: its bytes are overwritten before the name goes. */
static void
overwrite(const char *path, off_t size)
{
	static const char zeros[4096];
	off_t done = 0;
	int fd;

	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	while (done < size) {
		size_t n = size - done < (off_t)sizeof(zeros) ? (size_t)(size - done) :
		    sizeof(zeros);
		ssize_t w = write(fd, zeros, n);

		if (w <= 0)
			break;
		done += w;
	}
	(void)fsync(fd);
	close(fd);
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode))
		overwrite(path, st->st_size);
	if (remove(path) != 0)
		fprintf(stderr, "rekey: rehearse: could not remove %s from the scratch folder\n",
		    path);
	return 0;
}

void
rehearse_remove_scratch(const char *dir)
{
	(void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
