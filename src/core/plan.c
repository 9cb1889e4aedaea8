/*
 * The plan builder. The order of phases is the safety argument of a rotation: clients learn
 * to trust the new chain before any server presents it, a few canary services go first and
 * are verified alone, and the old trust is retired only after every server serves the new one.
 */
#include "rekey/plan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/bytes.h"
#include "rekey/digest.h"

/* Each action's journal name exists only in this row. */
static const struct {
	enum rk_action	 action;
	const char	*name;
	bool		 read_only;
} action_defs[] = {
	{ RK_ACT_CHECK_CA,		"check-ca",		true },
	{ RK_ACT_CHECK_LOCAL_FILE,	"check-file",		true },
	{ RK_ACT_CONNECT_HOST,		"connect",		true },
	{ RK_ACT_PROBE_SERVICE,		"probe",		true },
	{ RK_ACT_CHECK_CLIENT_CONFIG,	"check-client-config",	true },
	{ RK_ACT_GENERATE_CA,		"generate-ca",		false },
	{ RK_ACT_ISSUE_CERT,		"issue-cert",		false },
	{ RK_ACT_REVOKE,		"revoke",		false },
	{ RK_ACT_SIGN_CRL,		"sign-crl",		false },
	{ RK_ACT_REVOKE_CA,		"revoke-ca",		false },
	{ RK_ACT_PUSH_FILE,		"push-file",		false },
	{ RK_ACT_RELOAD_SERVICE,	"reload",		false },
	{ RK_ACT_VERIFY_SERVICE,	"verify",		true },
	{ RK_ACT_CHECK_REFUSED,		"check-refused",	true },
	{ RK_ACT_EDIT_CLIENT_CONFIG,	"edit-config",		false },
	{ RK_ACT_RUN_CLIENT_RELOAD,	"client-reload",	false },
	{ RK_ACT_RUN_CLIENT_VERIFY,	"client-verify",	false },	/* a playbook command */
	{ RK_ACT_WRITE_RECORD,		"record",		false },
};

static const char *const phase_names[RK_PHASES] = {
	"preflight", "issue", "revoke", "distribute trust", "swap", "reload", "verify",
	"update clients", "verify clients", "retire old trust", "record",
};

struct builder {
	struct rk_plan			*plan;
	size_t				 cap;
	struct rk_err			*err;
	const struct rk_plan_facts	*facts;
	uint32_t			 generate_ca;	/* step ids the pushes refer to; 0: none */
	uint32_t			 first_issue;
	uint32_t			 sign_crl;
};

/* Whether a revocation is known to hit a client certificate, which a check can then try. */
static bool
revokes_a_client(const struct builder *b, const struct rk_model *m)
{
	size_t i;

	for (i = 0; b->facts != NULL && i < m->nrevocations; i++)
		if (b->facts->revocations[i].resolved && b->facts->revocations[i].hits_client)
			return true;
	return false;
}

const char *
rk_phase_name(enum rk_phase phase)
{
	return (unsigned)phase < RK_PHASES ? phase_names[phase] : "?";
}

const char *
rk_action_name(enum rk_action action)
{
	size_t i;

	for (i = 0; i < sizeof(action_defs) / sizeof(action_defs[0]); i++)
		if (action_defs[i].action == action)
			return action_defs[i].name;
	return "?";
}

bool
rk_plan_asks_reload_privilege(const struct rk_plan *plan, const struct rk_service *svc)
{
	size_t i;

	/* A login with the certificate this run issues cannot log in before it is issued. */
	if (svc->reload.kind != RK_RELOAD_SQL || svc->connect.certificate != NULL ||
	    svc->connect.user == NULL)
		return false;
	for (i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].action == RK_ACT_RELOAD_SERVICE && plan->steps[i].service == svc)
			return true;
	return false;
}

bool
rk_step_is_read_only(const struct rk_step *step)
{
	size_t i;

	for (i = 0; i < sizeof(action_defs) / sizeof(action_defs[0]); i++)
		if (action_defs[i].action == step->action)
			return action_defs[i].read_only;
	return false;
}

