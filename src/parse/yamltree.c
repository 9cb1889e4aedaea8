#include "rekey/yamltree.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct builder {
	struct rk_bytes			 text;
	const struct rk_ytree_limits	*limits;
	struct rk_diags			*diags;
	size_t				 nodes;
	bool				 oom;
};

static struct rk_pos
mark_pos(yaml_mark_t m)
{
	struct rk_pos p = { (unsigned)m.line + 1, (unsigned)m.column + 1 };

	return p;
}

void
rk_ynode_free(struct rk_ynode *node)
{
	size_t i;

	if (node == NULL)
		return;
	for (i = 0; i < node->n; i++)
		rk_ynode_free(node->items[i]);
	free(node->items);
	free(node->value);
	free(node);
}

static struct rk_ynode *
node_new(struct builder *b, enum rk_ynode_kind kind, yaml_mark_t mark)
{
	struct rk_ynode *n;

	if (++b->nodes > b->limits->max_nodes) {
		if (b->nodes == b->limits->max_nodes + 1)
			rk_diags_error(b->diags, mark_pos(mark),
			    "playbook has more than %zu YAML nodes", b->limits->max_nodes);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		b->oom = true;
		return NULL;
	}
	n->kind = kind;
	n->pos = mark_pos(mark);
	return n;
}

static bool
node_push(struct builder *b, struct rk_ynode *parent, struct rk_ynode *child)
{
	struct rk_ynode **grown;

	if (parent->n == parent->cap) {
		size_t cap = parent->cap == 0 ? 8 : parent->cap * 2;

		if ((grown = reallocarray(parent->items, cap, sizeof(*grown))) == NULL) {
			b->oom = true;
			return false;
		}
		parent->items = grown;
		parent->cap = cap;
	}
	parent->items[parent->n++] = child;
	return true;
}

/* Anchors are refused with aliases: a user who writes one expects the alias to work. */
static bool
refuse_anchor(struct builder *b, const yaml_char_t *anchor, yaml_mark_t mark)
{
	if (anchor == NULL)
		return false;
	rk_diags_error(b->diags, mark_pos(mark),
	    "YAML anchors and aliases are not supported (&%s): write the value out", anchor);
	return true;
}

static int	parse_node(struct builder *b, yaml_parser_t *p, yaml_event_t *ev,
		    struct rk_ynode **out, size_t depth);

static void
report_parser_error(struct builder *b, yaml_parser_t *p)
{
	yaml_mark_t mark = p->problem_mark;
	const char *problem = p->problem != NULL ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		b->oom = true;
		return;
	case YAML_READER_ERROR:
		/* The reader gives a byte offset, not a mark: turn it into a place. */
		rk_diags_error(b->diags, rk_pos_at_offset(b->text.ptr, p->problem_offset <
		    b->text.len ? p->problem_offset : b->text.len), "YAML: %s", problem);
		return;
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	case YAML_COMPOSER_ERROR:
	case YAML_WRITER_ERROR:
	case YAML_EMITTER_ERROR:
	case YAML_NO_ERROR:
		break;
	}
	/* An unclosed quote is found at the end of the file; the fix is where it opened. */
	if (p->context != NULL && strstr(p->context, "quoted scalar") != NULL &&
	    strstr(problem, "end of stream") != NULL) {
		rk_diags_error(b->diags, mark_pos(p->context_mark),
		    "YAML syntax error: this quote is never closed");
		return;
	}
	if (mark.index < b->text.len && b->text.ptr[mark.index] == '\t') {
		rk_diags_error(b->diags, mark_pos(mark),
		    "YAML syntax error: a tab in the indentation (YAML indents with spaces only)");
		return;
	}
	if (p->context != NULL)
		rk_diags_error(b->diags, mark_pos(mark), "YAML syntax error: %s %s (line %zu)",
		    problem, p->context, (size_t)p->context_mark.line + 1);
	else
		rk_diags_error(b->diags, mark_pos(mark), "YAML syntax error: %s", problem);
}

/* Returns 1 with *ev the next event, 0 on a parse error (already reported). */
static int
next_event(struct builder *b, yaml_parser_t *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(p, ev)) {
		report_parser_error(b, p);
		return 0;
	}
	return 1;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct rk_ynode *x = *(struct rk_ynode *const *)a;
	const struct rk_ynode *y = *(struct rk_ynode *const *)b;
	int c = strcmp(x->value, y->value);

	if (c != 0)
		return c;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

/* Sorting copies of the key pointers keeps this O(n log n) on hostile input. */
static void
check_duplicate_keys(struct builder *b, const struct rk_ynode *map)
{
	struct rk_ynode **keys;
	size_t nkeys = map->n / 2, i, first;

	if (nkeys < 2)
		return;
	if ((keys = calloc(nkeys, sizeof(*keys))) == NULL) {
		b->oom = true;
		return;
	}
	for (i = 0; i < nkeys; i++)
		keys[i] = map->items[2 * i];
	qsort(keys, nkeys, sizeof(*keys), key_cmp);
	for (i = 1, first = 0; i < nkeys; i++) {
		if (strcmp(keys[i]->value, keys[first]->value) != 0) {
			first = i;
			continue;
		}
		rk_diags_error(b->diags, keys[i]->pos, "duplicate key '%s' (first at line %u)",
		    keys[i]->value, keys[first]->pos.line);
	}
	free(keys);
}

