/*
 * Trust sets: which CA certificates clients trust before, during and after a run, and which
 * a server sends after its leaf, for every shape of CA a playbook can name. Each case is a
 * model made by hand over real certificate files, and each answer is read back as PEM and
 * compared certificate by certificate (fingerprints, in order).
 */
#include "hierarchy.h"

#include "rekey/trustset.h"

/*
 *   Root -- Int (pathlen 0), New Int (pathlen 0)
 *   Root -- Policy -- Issuing (pathlen 0), New Issuing (pathlen 0)
 *   New Root
 */
enum cert_id { ROOT, INT, NEW_INT, POLICY, ISSUING, NEW_ISSUING, NEW_ROOT, NCERTS };
#define END	(-1)
#define NONE	(-1)

/* The ca.chain files a case may name. */
enum chain_id { NO_CHAIN, CHAIN_ROOT, CHAIN_POLICY_ROOT, CHAIN_ROOT_TWICE, NCHAINS };

struct fixture {
	char		dir[64];
	struct hca	certs[NCERTS];
	char		path[NCERTS][128];	/* each certificate alone */
	char		chain[NCHAINS][128];	/* "" for NO_CHAIN */
};

static int
setup(void **state)
{
	static const struct {
		const char *cn;
		bool issuing_only;
		int issuer;
	} made[NCERTS] = {
		[ROOT] = { "Root", false, NONE },
		[INT] = { "Int", true, ROOT },
		[NEW_INT] = { "New Int", true, ROOT },
		[POLICY] = { "Policy", false, ROOT },
		[ISSUING] = { "Issuing", true, POLICY },
		[NEW_ISSUING] = { "New Issuing", true, POLICY },
		[NEW_ROOT] = { "New Root", false, NONE },
	};
	struct fixture *f = calloc(1, sizeof(*f));
	const struct rk_cert *root, *policy;
	char name[32];
	size_t i;

	assert_non_null(f);
	hier_dir_make(f->dir, sizeof(f->dir), "trustset");
	for (i = 0; i < NCERTS; i++) {
		hca_issue(&f->certs[i], made[i].cn, RK_PROFILE_CA, made[i].issuing_only, 365,
		    made[i].issuer == NONE ? NULL : &f->certs[made[i].issuer]);
		snprintf(name, sizeof(name), "cert-%zu.pem", i);
		hier_write_certs(f->path[i], sizeof(f->path[i]), f->dir, name,
		    (const struct rk_cert *[]){ f->certs[i].cert }, 1);
	}
	root = f->certs[ROOT].cert;
	policy = f->certs[POLICY].cert;
	hier_write_certs(f->chain[CHAIN_ROOT], sizeof(f->chain[0]), f->dir, "chain-root.pem",
	    &root, 1);
	hier_write_certs(f->chain[CHAIN_POLICY_ROOT], sizeof(f->chain[0]), f->dir,
	    "chain-policy-root.pem", (const struct rk_cert *[]){ policy, root }, 2);
	hier_write_certs(f->chain[CHAIN_ROOT_TWICE], sizeof(f->chain[0]), f->dir,
	    "chain-root-twice.pem", (const struct rk_cert *[]){ root, root }, 2);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;

	hier_dir_remove(f->dir);
	for (i = 0; i < NCERTS; i++)
		hca_clear(&f->certs[i]);
	free(f);
	return 0;
}

/* The playbook's ca and policy, as far as trust sets read them. */
struct shape {
	int			ca;		/* ca.cert */
	enum chain_id		chain;
	enum rk_trust		trust;
	enum rk_ca_rotation	rotate;
	bool			overlap;	/* policy.trust_overlap */
	int			new_ca;		/* the run's new CA, or NONE */
};

static void
model_of(struct rk_model *m, struct fixture *f, const struct shape *s)
{
	memset(m, 0, sizeof(*m));
	m->ca.cert = f->path[s->ca];
	m->ca.chain = s->chain == NO_CHAIN ? NULL : f->chain[s->chain];
	m->ca.trust = s->trust;
	m->ca.rotate = s->rotate;
	m->policy.trust_overlap = s->overlap;
}

