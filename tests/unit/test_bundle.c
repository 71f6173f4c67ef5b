/*
 * test_bundle.c - unit tests for the bundle file (control/bundle.c):
 * a compiled db written and read back detects exactly as the original,
 * and every kind of bad file (truncated, corrupted, foreign, forged
 * indexes) is refused with a message that says which.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "detect.h"
#include "ips/bundle.h"

/* Every part of the rule model the bundle carries: each action, header
 * addresses and ports (negated too), classtype and priority, nocase,
 * offset/depth, pcre, negation, distance/within, endswith, the body and
 * the raw stream, the tls protocol and tls.certs, flowbits and xbits,
 * a byte_test of the digits to the buffer's end, tls.version, a rule
 * with its response twin. */
static const char *const tb_rules[] = {
	"drop http any any -> any any (msg:\"uri passwd\"; "
	"flow:to_server,established; http.uri; content:\"/etc/passwd\"; "
	"nocase; classtype:attempted-recon; sid:101; rev:3;)",
	"alert http 198.51.100.0/24 any -> !192.0.2.99 [80,8000:8100] "
	"(msg:\"ua scanner\"; http.user_agent; content:\"Scanner\"; "
	"offset:4; depth:20; priority:2; sid:102;)",
	"reject http any any -> any any (msg:\"pcre sqli\"; http.uri; "
	"pcre:\"/union\\s+select/i\"; classtype:web-application-attack; "
	"sid:103;)",
	"alert http any any -> any any (msg:\"admin no cookie\"; http.uri; "
	"content:\"/admin\"; http.cookie; content:!\"session=\"; sid:104;)",
	"alert http any any -> any any (msg:\"relative\"; http.uri; "
	"content:\"/a/\"; content:\"/b\"; distance:0; within:10; "
	"content:\".php\"; endswith; sid:105;)",
	"alert http any any -> any any (msg:\"body\"; http.request_body; "
	"content:\"cmd=\"; classtype:attempted-admin; sid:106;)",
	"pass http any any -> any any (msg:\"allow health\"; http.uri; "
	"content:\"/health\"; sid:107;)",
	"alert tcp any any -> any 80 (msg:\"raw\"; content:\"MAGIC\"; "
	"depth:64; sid:108;)",
	"alert http any any -> any any (msg:\"no method\"; http.method; "
	"content:!\"GET\"; sid:109;)",
	"drop tls any 443 -> any any (msg:\"cert\"; flow:to_client; "
	"tls.certs; content:\"|55 04 03|\"; pcre:\"/^.evil/R\"; sid:110;)",
	"alert http any any -> any any (msg:\"bits\"; http.uri; "
	"content:\"/xb/\"; flowbits:isset,a|b; xbits:set,ET.t,track "
	"ip_pair,expire 9; xbits:isnotset,ET.u,track ip_dst; sid:111;)",
	"alert http any any -> any any (msg:\"length\"; flow:to_server; "
	"http.content_len; byte_test:0,>,4000,0,string,dec; sid:112;)",
	"alert http any any -> any any (msg:\"both sides\"; http.cookie; "
	"content:\"godid=\"; sid:114;)",
	"drop tls any any -> any any (msg:\"old client\"; "
	"flow:to_server; tls.version:1.0; tls.sni; content:\"a\"; "
	"tls.version:0x7f1c; sid:113;)",
	NULL,
};

static char tb_dir[] = "/tmp/test_bundle.XXXXXX";

static int
tb_setup(void **state)
{
	(void)state;
	return mkdtemp(tb_dir) != NULL ? 0 : -1;
}

static int
tb_teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tb_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ips_detect_db *
tb_compile(const char *const *rules)
{
	struct ips_ruleset rs = { 0 };
	struct ips_detect_db *db;
	char err[IPS_ERRBUF_SIZE];

	for (uint32_t i = 0; rules[i] != NULL; i++)
		if (ips_rule_parse_line(&rs, rules[i], "b.rules", i + 1, NULL,
		                        err, sizeof(err)) != 1)
			fail_msg("parse: %s", err);
	db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (db == NULL)
		fail_msg("compile: %s", err);
	return db;
}

