/*
 * The estate's dates, read from where they matter: what each server presents (a reload that
 * never happened shows only there), what each host holds (what the next restart serves), and
 * the playbook's own CA and CRL (what the next run signs with). One worker per host, so a
 * host's services and clients share one connection and a slow host holds back no other.
 */
#include "rekey/expiry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rekey/bytes.h"
#include "rekey/chain.h"
#include "rekey/crl.h"
#include "rekey/fsutil.h"
#include "rekey/key.h"
#include "rekey/probe.h"
#include "rekey/strutil.h"
#include "rekey/verdict.h"
#include "rekey/workers.h"

#define DAY	86400L

static const char *const problem_names[RK_EXPIRY_PROBLEMS] = {
	"expiring", "expired", "reload-pending", "chain-incomplete", "untrusted", "crl-due",
	"crl-expired", "ca-due", "unreachable", "unreadable",
};

const char *
rk_expiry_problem_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < RK_EXPIRY_PROBLEMS; i++)
		if (bit == 1u << i)
			return problem_names[i];
	return "?";
}

const char *
rk_expiry_source_name(enum rk_expiry_source s)
{
	switch (s) {
	case RK_EXPIRY_SERVED:		return "served";
	case RK_EXPIRY_DEPLOYED:	return "deployed";
	case RK_EXPIRY_PLAYBOOK:	return "playbook";
	}
	return "?";
}

const char *
rk_expiry_what_name(enum rk_expiry_what w)
{
	switch (w) {
	case RK_EXPIRY_CERT:	return "certificate";
	case RK_EXPIRY_CA:	return "ca";
	case RK_EXPIRY_CRL:	return "crl";
	}
	return "?";
}

bool
rk_expiry_parse_duration(const char *text, long *seconds)
{
	char *end;
	long n, unit = DAY;

	errno = 0;
	if (text == NULL || text[0] < '0' || text[0] > '9')
		return false;
	n = strtol(text, &end, 10);
	if (errno != 0)
		return false;
	if (strcmp(end, "d") == 0 || *end == '\0')
		unit = DAY;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	else if (strcmp(end, "w") == 0)
		unit = 7 * DAY;
	else
		return false;
	if (n > 100 * 366 * DAY / unit)
		return false;
	*seconds = n * unit;
	return true;
}

/* ---- one item's facts --------------------------------------------------------------------- */

static void
set_dates(struct rk_expiry_item *it, time_t until, time_t now)
{
	it->known = true;
	it->until = until;
	it->days_left = rk_days_left_until(until, now);
}

static void
fail_item(struct rk_expiry_item *it, unsigned problem, const char *why)
{
	it->problems |= problem;
	snprintf(it->detail, sizeof(it->detail), "%s", why);
}

/* A leaf's or a CA's end against the window; a CA's ending matters sooner than a leaf's,
 * but the window is the operator's to choose, so the same one judges both. */
static void
judge_end(struct rk_expiry_item *it, const struct rk_expiry_request *req)
{
	if (it->until <= req->now)
		it->problems |= RK_EXPIRY_EXPIRED;
	else if (it->until - req->now < req->window)
		it->problems |= it->what == RK_EXPIRY_CA ? RK_EXPIRY_CA_DUE : RK_EXPIRY_EXPIRING;
}

static void
cert_facts(struct rk_expiry_item *it, const struct rk_cert *cert, time_t now)
{
	(void)rk_cert_subject(it->subject, sizeof(it->subject), cert);
	(void)rk_cert_issuer(it->issuer, sizeof(it->issuer), cert);
	rk_cert_fingerprint(it->fingerprint, cert);
	set_dates(it, rk_cert_not_after(cert), now);
}

/*
 * Whether a leaf file would be accepted by the clients: verified up to what they trust, with
 * only the certificates the file carries after the leaf (what the server will send). The
 * time is not judged here: an ended leaf is already "expired".
 */
