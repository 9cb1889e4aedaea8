/* Human output: diagnostics in compiler form and the plan grouped by phase, wave and host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rekey/local.h"
#include "rekey/ssh.h"
#include "rekey/strutil.h"

#define C_BOLD		"\033[1m"
#define C_DIM		"\033[2m"
#define C_RED		"\033[31m"
#define C_YELLOW	"\033[33m"
#define C_GREEN		"\033[32m"
#define C_CYAN		"\033[36m"
#define C_RESET		"\033[0m"

struct paint {
	bool	on;
};

static const char *
pc(const struct paint *p, const char *code)
{
	return p->on ? code : "";
}

/*
 * Prints text from the playbook or a host with every control, C1 and bidi character escaped:
 * a name or path must not be able to move the cursor or reverse what the responder reads.
 */
static void
put_text(FILE *f, const char *s)
{
	char *e;

	if (s == NULL)
		s = "-";	/* a name that could not be stored */
	if (rk_text_is_safe(s)) {
		fputs(s, f);
		return;
	}
	if ((e = rk_text_escape(s)) == NULL) {
		fputs("(text not shown: out of memory)", f);
		return;
	}
	fputs(e, f);
	free(e);
}

void
render_diags(FILE *f, const struct rk_diags *d, bool color)
{
	struct paint p = { color };
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct rk_diag *g = &d->items[i];
		bool err = g->severity == RK_SEV_ERROR;

		fputs(pc(&p, C_BOLD), f);
		put_text(f, d->file);
		if (g->pos.line == 0)
			fprintf(f, ":%s ", pc(&p, C_RESET));
		else
			fprintf(f, ":%u:%u:%s ", g->pos.line, g->pos.col, pc(&p, C_RESET));
		fprintf(f, "%s%s:%s %s\n", pc(&p, err ? C_RED : C_YELLOW),
		    err ? "error" : "warning", pc(&p, C_RESET), g->msg);
	}
	if (d->n < d->nerrors) {
		put_text(f, d->file);
		fprintf(f, ": and %zu more errors not shown\n", d->nerrors - d->n);
	}
	if (d->out_of_memory) {
		put_text(f, d->file);
		fprintf(f, ": out of memory: some problems may not be listed\n");
	}
}

static void
print_host_header(FILE *f, const struct paint *p, const struct rk_host *h)
{
	if (h == NULL) {
		fprintf(f, "    %slocal%s %s(where rekey runs)%s\n", pc(p, C_CYAN), pc(p, C_RESET),
		    pc(p, C_DIM), pc(p, C_RESET));
		return;
	}
	/* The swap method is a decision (libssh2 1.10 has no posix-rename): say it. */
	if (h->transport == RK_TRANSPORT_LOCAL) {
		fprintf(f, "    %s%s%s %s(local%s; swap by %s)%s\n", pc(p, C_CYAN), h->name,
		    pc(p, C_RESET), pc(p, C_DIM), h->sudo ? ", sudo" : "",
		    rk_local_rename_method(h), pc(p, C_RESET));
		return;
	}
	fprintf(f, "    %s%s%s %s(ssh ", pc(p, C_CYAN), h->name, pc(p, C_RESET), pc(p, C_DIM));
	if (h->user != NULL) {
		put_text(f, h->user);
		fputc('@', f);
	}
	put_text(f, h->address);
	fprintf(f, ":%d%s%s%s; swap by %s)%s\n", h->port, h->sudo ? ", sudo" : "",
	    h->jump != NULL ? ", via " : "", h->jump != NULL ? h->jump->name : "",
	    rk_ssh_rename_method(h), pc(p, C_RESET));
}

/* Whether host h already appeared among steps[from..i) of the same group. */
static bool
host_printed(const struct rk_step *steps, size_t from, size_t i, const struct rk_host *h)
{
	size_t k;

	for (k = from; k < i; k++)
		if (steps[k].host == h)
			return true;
	return false;
}

/* A client's diff under its edit step; the diff's lines are already masked and escaped. */
static void
print_client_view(FILE *f, const struct paint *p, const struct cli_client_view *v)
{
	const char *line, *end, *color;

	if (v->error != NULL) {
		fprintf(f, "           %scannot read or edit it:%s ", pc(p, C_RED),
		    pc(p, C_RESET));
		put_text(f, v->error);
		fputc('\n', f);
		return;
	}
	if (!v->changed) {
		fprintf(f, "           %sno change: the file already holds these settings%s\n",
		    pc(p, C_DIM), pc(p, C_RESET));
		return;
	}
	for (line = v->diff; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		color = strncmp(line, "---", 3) == 0 || strncmp(line, "+++", 3) == 0 ? C_BOLD :
		    line[0] == '@' ? C_CYAN : line[0] == '-' ? C_RED : line[0] == '+' ? C_GREEN :
		    "";
		fprintf(f, "           %s%.*s%s\n", pc(p, color), (int)(end - line), line,
		    color[0] != '\0' ? pc(p, C_RESET) : "");
	}
}

