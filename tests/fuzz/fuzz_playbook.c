/*
 * libFuzzer target for the playbook parser: any bytes in, a model or diags out, nothing leaked.
 * The playbook's folder does not exist, so the stat() of each file a playbook names fails the
 * same way every time and the result depends on the input alone. Besides crashes, leaks and
 * sanitizer reports, it stops on a broken contract of rk_playbook_parse() (playbook.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rekey/diag.h"
#include "rekey/err.h"
#include "rekey/model.h"
#include "rekey/playbook.h"

#define FUZZ_NAME	"fuzz.yml"
#define FUZZ_BASE_DIR	"/nonexistent/rekey-fuzz"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts, so that libFuzzer keeps the input that broke the contract. */
static void
contract_broken(const char *what)
{
	fprintf(stderr, "fuzz_playbook: contract broken: %s\n", what);
	abort();
}

/*
 * An upper bound on the line a diag may name. YAML also breaks lines at "\r", NEL (c2 85), LS
 * and PS (e2 80 a8/a9); counting every such byte overcounts, which keeps the bound safe. One
 * more line: libyaml puts the end of a stream without a final newline on a line of its own.
 */
static size_t
count_lines_at_most(const uint8_t *data, size_t size)
{
	size_t i, n = 2;

	for (i = 0; i < size; i++)
		if (data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xa8 ||
		    data[i] == 0xa9)
			n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_bytes text = { data, size };
	struct rk_model *model = NULL;
	struct rk_diags diags;
	struct rk_err err = { 0 };
	size_t i, lines;
	int r;

	rk_diags_init(&diags, FUZZ_NAME);
	r = rk_playbook_parse(&model, FUZZ_NAME, FUZZ_BASE_DIR, text, &diags, &err);
	if (r == 0 && (model == NULL || rk_diags_has_errors(&diags)))
		contract_broken("success without a model, or with an error diag");
	if (r != 0 && model != NULL)
		contract_broken("failure, yet a model");
	if (r == RK_E_USAGE && !rk_diags_has_errors(&diags))
		contract_broken("playbook refused without an error diag");
	if (r != 0 && r != RK_E_USAGE && r != RK_E_NOMEM)
		contract_broken("a result other than 0, RK_E_USAGE or RK_E_NOMEM");

	/* Every diag points into the input: line 0 is "the whole file", else line and column. */
	lines = count_lines_at_most(data, size);
	for (i = 0; i < diags.n; i++) {
		const struct rk_diag *g = &diags.items[i];

		if (g->msg == NULL)
			contract_broken("a diag without a message");
		if (g->pos.line > lines)
			contract_broken("a diag past the last line");
		if ((g->pos.line == 0) != (g->pos.col == 0))
			contract_broken("a diag with a line but no column, or the reverse");
	}

	rk_model_free(model);
	rk_diags_clear(&diags);
	return 0;
}
