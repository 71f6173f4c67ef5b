/*
 * detect_inspect.c - Suricata's content inspection of one held buffer
 * (see detect_inspect.h).
 *
 * One recursive function walks a rule's conditions on one buffer in rule
 * order and returns, as Suricata's inspection does, 1 (the rest of the
 * list matched), 0 (no match here; an earlier content may retry further
 * on) or -1 (no match, and no retry can change that).  The positions it
 * computes follow Suricata's: a relative window starts at the previous
 * match end plus distance (clamped at 0) and ends within bytes after
 * that; a content retries at its next occurrence, a pcre after the start
 * of its last match.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "detect_inspect.h"

/* JIT stack: PCRE2 starts with 32 KiB and grows to this, then fails with
 * PCRE2_ERROR_JIT_STACKLIMIT (a fault, as the match limit). */
#define DETECT_JIT_STACK_START (32 * 1024)
#define DETECT_JIT_STACK_MAX   (512 * 1024)

/* The state Suricata keeps in its thread context while one buffer is
 * inspected. */
struct insp {
	struct detect_inspect *di;
	const struct ips_rule *rule;
	const uint8_t *buf;
	uint32_t len;
	uint8_t b;
	uint32_t prev_end;          /* det_ctx->buffer_offset */
	uint32_t pcre_start;        /* det_ctx->pcre_match_start_offset */
	uint32_t steps;
	int *fault;
	uint32_t match_opts;        /* PCRE2_NOTEOL while the buffer may grow */
};

int
detect_inspect_init(struct detect_inspect *di, char *err, size_t errlen)
{
	memset(di, 0, sizeof(*di));
	di->match_data = pcre2_match_data_create(1, NULL);
	di->match_ctx = pcre2_match_context_create(NULL);
	di->jit_stack = pcre2_jit_stack_create(DETECT_JIT_STACK_START,
	                                       DETECT_JIT_STACK_MAX, NULL);
	if (di->match_data == NULL || di->match_ctx == NULL ||
	    di->jit_stack == NULL) {
		snprintf(err, errlen, "detect: out of memory for PCRE2 state");
		detect_inspect_fini(di);
		return -1;
	}
	pcre2_set_match_limit(di->match_ctx, DETECT_PCRE_MATCH_LIMIT);
	pcre2_jit_stack_assign(di->match_ctx, NULL, di->jit_stack);
	return 0;
}

void
detect_inspect_fini(struct detect_inspect *di)
{
	pcre2_match_data_free(di->match_data);
	pcre2_match_context_free(di->match_ctx);
	pcre2_jit_stack_free(di->jit_stack);
	memset(di, 0, sizeof(*di));
}

int
detect_inspect_needed(const struct ips_cond *cd)
{
	return cd->kind != IPS_COND_CONTENT || cd->relative || cd->hs_skip;
}

int
detect_inspect_prefix_safe(const struct ips_cond *cd)
{
	switch (cd->kind) {
	case IPS_COND_CONTENT:
		return !cd->negated && !cd->endswith;
	case IPS_COND_PCRE:
		/* an end-sensitive one is matched partially (insp_pcre_once):
		 * it is decided only where what follows cannot change it */
		return !cd->negated;
	case IPS_COND_ISDATAAT:
		return !cd->negated;
	case IPS_COND_BYTE_TEST:
		/* 0 string bytes: the digits run to the end of what came */
		return !cd->negated && cd->num_bytes != 0;
	case IPS_COND_BYTE_JUMP:
		/* from_end: from the end of what came */
		return !cd->negated && !(cd->num_flags & IPS_BYTE_FROM_END);
	default:
		return 0;
	}
}

/* ---- contents ---------------------------------------------------------- */

static int
insp_lit_at(const struct ips_cond *cd, const uint8_t *p)
{
	if (!cd->nocase)
		return memcmp(p, cd->bytes, cd->len) == 0;
	for (uint32_t i = 0; i < cd->len; i++) {
		uint8_t a = p[i], b = cd->bytes[i];

		if (a != b && ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' ||
		               (a | 0x20) > 'z'))
			return 0;
	}
	return 1;
}

/* First occurrence of cd in [from, to), or NULL. */
static const uint8_t *
insp_find(const struct ips_cond *cd, const uint8_t *buf, uint32_t from,
          uint32_t to)
{
	if (to - from < cd->len)
		return NULL;
	if (!cd->nocase)
		return memmem(buf + from, to - from, cd->bytes, cd->len);
	for (uint32_t pos = from; pos <= to - cd->len; pos++)
		if (insp_lit_at(cd, buf + pos))
			return buf + pos;
	return NULL;
}

