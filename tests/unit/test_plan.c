#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include "rekey/plan.h"
#include "rekey/playbook.h"

static const char estate[] =
    "version: 1\n"
    /* A fixed id: a generated one follows the clock, and so would the digest. */
    "incident: {id: INC-PLAN-TEST}\n"
    "ca: {cert: c, key: k, rotate: %s, new: {subject: \"/CN=New Root\"}}\n"
    "revoke: [{serial: \"01\"}]\n"
    "certificates:\n"
    "  s1: {profile: server, subject: \"/CN=a\", san: [\"DNS:a\"]}\n"
    "  s2: {profile: server, subject: \"/CN=b\", san: [\"DNS:b\"]}\n"
    "  s3: {profile: server, subject: \"/CN=c\", san: [\"DNS:c\"]}\n"
    "  cl: {profile: client, subject: \"/CN=app\"}\n"
    "hosts: {a: {address: a}, b: {address: b}, c: {address: c}, app: {address: app}}\n"
    "services:\n"
    "  - {name: pa, host: a, kind: postgresql, certificate: s1, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}, ca: {path: /ca}, crl: {path: /crl}}}\n"
    "  - {name: pb, host: b, kind: postgresql, certificate: s2, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}, ca: {path: /ca}}}\n"
    "  - {name: mc, host: c, kind: mysql, certificate: s3, reload: none,\n"
    "     files: {cert: {path: /c}, key: {path: /k}}}\n"
    "clients:\n"
    "  - {name: env, host: app, file: {path: /srv/.env, format: env}, set: {A: b},\n"
    "     files: {ca: {path: /ca}, cert: {path: /cc, certificate: cl},\n"
    "             key: {path: /ck, certificate: cl}},\n"
    "     reload: {command: restart}, verify: {command: check}}\n"
    "policy: {canary: %d, trust_overlap: %s}\n";

struct built {
	struct rk_model	*model;
	struct rk_plan	*plan;
};

/* Parses the playbook text (its files need not exist: that is a warning) and plans it. */
static void
build_text(struct built *b, const char *text)
{
	struct rk_bytes bytes;
	struct rk_diags d;
	struct rk_err err = { 0 };

	bytes.ptr = (const unsigned char *)text;
	bytes.len = strlen(text);
	rk_diags_init(&d, "t.yml");
	if (rk_playbook_parse(&b->model, "t.yml", "/base", bytes, &d, &err) != 0)
		fail_msg("parse: %s", d.n > 0 ? d.items[0].msg : err.msg);
	rk_diags_clear(&d);
	assert_int_equal(rk_plan_build(&b->plan, b->model, NULL, &err), 0);
}

static void
build(struct built *b, const char *rotate, int canary, const char *overlap)
{
	char text[2048];

	snprintf(text, sizeof(text), estate, rotate, canary, overlap);
	build_text(b, text);
}

static void
release(struct built *b)
{
	rk_plan_free(b->plan);
	rk_model_free(b->model);
}

/* Index of the first step matching, or SIZE_MAX. */
static size_t
find(const struct rk_plan *p, enum rk_action a, const char *service, enum rk_content c)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct rk_step *s = &p->steps[i];

		if (s->action == a && (service == NULL || (s->service != NULL &&
		    strcmp(s->service->name, service) == 0)) &&
		    (c == RK_CONTENT_NONE || s->content == c))
			return i;
	}
	return SIZE_MAX;
}

static size_t
count(const struct rk_plan *p, enum rk_phase phase, enum rk_action a)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsteps; i++)
		n += p->steps[i].phase == phase && p->steps[i].action == a;
	return n;
}

