/*
 * rule_compile.c - parsed rules to Hyperscan databases (detect_db.h).
 *
 * Owns rule ordering (action priority, then file order), the pattern table
 * that maps Hyperscan ids back to rule conditions, literal escaping, and one
 * database per inspected buffer.  Runs on the control side only: compiling
 * can take seconds and must never run on a worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ips/detect_db.h"

/* Expressions of one buffer, gathered before hs_compile_ext_multi. */
struct rc_exprs {
	const char **expr;
	unsigned *flags;
	unsigned *ids;
	const hs_expr_ext_t **ext;
	uint32_t n;
};

static uint64_t rc_generation;

static double
rc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A literal becomes a regex of \xHH escapes: no metacharacter in a content
 * can change its meaning.  endswith anchors it at the end of the data. */
static char *
rc_literal_regex(const uint8_t *b, uint32_t len, int endswith)
{
	static const char hex[] = "0123456789abcdef";
	char *s = malloc((size_t)len * 4 + 3);

	if (s == NULL)
		return NULL;
	for (uint32_t i = 0; i < len; i++) {
		s[i * 4] = '\\';
		s[i * 4 + 1] = 'x';
		s[i * 4 + 2] = hex[b[i] >> 4];
		s[i * 4 + 3] = hex[b[i] & 15];
	}
	strcpy(s + (size_t)len * 4, endswith ? "\\z" : "");
	return s;
}

/* A pcre's Hyperscan expression: the body, with (?x) in front for the
 * extended flag Hyperscan has no HS_FLAG_* for. */
static char *
rc_pcre_regex(const struct ips_cond *cd)
{
	int ext = (cd->pcre_opts & IPS_PCRE_EXTENDED) != 0;
	char *s = malloc((size_t)cd->len + 5);

	if (s != NULL) {
		memcpy(s, "(?x)", ext ? 4 : 0);
		memcpy(s + (ext ? 4 : 0), cd->bytes, (size_t)cd->len + 1);
	}
	return s;
}

/* A pcre is confirmed by PCRE2 on the held buffer, so Hyperscan only
 * prefilters it (HS_FLAG_PREFILTER: a superset of its matches, which
 * also compiles back-references and lookarounds); except a raw-stream
 * pcre Hyperscan runs exactly, which it decides alone over the whole
 * stream, not only the held window. */
static unsigned
rc_pcre_flags(const struct ips_cond *cd)
{
	return cd->hs_flags | HS_FLAG_SINGLEMATCH |
	       (cd->pcre_opts & IPS_PCRE_EXACT_HS ? 0 : HS_FLAG_PREFILTER);
}

/* Whether Hyperscan accepts the expression of cd as rc_pcre_flags says. */
static int
rc_pcre_compiles(const struct ips_cond *cd)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *ce = NULL;
	char *expr = rc_pcre_regex(cd);
	int ok;

	if (expr == NULL)
		return 1;               /* the compile reports the memory */
	ok = hs_expression_info(expr, rc_pcre_flags(cd), &info, &ce) ==
	     HS_SUCCESS;
	free(info);
	hs_free_compile_error(ce);
	free(expr);
	return ok;
}

/* A raw-stream pcre Hyperscan can decide alone: nothing placed relative
 * to it or it to another, and a regex it compiles exactly. */
static void
rc_mark_exact_stream_pcre(struct ips_cond *cd)
{
	if (cd->kind != IPS_COND_PCRE || cd->buffer != IPS_BUF_STREAM ||
	    cd->relative || cd->retry_next || cd->negated)
		return;
	cd->pcre_opts |= IPS_PCRE_EXACT_HS;
	if (!rc_pcre_compiles(cd))
		cd->pcre_opts &= (uint16_t)~IPS_PCRE_EXACT_HS;
}