const char *
rk_content_name(enum rk_content content)
{
	switch (content) {
	case RK_CONTENT_NONE:		return "none";
	case RK_CONTENT_CERT:		return "certificate";
	case RK_CONTENT_KEY:		return "private-key";
	case RK_CONTENT_TRUST_BUNDLE:	return "trust-bundle";
	case RK_CONTENT_TRUST_FINAL:	return "trust-final";
	case RK_CONTENT_CRL:		return "crl";
	}
	return "?";
}

const char *
rk_refusal_name(enum rk_refusal refusal)
{
	switch (refusal) {
	case RK_REFUSE_OLD_CERT:	return "old-certificate-not-served";
	case RK_REFUSE_PLAINTEXT:	return "plaintext-refused";
	case RK_REFUSE_OLD_TLS:		return "old-tls-refused";
	case RK_REFUSE_REVOKED_CLIENT:	return "revoked-client-refused";
	case RK_REFUSE_OLD_CA:		return "old-ca-not-trusted";
	case RK_REFUSE_OLD_ISSUER:	return "old-intermediate-refused";
	}
	return "?";
}

static struct rk_step *
add_step(struct builder *b, enum rk_phase phase, enum rk_action action,
    const struct rk_host *host)
{
	struct rk_plan *p = b->plan;
	struct rk_step *grown, *s;

	if (b->err->code != RK_OK)
		return NULL;
	if (p->nsteps == b->cap) {
		size_t cap = b->cap == 0 ? 32 : b->cap * 2;

		if ((grown = reallocarray(p->steps, cap, sizeof(*grown))) == NULL) {
			rk_fail_nomem(b->err);
			return NULL;
		}
		p->steps = grown;
		b->cap = cap;
	}
	s = &p->steps[p->nsteps++];
	memset(s, 0, sizeof(*s));
	s->id = (uint32_t)p->nsteps;
	s->phase = phase;
	s->action = action;
	s->host = host;
	return s;
}

/* The step that makes what a push installs; issue and revoke come before any push. */
static uint32_t
source_of(const struct builder *b, const struct rk_step *push)
{
	const struct rk_model *m = b->plan->model;

	switch (push->content) {
	case RK_CONTENT_CERT:
	case RK_CONTENT_KEY:
		/* Issue steps are made one per certificate, in model order. */
		return push->certificate != NULL && b->first_issue > 0 ?
		    b->first_issue + (uint32_t)(push->certificate - m->certificates) : 0;
	case RK_CONTENT_CRL:
		return b->sign_crl;
	case RK_CONTENT_TRUST_BUNDLE:
	case RK_CONTENT_TRUST_FINAL:
		return b->generate_ca;
	case RK_CONTENT_NONE:
		break;
	}
	return 0;
}

static void
add_push(struct builder *b, enum rk_phase phase, unsigned wave, const struct rk_host *host,
    const struct rk_file_target *f, enum rk_content content, const struct rk_service *svc,
    const struct rk_client *client)
{
	struct rk_step *s;

	if (!f->present || (s = add_step(b, phase, RK_ACT_PUSH_FILE, host)) == NULL)
		return;
	s->wave = wave;
	s->file = f;
	s->content = content;
	s->service = svc;
	s->client = client;
	s->certificate = client != NULL ? f->certificate : svc != NULL ? svc->certificate : NULL;
	s->source = source_of(b, s);
}

static void
add_refusal(struct builder *b, unsigned wave, const struct rk_service *svc,
    enum rk_phase phase, enum rk_refusal refusal)
{
	struct rk_step *s;

	if ((s = add_step(b, phase, RK_ACT_CHECK_REFUSED, svc->host)) == NULL)
		return;
	s->wave = wave;
	s->service = svc;
	s->refusal = refusal;
}

/* A host appears in preflight once, in the order the playbook first uses it. */
static bool
host_seen_before(const struct rk_model *m, const struct rk_host *h, size_t svc_limit,
    size_t client_limit)
{
	size_t i;

	for (i = 0; i < svc_limit; i++)
		if (m->services[i].host == h)
			return true;
	for (i = 0; i < client_limit; i++)
		if (m->clients[i].host == h)
			return true;
	return false;
}