/* Next condition of the rule on the same buffer, or n_conds. */
static uint32_t
insp_next(const struct insp *st, uint32_t i)
{
	uint32_t k = i + 1;

	while (k < st->rule->n_conds && st->rule->conds[k].buffer != st->b)
		k++;
	return k;
}

static int insp_from(struct insp *st, uint32_t i);

/* The rest of the list after condition i, or 1 when i was the last. */
static int
insp_rest(struct insp *st, uint32_t i)
{
	uint32_t n = insp_next(st, i);

	return n < st->rule->n_conds ? insp_from(st, n) : 1;
}

/* The search window of a content: [*off, *dep) before clamping. */
static void
insp_window(const struct insp *st, const struct ips_cond *cd,
            uint32_t prev_end, uint32_t *off, uint32_t *dep)
{
	int64_t o, d = st->len;

	if (cd->relative) {
		o = (int64_t)prev_end + cd->distance;
		if (cd->within != 0 &&
		    d > (int64_t)prev_end + cd->within + cd->distance)
			d = (int64_t)prev_end + cd->within + cd->distance;
		o = o < 0 ? 0 : o;
	} else {
		o = cd->offset;
		if (cd->depth != 0)
			d = (int64_t)cd->offset + cd->depth;
	}
	*off = (uint32_t)(o > UINT32_MAX ? UINT32_MAX : o);
	*dep = (uint32_t)(d < 0 ? 0 : d > UINT32_MAX ? UINT32_MAX : d);
}

static int
insp_content(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	uint32_t prev_end = cd->relative ? st->prev_end : 0;
	uint32_t retry_at = 0;

	for (;;) {
		uint32_t off, dep, match_end;
		const uint8_t *found = NULL;
		int r;

		insp_window(st, cd, prev_end, &off, &dep);
		if (retry_at != 0)
			off = retry_at;
		if (dep > st->len)
			dep = st->len;
		if (off > dep || dep == 0)
			return cd->negated ? insp_rest(st, i) : 0;
		if (!(cd->endswith && dep < st->len))
			found = insp_find(cd, st->buf, off, dep);
		if (found == NULL) {
			if (cd->negated)
				return insp_rest(st, i);
			/* an absolute content cannot appear by retrying */
			return cd->relative ? 0 : -1;
		}
		match_end = (uint32_t)(found - st->buf) + cd->len;
		if (cd->negated) {
			/* Suricata compares the window length here, not the
			 * buffer's: kept, to mean what it means there. */
			if (cd->endswith && dep - off != match_end)
				return insp_rest(st, i);
			return cd->relative || cd->offset || cd->depth ? 0 : -1;
		}
		st->prev_end = match_end;
		if (!cd->endswith || match_end == st->len) {
			r = insp_rest(st, i);
			if (r != 0)
				return r;
			if (!cd->retry_next)
				return -1;
		}
		retry_at = match_end - (cd->len - 1);
	}
}

/* ---- pcre --------------------------------------------------------------- */

/* One pcre attempt from the current state (DetectPcrePayloadMatch):
 * 1 match (prev_end and pcre_start moved), 0 none. */
static int
insp_pcre_once(struct insp *st, const struct ips_cond *cd)
{
	struct detect_inspect *di = st->di;
	uint32_t base = cd->relative ? st->prev_end : 0;
	int64_t start = 0;
	uint32_t opts = st->match_opts;
	int rc;

	if (st->pcre_start != 0)
		start = (int64_t)st->pcre_start - base;
	if (start < 0 || start > (int64_t)(st->len - base))
		return 0;               /* Suricata: a PCRE2 offset error */
	/* On a buffer that may grow, a \b, \z or lookahead that looks past
	 * what is held makes a hard partial match: not a match yet. */
	if ((st->match_opts & PCRE2_NOTEOL) &&
	    (cd->pcre_opts & IPS_PCRE_END_SENSITIVE))
		opts |= PCRE2_PARTIAL_HARD;
	rc = pcre2_match(cd->re, (PCRE2_SPTR)(st->buf + base), st->len - base,
	                 (PCRE2_SIZE)start, opts, di->match_data,
	                 di->match_ctx);
	if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL)
		return cd->negated;
	if (rc < 0) {
		*st->fault |= rc == PCRE2_ERROR_MATCHLIMIT ||
		              rc == PCRE2_ERROR_JIT_STACKLIMIT ||
		              rc == PCRE2_ERROR_DEPTHLIMIT ||
		              rc == PCRE2_ERROR_HEAPLIMIT
		              ? DETECT_INSPECT_FAULT_PCRE_LIMIT
		              : DETECT_INSPECT_FAULT_PCRE_ERROR;
		return 0;
	}
	if (cd->negated)
		return 0;
	{
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(di->match_data);

		st->prev_end = base + (uint32_t)ov[1];
		st->pcre_start = base + (uint32_t)ov[0] + 1;
	}
	return 1;
}