static void
test_steps_are_numbered_and_phases_ordered(void **state)
{
	struct built b;
	size_t i;

	(void)state;
	build(&b, "false", 1, "true");
	assert_true(b.plan->nsteps > 20);
	for (i = 0; i < b.plan->nsteps; i++) {
		const struct rk_step *s = &b.plan->steps[i];

		assert_int_equal(s->id, i + 1);
		/* Phases only go forward, except that each canary wave repeats swap..verify. */
		if (i > 0 && s->phase < b.plan->steps[i - 1].phase)
			assert_true(s->phase == RK_PHASE_SWAP && s->wave == 2);
	}
	assert_int_equal(b.plan->steps[0].action, RK_ACT_CHECK_CA);
	assert_int_equal(b.plan->steps[b.plan->nsteps - 1].action, RK_ACT_WRITE_RECORD);
	assert_int_equal(count(b.plan, RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST), 4);
	assert_int_equal(count(b.plan, RK_PHASE_ISSUE, RK_ACT_ISSUE_CERT), 4);
	assert_int_equal(count(b.plan, RK_PHASE_REVOKE, RK_ACT_SIGN_CRL), 1);
	/* mc has reload: none, so only two services reload. */
	assert_int_equal(count(b.plan, RK_PHASE_RELOAD, RK_ACT_RELOAD_SERVICE), 2);
	release(&b);
}

static void
test_canary_wave_is_verified_before_the_rest_is_touched(void **state)
{
	struct built b;
	size_t verify_canary, swap_rest, i;

	(void)state;
	build(&b, "false", 1, "true");
	assert_int_equal(b.plan->nwaves, 2);
	verify_canary = find(b.plan, RK_ACT_VERIFY_SERVICE, "pa", RK_CONTENT_NONE);
	swap_rest = find(b.plan, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_KEY);
	assert_true(verify_canary < swap_rest);
	assert_int_equal(b.plan->steps[verify_canary].wave, 1);
	assert_int_equal(b.plan->steps[swap_rest].wave, 2);
	for (i = 0; i < b.plan->nsteps; i++)
		if (b.plan->steps[i].wave == 1 && b.plan->steps[i].service != NULL)
			assert_string_equal(b.plan->steps[i].service->name, "pa");
	release(&b);

	/* canary 0: one wave of everything. */
	build(&b, "false", 0, "true");
	assert_int_equal(b.plan->nwaves, 1);
	release(&b);
}

static void
test_trust_goes_first_and_key_before_certificate(void **state)
{
	struct built b;
	const char *svcs[] = { "pa", "pb", "mc" };
	size_t first_swap, i;

	(void)state;
	build(&b, "false", 0, "true");
	first_swap = find(b.plan, RK_ACT_PUSH_FILE, NULL, RK_CONTENT_KEY);
	for (i = 0; i < b.plan->nsteps; i++)
		if (b.plan->steps[i].content == RK_CONTENT_TRUST_BUNDLE ||
		    b.plan->steps[i].content == RK_CONTENT_CRL)
			assert_true(i < first_swap);
	for (i = 0; i < 3; i++)
		assert_true(find(b.plan, RK_ACT_PUSH_FILE, svcs[i], RK_CONTENT_KEY) <
		    find(b.plan, RK_ACT_PUSH_FILE, svcs[i], RK_CONTENT_CERT));
	/* Client trust arrives before any server presents a new certificate. */
	for (i = 0; i < b.plan->nsteps; i++)
		if (b.plan->steps[i].client != NULL &&
		    b.plan->steps[i].content == RK_CONTENT_TRUST_BUNDLE)
			assert_true(i < first_swap);
	release(&b);
}

static void
test_old_trust_is_retired_only_when_the_ca_rotates_with_overlap(void **state)
{
	struct built b;
	size_t retire_push, last_verify = 0, i;

	(void)state;
	build(&b, "true", 1, "true");
	assert_int_equal(b.plan->steps[find(b.plan, RK_ACT_GENERATE_CA, NULL, RK_CONTENT_NONE)].phase,
	    RK_PHASE_ISSUE);
	retire_push = find(b.plan, RK_ACT_PUSH_FILE, NULL, RK_CONTENT_TRUST_FINAL);
	assert_true(retire_push != SIZE_MAX);
	for (i = 0; i < b.plan->nsteps; i++)
		if (b.plan->steps[i].action == RK_ACT_VERIFY_SERVICE)
			last_verify = i;
	assert_true(last_verify < retire_push);
	/* Three CA files (pa, pb, the client), then reloads of the two services with one. */
	assert_int_equal(count(b.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_PUSH_FILE), 3);
	assert_int_equal(count(b.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_RELOAD_SERVICE), 2);
	assert_int_equal(count(b.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_CHECK_REFUSED), 3);
	release(&b);

	build(&b, "true", 1, "false");
	assert_int_equal(find(b.plan, RK_ACT_PUSH_FILE, NULL, RK_CONTENT_TRUST_FINAL), SIZE_MAX);
	release(&b);
	build(&b, "false", 1, "true");
	assert_int_equal(find(b.plan, RK_ACT_GENERATE_CA, NULL, RK_CONTENT_NONE), SIZE_MAX);
	assert_int_equal(count(b.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_PUSH_FILE), 0);
	release(&b);
}