/* The serials a revocation hits now, as the run will resolve them when it begins. */
static void
print_revocation_view(FILE *f, const struct paint *p, const struct rk_plan *plan,
    const struct cli_revocations *revs, const struct rk_step *s)
{
	size_t r = (size_t)(s->revocation - plan->model->revocations), i;
	const struct cli_revocation_view *v;

	if (revs == NULL || r >= revs->n)
		return;
	v = &revs->views[r];
	if (v->error != NULL) {
		fprintf(f, "           %snot resolved now:%s ", pc(p, C_YELLOW), pc(p, C_RESET));
		put_text(f, v->error);
		fputc('\n', f);
		return;
	}
	if (v->set.n == 0)
		fprintf(f, "           %snames no certificate now%s\n", pc(p, C_YELLOW),
		    pc(p, C_RESET));
	for (i = 0; i < v->set.n; i++) {
		fprintf(f, "           serial %s%s%s", v->set.items[i].serial,
		    v->set.items[i].profile != NULL ? ", " : "",
		    v->set.items[i].profile != NULL ? v->set.items[i].profile : "");
		if (strcmp(v->set.items[i].source, s->revocation->value) != 0) {
			fputs(" (", f);
			put_text(f, v->set.items[i].source);
			fputc(')', f);
		}
		fputc('\n', f);
	}
	for (i = 0; i < v->set.nnotes; i++) {
		fprintf(f, "           %s", pc(p, C_DIM));
		put_text(f, v->set.notes[i]);
		fprintf(f, "%s\n", pc(p, C_RESET));
	}
}

static void
print_group(FILE *f, const struct paint *p, const struct rk_plan *plan,
    const struct cli_client_views *views, const struct cli_revocations *revs, size_t from,
    size_t to)
{
	const struct cli_client_view *v;
	char line[1024];
	size_t i, k;

	/* Hosts in the order they first appear; each host's steps in plan order. */
	for (i = from; i < to; i++) {
		const struct rk_host *h = plan->steps[i].host;

		if (host_printed(plan->steps, from, i, h))
			continue;
		print_host_header(f, p, h);
		for (k = i; k < to; k++) {
			if (plan->steps[k].host != h)
				continue;
			rk_step_describe(line, sizeof(line), plan, &plan->steps[k]);
			fprintf(f, "      %s%3u%s  ", pc(p, C_DIM), plan->steps[k].id,
			    pc(p, C_RESET));
			put_text(f, line);
			fputc('\n', f);
			if (plan->steps[k].action == RK_ACT_REVOKE)
				print_revocation_view(f, p, plan, revs, &plan->steps[k]);
			if (plan->steps[k].action == RK_ACT_EDIT_CLIENT_CONFIG &&
			    (v = cli_client_view_of(views, plan->model, plan->steps[k].client)) !=
			    NULL)
				print_client_view(f, p, v);
		}
	}
}

/* "  label     value (note)", the value escaped; nothing when value is NULL. */
static void
put_field(FILE *f, const char *label, const char *value, const char *note)
{
	if (value == NULL)
		return;
	fprintf(f, "  %-9s ", label);
	put_text(f, value);
	if (note != NULL)
		fprintf(f, " (%s)", note);
	fputc('\n', f);
}

static const char *
ca_note(const struct rk_model *m)
{
	switch (m->ca.rotate) {
	case RK_ROTATE_ROOT:
		return "replaced by a new root CA";
	case RK_ROTATE_INTERMEDIATE:
		return "an intermediate, replaced by a new one that ca.parent signs; the root "
		    "stays";
	case RK_ROTATE_NONE:
		break;
	}
	return m->ca.chain != NULL ? "an intermediate, kept" : "kept";
}

/*
 * Rolling back is what keeps a service up, but in a compromise the files it puts back are the
 * ones the incident is about: the reader must know before choosing the policy.
 */
static bool
rollback_reuses_compromised(const struct rk_model *m)
{
	size_t i;

	if (m->policy.on_failure != RK_ON_FAILURE_ROLLBACK)
		return false;
	for (i = 0; i < m->nrevocations; i++)
		if (m->revocations[i].reason == RK_REASON_KEY_COMPROMISE ||
		    m->revocations[i].reason == RK_REASON_CA_COMPROMISE)
			return true;
	return false;
}