/* The bundle of tb_rules in memory. */
static uint8_t *
tb_encode(size_t *len)
{
	struct ips_detect_db *db = tb_compile(tb_rules);
	char err[256];
	void *buf;

	if (ips_bundle_encode(db, &buf, len, err, sizeof(err)) != 0)
		fail_msg("encode: %s", err);
	ips_detect_db_free(db);
	return buf;
}

static void
tb_header(const uint8_t *buf, struct ips_bundle_header *h)
{
	memcpy(h, buf, sizeof(*h));
}

/* Rewrite the header and fix the checksum: forged, but self-consistent. */
static void
tb_reheader(uint8_t *buf, size_t len, struct ips_bundle_header *h)
{
	memcpy(buf, h, sizeof(*h));
	h->checksum = ips_bundle_checksum(buf, len);
	memcpy(buf, h, sizeof(*h));
}

static size_t
tb_section_start(const struct ips_bundle_header *h, unsigned s)
{
	size_t at = sizeof(*h);

	for (unsigned i = 0; i < s; i++)
		at += h->section_bytes[i];
	return at;
}

/* Reading must fail and say `want`. */
static void
tb_refused(const uint8_t *buf, size_t len, const char *want)
{
	char err[512] = "";
	struct ips_detect_db *db;

	db = ips_bundle_read_mem(buf, len, "b.bundle", err, sizeof(err));
	if (db != NULL) {
		ips_detect_db_free(db);
		fail_msg("accepted a bad bundle (expected '%s')", want);
	}
	if (strstr(err, want) == NULL || strncmp(err, "b.bundle: ", 10) != 0)
		fail_msg("error '%s' does not say 'b.bundle: ... %s'", err, want);
}

/* ---- detection is the same ------------------------------------------- */

struct tb_run {
	struct detect_worker *dw;
	struct worker_stats ws;
	struct detect_txn dt;
	struct detect_result res;
	struct detect_raw raw;
};

struct tb_req {
	const char *method, *uri, *ua, *cookie, *body;
	uint32_t sport, dst_last;       /* tuple variations */
};

static const struct tb_req tb_reqs[] = {
	{ "GET", "/etc/PASSWD", "", "", NULL, 40000, 10 },
	{ "GET", "/", "Mozilla Scanner/1", "", NULL, 40000, 10 },
	{ "GET", "/", "Mozilla Scanner/1", "", NULL, 40000, 99 },
	{ "GET", "/?q=1 UNION  SELECT x", "", "", NULL, 40000, 10 },
	{ "GET", "/admin", "", "a=b", NULL, 40000, 10 },
	{ "GET", "/admin", "", "session=1", NULL, 40000, 10 },
	{ "GET", "/a/x/b.php", "", "", NULL, 40000, 10 },
	{ "GET", "/a/xxxxxxxxxxxxx/b.php", "", "", NULL, 40000, 10 },
	{ "POST", "/form", "", "", "x=1&cmd=id", 40000, 10 },
	{ "GET", "/health/etc/passwd", "", "", NULL, 40000, 10 },
	{ "GET", "/plain", "curl", "", NULL, 40000, 10 },
};

/* Rules fired by each of tb_reqs: the negated address, the present
 * cookie, the window missed and the pass rule each fire nothing. */
static const unsigned tb_expect[] = { 1, 1, 0, 1, 1, 0, 1, 0, 2, 0, 0 };

static void
tb_set(struct detect_bufs *b, enum ips_buffer i, const char *s)
{
	b->ptr[i] = (const uint8_t *)s;
	b->len[i] = (uint32_t)strlen(s);
}