static void
judge_chain(struct rk_expiry_item *it, struct rk_cert *const *certs, size_t n,
    const struct rk_expiry_request *req)
{
	struct rk_chain_verdict v;
	struct rk_err err = { 0 };

	if (req->trust_file == NULL || access(req->trust_file, R_OK) != 0)
		return;
	if (rk_chain_verify_leaf(&v, certs[0], certs + 1, n - 1, req->trust_file, NULL,
	    &err) != 0 || v.ok)
		return;
	if (v.depth == 0 && it->until <= req->now)
		return;
	if (n == 1 && rk_model_leaves_have_intermediates(req->model)) {
		fail_item(it, RK_EXPIRY_CHAIN_INCOMPLETE, "the file holds the leaf alone, without "
		    "the intermediate CA that signed it: clients that trust only the root refuse it");
		return;
	}
	it->problems |= RK_EXPIRY_UNTRUSTED;
	snprintf(it->detail, sizeof(it->detail), "does not verify up to what clients trust: %s "
	    "(at depth %d)", v.reason, v.depth);
}

static void
read_certs(struct rk_expiry_item *it, struct rk_bytes data, const char *label,
    const struct rk_expiry_request *req)
{
	struct rk_cert **certs = NULL;
	struct rk_err err = { 0 };
	size_t n = 0, i, soonest = 0;

	if (rk_cert_load_bundle(&certs, &n, data, label, &err) != 0) {
		fail_item(it, RK_EXPIRY_UNREADABLE, err.msg);
		return;
	}
	/* A CA file during an overlap holds two CAs: the first to end is the one to watch. */
	if (it->what == RK_EXPIRY_CA)
		for (i = 1; i < n; i++)
			if (rk_cert_not_after(certs[i]) < rk_cert_not_after(certs[soonest]))
				soonest = i;
	cert_facts(it, certs[soonest], req->now);
	judge_end(it, req);
	if (it->what == RK_EXPIRY_CERT)
		judge_chain(it, certs, n, req);
	rk_cert_bundle_free(certs, n);
}

static void
read_crls(struct rk_expiry_item *it, struct rk_bytes data, const char *label,
    const struct rk_expiry_request *req)
{
	struct rk_crl **crls = NULL;
	struct rk_err err = { 0 };
	size_t n = 0, i, soonest = 0;
	time_t next;

	if (rk_crl_load_bundle(&crls, &n, data, label, &err) != 0) {
		fail_item(it, RK_EXPIRY_UNREADABLE, err.msg);
		return;
	}
	/* A CRL without nextUpdate never goes stale: OpenSSL accepts it for ever. */
	for (i = 1; i < n; i++)
		if (rk_crl_next_update(crls[i]) != 0 && (rk_crl_next_update(crls[soonest]) == 0 ||
		    rk_crl_next_update(crls[i]) < rk_crl_next_update(crls[soonest])))
			soonest = i;
	(void)rk_crl_issuer(it->subject, sizeof(it->subject), crls[soonest]);
	snprintf(it->issuer, sizeof(it->issuer), "%s", it->subject);
	next = rk_crl_next_update(crls[soonest]);
	if (next != 0) {
		set_dates(it, next, req->now);
		if (next <= req->now)
			it->problems |= RK_EXPIRY_CRL_EXPIRED;
		else if (next - req->now < req->crl_window)
			it->problems |= RK_EXPIRY_CRL_DUE;
	} else {
		it->known = true;
		it->days_left = -1;
	}
	rk_crl_bundle_free(crls, n);
}

static void
read_contents(struct rk_expiry_item *it, struct rk_bytes data, const char *label,
    const struct rk_expiry_request *req)
{
	if (it->what == RK_EXPIRY_CRL)
		read_crls(it, data, label, req);
	else
		read_certs(it, data, label, req);
}

/* ---- the layout of the report ------------------------------------------------------------- */

/* Item slots are laid out before any worker starts, so each writes only its own. */
struct layout {
	size_t	*service_first;		/* per service: its served item, then its files */
	size_t	*client_first;
};

static const enum rk_file_role file_roles[] = { RK_FILE_CERT, RK_FILE_CA, RK_FILE_CRL };

static enum rk_expiry_what
what_of(enum rk_file_role role)
{
	return role == RK_FILE_CA ? RK_EXPIRY_CA : role == RK_FILE_CRL ? RK_EXPIRY_CRL :
	    RK_EXPIRY_CERT;
}

static struct rk_expiry_item *
add_item(struct rk_expiry_report *r, enum rk_expiry_what what, enum rk_expiry_source source)
{
	struct rk_expiry_item *it = &r->items[r->n++];

	memset(it, 0, sizeof(*it));
	it->what = what;
	it->source = source;
	it->days_left = 0;
	return it;
}