static void
build_preflight(struct builder *b, const struct rk_model *m)
{
	struct rk_step *s;
	size_t i;

	(void)add_step(b, RK_PHASE_PREFLIGHT, RK_ACT_CHECK_CA, NULL);
	for (i = 0; i < m->nrevocations; i++) {
		if (m->revocations[i].kind != RK_REVOKE_CERT &&
		    m->revocations[i].kind != RK_REVOKE_FOLDER)
			continue;
		if ((s = add_step(b, RK_PHASE_PREFLIGHT, RK_ACT_CHECK_LOCAL_FILE, NULL)) != NULL)
			s->revocation = &m->revocations[i];
	}
	for (i = 0; i < m->nservices; i++)
		if (m->services[i].host != NULL &&
		    !host_seen_before(m, m->services[i].host, i, 0))
			(void)add_step(b, RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST,
			    m->services[i].host);
	for (i = 0; i < m->nclients; i++)
		if (m->clients[i].host != NULL &&
		    !host_seen_before(m, m->clients[i].host, m->nservices, i))
			(void)add_step(b, RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST,
			    m->clients[i].host);
	for (i = 0; i < m->nservices; i++)
		if ((s = add_step(b, RK_PHASE_PREFLIGHT, RK_ACT_PROBE_SERVICE,
		    m->services[i].host)) != NULL)
			s->service = &m->services[i];
	for (i = 0; i < m->nclients; i++)
		if (m->clients[i].path != NULL && (s = add_step(b, RK_PHASE_PREFLIGHT,
		    RK_ACT_CHECK_CLIENT_CONFIG, m->clients[i].host)) != NULL)
			s->client = &m->clients[i];
}

static void
build_issue_and_revoke(struct builder *b, const struct rk_model *m)
{
	struct rk_step *s;
	size_t i;

	if (m->ca.rotate && (s = add_step(b, RK_PHASE_ISSUE, RK_ACT_GENERATE_CA, NULL)) != NULL)
		b->generate_ca = s->id;
	for (i = 0; i < m->ncertificates; i++)
		if ((s = add_step(b, RK_PHASE_ISSUE, RK_ACT_ISSUE_CERT, NULL)) != NULL) {
			s->certificate = &m->certificates[i];
			if (i == 0)
				b->first_issue = s->id;
		}
	for (i = 0; i < m->nrevocations; i++)
		if ((s = add_step(b, RK_PHASE_REVOKE, RK_ACT_REVOKE, NULL)) != NULL)
			s->revocation = &m->revocations[i];
	/* The parent's CRL first: the CRLs the hosts get are gathered when the CA's is signed. */
	if (m->ca.rotate == RK_ROTATE_INTERMEDIATE)
		(void)add_step(b, RK_PHASE_REVOKE, RK_ACT_REVOKE_CA, NULL);
	if (rk_model_signs_crl(m) &&
	    (s = add_step(b, RK_PHASE_REVOKE, RK_ACT_SIGN_CRL, NULL)) != NULL)
		b->sign_crl = s->id;
}

static void
build_distribute_trust(struct builder *b, const struct rk_model *m)
{
	size_t i;

	for (i = 0; i < m->nservices; i++) {
		const struct rk_service *svc = &m->services[i];

		add_push(b, RK_PHASE_DISTRIBUTE_TRUST, 0, svc->host, &svc->files[RK_FILE_CA],
		    RK_CONTENT_TRUST_BUNDLE, svc, NULL);
		add_push(b, RK_PHASE_DISTRIBUTE_TRUST, 0, svc->host, &svc->files[RK_FILE_CRL],
		    RK_CONTENT_CRL, svc, NULL);
	}
	for (i = 0; i < m->nclients; i++) {
		const struct rk_client *c = &m->clients[i];

		add_push(b, RK_PHASE_DISTRIBUTE_TRUST, 0, c->host, &c->files[RK_FILE_CA],
		    RK_CONTENT_TRUST_BUNDLE, NULL, c);
		add_push(b, RK_PHASE_DISTRIBUTE_TRUST, 0, c->host, &c->files[RK_FILE_CRL],
		    RK_CONTENT_CRL, NULL, c);
	}
}