/* One transaction; result in r->res. */
static void
tb_txn(struct tb_run *r, const struct tb_req *q)
{
	struct detect_bufs b;
	struct detect_tuple t;

	memset(&b, 0, sizeof(b));
	memset(&t, 0, sizeof(t));
	memset(&r->res, 0, sizeof(r->res));
	t.src[10] = t.src[11] = t.dst[10] = t.dst[11] = 0xff;
	memcpy(t.src + 12, "\xc6\x33\x64\x01", 4);      /* 198.51.100.1 */
	memcpy(t.dst + 12, "\xc0\x00\x02\x00", 4);      /* 192.0.2.x */
	t.dst[15] = (uint8_t)q->dst_last;
	t.sport = (uint16_t)q->sport;
	t.dport = 80;
	t.ip_version = 4;
	tb_set(&b, IPS_BUF_METHOD, q->method);
	tb_set(&b, IPS_BUF_URI, q->uri);
	tb_set(&b, IPS_BUF_URI_RAW, q->uri);
	tb_set(&b, IPS_BUF_PROTOCOL, "HTTP/1.1");
	tb_set(&b, IPS_BUF_HOST, "h");
	tb_set(&b, IPS_BUF_USER_AGENT, q->ua);
	tb_set(&b, IPS_BUF_COOKIE, q->cookie);
	detect_txn_begin(r->dw, &r->dt);
	detect_headers(r->dw, &r->dt, &b, &t, &r->res);
	if (q->body != NULL)
		detect_body(r->dw, &r->dt, (const uint8_t *)q->body,
		            (uint32_t)strlen(q->body), &b, &t, &r->res);
	detect_txn_end(r->dw, &r->dt, &b, &t, &r->res);
}

static void
tb_raw(struct tb_run *r, const char *data)
{
	struct detect_tuple t;

	memset(&t, 0, sizeof(t));
	memset(&r->res, 0, sizeof(r->res));
	t.dport = 80;
	t.ip_version = 4;
	memset(&r->raw, 0, sizeof(r->raw));
	assert_int_equal(detect_raw_open(r->dw, &r->raw, 0, NULL, NULL, NULL), 0);
	detect_raw_data(r->dw, &r->raw, (const uint8_t *)data,
	                (uint32_t)strlen(data), &t, &r->res);
	detect_raw_close(r->dw, &r->raw);
}

static void
tb_same_result(const struct detect_result *a, const struct detect_result *b)
{
	assert_int_equal(a->verdict, b->verdict);
	assert_int_equal(a->n_fired, b->n_fired);
	for (unsigned i = 0; i < a->n_fired; i++) {
		assert_int_equal(a->fired[i].sid, b->fired[i].sid);
		assert_int_equal(a->fired[i].rev, b->fired[i].rev);
		assert_int_equal(a->fired[i].action, b->fired[i].action);
		assert_int_equal(a->fired[i].priority, b->fired[i].priority);
		assert_string_equal(a->fired[i].msg, b->fired[i].msg);
		if (a->fired[i].classtype == NULL)
			assert_null(b->fired[i].classtype);
		else
			assert_string_equal(a->fired[i].classtype,
			                    b->fired[i].classtype);
	}
}

static void
tb_same_bits(const struct ips_flowbit *x, uint8_t nx,
             const struct ips_flowbit *y, uint8_t ny)
{
	assert_int_equal(nx, ny);
	for (uint8_t i = 0; i < nx; i++) {
		assert_int_equal(x[i].op, y[i].op);
		assert_int_equal(x[i].or_next, y[i].or_next);
		assert_int_equal(x[i].bit, y[i].bit);
		assert_int_equal(x[i].track, y[i].track);
		assert_int_equal(x[i].expire, y[i].expire);
		assert_true(x[i].id == y[i].id);
		assert_string_equal(x[i].name, y[i].name);
	}
}