/* Fails unless pem holds exactly the certificates want (END-terminated), in that order. */
static void
expect_certs(const char *label, const char *what, const struct fixture *f,
    const struct rk_buf *pem, const int *want)
{
	char got_fp[RK_FINGERPRINT_LEN], want_fp[RK_FINGERPRINT_LEN], subject[128];
	struct rk_cert **got = NULL;
	struct rk_err err = { 0 };
	size_t n = 0, nwant = 0, i;

	while (want[nwant] != END)
		nwant++;
	if (nwant == 0) {
		if (pem->len != 0)
			fail_msg("%s: %s: want nothing, got %zu bytes", label, what, pem->len);
		return;
	}
	if (rk_cert_load_bundle(&got, &n, rk_buf_bytes(pem), what, &err) != 0)
		fail_msg("%s: %s: %s", label, what, err.msg);
	if (n != nwant)
		fail_msg("%s: %s: want %zu certificates, got %zu", label, what, nwant, n);
	for (i = 0; i < n; i++) {
		rk_cert_fingerprint(got_fp, got[i]);
		rk_cert_fingerprint(want_fp, f->certs[want[i]].cert);
		if (strcmp(got_fp, want_fp) != 0) {
			(void)rk_cert_subject(subject, sizeof(subject), got[i]);
			fail_msg("%s: %s: certificate %zu is %s", label, what, i + 1, subject);
		}
	}
	rk_cert_bundle_free(got, n);
}

static const char *const moment_names[] = { "before", "during", "after" };