static int
parse_collection(struct builder *b, yaml_parser_t *p, struct rk_ynode *coll, size_t depth)
{
	yaml_event_type_t end = coll->kind == RK_YNODE_SEQ ?
	    YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;
	yaml_event_t ev;
	struct rk_ynode *child;
	int r;

	for (;;) {
		if (!next_event(b, p, &ev))
			return 0;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		child = NULL;
		r = parse_node(b, p, &ev, &child, depth + 1);
		yaml_event_delete(&ev);
		if (r == 0)
			return 0;
		if (coll->kind == RK_YNODE_MAP && coll->n % 2 == 0 &&
		    child->kind != RK_YNODE_SCALAR) {
			rk_diags_error(b->diags, child->pos,
			    "a mapping key must be a plain word, not a %s",
			    rk_ynode_kind_name(child));
			rk_ynode_free(child);
			return 0;
		}
		if (!node_push(b, coll, child)) {
			rk_ynode_free(child);
			return 0;
		}
	}
	if (coll->kind == RK_YNODE_MAP)
		check_duplicate_keys(b, coll);
	return 1;
}

/* Takes ownership of nothing in ev; on 0 the error is reported and *out is NULL. */
static int
parse_node(struct builder *b, yaml_parser_t *p, yaml_event_t *ev, struct rk_ynode **out,
    size_t depth)
{
	struct rk_ynode *n = NULL;

	*out = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		rk_diags_error(b->diags, mark_pos(ev->start_mark),
		    "YAML aliases are not supported (*%s): write the value out",
		    ev->data.alias.anchor);
		return 0;
	case YAML_SCALAR_EVENT:
		if (refuse_anchor(b, ev->data.scalar.anchor, ev->start_mark))
			return 0;
		if (ev->data.scalar.length > b->limits->max_scalar) {
			rk_diags_error(b->diags, mark_pos(ev->start_mark),
			    "value is %zu bytes long, over the limit of %zu",
			    ev->data.scalar.length, b->limits->max_scalar);
			return 0;
		}
		if ((n = node_new(b, RK_YNODE_SCALAR, ev->start_mark)) == NULL)
			return 0;
		if ((n->value = malloc(ev->data.scalar.length + 1)) == NULL) {
			b->oom = true;
			rk_ynode_free(n);
			return 0;
		}
		memcpy(n->value, ev->data.scalar.value, ev->data.scalar.length);
		n->value[ev->data.scalar.length] = '\0';
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		*out = n;
		return 1;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (refuse_anchor(b, ev->type == YAML_SEQUENCE_START_EVENT ?
		    ev->data.sequence_start.anchor : ev->data.mapping_start.anchor,
		    ev->start_mark))
			return 0;
		if (depth >= b->limits->max_depth) {
			rk_diags_error(b->diags, mark_pos(ev->start_mark),
			    "playbook nests deeper than %zu levels", b->limits->max_depth);
			return 0;
		}
		n = node_new(b, ev->type == YAML_SEQUENCE_START_EVENT ?
		    RK_YNODE_SEQ : RK_YNODE_MAP, ev->start_mark);
		if (n == NULL)
			return 0;
		if (!parse_collection(b, p, n, depth)) {
			rk_ynode_free(n);
			return 0;
		}
		*out = n;
		return 1;
	case YAML_NO_EVENT:
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_START_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		break;
	}
	rk_diags_error(b->diags, mark_pos(ev->start_mark), "YAML: unexpected event");
	return 0;
}

bool
rk_ytree_parse(struct rk_ynode **out, struct rk_bytes text,
    const struct rk_ytree_limits *limits, struct rk_diags *diags)
{
	struct builder b = { text, limits, diags, 0, false };
	struct rk_ynode *root = NULL;
	yaml_parser_t p;
	yaml_event_t ev;
	bool in_doc = false;

	*out = NULL;
	if (!yaml_parser_initialize(&p))
		return false;
	yaml_parser_set_input_string(&p, text.ptr, text.len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	for (;;) {
		if (!next_event(&b, &p, &ev))
			goto fail;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			in_doc = false;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root != NULL) {
				rk_diags_error(diags, mark_pos(ev.start_mark),
				    "a playbook is one YAML document; found a second one");
				yaml_event_delete(&ev);
				goto fail;
			}
			in_doc = true;
			break;
		default:
			if (!in_doc || root != NULL) {
				rk_diags_error(diags, mark_pos(ev.start_mark),
				    "YAML: unexpected content");
				yaml_event_delete(&ev);
				goto fail;
			}
			if (!parse_node(&b, &p, &ev, &root, 0)) {
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (b.oom || diags->nerrors > 0) {
		rk_ynode_free(root);
		return !b.oom;
	}
	*out = root;
	return true;
 fail:
	yaml_parser_delete(&p);
	rk_ynode_free(root);
	return !b.oom;
}

const struct rk_ynode *
rk_ynode_get(const struct rk_ynode *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != RK_YNODE_MAP)
		return NULL;
	for (i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->items[i]->value, key) == 0)
			return map->items[i + 1];
	return NULL;
}

bool
rk_ynode_is_null(const struct rk_ynode *node)
{
	if (node == NULL)
		return true;
	if (node->kind != RK_YNODE_SCALAR || !node->plain)
		return false;
	return node->len == 0 || strcmp(node->value, "~") == 0 ||
	    strcmp(node->value, "null") == 0 || strcmp(node->value, "Null") == 0 ||
	    strcmp(node->value, "NULL") == 0;
}

const char *
rk_ynode_kind_name(const struct rk_ynode *node)
{
	if (node == NULL)
		return "nothing";
	switch (node->kind) {
	case RK_YNODE_SCALAR:	return rk_ynode_is_null(node) ? "empty value" : "single value";
	case RK_YNODE_SEQ:	return "list";
	case RK_YNODE_MAP:	return "mapping";
	}
	return "?";
}