static void
test_read_only_steps_and_descriptions(void **state)
{
	struct built b;
	char line[1024];
	size_t i;

	(void)state;
	build(&b, "false", 1, "true");
	for (i = 0; i < b.plan->nsteps; i++) {
		const struct rk_step *s = &b.plan->steps[i];

		if (s->phase == RK_PHASE_PREFLIGHT)
			assert_true(rk_step_is_read_only(s));
		if (s->action == RK_ACT_PUSH_FILE || s->action == RK_ACT_RELOAD_SERVICE)
			assert_false(rk_step_is_read_only(s));
		assert_true(rk_step_describe(line, sizeof(line), b.plan, s) > 0);
		assert_string_not_equal(rk_action_name(s->action), "?");
	}
	i = find(b.plan, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_KEY);
	rk_step_describe(line, sizeof(line), b.plan, &b.plan->steps[i]);
	assert_string_equal(line, "replace /k  -:- 0600  new private key of s1 (atomic, backup kept)");
	release(&b);
}

/* Groups cover every step once, in order; each holds one phase and wave. */
static void
test_groups_cover_the_plan_in_order(void **state)
{
	struct built b;
	size_t g, i, next = 0;

	(void)state;
	build(&b, "true", 1, "true");
	assert_true(b.plan->ngroups > RK_PHASES);	/* the canary wave repeats three phases */
	for (g = 0; g < b.plan->ngroups; g++) {
		const struct rk_step_group *grp = &b.plan->groups[g];

		assert_int_equal(grp->first, next);
		assert_true(grp->n > 0);
		for (i = grp->first; i < grp->first + grp->n; i++) {
			assert_int_equal(b.plan->steps[i].phase, grp->phase);
			assert_int_equal(b.plan->steps[i].wave, grp->wave);
		}
		if (g > 0)
			assert_true(grp->phase != b.plan->groups[g - 1].phase ||
			    grp->wave != b.plan->groups[g - 1].wave);
		next = grp->first + grp->n;
	}
	assert_int_equal(next, b.plan->nsteps);
	release(&b);
}

/* Every push names the step that makes its content, which comes before it. */
static void
test_pushes_name_the_step_their_content_comes_from(void **state)
{
	struct built b;
	size_t i;

	(void)state;
	build(&b, "true", 1, "true");
	for (i = 0; i < b.plan->nsteps; i++) {
		const struct rk_step *s = &b.plan->steps[i], *src;

		if (s->action != RK_ACT_PUSH_FILE)
			continue;
		assert_true(s->source > 0 && s->source < s->id);
		src = &b.plan->steps[s->source - 1];
		switch (s->content) {
		case RK_CONTENT_CERT:
		case RK_CONTENT_KEY:
			assert_int_equal(src->action, RK_ACT_ISSUE_CERT);
			assert_ptr_equal(src->certificate, s->certificate);
			break;
		case RK_CONTENT_CRL:
			assert_int_equal(src->action, RK_ACT_SIGN_CRL);
			break;
		case RK_CONTENT_TRUST_BUNDLE:
		case RK_CONTENT_TRUST_FINAL:
			assert_int_equal(src->action, RK_ACT_GENERATE_CA);
			break;
		case RK_CONTENT_NONE:
			fail_msg("a push without content");
		}
	}
	release(&b);
	/* Without ca.rotate the CA file installed is the current one: no step makes it. */
	build(&b, "false", 1, "true");
	i = find(b.plan, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_TRUST_BUNDLE);
	assert_true(i != SIZE_MAX);
	assert_int_equal(b.plan->steps[i].source, 0);
	release(&b);
}