static void
build_wave(struct builder *b, const struct rk_model *m, unsigned wave, size_t first,
    size_t end)
{
	struct rk_step *s;
	size_t i;

	for (i = first; i < end; i++) {
		const struct rk_service *svc = &m->services[i];

		/* The key goes first: a reload between the two must never pair a new
		 * certificate with the old key. Both are in place before any reload. */
		add_push(b, RK_PHASE_SWAP, wave, svc->host, &svc->files[RK_FILE_KEY],
		    RK_CONTENT_KEY, svc, NULL);
		add_push(b, RK_PHASE_SWAP, wave, svc->host, &svc->files[RK_FILE_CERT],
		    RK_CONTENT_CERT, svc, NULL);
	}
	for (i = first; i < end; i++) {
		if (m->services[i].reload.kind == RK_RELOAD_NONE)
			continue;
		if ((s = add_step(b, RK_PHASE_RELOAD, RK_ACT_RELOAD_SERVICE,
		    m->services[i].host)) != NULL) {
			s->wave = wave;
			s->service = &m->services[i];
		}
	}
	for (i = first; i < end; i++) {
		const struct rk_service *svc = &m->services[i];

		/* Without a reload the server keeps its old certificate until someone restarts
		 * it: the plan must not promise the new fingerprint, nor that the old is gone. */
		bool serves_new = svc->certificate != NULL && svc->reload.kind != RK_RELOAD_NONE;

		if ((s = add_step(b, RK_PHASE_VERIFY, RK_ACT_VERIFY_SERVICE, svc->host)) != NULL) {
			s->wave = wave;
			s->service = svc;
			s->certificate = serves_new ? svc->certificate : NULL;
		}
		if (serves_new)
			add_refusal(b, wave, svc, RK_PHASE_VERIFY, RK_REFUSE_OLD_CERT);
		if (serves_new && m->ca.rotate == RK_ROTATE_INTERMEDIATE)
			add_refusal(b, wave, svc, RK_PHASE_VERIFY, RK_REFUSE_OLD_ISSUER);
		if (svc->verify.require_tls)
			add_refusal(b, wave, svc, RK_PHASE_VERIFY, RK_REFUSE_PLAINTEXT);
		if (svc->verify.min_tls > RK_TLS_1_2)
			add_refusal(b, wave, svc, RK_PHASE_VERIFY, RK_REFUSE_OLD_TLS);
		if (svc->files[RK_FILE_CRL].present && revokes_a_client(b, m))
			add_refusal(b, wave, svc, RK_PHASE_VERIFY, RK_REFUSE_REVOKED_CLIENT);
	}
}

static void
build_clients(struct builder *b, const struct rk_model *m)
{
	struct rk_step *s;
	size_t i;

	for (i = 0; i < m->nclients; i++) {
		const struct rk_client *c = &m->clients[i];

		add_push(b, RK_PHASE_UPDATE_CLIENTS, 0, c->host, &c->files[RK_FILE_KEY],
		    RK_CONTENT_KEY, NULL, c);
		add_push(b, RK_PHASE_UPDATE_CLIENTS, 0, c->host, &c->files[RK_FILE_CERT],
		    RK_CONTENT_CERT, NULL, c);
		if (c->path != NULL && c->nset > 0 && (s = add_step(b, RK_PHASE_UPDATE_CLIENTS,
		    RK_ACT_EDIT_CLIENT_CONFIG, c->host)) != NULL)
			s->client = c;
		if (c->reload_command != NULL && (s = add_step(b, RK_PHASE_UPDATE_CLIENTS,
		    RK_ACT_RUN_CLIENT_RELOAD, c->host)) != NULL)
			s->client = c;
	}
	for (i = 0; i < m->nclients; i++)
		if (m->clients[i].verify_command != NULL && (s = add_step(b,
		    RK_PHASE_VERIFY_CLIENTS, RK_ACT_RUN_CLIENT_VERIFY, m->clients[i].host)) != NULL)
			s->client = &m->clients[i];
}