static void
tb_same_rules(const struct ips_detect_db *a, const struct ips_detect_db *b)
{
	assert_int_equal(a->rules.n_rules, b->rules.n_rules);
	assert_int_equal(a->n_patterns, b->n_patterns);
	assert_int_equal(a->n_always, b->n_always);
	assert_memory_equal(a->patterns, b->patterns,
	                    a->n_patterns * sizeof(*a->patterns));
	assert_memory_equal(a->always, b->always,
	                    a->n_always * sizeof(*a->always));
	for (uint32_t i = 0; i < a->rules.n_rules; i++) {
		const struct ips_rule *x = &a->rules.rules[i];
		const struct ips_rule *y = &b->rules.rules[i];

		assert_memory_equal(&a->meta[i], &b->meta[i], sizeof(a->meta[i]));
		assert_int_equal(x->sid, y->sid);
		assert_int_equal(x->rev, y->rev);
		assert_int_equal(x->action, y->action);
		assert_int_equal(x->reject, y->reject);
		assert_int_equal(x->priority, y->priority);
		assert_int_equal(x->proto, y->proto);
		assert_int_equal(x->twin, y->twin);
		assert_int_equal(x->flow_flags, y->flow_flags);
		assert_string_equal(x->msg, y->msg);
		assert_string_equal(x->file, y->file);
		assert_int_equal(x->line, y->line);
		assert_int_equal(x->src.n_cidrs, y->src.n_cidrs);
		assert_int_equal(x->dst.negated, y->dst.negated);
		assert_int_equal(x->dport.n_ranges, y->dport.n_ranges);
		assert_int_equal(x->n_conds, y->n_conds);
		tb_same_bits(x->flowbits, x->n_flowbits, y->flowbits,
		             y->n_flowbits);
		tb_same_bits(x->xbits, x->n_xbits, y->xbits, y->n_xbits);
		for (uint32_t c = 0; c < x->n_conds; c++) {
			assert_int_equal(x->conds[c].len, y->conds[c].len);
			assert_memory_equal(x->conds[c].bytes, y->conds[c].bytes,
			                    x->conds[c].len);
			assert_int_equal(x->conds[c].distance,
			                 y->conds[c].distance);
			assert_int_equal(x->conds[c].within, y->conds[c].within);
			assert_int_equal(x->conds[c].hs_flags,
			                 y->conds[c].hs_flags);
			assert_int_equal(x->conds[c].kind, y->conds[c].kind);
			assert_int_equal(x->conds[c].buffer,
			                 y->conds[c].buffer);
			assert_true(x->conds[c].num_value ==
			            y->conds[c].num_value);
			assert_int_equal(x->conds[c].num_flags,
			                 y->conds[c].num_flags);
		}
	}
	for (unsigned b2 = 0; b2 < IPS_BUF_COUNT; b2++)
		assert_int_equal(a->db[b2] != NULL, b->db[b2] != NULL);
}

static void
test_round_trip_detects_the_same(void **state)
{
	struct ips_detect_db *orig = tb_compile(tb_rules), *back;
	struct tb_run *ra = calloc(1, sizeof(*ra)), *rb = calloc(1, sizeof(*rb));
	char path[256], err[512];
	unsigned fired = 0;

	(void)state;
	orig->generation = 77;
	snprintf(path, sizeof(path), "%s/rt.bundle", tb_dir);
	if (ips_bundle_write(orig, path, err, sizeof(err)) != 0)
		fail_msg("write: %s", err);
	back = ips_bundle_read(path, err, sizeof(err));
	if (back == NULL)
		fail_msg("read: %s", err);
	assert_int_equal(back->generation, 77);
	tb_same_rules(orig, back);

	static const struct detect_pools pools = {
		.body_streams = 4, .response_bodies = 4, .raw_streams = 4,
		.raw_windows = 4 };

	ra->dw = detect_worker_create(orig, &pools, &ra->ws, err, sizeof(err));
	rb->dw = detect_worker_create(back, &pools, &rb->ws, err, sizeof(err));
	assert_non_null(ra->dw);
	assert_non_null(rb->dw);
	for (size_t i = 0; i < sizeof(tb_reqs) / sizeof(tb_reqs[0]); i++) {
		tb_txn(ra, &tb_reqs[i]);
		tb_txn(rb, &tb_reqs[i]);
		tb_same_result(&ra->res, &rb->res);
		/* Not vacuous: what the rules say fires, fires. */
		assert_int_equal(ra->res.n_fired, tb_expect[i]);
		fired += ra->res.n_fired;
	}
	tb_raw(ra, "xxMAGICxx");
	tb_raw(rb, "xxMAGICxx");
	tb_same_result(&ra->res, &rb->res);
	assert_int_equal(rb->res.n_fired, 1);
	assert_int_equal(rb->res.fired[0].sid, 108);
	assert_int_equal(fired, 7);
	detect_worker_free(ra->dw);
	detect_worker_free(rb->dw);
	free(ra);
	free(rb);
	ips_detect_db_free(orig);
	ips_detect_db_free(back);
}