static void
test_each_shape_of_ca_trusts_and_sends_the_right_certificates(void **state)
{
	static const struct {
		const char *label;
		struct shape shape;
		int before[5], during[5], after[5], intermediates[5];
	} cases[] = {
		/* ca.cert a root: it is the trust, and servers send the leaf alone. */
		{ "root", { ROOT, NO_CHAIN, RK_TRUST_ROOT, RK_ROTATE_NONE, true, NONE },
		    { ROOT, END }, { ROOT, END }, { ROOT, END }, { END } },
		{ "rotate root, overlap", { ROOT, NO_CHAIN, RK_TRUST_ROOT, RK_ROTATE_ROOT, true,
		    NEW_ROOT }, { ROOT, END }, { ROOT, NEW_ROOT, END }, { NEW_ROOT, END },
		    { END } },
		{ "rotate root, no overlap", { ROOT, NO_CHAIN, RK_TRUST_ROOT, RK_ROTATE_ROOT, false,
		    NEW_ROOT }, { ROOT, END }, { NEW_ROOT, END }, { NEW_ROOT, END }, { END } },
		/* ca.cert an intermediate: servers send it after the leaf. */
		{ "intermediate, trust root", { INT, CHAIN_ROOT, RK_TRUST_ROOT, RK_ROTATE_NONE,
		    true, NONE }, { ROOT, END }, { ROOT, END }, { ROOT, END }, { INT, END } },
		{ "intermediate, trust chain", { INT, CHAIN_ROOT, RK_TRUST_CHAIN, RK_ROTATE_NONE,
		    true, NONE }, { INT, ROOT, END }, { INT, ROOT, END }, { INT, ROOT, END },
		    { INT, END } },
		/* A new intermediate under the root clients trust: no trust file changes. */
		{ "rotate intermediate, trust root, overlap", { INT, CHAIN_ROOT, RK_TRUST_ROOT,
		    RK_ROTATE_INTERMEDIATE, true, NEW_INT }, { ROOT, END }, { ROOT, END },
		    { ROOT, END }, { NEW_INT, END } },
		{ "rotate intermediate, trust root, no overlap", { INT, CHAIN_ROOT, RK_TRUST_ROOT,
		    RK_ROTATE_INTERMEDIATE, false, NEW_INT }, { ROOT, END }, { ROOT, END },
		    { ROOT, END }, { NEW_INT, END } },
		/*
		 * The old trust first, then what is new, the root once: old int, root, new int.
		 * Servers not yet swapped may send their old leaf alone (under trust: chain
		 * clients held the intermediate), so the old intermediate is kept until the
		 * retire phase; the order does not matter to OpenSSL, which picks an issuer by
		 * name and key identifier.
		 */
		{ "rotate intermediate, trust chain, overlap", { INT, CHAIN_ROOT, RK_TRUST_CHAIN,
		    RK_ROTATE_INTERMEDIATE, true, NEW_INT }, { INT, ROOT, END },
		    { INT, ROOT, NEW_INT, END }, { NEW_INT, ROOT, END }, { NEW_INT, END } },
		{ "rotate intermediate, trust chain, no overlap", { INT, CHAIN_ROOT,
		    RK_TRUST_CHAIN, RK_ROTATE_INTERMEDIATE, false, NEW_INT }, { INT, ROOT, END },
		    { NEW_INT, ROOT, END }, { NEW_INT, ROOT, END }, { NEW_INT, END } },
		/* Three levels: servers send the middle CA too, never the root. */
		{ "3 levels, trust root", { ISSUING, CHAIN_POLICY_ROOT, RK_TRUST_ROOT,
		    RK_ROTATE_NONE, true, NONE }, { ROOT, END }, { ROOT, END }, { ROOT, END },
		    { ISSUING, POLICY, END } },
		{ "3 levels, trust chain", { ISSUING, CHAIN_POLICY_ROOT, RK_TRUST_CHAIN,
		    RK_ROTATE_NONE, true, NONE }, { ISSUING, POLICY, ROOT, END },
		    { ISSUING, POLICY, ROOT, END }, { ISSUING, POLICY, ROOT, END },
		    { ISSUING, POLICY, END } },
		{ "3 levels, rotate intermediate, trust root", { ISSUING, CHAIN_POLICY_ROOT,
		    RK_TRUST_ROOT, RK_ROTATE_INTERMEDIATE, true, NEW_ISSUING }, { ROOT, END },
		    { ROOT, END }, { ROOT, END }, { NEW_ISSUING, POLICY, END } },
		{ "3 levels, rotate intermediate, trust chain", { ISSUING, CHAIN_POLICY_ROOT,
		    RK_TRUST_CHAIN, RK_ROTATE_INTERMEDIATE, true, NEW_ISSUING },
		    { ISSUING, POLICY, ROOT, END }, { ISSUING, POLICY, ROOT, NEW_ISSUING, END },
		    { NEW_ISSUING, POLICY, ROOT, END }, { NEW_ISSUING, POLICY, END } },
		/* Each certificate once: a new CA that is the old one, a root listed twice. */
		{ "rotate root to the same CA", { ROOT, NO_CHAIN, RK_TRUST_ROOT, RK_ROTATE_ROOT,
		    true, ROOT }, { ROOT, END }, { ROOT, END }, { ROOT, END }, { END } },
		{ "root twice in ca.chain", { INT, CHAIN_ROOT_TWICE, RK_TRUST_CHAIN,
		    RK_ROTATE_NONE, true, NONE }, { INT, ROOT, END }, { INT, ROOT, END },
		    { INT, ROOT, END }, { INT, END } },
	};
	struct fixture *f = *state;
	size_t i, moment;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const int *want[] = { cases[i].before, cases[i].during, cases[i].after };
		const char *new_ca = cases[i].shape.new_ca == NONE ? NULL :
		    f->path[cases[i].shape.new_ca];
		struct rk_model m;
		struct rk_err err = { 0 };
		struct rk_buf pem;

		model_of(&m, f, &cases[i].shape);
		for (moment = RK_TRUST_BEFORE; moment <= RK_TRUST_AFTER; moment++) {
			rk_buf_init(&pem, RK_PEM_MAX * 4);
			if (rk_trust_bundle(&pem, &m, new_ca, (enum rk_trust_moment)moment,
			    &err) != 0)
				fail_msg("%s: %s: %s", cases[i].label, moment_names[moment],
				    err.msg);
			expect_certs(cases[i].label, moment_names[moment], f, &pem, want[moment]);
			rk_buf_clear(&pem);
		}
		rk_buf_init(&pem, RK_PEM_MAX * 4);
		if (rk_trust_intermediates(&pem, &m, new_ca, &err) != 0)
			fail_msg("%s: intermediates: %s", cases[i].label, err.msg);
		expect_certs(cases[i].label, "intermediates", f, &pem, cases[i].intermediates);
		rk_buf_clear(&pem);
	}
}