static int
insp_pcre(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	uint32_t prev_end = st->prev_end;

	if (cd->re == NULL) {           /* not prepared: cannot decide */
		*st->fault |= DETECT_INSPECT_FAULT_PCRE_ERROR;
		return -1;
	}
	st->pcre_start = 0;
	for (;;) {
		uint32_t retry_at;
		int r;

		if (!insp_pcre_once(st, cd))
			return 0;
		if (!cd->retry_next)
			return insp_rest(st, i);
		retry_at = st->pcre_start;
		r = insp_rest(st, i);
		if (r != 0)
			return r;
		if (retry_at == 0)      /* negated: no other occurrence */
			return 0;
		st->prev_end = prev_end;
		st->pcre_start = retry_at;
	}
}

/* ---- sizes and numbers -------------------------------------------------- */

static int
insp_compare(uint8_t op, uint64_t x, uint64_t a, uint64_t b)
{
	switch (op) {
	case IPS_OP_EQ: return x == a;
	case IPS_OP_LT: return x < a;
	case IPS_OP_GT: return x > a;
	case IPS_OP_LE: return x <= a;
	case IPS_OP_GE: return x >= a;
	case IPS_OP_RANGE: return x > a && x < b;
	case IPS_OP_AND: return (x & a) != 0;
	case IPS_OP_XOR: return (x ^ a) != 0;
	default: return 0;
	}
}

static int
insp_isdataat(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	int has;

	if (cd->relative)
		has = (uint64_t)st->prev_end + cd->offset <= st->len;
	else
		has = cd->offset < st->len;
	if (has != !cd->negated)
		return cd->relative && cd->negated ? 0 : -1;
	return insp_rest(st, i);
}

static int
insp_digit(uint8_t ch, uint8_t base)
{
	int d = ch >= '0' && ch <= '9' ? ch - '0'
	      : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10
	      : 99;

	return d < base ? d : -1;
}

/* n ASCII characters at p read as Suricata reads them, with strtoull:
 * blanks, a sign (a minus wraps), 0x before hex digits, then digits.
 * Returns the characters read, or 0 when there is no digit or the number
 * passes 64 bits (ERANGE). */
static int
insp_read_string(const struct ips_cond *cd, const uint8_t *p, uint32_t n,
                 uint64_t *v)
{
	uint32_t k = 0, first, base = cd->num_base;
	int neg = 0, d;

	while (k < n && (p[k] == ' ' || (p[k] >= '\t' && p[k] <= '\r')))
		k++;
	if (k < n && (p[k] == '+' || p[k] == '-'))
		neg = p[k++] == '-';
	if ((base == 16 || base == 0) && k + 2 < n && p[k] == '0' &&
	    (p[k + 1] | 0x20) == 'x' && insp_digit(p[k + 2], 16) >= 0) {
		k += 2;
		base = 16;
	} else if (base == 0) {
		base = k < n && p[k] == '0' ? 8 : 10;
	}
	for (first = k; k < n && (d = insp_digit(p[k], base)) >= 0; k++) {
		if (*v > (UINT64_MAX - (uint64_t)d) / base)
			return 0;
		*v = *v * base + (uint64_t)d;
	}
	if (neg)
		*v = -*v;
	return k > first ? (int)k : 0;
}

/* The number at p (n bytes, or n ASCII characters in base): the bytes
 * it took, or 0 when it cannot be read. */
static int
insp_read_num(const struct ips_cond *cd, const uint8_t *p, uint32_t n,
              uint64_t *v)
{
	*v = 0;
	if (cd->num_flags & IPS_BYTE_STRING)
		return insp_read_string(cd, p, n, v);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t at = (cd->num_flags & IPS_BYTE_LITTLE) ? n - 1 - k : k;

		*v = (*v << 8) | p[at];
	}
	return (int)n;
}

/* Where byte_test/byte_jump read: the number's first byte, or -1 when it
 * does not lie whole inside the buffer. */
static int64_t
insp_num_at(const struct insp *st, const struct ips_cond *cd)
{
	int64_t at = (cd->relative ? (int64_t)st->prev_end : 0) + cd->num_offset;

	if (st->len == 0 || at < 0 || at + cd->num_bytes > (int64_t)st->len)
		return -1;
	return at;
}

static uint64_t
insp_bitmask(const struct ips_cond *cd, uint64_t v)
{
	if (!(cd->num_flags & IPS_BYTE_BITMASK))
		return v;
	v &= cd->num_bitmask;
	return v ? v >> __builtin_ctz(cd->num_bitmask) : 0;
}