static void
test_empty_db_round_trip(void **state)
{
	struct ips_detect_db *db = ips_detect_db_empty(), *back;
	char err[256];
	void *buf;
	size_t len;

	(void)state;
	assert_non_null(db);
	assert_int_equal(ips_bundle_encode(db, &buf, &len, err, sizeof(err)), 0);
	back = ips_bundle_read_mem(buf, len, "e", err, sizeof(err));
	if (back == NULL)
		fail_msg("read: %s", err);
	assert_int_equal(back->rules.n_rules, 0);
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		assert_null(back->db[b]);
	free(buf);
	ips_detect_db_free(db);
	ips_detect_db_free(back);
}

/* ---- bad files --------------------------------------------------------- */

static void
test_truncated_at_every_boundary(void **state)
{
	struct ips_bundle_header h;
	size_t len;
	uint8_t *buf = tb_encode(&len);

	(void)state;
	tb_header(buf, &h);
	tb_refused(buf, 0, "not a bundle");
	tb_refused(buf, sizeof(h) - 1, "truncated header");
	for (unsigned s = 0; s < IPS_BUNDLE_SECTIONS; s++) {
		size_t at = tb_section_start(&h, s);

		if (at < len)   /* the end of the last section is the file */
			tb_refused(buf, at, "truncated");
		if (h.section_bytes[s] > 1)
			tb_refused(buf, at + h.section_bytes[s] / 2,
			           "truncated");
	}
	tb_refused(buf, len - 1, "truncated");
	free(buf);
}

/* Truncated, and the header rewritten to match: the section parsers
 * themselves must notice. */
static void
test_short_sections_with_valid_checksum(void **state)
{
	struct ips_bundle_header h;
	size_t len;
	uint8_t *buf = tb_encode(&len);

	(void)state;
	tb_header(buf, &h);
	for (unsigned s = IPS_BUNDLE_SEC_CLASSES; s <= IPS_BUNDLE_SEC_TABLES;
	     s++) {
		uint8_t *copy = malloc(len);
		struct ips_bundle_header f = h;

		/* move one byte of section s to section s+1 */
		memcpy(copy, buf, len);
		f.section_bytes[s]--;
		f.section_bytes[s + 1]++;
		tb_reheader(copy, len, &f);
		tb_refused(copy, len, "section");
		free(copy);
	}
	free(buf);
}

static void
test_flipped_byte_is_checksum_error(void **state)
{
	struct ips_bundle_header h;
	size_t len;
	uint8_t *buf = tb_encode(&len);

	(void)state;
	tb_header(buf, &h);
	for (unsigned s = 0; s < IPS_BUNDLE_SECTIONS; s++) {
		size_t at = tb_section_start(&h, s) + h.section_bytes[s] / 2;

		if (h.section_bytes[s] == 0)
			continue;
		buf[at] ^= 0x20;
		tb_refused(buf, len, "checksum mismatch");
		buf[at] ^= 0x20;
	}
	/* the header is covered too */
	buf[offsetof(struct ips_bundle_header, generation)] ^= 1;
	tb_refused(buf, len, "checksum mismatch");
	free(buf);
}