/* The same playbook gives the same digest; a change to what a step does changes it. */
static void
test_digest_follows_what_the_steps_do(void **state)
{
	struct built a, b, c;

	(void)state;
	build(&a, "false", 1, "true");
	build(&b, "false", 1, "true");
	build(&c, "false", 2, "true");
	assert_int_equal(strncmp(a.plan->digest, "sha256:", 7), 0);
	assert_int_equal(strlen(a.plan->digest), 7 + 64);
	assert_string_equal(a.plan->digest, b.plan->digest);
	assert_string_not_equal(a.plan->digest, c.plan->digest);
	release(&a);
	release(&b);
	release(&c);
}

/*
 * An issuing intermediate under a root (ca.chain, ca.parent): two servers and a client that
 * hold files.ca; no revocation and no CRL file anywhere.
 */
static const char intermediate_estate[] =
    "version: 1\n"
    "incident: {id: INC-PLAN-TEST}\n"
    "ca: {cert: pki/ca.crt, key: pki/ca.key, chain: pki/root.crt, trust: %s, rotate: %s,\n"
    "     new: {subject: \"/CN=Issuing CA 2\"},\n"
    "     parent: {cert: pki/root.crt, key: pki/root.key, crl: pki/root.crl}}\n"
    "certificates:\n"
    "  s1: {profile: server, subject: \"/CN=a\", san: [\"DNS:a\"]}\n"
    "  s2: {profile: server, subject: \"/CN=b\", san: [\"DNS:b\"]}\n"
    "hosts: {a: {address: a}, b: {address: b}, app: {address: app}}\n"
    "services:\n"
    "  - {name: pa, host: a, kind: postgresql, certificate: s1, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}, ca: {path: /ca}}}\n"
    "  - {name: mb, host: b, kind: mysql, certificate: s2, connect: {user: r},\n"
    "     files: {cert: {path: /c}, key: {path: /k}, ca: {path: /ca}}}\n"
    "clients:\n"
    "  - {name: env, host: app, file: {path: /srv/.env, format: env}, set: {A: b},\n"
    "     files: {ca: {path: /ca}}}\n"
    "policy: {canary: 0, trust_overlap: %s}\n";

static void
build_intermediate(struct built *b, const char *trust, const char *rotate, const char *overlap)
{
	char text[2048];

	snprintf(text, sizeof(text), intermediate_estate, trust, rotate, overlap);
	build_text(b, text);
}

/* One step a plan must hold: phase, action, its service or client, its content or refusal. */
struct want_step {
	enum rk_phase	 phase;
	enum rk_action	 action;
	const char	*who;		/* NULL: neither a service nor a client */
	int		 what;		/* enum rk_content of a push, enum rk_refusal of a check */
};

/* Up to the clients, rotate: intermediate plans the same steps under trust: root or chain. */
static const struct want_step intermediate_steps[] = {
	{ RK_PHASE_PREFLIGHT, RK_ACT_CHECK_CA, NULL, 0 },
	{ RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST, NULL, 0 },
	{ RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST, NULL, 0 },
	{ RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST, NULL, 0 },
	{ RK_PHASE_PREFLIGHT, RK_ACT_PROBE_SERVICE, "pa", 0 },
	{ RK_PHASE_PREFLIGHT, RK_ACT_PROBE_SERVICE, "mb", 0 },
	{ RK_PHASE_PREFLIGHT, RK_ACT_CHECK_CLIENT_CONFIG, "env", 0 },
	{ RK_PHASE_ISSUE, RK_ACT_GENERATE_CA, NULL, 0 },
	{ RK_PHASE_ISSUE, RK_ACT_ISSUE_CERT, NULL, 0 },
	{ RK_PHASE_ISSUE, RK_ACT_ISSUE_CERT, NULL, 0 },
	/* The parent's CRL first: the CRLs the hosts get are gathered with the CA's. */
	{ RK_PHASE_REVOKE, RK_ACT_REVOKE_CA, NULL, 0 },
	{ RK_PHASE_REVOKE, RK_ACT_SIGN_CRL, NULL, 0 },
	{ RK_PHASE_DISTRIBUTE_TRUST, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_TRUST_BUNDLE },
	{ RK_PHASE_DISTRIBUTE_TRUST, RK_ACT_PUSH_FILE, "mb", RK_CONTENT_TRUST_BUNDLE },
	{ RK_PHASE_DISTRIBUTE_TRUST, RK_ACT_PUSH_FILE, "env", RK_CONTENT_TRUST_BUNDLE },
	{ RK_PHASE_SWAP, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_KEY },
	{ RK_PHASE_SWAP, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_CERT },
	{ RK_PHASE_SWAP, RK_ACT_PUSH_FILE, "mb", RK_CONTENT_KEY },
	{ RK_PHASE_SWAP, RK_ACT_PUSH_FILE, "mb", RK_CONTENT_CERT },
	{ RK_PHASE_RELOAD, RK_ACT_RELOAD_SERVICE, "pa", 0 },
	{ RK_PHASE_RELOAD, RK_ACT_RELOAD_SERVICE, "mb", 0 },
	{ RK_PHASE_VERIFY, RK_ACT_VERIFY_SERVICE, "pa", 0 },
	{ RK_PHASE_VERIFY, RK_ACT_CHECK_REFUSED, "pa", RK_REFUSE_OLD_CERT },
	{ RK_PHASE_VERIFY, RK_ACT_CHECK_REFUSED, "pa", RK_REFUSE_OLD_ISSUER },
	{ RK_PHASE_VERIFY, RK_ACT_CHECK_REFUSED, "pa", RK_REFUSE_PLAINTEXT },
	{ RK_PHASE_VERIFY, RK_ACT_VERIFY_SERVICE, "mb", 0 },
	{ RK_PHASE_VERIFY, RK_ACT_CHECK_REFUSED, "mb", RK_REFUSE_OLD_CERT },
	{ RK_PHASE_VERIFY, RK_ACT_CHECK_REFUSED, "mb", RK_REFUSE_OLD_ISSUER },
	{ RK_PHASE_VERIFY, RK_ACT_CHECK_REFUSED, "mb", RK_REFUSE_PLAINTEXT },
	{ RK_PHASE_UPDATE_CLIENTS, RK_ACT_EDIT_CLIENT_CONFIG, "env", 0 },
};