static size_t
count_items(const struct rk_model *m)
{
	size_t n = 4, i, k;	/* ca.cert, ca.chain, ca.crl, ca.parent.crl */

	for (i = 0; i < m->nservices; i++) {
		n++;
		for (k = 0; k < sizeof(file_roles) / sizeof(file_roles[0]); k++)
			n += m->services[i].files[file_roles[k]].present;
	}
	for (i = 0; i < m->nclients; i++)
		for (k = 0; k < sizeof(file_roles) / sizeof(file_roles[0]); k++)
			n += m->clients[i].files[file_roles[k]].present;
	return n;
}

static void
lay_out_files(struct rk_expiry_report *r, const struct rk_file_target *files,
    const struct rk_service *svc, const struct rk_client *c, const struct rk_host *host)
{
	struct rk_expiry_item *it;
	size_t k;

	for (k = 0; k < sizeof(file_roles) / sizeof(file_roles[0]); k++) {
		const struct rk_file_target *f = &files[file_roles[k]];

		if (!f->present)
			continue;
		it = add_item(r, what_of(f->role), RK_EXPIRY_DEPLOYED);
		it->service = svc;
		it->client = c;
		it->host = host;
		it->path = f->path;
		if (f->role == RK_FILE_CERT)
			it->certificate = c != NULL ? f->certificate : svc->certificate;
	}
}

static void
lay_out(struct rk_expiry_report *r, struct layout *l, const struct rk_model *m)
{
	struct rk_expiry_item *it;
	size_t i;

	for (i = 0; i < m->nservices; i++) {
		const struct rk_service *s = &m->services[i];

		l->service_first[i] = r->n;
		it = add_item(r, RK_EXPIRY_CERT, RK_EXPIRY_SERVED);
		it->service = s;
		it->host = s->host;
		it->certificate = s->certificate;
		lay_out_files(r, s->files, s, NULL, s->host);
	}
	for (i = 0; i < m->nclients; i++) {
		l->client_first[i] = r->n;
		lay_out_files(r, m->clients[i].files, NULL, &m->clients[i], m->clients[i].host);
	}
}

/* ---- the workers -------------------------------------------------------------------------- */

struct job {
	const struct rk_expiry_request	*req;
	struct rk_expiry_report		*report;
	const struct layout		*layout;
};

static void
probe_service(struct rk_expiry_item *it, const struct rk_expiry_request *req)
{
	struct rk_probe_request preq;
	struct rk_probe_result *p;
	struct rk_err err = { 0 };

	/* The result holds the leaf's DER: too big for a worker's stack to hold lightly. */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		fail_item(it, RK_EXPIRY_UNREACHABLE, "out of memory");
		return;
	}
	rk_verdict_probe_request(&preq, it->service, req->trust_file, NULL);
	if (rk_probe(p, &preq, &err) != 0) {
		fail_item(it, RK_EXPIRY_UNREACHABLE, err.msg);
		goto out;
	}
	snprintf(it->subject, sizeof(it->subject), "%s", p->subject);
	snprintf(it->issuer, sizeof(it->issuer), "%s", p->issuer);
	snprintf(it->fingerprint, sizeof(it->fingerprint), "%s", p->fingerprint);
	set_dates(it, p->not_after, req->now);
	judge_end(it, req);
	if (req->trust_file != NULL && !p->chain_ok && it->until > req->now) {
		it->problems |= RK_EXPIRY_UNTRUSTED;
		snprintf(it->detail, sizeof(it->detail), "clients refuse what it serves: %s",
		    p->chain_error);
	}
 out:
	free(p);
}

static void
read_deployed(struct rk_expiry_item *it, struct rk_transport *t, const char *down,
    const struct rk_expiry_request *req)
{
	struct rk_err err = { 0 };
	struct rk_buf buf;

	if (t == NULL) {
		fail_item(it, RK_EXPIRY_UNREACHABLE, down);
		return;
	}
	rk_buf_init(&buf, RK_PEM_MAX);
	if (t->ops->read_file(&buf, t, it->path, RK_PEM_MAX, &err) != 0)
		fail_item(it, RK_EXPIRY_UNREADABLE, err.msg);
	else
		read_contents(it, rk_buf_bytes(&buf), it->path, req);
	rk_buf_clear(&buf);
}

/* A server that presents another certificate than its file holds was never reloaded (or its
 * reload failed): the next restart changes what clients see, unannounced. */
