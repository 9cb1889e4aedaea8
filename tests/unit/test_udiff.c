/* Unified diffs: exact output for the odd cases, and random pairs checked by GNU patch and diff. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "rekey/udiff.h"

static struct rk_bytes
b(const char *s)
{
	return (struct rk_bytes){ (const unsigned char *)s, strlen(s) };
}

/* The diff of old and new (shown through masked copies when given), as a string to free. */
static char *
diff_of(const char *old, const char *new, const char *old_shown, const char *new_shown,
    bool *changed)
{
	struct rk_udiff_input in = { "a/f", "b/f", b(old), b(new), { NULL, 0 }, { NULL, 0 },
	    RK_UDIFF_CONTEXT };
	struct rk_err err = { 0 };
	struct rk_buf out;

	if (old_shown != NULL)
		in.old_shown = b(old_shown);
	if (new_shown != NULL)
		in.new_shown = b(new_shown);
	rk_buf_init(&out, 1 << 24);
	assert_int_equal(rk_udiff(&out, &in, changed, &err), 0);
	if (out.ptr == NULL)
		return strdup("");
	return rk_buf_detach(&out);
}

static void
test_udiff_prints_hunks_as_diff_u_does(void **state)
{
	static const struct {
		const char *old, *new, *want;
	} cases[] = {
		/* A change in the middle, three lines of context each side. */
		{ "1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
		  "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n" },
		/* A line added at the end of a file without a final newline. */
		{ "a\nb", "a\nb\nc",
		  "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
		  "+c\n\\ No newline at end of file\n" },
		/* A new file: the empty range names line 0. */
		{ "", "x=1\n", "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x=1\n" },
		/* Two changes far apart are two hunks; close ones share one. */
		{ "a\n1\n2\n3\n4\n5\n6\n7\nb\n", "A\n1\n2\n3\n4\n5\n6\n7\nB\n",
		  "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -6,4 +6,4 @@\n 5\n"
		  " 6\n 7\n-b\n+B\n" },
		{ "a\n1\n2\n3\n4\n5\n6\nb\n", "A\n1\n2\n3\n4\n5\n6\nB\n",
		  "--- a/f\n+++ b/f\n@@ -1,8 +1,8 @@\n-a\n+A\n 1\n 2\n 3\n 4\n 5\n 6\n-b\n+B\n" },
		/* CRLF lines print without their CR; a control character cannot reach the
		 * terminal. */
		{ "k=1\r\nz=\x1b[2J\r\n", "k=2\r\nz=\x1b[2J\r\n",
		  "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-k=1\n+k=2\n z=\\x1b[2J\n" },
		/* Equal texts: nothing at all. */
		{ "same\n", "same\n", "" },
	};
	bool changed;
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = diff_of(cases[i].old, cases[i].new, NULL, NULL, &changed);
		assert_string_equal(got, cases[i].want);
		assert_true(changed == (cases[i].want[0] != '\0'));
		free(got);
	}
}

static void
test_udiff_shows_masked_lines_but_diffs_real_ones(void **state)
{
	bool changed;
	char *got;

	(void)state;
	/* The password changed: the line shows as changed, its values masked. */
	got = diff_of("HOST=db\nPASSWORD=old\n", "HOST=db\nPASSWORD=new\n",
	    "HOST=db\nPASSWORD=********\n", "HOST=db\nPASSWORD=********\n", &changed);
	assert_true(changed);
	assert_string_equal(got, "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n HOST=db\n"
	    "-PASSWORD=********\n+PASSWORD=********\n");
	assert_null(strstr(got, "old"));
	assert_null(strstr(got, "new"));
	free(got);
}

static void
test_udiff_refuses_a_copy_that_does_not_line_up(void **state)
{
	struct rk_udiff_input in = { "a", "b", b("x\ny\n"), b("x\nz\n"), b("x\n"), { NULL, 0 },
	    RK_UDIFF_CONTEXT };
	struct rk_err err = { 0 };
	struct rk_buf out;

	(void)state;
	rk_buf_init(&out, 4096);
	assert_int_equal(rk_udiff(&out, &in, NULL, &err), RK_E_INTERNAL);
	assert_int_equal(out.len, 0);
	rk_buf_clear(&out);
}

/* xorshift64: a fixed, portable sequence (rand() is banned and differs between libcs). */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random lines from a small alphabet, so that equal lines recur as in real files. */
static void
random_text(struct rk_buf *t, uint64_t *seed, size_t lines, unsigned words)
{
	struct rk_err err = { 0 };
	size_t i;

	for (i = 0; i < lines; i++)
		assert_int_equal(rk_buf_printf(t, &err, "line %u\n", (unsigned)(next(seed) % words)),
		    0);
}