/* Under trust: chain with overlap, the old intermediate leaves the CA files at the end. */
static const struct want_step retire_chain_steps[] = {
	{ RK_PHASE_RETIRE_TRUST, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_TRUST_FINAL },
	{ RK_PHASE_RETIRE_TRUST, RK_ACT_PUSH_FILE, "mb", RK_CONTENT_TRUST_FINAL },
	{ RK_PHASE_RETIRE_TRUST, RK_ACT_PUSH_FILE, "env", RK_CONTENT_TRUST_FINAL },
	{ RK_PHASE_RETIRE_TRUST, RK_ACT_RELOAD_SERVICE, "pa", 0 },
	{ RK_PHASE_RETIRE_TRUST, RK_ACT_RELOAD_SERVICE, "mb", 0 },
	{ RK_PHASE_RECORD, RK_ACT_WRITE_RECORD, NULL, 0 },
};

static const struct want_step record_step[] = {
	{ RK_PHASE_RECORD, RK_ACT_WRITE_RECORD, NULL, 0 },
};

static bool
step_is(const struct rk_step *s, const struct want_step *w)
{
	const char *who = s->service != NULL ? s->service->name : s->client != NULL ?
	    s->client->name : NULL;
	int what = s->action == RK_ACT_CHECK_REFUSED ? (int)s->refusal :
	    s->action == RK_ACT_PUSH_FILE ? (int)s->content : 0;

	return s->phase == w->phase && s->action == w->action && what == w->what &&
	    (who == NULL ? w->who == NULL : w->who != NULL && strcmp(who, w->who) == 0);
}

/* Fails unless the plan is exactly head, then tail, step for step. */
static void
expect_steps(const struct rk_plan *p, const struct want_step *head, size_t nhead,
    const struct want_step *tail, size_t ntail)
{
	char line[1024];
	size_t i;

	for (i = 0; i < p->nsteps && i < nhead + ntail; i++) {
		const struct want_step *w = i < nhead ? &head[i] : &tail[i - nhead];

		if (!step_is(&p->steps[i], w)) {
			rk_step_describe(line, sizeof(line), p, &p->steps[i]);
			fail_msg("step %zu: want %s %s, got %s %s: %s", i + 1,
			    rk_phase_name(w->phase), rk_action_name(w->action),
			    rk_phase_name(p->steps[i].phase), rk_action_name(p->steps[i].action),
			    line);
		}
	}
	assert_int_equal(p->nsteps, nhead + ntail);
}