static void
compare_served(struct rk_expiry_item *served, const struct rk_expiry_item *file)
{
	if (!served->known || !file->known || file->what != RK_EXPIRY_CERT ||
	    strcmp(served->fingerprint, file->fingerprint) == 0)
		return;
	served->problems |= RK_EXPIRY_RELOAD_PENDING;
	snprintf(served->pending, sizeof(served->pending), "serves %.23s... but %s holds "
	    "%.23s... (notAfter in %ld days): the server was not reloaded since it was "
	    "replaced", served->fingerprint, file->path, file->fingerprint, file->days_left);
}

static bool
host_has_files(const struct rk_model *m, const struct rk_host *h)
{
	size_t i, k;

	for (i = 0; i < m->nservices; i++)
		for (k = 0; k < 3 && m->services[i].host == h; k++)
			if (m->services[i].files[file_roles[k]].present)
				return true;
	for (i = 0; i < m->nclients; i++)
		for (k = 0; k < 3 && m->clients[i].host == h; k++)
			if (m->clients[i].files[file_roles[k]].present)
				return true;
	return false;
}

/* Job i < nhosts: host i's services and clients; job nhosts: services with no host. */
static void
worker(void *arg, size_t job_index)
{
	struct job *job = arg;
	const struct rk_model *m = job->req->model;
	const struct rk_host *h = job_index < m->nhosts ? &m->hosts[job_index] : NULL;
	struct rk_expiry_item *items = job->report->items;
	struct rk_transport *t = NULL;
	struct rk_err err = { 0 };
	char down[600] = "";
	size_t i, k, first, end;

	if (h != NULL && host_has_files(m, h) && job->req->open(&t, h, job->req->payload,
	    &err) != 0) {
		snprintf(down, sizeof(down), "host %s: %s", h->name, err.msg);
		t = NULL;
	}
	for (i = 0; i < m->nservices; i++) {
		if (m->services[i].host != h)
			continue;
		first = job->layout->service_first[i];
		end = i + 1 < m->nservices ? job->layout->service_first[i + 1] :
		    m->nclients > 0 ? job->layout->client_first[0] : job->report->n;
		probe_service(&items[first], job->req);
		for (k = first + 1; k < end; k++) {
			read_deployed(&items[k], t, down, job->req);
			compare_served(&items[first], &items[k]);
		}
	}
	for (i = 0; i < m->nclients && h != NULL; i++) {
		if (m->clients[i].host != h)
			continue;
		first = job->layout->client_first[i];
		end = i + 1 < m->nclients ? job->layout->client_first[i + 1] : job->report->n;
		for (k = first; k < end; k++)
			read_deployed(&items[k], t, down, job->req);
	}
	rk_transport_free(t);
}

/* ---- the playbook's own files ------------------------------------------------------------- */

static void
read_local(struct rk_expiry_report *r, enum rk_expiry_what what, const char *path,
    const struct rk_expiry_request *req)
{
	struct rk_expiry_item *it;
	struct rk_err err = { 0 };
	struct rk_buf buf;

	/* No CRL yet is not a problem: the first run that revokes signs one. */
	if (path == NULL || (what == RK_EXPIRY_CRL && access(path, F_OK) != 0))
		return;
	it = add_item(r, what, RK_EXPIRY_PLAYBOOK);
	it->path = path;
	rk_buf_init(&buf, RK_PEM_MAX);
	if (rk_file_read(&buf, path, RK_PEM_MAX, &err) != 0)
		fail_item(it, RK_EXPIRY_UNREADABLE, err.msg);
	else
		read_contents(it, rk_buf_bytes(&buf), path, req);
	rk_buf_clear(&buf);
}

/* ---- the report --------------------------------------------------------------------------- */