/* Expression text, flags and extended parameters for one condition. */
static int
rc_expression(const struct ips_cond *cd, char **expr, unsigned *flags,
              hs_expr_ext_t *ext)
{
	memset(ext, 0, sizeof(*ext));
	if (cd->kind == IPS_COND_PCRE) {
		*expr = rc_pcre_regex(cd);
		*flags = rc_pcre_flags(cd);
		return *expr ? 0 : -1;
	}
	*expr = rc_literal_regex(cd->bytes, cd->len, cd->endswith);
	*flags = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH |
	         (cd->nocase ? HS_FLAG_CASELESS : 0);
	/* Offsets are of the match end: a literal of len bytes starting at or
	 * after offset ends at offset+len or later, and within depth bytes of
	 * offset ends at offset+depth at most. */
	if (cd->offset) {
		ext->flags |= HS_EXT_FLAG_MIN_OFFSET;
		ext->min_offset = (unsigned long long)cd->offset + cd->len;
	}
	if (cd->depth) {
		ext->flags |= HS_EXT_FLAG_MAX_OFFSET;
		ext->max_offset = (unsigned long long)cd->offset + cd->depth;
	}
	return *expr ? 0 : -1;
}

/* A raw-stream pcre confirmed on the held window, in a rule with a
 * positive content that already makes it a candidate: Hyperscan need
 * not prefilter it (Suricata's way: the content is the fast pattern).
 * Prefilter forms of ET's long bounded repeats ({1075,}) cost seconds of
 * stream-mode compile each and add nothing the content does not. */
static int
rc_window_pcre_left_to_pcre2(const struct ips_rule *r,
                             const struct ips_cond *cd)
{
	if (cd->kind != IPS_COND_PCRE || !ips_cond_needs_window(cd))
		return 0;
	for (uint32_t i = 0; i < r->n_conds; i++)
		if (r->conds[i].kind == IPS_COND_CONTENT &&
		    !r->conds[i].negated)
			return 1;
	return 0;
}

/*
 * Whether a condition goes into its buffer's Hyperscan database.  Every
 * compiled condition is a necessary one: a positive must have matched,
 * a negated one that matched vetoes the rule.  What Hyperscan cannot
 * decide that way is left to the dataplane's inspection of the held
 * buffer (detect_inspect.c):
 *   - a negated relative content is only absent from its window;
 *   - a relative pcre (R) is anchored at the previous match, and a
 *     negated pcre's prefilter is a superset, which cannot veto;
 *   - isdataat, bsize, urilen, byte_test, byte_jump are not patterns;
 *   - a pcre Hyperscan cannot compile even as a prefilter (PCRE2 alone
 *     then decides it).
 */
static int
rc_compiled(const struct ips_cond *cd)
{
	switch (cd->kind) {
	case IPS_COND_CONTENT:
		return !(cd->relative && cd->negated);
	case IPS_COND_PCRE:
		break;
	default:
		return 0;
	}
	if (cd->pcre_opts & IPS_PCRE_EXACT_HS)
		return 1;
	if (cd->relative || cd->negated)
		return 0;
	return rc_pcre_compiles(cd);
}

/* Where flowbits put a rule among those of its action (Suricata's
 * ordering): rules that only set come first, then those that set and
 * test, then those that only test, so a bit set by one rule is seen by
 * a rule tested later in the same transaction.  xbits rank the same way,
 * host bits then pair bits, after flowbits (Suricata's hostbits and
 * ippairbits orderings). */
static int
rc_bits_rank(const struct ips_flowbit *bits, uint32_t n, int pair)
{
	int sets = 0, tests = 0;

	for (uint32_t i = 0; i < n; i++) {
		int test = bits[i].op == IPS_FB_ISSET ||
		           bits[i].op == IPS_FB_ISNOTSET;

		if ((bits[i].track == IPS_XBIT_IP_PAIR) != pair)
			continue;
		tests |= test;
		sets |= !test;
	}
	return sets && !tests ? 0 : sets ? 1 : tests ? 2 : 3;
}

