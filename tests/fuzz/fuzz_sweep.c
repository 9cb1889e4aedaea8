/*
 * libFuzzer target for what a host sends back to `rekey sweep` (sweep.h): any bytes as one
 * host's command output, read as rk_sweep_run reads a real one (its NUL-terminated records,
 * then a tar stream of candidate files, each read by the key-material reader and matched).
 * A hostile or broken host controls all of it. Beyond crashes, leaks and sanitizer reports,
 * it aborts when the report breaks its contract: a finding of another host or without a
 * path, a class count that is not the findings', a compromised finding naming no target or
 * no way it matched, or a host swept with an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/playbook.h"
#include "rekey/sweep.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char playbook[] =
    "version: 1\n"
    "incident: {id: FUZZ}\n"
    "ca: {cert: /nonexistent/ca.crt, key: /nonexistent/ca.key}\n"
    "hosts: {h: {transport: local}}\n"
    "sweep: {max_file_size: 64K, max_files: 100}\n";

static void
contract_broken(const char *what)
{
	fprintf(stderr, "fuzz_sweep: contract broken: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rk_model *model;
	struct rk_sweep_target targets[2];
	struct rk_sweep_request req;
	struct rk_sweep_report r;
	struct rk_bytes out = { data, size };
	struct rk_err err = { 0 };
	size_t i, counts[4] = { 0, 0, 0, 0 };

	if (model == NULL) {
		struct rk_diags d;

		rk_diags_init(&d, "fuzz.yml");
		if (rk_playbook_parse(&model, "fuzz.yml", "/", (struct rk_bytes){
		    (const unsigned char *)playbook, sizeof(playbook) - 1 }, &d, &err) != 0)
			contract_broken("the target's own playbook does not parse");
		rk_diags_clear(&d);
	}
	/* The seeds' certificate (corpus/sweep) by its key, and any certificate by a serial. */
	memset(targets, 0, sizeof(targets));
	targets[0].kind = RK_SWEEP_KEY;
	targets[0].ca_index = -1;
	snprintf(targets[0].name, sizeof(targets[0].name), "seed");
	snprintf(targets[0].spki_sha256, sizeof(targets[0].spki_sha256), "%s",
	    "146027f04dc096c66b7163a46d2246b7bcf34f9f9fac1a51d5ce68f58dfb8355");
	targets[1].kind = RK_SWEEP_CERTIFICATE;
	targets[1].ca_index = -1;
	snprintf(targets[1].name, sizeof(targets[1].name), "revoked");
	snprintf(targets[1].serial, sizeof(targets[1].serial), "01");
	snprintf(targets[1].issuer, sizeof(targets[1].issuer), "/CN=fuzz");
	memset(&req, 0, sizeof(req));
	req.model = model;
	req.targets = targets;
	req.ntargets = 2;
	req.max_parallel = 1;
	req.outputs = &out;
	if (rk_sweep_run(&r, &req, &err) != 0) {
		if (err.code != RK_E_NOMEM)
			contract_broken("a failure other than memory");
		return 0;
	}
	for (i = 0; i < r.nfindings; i++) {
		const struct rk_sweep_finding *f = &r.findings[i];

		if (f->host != 0 || f->path == NULL)
			contract_broken("a finding of no host or no path");
		if ((unsigned)f->cls > RK_SWEEP_TOO_LARGE)
			contract_broken("a finding of no class");
		counts[f->cls]++;
		if (f->cls == RK_SWEEP_COMPROMISED && (f->target < 0 ||
		    (size_t)f->target >= r.ntargets || f->match == NULL))
			contract_broken("a compromised finding that names nothing");
	}
	for (i = 0; i < 4; i++)
		if (counts[i] != r.counts[i])
			contract_broken("the counts are not the findings'");
	if (r.hosts[0].swept && r.hosts[0].error[0] != '\0')
		contract_broken("a host swept with an error");
	rk_sweep_report_clear(&r);
	return 0;
}