int
rk_expiry_check(struct rk_expiry_report *out, const struct rk_expiry_request *req,
    struct rk_err *err)
{
	const struct rk_model *m = req->model;
	struct layout layout = { NULL, NULL };
	struct job job = { req, out, &layout };
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->checked_at = req->now;
	out->window = req->window;
	out->crl_window = req->crl_window;
	if ((out->items = calloc(count_items(m), sizeof(*out->items))) == NULL ||
	    (layout.service_first = calloc(m->nservices + 1, sizeof(size_t))) == NULL ||
	    (layout.client_first = calloc(m->nclients + 1, sizeof(size_t))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	lay_out(out, &layout, m);
	(void)rk_workers_run(m->nhosts + 1, req->max_parallel, worker, &job);
	read_local(out, RK_EXPIRY_CA, m->ca.cert, req);
	/* Above an intermediate: the root (and any link) ends too, and takes every leaf along. */
	read_local(out, RK_EXPIRY_CA, m->ca.chain, req);
	read_local(out, RK_EXPIRY_CRL, m->ca.crl, req);
	read_local(out, RK_EXPIRY_CRL, m->ca.parent.crl, req);
	out->complete = true;
	for (i = 0; i < out->n; i++) {
		out->nproblems += out->items[i].problems != 0;
		if (out->items[i].problems & (RK_EXPIRY_UNREACHABLE | RK_EXPIRY_UNREADABLE))
			out->complete = false;
	}
 out:
	free(layout.service_first);
	free(layout.client_first);
	if (r != 0)
		rk_expiry_report_clear(out);
	return r;
}

void
rk_expiry_report_clear(struct rk_expiry_report *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

static void
format_day(char out[16], time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(out, 16, "?");
}

static const char *
plural(long n)
{
	return n == 1 ? "" : "s";
}

void
rk_expiry_describe(char *buf, size_t size, const struct rk_expiry_report *r,
    const struct rk_expiry_item *it, unsigned bit)
{
	char day[16];
	long wdays = r->window / DAY, cdays = r->crl_window / DAY, ago;

	format_day(day, it->until);
	switch (bit) {
	case RK_EXPIRY_EXPIRING:
		snprintf(buf, size, "expires in %ld day%s (%s), inside the %ld-day window: "
		    "`rekey run --only-expiring %ldd` rotates it", it->days_left,
		    plural(it->days_left), day, wdays, wdays);
		break;
	case RK_EXPIRY_EXPIRED:
		/* Whole days since the end: days_left is -1 for the whole first day after it. */
		ago = (long)((r->checked_at - it->until) / DAY);
		if (ago < 1)
			snprintf(buf, size, "expired on %s (less than a day ago): clients refuse it "
			    "now", day);
		else
			snprintf(buf, size, "expired on %s (%ld day%s ago): clients refuse it now",
			    day, ago, plural(ago));
		break;
	case RK_EXPIRY_RELOAD_PENDING:
		snprintf(buf, size, "%s", it->pending);
		break;
	case RK_EXPIRY_CA_DUE:
		snprintf(buf, size, "the CA expires in %ld day%s (%s), inside the %ld-day window: "
		    "a new CA takes a re-root (ca.rotate) with trust_overlap, planned ahead",
		    it->days_left, plural(it->days_left), day, wdays);
		break;
	case RK_EXPIRY_CRL_DUE:
		snprintf(buf, size, "the CRL's nextUpdate is in %ld day%s (%s), inside the %ld-day "
		    "CRL window: when it passes, servers that load it refuse every client "
		    "certificate; a run signs a new one", it->days_left, plural(it->days_left), day,
		    cdays > 0 ? cdays : 0);
		break;
	case RK_EXPIRY_CRL_EXPIRED:
		snprintf(buf, size, "the CRL's nextUpdate passed on %s: servers that load it "
		    "refuse every client certificate now; a run signs a new one", day);
		break;
	default:
		snprintf(buf, size, "%s", it->detail[0] != '\0' ? it->detail :
		    rk_expiry_problem_name(bit));
		break;
	}
}

bool
rk_expiry_certificate_due(const struct rk_expiry_report *r, const struct rk_certificate *c,
    char *why, size_t size)
{
	const unsigned due = RK_EXPIRY_EXPIRING | RK_EXPIRY_EXPIRED;
	bool seen = false;
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct rk_expiry_item *it = &r->items[i];

		if (it->certificate != c || it->what != RK_EXPIRY_CERT)
			continue;
		if (it->known && (it->problems & due) != 0) {
			if (why != NULL)
				snprintf(why, size, "%s %s %s in %ld days", it->service != NULL ?
				    it->service->name : it->client->name,
				    rk_expiry_source_name(it->source), it->days_left < 0 ?
				    "expired" : "expires", it->days_left);
			return true;
		}
		seen |= it->known;
	}
	if (!seen && why != NULL)
		snprintf(why, size, "no server or file of it could be read");
	return !seen;
}

bool
rk_expiry_crl_due(const struct rk_expiry_report *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->items[i].problems & (RK_EXPIRY_CRL_DUE | RK_EXPIRY_CRL_EXPIRED))
			return true;
	return false;
}