static int
rc_before(const struct ips_rule *a, const struct ips_rule *b)
{
	int ra, rb;

	if (a->action != b->action)
		return a->action < b->action;
	ra = rc_bits_rank(a->flowbits, a->n_flowbits, 0);
	rb = rc_bits_rank(b->flowbits, b->n_flowbits, 0);
	if (ra == rb) {
		ra = rc_bits_rank(a->xbits, a->n_xbits, 0);
		rb = rc_bits_rank(b->xbits, b->n_xbits, 0);
	}
	if (ra == rb) {
		ra = rc_bits_rank(a->xbits, a->n_xbits, 1);
		rb = rc_bits_rank(b->xbits, b->n_xbits, 1);
	}
	return ra < rb;
}

/* Number every flowbit name of the set (IPS_MAX_FLOWBITS at most). */
static int
rc_number_flowbits(struct ips_ruleset *rs, char *err, size_t errlen)
{
	const char *names[IPS_MAX_FLOWBITS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < rs->n_rules; i++) {
		struct ips_rule *r = &rs->rules[i];

		for (uint32_t k = 0; k < r->n_flowbits; k++) {
			struct ips_flowbit *fb = &r->flowbits[k];
			uint32_t b = 0;

			while (b < n && strcmp(names[b], fb->name) != 0)
				b++;
			if (b == n) {
				if (n == IPS_MAX_FLOWBITS) {
					snprintf(err, errlen, "%s:%u: sid %u: flowbits: "
					         "more than %d flowbit names in the "
					         "rule set", r->file ? r->file : "-",
					         r->line, r->sid, IPS_MAX_FLOWBITS);
					return -1;
				}
				names[n++] = fb->name;
			}
			fb->bit = (uint16_t)b;
		}
	}
	return 0;
}

/* Stable merge sort by action priority: equal actions keep file order,
 * which qsort does not promise. */
static void
rc_sort_rules(struct ips_rule *r, uint32_t n, struct ips_rule *tmp)
{
	uint32_t mid;

	if (n < 2)
		return;
	mid = n / 2;
	rc_sort_rules(r, mid, tmp);
	rc_sort_rules(r + mid, n - mid, tmp);
	{
		uint32_t i = 0, j = mid, k = 0;

		while (i < mid && j < n)
			tmp[k++] = rc_before(&r[j], &r[i]) ? r[j++] : r[i++];
		while (i < mid)
			tmp[k++] = r[i++];
		while (j < n)
			tmp[k++] = r[j++];
		memcpy(r, tmp, n * sizeof(*r));
	}
}

static int
rc_build_tables(struct ips_detect_db *db, char *err, size_t errlen)
{
	struct ips_ruleset *rs = &db->rules;
	uint32_t np = 0, na = 0;

	for (uint32_t i = 0; i < rs->n_rules; i++)
		np += rs->rules[i].n_conds;
	db->meta = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*db->meta));
	db->patterns = calloc(np ? np : 1, sizeof(*db->patterns));
	db->always = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*db->always));
	if (!db->meta || !db->patterns || !db->always) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	np = 0;
	for (uint32_t i = 0; i < rs->n_rules; i++) {
		const struct ips_rule *r = &rs->rules[i];
		struct ips_rule_meta *m = &db->meta[i];

		m->first_pattern = np;
		for (uint32_t c = 0; c < r->n_conds; c++) {
			struct ips_cond *cd = &r->conds[c];
			struct ips_pattern *p = &db->patterns[np++];

			rc_mark_exact_stream_pcre(cd);
			cd->hs_skip = !rc_compiled(cd) ||
			              rc_window_pcre_left_to_pcre2(r, cd);
			p->rule = i;
			p->cond = (uint16_t)c;
			p->buffer = cd->buffer;
			p->negated = cd->negated;
			/* the prefilter counts compiled conditions only */
			if (!cd->hs_skip) {
				m->n_negated += cd->negated;
				m->n_positive += !cd->negated;
			}
			m->buffers |= IPS_BUF_BIT(cd->buffer);
			if (ips_buffer_is_body(cd->buffer))
				m->needs_body = 1;
		}
		if (m->n_positive == 0)
			db->always[na++] = i;
	}
	db->n_patterns = np;
	db->n_always = na;
	return 0;
}

static void
rc_exprs_free(struct rc_exprs *x)
{
	for (uint32_t i = 0; i < x->n; i++)
		free((void *)x->expr[i]);
	free(x->expr);
	free(x->flags);
	free(x->ids);
	free(x->ext);
	memset(x, 0, sizeof(*x));
}