/* Before the new CA exists only the trust before the run can be asked for. */
static void
test_what_needs_the_new_ca_fails_without_it(void **state)
{
	struct fixture *f = *state;
	const struct shape root = { ROOT, NO_CHAIN, RK_TRUST_ROOT, RK_ROTATE_ROOT, true, NONE };
	const struct shape inter = { INT, CHAIN_ROOT, RK_TRUST_ROOT, RK_ROTATE_INTERMEDIATE,
	    true, NONE };
	struct rk_model m;
	struct rk_err err = { 0 };
	struct rk_buf pem;

	rk_buf_init(&pem, RK_PEM_MAX * 4);
	model_of(&m, f, &root);
	assert_int_equal(rk_trust_bundle(&pem, &m, NULL, RK_TRUST_BEFORE, &err), 0);
	expect_certs("rotate root", "before", f, &pem, (const int[]){ ROOT, END });
	assert_int_equal(rk_trust_bundle(&pem, &m, NULL, RK_TRUST_AFTER, &err), RK_E_INTERNAL);
	assert_string_equal(err.msg, "the trust after the run needs the new CA");
	rk_err_clear(&err);
	assert_int_equal(rk_trust_bundle(&pem, &m, NULL, RK_TRUST_DURING, &err), RK_E_INTERNAL);
	rk_err_clear(&err);

	model_of(&m, f, &inter);
	assert_int_equal(rk_trust_intermediates(&pem, &m, NULL, &err), RK_E_INTERNAL);
	assert_string_equal(err.msg, "the intermediates need the new CA");
	rk_buf_clear(&pem);
}

static void
test_chain_deeper_than_the_trust_cap_is_refused(void **state)
{
	struct fixture *f = *state;
	const struct rk_cert *roots[RK_TRUST_MAX];
	const struct shape deep = { INT, CHAIN_ROOT, RK_TRUST_CHAIN, RK_ROTATE_NONE, true,
	    NONE };
	char path[128];
	struct rk_model m;
	struct rk_err err = { 0 };
	struct rk_buf pem;
	size_t i;

	for (i = 0; i < RK_TRUST_MAX; i++)
		roots[i] = f->certs[ROOT].cert;
	model_of(&m, f, &deep);
	rk_buf_init(&pem, RK_PEM_MAX * 4);
	/* ca.cert and fourteen more: at the cap, and each certificate once. */
	hier_write_certs(path, sizeof(path), f->dir, "deep.pem", roots, RK_TRUST_MAX - 2);
	m.ca.chain = path;
	assert_int_equal(rk_trust_bundle(&pem, &m, NULL, RK_TRUST_BEFORE, &err), 0);
	expect_certs("at the cap", "before", f, &pem, (const int[]){ INT, ROOT, END });
	rk_buf_clear(&pem);
	/* Sixteen in all: one over. */
	hier_write_certs(path, sizeof(path), f->dir, "deep.pem", roots, RK_TRUST_MAX - 1);
	assert_int_equal(rk_trust_bundle(&pem, &m, NULL, RK_TRUST_BEFORE, &err), RK_E_LIMIT);
	assert_non_null(strstr(err.msg, "more than 15 certificates in the chain"));
	assert_int_equal(pem.len, 0);
	rk_buf_clear(&pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_shape_of_ca_trusts_and_sends_the_right_certificates),
		cmocka_unit_test(test_what_needs_the_new_ca_fails_without_it),
		cmocka_unit_test(test_chain_deeper_than_the_trust_cap_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