static int
insp_byte_test(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	int64_t at = insp_num_at(st, cd);
	uint64_t v;

	/* 0 bytes (string only): the digits up to the buffer's end */
	if (at < 0 || !insp_read_num(cd, st->buf + at, cd->num_bytes
	                             ? cd->num_bytes
	                             : st->len - (uint32_t)at, &v))
		return 0;
	v = insp_bitmask(cd, v);
	if (insp_compare(cd->num_op, v, cd->num_value, 0) == cd->negated)
		return 0;
	return insp_rest(st, i);
}

/* Suricata's jump: 64-bit arithmetic that wraps, from after the
 * characters the number took (a string's blanks and sign included); a
 * jump before the buffer lands on its start, one past its end fails. */
static int
insp_byte_jump(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	int64_t at = insp_num_at(st, cd), to;
	uint64_t v, from;
	int used;

	if (at < 0 ||
	    (used = insp_read_num(cd, st->buf + at, cd->num_bytes, &v)) == 0)
		return 0;
	v *= cd->num_mult ? cd->num_mult : 1;
	if ((cd->num_flags & IPS_BYTE_ALIGN) && v % 4 != 0)
		v += 4 - v % 4;
	v += (uint64_t)(int64_t)cd->num_post;
	from = (cd->num_flags & IPS_BYTE_FROM_BEGIN) ? 0
	     : (cd->num_flags & IPS_BYTE_FROM_END) ? st->len
	     : (uint64_t)at + (uint64_t)used;
	to = (int64_t)(from + v);
	if (to > (int64_t)st->len)
		return 0;
	st->prev_end = to < 0 ? 0 : (uint32_t)to;
	return insp_rest(st, i);
}

static int
insp_size(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	uint64_t n = st->len;

	/* urilen compares as a 16-bit value, as Suricata's does */
	if (cd->kind == IPS_COND_URILEN && n > UINT16_MAX)
		n = UINT16_MAX;
	if (!insp_compare(cd->num_op, n, cd->offset, cd->depth))
		return -1;
	return insp_rest(st, i);
}

/* tls.version: Suricata 7 counts TLS 1.3's drafts as 1.3 unless the
 * value was written as a number.  A malformed hello has no version here
 * (detect_tls_hello): no match. */
static int
insp_tls_version(struct insp *st, uint32_t i)
{
	const struct ips_cond *cd = &st->rule->conds[i];
	uint32_t v;

	if (st->len != 2)
		return -1;
	v = (uint32_t)st->buf[0] << 8 | st->buf[1];
	if (!(cd->num_flags & IPS_TLS_VERSION_RAW) && (v >> 8) == 0x7f)
		v = 0x0304;
	if (v != cd->num_value)
		return -1;
	return insp_rest(st, i);
}

/* ---- the list ----------------------------------------------------------- */

static int
insp_from(struct insp *st, uint32_t i)
{
	if (++st->steps >= DETECT_INSPECT_RECURSION_LIMIT) {
		*st->fault |= DETECT_INSPECT_FAULT_RECURSION;
		return -1;
	}
	switch (st->rule->conds[i].kind) {
	case IPS_COND_CONTENT:
		return insp_content(st, i);
	case IPS_COND_PCRE:
		return insp_pcre(st, i);
	case IPS_COND_ISDATAAT:
		return insp_isdataat(st, i);
	case IPS_COND_BYTE_TEST:
		return insp_byte_test(st, i);
	case IPS_COND_BYTE_JUMP:
		return insp_byte_jump(st, i);
	case IPS_COND_BSIZE:
	case IPS_COND_URILEN:
		return insp_size(st, i);
	case IPS_COND_TLS_VERSION:
		return insp_tls_version(st, i);
	default:
		*st->fault |= DETECT_INSPECT_FAULT_PCRE_ERROR;
		return -1;
	}
}

int
detect_inspect_buffer(struct detect_inspect *di, const struct ips_rule *rule,
                      uint8_t b, const uint8_t *buf, uint32_t len, int more,
                      int *fault)
{
	static const uint8_t empty[1];
	struct insp st = {
		.di = di, .rule = rule, .buf = buf ? buf : empty,
		.len = buf ? len : 0, .b = b, .fault = fault,
		.match_opts = more ? PCRE2_NOTEOL : 0,
	};
	uint32_t first = 0;

	while (first < rule->n_conds && rule->conds[first].buffer != b)
		first++;
	if (first == rule->n_conds)
		return 1;
	return insp_from(&st, first) == 1;
}