static void
test_wrong_magic_and_format(void **state)
{
	struct ips_bundle_header h;
	char want[96];
	size_t len;
	uint8_t *buf = tb_encode(&len);

	(void)state;
	tb_header(buf, &h);
	buf[0] = 'X';
	tb_refused(buf, len, "not a bundle (bad magic)");
	buf[0] = IPS_BUNDLE_MAGIC[0];
	h.format = IPS_BUNDLE_FORMAT + 1;
	tb_reheader(buf, len, &h);
	snprintf(want, sizeof(want), "bundle format %u, this dataplane reads "
	         "format %u", IPS_BUNDLE_FORMAT + 1, IPS_BUNDLE_FORMAT);
	tb_refused(buf, len, want);
	free(buf);
}

static void
test_foreign_hyperscan_version(void **state)
{
	struct ips_bundle_header h;
	size_t len;
	uint8_t *buf = tb_encode(&len);
	char host[64];

	(void)state;
	tb_header(buf, &h);
	snprintf(h.hs_version, sizeof(h.hs_version), "4.7.0 2018-01-24");
	tb_reheader(buf, len, &h);
	snprintf(host, sizeof(host), "this host has Hyperscan %s", hs_version());
	tb_refused(buf, len, "compiled for Hyperscan 4.7.0 2018-01-24");
	tb_refused(buf, len, host);
	free(buf);
}

static void
test_foreign_cpu(void **state)
{
	struct ips_bundle_header h;
	hs_platform_info_t plat;
	size_t len;
	uint8_t *buf = tb_encode(&len);

	(void)state;
	assert_int_equal(hs_populate_platform(&plat), HS_SUCCESS);
	tb_header(buf, &h);
	/* a feature bit no CPU has: this host can never run it */
	h.cpu_features = plat.cpu_features | (1ull << 40);
	tb_reheader(buf, len, &h);
	tb_refused(buf, len, "on a CPU with ");
	tb_refused(buf, len, "0x10000000000");
	tb_refused(buf, len, "recompile it here");
	if (!(plat.cpu_features & HS_CPU_FEATURES_AVX512)) {
		h.cpu_features = HS_CPU_FEATURES_AVX512;
		tb_reheader(buf, len, &h);
		tb_refused(buf, len, "on a CPU with AVX512; this host has");
	}
	free(buf);
}

/* Indexes and strings are checked even when the checksum is right (a
 * bundle is not trusted to come from our writer). */
