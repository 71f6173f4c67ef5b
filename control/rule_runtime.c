/*
 * rule_runtime.c - what both sides need of the rule model at run time.
 *
 * Owns the buffer and action names, freeing rules and compiled databases,
 * Hyperscan scratch for a db and the rule-header tuple match.  Nothing here
 * parses or compiles: the dataplane links this (library ipsruntime, with
 * the bundle reader) and not the parser or the compiler, so it cannot
 * compile a rule set by mistake or carry the compiler's attack surface.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ips/detect_db.h"
#include "ips/rules.h"

/* ---- names ------------------------------------------------------------ */

static const char *const rr_buffer_names[IPS_BUF_COUNT] = {
	[IPS_BUF_METHOD] = "http.method",
	[IPS_BUF_URI] = "http.uri",
	[IPS_BUF_URI_RAW] = "http.uri.raw",
	[IPS_BUF_PROTOCOL] = "http.protocol",
	[IPS_BUF_REQUEST_LINE] = "http.request_line",
	[IPS_BUF_HEADER] = "http.header",
	[IPS_BUF_HEADER_NAMES] = "http.header_names",
	[IPS_BUF_HOST] = "http.host",
	[IPS_BUF_USER_AGENT] = "http.user_agent",
	[IPS_BUF_COOKIE] = "http.cookie",
	[IPS_BUF_CONTENT_TYPE] = "http.content_type",
	[IPS_BUF_ACCEPT] = "http.accept",
	[IPS_BUF_ACCEPT_ENC] = "http.accept_enc",
	[IPS_BUF_ACCEPT_LANG] = "http.accept_lang",
	[IPS_BUF_REFERER] = "http.referer",
	[IPS_BUF_CONNECTION] = "http.connection",
	[IPS_BUF_CONTENT_LEN] = "http.content_len",
	[IPS_BUF_REQUEST_BODY] = "http.request_body",
	[IPS_BUF_STREAM] = "stream",
	[IPS_BUF_TLS_CERTS] = "tls.certs",
	[IPS_BUF_TLS_SUBJECT] = "tls.cert_subject",
	[IPS_BUF_TLS_ISSUER] = "tls.cert_issuer",
	[IPS_BUF_TLS_SERIAL] = "tls.cert_serial",
	[IPS_BUF_TLS_SNI] = "tls.sni",
	[IPS_BUF_JA3_HASH] = "ja3.hash",
	[IPS_BUF_JA3_STRING] = "ja3.string",
	[IPS_BUF_TLS_VERSION] = "tls.version",
	[IPS_BUF_STAT_CODE] = "http.stat_code",
	[IPS_BUF_RESPONSE_BODY] = "http.response_body",
	[IPS_BUF_STAT_MSG] = "http.stat_msg",
	[IPS_BUF_RESPONSE_LINE] = "http.response_line",
	[IPS_BUF_RESP_HEADER] = "http.header (response)",
	[IPS_BUF_RESP_HEADER_NAMES] = "http.header_names (response)",
	[IPS_BUF_RESP_COOKIE] = "http.cookie (response)",
	[IPS_BUF_RESP_CONTENT_TYPE] = "http.content_type (response)",
	[IPS_BUF_SERVER] = "http.server",
	[IPS_BUF_LOCATION] = "http.location",
};

static const char *const rr_action_names[IPS_ACTION_COUNT] = {
	[IPS_ACTION_PASS] = "pass",
	[IPS_ACTION_DROP] = "drop",
	[IPS_ACTION_REJECT] = "reject",
	[IPS_ACTION_ALERT] = "alert",
};

uint32_t
ips_ruleset_count(const struct ips_ruleset *rs)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < rs->n_rules; i++)
		n += !rs->rules[i].twin;
	return n;
}

const char *
ips_buffer_name(enum ips_buffer b)
{
	return (unsigned)b < IPS_BUF_COUNT ? rr_buffer_names[b] : "?";
}

int
ips_buffer_streaming(enum ips_buffer b)
{
	return ips_buffer_is_body(b) || b == IPS_BUF_STREAM;
}

int
ips_buffer_is_body(enum ips_buffer b)
{
	return b == IPS_BUF_REQUEST_BODY || b == IPS_BUF_RESPONSE_BODY;
}

