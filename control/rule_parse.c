/*
 * rule_parse.c - the rule language: text to struct ips_rule (rules.h).
 *
 * Owns the lexer/parser for the Suricata-compatible HTTP subset, variable
 * expansion in rule headers, the classification table and rule-set storage.
 * What the dataplane needs at run time (names, freeing, the tuple match)
 * is in rule_runtime.c.  A keyword it does not implement is an
 * error naming it, never silently dropped: a rule that parses does exactly
 * what it says.
 *
 * Errors are "file:line:col: reason"; col is 1-based in the rule text (for a
 * rule continued with '\' over several lines: in the joined text, line being
 * the first line of the rule).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "ips/rules.h"

#define RP_MAX_CONDS      64    /* ips_pattern.cond is 16 bits; keep small */
#define RP_MAX_VAR_DEPTH  8     /* $A -> $B -> ... : stops cycles */
#define RP_MAX_LIST_DEPTH 16    /* [[[...]]]: bounds the recursion */
#define RP_MAX_RULE_BYTES 65536 /* joined multi-line rule */
#define RP_BUF_NONE       0xff  /* content seen, no buffer yet */
#define RP_DEFAULT_PRIO   3

struct rp_ctx {
	const char *text;
	const char *file;
	uint32_t line;
	const struct ips_parse_opts *opts;
	char *err;
	size_t errlen;
	struct ips_rule r;
	uint32_t cap_conds;
	int cur_buf;                /* sticky buffer, or -1 */
	const char *cond_pos[RP_MAX_CONDS]; /* where each cond was written */
	const char *var_anchor;     /* errors inside a $VAR point here */
	int var_depth;
	int list_depth;
	const char *sid_pos;        /* for the duplicate-sid message */
	int has_sid, has_msg, has_prio, has_startswith;
	int twin;                   /* parsing the response's twin */
	int wants_twin;             /* the rule reads both sides */
};