static void
test_forged_tables_refused(void **state)
{
	struct ips_bundle_header h;
	size_t len, at;
	uint8_t *buf = tb_encode(&len), *copy = malloc(len);
	uint32_t v;

	(void)state;
	tb_header(buf, &h);
	/* pattern 0 names a rule that does not exist */
	memcpy(copy, buf, len);
	at = tb_section_start(&h, IPS_BUNDLE_SEC_TABLES) + 4;
	v = 1000000;
	memcpy(copy + at, &v, 4);
	tb_reheader(copy, len, &h);
	tb_refused(copy, len, "pattern 0 names rule 1000000");
	/* the first classtype loses its NUL */
	memcpy(copy, buf, len);
	at = tb_section_start(&h, IPS_BUNDLE_SEC_CLASSES) + 4;
	memcpy(&v, copy + at, 4);
	copy[at + 4 + v] = 'x';
	tb_reheader(copy, len, &h);
	tb_refused(copy, len, "not NUL-terminated");
	/* a rule count the section cannot hold */
	memcpy(copy, buf, len);
	at = tb_section_start(&h, IPS_BUNDLE_SEC_RULES);
	v = 0xfffffff0u;
	memcpy(copy + at, &v, 4);
	tb_reheader(copy, len, &h);
	tb_refused(copy, len, "rules cannot fit");
	/* the first rule marked a twin: no rule before it */
	memcpy(copy, buf, len);
	at = tb_section_start(&h, IPS_BUNDLE_SEC_RULES) + 4 + 6;
	assert_int_equal(copy[at], 0);
	copy[at] = 1;
	tb_reheader(copy, len, &h);
	tb_refused(copy, len, "a twin without its rule");
	/* tls.version's condition moved onto tls.sni (its bytes are not a
	 * version) */
	{
		const uint8_t cond[] = { IPS_BUF_TLS_VERSION,
		                         IPS_COND_TLS_VERSION, 0, 0, 0, 0 };
		size_t from = tb_section_start(&h, IPS_BUNDLE_SEC_RULES);
		size_t end = from + h.section_bytes[IPS_BUNDLE_SEC_RULES];

		memcpy(copy, buf, len);
		for (at = from; at + sizeof(cond) <= end; at++)
			if (memcmp(copy + at, cond, sizeof(cond)) == 0)
				break;
		assert_true(at + sizeof(cond) <= end);
		copy[at] = IPS_BUF_TLS_SNI;
		tb_reheader(copy, len, &h);
		tb_refused(copy, len, "condition kind 7 on buffer 23");
	}
	/* the uri's and the body's databases exchanged: a streaming db
	 * where a block one belongs */
	{
		struct ips_bundle_header f = h;
		unsigned u = IPS_BUNDLE_SEC_DB + IPS_BUF_URI;
		unsigned bd = IPS_BUNDLE_SEC_DB + IPS_BUF_REQUEST_BODY;
		size_t o = sizeof(h);

		f.section_bytes[u] = h.section_bytes[bd];
		f.section_bytes[bd] = h.section_bytes[u];
		for (unsigned s = 0; s < IPS_BUNDLE_SECTIONS; s++) {
			unsigned from = s == u ? bd : s == bd ? u : s;

			memcpy(copy + o, buf + tb_section_start(&h, from),
			       h.section_bytes[from]);
			o += h.section_bytes[from];
		}
		assert_int_equal(o, len);
		tb_reheader(copy, len, &f);
		tb_refused(copy, len, "http.uri database in the wrong mode");
	}
	free(copy);
	free(buf);
}

static void
test_file_errors(void **state)
{
	struct ips_detect_db *db = tb_compile(tb_rules);
	char path[256], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/no/such/dir/x.bundle", tb_dir);
	assert_int_equal(ips_bundle_write(db, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(ips_bundle_read(path, err, sizeof(err)));
	assert_non_null(strstr(err, "x.bundle: No such file or directory"));
	assert_null(ips_bundle_read(tb_dir, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	/* an atomic write leaves no temporary behind */
	snprintf(path, sizeof(path), "%s/a.bundle", tb_dir);
	assert_int_equal(ips_bundle_write(db, path, err, sizeof(err)), 0);
	assert_int_equal(ips_bundle_write(db, path, err, sizeof(err)), 0);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "test -z \"$(ls %s | grep tmp)\"",
		         tb_dir);
		assert_int_equal(system(cmd), 0);
	}
	ips_detect_db_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_detects_the_same),
		cmocka_unit_test(test_empty_db_round_trip),
		cmocka_unit_test(test_truncated_at_every_boundary),
		cmocka_unit_test(test_short_sections_with_valid_checksum),
		cmocka_unit_test(test_flipped_byte_is_checksum_error),
		cmocka_unit_test(test_wrong_magic_and_format),
		cmocka_unit_test(test_foreign_hyperscan_version),
		cmocka_unit_test(test_foreign_cpu),
		cmocka_unit_test(test_forged_tables_refused),
		cmocka_unit_test(test_file_errors),
	};

	return cmocka_run_group_tests(tests, tb_setup, tb_teardown);
}