const char *
ips_action_name(enum ips_action a)
{
	return (unsigned)a < IPS_ACTION_COUNT ? rr_action_names[a] : "?";
}

/* FNV-1a over the name, then the kind: a host bit (ip_src and ip_dst
 * alike) and a pair bit of one name are two bits, as in Suricata. */
uint64_t
ips_xbit_id(const char *name, uint8_t track)
{
	uint64_t h = 14695981039346656037ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ (track == IPS_XBIT_IP_PAIR ? 2u : 1u)) * 1099511628211ull;
	return h;
}

/* ---- freeing ----------------------------------------------------------- */

static void
rr_bits_free(struct ips_flowbit *bits, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(bits[i].name);
	free(bits);
}

void
ips_rule_free(struct ips_rule *r)
{
	for (uint32_t i = 0; i < r->n_conds; i++) {
		free(r->conds[i].bytes);
		pcre2_code_free(r->conds[i].re);
	}
	free(r->conds);
	rr_bits_free(r->flowbits, r->n_flowbits);
	rr_bits_free(r->xbits, r->n_xbits);
	free(r->msg);
	free(r->classtype);
	free(r->src.cidrs);
	free(r->dst.cidrs);
	free(r->sport.ranges);
	free(r->dport.ranges);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

void
ips_ruleset_free(struct ips_ruleset *rs)
{
	if (rs == NULL)
		return;
	for (uint32_t i = 0; i < rs->n_rules; i++)
		ips_rule_free(&rs->rules[i]);
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

/* ---- tuple match (dataplane, read-only) ------------------------------ */

static int
rr_cidr_has(const struct ips_cidr *cd, const uint8_t a[16])
{
	unsigned full = cd->prefix / 8, rem = cd->prefix % 8;

	if (memcmp(cd->addr, a, full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	return ((cd->addr[full] ^ a[full]) & (uint8_t)(0xff00u >> rem)) == 0;
}

static int
rr_addr_match(const struct ips_addr_set *s, const uint8_t a[16])
{
	int in = 0;

	if (s->n_cidrs == 0)
		return 1;
	for (uint16_t i = 0; i < s->n_cidrs && !in; i++)
		in = rr_cidr_has(&s->cidrs[i], a);
	return in != s->negated;
}

static int
rr_port_match(const struct ips_port_set *s, uint16_t port)
{
	int in = 0;

	if (s->n_ranges == 0)
		return 1;
	for (uint16_t i = 0; i < s->n_ranges && !in; i++)
		in = port >= s->ranges[i].lo && port <= s->ranges[i].hi;
	return in != s->negated;
}

static int
rr_match_oriented(const struct ips_rule *r, const uint8_t src[16],
                  uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	return rr_addr_match(&r->src, src) && rr_port_match(&r->sport, sport) &&
	       rr_addr_match(&r->dst, dst) && rr_port_match(&r->dport, dport);
}

int
ips_rule_match_tuple(const struct ips_rule *r,
                     const uint8_t src[16], uint16_t sport,
                     const uint8_t dst[16], uint16_t dport)
{
	if (rr_match_oriented(r, src, sport, dst, dport))
		return 1;
	return r->bidirectional &&
	       rr_match_oriented(r, dst, dport, src, sport);
}

/* ---- PCRE2 ---------------------------------------------------------------- */

/* Regex text that can stop matching when more data follows: end
 * anchors \z, \Z, word boundaries (\b, \B) and lookaheads look past the
 * end, so on a growing buffer it is matched with PCRE2_PARTIAL_HARD.
 * ($ does not: on a buffer that may grow it is matched with
 * PCRE2_NOTEOL, so it never matches at the end of what is held.)
 * Escaped characters and character classes are literal. */
static int
rr_regex_end_sensitive(const char *re)
{
	for (const char *p = re; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				return 0;
			if (strchr("zZbB", p[1]) != NULL)
				return 1;
			p++;
		} else if (*p == '[') {
			/* a class: ']' first is literal, escapes skip */
			p += p[1] == '^';
			p += p[1] == ']';
			while (p[1] != '\0' && p[1] != ']')
				p += p[1] == '\\' && p[2] != '\0' ? 2 : 1;
			if (p[1] == '\0')
				return 0;
			p++;
		} else if (p[0] == '(' && p[1] == '?' &&
		           (p[2] == '=' || p[2] == '!')) {
			return 1;
		}
	}
	return 0;
}


int
ips_cond_needs_window(const struct ips_cond *cd)
{
	if (cd->buffer != IPS_BUF_STREAM)
		return 0;
	switch (cd->kind) {
	case IPS_COND_CONTENT:
		return cd->relative;
	case IPS_COND_PCRE:
		return !(cd->pcre_opts & IPS_PCRE_EXACT_HS);
	default:
		return 1;
	}
}

int
ips_cond_prepare_pcre(const struct ips_rule *r, struct ips_cond *cd,
                      char *err, size_t errlen)
{
	static const struct { uint16_t ips; uint32_t pcre2; } opts[] = {
		{ IPS_PCRE_CASELESS, PCRE2_CASELESS },
		{ IPS_PCRE_MULTILINE, PCRE2_MULTILINE },
		{ IPS_PCRE_DOTALL, PCRE2_DOTALL },
		{ IPS_PCRE_EXTENDED, PCRE2_EXTENDED },
		{ IPS_PCRE_ANCHORED, PCRE2_ANCHORED },
		{ IPS_PCRE_DOLLAR_END, PCRE2_DOLLAR_ENDONLY },
		{ IPS_PCRE_UNGREEDY, PCRE2_UNGREEDY },
	};
	uint32_t o = 0;
	PCRE2_SIZE at;
	int code;
	pcre2_code *re;

	if (cd->kind != IPS_COND_PCRE || cd->re != NULL ||
	    (cd->buffer == IPS_BUF_STREAM && !ips_cond_needs_window(cd)))
		return 0;               /* Hyperscan decides those */
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (cd->pcre_opts & opts[i].ips)
			o |= opts[i].pcre2;
	re = pcre2_compile((PCRE2_SPTR)cd->bytes, cd->len, o, &code, &at,
	                   NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "%s:%u: sid %u: pcre: PCRE2 cannot "
		         "compile it at offset %zu: %s", r->file ? r->file : "-",
		         r->line, r->sid, (size_t)at, (const char *)msg);
		return -1;
	}
	/* Without the JIT (an unsupported CPU) PCRE2 interprets: slower,
	 * same answers, same match limit. */
	if (rr_regex_end_sensitive((const char *)cd->bytes))
		cd->pcre_opts |= IPS_PCRE_END_SENSITIVE;
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE |
	                            (cd->pcre_opts & IPS_PCRE_END_SENSITIVE
	                             ? PCRE2_JIT_PARTIAL_HARD : 0));
	cd->re = re;
	return 0;
}

int
ips_detect_db_prepare(struct ips_detect_db *db, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < db->rules.n_rules; i++) {
		struct ips_rule *r = &db->rules.rules[i];

		for (uint32_t c = 0; c < r->n_conds; c++)
			if (ips_cond_prepare_pcre(r, &r->conds[c], err,
			                          errlen) < 0)
				return -1;
	}
	return 0;
}

struct ips_detect_db *
ips_detect_db_empty(void)
{
	struct ips_detect_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	/* The tables are never NULL, as the compiler leaves them. */
	db->meta = calloc(1, sizeof(*db->meta));
	db->patterns = calloc(1, sizeof(*db->patterns));
	db->always = calloc(1, sizeof(*db->always));
	if (!db->meta || !db->patterns || !db->always) {
		ips_detect_db_free(db);
		return NULL;
	}
	return db;
}

void
ips_detect_db_free(struct ips_detect_db *db)
{
	if (db == NULL)
		return;
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		hs_free_database(db->db[b]);
	ips_ruleset_free(&db->rules);
	free(db->meta);
	free(db->patterns);
	free(db->always);
	free(db);
}

int
ips_detect_db_alloc_scratch(const struct ips_detect_db *db,
                            hs_scratch_t **scratch, char *err, size_t errlen)
{
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++) {
		hs_error_t rc;

		if (db->db[b] == NULL)
			continue;
		rc = hs_alloc_scratch(db->db[b], scratch);
		if (rc != HS_SUCCESS) {
			snprintf(err, errlen, "hs_alloc_scratch(%s): error %d",
			         ips_buffer_name(b), rc);
			return -1;
		}
	}
	return 0;
}