static void
build_retire_trust(struct builder *b, const struct rk_model *m)
{
	struct rk_step *s;
	size_t i;

	if (!rk_model_trust_changes(m) || !m->policy.trust_overlap)
		return;
	for (i = 0; i < m->nservices; i++)
		add_push(b, RK_PHASE_RETIRE_TRUST, 0, m->services[i].host,
		    &m->services[i].files[RK_FILE_CA], RK_CONTENT_TRUST_FINAL, &m->services[i],
		    NULL);
	for (i = 0; i < m->nclients; i++)
		add_push(b, RK_PHASE_RETIRE_TRUST, 0, m->clients[i].host,
		    &m->clients[i].files[RK_FILE_CA], RK_CONTENT_TRUST_FINAL, NULL,
		    &m->clients[i]);
	for (i = 0; i < m->nservices; i++) {
		const struct rk_service *svc = &m->services[i];

		if (!svc->files[RK_FILE_CA].present)
			continue;
		if (svc->reload.kind != RK_RELOAD_NONE && (s = add_step(b, RK_PHASE_RETIRE_TRUST,
		    RK_ACT_RELOAD_SERVICE, svc->host)) != NULL)
			s->service = svc;
	}
	/* A new intermediate under the same root: its old one is refused by the CRLs instead. */
	for (i = 0; i < m->nservices && m->ca.rotate == RK_ROTATE_ROOT; i++)
		add_refusal(b, 0, &m->services[i], RK_PHASE_RETIRE_TRUST, RK_REFUSE_OLD_CA);
}

static int
group_steps(struct rk_plan *p, struct rk_err *err)
{
	size_t i;

	if ((p->groups = calloc(p->nsteps, sizeof(*p->groups))) == NULL && p->nsteps > 0)
		return rk_fail_nomem(err);
	for (i = 0; i < p->nsteps; i++) {
		struct rk_step_group *g = p->ngroups > 0 ? &p->groups[p->ngroups - 1] : NULL;

		if (g == NULL || g->phase != p->steps[i].phase || g->wave != p->steps[i].wave) {
			g = &p->groups[p->ngroups++];
			g->first = i;
			g->phase = p->steps[i].phase;
			g->wave = p->steps[i].wave;
		}
		g->n++;
	}
	return 0;
}

/* What a step promises, as text: the same playbook gives the same digest. */
static int
digest_plan(struct rk_plan *p, struct rk_err *err)
{
	char line[1024], hex[RK_SHA256_HEX];
	struct rk_buf text;
	size_t i;
	int r = 0;

	rk_buf_init(&text, 64 * 1024 * 1024);
	for (i = 0; i < p->nsteps && r == 0; i++) {
		const struct rk_step *s = &p->steps[i];

		rk_step_describe(line, sizeof(line), p, s);
		r = rk_buf_printf(&text, err, "%u %s %u %s %s %s\n", s->id, rk_phase_name(s->phase),
		    s->wave, rk_action_name(s->action), s->host != NULL ? s->host->name : "-",
		    line);
	}
	if (r == 0 && (r = rk_sha256_hex(hex, rk_buf_bytes(&text), err)) == 0)
		snprintf(p->digest, sizeof(p->digest), "sha256:%s", hex);
	rk_buf_clear(&text);
	return r;
}

int
rk_plan_build(struct rk_plan **out, const struct rk_model *m, const struct rk_plan_facts *facts,
    struct rk_err *err)
{
	struct builder b = { NULL, 0, err, facts, 0, 0, 0 };
	size_t canary = (size_t)m->policy.canary;

	*out = NULL;
	if ((b.plan = calloc(1, sizeof(*b.plan))) == NULL)
		return rk_fail_nomem(err);
	b.plan->model = m;
	build_preflight(&b, m);
	build_issue_and_revoke(&b, m);
	build_distribute_trust(&b, m);
	/* Canary services form wave 1 only when others remain to wait for them. */
	if (canary > 0 && canary < m->nservices) {
		b.plan->nwaves = 2;
		b.plan->canary_services = (unsigned)canary;
		build_wave(&b, m, 1, 0, canary);
		build_wave(&b, m, 2, canary, m->nservices);
	} else if (m->nservices > 0) {
		b.plan->nwaves = 1;
		build_wave(&b, m, 1, 0, m->nservices);
	}
	build_clients(&b, m);
	build_retire_trust(&b, m);
	(void)add_step(&b, RK_PHASE_RECORD, RK_ACT_WRITE_RECORD, NULL);
	if (err->code == RK_OK)
		(void)group_steps(b.plan, err);
	if (err->code == RK_OK)
		(void)digest_plan(b.plan, err);
	if (err->code != RK_OK) {
		rk_plan_free(b.plan);
		return err->code;
	}
	*out = b.plan;
	return 0;
}