static int __attribute__((format(printf, 3, 4)))
rp_error(struct rp_ctx *c, const char *pos, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int w;

	if (c->var_anchor != NULL)
		pos = c->var_anchor;
	w = snprintf(c->err, c->errlen, "%s:%u:%zu: ", c->file, c->line,
	             (size_t)(pos - c->text) + 1);
	n = w < 0 ? 0 : (size_t)w;
	if (n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- small lexing helpers -------------------------------------------- */

static const char *
rp_skip_ws(const char *p, const char *e)
{
	while (p < e && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *
rp_trim_end(const char *s, const char *e)
{
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return e;
}

static int
rp_word_is(const char *s, const char *e, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(e - s) == n && memcmp(s, w, n) == 0;
}

/* Decimal in [0, max]; the whole [s, e) must be digits. */
static int
rp_parse_uint(const char *s, const char *e, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static char *
rp_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* ---- address and port sets ------------------------------------------- */

/* An address or port set under construction.  The model holds one sign
 * for the whole set, so "[a,!b]" (a minus b) is refused, not approximated. */
struct rp_set {
	int is_port;
	void *items;
	uint32_t n, cap;
	int sign;       /* -1 unset, 0 plain, 1 negated */
	int any;
};

static size_t
rp_set_item_size(const struct rp_set *s)
{
	return s->is_port ? sizeof(struct ips_port_range)
	                  : sizeof(struct ips_cidr);
}

static int
rp_set_sign(struct rp_ctx *c, struct rp_set *s, int neg, const char *pos)
{
	if (s->sign == -1)
		s->sign = neg;
	else if (s->sign != neg)
		return rp_error(c, pos, "%s list mixing negated and plain "
		                "entries is not supported",
		                s->is_port ? "port" : "address");
	return 0;
}

static int
rp_set_push(struct rp_ctx *c, struct rp_set *s, const void *item,
            const char *pos)
{
	size_t sz = rp_set_item_size(s);

	if (s->n == UINT16_MAX)
		return rp_error(c, pos, "too many entries in list");
	if (s->n == s->cap) {
		uint32_t ncap = s->cap ? s->cap * 2 : 4;
		void *p = realloc(s->items, ncap * sz);

		if (p == NULL)
			return rp_error(c, pos, "out of memory");
		s->items = p;
		s->cap = ncap;
	}
	memcpy((char *)s->items + s->n * sz, item, sz);
	s->n++;
	return 0;
}

static int
rp_leaf_addr(struct rp_ctx *c, const char *s, const char *e,
             struct ips_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(s, '/', (size_t)(e - s));
	const char *ae = slash ? slash : e;
	uint32_t prefix, maxp;
	struct in_addr a4;
	int v4;

	if ((size_t)(ae - s) >= sizeof(buf))
		return rp_error(c, s, "invalid address '%.*s'", (int)(e - s), s);
	memcpy(buf, s, (size_t)(ae - s));
	buf[ae - s] = '\0';
	memset(out, 0, sizeof(*out));
	v4 = inet_pton(AF_INET, buf, &a4) == 1;
	if (v4) {
		out->addr[10] = 0xff;
		out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, buf, out->addr) != 1) {
		return rp_error(c, s, "invalid address '%.*s'", (int)(e - s), s);
	}
	maxp = v4 ? 32 : 128;
	prefix = maxp;
	if (slash && rp_parse_uint(slash + 1, e, maxp, &prefix) < 0)
		return rp_error(c, slash + 1, "invalid prefix length '%.*s'",
		                (int)(e - slash - 1), slash + 1);
	out->prefix = (uint8_t)(v4 ? prefix + 96 : prefix);
	/* Host bits cleared so matching is a plain masked compare. */
	for (unsigned i = out->prefix; i < 128; i++)
		out->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

static int
rp_leaf_port(struct rp_ctx *c, const char *s, const char *e,
             struct ips_port_range *out)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	uint32_t lo = 0, hi = 65535;

	if (colon == NULL) {
		if (rp_parse_uint(s, e, 65535, &lo) < 0)
			goto bad;
		hi = lo;
	} else {
		if (colon == s && colon + 1 == e)
			goto bad;
		if (colon > s && rp_parse_uint(s, colon, 65535, &lo) < 0)
			goto bad;
		if (colon + 1 < e && rp_parse_uint(colon + 1, e, 65535, &hi) < 0)
			goto bad;
		if (lo > hi)
			return rp_error(c, s, "empty port range '%.*s'",
			                (int)(e - s), s);
	}
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
bad:
	return rp_error(c, s, "invalid port '%.*s'", (int)(e - s), s);
}

static int rp_set_list(struct rp_ctx *c, struct rp_set *set, const char *s,
                       const char *e, int neg);

static const char *
rp_var_lookup(const struct rp_ctx *c, const char *s, const char *e)
{
	if (c->opts == NULL)
		return NULL;
	for (size_t i = 0; i < c->opts->n_vars; i++) {
		const struct ips_rule_var *v = &c->opts->vars[i];

		if (v->name != NULL && v->value != NULL && rp_word_is(s, e, v->name))
			return v->value;
	}
	return NULL;
}

static int
rp_set_var(struct rp_ctx *c, struct rp_set *set, const char *s, const char *e,
           int neg)
{
	const char *val = rp_var_lookup(c, s + 1, e);
	const char *saved = c->var_anchor;
	int rc;

	if (val == NULL)
		return rp_error(c, s, "undefined variable '%.*s'", (int)(e - s), s);
	if (c->var_depth >= RP_MAX_VAR_DEPTH)
		return rp_error(c, s, "variables nested too deep at '%.*s'",
		                (int)(e - s), s);
	if (saved == NULL)
		c->var_anchor = s;
	c->var_depth++;
	rc = rp_set_list(c, set, val, val + strlen(val), neg);
	c->var_depth--;
	c->var_anchor = saved;
	return rc;
}

/* One element: [!] (any | $VAR | [list] | leaf). */
static int
rp_set_elem(struct rp_ctx *c, struct rp_set *set, const char *s,
            const char *e, int neg)
{
	s = rp_skip_ws(s, e);
	e = rp_trim_end(s, e);
	while (s < e && *s == '!') {
		neg = !neg;
		s = rp_skip_ws(s + 1, e);
	}
	if (s == e)
		return rp_error(c, s, "empty %s", set->is_port ? "port" : "address");
	if (*s == '[') {
		int rc;

		if (e[-1] != ']')
			return rp_error(c, s, "unbalanced '['");
		if (c->list_depth >= RP_MAX_LIST_DEPTH)
			return rp_error(c, s, "lists nested too deep");
		c->list_depth++;
		rc = rp_set_list(c, set, s + 1, e - 1, neg);
		c->list_depth--;
		return rc;
	}
	if (*s == '$')
		return rp_set_var(c, set, s, e, neg);
	if (rp_word_is(s, e, "any")) {
		if (neg)
			return rp_error(c, s, "'!any' matches nothing");
		set->any = 1;
		return rp_set_sign(c, set, 0, s);
	}
	if (rp_set_sign(c, set, neg, s) < 0)
		return -1;
	if (set->is_port) {
		struct ips_port_range pr;

		if (rp_leaf_port(c, s, e, &pr) < 0)
			return -1;
		return rp_set_push(c, set, &pr, s);
	} else {
		struct ips_cidr cidr;

		if (rp_leaf_addr(c, s, e, &cidr) < 0)
			return -1;
		return rp_set_push(c, set, &cidr, s);
	}
}

/* Comma-separated elements at bracket depth 0. */
static int
rp_set_list(struct rp_ctx *c, struct rp_set *set, const char *s,
            const char *e, int neg)
{
	const char *start = s;
	int depth = 0;

	for (const char *p = s; p <= e; p++) {
		if (p == e || (*p == ',' && depth == 0)) {
			if (rp_set_elem(c, set, start, p, neg) < 0)
				return -1;
			start = p + 1;
		} else if (*p == '[') {
			depth++;
		} else if (*p == ']') {
			if (--depth < 0)
				return rp_error(c, p, "unbalanced ']'");
		}
	}
	if (depth != 0)
		return rp_error(c, s, "unbalanced '['");
	return 0;
}

static int
rp_parse_set(struct rp_ctx *c, const char *s, const char *e, int is_port,
             void **items, uint16_t *n, uint8_t *negated)
{
	struct rp_set set = { .is_port = is_port, .sign = -1 };

	if (rp_set_list(c, &set, s, e, 0) < 0) {
		free(set.items);
		return -1;
	}
	if (set.any) {                  /* any U x = any */
		free(set.items);
		set.items = NULL;
		set.n = 0;
		set.sign = 0;
	}
	*items = set.items;
	*n = (uint16_t)set.n;
	*negated = set.sign == 1;
	return 0;
}

/* Header token: up to whitespace outside brackets. */
static const char *
rp_token_end(const char *p, const char *e)
{
	int depth = 0;

	for (; p < e; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (isspace((unsigned char)*p) && depth <= 0)
			break;
	}
	return p;
}

/* ---- classification ---------------------------------------------------- */

struct rp_class {
	char *name;
	uint8_t prio;
};

static const struct rp_class rp_builtin_classes[] = {
	{ "not-suspicious", 3 }, { "unknown", 3 }, { "bad-unknown", 2 },
	{ "attempted-recon", 2 }, { "successful-recon-limited", 2 },
	{ "attempted-dos", 2 }, { "successful-dos", 2 },
	{ "attempted-user", 1 }, { "attempted-admin", 1 },
	{ "successful-admin", 1 }, { "successful-user", 1 },
	{ "web-application-attack", 1 }, { "web-application-activity", 2 },
	{ "trojan-activity", 1 }, { "policy-violation", 1 },
	{ "misc-attack", 2 }, { "misc-activity", 3 },
	{ "protocol-command-decode", 3 }, { "shellcode-detect", 1 },
	{ "command-and-control", 1 }, { "exploit-kit", 1 },
	{ "credential-theft", 1 }, { "coin-mining", 2 },
	{ "attempted-dos", 2 }, { "denial-of-service", 2 },
	{ "suspicious-filename-detect", 2 }, { "suspicious-login", 2 },
	{ "system-call-detect", 2 }, { "network-scan", 3 },
	{ "default-login-attempt", 2 }, { "string-detect", 3 },
	{ "social-engineering", 2 }, { "targeted-activity", 1 },
	{ "domain-c2", 1 }, { "external-ip-check", 2 },
	{ "pup-activity", 2 }, { "successful-recon-largescale", 2 },
	{ "unusual-client-port-connection", 2 }, { "non-standard-protocol", 2 },
	{ "inappropriate-content", 1 }, { "rpc-portmap-decode", 2 },
	{ "unsuccessful-user", 1 }, { "kickass-porn", 1 },
	{ "icmp-event", 3 }, { "tcp-connection", 4 },
};

/* The table of the last classification file loaded: the parser is called
 * once per line with the same opts, so the file is read once. */
static struct {
	char *path;
	struct rp_class *cls;
	size_t n;
} rp_class_cache;

static void
rp_class_cache_clear(void)
{
	for (size_t i = 0; i < rp_class_cache.n; i++)
		free(rp_class_cache.cls[i].name);
	free(rp_class_cache.cls);
	free(rp_class_cache.path);
	memset(&rp_class_cache, 0, sizeof(rp_class_cache));
}

static int
rp_class_add(const char *line, size_t *cap)
{
	const char *p = strstr(line, "config classification:");
	const char *name, *c1, *c2;
	uint32_t prio;
	struct rp_class *cls;

	if (p == NULL)
		return 0;
	name = p + strlen("config classification:");
	while (isspace((unsigned char)*name))
		name++;
	c1 = strchr(name, ',');
	c2 = c1 ? strrchr(c1 + 1, ',') : NULL;
	if (c2 == NULL)
		return 0;
	{
		const char *ps = c2 + 1, *pe = ps + strlen(ps);

		ps = rp_skip_ws(ps, pe);
		pe = rp_trim_end(ps, pe);
		if (rp_parse_uint(ps, pe, 255, &prio) < 0 || prio == 0)
			return 0;
	}
	if (rp_class_cache.n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;

		cls = realloc(rp_class_cache.cls, ncap * sizeof(*cls));
		if (cls == NULL)
			return -1;
		rp_class_cache.cls = cls;
		*cap = ncap;
	}
	cls = &rp_class_cache.cls[rp_class_cache.n];
	cls->name = rp_strndup(name, (size_t)(rp_trim_end(name, c1) - name));
	if (cls->name == NULL)
		return -1;
	cls->prio = (uint8_t)prio;
	rp_class_cache.n++;
	return 0;
}

static int
rp_class_load(const char *path)
{
	char line[1024];
	size_t cap = 0;
	FILE *f;

	if (rp_class_cache.path && strcmp(rp_class_cache.path, path) == 0)
		return 0;
	rp_class_cache_clear();
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		if (rp_class_add(line, &cap) < 0) {
			fclose(f);
			rp_class_cache_clear();
			return -1;
		}
	}
	fclose(f);
	rp_class_cache.path = strdup(path);
	if (rp_class_cache.path == NULL) {
		rp_class_cache_clear();
		return -1;
	}
	return 0;
}

/* Priority of a classtype, or -1 if unknown; -2 if the file can't be read. */
static int
rp_class_prio(const struct ips_parse_opts *o, const char *s, const char *e)
{
	const struct rp_class *tab = rp_builtin_classes;
	size_t n = sizeof(rp_builtin_classes) / sizeof(rp_builtin_classes[0]);

	if (o != NULL && o->classification_file != NULL) {
		if (rp_class_load(o->classification_file) < 0)
			return -2;
		tab = rp_class_cache.cls;
		n = rp_class_cache.n;
	}
	for (size_t i = 0; i < n; i++)
		if (rp_word_is(s, e, tab[i].name))
			return tab[i].prio;
	return -1;
}

/* ---- conditions -------------------------------------------------------- */

static struct ips_cond *
rp_last_cond(struct rp_ctx *c)
{
	return c->r.n_conds ? &c->r.conds[c->r.n_conds - 1] : NULL;
}

/* A content with no buffer may still get one from a legacy modifier
 * (content:"x"; http_uri;), so it is settled at the next condition, sticky
 * buffer or the end of the rule: still unbuffered, it inspects the raw
 * stream, as in Suricata. */
static void
rp_settle_unbuffered(struct rp_ctx *c)
{
	struct ips_cond *last = rp_last_cond(c);

	if (last != NULL && last->buffer == RP_BUF_NONE)
		last->buffer = IPS_BUF_STREAM;
}

static struct ips_cond *
rp_add_cond(struct rp_ctx *c, const char *pos)
{
	struct ips_cond *cd;

	rp_settle_unbuffered(c);
	if (c->r.n_conds >= RP_MAX_CONDS) {
		rp_error(c, pos, "too many conditions (max %d)", RP_MAX_CONDS);
		return NULL;
	}
	if (c->r.n_conds == c->cap_conds) {
		uint32_t ncap = c->cap_conds ? c->cap_conds * 2 : 4;

		cd = realloc(c->r.conds, ncap * sizeof(*cd));
		if (cd == NULL) {
			rp_error(c, pos, "out of memory");
			return NULL;
		}
		c->r.conds = cd;
		c->cap_conds = ncap;
	}
	cd = &c->r.conds[c->r.n_conds++];
	memset(cd, 0, sizeof(*cd));
	cd->buffer = c->cur_buf < 0 ? RP_BUF_NONE : (uint8_t)c->cur_buf;
	c->cond_pos[c->r.n_conds - 1] = pos;
	c->has_startswith = 0;
	return cd;
}

/* Value [s,e) must be [!]"..." (quoted): returns the inside in *qs and *qe. */
static int
rp_unquote(struct rp_ctx *c, const char *s, const char *e, int allow_neg,
           int *neg, const char **qs, const char **qe)
{
	*neg = 0;
	if (s < e && *s == '!') {
		if (!allow_neg)
			return rp_error(c, s, "negation not allowed here");
		*neg = 1;
		s = rp_skip_ws(s + 1, e);
	}
	if (e - s < 2 || *s != '"' || e[-1] != '"')
		return rp_error(c, s, "expected a quoted string");
	*qs = s + 1;
	*qe = e - 1;
	return 0;
}

static int
rp_hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Content text to bytes: |41 42| hex runs and backslash escapes of the
 * quote, semicolon, backslash and colon. */
static int
rp_decode_content(struct rp_ctx *c, const char *s, const char *e,
                  uint8_t *out, uint32_t *outlen)
{
	uint32_t n = 0;
	int in_hex = 0, nib = -1;

	for (const char *p = s; p < e; p++) {
		if (in_hex) {
			int v;

			if (*p == '|') {
				if (nib >= 0)
					return rp_error(c, p, "odd number of hex digits");
				in_hex = 0;
			} else if (isspace((unsigned char)*p)) {
				continue;
			} else if ((v = rp_hexval((unsigned char)*p)) < 0) {
				return rp_error(c, p, "invalid hex digit '%c'", *p);
			} else if (nib < 0) {
				nib = v;
			} else {
				out[n++] = (uint8_t)(nib << 4 | v);
				nib = -1;
			}
		} else if (*p == '|') {
			in_hex = 1;
		} else if (*p == '\\') {
			if (p + 1 == e || strchr("\";\\:", p[1]) == NULL)
				return rp_error(c, p, "invalid escape in content");
			out[n++] = (uint8_t)*++p;
		} else if (*p == '"' || *p == ';') {
			return rp_error(c, p, "unescaped '%c' in content", *p);
		} else {
			out[n++] = (uint8_t)*p;
		}
	}
	if (in_hex)
		return rp_error(c, s, "unterminated hex run ('|')");
	*outlen = n;
	return 0;
}

static int
rp_kw_content_buf(struct rp_ctx *c, const char *kw, const char *s,
                  const char *e, int buffer)
{
	const char *qs = NULL, *qe = NULL;
	struct ips_cond *cd;
	uint8_t *bytes;
	uint32_t len = 0;
	int neg;

	if (rp_unquote(c, s, e, 1, &neg, &qs, &qe) < 0)
		return -1;
	bytes = malloc((size_t)(qe - qs) + 1);
	if (bytes == NULL)
		return rp_error(c, kw, "out of memory");
	if (rp_decode_content(c, qs, qe, bytes, &len) < 0) {
		free(bytes);
		return -1;
	}
	if (len == 0) {
		free(bytes);
		return rp_error(c, s, "empty content");
	}
	cd = rp_add_cond(c, kw);
	if (cd == NULL) {
		free(bytes);
		return -1;
	}
	bytes[len] = '\0';
	cd->kind = IPS_COND_CONTENT;
	cd->negated = (uint8_t)neg;
	cd->bytes = bytes;
	cd->len = len;
	if (buffer >= 0)
		cd->buffer = (uint8_t)buffer;
	return 0;
}

static int
rp_kw_content(struct rp_ctx *c, const char *kw, const char *s, const char *e,
              int arg)
{
	(void)arg;
	return rp_kw_content_buf(c, kw, s, e, -1);
}

/* uricontent:"x" is the old spelling of http.uri content. */
static int
rp_kw_uricontent(struct rp_ctx *c, const char *kw, const char *s,
                 const char *e, int arg)
{
	(void)arg;
	return rp_kw_content_buf(c, kw, s, e, IPS_BUF_URI);
}

/* pcre flags (Suricata's set).  Matching flags go to PCRE2 (and to the
 * Hyperscan prefilter where it has them); buffer flags select the buffer
 * the way the legacy modifiers do.  A buffer flag naming a buffer this
 * gateway does not produce is refused, naming it. */
static const struct {
	char flag;
	int16_t buffer;         /* enum ips_buffer, or -1: not produced */
	const char *name;
} rp_pcre_buffers[] = {
	{ 'U', IPS_BUF_URI, "http.uri" },
	{ 'I', IPS_BUF_URI_RAW, "http.uri.raw" },
	{ 'H', IPS_BUF_HEADER, "http.header" },
	{ 'P', IPS_BUF_REQUEST_BODY, "http.request_body" },
	{ 'C', IPS_BUF_COOKIE, "http.cookie" },
	{ 'M', IPS_BUF_METHOD, "http.method" },
	{ 'V', IPS_BUF_USER_AGENT, "http.user_agent" },
	{ 'W', IPS_BUF_HOST, "http.host" },
	{ 'D', -1, "http.header.raw" },
	{ 'Z', -1, "http.host.raw" },
	{ 'S', IPS_BUF_STAT_CODE, "http.stat_code" },
	{ 'Y', IPS_BUF_STAT_MSG, "http.stat_msg" },
	{ 'Q', -1, "file.data" },
};

static int
rp_pcre_flag(struct rp_ctx *c, const char *p, struct ips_cond *cd,
             int *explicit_buf)
{
	static const struct { char flag; uint16_t opt; unsigned hs; } m[] = {
		{ 'i', IPS_PCRE_CASELESS, HS_FLAG_CASELESS },
		{ 's', IPS_PCRE_DOTALL, HS_FLAG_DOTALL },
		{ 'm', IPS_PCRE_MULTILINE, HS_FLAG_MULTILINE },
		{ 'x', IPS_PCRE_EXTENDED, 0 },
		{ 'A', IPS_PCRE_ANCHORED, 0 },
		{ 'E', IPS_PCRE_DOLLAR_END, 0 },
		{ 'G', IPS_PCRE_UNGREEDY, 0 },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (*p == m[i].flag) {
			cd->pcre_opts |= m[i].opt;
			cd->hs_flags |= m[i].hs;
			return 0;
		}
	switch (*p) {
	case 'R': cd->relative = 1; return 0;
	case 'B': return 0;     /* rawbytes: Suricata ignores it too */
	case 'O':               /* override the match limit: never */
		return rp_error(c, p, "pcre flag 'O' (no match limit) is not "
		                "supported: every pcre runs under the match "
		                "limit");
	default: break;
	}
	for (size_t i = 0; i < sizeof(rp_pcre_buffers) /
	                       sizeof(rp_pcre_buffers[0]); i++) {
		if (*p != rp_pcre_buffers[i].flag)
			continue;
		if (rp_pcre_buffers[i].buffer < 0)
			return rp_error(c, p, "pcre flag '%c': buffer %s is not "
			                "supported", *p, rp_pcre_buffers[i].name);
		if (*explicit_buf)
			return rp_error(c, p, "pcre has more than one buffer "
			                "flag");
		*explicit_buf = 1;
		cd->buffer = (uint8_t)rp_pcre_buffers[i].buffer;
		return 0;
	}
	return rp_error(c, p, "unsupported pcre flag '%c'", *p);
}

/* The previous content or pcre of the rule (any buffer), or NULL. */
static struct ips_cond *
rp_prev_match(struct rp_ctx *c, uint32_t before)
{
	while (before-- > 0) {
		struct ips_cond *cd = &c->r.conds[before];

		if (cd->kind == IPS_COND_CONTENT || cd->kind == IPS_COND_PCRE)
			return cd;
	}
	return NULL;
}

/* A relative keyword with no sticky buffer and no buffer flag inspects
 * the buffer of the content or pcre it is relative to (Suricata puts it
 * in that match's list), e.g. `content:"x"; http_uri; pcre:"/y/R";`. */
static void
rp_relative_buffer(struct rp_ctx *c, struct ips_cond *cd, int explicit_buf)
{
	const struct ips_cond *prev;

	if (!cd->relative || explicit_buf || c->cur_buf >= 0)
		return;
	prev = rp_prev_match(c, c->r.n_conds - 1);
	if (prev != NULL)
		cd->buffer = prev->buffer;
}

static int
rp_kw_pcre(struct rp_ctx *c, const char *kw, const char *s, const char *e,
           int arg)
{
	const char *qs = NULL, *qe = NULL, *rs, *re;
	struct ips_cond tmp;
	struct ips_cond *cd;
	int neg, explicit_buf = 0;
	size_t n;

	(void)arg;
	/* Suricata also takes the regex unquoted: pcre:/x/i; */
	neg = s < e && *s == '!';
	qs = rp_skip_ws(s + neg, e);
	qe = e;
	if ((qs == qe || *qs != '/') &&
	    rp_unquote(c, s, e, 1, &neg, &qs, &qe) < 0)
		return -1;
	if (qs == qe || *qs != '/')
		return rp_error(c, qs, "pcre must start with '/'");
	re = qe;
	while (re > qs + 1 && re[-1] != '/')
		re--;
	if (re == qs + 1)
		return rp_error(c, qs, "pcre has no closing '/'");
	rs = qs + 1;
	re--;                           /* at the closing '/' */
	if (rs == re)
		return rp_error(c, qs, "empty pcre");
	memset(&tmp, 0, sizeof(tmp));
	tmp.buffer = c->cur_buf < 0 ? RP_BUF_NONE : (uint8_t)c->cur_buf;
	for (const char *p = re + 1; p < qe; p++)
		if (rp_pcre_flag(c, p, &tmp, &explicit_buf) < 0)
			return -1;
	cd = rp_add_cond(c, kw);
	if (cd == NULL)
		return -1;
	n = (size_t)(re - rs);
	cd->bytes = malloc(n + 1);
	if (cd->bytes == NULL) {
		c->r.n_conds--;
		return rp_error(c, kw, "out of memory");
	}
	memcpy(cd->bytes, rs, n);
	cd->bytes[n] = '\0';
	cd->len = (uint32_t)n;
	cd->kind = IPS_COND_PCRE;
	cd->negated = (uint8_t)neg;
	cd->buffer = tmp.buffer;
	cd->hs_flags = tmp.hs_flags;
	cd->pcre_opts = tmp.pcre_opts;
	cd->relative = tmp.relative;
	rp_relative_buffer(c, cd, explicit_buf);
	return 0;
}

static struct ips_cond *
rp_modified_content(struct rp_ctx *c, const char *kw, int kwlen)
{
	struct ips_cond *cd = NULL;

	/* Suricata modifies the last content, whatever keywords (bsize,
	 * isdataat, pcre) came after it. */
	for (uint32_t i = c->r.n_conds; i-- > 0 && cd == NULL; )
		if (c->r.conds[i].kind == IPS_COND_CONTENT)
			cd = &c->r.conds[i];
	if (cd == NULL) {
		rp_error(c, kw, "'%.*s' needs a preceding content", kwlen, kw);
		return NULL;
	}
	return cd;
}

/* rawbytes: Snort's "skip the telnet normalizer".  Suricata has none, so
 * it only checks that a raw-stream content precedes; so here. */
static int
rp_kw_rawbytes(struct rp_ctx *c, const char *kw, const char *s,
               const char *e, int arg)
{
	struct ips_cond *cd = rp_modified_content(c, kw, 8);

	(void)s, (void)e, (void)arg;
	if (cd == NULL)
		return -1;
	if (cd->buffer != RP_BUF_NONE && cd->buffer != IPS_BUF_STREAM)
		return rp_error(c, kw, "rawbytes needs a raw-stream content "
		                "(no sticky buffer)");
	return 0;
}

static int
rp_kw_nocase(struct rp_ctx *c, const char *kw, const char *s, const char *e,
             int arg)
{
	struct ips_cond *cd = rp_modified_content(c, kw, 6);

	(void)s, (void)e, (void)arg;
	if (cd == NULL)
		return -1;
	cd->nocase = 1;
	return 0;
}

/* depth (arg 0) and offset (arg 1). */
static int
rp_kw_depth_offset(struct rp_ctx *c, const char *kw, const char *s,
                   const char *e, int arg)
{
	const char *name = arg ? "offset" : "depth";
	struct ips_cond *cd = rp_modified_content(c, kw, (int)strlen(name));
	uint32_t v;

	if (cd == NULL)
		return -1;
	if (c->has_startswith)
		return rp_error(c, kw, "'%s' conflicts with startswith", name);
	if (cd->relative)
		return rp_error(c, kw, "'%s' cannot be combined with "
		                "distance/within", name);
	if (rp_parse_uint(s, e, 65535, &v) < 0)
		return rp_error(c, s, "invalid %s '%.*s'", name, (int)(e - s), s);
	if (arg) {
		cd->offset = v;
	} else {
		if (v < cd->len)
			return rp_error(c, s, "depth %u is shorter than the "
			                "content (%u bytes)", v, cd->len);
		cd->depth = v;
	}
	return 0;
}

static int
rp_kw_startswith(struct rp_ctx *c, const char *kw, const char *s,
                 const char *e, int arg)
{
	struct ips_cond *cd = rp_modified_content(c, kw, 10);

	(void)s, (void)e, (void)arg;
	if (cd == NULL)
		return -1;
	if (cd->offset || cd->depth || cd->relative)
		return rp_error(c, kw, "startswith conflicts with "
		                "depth/offset/distance/within");
	cd->depth = cd->len;
	c->has_startswith = 1;
	return 0;
}

/* distance (arg 0) and within (arg 1): positions relative to the previous
 * content of the buffer, checked by the dataplane after the prefilter. */
static int
rp_kw_distance_within(struct rp_ctx *c, const char *kw, const char *s,
                      const char *e, int arg)
{
	const char *name = arg ? "within" : "distance";
	struct ips_cond *cd = rp_modified_content(c, kw, (int)strlen(name));
	int neg = !arg && s < e && *s == '-';
	uint32_t v;

	if (cd == NULL)
		return -1;
	if (cd->offset || cd->depth || c->has_startswith)
		return rp_error(c, kw, "'%s' cannot be combined with "
		                "depth/offset/startswith", name);
	if (rp_parse_uint(s + neg, e, 65535, &v) < 0)
		return rp_error(c, s, "invalid %s '%.*s'", name, (int)(e - s), s);
	if (arg) {
		if (v < cd->len)
			return rp_error(c, s, "within %u is shorter than the "
			                "content (%u bytes)", v, cd->len);
		cd->within = v;
	} else {
		cd->distance = neg ? -(int32_t)v : (int32_t)v;
	}
	cd->relative = 1;
	return 0;
}

static int
rp_kw_endswith(struct rp_ctx *c, const char *kw, const char *s,
               const char *e, int arg)
{
	struct ips_cond *cd = rp_modified_content(c, kw, 8);

	(void)s, (void)e, (void)arg;
	if (cd == NULL)
		return -1;
	cd->endswith = 1;
	return 0;
}

/* ---- isdataat, bsize, urilen, byte_test, byte_jump ------------------ */

/* Comma-separated argument i of [s, e), trimmed, into [*as, *ae).
 * Returns the number of arguments when i is out of range. */
static int
rp_arg(const char *s, const char *e, int i, const char **as, const char **ae)
{
	int n = 0;

	for (const char *p = s;; ) {
		const char *q = memchr(p, ',', (size_t)(e - p));

		q = q ? q : e;
		if (n == i) {
			*as = rp_skip_ws(p, q);
			*ae = rp_trim_end(*as, q);
			return -1;
		}
		n++;
		if (q == e)
			return n;
		p = q + 1;
	}
}

/* Signed decimal or 0x hex in [min, max]. */
static int
rp_parse_num(const char *s, const char *e, int64_t min, int64_t max,
             int64_t *out)
{
	int neg = s < e && *s == '-';
	uint64_t v = 0;
	int base = 10;

	s += neg;
	if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s == e)
		return -1;
	for (; s < e; s++) {
		int d = rp_hexval((unsigned char)*s);

		if (d < 0 || d >= base || v > (UINT64_MAX >> 4))
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return *out < min || *out > max ? -1 : 0;
}

/* A keyword that is a condition of its own (not a content modifier). */
static struct ips_cond *
rp_add_keyword_cond(struct rp_ctx *c, const char *kw, const char *s,
                    const char *e, uint8_t kind)
{
	struct ips_cond *cd = rp_add_cond(c, kw);

	if (cd == NULL)
		return NULL;
	cd->kind = kind;
	cd->bytes = (uint8_t *)rp_strndup(s, (size_t)(e - s));
	if (cd->bytes == NULL) {
		c->r.n_conds--;
		rp_error(c, kw, "out of memory");
		return NULL;
	}
	cd->len = (uint32_t)(e - s);
	return cd;
}

/* "N", "<N", ">N", "<=N", ">=N", "N<>M" (lo < x < hi) for bsize/urilen. */
static int
rp_parse_size(struct rp_ctx *c, const char *name, const char *s,
              const char *e, struct ips_cond *cd)
{
	static const struct { const char *tok; uint8_t op; } ops[] = {
		{ "<=", IPS_OP_LE }, { ">=", IPS_OP_GE },
		{ "<", IPS_OP_LT }, { ">", IPS_OP_GT },
	};
	const char *rng = NULL;
	int64_t lo, hi;

	for (const char *p = s; p + 1 < e; p++)
		if (p[0] == '<' && p[1] == '>')
			rng = p;
	cd->num_op = IPS_OP_EQ;
	if (rng != NULL) {
		const char *ls = rp_skip_ws(s, rng);

		if (rp_parse_num(ls, rp_trim_end(ls, rng), 0,
		                 UINT32_MAX, &lo) < 0 ||
		    rp_parse_num(rp_skip_ws(rng + 2, e), e, 0, UINT32_MAX,
		                 &hi) < 0 || hi <= lo + 1)
			return rp_error(c, s, "invalid %s range '%.*s'", name,
			                (int)(e - s), s);
		cd->num_op = IPS_OP_RANGE;
		cd->offset = (uint32_t)lo;
		cd->depth = (uint32_t)hi;
		return 0;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((size_t)(e - s) > strlen(ops[i].tok) &&
		    memcmp(s, ops[i].tok, strlen(ops[i].tok)) == 0) {
			cd->num_op = ops[i].op;
			s = rp_skip_ws(s + strlen(ops[i].tok), e);
			break;
		}
	if (rp_parse_num(s, e, 0, UINT32_MAX, &lo) < 0)
		return rp_error(c, s, "invalid %s '%.*s'", name, (int)(e - s), s);
	cd->offset = (uint32_t)lo;
	return 0;
}

/* bsize measures a whole buffer: the raw stream has no size until it
 * ends. */
static int
rp_need_sticky(struct rp_ctx *c, const char *kw, const char *name,
               const struct ips_cond *cd)
{
	if (cd->buffer == RP_BUF_NONE || cd->buffer == IPS_BUF_STREAM)
		return rp_error(c, kw, "%s without a sticky buffer (raw stream) "
		                "is not supported", name);
	return 0;
}

static int
rp_kw_bsize(struct rp_ctx *c, const char *kw, const char *s, const char *e,
            int arg)
{
	struct ips_cond *cd;

	(void)arg;
	cd = rp_add_keyword_cond(c, kw, s, e, IPS_COND_BSIZE);
	if (cd == NULL || rp_need_sticky(c, kw, "bsize", cd) < 0)
		return -1;
	return rp_parse_size(c, "bsize", s, e, cd);
}

/* urilen:N[,norm|raw]: the length of http.uri (norm, the default) or of
 * http.uri.raw, whatever buffer is sticky. */
static int
rp_kw_urilen(struct rp_ctx *c, const char *kw, const char *s, const char *e,
             int arg)
{
	const char *as, *ae, *ve = e;
	struct ips_cond *cd;
	int raw = 0;

	(void)arg;
	if (rp_arg(s, e, 1, &as, &ae) < 0) {
		if (rp_word_is(as, ae, "raw"))
			raw = 1;
		else if (!rp_word_is(as, ae, "norm"))
			return rp_error(c, as, "invalid urilen option '%.*s'",
			                (int)(ae - as), as);
		rp_arg(s, e, 0, &s, &ve);
	}
	cd = rp_add_keyword_cond(c, kw, s, e, IPS_COND_URILEN);
	if (cd == NULL)
		return -1;
	cd->buffer = raw ? IPS_BUF_URI_RAW : IPS_BUF_URI;
	return rp_parse_size(c, "urilen", s, ve, cd);
}

/* isdataat:[!]N[,relative][,rawbytes] */
static int
rp_kw_isdataat(struct rp_ctx *c, const char *kw, const char *s,
               const char *e, int arg)
{
	const char *as, *ae;
	struct ips_cond *cd;
	int64_t v;
	int neg = s < e && *s == '!';

	(void)arg;
	cd = rp_add_keyword_cond(c, kw, s, e, IPS_COND_ISDATAAT);
	if (cd == NULL)
		return -1;
	cd->negated = (uint8_t)neg;
	for (int i = 1; rp_arg(s, e, i, &as, &ae) < 0; i++) {
		if (rp_word_is(as, ae, "relative"))
			cd->relative = 1;
		else if (!rp_word_is(as, ae, "rawbytes"))
			return rp_error(c, as, "invalid isdataat option '%.*s'",
			                (int)(ae - as), as);
	}
	rp_arg(s, e, 0, &as, &ae);
	if (rp_parse_num(rp_skip_ws(as + neg, ae), ae, 0, 65535, &v) < 0)
		return rp_error(c, as, "invalid isdataat '%.*s'",
		                (int)(ae - as), as);
	cd->offset = (uint32_t)v;
	rp_relative_buffer(c, cd, 0);
	return 0;
}

/* The options byte_test and byte_jump share: relative, endianness,
 * string,BASE, bitmask.  Returns 1 when [as, ae) was one of them
 * (consuming the next argument for "string" / "bitmask"), 0 when not,
 * -1 on error. */
static int
rp_byte_common(struct rp_ctx *c, const char *s, const char *e, int *i,
               const char *as, const char *ae, struct ips_cond *cd)
{
	const char *bs, *be;
	int64_t v;

	if (rp_word_is(as, ae, "relative")) {
		cd->relative = 1;
	} else if (rp_word_is(as, ae, "little")) {
		cd->num_flags |= IPS_BYTE_LITTLE;
	} else if (rp_word_is(as, ae, "big")) {
		cd->num_flags &= (uint16_t)~IPS_BYTE_LITTLE;
	} else if (rp_word_is(as, ae, "string")) {
		/* no base: strtoull's base 0 (0x hex, leading 0 octal), as
		 * Suricata's BASE_UNSET */
		cd->num_flags |= IPS_BYTE_STRING;
		cd->num_base = 0;
		if (rp_arg(s, e, *i + 1, &bs, &be) < 0 &&
		    (rp_word_is(bs, be, "hex") || rp_word_is(bs, be, "dec") ||
		     rp_word_is(bs, be, "oct"))) {
			cd->num_base = bs[0] == 'h' ? 16 : bs[0] == 'o' ? 8 : 10;
			(*i)++;
		}
	} else if (ae - as > 7 && memcmp(as, "bitmask", 7) == 0) {
		bs = rp_skip_ws(as + 7, ae);
		if (rp_parse_num(bs, ae, 1, UINT32_MAX, &v) < 0)
			return rp_error(c, as, "invalid bitmask '%.*s'",
			                (int)(ae - as), as);
		cd->num_flags |= IPS_BYTE_BITMASK;
		cd->num_bitmask = (uint32_t)v;
	} else if (rp_word_is(as, ae, "dce")) {
		return rp_error(c, as, "'dce' (DCERPC byte order) is not "
		                "supported");
	} else {
		return 0;
	}
	return 1;
}

/* byte_test (whole_ok) takes 0 bytes with string: Suricata hands
 * strtoull the rest of the buffer, so the number is every digit from the
 * offset on (ET reads http.content_len so). */
static int
rp_byte_nbytes(struct rp_ctx *c, const char *s, const char *e,
               struct ips_cond *cd, int whole_ok)
{
	const char *as, *ae;
	int64_t v;
	int string = (cd->num_flags & IPS_BYTE_STRING) != 0;
	int max = string ? 20 : 8, min = whole_ok && string ? 0 : 1;

	rp_arg(s, e, 0, &as, &ae);
	if (rp_parse_num(as, ae, min, max, &v) < 0)
		return rp_error(c, as, "invalid number of bytes '%.*s' (%d..%d)",
		                (int)(ae - as), as, min, max);
	cd->num_bytes = (uint8_t)v;
	return 0;
}

/* byte_test:nbytes,[!]op,value,offset[,relative][,big|little]
 *           [,string,hex|dec|oct][,bitmask N] */
static int
rp_kw_byte_test(struct rp_ctx *c, const char *kw, const char *s,
                const char *e, int arg)
{
	static const struct { const char *tok; uint8_t op; } ops[] = {
		{ "<=", IPS_OP_LE }, { ">=", IPS_OP_GE }, { "<", IPS_OP_LT },
		{ ">", IPS_OP_GT }, { "=", IPS_OP_EQ }, { "&", IPS_OP_AND },
		{ "^", IPS_OP_XOR },
	};
	const char *as, *ae;
	struct ips_cond *cd;
	int64_t v;
	size_t k;
	int rc;

	(void)arg;
	cd = rp_add_keyword_cond(c, kw, s, e, IPS_COND_BYTE_TEST);
	if (cd == NULL)
		return -1;
	if (rp_arg(s, e, 3, &as, &ae) >= 0)
		return rp_error(c, s, "byte_test needs nbytes, operator, value "
		                "and offset");
	for (int i = 4; rp_arg(s, e, i, &as, &ae) < 0; i++) {
		if ((rc = rp_byte_common(c, s, e, &i, as, ae, cd)) < 0)
			return -1;
		if (rc == 0)
			return rp_error(c, as, "invalid byte_test option '%.*s'",
			                (int)(ae - as), as);
	}
	if (rp_byte_nbytes(c, s, e, cd, 1) < 0)
		return -1;
	rp_arg(s, e, 1, &as, &ae);
	if (as < ae && *as == '!') {
		cd->negated = 1;
		as = rp_skip_ws(as + 1, ae);
	}
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (rp_word_is(as, ae, ops[k].tok))
			break;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return rp_error(c, as, "invalid byte_test operator '%.*s'",
		                (int)(ae - as), as);
	cd->num_op = ops[k].op;
	rp_arg(s, e, 2, &as, &ae);
	if (rp_parse_num(as, ae, 0, INT64_MAX, &v) < 0)
		return rp_error(c, as, "invalid byte_test value '%.*s'",
		                (int)(ae - as), as);
	cd->num_value = (uint64_t)v;
	rp_arg(s, e, 3, &as, &ae);
	if (rp_parse_num(as, ae, -65535, 65535, &v) < 0)
		return rp_error(c, as, "invalid byte_test offset '%.*s'",
		                (int)(ae - as), as);
	cd->num_offset = (int32_t)v;
	rp_relative_buffer(c, cd, 0);
	return 0;
}

/* byte_jump:nbytes,offset[,relative][,multiplier N][,big|little]
 *           [,string,hex|dec|oct][,align][,from_beginning|from_end]
 *           [,post_offset N]  (no bitmask: Suricata's has none) */
static int
rp_kw_byte_jump(struct rp_ctx *c, const char *kw, const char *s,
                const char *e, int arg)
{
	const char *as, *ae, *vs;
	struct ips_cond *cd;
	int64_t v;
	int rc;

	(void)arg;
	cd = rp_add_keyword_cond(c, kw, s, e, IPS_COND_BYTE_JUMP);
	if (cd == NULL)
		return -1;
	if (rp_arg(s, e, 1, &as, &ae) >= 0)
		return rp_error(c, s, "byte_jump needs nbytes and offset");
	for (int i = 2; rp_arg(s, e, i, &as, &ae) < 0; i++) {
		if (ae - as > 7 && memcmp(as, "bitmask", 7) == 0)
			return rp_error(c, as, "byte_jump takes no bitmask "
			                "(Suricata's does not)");
		if ((rc = rp_byte_common(c, s, e, &i, as, ae, cd)) < 0)
			return -1;
		if (rc == 1)
			continue;
		if (rp_word_is(as, ae, "align")) {
			cd->num_flags |= IPS_BYTE_ALIGN;
		} else if (rp_word_is(as, ae, "from_beginning")) {
			cd->num_flags |= IPS_BYTE_FROM_BEGIN;
		} else if (rp_word_is(as, ae, "from_end")) {
			cd->num_flags |= IPS_BYTE_FROM_END;
		} else if (ae - as > 10 && memcmp(as, "multiplier", 10) == 0) {
			vs = rp_skip_ws(as + 10, ae);
			if (rp_parse_num(vs, ae, 1, 65535, &v) < 0)
				return rp_error(c, as, "invalid multiplier");
			cd->num_mult = (uint32_t)v;
		} else if (ae - as > 11 && memcmp(as, "post_offset", 11) == 0) {
			vs = rp_skip_ws(as + 11, ae);
			if (rp_parse_num(vs, ae, -65535, 65535, &v) < 0)
				return rp_error(c, as, "invalid post_offset");
			cd->num_post = (int32_t)v;
		} else {
			return rp_error(c, as, "invalid byte_jump option '%.*s'",
			                (int)(ae - as), as);
		}
	}
	if ((cd->num_flags & IPS_BYTE_FROM_BEGIN) &&
	    (cd->num_flags & IPS_BYTE_FROM_END))
		return rp_error(c, kw, "byte_jump: from_beginning and from_end "
		                "together");
	if (rp_byte_nbytes(c, s, e, cd, 0) < 0)
		return -1;
	rp_arg(s, e, 1, &as, &ae);
	if (rp_parse_num(as, ae, -65535, 65535, &v) < 0)
		return rp_error(c, as, "invalid byte_jump offset '%.*s'",
		                (int)(ae - as), as);
	cd->num_offset = (int32_t)v;
	rp_relative_buffer(c, cd, 0);
	return 0;
}

/* Relative keywords, once legacy modifiers have assigned buffers: the
 * retry flags of Suricata's inspection (WITHIN_NEXT on a content,
 * RELATIVE_NEXT on either) are derived here, from the content or pcre
 * each relative keyword follows in its buffer. */
static int
rp_check_relative(struct rp_ctx *c)
{
	for (uint32_t i = 0; i < c->r.n_conds; i++) {
		struct ips_cond *cd = &c->r.conds[i];
		int j = (int)i - 1;

		if (!cd->relative)
			continue;
		while (j >= 0 && (c->r.conds[j].buffer != cd->buffer ||
		                  (c->r.conds[j].kind != IPS_COND_CONTENT &&
		                   c->r.conds[j].kind != IPS_COND_PCRE)))
			j--;
		if (j < 0)
			continue;   /* relative to the buffer's start */
		/* Suricata: a content retries for a within, a negated
		 * content, or any relative keyword but a content (distance
		 * alone sets DISTANCE_NEXT, which does not retry); a pcre
		 * for any relative keyword */
		if (c->r.conds[j].kind == IPS_COND_PCRE ||
		    cd->kind != IPS_COND_CONTENT || cd->within != 0 ||
		    cd->negated)
			c->r.conds[j].retry_next = 1;
	}
	return 0;
}

static uint64_t
rp_buffers(const struct rp_ctx *c)
{
	uint64_t m = 0;

	for (uint32_t i = 0; i < c->r.n_conds; i++)
		m |= IPS_BUF_BIT(c->r.conds[i].buffer);
	return m;
}

/* The buffers of a tls rule. */
#define RP_TLS_MASK (IPS_BUF_CERT_MASK | IPS_BUF_HELLO_MASK)

/* Whether buffer bit cb may stand beside the rule's other buffers b: the
 * ClientHello's together, tls.certs alone, the certificate names
 * together. */
static int
rp_tls_fits(uint64_t b, uint64_t cb)
{
	if (b & IPS_BUF_HELLO_MASK)
		return (cb & IPS_BUF_HELLO_MASK) != 0;
	if (b & IPS_BUF_BIT(IPS_BUF_TLS_CERTS))
		return cb == IPS_BUF_BIT(IPS_BUF_TLS_CERTS);
	return (cb & IPS_BUF_CERT_MASK) != 0;
}

/* tls.sni and ja3.* read the client's ClientHello, to the server;
 * tls.certs and the tls.cert_* names the server's certificates, to the
 * client.  Suricata inspects them on flows its protocol detection calls
 * TLS (any port). */
static int
rp_check_tls(struct rp_ctx *c, const char *open)
{
	uint64_t b = rp_buffers(c);
	int client = (b & IPS_BUF_HELLO_MASK) != 0;
	const char *what = client ? "tls.sni/ja3/tls.version"
	                   : (b & IPS_BUF_BIT(IPS_BUF_TLS_CERTS)) ? "tls.certs"
	                   : "tls.cert_*";

	for (uint32_t i = 0; i < c->r.n_conds; i++) {
		uint8_t buf = c->r.conds[i].buffer;

		if (!(b & RP_TLS_MASK))
			return rp_error(c, c->cond_pos[i], "a tls rule reads "
			                "tls.sni, ja3.*, tls.version, tls.certs or "
			                "tls.cert_* only (%s is not supported "
			                "there)",
			                buf == IPS_BUF_STREAM ? "raw content"
			                                      : ips_buffer_name(buf));
		if (!rp_tls_fits(b, IPS_BUF_BIT(buf)))
			return rp_error(c, c->cond_pos[i], "%s cannot be "
			                "combined with other buffers in one rule",
			                what);
	}
	if (b == 0)
		return rp_error(c, open, "tls rule without tls.sni, ja3.*, "
		                "tls.version, tls.certs or tls.cert_* is not "
		                "supported");
	if (c->r.proto == IPS_PROTO_HTTP)
		return rp_error(c, open, "%s in an http rule never "
		                "matches (use protocol tls)", what);
	/* Suricata reads tls.version on both sides, the server's from its
	 * ServerHello, which the gateway does not follow; tls.sni or ja3.*
	 * beside it make the rule the client's */
	if ((b & IPS_BUF_BIT(IPS_BUF_TLS_VERSION)) &&
	    !(b & IPS_BUF_HELLO_MASK & ~IPS_BUF_BIT(IPS_BUF_TLS_VERSION)) &&
	    !(c->r.flow_flags & IPS_FLOW_TO_SERVER))
		return rp_error(c, open, "tls.version without flow:to_server "
		                "is not supported (the server's version, in its "
		                "ServerHello, is not read)");
	if (client && (c->r.flow_flags & IPS_FLOW_TO_CLIENT))
		return rp_error(c, open, "%s with flow:to_client never "
		                "matches (the ClientHello goes to the server)",
		                what);
	if (!client && (c->r.flow_flags & IPS_FLOW_TO_SERVER))
		return rp_error(c, open, "%s with flow:to_server never "
		                "matches (certificates go to the client)", what);
	if (c->r.bidirectional)
		return rp_error(c, open, "'<>' with %s is not supported", what);
	/* tcp with a tls keyword: Suricata's app-layer keyword makes it tls */
	c->r.proto = IPS_PROTO_TLS;
	return 0;
}

/* http.stat_code and the response body (http.response_body, and file_data
 * as Suricata reads it on a response) are the response's: read server to
 * client, on HTTP flows, with no request buffer (the gateway inspects a
 * response on its own; Suricata's file_data on a request, an upload's
 * file, is not produced). */
static int
rp_check_response(struct rp_ctx *c, const char *open)
{
	for (uint32_t i = 0; i < c->r.n_conds; i++)
		if (!(IPS_BUF_BIT(c->r.conds[i].buffer) & IPS_BUF_RESPONSE_MASK))
			return rp_error(c, c->cond_pos[i], "%s cannot be combined "
			                "with response buffers in one rule",
			                c->r.conds[i].buffer == IPS_BUF_STREAM
			                ? "content/pcre without a sticky buffer "
			                  "(raw stream)"
			                : ips_buffer_name(c->r.conds[i].buffer));
	if (c->r.proto != IPS_PROTO_HTTP)
		return rp_error(c, open, "response buffers need protocol http");
	if (c->r.flow_flags & IPS_FLOW_TO_SERVER)
		return rp_error(c, open, "response buffers with flow:to_server "
		                "are not supported (file_data of uploads is not "
		                "produced)");
	if (c->r.bidirectional)
		return rp_error(c, open, "'<>' with response buffers is not "
		                "supported");
	/* the buffer says the direction, as in Suricata */
	c->r.flow_flags |= IPS_FLOW_TO_CLIENT;
	return 0;
}

/* In a rule on the response (flow:to_client, or a response buffer),
 * Suricata's http.header, http.header_names, http.cookie and
 * http.content_type read the response's head. */
static void
rp_remap_response_head(struct rp_ctx *c)
{
	static const uint8_t map[][2] = {
		{ IPS_BUF_HEADER, IPS_BUF_RESP_HEADER },
		{ IPS_BUF_HEADER_NAMES, IPS_BUF_RESP_HEADER_NAMES },
		{ IPS_BUF_COOKIE, IPS_BUF_RESP_COOKIE },
		{ IPS_BUF_CONTENT_TYPE, IPS_BUF_RESP_CONTENT_TYPE },
	};

	if (!(c->r.flow_flags & IPS_FLOW_TO_CLIENT) && !c->twin &&
	    !(rp_buffers(c) & IPS_BUF_RESPONSE_MASK))
		return;
	for (uint32_t i = 0; i < c->r.n_conds; i++)
		for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
			if (c->r.conds[i].buffer == map[k][0])
				c->r.conds[i].buffer = map[k][1];
}

/* Whether an http rule reads both sides, as Suricata infers a rule's
 * direction from its buffers: with no flow direction, and only buffers
 * requests and responses both have.  Those the gateway produces for a
 * response too get a twin rule (struct ips_rule's twin); a rule on the
 * others is refused. */
static int
rp_both_sides(struct rp_ctx *c, const char *open)
{
	static const uint64_t twinned =
		IPS_BUF_BIT(IPS_BUF_HEADER) | IPS_BUF_BIT(IPS_BUF_HEADER_NAMES) |
		IPS_BUF_BIT(IPS_BUF_COOKIE) | IPS_BUF_BIT(IPS_BUF_CONTENT_TYPE);
	static const uint64_t request_only =
		IPS_BUF_BIT(IPS_BUF_PROTOCOL) | IPS_BUF_BIT(IPS_BUF_CONTENT_LEN) |
		IPS_BUF_BIT(IPS_BUF_CONNECTION);
	uint64_t b = rp_buffers(c);

	if (c->twin || b == 0 ||
	    (c->r.flow_flags & (IPS_FLOW_TO_SERVER | IPS_FLOW_TO_CLIENT)) ||
	    (b & ~(twinned | request_only)))
		return 0;
	if (b & request_only)
		return rp_error(c, open, "%s with no flow direction is read on "
		                "responses too, where the gateway does not "
		                "produce it (add flow:to_server)",
		                ips_buffer_name((enum ips_buffer)
		                                __builtin_ctzll(b & request_only)));
	if (c->r.bidirectional)
		return rp_error(c, open, "'<>' with no flow direction on %s "
		                "is not supported (Suricata reads it on responses "
		                "too; add flow:to_server)",
		                ips_buffer_name((enum ips_buffer)
		                                __builtin_ctzll(b)));
	c->wants_twin = 1;
	return 0;
}

/* The raw stream is inspected as it passes, each direction on its own (a
 * rule with no flow direction on both, its header read the way the bytes
 * go), and decided on its own: what cannot be done exactly is refused,
 * naming why. */
static int
rp_check_stream(struct rp_ctx *c, const char *open)
{
	int has_stream = 0, has_http = 0;

	if (c->r.proto == IPS_PROTO_TLS || (rp_buffers(c) & RP_TLS_MASK))
		return rp_check_tls(c, open);
	if (rp_both_sides(c, open) < 0)
		return -1;
	/* a tcp rule on http buffers is Suricata's http rule */
	if (c->twin)
		c->r.proto = IPS_PROTO_HTTP;
	rp_remap_response_head(c);
	if (rp_buffers(c) & IPS_BUF_RESPONSE_MASK)
		return rp_check_response(c, open);
	for (uint32_t i = 0; i < c->r.n_conds; i++) {
		const struct ips_cond *cd = &c->r.conds[i];

		if (cd->buffer != IPS_BUF_STREAM) {
			has_http = 1;
			continue;
		}
		has_stream = 1;
		/* Absent from a stream that has not ended yet is undecidable
		 * before its bytes are forwarded. */
		if (cd->negated)
			return rp_error(c, c->cond_pos[i], "negated %s on the raw "
			                "stream is not supported",
			                cd->kind == IPS_COND_PCRE ? "pcre"
			                : cd->kind == IPS_COND_CONTENT ? "content"
			                : "isdataat/byte_test");
		if (cd->endswith)
			return rp_error(c, c->cond_pos[i], "endswith on the raw "
			                "stream is not supported");
	}
	if (has_stream && has_http)
		return rp_error(c, open, "content/pcre without a sticky buffer "
		                "(raw stream) cannot be combined with http.* "
		                "buffers in one rule");
	/* The http.* buffers here are the request's; with to_client Suricata
	 * inspects them on the request of the response's transaction, which
	 * this gateway does not tie to its response: refused. */
	if (has_http && (c->r.flow_flags & IPS_FLOW_TO_CLIENT))
		return rp_error(c, open, "flow:to_client with request buffers "
		                "is not supported (a response is not tied to "
		                "its request's buffers)");
	if (!has_stream && !has_http && (c->r.flow_flags & IPS_FLOW_TO_CLIENT))
		return rp_error(c, open, "flow:to_client without content is not "
		                "supported (responses are not inspected)");
	if (c->r.proto == IPS_PROTO_TCP && c->r.n_conds == 0)
		return rp_error(c, open, "tcp rule without content or pcre is "
		                "not supported");
	return 0;
}

/* fast_pattern only tunes Suricata's prefilter choice; Hyperscan matches
 * every pattern anyway. */
static int
rp_kw_fast_pattern(struct rp_ctx *c, const char *kw, const char *s,
                   const char *e, int arg)
{
	(void)s, (void)e, (void)arg;
	return rp_modified_content(c, kw, 12) == NULL ? -1 : 0;
}

static int
rp_kw_sticky(struct rp_ctx *c, const char *kw, const char *s, const char *e,
             int arg)
{
	(void)kw, (void)s, (void)e;
	rp_settle_unbuffered(c);
	c->cur_buf = arg;
	return 0;
}

/* http_uri etc.: the buffer of the content just before. */
static int
rp_kw_legacy_buf(struct rp_ctx *c, const char *kw, const char *s,
                 const char *e, int arg)
{
	const char *ke = kw;
	struct ips_cond *cd;

	(void)s, (void)e;
	while (*ke == '_' || isalnum((unsigned char)*ke))
		ke++;
	cd = rp_modified_content(c, kw, (int)(ke - kw));
	if (cd == NULL)
		return -1;
	cd->buffer = (uint8_t)arg;
	return 0;
}

static int
rp_kw_msg(struct rp_ctx *c, const char *kw, const char *s, const char *e,
          int arg)
{
	const char *qs = NULL, *qe = NULL;
	char *m;
	size_t n = 0;
	int neg;

	(void)kw, (void)arg;
	if (c->has_msg)
		return rp_error(c, kw, "duplicate msg");
	if (rp_unquote(c, s, e, 0, &neg, &qs, &qe) < 0)
		return -1;
	m = malloc((size_t)(qe - qs) + 1);
	if (m == NULL)
		return rp_error(c, kw, "out of memory");
	for (const char *p = qs; p < qe; p++) {
		if (*p == '\\' && p + 1 < qe)
			p++;
		m[n++] = *p;
	}
	m[n] = '\0';
	c->r.msg = m;
	c->has_msg = 1;
	return 0;
}

/* sid (0), rev (1), priority (2). */
static int
rp_kw_number(struct rp_ctx *c, const char *kw, const char *s, const char *e,
             int arg)
{
	static const char *const names[] = { "sid", "rev", "priority" };
	uint32_t v;

	if (rp_parse_uint(s, e, arg == 2 ? 255 : UINT32_MAX, &v) < 0 ||
	    (v == 0 && arg != 1))
		return rp_error(c, s, "invalid %s '%.*s'", names[arg],
		                (int)(e - s), s);
	if (arg == 0) {
		if (c->has_sid)
			return rp_error(c, kw, "duplicate sid");
		c->r.sid = v;
		c->sid_pos = s;
		c->has_sid = 1;
	} else if (arg == 1) {
		c->r.rev = v;
	} else {
		c->r.priority = (uint8_t)v;
		c->has_prio = 1;
	}
	return 0;
}

static int
rp_kw_classtype(struct rp_ctx *c, const char *kw, const char *s,
                const char *e, int arg)
{
	int prio = rp_class_prio(c->opts, s, e);

	(void)kw, (void)arg;
	if (prio == -2)
		return rp_error(c, s, "cannot read classification file '%s'",
		                c->opts->classification_file);
	if (prio < 0)
		return rp_error(c, s, "unknown classtype '%.*s'", (int)(e - s), s);
	free(c->r.classtype);
	c->r.classtype = rp_strndup(s, (size_t)(e - s));
	if (c->r.classtype == NULL)
		return rp_error(c, s, "out of memory");
	if (!c->has_prio)
		c->r.priority = (uint8_t)prio;
	return 0;
}

static int
rp_kw_flow(struct rp_ctx *c, const char *kw, const char *s, const char *e,
           int arg)
{
	static const struct { const char *name; uint8_t flag; } opts[] = {
		{ "to_server", IPS_FLOW_TO_SERVER },
		{ "from_client", IPS_FLOW_TO_SERVER },
		{ "to_client", IPS_FLOW_TO_CLIENT },
		{ "from_server", IPS_FLOW_TO_CLIENT },
		{ "established", IPS_FLOW_ESTABLISHED },
		{ "stateless", 0 },
		/* the reassembled stream only: where raw rules match here
		 * anyway, and http buffers come from it too */
		{ "only_stream", 0 },
	};
	const char *p = s;

	(void)kw, (void)arg;
	while (p < e) {
		const char *q = memchr(p, ',', (size_t)(e - p));
		const char *ws, *we;
		size_t i;

		q = q ? q : e;
		ws = rp_skip_ws(p, q);
		we = rp_trim_end(ws, q);
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (rp_word_is(ws, we, opts[i].name))
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			return rp_error(c, ws, "unsupported flow option '%.*s'",
			                (int)(we - ws), ws);
		c->r.flow_flags |= opts[i].flag;
		p = q + 1;
	}
	if ((c->r.flow_flags & (IPS_FLOW_TO_SERVER | IPS_FLOW_TO_CLIENT)) ==
	    (IPS_FLOW_TO_SERVER | IPS_FLOW_TO_CLIENT))
		return rp_error(c, s, "flow cannot be both to_server and "
		                "to_client");
	return 0;
}

/*
 * metadata: comma-separated "key value" pairs, informational, except
 * "ips_reject_client block_page|reset": what a reject rule sends the
 * client (Suricata ignores a key it does not know, so the rule still
 * loads there).
 */
static int
rp_kw_metadata(struct rp_ctx *c, const char *kw, const char *s, const char *e,
               int arg)
{
	const char *p = s;

	(void)kw, (void)arg;
	while (p < e) {
		const char *q = memchr(p, ',', (size_t)(e - p));
		const char *ks, *ke, *vs, *ve;

		q = q ? q : e;
		ks = rp_skip_ws(p, q);
		ke = ks;
		while (ke < q && *ke != ' ' && *ke != '\t')
			ke++;
		vs = rp_skip_ws(ke, q);
		ve = rp_trim_end(vs, q);
		p = q + 1;
		if (!rp_word_is(ks, ke, "ips_reject_client"))
			continue;
		if (c->r.action != IPS_ACTION_REJECT || !(c->r.reject & IPS_REJECT_CLIENT))
			return rp_error(c, ks, "ips_reject_client: the rule sends "
			                "the client nothing (reject, rejectsrc or "
			                "rejectboth only)");
		c->r.reject &= (uint8_t)~(IPS_REJECT_PAGE | IPS_REJECT_RST);
		if (rp_word_is(vs, ve, "block_page"))
			c->r.reject |= IPS_REJECT_PAGE;
		else if (rp_word_is(vs, ve, "reset"))
			c->r.reject |= IPS_REJECT_RST;
		else
			return rp_error(c, vs, "ips_reject_client: expected "
			                "block_page or reset, got '%.*s'",
			                (int)(ve - vs), vs);
	}
	return 0;
}

/* ---- flowbits, threshold, detection_filter --------------------------- */


static const char *const rp_bit_ops[IPS_FB_COUNT] = {
	[IPS_FB_SET] = "set", [IPS_FB_UNSET] = "unset",
	[IPS_FB_TOGGLE] = "toggle", [IPS_FB_ISSET] = "isset",
	[IPS_FB_ISNOTSET] = "isnotset",
};

/* The enum ips_flowbit_op [s, e) names, or IPS_FB_COUNT. */
static int
rp_bit_op(const char *s, const char *e)
{
	int op = 0;

	while (op < IPS_FB_COUNT && !rp_word_is(s, e, rp_bit_ops[op]))
		op++;
	return op;
}

/* Append a flowbit (track IPS_XBIT_NONE) or an xbit to the rule; the
 * entry is returned for the caller to complete, or NULL after an error. */
static struct ips_flowbit *
rp_flowbit_push(struct rp_ctx *c, const char *pos, uint8_t op,
                const char *ns, const char *ne, uint8_t track)
{
	const char *what = track == IPS_XBIT_NONE ? "flowbit" : "xbit";
	struct ips_flowbit **list = track == IPS_XBIT_NONE ? &c->r.flowbits
	                                                   : &c->r.xbits;
	uint8_t *n = track == IPS_XBIT_NONE ? &c->r.n_flowbits
	                                    : &c->r.n_xbits;
	struct ips_flowbit *fb;

	if (ns == ne) {
		rp_error(c, pos, "%ss needs a name", what);
		return NULL;
	}
	for (const char *p = ns; p < ne; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' &&
		    *p != '-') {
			rp_error(c, p, "invalid %s name '%.*s'", what,
			         (int)(ne - ns), ns);
			return NULL;
		}
	if (*n == IPS_MAX_RULE_BITS) {
		rp_error(c, pos, "too many %ss (max %d)", what, IPS_MAX_RULE_BITS);
		return NULL;
	}
	fb = realloc(*list, (*n + 1u) * sizeof(*fb));
	if (fb == NULL) {
		rp_error(c, pos, "out of memory");
		return NULL;
	}
	*list = fb;
	fb = &fb[*n];
	memset(fb, 0, sizeof(*fb));
	fb->name = rp_strndup(ns, (size_t)(ne - ns));
	if (fb->name == NULL) {
		rp_error(c, pos, "out of memory");
		return NULL;
	}
	fb->op = op;
	fb->track = track;
	(*n)++;
	return fb;
}

/* flowbits:noalert | set|unset|toggle,a[&b] | isset|isnotset,a[|b|&b] */
static int
rp_kw_flowbits(struct rp_ctx *c, const char *kw, const char *s,
               const char *e, int arg)
{
	const char *comma = memchr(s, ',', (size_t)(e - s));
	const char *os = s, *oe = rp_trim_end(s, comma ? comma : e), *p, *ns;
	int op, has_or = 0, has_and = 0;

	(void)arg;
	if (rp_word_is(os, oe, "noalert") && comma == NULL) {
		c->r.noalert = 1;
		return 0;
	}
	op = rp_bit_op(os, oe);
	if (op == IPS_FB_COUNT)
		return rp_error(c, os, "unsupported flowbits command '%.*s'",
		                (int)(oe - os), os);
	if (comma == NULL)
		return rp_error(c, kw, "flowbits:%s needs a name",
		                rp_bit_ops[op]);
	ns = rp_skip_ws(comma + 1, e);
	for (p = ns; p < e; p++) {
		has_or |= *p == '|';
		has_and |= *p == '&';
	}
	if (has_or && has_and)
		return rp_error(c, ns, "flowbits mixing '|' and '&'");
	if (has_or && op != IPS_FB_ISSET && op != IPS_FB_ISNOTSET)
		return rp_error(c, ns, "'|' only with isset/isnotset");
	for (p = ns; ; p++) {
		if (p == e || *p == '|' || *p == '&') {
			const char *name = rp_skip_ws(ns, p);
			struct ips_flowbit *fb;

			fb = rp_flowbit_push(c, kw, (uint8_t)op, name,
			                     rp_trim_end(name, p), IPS_XBIT_NONE);
			if (fb == NULL)
				return -1;
			fb->or_next = p < e && *p == '|';
			if (p == e)
				break;
			ns = p + 1;
		}
	}
	return 0;
}

/* The value of "word value" in [s, e), or NULL when the word differs. */
static const char *
rp_named_value(const char *s, const char *e, const char *word)
{
	const char *w = s;

	while (w < e && !isspace((unsigned char)*w))
		w++;
	if (!rp_word_is(s, w, word) || w == e)
		return NULL;
	return rp_skip_ws(w, e);
}

/* The index of the word [s, e) among words[0..n), or n. */
static size_t
rp_word_index(const char *s, const char *e, const char *const *words,
              size_t n)
{
	size_t i = 0;

	while (i < n && !rp_word_is(s, e, words[i]))
		i++;
	return i;
}

/* xbits:set|unset|toggle|isset|isnotset,name,track ip_src|ip_dst|ip_pair
 * [,expire seconds] as Suricata reads it: the track is required (so
 * xbits:noalert is refused, as there), expire defaults to 30 s, must be
 * positive, and means nothing to isset/isnotset. */
static int
rp_kw_xbits(struct rp_ctx *c, const char *kw, const char *s, const char *e,
            int arg)
{
	static const char *const tracks[IPS_XBIT_COUNT] = {
		[IPS_XBIT_IP_SRC] = "ip_src", [IPS_XBIT_IP_DST] = "ip_dst",
		[IPS_XBIT_IP_PAIR] = "ip_pair",
	};
	const char *a[4][2], *v;
	uint32_t expire = IPS_XBIT_EXPIRE_DEFAULT;
	struct ips_flowbit *xb;
	int n = rp_arg(s, e, 4, &v, &v);        /* the count; -1: five+ */
	int op, track;

	(void)arg;
	if (n < 3)
		return rp_error(c, kw, "xbits needs a command, a name, a track "
		                "and at most an expire");
	for (int i = 0; i < n; i++)
		rp_arg(s, e, i, &a[i][0], &a[i][1]);
	op = rp_bit_op(a[0][0], a[0][1]);
	if (op == IPS_FB_COUNT)
		return rp_error(c, a[0][0], "unsupported xbits command '%.*s'",
		                (int)(a[0][1] - a[0][0]), a[0][0]);
	v = rp_named_value(a[2][0], a[2][1], "track");
	track = IPS_XBIT_COUNT;
	if (v != NULL)          /* tracks[0] is a flowbit's: no name */
		track = 1 + (int)rp_word_index(v, a[2][1], tracks + 1,
		                               IPS_XBIT_COUNT - 1);
	if (track == IPS_XBIT_COUNT)
		return rp_error(c, a[2][0], "invalid xbits track '%.*s' (track "
		                "ip_src, ip_dst or ip_pair)",
		                (int)(a[2][1] - a[2][0]), a[2][0]);
	if (n == 4) {
		v = rp_named_value(a[3][0], a[3][1], "expire");
		if (v == NULL || rp_parse_uint(v, a[3][1], UINT32_MAX,
		                               &expire) < 0 || expire == 0)
			return rp_error(c, a[3][0], "invalid xbits expire '%.*s' "
			                "(expire seconds, more than 0)",
			                (int)(a[3][1] - a[3][0]), a[3][0]);
	}
	xb = rp_flowbit_push(c, kw, (uint8_t)op, a[1][0], a[1][1],
	                     (uint8_t)track);
	if (xb == NULL)
		return -1;
	xb->expire = expire;
	xb->id = ips_xbit_id(xb->name, xb->track);
	return 0;
}

/* tls.version:1.0|1.1|1.2|1.3 (quoted or not) or 0x and four hex digits,
 * as Suricata 7 reads it: the client's version (tls.h says which), TLS
 * 1.3's drafts counted as 1.3 unless the value is a number.  Suricata
 * takes "1.2x" as 1.2 and reads "0x03g3" as 0x03; both are refused. */
static int
rp_kw_tls_version(struct rp_ctx *c, const char *kw, const char *s,
                  const char *e, int arg)
{
	static const char *const names[] = { "1.0", "1.1", "1.2", "1.3" };
	const char *vs = s, *ve = e;
	struct ips_cond *cd;
	uint32_t v = 0;
	int raw = e - s == 6 && s[0] == '0' && s[1] == 'x';
	size_t t;

	(void)arg;
	if (e - s >= 2 && *s == '"' && e[-1] == '"')
		vs++, ve--;
	t = rp_word_index(vs, ve, names, 4);
	for (const char *p = s + 2; raw && p < e; p++) {
		int d = rp_hexval((unsigned char)*p);

		raw = d >= 0;
		v = v << 4 | (uint32_t)(raw ? d : 0);
	}
	if (t == 4 && !raw)
		return rp_error(c, s, "invalid tls.version '%.*s' (1.0, 1.1, "
		                "1.2, 1.3 or 0x and four hex digits)",
		                (int)(e - s), s);
	cd = rp_add_keyword_cond(c, kw, s, e, IPS_COND_TLS_VERSION);
	if (cd == NULL)
		return -1;
	cd->buffer = IPS_BUF_TLS_VERSION;
	cd->num_value = raw ? v : 0x0301 + (uint32_t)t;
	cd->num_flags = raw ? IPS_TLS_VERSION_RAW : 0;
	return 0;
}

/* noalert; (Suricata 7), the same as flowbits:noalert. */
static int
rp_kw_noalert(struct rp_ctx *c, const char *kw, const char *s,
              const char *e, int arg)
{
	(void)kw, (void)s, (void)e, (void)arg;
	c->r.noalert = 1;
	return 0;
}

/* threshold:type limit|threshold|both, track by_src|by_dst|by_rule,
 * count N, seconds N  (arg 0);  detection_filter:track ..., count N,
 * seconds N  (arg 1). */
static int
rp_kw_threshold(struct rp_ctx *c, const char *kw, const char *s,
                const char *e, int arg)
{
	static const char *const types[] = { "limit", "threshold", "both" };
	static const char *const tracks[] = { "by_src", "by_dst", "by_rule" };
	const char *name = arg ? "detection_filter" : "threshold";
	struct ips_threshold th = { .type = arg ? IPS_THRESH_DETECTION : 0 };
	const char *as, *ae;
	int seen = 0;

	if (c->r.threshold.type != IPS_THRESH_NONE)
		return rp_error(c, kw, "more than one threshold/"
		                "detection_filter");
	for (int i = 0; rp_arg(s, e, i, &as, &ae) < 0; i++) {
		const char *v;
		int64_t n;
		size_t t;

		if (!arg && (v = rp_named_value(as, ae, "type")) != NULL) {
			t = rp_word_index(v, ae, types, 3);
			if (t == 3)
				return rp_error(c, v, "invalid threshold type "
				                "'%.*s'", (int)(ae - v), v);
			th.type = (uint8_t)(IPS_THRESH_LIMIT + t);
			seen |= 1;
		} else if ((v = rp_named_value(as, ae, "track")) != NULL) {
			t = rp_word_index(v, ae, tracks, 3);
			if (t == 3)
				return rp_error(c, v, "unsupported %s track "
				                "'%.*s'", name, (int)(ae - v), v);
			th.track = (uint8_t)t;
			seen |= 2;
		} else if ((v = rp_named_value(as, ae, "count")) != NULL ||
		           (v = rp_named_value(as, ae, "seconds")) != NULL) {
			int is_count = *as == 'c';

			if (rp_parse_num(v, ae, 0, UINT32_MAX, &n) < 0)
				return rp_error(c, as, "invalid %s '%.*s'", name,
				                (int)(ae - as), as);
			*(is_count ? &th.count : &th.seconds) = (uint32_t)n;
			seen |= is_count ? 4 : 8;
		} else {
			return rp_error(c, as, "invalid %s option '%.*s'", name,
			                (int)(ae - as), as);
		}
	}
	if ((seen | (arg ? 1 : 0)) != 15)
		return rp_error(c, kw, "%s needs %s", name,
		                arg ? "track, count and seconds"
		                    : "type, track, count and seconds");
	if (th.seconds == 0 || (th.count == 0 && !arg))
		return rp_error(c, kw, "%s: count and seconds must be positive",
		                name);
	c->r.threshold = th;
	return 0;
}

/* tag:session|host[,count,packets|seconds|bytes[,src|dst]]: the packets
 * after an alert Suricata logs too.  The gateway logs no packets, so a
 * tag changes nothing here (as rule matching goes, it changes nothing in
 * Suricata either); a malformed one is still an error. */
static int
rp_kw_tag(struct rp_ctx *c, const char *kw, const char *s, const char *e,
          int arg)
{
	static const char *const words[4][3] = {
		{ "session", "host", NULL }, { NULL },
		{ "packets", "seconds", "bytes" }, { "src", "dst", NULL },
	};
	const char *as, *ae;
	uint32_t count;
	int i, host = 0;

	(void)kw, (void)arg;
	for (i = 0; rp_arg(s, e, i, &as, &ae) < 0; i++) {
		int ok = i == 1 && rp_parse_uint(as, ae, UINT32_MAX,
		                                 &count) == 0;

		for (int w = 0; i < 4 && i != 1 && w < 3 && words[i][w]; w++)
			ok |= rp_word_is(as, ae, words[i][w]);
		if (i == 0)
			host = rp_word_is(as, ae, "host");
		if (!ok || (i == 3 && !host))     /* a direction: host only */
			return rp_error(c, as, "invalid tag option '%.*s'",
			                (int)(ae - as), as);
	}
	if (i == 2)
		return rp_error(c, s, "tag: a count needs its metric");
	return 0;
}

/* Informational keywords: they change what is logged elsewhere, never
 * what matches. */
static int
rp_kw_ignore(struct rp_ctx *c, const char *kw, const char *s, const char *e,
             int arg)
{
	(void)c, (void)kw, (void)s, (void)e, (void)arg;
	return 0;
}

#define RP_VAL_NONE 0   /* "nocase;" */
#define RP_VAL_REQ  1   /* "sid:1;" */
#define RP_VAL_OPT  2   /* "fast_pattern;" or "fast_pattern:only;" */

static const struct rp_keyword {
	const char *name;
	int (*fn)(struct rp_ctx *, const char *, const char *, const char *, int);
	uint8_t value;
	int arg;
} rp_keywords[] = {
	{ "msg", rp_kw_msg, RP_VAL_REQ, 0 },
	{ "sid", rp_kw_number, RP_VAL_REQ, 0 },
	{ "rev", rp_kw_number, RP_VAL_REQ, 1 },
	{ "priority", rp_kw_number, RP_VAL_REQ, 2 },
	{ "classtype", rp_kw_classtype, RP_VAL_REQ, 0 },
	{ "flow", rp_kw_flow, RP_VAL_REQ, 0 },
	{ "metadata", rp_kw_metadata, RP_VAL_REQ, 0 },
	{ "reference", rp_kw_ignore, RP_VAL_REQ, 0 },
	{ "target", rp_kw_ignore, RP_VAL_REQ, 0 },
	{ "tag", rp_kw_tag, RP_VAL_REQ, 0 },
	{ "rawbytes", rp_kw_rawbytes, RP_VAL_NONE, 0 },
	{ "content", rp_kw_content, RP_VAL_REQ, 0 },
	{ "uricontent", rp_kw_uricontent, RP_VAL_REQ, 0 },
	{ "pcre", rp_kw_pcre, RP_VAL_REQ, 0 },
	{ "nocase", rp_kw_nocase, RP_VAL_NONE, 0 },
	{ "depth", rp_kw_depth_offset, RP_VAL_REQ, 0 },
	{ "offset", rp_kw_depth_offset, RP_VAL_REQ, 1 },
	{ "startswith", rp_kw_startswith, RP_VAL_NONE, 0 },
	{ "endswith", rp_kw_endswith, RP_VAL_NONE, 0 },
	{ "distance", rp_kw_distance_within, RP_VAL_REQ, 0 },
	{ "within", rp_kw_distance_within, RP_VAL_REQ, 1 },
	{ "fast_pattern", rp_kw_fast_pattern, RP_VAL_OPT, 0 },
	{ "isdataat", rp_kw_isdataat, RP_VAL_REQ, 0 },
	{ "bsize", rp_kw_bsize, RP_VAL_REQ, 0 },
	{ "urilen", rp_kw_urilen, RP_VAL_REQ, 0 },
	{ "byte_test", rp_kw_byte_test, RP_VAL_REQ, 0 },
	{ "byte_jump", rp_kw_byte_jump, RP_VAL_REQ, 0 },
	{ "flowbits", rp_kw_flowbits, RP_VAL_REQ, 0 },
	{ "xbits", rp_kw_xbits, RP_VAL_REQ, 0 },
	{ "noalert", rp_kw_noalert, RP_VAL_NONE, 0 },
	{ "threshold", rp_kw_threshold, RP_VAL_REQ, 0 },
	{ "detection_filter", rp_kw_threshold, RP_VAL_REQ, 1 },
	{ "http.method", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_METHOD },
	{ "http.uri", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_URI },
	{ "http.uri.raw", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_URI_RAW },
	{ "http.protocol", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_PROTOCOL },
	{ "http.request_line", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_REQUEST_LINE },
	{ "http.header", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_HEADER },
	{ "http.header_names", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_HEADER_NAMES },
	{ "http.host", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_HOST },
	{ "http.user_agent", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_USER_AGENT },
	{ "http.cookie", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_COOKIE },
	{ "http.content_type", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_CONTENT_TYPE },
	{ "http.accept", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_ACCEPT },
	{ "http.accept_enc", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_ACCEPT_ENC },
	{ "http.accept_lang", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_ACCEPT_LANG },
	{ "http.referer", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_REFERER },
	{ "http.connection", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_CONNECTION },
	{ "http.content_len", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_CONTENT_LEN },
	{ "http.request_body", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_REQUEST_BODY },
	{ "tls.certs", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_TLS_CERTS },
	{ "tls.cert_subject", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_TLS_SUBJECT },
	{ "tls.cert_issuer", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_TLS_ISSUER },
	{ "tls.cert_serial", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_TLS_SERIAL },
	{ "tls.sni", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_TLS_SNI },
	{ "ja3.hash", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_JA3_HASH },
	{ "ja3.string", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_JA3_STRING },
	{ "tls.version", rp_kw_tls_version, RP_VAL_REQ, 0 },
	{ "http.stat_code", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_STAT_CODE },
	{ "http.response_body", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_RESPONSE_BODY },
	{ "file_data", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_RESPONSE_BODY },
	{ "file.data", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_RESPONSE_BODY },
	{ "http_stat_code", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_STAT_CODE },
	{ "http.stat_msg", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_STAT_MSG },
	{ "http_stat_msg", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_STAT_MSG },
	{ "http.response_line", rp_kw_sticky, RP_VAL_NONE,
	  IPS_BUF_RESPONSE_LINE },
	{ "http.server", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_SERVER },
	{ "http.location", rp_kw_sticky, RP_VAL_NONE, IPS_BUF_LOCATION },
	{ "http_server_body", rp_kw_legacy_buf, RP_VAL_NONE,
	  IPS_BUF_RESPONSE_BODY },
	{ "http_uri", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_URI },
	{ "http_raw_uri", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_URI_RAW },
	{ "http_method", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_METHOD },
	{ "http_header", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_HEADER },
	{ "http_cookie", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_COOKIE },
	{ "http_user_agent", rp_kw_legacy_buf, RP_VAL_NONE,
	  IPS_BUF_USER_AGENT },
	{ "http_host", rp_kw_legacy_buf, RP_VAL_NONE, IPS_BUF_HOST },
	{ "http_client_body", rp_kw_legacy_buf, RP_VAL_NONE,
	  IPS_BUF_REQUEST_BODY },
};

/* ---- rule ------------------------------------------------------------- */

/* Value of an option: up to the first ';' not escaped with '\'. */
static const char *
rp_option_end(const char *p, const char *e)
{
	for (; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		else if (*p == ';')
			return p;
	}
	return NULL;
}

static int
rp_option(struct rp_ctx *c, const char **pp, const char *e)
{
	const char *kw = *pp, *ke = kw, *vs = NULL, *ve = NULL, *end, *p;
	const struct rp_keyword *k = NULL;
	size_t i;

	while (ke < e && (isalnum((unsigned char)*ke) || *ke == '_' ||
	                  *ke == '.' || *ke == '-'))
		ke++;
	if (ke == kw)
		return rp_error(c, kw, "expected a keyword");
	p = rp_skip_ws(ke, e);
	if (p < e && *p == ':') {
		vs = rp_skip_ws(p + 1, e);
		end = rp_option_end(vs, e);
		if (end == NULL)
			return rp_error(c, kw, "missing ';' after '%.*s'",
			                (int)(ke - kw), kw);
		ve = rp_trim_end(vs, end);
	} else if (p < e && *p == ';') {
		end = p;
	} else {
		return rp_error(c, kw, "missing ';' after '%.*s'",
		                (int)(ke - kw), kw);
	}
	for (i = 0; i < sizeof(rp_keywords) / sizeof(rp_keywords[0]); i++)
		if (rp_word_is(kw, ke, rp_keywords[i].name)) {
			k = &rp_keywords[i];
			break;
		}
	if (k == NULL)
		return rp_error(c, kw, "unsupported keyword '%.*s'",
		                (int)(ke - kw), kw);
	if (vs == NULL && k->value == RP_VAL_REQ)
		return rp_error(c, kw, "'%s' needs a value", k->name);
	if (vs != NULL && k->value == RP_VAL_NONE)
		return rp_error(c, kw, "'%s' takes no value", k->name);
	if (vs != NULL && vs == ve && k->value == RP_VAL_REQ)
		return rp_error(c, vs, "'%s' needs a value", k->name);
	if (k->fn(c, kw, vs, ve, k->arg) < 0)
		return -1;
	*pp = end + 1;
	return 0;
}

static int
rp_options(struct rp_ctx *c, const char *p, const char *e)
{
	const char *open = p - 1;       /* the '(' */

	for (;;) {
		p = rp_skip_ws(p, e);
		if (p == e)
			return rp_error(c, open, "unterminated options: missing ')'");
		if (*p == ')')
			break;
		if (rp_option(c, &p, e) < 0)
			return -1;
	}
	p = rp_skip_ws(p + 1, e);
	if (p != e)
		return rp_error(c, p, "text after the closing ')'");
	rp_settle_unbuffered(c);
	if (rp_check_relative(c) < 0 || rp_check_stream(c, open) < 0)
		return -1;
	/* msg is optional in Suricata: the alert's signature is then empty */
	if (!c->has_msg && (c->r.msg = rp_strndup("", 0)) == NULL)
		return rp_error(c, open, "out of memory");
	if (!c->has_sid)
		return rp_error(c, open, "missing sid");
	return 0;
}

static int
rp_header_token(struct rp_ctx *c, const char **pp, const char *e,
                const char *what, const char **ts, const char **te)
{
	const char *p = rp_skip_ws(*pp, e);

	if (p == e || *p == '(')
		return rp_error(c, p, "missing %s", what);
	*ts = p;
	*te = rp_token_end(p, e);
	*pp = *te;
	return 0;
}

/* Suricata's reject variants: which ends get a reset.  Returns 0 and
 * sets c->r.reject, or -1 if [ts, te) is not one. */
static int
rp_reject_variant(struct rp_ctx *c, const char *ts, const char *te)
{
	static const struct { const char *name; uint8_t how; } v[] = {
		{ "rejectsrc", IPS_REJECT_CLIENT },
		{ "rejectdst", IPS_REJECT_SERVER },
		{ "rejectboth", IPS_REJECT_SERVER | IPS_REJECT_CLIENT |
		                IPS_REJECT_RST },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (rp_word_is(ts, te, v[i].name)) {
			c->r.reject = v[i].how;
			return 0;
		}
	}
	return -1;
}

/* Why a protocol the rule language knows is refused, where it helps an
 * operator decide (the gateway inspects TCP: HTTP and the raw stream). */
static const char *
rp_proto_why(const char *s, const char *e)
{
	static const struct { const char *proto, *why; } t[] = {
		{ "dns", ": DNS is not decoded (UDP payloads are not "
		  "inspected)" },
		{ "udp", ": UDP payloads are not inspected" },
		{ "icmp", ": ICMP is not inspected" },
		{ "ip", ": per-packet IP rules are not supported" },
		{ "tcp-pkt", ": per-packet TCP rules are not supported (tcp "
		  "rules inspect the reassembled stream)" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (rp_word_is(s, e, t[i].proto))
			return t[i].why;
	return "";
}

static int
rp_header(struct rp_ctx *c, const char **pp, const char *e)
{
	const char *ts, *te;
	int a;

	if (rp_header_token(c, pp, e, "action", &ts, &te) < 0)
		return -1;
	for (a = 0; a < IPS_ACTION_COUNT; a++)
		if (rp_word_is(ts, te, ips_action_name((enum ips_action)a)))
			break;
	if (a == IPS_ACTION_COUNT && rp_reject_variant(c, ts, te) == 0)
		a = IPS_ACTION_REJECT;
	else if (a == IPS_ACTION_REJECT)
		c->r.reject = IPS_REJECT_SERVER | IPS_REJECT_CLIENT;
	if (a == IPS_ACTION_COUNT)
		return rp_error(c, ts, "unknown action '%.*s'", (int)(te - ts), ts);
	c->r.action = (uint8_t)a;
	if (rp_header_token(c, pp, e, "protocol", &ts, &te) < 0)
		return -1;
	if (rp_word_is(ts, te, "tcp"))
		c->r.proto = IPS_PROTO_TCP;
	else if (rp_word_is(ts, te, "tls"))
		c->r.proto = IPS_PROTO_TLS;
	else if (!rp_word_is(ts, te, "http"))
		return rp_error(c, ts, "unsupported protocol '%.*s'%s",
		                (int)(te - ts), ts, rp_proto_why(ts, te));
	if (rp_header_token(c, pp, e, "source address", &ts, &te) < 0 ||
	    rp_parse_set(c, ts, te, 0, (void **)&c->r.src.cidrs,
	                 &c->r.src.n_cidrs, &c->r.src.negated) < 0)
		return -1;
	if (rp_header_token(c, pp, e, "source port", &ts, &te) < 0 ||
	    rp_parse_set(c, ts, te, 1, (void **)&c->r.sport.ranges,
	                 &c->r.sport.n_ranges, &c->r.sport.negated) < 0)
		return -1;
	if (rp_header_token(c, pp, e, "direction", &ts, &te) < 0)
		return -1;
	if (rp_word_is(ts, te, "<>"))
		c->r.bidirectional = 1;
	else if (!rp_word_is(ts, te, "->"))
		return rp_error(c, ts, "invalid direction '%.*s'",
		                (int)(te - ts), ts);
	if (rp_header_token(c, pp, e, "destination address", &ts, &te) < 0 ||
	    rp_parse_set(c, ts, te, 0, (void **)&c->r.dst.cidrs,
	                 &c->r.dst.n_cidrs, &c->r.dst.negated) < 0)
		return -1;
	if (rp_header_token(c, pp, e, "destination port", &ts, &te) < 0 ||
	    rp_parse_set(c, ts, te, 1, (void **)&c->r.dport.ranges,
	                 &c->r.dport.n_ranges, &c->r.dport.negated) < 0)
		return -1;
	ts = rp_skip_ws(*pp, e);
	if (ts == e || *ts != '(')
		return rp_error(c, ts, "expected '(' to open the options");
	*pp = ts + 1;
	return 0;
}

static int
rp_ruleset_push(struct ips_ruleset *rs, struct ips_rule *r)
{
	if (rs->n_rules == rs->cap_rules) {
		uint32_t ncap = rs->cap_rules ? rs->cap_rules * 2 : 64;
		struct ips_rule *p;

		if (ncap <= rs->cap_rules)
			return -1;
		p = realloc(rs->rules, ncap * sizeof(*p));
		if (p == NULL)
			return -1;
		rs->rules = p;
		rs->cap_rules = ncap;
	}
	rs->rules[rs->n_rules++] = *r;
	return 0;
}

static const struct ips_rule *
rp_find_sid(const struct ips_ruleset *rs, uint32_t sid)
{
	for (uint32_t i = 0; i < rs->n_rules; i++)
		if (rs->rules[i].sid == sid)
			return &rs->rules[i];
	return NULL;
}

static int
rp_finish(struct rp_ctx *c, struct ips_ruleset *rs)
{
	const struct ips_rule *dup = c->twin ? NULL : rp_find_sid(rs, c->r.sid);

	c->r.twin = (uint8_t)c->twin;
	if (dup != NULL)
		return rp_error(c, c->sid_pos,
		                "duplicate sid %u (first at %s:%u)", c->r.sid,
		                dup->file ? dup->file : "?", dup->line);
	c->r.file = strdup(c->file);
	c->r.line = c->line;
	if (c->r.file == NULL || rp_ruleset_push(rs, &c->r) < 0)
		return rp_error(c, c->text, "out of memory");
	memset(&c->r, 0, sizeof(c->r));
	return 0;
}

/* One reading of the rule: the rule as written, or (twin) its response
 * twin. */
static int
rp_parse_reading(struct ips_ruleset *rs, const char *text,
                 const char *file, uint32_t line,
                 const struct ips_parse_opts *opts, char *err,
                 size_t errlen, int twin)
{
	struct rp_ctx c;
	const char *e = text + strlen(text);
	const char *p = rp_skip_ws(text, e);

	memset(&c, 0, sizeof(c));
	c.text = text;
	c.file = file ? file : "-";
	c.line = line;
	c.opts = opts;
	c.err = err;
	c.errlen = err ? errlen : 0;
	c.cur_buf = -1;
	c.twin = twin;
	c.r.priority = RP_DEFAULT_PRIO;
	if (rp_header(&c, &p, e) < 0 || rp_options(&c, p, e) < 0 ||
	    rp_finish(&c, rs) < 0) {
		ips_rule_free(&c.r);
		return -1;
	}
	return c.wants_twin;
}

int
ips_rule_parse_line(struct ips_ruleset *rs, const char *text,
                    const char *file, uint32_t line,
                    const struct ips_parse_opts *opts,
                    char *err, size_t errlen)
{
	const char *e = text + strlen(text);
	const char *p = rp_skip_ws(text, e);
	int r;

	if (p == e || *p == '#')
		return 0;
	r = rp_parse_reading(rs, text, file, line, opts, err, errlen, 0);
	if (r == 1 &&
	    rp_parse_reading(rs, text, file, line, opts, err, errlen, 1) < 0) {
		/* what the first reading accepted the twin's checks accept
		 * (rp_both_sides refuses what they would not): only memory
		 * fails here; take the first reading back too */
		ips_rule_free(&rs->rules[--rs->n_rules]);
		return -1;
	}
	return r < 0 ? -1 : 1;
}

/* ---- files ------------------------------------------------------------ */

/* Append a physical line to the rule being joined.  Returns 1 when the
 * line ends with '\' (the rule continues), 0 when the rule is complete. */
static int
rp_join(char **buf, size_t *len, size_t *cap, const char *ln, size_t n)
{
	int cont;

	while (n > 0 && (ln[n - 1] == '\n' || ln[n - 1] == '\r'))
		n--;
	cont = n > 0 && ln[n - 1] == '\\';
	if (cont)
		n--;
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *p = realloc(*buf, ncap);

		if (p == NULL)
			return -1;
		*buf = p;
		*cap = ncap;
	}
	memcpy(*buf + *len, ln, n);
	*len += n;
	(*buf)[*len] = '\0';
	return cont;
}

struct rp_file {
	struct ips_ruleset *rs;
	const char *path;
	const struct ips_parse_opts *opts;
	void (*report)(void *, const char *);
	void *arg;
	int bad;
};

static void
rp_file_rule(struct rp_file *f, const char *text, size_t len, uint32_t line)
{
	char msg[IPS_ERRBUF_SIZE];

	if (len > RP_MAX_RULE_BYTES) {
		snprintf(msg, sizeof(msg), "%s:%u:1: rule longer than %d bytes",
		         f->path, line, RP_MAX_RULE_BYTES);
	} else if (ips_rule_parse_line(f->rs, text, f->path, line, f->opts,
	                               msg, sizeof(msg)) >= 0) {
		return;
	}
	f->bad++;
	if (f->report != NULL)
		f->report(f->arg, msg);
}

int
ips_rule_parse_file(struct ips_ruleset *rs, const char *path,
                    const struct ips_parse_opts *opts,
                    void (*report)(void *arg, const char *msg), void *arg,
                    char *err, size_t errlen)
{
	struct rp_file f = { rs, path, opts, report, arg, 0 };
	char *ln = NULL, *rule = NULL;
	size_t lncap = 0, len = 0, cap = 0;
	uint32_t lineno = 0, start = 0;
	ssize_t n;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&ln, &lncap, fp)) >= 0) {
		int cont;

		lineno++;
		if (len == 0)
			start = lineno;
		cont = rp_join(&rule, &len, &cap, ln, (size_t)n);
		if (cont < 0) {
			snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
			f.bad = -1;
			break;
		}
		if (cont == 0) {
			rp_file_rule(&f, rule, len, start);
			len = 0;
		}
	}
	if (f.bad >= 0 && len > 0)         /* '\' on the last line */
		rp_file_rule(&f, rule, len, start);
	free(ln);
	free(rule);
	fclose(fp);
	return f.bad;
}