static const char *
describe(char *line, size_t size, const struct built *b, enum rk_action a, const char *who,
    int what)
{
	for (size_t i = 0; i < b->plan->nsteps; i++) {
		const struct rk_step *s = &b->plan->steps[i];
		struct want_step w = { s->phase, a, who, what };

		if (step_is(s, &w)) {
			rk_step_describe(line, size, b->plan, s);
			return line;
		}
	}
	fail_msg("no %s step", rk_action_name(a));
	return NULL;
}

#define NSTEPS(t)	(sizeof(t) / sizeof((t)[0]))

static void
test_intermediate_rotation_under_trust_root_plans_exactly_its_steps(void **state)
{
	struct built b, overlap;
	char line[1024];

	(void)state;
	build_intermediate(&b, "root", "intermediate", "false");
	expect_steps(b.plan, intermediate_steps, NSTEPS(intermediate_steps), record_step, 1);
	assert_string_equal(describe(line, sizeof(line), &b, RK_ACT_GENERATE_CA, NULL, 0),
	    "generate a new issuing intermediate CA \"/CN=Issuing CA 2\" (pathlen 0): ec-p384 "
	    "key, 3650 days, signed by the parent CA /base/pki/root.crt");
	assert_string_equal(describe(line, sizeof(line), &b, RK_ACT_REVOKE_CA, NULL, 0),
	    "revoke the old intermediate /base/pki/ca.crt in the parent's CRL /base/pki/root.crl "
	    "(reason cACompromise), signed with the parent's key, every earlier entry kept, "
	    "next update in 7 days");
	assert_string_equal(describe(line, sizeof(line), &b, RK_ACT_PUSH_FILE, "env",
	    RK_CONTENT_TRUST_BUNDLE), "replace /ca  -:- 0644  root CA certificate (unchanged: "
	    "the root stays) (atomic, backup kept)");
	assert_string_equal(describe(line, sizeof(line), &b, RK_ACT_PUSH_FILE, "pa",
	    RK_CONTENT_CERT), "replace /c  -:- 0644  new certificate of s1, then the "
	    "intermediate CA (atomic, backup kept)");
	assert_non_null(strstr(describe(line, sizeof(line), &b, RK_ACT_VERIFY_SERVICE, "mb", 0),
	    ", it sends the intermediate after its certificate, serves the new fingerprint of "
	    "s2"));
	assert_non_null(strstr(describe(line, sizeof(line), &b, RK_ACT_CHECK_REFUSED, "pa",
	    RK_REFUSE_OLD_ISSUER), "prove on pa: a leaf of the old intermediate"));
	assert_non_null(strstr(describe(line, sizeof(line), &b, RK_ACT_CHECK_CA, NULL, 0),
	    "; the parent /base/pki/root.crt: its key loads and matches, it signed ca.cert"));

	/* The root stays, so there is no old trust to retire, overlap or not: the same plan. */
	build_intermediate(&overlap, "root", "intermediate", "true");
	assert_int_equal(count(overlap.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_PUSH_FILE), 0);
	assert_string_equal(overlap.plan->digest, b.plan->digest);
	release(&overlap);
	release(&b);
}

static void
test_intermediate_rotation_under_trust_chain_retires_the_old_intermediate(void **state)
{
	struct built b;
	char line[1024];

	(void)state;
	build_intermediate(&b, "chain", "intermediate", "true");
	expect_steps(b.plan, intermediate_steps, NSTEPS(intermediate_steps), retire_chain_steps,
	    NSTEPS(retire_chain_steps));
	/* Not the old-CA check of a new root: the old intermediate is refused by the CRLs. */
	assert_int_equal(count(b.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_CHECK_REFUSED), 0);
	assert_non_null(strstr(describe(line, sizeof(line), &b, RK_ACT_PUSH_FILE, "pa",
	    RK_CONTENT_TRUST_BUNDLE), "CA chain: old + new intermediate, up to the root"));
	assert_non_null(strstr(describe(line, sizeof(line), &b, RK_ACT_PUSH_FILE, "env",
	    RK_CONTENT_TRUST_FINAL), "CA chain: new intermediate, up to the root"));
	release(&b);

	/* Without overlap the CA files get the new chain at once, and nothing is retired. */
	build_intermediate(&b, "chain", "intermediate", "false");
	expect_steps(b.plan, intermediate_steps, NSTEPS(intermediate_steps), record_step, 1);
	assert_non_null(strstr(describe(line, sizeof(line), &b, RK_ACT_PUSH_FILE, "pa",
	    RK_CONTENT_TRUST_BUNDLE), "CA chain: new intermediate, up to the root"));
	release(&b);
}