void
rk_plan_free(struct rk_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->steps);
	free(plan->groups);
	free(plan);
}

static const char *
refusal_text(enum rk_refusal r)
{
	switch (r) {
	case RK_REFUSE_OLD_CERT:	return "the old certificate is no longer served";
	case RK_REFUSE_PLAINTEXT:	return "a login without TLS is refused";
	case RK_REFUSE_OLD_TLS:		return "a handshake below min_tls is refused";
	case RK_REFUSE_REVOKED_CLIENT:	return "a revoked client certificate is refused";
	case RK_REFUSE_OLD_CA:		return "a client trusting only the old CA fails";
	case RK_REFUSE_OLD_ISSUER:	return "a leaf of the old intermediate (the certificate it "
					    "served before) is refused by a client that trusts the "
					    "root and checks the CRLs distributed (crl_check_all: "
					    "the old intermediate is revoked)";
	}
	return "?";
}

static const char *
trust_bundle_text(const struct rk_model *m)
{
	bool chain = m->ca.chain != NULL && m->ca.trust == RK_TRUST_CHAIN;

	switch (m->ca.rotate) {
	case RK_ROTATE_ROOT:
		return m->policy.trust_overlap ? "CA bundle: old + new CA" : "CA bundle: new CA";
	case RK_ROTATE_INTERMEDIATE:
		if (!chain)
			return "root CA certificate (unchanged: the root stays)";
		return m->policy.trust_overlap ? "CA chain: old + new intermediate, up to the root" :
		    "CA chain: new intermediate, up to the root";
	case RK_ROTATE_NONE:
		break;
	}
	if (m->ca.chain == NULL)
		return "CA certificate";
	return chain ? "CA chain: the intermediate, up to the root" : "root CA certificate";
}

static const char *
crl_text(const struct rk_model *m)
{
	switch (m->ca.rotate) {
	case RK_ROTATE_ROOT:
		return "CRLs: the old CA's and the new CA's";
	case RK_ROTATE_INTERMEDIATE:
		return "CRLs: the old and the new intermediate's, and the parent's (the old "
		    "intermediate revoked)";
	case RK_ROTATE_NONE:
		break;
	}
	return m->ca.parent.crl != NULL ? "CRLs: the CA's and its parent's" : "CRL";
}

static const char *
content_text(const struct rk_model *m, enum rk_content c)
{
	switch (c) {
	case RK_CONTENT_NONE:		return "";
	case RK_CONTENT_CERT:		return "new certificate";
	case RK_CONTENT_KEY:		return "new private key";
	case RK_CONTENT_TRUST_BUNDLE:	return trust_bundle_text(m);
	case RK_CONTENT_TRUST_FINAL:	return m->ca.rotate == RK_ROTATE_ROOT ?
					    "CA bundle: new CA only" :
					    "CA chain: new intermediate, up to the root";
	case RK_CONTENT_CRL:		return crl_text(m);
	}
	return "?";
}

static const char *
reload_text(const struct rk_service *svc)
{
	switch (svc->reload.kind) {
	case RK_RELOAD_SQL:
		return svc->kind == RK_SERVICE_POSTGRESQL ? "SELECT pg_reload_conf()" :
		    "FLUSH SSL or ALTER INSTANCE RELOAD TLS (by server version)";
	case RK_RELOAD_COMMAND:
		return svc->reload.command;
	case RK_RELOAD_NONE:
		return "none";
	}
	return "?";
}

static const char *
or_default(const char *s, const char *dflt)
{
	return s != NULL ? s : dflt;
}

