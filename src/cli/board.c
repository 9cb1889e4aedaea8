/*
 * What the operator sees of a run: an observer of the executor's events, nothing else. On a
 * terminal, one line per finished step under a header per phase, and a status line kept at
 * the bottom (phase, hosts busy, counts, elapsed time) that is redrawn in place; elsewhere
 * one timestamped line per event; with --json one JSON object per line for other tools. It
 * also keeps each failed step's message for the summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "board.h"
#include "rekey/strutil.h"

static int
terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

int
board_init(struct board *b, const struct rk_plan *plan, enum board_style style, bool color)
{
	memset(b, 0, sizeof(*b));
	b->plan = plan;
	b->style = style;
	b->color = color;
	clock_gettime(CLOCK_MONOTONIC, &b->started);
	b->width = terminal_width();
	snprintf(b->phase, sizeof(b->phase), "starting");
	if ((b->errors = calloc(plan->nsteps + 1, sizeof(*b->errors))) == NULL ||
	    (b->undo_errors = calloc(plan->nsteps + 1, sizeof(*b->undo_errors))) == NULL ||
	    (b->current = calloc(plan->model->nhosts + 1, sizeof(*b->current))) == NULL) {
		board_clear(b);
		return -1;
	}
	return 0;
}

void
board_clear(struct board *b)
{
	size_t i;

	for (i = 0; b->errors != NULL && i < b->plan->nsteps; i++)
		free(b->errors[i]);
	for (i = 0; b->undo_errors != NULL && i < b->plan->nsteps; i++)
		free(b->undo_errors[i]);
	free(b->errors);
	free(b->undo_errors);
	free(b->current);
	b->errors = NULL;
	b->undo_errors = NULL;
	b->current = NULL;
}

double
board_elapsed(const struct board *b)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - b->started.tv_sec) +
	    (double)(now.tv_nsec - b->started.tv_nsec) / 1e9;
}

static void
format_at(char *buf, size_t size, const struct timespec *at)
{
	struct tm tm;
	char base[32];

	if (gmtime_r(&at->tv_sec, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "%.19s.%03dZ", base, (int)(at->tv_nsec / 1000000) % 1000);
}

static const char *
event_word(const struct board *b, enum rk_event_kind k)
{
	if (b->rehearsal && k == RK_EVENT_STEP_DONE)
		return "go";
	if (b->rehearsal && k == RK_EVENT_STEP_FAILED)
		return "NO-GO";
	switch (k) {
	case RK_EVENT_STEP_BEGIN:	return "start";
	case RK_EVENT_STEP_DONE:	return "done";
	case RK_EVENT_STEP_DONE_BEFORE:	return "done before";
	case RK_EVENT_STEP_FAILED:	return "FAILED";
	case RK_EVENT_STEP_SKIPPED:	return "skipped";
	case RK_EVENT_STEP_UNDONE:	return "undone";
	case RK_EVENT_UNDO_FAILED:	return "UNDO FAILED";
	default:			return rk_event_kind_name(k);
	}
}

static const char *
event_color(const struct board *b, enum rk_event_kind k)
{
	if (!b->color)
		return "";
	switch (k) {
	case RK_EVENT_STEP_DONE:
	case RK_EVENT_STEP_DONE_BEFORE:	return "\033[32m";
	case RK_EVENT_STEP_FAILED:
	case RK_EVENT_UNDO_FAILED:	return "\033[31m";
	case RK_EVENT_STEP_SKIPPED:
	case RK_EVENT_STEP_UNDONE:	return "\033[33m";
	default:			return "";
	}
}

static void
json_event(const struct board *b, const struct rk_event *ev)
{
	char at[40], what[1024];
	json_t *o;

	format_at(at, sizeof(at), &ev->at);
	o = json_pack("{s:s, s:s}", "event", rk_event_kind_name(ev->kind), "at", at);
	if (o == NULL)
		return;
	if (ev->step != NULL) {
		rk_step_describe(what, sizeof(what), b->plan, ev->step);
		json_object_set_new(o, "step", json_integer(ev->step->id));
		json_object_set_new(o, "action", json_string(rk_action_name(ev->step->action)));
		json_object_set_new(o, "what", json_string(what));
	}
	if (ev->kind != RK_EVENT_RUN_BEGIN && ev->kind != RK_EVENT_RUN_END) {
		json_object_set_new(o, "phase", json_string(rk_phase_name(ev->phase)));
		json_object_set_new(o, "wave", json_integer(ev->wave));
	}
	if (ev->step != NULL)
		json_object_set_new(o, "host", ev->host != NULL ? json_string(ev->host) :
		    json_null());
	if (b->rehearsal)
		json_object_set_new(o, "rehearsal", json_true());
	json_object_set_new(o, "detail", ev->detail != NULL ? json_string(ev->detail) :
	    json_null());
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	fflush(stdout);
	json_decref(o);
}

/*
 * The status line of the terminal board, drawn over itself: the phase, the counts, the time,
 * then what each busy host is doing, cut at the terminal's width.
 */