static int
rc_compile_buffer(struct ips_detect_db *db, unsigned buf,
                  hs_expr_ext_t *exts, char *err, size_t errlen)
{
	struct rc_exprs x = { 0 };
	uint32_t n = 0;
	hs_compile_error_t *ce = NULL;
	hs_error_t rc;
	int ret = -1;

	for (uint32_t p = 0; p < db->n_patterns; p++) {
		const struct ips_pattern *pt = &db->patterns[p];

		n += pt->buffer == buf &&
		     !db->rules.rules[pt->rule].conds[pt->cond].hs_skip;
	}
	if (n == 0)
		return 0;
	x.expr = calloc(n, sizeof(*x.expr));
	x.flags = calloc(n, sizeof(*x.flags));
	x.ids = calloc(n, sizeof(*x.ids));
	x.ext = calloc(n, sizeof(*x.ext));
	if (!x.expr || !x.flags || !x.ids || !x.ext) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (uint32_t p = 0; p < db->n_patterns; p++) {
		const struct ips_pattern *pt = &db->patterns[p];
		const struct ips_cond *cd;
		char *e;

		if (pt->buffer != buf)
			continue;
		cd = &db->rules.rules[pt->rule].conds[pt->cond];
		if (cd->hs_skip)
			continue;
		if (rc_expression(cd, &e, &x.flags[x.n], &exts[p]) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		x.expr[x.n] = e;
		x.ids[x.n] = p;
		x.ext[x.n] = &exts[p];
		x.n++;
	}
	rc = hs_compile_ext_multi(x.expr, x.flags, x.ids, x.ext, x.n,
	                          ips_buffer_streaming(buf) ? HS_MODE_STREAM
	                                                    : HS_MODE_BLOCK,
	                          NULL, &db->db[buf], &ce);
	if (rc != HS_SUCCESS) {
		if (ce != NULL && ce->expression >= 0 &&
		    (uint32_t)ce->expression < x.n) {
			const struct ips_pattern *pt =
				&db->patterns[x.ids[ce->expression]];
			const struct ips_rule *r = &db->rules.rules[pt->rule];

			snprintf(err, errlen, "%s:%u: sid %u: %s: %s",
			         r->file ? r->file : "-", r->line, r->sid,
			         ips_buffer_name(buf), ce->message);
		} else {
			snprintf(err, errlen, "%s: %s", ips_buffer_name(buf),
			         ce ? ce->message : "compile failed");
		}
		hs_free_compile_error(ce);
		goto out;
	}
	ret = 0;
out:
	rc_exprs_free(&x);
	return ret;
}

struct ips_detect_db *
ips_detect_db_compile(struct ips_ruleset *rs, char *err, size_t errlen)
{
	struct ips_detect_db *db = calloc(1, sizeof(*db));
	hs_expr_ext_t *exts = NULL;
	struct ips_rule *tmp;
	double t0 = rc_now();

	if (db == NULL) {
		ips_ruleset_free(rs);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->rules = *rs;
	memset(rs, 0, sizeof(*rs));
	tmp = malloc((db->rules.n_rules ? db->rules.n_rules : 1) * sizeof(*tmp));
	if (tmp == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc_sort_rules(db->rules.rules, db->rules.n_rules, tmp);
	free(tmp);
	if (rc_number_flowbits(&db->rules, err, errlen) < 0)
		goto fail;
	if (rc_build_tables(db, err, errlen) < 0)
		goto fail;
	exts = calloc(db->n_patterns ? db->n_patterns : 1, sizeof(*exts));
	if (exts == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		if (rc_compile_buffer(db, b, exts, err, errlen) < 0)
			goto fail;
	free(exts);
	if (ips_detect_db_prepare(db, err, errlen) < 0)
		goto fail;
	db->generation = ++rc_generation;
	db->compile_seconds = rc_now() - t0;
	return db;
fail:
	free(exts);
	ips_detect_db_free(db);
	return NULL;
}