/* Mutates src into dst: lines dropped, changed and added at random. */
static void
mutate(struct rk_buf *dst, const struct rk_buf *src, uint64_t *seed, unsigned rate)
{
	struct rk_err err = { 0 };
	const char *p = (const char *)src->ptr, *nl;

	for (; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		switch (next(seed) % rate) {
		case 0:		/* dropped */
			break;
		case 1:		/* changed */
			assert_int_equal(rk_buf_printf(dst, &err, "changed %u\n",
			    (unsigned)(next(seed) % 50)), 0);
			break;
		case 2:		/* one added before it */
			assert_int_equal(rk_buf_printf(dst, &err, "added %u\n",
			    (unsigned)(next(seed) % 50)), 0);
			/* fall through */
		default:
			assert_int_equal(rk_buf_append(dst, p, (size_t)(nl - p + 1), &err), 0);
		}
	}
	if (next(seed) % 3 == 0)
		assert_int_equal(rk_buf_append_str(dst, "tail without newline", &err), 0);
}

static void
write_file(const char *path, const struct rk_buf *content)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (content->len > 0)		/* an empty buffer has no data pointer */
		assert_int_equal(fwrite(content->ptr, 1, content->len, f), content->len);
	assert_int_equal(fclose(f), 0);
}

/* Lines starting with c after the header: the edits a diff makes. */
static size_t
count_edits(const char *diff, char c)
{
	const char *p;
	size_t n = 0;

	for (p = diff; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += p[0] == c && p[1] != c;
	return n;
}

static void
check_pair(const char *dir, const struct rk_buf *old, const struct rk_buf *new, bool minimal)
{
	char old_path[512], new_path[512], patch_path[512], out_path[512], *mine;
	static char output[1 << 20];
	struct rk_udiff_input in = { "a/f", "b/f", rk_buf_bytes(old), rk_buf_bytes(new),
	    { NULL, 0 }, { NULL, 0 }, RK_UDIFF_CONTEXT };
	struct rk_err err = { 0 };
	struct rk_buf diff, applied;
	int status;

	snprintf(old_path, sizeof(old_path), "%s/old", dir);
	snprintf(new_path, sizeof(new_path), "%s/new", dir);
	snprintf(patch_path, sizeof(patch_path), "%s/patch", dir);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	write_file(old_path, old);
	write_file(new_path, new);
	rk_buf_init(&diff, 1 << 26);
	assert_int_equal(rk_udiff(&diff, &in, NULL, &err), 0);
	write_file(patch_path, &diff);
	mine = (char *)diff.ptr;

	/* GNU patch rebuilds the new text from the old one and our diff. */
	status = rk_test_run(output, sizeof(output), (char *[]){ "patch", "-s", "-o", out_path,
	    old_path, patch_path, NULL });
	if (status != 0)
		fail_msg("patch refused our diff: %s\n%s", output, mine ? mine : "");
	rk_buf_init(&applied, 1 << 26);
	{
		FILE *f = fopen(out_path, "rb");
		char chunk[4096];
		size_t n;

		assert_non_null(f);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			assert_int_equal(rk_buf_append(&applied, chunk, n, &err), 0);
		fclose(f);
	}
	assert_int_equal(applied.len, new->len);
	assert_memory_equal(applied.ptr, new->ptr, new->len);

	/* Myers is minimal: as few edits as GNU diff --minimal finds. */
	rk_test_run(output, sizeof(output), (char *[]){ "diff", "--minimal", "-u", old_path,
	    new_path, NULL });
	if (minimal)
		assert_int_equal(count_edits(mine, '-') + count_edits(mine, '+'),
		    count_edits(output, '-') + count_edits(output, '+'));
	rk_buf_clear(&applied);
	rk_buf_clear(&diff);
}

static void
test_udiff_random_pairs_are_applied_by_patch_and_minimal(void **state)
{
	char dir[] = "/tmp/rk-udiff-XXXXXX", path[600];
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct rk_buf old, new;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 150; i++) {
		rk_buf_init(&old, 1 << 24);
		rk_buf_init(&new, 1 << 24);
		random_text(&old, &seed, next(&seed) % 60, 8);
		mutate(&new, &old, &seed, 4 + (unsigned)(next(&seed) % 12));
		check_pair(dir, &old, &new, true);
		rk_buf_clear(&old);
		rk_buf_clear(&new);
	}
	/* Past the bound on edits, the diff is coarser but still exact. */
	rk_buf_init(&old, 1 << 24);
	rk_buf_init(&new, 1 << 24);
	random_text(&old, &seed, 3000, 1000);
	mutate(&new, &old, &seed, 3);
	check_pair(dir, &old, &new, false);
	rk_buf_clear(&old);
	rk_buf_clear(&new);
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
		    (const char *[]){ "old", "new", "patch", "out" }[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udiff_prints_hunks_as_diff_u_does),
		cmocka_unit_test(test_udiff_shows_masked_lines_but_diffs_real_ones),
		cmocka_unit_test(test_udiff_refuses_a_copy_that_does_not_line_up),
		cmocka_unit_test(test_udiff_random_pairs_are_applied_by_patch_and_minimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