int
rk_step_describe(char *buf, size_t size, const struct rk_plan *plan, const struct rk_step *s)
{
	const struct rk_model *m = plan->model;
	const struct rk_service *svc = s->service;
	const struct rk_client *cl = s->client;
	const struct rk_certificate *cert = s->certificate;
	char section[160] = "";
	bool asks;
	int n = 0;

	switch (s->action) {
	case RK_ACT_CHECK_CA:
		n = snprintf(buf, size, "check the CA %s: certificate and key load and match, "
		    "it may sign (keyCertSign, cRLSign), it is valid%s%s%s%s%s%s", m->ca.cert,
		    m->ca.chain != NULL ? "; its chain " : "", or_default(m->ca.chain, ""),
		    m->ca.chain != NULL ? ": each link signs the one below, up to a root, none "
		    "expired" : "", m->ca.rotate == RK_ROTATE_INTERMEDIATE ? "; the parent " : "",
		    m->ca.rotate == RK_ROTATE_INTERMEDIATE ? or_default(m->ca.parent.cert, "?") :
		    "", m->ca.rotate == RK_ROTATE_INTERMEDIATE ? ": its key loads and matches, "
		    "it signed ca.cert, its CRL is its own" : "");
		break;
	case RK_ACT_CHECK_LOCAL_FILE:
		n = snprintf(buf, size, "check %s %s is readable",
		    s->revocation->kind == RK_REVOKE_FOLDER ? "folder" : "certificate",
		    s->revocation->value);
		break;
	case RK_ACT_CONNECT_HOST:
		if (s->host->transport == RK_TRANSPORT_LOCAL)
			n = snprintf(buf, size, "check local access%s",
			    s->host->sudo ? " and sudo -n" : "");
		else
			n = snprintf(buf, size, "connect to %s%s%s:%d%s%s: host key checked "
			    "against %s, %s%s", or_default(s->host->user, ""),
			    s->host->user != NULL ? "@" : "", s->host->address, s->host->port,
			    s->host->jump != NULL ? " via " : "",
			    s->host->jump != NULL ? s->host->jump->name : "",
			    or_default(s->host->known_hosts, "~/.ssh/known_hosts"),
			    s->host->identity != NULL ? "key login" : "ssh-agent login",
			    s->host->sudo ? ", sudo -n works" : "");
		break;
	case RK_ACT_PROBE_SERVICE:
		asks = rk_plan_asks_reload_privilege(plan, svc);
		n = snprintf(buf, size, "probe %s (%s) at %s:%d: record the certificate it "
		    "serves now%s%s%s", svc->name, rk_service_kind_label(svc),
		    svc->connect.address, svc->connect.port, asks ? ", and ask it whether " : "",
		    asks ? svc->connect.user : "", asks ? " may reload (nothing reloaded)" : "");
		break;
	case RK_ACT_CHECK_CLIENT_CONFIG:
		n = snprintf(buf, size, "read %s (%s) and check it parses", cl->path,
		    rk_format_name(cl->format));
		break;
	case RK_ACT_GENERATE_CA:
		if (m->ca.rotate == RK_ROTATE_INTERMEDIATE)
			n = snprintf(buf, size, "generate a new issuing intermediate CA \"%s\" "
			    "(pathlen 0): %s key, %d days, signed by the parent CA %s",
			    or_default(m->ca.new_ca.subject, "?"),
			    rk_key_type_name(m->ca.new_ca.key), m->ca.new_ca.days,
			    or_default(m->ca.parent.cert, "?"));
		else
			n = snprintf(buf, size, "generate a new root CA \"%s\": %s key, %d days",
			    or_default(m->ca.new_ca.subject, "?"),
			    rk_key_type_name(m->ca.new_ca.key), m->ca.new_ca.days);
		break;
	case RK_ACT_ISSUE_CERT:
		n = snprintf(buf, size, "issue %s: %s key, %s certificate \"%s\"%s%s%s, "
		    "%d days, signed by the %s CA", cert->name, rk_key_type_name(cert->key),
		    rk_profile_name(cert->profile), cert->subject,
		    cert->nsan > 0 ? ", SAN " : "", cert->nsan > 0 ? cert->san[0] : "",
		    cert->nsan > 1 ? " and more" : "", cert->days, m->ca.rotate ? "new" : "current");
		break;
	case RK_ACT_REVOKE:
		n = snprintf(buf, size, "revoke %s %s (reason %s)",
		    rk_revoke_kind_name(s->revocation->kind), s->revocation->value,
		    rk_reason_name(s->revocation->reason));
		break;
	case RK_ACT_SIGN_CRL:
		n = snprintf(buf, size, "sign %s with the current CA, every earlier entry kept, "
		    "next update in %d days%s", or_default(m->ca.crl, "the CRL"), m->ca.crl_days,
		    m->ca.rotate ? "; the new CA gets a first CRL of its own, empty" : "");
		break;
	case RK_ACT_REVOKE_CA:
		n = snprintf(buf, size, "revoke the old intermediate %s in the parent's CRL %s "
		    "(reason cACompromise), signed with the parent's key, every earlier entry "
		    "kept, next update in %d days", m->ca.cert, or_default(m->ca.parent.crl, "?"),
		    m->ca.crl_days);
		break;
	case RK_ACT_PUSH_FILE: {
		bool of_cert = cert != NULL &&
		    (s->content == RK_CONTENT_CERT || s->content == RK_CONTENT_KEY);

		n = snprintf(buf, size, "replace %s  %s:%s %04o  %s%s%s%s (atomic, backup kept)",
		    s->file->path, or_default(s->file->owner, "-"), or_default(s->file->group, "-"),
		    (unsigned)s->file->mode, content_text(m, s->content), of_cert ? " of " : "",
		    of_cert ? cert->name : "", s->content == RK_CONTENT_CERT &&
		    rk_model_leaves_have_intermediates(m) ? ", then the intermediate CA" : "");
		break;
	}
	case RK_ACT_RELOAD_SERVICE:
		n = snprintf(buf, size, "reload %s: %s, then probe until the new files are "
		    "served", svc->name, reload_text(svc));
		break;
	case RK_ACT_VERIFY_SERVICE:
		n = snprintf(buf, size, "verify %s at %s:%d: %s, %s or later%s%s%s%s", svc->name,
		    svc->connect.address, svc->connect.port, rk_sslmode_name(svc->verify.sslmode),
		    rk_tls_version_name(svc->verify.min_tls), rk_model_leaves_have_intermediates(m) ?
		    ", it sends the intermediate after its certificate" : "",
		    cert != NULL ? ", serves the new fingerprint of " : "",
		    cert != NULL ? cert->name : "",
		    svc->reload.kind == RK_RELOAD_NONE && svc->certificate != NULL ?
		    " (reload: none, so the old certificate may still be served)" : "");
		break;
	case RK_ACT_CHECK_REFUSED:
		n = snprintf(buf, size, "prove on %s: %s", svc->name, refusal_text(s->refusal));
		break;
	case RK_ACT_EDIT_CLIENT_CONFIG:
		if (cl->section != NULL)
			snprintf(section, sizeof(section), " [%s]", cl->section);
		else if (cl->variable != NULL)
			snprintf(section, sizeof(section), " in $%s", cl->variable);
		n = snprintf(buf, size, "edit %s (%s%s): set %zu key%s, keep every other byte",
		    cl->path, rk_format_name(cl->format), section, cl->nset,
		    cl->nset == 1 ? "" : "s");
		break;
	case RK_ACT_RUN_CLIENT_RELOAD:
		n = snprintf(buf, size, "run %s's reload: %s", cl->name, cl->reload_command);
		break;
	case RK_ACT_RUN_CLIENT_VERIFY:
		n = snprintf(buf, size, "run %s's check: %s (exit 0 passes)", cl->name,
		    cl->verify_command);
		break;
	case RK_ACT_WRITE_RECORD:
		n = snprintf(buf, size, "seal the incident folder %s/%s: MANIFEST.sha256 of the "
		    "certificates, the CRL and any new CA (sha256sum -c checks it); the signed "
		    "record %s/%s.tar.gz is written when the command ends, whatever happened",
		    m->incident.records, m->incident.id, m->incident.records, m->incident.id);
		break;
	}
	return n;
}
