/* Human output: diagnostics in compiler form and the plan grouped by phase, wave and host. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rekey/local.h"
#include "rekey/ssh.h"

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

void
render_diags(FILE *f, const struct rk_diags *d, bool color)
{
	struct paint p = { color };
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct rk_diag *g = &d->items[i];
		bool err = g->severity == RK_SEV_ERROR;

		if (g->pos.line == 0)
			fprintf(f, "%s%s:%s ", pc(&p, C_BOLD), d->file, pc(&p, C_RESET));
		else
			fprintf(f, "%s%s:%u:%u:%s ", pc(&p, C_BOLD), d->file, g->pos.line,
			    g->pos.col, pc(&p, C_RESET));
		fprintf(f, "%s%s:%s %s\n", pc(&p, err ? C_RED : C_YELLOW),
		    err ? "error" : "warning", pc(&p, C_RESET), g->msg);
	}
	if (d->n < d->nerrors)
		fprintf(f, "%s: and %zu more errors not shown\n", d->file, d->nerrors - d->n);
	if (d->out_of_memory)
		fprintf(f, "%s: out of memory: some problems may not be listed\n", d->file);
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
	fprintf(f, "    %s%s%s %s(ssh %s%s%s:%d%s%s%s; swap by %s)%s\n", pc(p, C_CYAN), h->name,
	    pc(p, C_RESET), pc(p, C_DIM), h->user != NULL ? h->user : "",
	    h->user != NULL ? "@" : "", h->address, h->port, h->sudo ? ", sudo" : "",
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
		fprintf(f, "           %scannot read or edit it:%s %s\n", pc(p, C_RED),
		    pc(p, C_RESET), v->error);
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

static void
print_group(FILE *f, const struct paint *p, const struct rk_plan *plan,
    const struct cli_client_views *views, size_t from, size_t to)
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
			fprintf(f, "      %s%3u%s  %s\n", pc(p, C_DIM), plan->steps[k].id,
			    pc(p, C_RESET), line);
			if (plan->steps[k].action == RK_ACT_EDIT_CLIENT_CONFIG &&
			    (v = cli_client_view_of(views, plan->model, plan->steps[k].client)) !=
			    NULL)
				print_client_view(f, p, v);
		}
	}
}

static void
print_intro(FILE *f, const struct paint *p, const struct rk_plan *plan)
{
	const struct rk_model *m = plan->model;

	fprintf(f, "%srekey plan%s for %s%s%s (%s)\n", pc(p, C_BOLD), pc(p, C_RESET),
	    pc(p, C_BOLD), m->incident.id, pc(p, C_RESET), rk_reason_name(m->incident.reason));
	fprintf(f, "  playbook  %s\n", m->playbook);
	if (m->incident.summary != NULL)
		fprintf(f, "  summary   %s\n", m->incident.summary);
	fprintf(f, "  ca        %s (%s)\n", m->ca.cert, m->ca.rotate ?
	    "replaced by a new root CA" : "kept");
	fprintf(f, "  estate    %zu host%s, %zu service%s, %zu client%s, %zu certificate%s to "
	    "issue, %zu revocation%s\n", m->nhosts, m->nhosts == 1 ? "" : "s", m->nservices,
	    m->nservices == 1 ? "" : "s", m->nclients, m->nclients == 1 ? "" : "s",
	    m->ncertificates, m->ncertificates == 1 ? "" : "s", m->nrevocations,
	    m->nrevocations == 1 ? "" : "s");
	fprintf(f, "  policy    on failure %s; up to %d hosts at once; canary %d; trust overlap %s\n",
	    rk_on_failure_name(m->policy.on_failure), m->policy.max_parallel, m->policy.canary,
	    m->policy.trust_overlap ? "on" : "off");
	fprintf(f, "  record    %s/%s\n", m->incident.records, m->incident.id);
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
	fprintf(f, "Nothing has been changed. `rekey run %s` carries this plan out.\n",
	    plan->model->playbook);
}

static const char *
why_phase_is_empty(const struct rk_model *m, enum rk_phase phase)
{
	switch (phase) {
	case RK_PHASE_ISSUE:		return "no certificate to issue";
	case RK_PHASE_REVOKE:		return "no revocation, and no service loads a CRL";
	case RK_PHASE_DISTRIBUTE_TRUST:	return "no CA or CRL file to install";
	case RK_PHASE_SWAP:
	case RK_PHASE_RELOAD:
	case RK_PHASE_VERIFY:		return "no service";
	case RK_PHASE_UPDATE_CLIENTS:	return "no client";
	case RK_PHASE_VERIFY_CLIENTS:	return "no client has a verify command";
	case RK_PHASE_RETIRE_TRUST:	return !m->ca.rotate ? "the CA is kept, so its trust stays" :
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

/* Phases with no step are printed too, saying why, so a reader sees the whole procedure. */
static void
print_empty_phases(FILE *f, const struct paint *p, const struct rk_plan *plan, int from,
    int to)
{
	int q;

	for (q = from; q < to; q++) {
		print_phase_header(f, p, plan, (enum rk_phase)q, 0);
		fprintf(f, "      %snothing to do: %s%s\n", pc(p, C_DIM),
		    why_phase_is_empty(plan->model, (enum rk_phase)q), pc(p, C_RESET));
	}
}

void
render_plan_text(FILE *f, const struct rk_plan *plan, const struct cli_client_views *views,
    bool color)
{
	struct paint p = { color };
	size_t i, end;
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
		if ((int)phase > last + 1)
			print_empty_phases(f, &p, plan, last + 1, (int)phase);
		if ((int)phase > last)
			last = (int)phase;
		print_phase_header(f, &p, plan, phase, wave);
		print_group(f, &p, plan, views, i, end);
	}
	print_empty_phases(f, &p, plan, last + 1, RK_PHASES);
	print_summary(f, &p, plan, views);
}