static void
draw_status(const struct board *b)
{
	const struct rk_model *m = b->plan->model;
	char line[512];
	size_t i, used;

	snprintf(line, sizeof(line), "[%.1f s] %s: %zu/%zu %s, %zu %s", board_elapsed(b),
	    b->phase, b->done, b->plan->nsteps, b->rehearsal ? "go" : "done", b->failed,
	    b->rehearsal ? "no-go" : "failed");
	for (i = 0; i < m->nhosts; i++) {
		if (b->current[i] == NULL)
			continue;
		used = strlen(line);
		snprintf(line + used, sizeof(line) - used, "%s %s %s", used > 0 &&
		    strchr(line, '|') == NULL ? " |" : ",", m->hosts[i].name,
		    rk_action_name(b->current[i]->action));
	}
	if (b->width > 0 && strlen(line) >= (size_t)b->width)
		line[b->width - 1] = '\0';
	printf("\r\033[K%s", line);
	fflush(stdout);
}

static void
print_line(struct board *b, const struct rk_event *ev)
{
	char what[1024], at[40], *esc_what, *esc_detail = NULL;
	const char *color = event_color(b, ev->kind), *reset = b->color ? "\033[0m" : "";

	rk_step_describe(what, sizeof(what), b->plan, ev->step);
	esc_what = rk_text_escape(what);
	if (ev->detail != NULL)
		esc_detail = rk_text_escape(ev->detail);
	if (b->style == BOARD_TERMINAL) {
		printf("\r\033[K");
		printf("  %s%-11s%s %-10s %s%s%s\n", color, event_word(b, ev->kind), reset,
		    ev->host != NULL ? ev->host : "-", esc_what != NULL ? esc_what : "?",
		    esc_detail != NULL ? "\n              " : "",
		    esc_detail != NULL ? esc_detail : "");
	} else {
		format_at(at, sizeof(at), &ev->at);
		printf("%s %-11s step %u %s %s: %s%s%s\n", at, event_word(b, ev->kind),
		    ev->step->id, rk_phase_name(ev->phase), ev->host != NULL ? ev->host : "-",
		    esc_what != NULL ? esc_what : "?", esc_detail != NULL ? ": " : "",
		    esc_detail != NULL ? esc_detail : "");
	}
	free(esc_what);
	free(esc_detail);
}

/* Keeps an event's detail as step's entry of list (an undo's failure has its own list). */
static void
keep_error(struct board *b, char **list, const struct rk_event *ev)
{
	size_t i = ev->step->id - 1;

	if (i >= b->plan->nsteps)
		return;
	free(list[i]);
	/* An undo that failed must show as failed even when the executor gave no reason. */
	list[i] = strdup(ev->detail != NULL ? ev->detail : "no reason given");
}

static void
count(struct board *b, const struct rk_event *ev)
{
	if (ev->step != NULL && ev->step->host != NULL)
		b->current[ev->step->host - b->plan->model->hosts] =
		    ev->kind == RK_EVENT_STEP_BEGIN ? ev->step : NULL;
	switch (ev->kind) {
	case RK_EVENT_STEP_BEGIN:
		b->running++;
		break;
	case RK_EVENT_STEP_DONE:
	case RK_EVENT_STEP_DONE_BEFORE:
		if (ev->kind == RK_EVENT_STEP_DONE && b->running > 0)
			b->running--;
		b->done++;
		break;
	case RK_EVENT_STEP_FAILED:
		if (b->running > 0)
			b->running--;
		b->failed++;
		keep_error(b, b->errors, ev);
		break;
	case RK_EVENT_UNDO_FAILED:
		keep_error(b, b->undo_errors, ev);
		break;
	default:
		break;
	}
}

void
board_observe(const struct rk_event *ev, void *payload)
{
	struct board *b = payload;

	count(b, ev);
	if (ev->kind == RK_EVENT_GROUP_BEGIN) {
		if (ev->wave > 0)
			snprintf(b->phase, sizeof(b->phase), "%s, wave %u", rk_phase_name(ev->phase),
			    ev->wave);
		else
			snprintf(b->phase, sizeof(b->phase), "%s", rk_phase_name(ev->phase));
	}
	if (b->style == BOARD_JSON) {
		json_event(b, ev);
		return;
	}
	switch (ev->kind) {
	case RK_EVENT_GROUP_BEGIN:
		if (b->style == BOARD_TERMINAL)
			printf("\r\033[K%s%s%s\n", b->color ? "\033[1m" : "", b->phase,
			    b->color ? "\033[0m" : "");
		break;
	case RK_EVENT_STEP_BEGIN:
		/* A line per start would double the output; the status line shows them. */
		break;
	case RK_EVENT_RUN_BEGIN:
	case RK_EVENT_RUN_END:
		if (b->style == BOARD_TERMINAL)
			printf("\r\033[K");
		break;
	default:
		print_line(b, ev);
		break;
	}
	if (b->style == BOARD_TERMINAL && ev->kind != RK_EVENT_RUN_END)
		draw_status(b);
	fflush(stdout);
}

const char *
board_error_of(const struct board *b, const struct rk_step *s)
{
	return s->id >= 1 && s->id <= b->plan->nsteps ? b->errors[s->id - 1] : NULL;
}

const char *
board_undo_error_of(const struct board *b, const struct rk_step *s)
{
	return s->id >= 1 && s->id <= b->plan->nsteps ? b->undo_errors[s->id - 1] : NULL;
}