static void
print_intro(FILE *f, const struct paint *p, const struct rk_plan *plan)
{
	const struct rk_model *m = plan->model;

	fprintf(f, "%srekey plan%s for %s%s%s (%s)\n", pc(p, C_BOLD), pc(p, C_RESET),
	    pc(p, C_BOLD), m->incident.id, pc(p, C_RESET), rk_reason_name(m->incident.reason));
	put_field(f, "playbook", m->playbook, NULL);
	put_field(f, "summary", m->incident.summary, NULL);
	put_field(f, "ca", m->ca.cert, ca_note(m));
	if (m->ca.chain != NULL)
		put_field(f, "chain", m->ca.chain, m->ca.trust == RK_TRUST_ROOT ?
		    "up to the root; clients trust the root" :
		    "up to the root; clients trust the whole chain");
	fprintf(f, "  estate    %zu host%s, %zu service%s, %zu client%s, %zu certificate%s to "
	    "issue, %zu revocation%s\n", m->nhosts, m->nhosts == 1 ? "" : "s", m->nservices,
	    m->nservices == 1 ? "" : "s", m->nclients, m->nclients == 1 ? "" : "s",
	    m->ncertificates, m->ncertificates == 1 ? "" : "s", m->nrevocations,
	    m->nrevocations == 1 ? "" : "s");
	fprintf(f, "  policy    on failure %s; up to %d hosts at once; canary %d; trust overlap %s\n",
	    rk_on_failure_name(m->policy.on_failure), m->policy.max_parallel, m->policy.canary,
	    m->policy.trust_overlap ? "on" : "off");
	if (rollback_reuses_compromised(m))
		fprintf(f, "            (rollback puts a failed service's or client's old "
		    "certificate and key back: where this incident revokes that certificate as "
		    "compromised, it is in use again, refused where the CRL is checked, until "
		    "`rekey resume` rotates it)\n");
	fprintf(f, "  record    ");
	put_text(f, m->incident.records);
	fprintf(f, "/%s\n", m->incident.id);
}

static void
print_client_summary(FILE *f, const struct rk_plan *plan, const struct cli_client_views *views)
{
	size_t i, changed = 0, same = 0, failed = 0;

	if (plan->model->nclients == 0)
		return;
	if (views == NULL) {
		fprintf(f, "Client files were not read: `rekey plan --diff` shows each edit.\n");
		return;
	}
	for (i = 0; i < views->n; i++) {
		changed += views->views[i].error == NULL && views->views[i].changed;
		same += views->views[i].error == NULL && !views->views[i].changed;
		failed += views->views[i].error != NULL;
	}
	fprintf(f, "Client files read: %zu to change, %zu already up to date, %zu that cannot be "
	    "read or edited.\n", changed, same, failed);
}

static void
print_summary(FILE *f, const struct paint *p, const struct rk_plan *plan,
    const struct cli_client_views *views)
{
	size_t i, pushes = 0, reloads = 0, checks = 0, hosts = 0;

	for (i = 0; i < plan->nsteps; i++) {
		const struct rk_step *s = &plan->steps[i];

		pushes += s->action == RK_ACT_PUSH_FILE;
		reloads += s->action == RK_ACT_RELOAD_SERVICE;
		checks += s->action == RK_ACT_VERIFY_SERVICE || s->action == RK_ACT_CHECK_REFUSED ||
		    s->action == RK_ACT_RUN_CLIENT_VERIFY;
		hosts += s->action == RK_ACT_CONNECT_HOST;
	}
	fprintf(f, "\n%s%zu steps%s on %zu host%s: %zu file%s replaced, %zu reload%s, "
	    "%zu check%s.\n", pc(p, C_BOLD), plan->nsteps, pc(p, C_RESET), hosts,
	    hosts == 1 ? "" : "s", pushes, pushes == 1 ? "" : "s", reloads,
	    reloads == 1 ? "" : "s", checks, checks == 1 ? "" : "s");
	print_client_summary(f, plan, views);
	if (cli_command_is_available("run")) {
		fprintf(f, "Nothing has been changed. `rekey run ");
		put_text(f, plan->model->playbook);
		fprintf(f, "` carries this plan out.\n");
		return;
	}
	/* Until the engine lands, the plan is still the procedure: say how to follow it. */
	fprintf(f, "Nothing has been changed. `rekey run` is not available in rekey %s yet; "
	    "carry this plan out by hand, in order: `rekey pki issue` and `rekey pki revoke` "
	    "for phases 2 and 3, install each file with the owner and mode shown, reload, "
	    "then `rekey verify ", REKEY_VERSION);
	put_text(f, plan->model->playbook);
	fprintf(f, "` for the checks of phase 7.\n");
}