static void
test_root_rotation_keeps_its_shape(void **state)
{
	struct built old, b;
	size_t generate, i;
	char line[1024];

	(void)state;
	/* rotate: root is what rotate: true always was, step for step. */
	build(&old, "true", 1, "true");
	build(&b, "root", 1, "true");
	assert_string_equal(b.plan->digest, old.plan->digest);
	release(&old);

	generate = find(b.plan, RK_ACT_GENERATE_CA, NULL, RK_CONTENT_NONE);
	assert_int_equal(b.plan->steps[generate].phase, RK_PHASE_ISSUE);
	assert_int_equal(b.plan->steps[generate + 1].action, RK_ACT_ISSUE_CERT);
	assert_int_equal(count(b.plan, RK_PHASE_ISSUE, RK_ACT_GENERATE_CA), 1);
	assert_int_equal(find(b.plan, RK_ACT_REVOKE_CA, NULL, RK_CONTENT_NONE), SIZE_MAX);
	assert_int_equal(count(b.plan, RK_PHASE_REVOKE, RK_ACT_REVOKE), 1);
	assert_int_equal(count(b.plan, RK_PHASE_REVOKE, RK_ACT_SIGN_CRL), 1);
	for (i = 0; i < b.plan->nsteps; i++)
		if (b.plan->steps[i].action == RK_ACT_CHECK_REFUSED)
			assert_int_not_equal(b.plan->steps[i].refusal, RK_REFUSE_OLD_ISSUER);
	assert_int_equal(count(b.plan, RK_PHASE_RETIRE_TRUST, RK_ACT_CHECK_REFUSED), 3);
	assert_string_equal(describe(line, sizeof(line), &b, RK_ACT_GENERATE_CA, NULL, 0),
	    "generate a new root CA \"/CN=New Root\": ec-p384 key, 3650 days");
	assert_null(strstr(describe(line, sizeof(line), &b, RK_ACT_PUSH_FILE, "pa",
	    RK_CONTENT_CERT), "intermediate"));
	release(&b);
}

static void
test_intermediate_rotation_signs_a_crl_with_nothing_to_revoke(void **state)
{
	struct built inter, chain, root;

	(void)state;
	build_intermediate(&inter, "root", "intermediate", "false");
	build_intermediate(&chain, "chain", "intermediate", "true");
	build_intermediate(&root, "root", "root", "true");
	/* The estate has no revocation and no CRL file: only the rotation asks for a CRL. */
	assert_int_equal(inter.model->nrevocations, 0);
	assert_true(rk_model_signs_crl(inter.model));
	assert_false(rk_model_signs_crl(root.model));
	assert_int_equal(count(root.plan, RK_PHASE_REVOKE, RK_ACT_SIGN_CRL), 0);
	/* A root clients trust is no trust change; a chain they hold is; a new root is. */
	assert_false(rk_model_trust_changes(inter.model));
	assert_true(rk_model_trust_changes(chain.model));
	assert_true(rk_model_trust_changes(root.model));
	/* Leaves are sent with the new intermediate; under a new root, alone. */
	assert_true(rk_model_leaves_have_intermediates(inter.model));
	assert_false(rk_model_leaves_have_intermediates(root.model));
	release(&inter);
	release(&chain);
	release(&root);
}

/* --only-expiring: the model narrowed, then planned: only what is kept is touched. */
static void
select_and_plan(struct built *b, const char *rotate, bool s1, bool s2, bool s3, bool cl,
    bool crl)
{
	const bool keep[] = { s1, s2, s3, cl };
	struct rk_err err = { 0 };

	build(b, rotate, 1, "true");
	rk_plan_free(b->plan);
	b->plan = NULL;
	assert_int_equal(b->model->ncertificates, 4);
	assert_int_equal(rk_model_select(b->model, keep, crl, &err), 0);
	assert_int_equal(rk_plan_build(&b->plan, b->model, NULL, &err), 0);
}

static void
test_a_narrowed_run_touches_only_what_it_keeps(void **state)
{
	struct built b;

	(void)state;
	/* s2 alone: pb stays, pa (it loads a CRL, but none is due) and mc and env go. */
	select_and_plan(&b, "false", false, true, false, false, false);
	assert_int_equal(b.model->ncertificates, 1);
	assert_string_equal(b.model->certificates[0].name, "s2");
	assert_int_equal(b.model->nservices, 1);
	assert_string_equal(b.model->services[0].name, "pb");
	assert_ptr_equal(b.model->services[0].certificate, &b.model->certificates[0]);
	assert_int_equal(b.model->nclients, 0);
	assert_int_equal(count(b.plan, RK_PHASE_ISSUE, RK_ACT_ISSUE_CERT), 1);
	assert_int_equal(count(b.plan, RK_PHASE_PREFLIGHT, RK_ACT_CONNECT_HOST), 1);
	assert_true(find(b.plan, RK_ACT_PUSH_FILE, "pb", RK_CONTENT_CERT) != SIZE_MAX);
	assert_true(find(b.plan, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_NONE) == SIZE_MAX);
	release(&b);

	/* The client certificate alone, the CRL due: pa stays for its CRL, without its key
	 * and certificate; the client gets its certificate; pb and mc go. */
	select_and_plan(&b, "false", false, false, false, true, true);
	assert_int_equal(b.model->ncertificates, 1);
	assert_string_equal(b.model->certificates[0].name, "cl");
	assert_int_equal(b.model->nservices, 1);
	assert_string_equal(b.model->services[0].name, "pa");
	assert_null(b.model->services[0].certificate);
	assert_false(b.model->services[0].files[RK_FILE_CERT].present);
	assert_false(b.model->services[0].files[RK_FILE_KEY].present);
	assert_true(b.model->services[0].files[RK_FILE_CRL].present);
	assert_int_equal(b.model->nclients, 1);
	assert_ptr_equal(b.model->clients[0].files[RK_FILE_CERT].certificate,
	    &b.model->certificates[0]);
	assert_true(find(b.plan, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_CRL) != SIZE_MAX);
	assert_true(find(b.plan, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_CERT) == SIZE_MAX);
	assert_true(find(b.plan, RK_ACT_PUSH_FILE, "pa", RK_CONTENT_KEY) == SIZE_MAX);
	/* It serves the certificate it had: nothing new is promised, the old is not refused. */
	assert_null(b.plan->steps[find(b.plan, RK_ACT_VERIFY_SERVICE, "pa",
	    RK_CONTENT_NONE)].certificate);
	release(&b);

	/* A new root reaches everyone who holds the CA file, whatever is due. */
	select_and_plan(&b, "true", false, false, true, false, false);
	assert_int_equal(b.model->nservices, 3);
	assert_int_equal(b.model->nclients, 1);
	assert_int_equal(count(b.plan, RK_PHASE_ISSUE, RK_ACT_ISSUE_CERT), 1);
	assert_false(b.model->clients[0].files[RK_FILE_CERT].present);
	assert_null(b.model->clients[0].files[RK_FILE_CERT].certificate);
	release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_are_numbered_and_phases_ordered),
		cmocka_unit_test(test_canary_wave_is_verified_before_the_rest_is_touched),
		cmocka_unit_test(test_trust_goes_first_and_key_before_certificate),
		cmocka_unit_test(test_old_trust_is_retired_only_when_the_ca_rotates_with_overlap),
		cmocka_unit_test(test_read_only_steps_and_descriptions),
		cmocka_unit_test(test_groups_cover_the_plan_in_order),
		cmocka_unit_test(test_pushes_name_the_step_their_content_comes_from),
		cmocka_unit_test(test_digest_follows_what_the_steps_do),
		cmocka_unit_test(
		    test_intermediate_rotation_under_trust_root_plans_exactly_its_steps),
		cmocka_unit_test(
		    test_intermediate_rotation_under_trust_chain_retires_the_old_intermediate),
		cmocka_unit_test(test_root_rotation_keeps_its_shape),
		cmocka_unit_test(test_intermediate_rotation_signs_a_crl_with_nothing_to_revoke),
		cmocka_unit_test(test_a_narrowed_run_touches_only_what_it_keeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