static const char *
why_phase_is_empty(const struct rk_model *m, enum rk_phase phase)
{
	switch (phase) {
	case RK_PHASE_ISSUE:		return "no certificate to issue";
	case RK_PHASE_REVOKE:		return "no revocation, and no service loads a CRL";
	case RK_PHASE_DISTRIBUTE_TRUST:	return "no CA or CRL file to install";
	case RK_PHASE_RELOAD:		return m->nservices > 0 ? "reload: none" : "no service";
	case RK_PHASE_SWAP:
	case RK_PHASE_VERIFY:		return "no service";
	case RK_PHASE_UPDATE_CLIENTS:	return "no client";
	case RK_PHASE_VERIFY_CLIENTS:	return "no client has a verify command";
	case RK_PHASE_RETIRE_TRUST:	return !m->ca.rotate ? "the CA is kept, so its trust stays" :
					    !rk_model_trust_changes(m) ? "the root stays, so what "
					    "clients trust does not change" :
					    "trust_overlap is off: the new CA was installed alone";
	case RK_PHASE_PREFLIGHT:
	case RK_PHASE_RECORD:		break;
	}
	return "nothing to do";
}

static void
print_phase_header(FILE *f, const struct paint *p, const struct rk_plan *plan,
    enum rk_phase phase, unsigned wave)
{
	fprintf(f, "\n%s%2d. %s%s", pc(p, C_BOLD), (int)phase + 1, rk_phase_name(phase),
	    pc(p, C_RESET));
	if (wave > 0 && plan->nwaves > 1)
		fprintf(f, " %s(wave %u of %u%s)%s", pc(p, C_DIM), wave, plan->nwaves,
		    wave == 1 ? ": canary, verified alone before the rest" : "", pc(p, C_RESET));
	fputc('\n', f);
}

/* Services of a wave (0: every wave) that rekey does not reload, each said with why. */
static void
print_not_reloaded(FILE *f, const struct paint *p, const struct rk_plan *plan, unsigned wave)
{
	const struct rk_model *m = plan->model;
	size_t i, first = 0, end = m->nservices;

	if (plan->nwaves > 1 && wave == 1)
		end = plan->canary_services;
	else if (plan->nwaves > 1 && wave == 2)
		first = plan->canary_services;
	for (i = first; i < end; i++)
		if (m->services[i].reload.kind == RK_RELOAD_NONE)
			fprintf(f, "      %s  -  %s is not reloaded (reload: none): it keeps "
			    "serving its old files until it is restarted%s\n", pc(p, C_DIM),
			    m->services[i].name, pc(p, C_RESET));
}

/* Phases with no step are printed too, saying why, so a reader sees the whole procedure. */
static void
print_empty_phases(FILE *f, const struct paint *p, const struct rk_plan *plan, int from,
    int to, unsigned wave)
{
	int q;

	for (q = from; q < to; q++) {
		bool in_wave = q >= RK_PHASE_SWAP && q <= RK_PHASE_VERIFY;

		print_phase_header(f, p, plan, (enum rk_phase)q, in_wave ? wave : 0);
		fprintf(f, "      %snothing to do: %s%s\n", pc(p, C_DIM),
		    why_phase_is_empty(plan->model, (enum rk_phase)q), pc(p, C_RESET));
		if (q == RK_PHASE_RELOAD)
			print_not_reloaded(f, p, plan, in_wave ? wave : 0);
	}
}

void
render_plan_text(FILE *f, const struct rk_plan *plan, const struct cli_client_views *views,
    const struct cli_revocations *revs, bool color)
{
	struct paint p = { color };
	size_t i, end;
	unsigned last_wave = 0;
	int last = -1;

	print_intro(f, &p, plan);
	/* Groups are runs of steps with one phase and wave, in plan order: with canary
	 * waves, swap-reload-verify repeats, and the text must show that order. */
	for (i = 0; i < plan->nsteps; i = end) {
		enum rk_phase phase = plan->steps[i].phase;
		unsigned wave = plan->steps[i].wave;

		for (end = i; end < plan->nsteps && plan->steps[end].phase == phase &&
		    plan->steps[end].wave == wave; end++)
			;
		/* Inside a wave, swap, reload and verify start over. */
		if (wave != last_wave && phase <= RK_PHASE_VERIFY && phase >= RK_PHASE_SWAP &&
		    last >= RK_PHASE_SWAP)
			last = RK_PHASE_SWAP - 1;
		if ((int)phase > last + 1)
			print_empty_phases(f, &p, plan, last + 1, (int)phase, wave);
		if ((int)phase > last)
			last = (int)phase;
		last_wave = wave;
		print_phase_header(f, &p, plan, phase, wave);
		print_group(f, &p, plan, views, revs, i, end);
		if (phase == RK_PHASE_RELOAD)
			print_not_reloaded(f, &p, plan, wave);
	}
	print_empty_phases(f, &p, plan, last + 1, RK_PHASES, 0);
	print_summary(f, &p, plan, views);
}
