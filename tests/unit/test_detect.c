/*
 * test_detect.c - unit tests for dataplane/detect.c with the real compiler:
 * small rule sets are compiled and the transaction API is driven directly
 * with hand-made buffers, as the HTTP stage would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "detect.h"
#include "xbits.h"

/* Hyperscan stand-ins (--wrap, tests/meson.build): fail when told to. */
static int hs_fail_block, hs_fail_stream;

hs_error_t __real_hs_scan(const hs_database_t *db, const char *data,
                          unsigned int length, unsigned int flags,
                          hs_scratch_t *scratch, match_event_handler onEvent,
                          void *context);
hs_error_t __real_hs_scan_stream(hs_stream_t *id, const char *data,
                                 unsigned int length, unsigned int flags,
                                 hs_scratch_t *scratch,
                                 match_event_handler onEvent, void *ctxt);

hs_error_t
__wrap_hs_scan(const hs_database_t *db, const char *data, unsigned int length,
               unsigned int flags, hs_scratch_t *scratch,
               match_event_handler onEvent, void *context)
{
	if (hs_fail_block)
		return HS_UNKNOWN_ERROR;
	return __real_hs_scan(db, data, length, flags, scratch, onEvent,
	                      context);
}

hs_error_t
__wrap_hs_scan_stream(hs_stream_t *id, const char *data, unsigned int length,
                      unsigned int flags, hs_scratch_t *scratch,
                      match_event_handler onEvent, void *ctxt)
{
	if (hs_fail_stream)
		return HS_UNKNOWN_ERROR;
	return __real_hs_scan_stream(id, data, length, flags, scratch, onEvent,
	                             ctxt);
}

struct fixture {
	struct ips_detect_db *db;
	struct detect_worker *dw;
	struct worker_stats ws;
	struct detect_txn dt;
	struct detect_bufs bufs;
	struct detect_tuple t;
	struct detect_result res;
};

/* When set, the raw window pool of the next fixtures (else streams). */
static uint32_t fx_raw_windows;

static struct fixture *
fx_new(const char *const *rules, uint32_t streams)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ips_ruleset rs = { 0 };
	struct detect_pools pools = { 0 };
	char err[IPS_ERRBUF_SIZE];

	assert_non_null(f);
	for (uint32_t i = 0; rules[i] != NULL; i++)
		if (ips_rule_parse_line(&rs, rules[i], "d.rules", i + 1, NULL,
		                        err, sizeof(err)) != 1)
			fail_msg("parse: %s", err);
	f->db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (f->db == NULL)
		fail_msg("compile: %s", err);
	pools.body_streams = pools.raw_streams = pools.raw_windows = streams;
	pools.response_bodies = streams;
	pools.tls_handshakes = streams;
	if (fx_raw_windows != 0)
		pools.raw_windows = fx_raw_windows;
	f->dw = detect_worker_create(f->db, &pools, &f->ws, err, sizeof(err));
	if (f->dw == NULL)
		fail_msg("worker: %s", err);
	/* 198.51.100.1:40000 -> 192.0.2.10:80 */
	f->t.src[10] = f->t.src[11] = 0xff;
	f->t.dst[10] = f->t.dst[11] = 0xff;
	memcpy(f->t.src + 12, "\xc6\x33\x64\x01", 4);
	memcpy(f->t.dst + 12, "\xc0\x00\x02\x0a", 4);
	f->t.sport = 40000;
	f->t.dport = 80;
	f->t.ip_version = 4;
	return f;
}

static void
fx_free(struct fixture *f)
{
	detect_worker_free(f->dw);
	ips_detect_db_free(f->db);
	free(f);
}

static void
fx_set(struct fixture *f, enum ips_buffer b, const char *s)
{
	f->bufs.ptr[b] = (const uint8_t *)s;
	f->bufs.len[b] = (uint32_t)strlen(s);
}

/* A GET's request line alone: the buffers detect_request_line reads. */
static void
fx_request_line(struct fixture *f, const char *uri)
{
	memset(&f->bufs, 0, sizeof(f->bufs));
	memset(&f->res, 0, sizeof(f->res));
	fx_set(f, IPS_BUF_METHOD, "GET");
	fx_set(f, IPS_BUF_URI, uri);
	fx_set(f, IPS_BUF_URI_RAW, uri);
	fx_set(f, IPS_BUF_PROTOCOL, "HTTP/1.1");
	fx_set(f, IPS_BUF_REQUEST_LINE, "GET / HTTP/1.1");
}

/* A plain GET with every header-side buffer present. */
static void
fx_request(struct fixture *f, const char *uri)
{
	fx_request_line(f, uri);
	fx_set(f, IPS_BUF_HEADER, "Host: www.example.com\r\n");
	fx_set(f, IPS_BUF_HEADER_NAMES, "\r\nHost\r\n\r\n");
	fx_set(f, IPS_BUF_HOST, "www.example.com");
	fx_set(f, IPS_BUF_USER_AGENT, "");
	fx_set(f, IPS_BUF_COOKIE, "");
	fx_set(f, IPS_BUF_CONTENT_TYPE, "");
}

/* Runs a whole header-only transaction; returns the verdict. */
static int
fx_txn(struct fixture *f)
{
	int v, v2;

	detect_txn_begin(f->dw, &f->dt);
	v = detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	v2 = detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	return v > v2 ? v : v2;
}

/* A header-only GET of uri; returns the verdict. */
static int
fx_get(struct fixture *f, const char *uri)
{
	fx_request(f, uri);
	return fx_txn(f);
}

static int
fired_sid(const struct fixture *f, uint32_t sid)
{
	for (unsigned i = 0; i < f->res.n_fired; i++)
		if (f->res.fired[i].sid == sid)
			return 1;
	return 0;
}

static void
test_content_per_buffer(void **state)
{
	static char rules[IPS_BUF_HTTP_COUNT][160];
	const char *list[IPS_BUF_HTTP_COUNT + 1];
	struct fixture *f;

	(void)state;
	for (int b = 0; b < IPS_BUF_HTTP_COUNT; b++) {
		snprintf(rules[b], sizeof(rules[b]), "alert http any any -> any "
		         "any (msg:\"b%d\"; flow:to_server; %s; content:\"needle\"; "
		         "sid:%d;)", b,
		         ips_buffer_name(b), 10 + b);
		list[b] = rules[b];
	}
	list[IPS_BUF_HTTP_COUNT] = NULL;
	f = fx_new(list, 4);
	assert_true(detect_wants_body(f->dw));
	for (int b = 0; b < IPS_BUF_HTTP_COUNT; b++) {
		if (b == IPS_BUF_REQUEST_BODY)
			continue;
		fx_request(f, "/");
		fx_set(f, b, "xxneedlexx");
		assert_int_equal(fx_txn(f), DETECT_ALERT);
		assert_int_equal(f->res.n_fired, 1);
		assert_int_equal(f->res.fired[0].sid, 10 + b);
	}
	fx_request(f, "/");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	assert_int_equal(f->res.n_fired, 0);
	fx_free(f);
}

static void
test_nocase(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"nc\"; http.uri; "
		"content:\"AbC\"; nocase; sid:1;)",
		"alert http any any -> any any (msg:\"cs\"; http.uri; "
		"content:\"XyZ\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	fx_request(f, "/aBc/xyz");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_true(fired_sid(f, 1));
	assert_false(fired_sid(f, 2));
	fx_request(f, "/XyZ");
	fx_txn(f);
	assert_false(fired_sid(f, 1));
	assert_true(fired_sid(f, 2));
	fx_free(f);
}

static void
test_depth_offset(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"d\"; http.uri; "
		"content:\"abc\"; offset:2; depth:5; sid:1;)",
		NULL,
	};
	static const struct { const char *uri; int hit; } cases[] = {
		{ "xxabc", 1 },         /* starts at offset */
		{ "xxxxabc", 1 },       /* ends at offset + depth */
		{ "xxxxxabc", 0 },      /* one byte past the depth */
		{ "xabcxxxx", 0 },      /* one byte before the offset */
		{ "abc", 0 },
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_request(f, cases[i].uri);
		fx_txn(f);
		if (fired_sid(f, 1) != cases[i].hit)
			fail_msg("uri '%s': want %d", cases[i].uri, cases[i].hit);
	}
	fx_free(f);
}

static void
test_negation(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"n\"; http.uri; "
		"content:\"/admin\"; content:!\"token=\"; sid:1;)",
		"alert http any any -> any any (msg:\"only-neg\"; http.host; "
		"content:!\"example\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	fx_request(f, "/admin/panel");
	assert_int_equal(fx_txn(f), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_false(fired_sid(f, 2));
	fx_request(f, "/admin/panel?token=1");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	fx_request(f, "/x");
	fx_set(f, IPS_BUF_HOST, "other.test");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	fx_free(f);
}

/* A head still coming: the request line's rules are decided on its
 * buffers alone, once; the rules that read a header wait for the head. */
static void
test_request_line_stage(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"line\"; http.uri; "
		"content:\"/admin\"; http.method; content:\"GET\"; sid:1;)",
		"alert http any any -> any any (msg:\"mixed\"; http.uri; "
		"content:\"/admin\"; http.host; content:\"example\"; sid:2;)",
		/* suricata-verify UriTestSig21 and 27: a relative match that
		 * only the second occurrence satisfies */
		"alert tcp any any -> any any (msg:\"retry\"; uricontent:\"fix\"; "
		"uricontent:\"this\"; within:6; uricontent:!\"and\"; "
		"distance:0; sid:3;)",
		"alert tcp any any -> any any (msg:\"isdataat\"; "
		"uricontent:\"fix_this\"; isdataat:!10,relative; sid:4;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);
	const char *uri = "/admin/we_need_to_fix_this_and_yes_fix_this_now";

	(void)state;
	fx_request_line(f, uri);
	detect_txn_begin(f->dw, &f->dt);
	assert_int_equal(detect_request_line(f->dw, &f->dt, &f->bufs, &f->t,
	                                     &f->res), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_false(fired_sid(f, 2));
	assert_true(fired_sid(f, 3));
	assert_true(fired_sid(f, 4));
	assert_int_equal(f->res.n_fired, 3);
	/* a second call is no second inspection */
	assert_int_equal(detect_request_line(f->dw, &f->dt, &f->bufs, &f->t,
	                                     &f->res), DETECT_NONE);
	fx_request(f, uri);
	assert_int_equal(detect_headers(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_ALERT);
	assert_int_equal(f->res.n_fired, 1);
	assert_true(fired_sid(f, 2));
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	/* without the line stage, detect_headers decides them all */
	fx_request(f, uri);
	assert_int_equal(fx_txn(f), DETECT_DROP);
	assert_int_equal(f->res.n_fired, 4);
	fx_free(f);
}

/* A line rule that did not hold on the line is evaluated again with the
 * head: a flowbit a header rule sets there makes it hold. */
static void
test_request_line_then_flowbit(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"set\"; http.host; "
		"content:\"www.example.com\"; flowbits:set,seen; "
		"flowbits:noalert; sid:1;)",
		"alert http any any -> any any (msg:\"uri once seen\"; "
		"http.uri; content:\"/admin\"; flowbits:isset,seen; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);
	uint64_t bits[DETECT_FLOWBITS_WORDS] = { 0 };

	(void)state;
	f->t.flowbits = bits;
	fx_request_line(f, "/admin");
	detect_txn_begin(f->dw, &f->dt);
	assert_int_equal(detect_request_line(f->dw, &f->dt, &f->bufs, &f->t,
	                                     &f->res), DETECT_NONE);
	fx_request(f, "/admin");
	assert_int_equal(detect_headers(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	fx_free(f);
}

static void
test_pcre(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"sqli\"; "
		"pcre:\"/id=[0-9]+'\\s*or\\s/Ui\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	fx_request(f, "/item?ID=12' OR 1=1");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	fx_request(f, "/item?id=12");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	fx_free(f);
}

static void
test_multi_buffer_conjunction(void **state)
{
	static const char *const rules[] = {
		"reject http any any -> any any (msg:\"c\"; http.method; "
		"content:\"POST\"; http.uri; content:\"/login\"; http.header; "
		"content:\"X-Evil\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	fx_request(f, "/login");
	fx_set(f, IPS_BUF_METHOD, "POST");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	fx_set(f, IPS_BUF_HEADER, "X-Evil: 1\r\n");
	assert_int_equal(fx_txn(f), DETECT_REJECT);
	assert_int_equal(f->res.verdict, DETECT_REJECT);
	fx_set(f, IPS_BUF_URI, "/logout");
	memset(&f->res, 0, sizeof(f->res));
	assert_int_equal(fx_txn(f), DETECT_NONE);
	fx_free(f);
}

static void
test_body_split(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"b\"; http.method; "
		"content:\"POST\"; http.request_body; content:\"evil-payload\"; "
		"nocase; sid:1;)",
		NULL,
	};
	static const char body[] = "a=1&b=EVIL-PAYLOAD&c=2";
	struct fixture *f = fx_new(rules, 2);
	int v = DETECT_NONE;

	(void)state;
	fx_request(f, "/post");
	fx_set(f, IPS_BUF_METHOD, "POST");
	detect_txn_begin(f->dw, &f->dt);
	assert_int_equal(detect_headers(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_NONE);
	for (size_t i = 0; i < strlen(body); i++) {
		int r = detect_body(f->dw, &f->dt, (const uint8_t *)body + i, 1,
		                    &f->bufs, &f->t, &f->res);
		/* fires on the byte that completes the pattern, not before */
		if (i + 1 < strlen("a=1&b=EVIL-PAYLOAD"))
			assert_int_equal(r, DETECT_NONE);
		if (r > v)
			v = r;
	}
	assert_int_equal(v, DETECT_DROP);
	assert_int_equal(detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_NONE);
	assert_int_equal(f->res.n_fired, 1);
	assert_int_equal(f->ws.detect_bytes_scanned,
	                 strlen(body) + strlen("POST"));
	/* GET with the same body: the method condition vetoes */
	fx_request(f, "/post");
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(detect_body(f->dw, &f->dt, (const uint8_t *)body,
	                             sizeof(body) - 1, &f->bufs, &f->t, &f->res),
	                 DETECT_NONE);
	assert_int_equal(detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_NONE);
	fx_free(f);
}

static int
fx_body_txn(struct fixture *f, const char *body)
{
	int v, r;

	detect_txn_begin(f->dw, &f->dt);
	v = detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	if (body != NULL) {
		r = detect_body(f->dw, &f->dt, (const uint8_t *)body,
		                (uint32_t)strlen(body), &f->bufs, &f->t, &f->res);
		v = r > v ? r : v;
		assert_int_equal(f->res.n_fired, 0);     /* not before the end */
	}
	r = detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	return r > v ? r : v;
}

static void
test_negated_body_at_end(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"nb\"; http.uri; "
		"content:\"/upload\"; http.request_body; content:!\"MAGIC\"; "
		"sid:1;)",
		"alert http any any -> any any (msg:\"eod\"; http.request_body; "
		"pcre:\"/tail$/\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);

	(void)state;
	fx_request(f, "/upload");
	assert_int_equal(fx_body_txn(f, "no magic here"), DETECT_ALERT);
	assert_true(fired_sid(f, 1));
	fx_request(f, "/upload");
	assert_int_equal(fx_body_txn(f, "xxMAGICxx"), DETECT_NONE);
	fx_request(f, "/upload");
	/* no body, no http.request_body: a rule on it cannot match, its
	 * negated conditions included (as in Suricata) */
	assert_int_equal(fx_body_txn(f, NULL), DETECT_NONE);
	/* "$" is only known at end of data: reported by the stream reset */
	fx_request(f, "/other");
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	detect_body(f->dw, &f->dt, (const uint8_t *)"MAGIC tail", 10,
	            &f->bufs, &f->t, &f->res);
	assert_int_equal(detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	fx_free(f);
}

/* One response: status code at its head, body in pieces, then its end. */
static int
fx_response(struct fixture *f, const char *status, const char *const *body)
{
	int v, r;

	memset(&f->bufs, 0, sizeof(f->bufs));
	memset(&f->res, 0, sizeof(f->res));
	fx_set(f, IPS_BUF_STAT_CODE, status);
	detect_response_begin(f->dw, &f->dt);
	v = detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	for (; body != NULL && *body != NULL; body++) {
		r = detect_body(f->dw, &f->dt, (const uint8_t *)*body,
		                (uint32_t)strlen(*body), &f->bufs, &f->t, &f->res);
		v = r > v ? r : v;
	}
	r = detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	return r > v ? r : v;
}

/* A number that runs to the end of a body, or a jump from its end, is
 * decided when the body ends, not on the part that has come. */
static void
test_body_number_waits_for_the_end(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"n\"; http.stat_code; "
		"content:\"200\"; file_data; content:\"n=\"; "
		"byte_test:0,<,100,0,relative,string,dec; sid:1;)",
		"alert http any any -> any any (msg:\"e\"; http.stat_code; "
		"content:\"200\"; file_data; content:\"e=\"; "
		"byte_jump:1,0,relative,from_end,post_offset -3; "
		"content:\"zz\"; within:2; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 2);

	(void)state;
	assert_int_equal(fx_response(f, "200", (const char *const[]){
		"n=12", NULL }), DETECT_ALERT);
	assert_int_equal(fx_response(f, "200", (const char *const[]){
		"n=12", "345", NULL }), DETECT_NONE);
	assert_int_equal(fx_response(f, "200", (const char *const[]){
		"e=\x01zz", NULL }), DETECT_ALERT);
	assert_int_equal(fx_response(f, "200", (const char *const[]){
		"e=\x01zz", "ab", NULL }), DETECT_NONE);
	fx_free(f);
}

/* A rule with no direction on a buffer both sides have is Suricata's on
 * the request and on the response (ET's sid 2017085 on a cookie): its
 * twin reads the response's Set-Cookie; a direction keeps it to one. */
static void
test_both_sides_twin(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"both\"; flow:established; "
		"http.cookie; content:\"godid=\"; sid:2017085;)",
		"alert http any any -> any any (msg:\"request\"; "
		"flow:to_server; http.cookie; content:\"godid=\"; sid:2;)",
		"alert http any any -> any any (msg:\"response\"; "
		"flow:to_client; http.cookie; content:\"godid=\"; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 2);

	(void)state;
	fx_request(f, "/");
	fx_set(f, IPS_BUF_COOKIE, "godid=1");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_int_equal(f->res.n_fired, 2);
	assert_true(fired_sid(f, 2017085));
	assert_true(fired_sid(f, 2));
	memset(&f->bufs, 0, sizeof(f->bufs));
	memset(&f->res, 0, sizeof(f->res));
	fx_set(f, IPS_BUF_STAT_CODE, "200");
	fx_set(f, IPS_BUF_RESP_COOKIE, "godid=1; Path=/");
	detect_response_begin(f->dw, &f->dt);
	assert_int_equal(detect_headers(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_ALERT);
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->res.n_fired, 2);
	assert_true(fired_sid(f, 2017085));
	assert_true(fired_sid(f, 3));
	assert_int_equal(fx_response(f, "200", NULL), DETECT_NONE);
	fx_free(f);
}

/* Response rules: evaluated in response transactions only, their header
 * read server to client, the body's conditions across pieces; request
 * rules never in a response. */
static void
test_response_rules(void **state)
{
	static const char *const rules[] = {
		/* the server (192.0.2.10:80) is the rule's source */
		"drop http 192.0.2.10 80 -> any any (msg:\"sc\"; "
		"flow:established,to_client; http.stat_code; content:\"200\"; "
		"file_data; content:\"<script\"; content:\"eval(\"; "
		"distance:0; within:40; sid:1;)",
		"alert http any any -> any any (msg:\"neg\"; "
		"http.response_body; content:\"Index of\"; "
		"content:!\"Apache\"; sid:2;)",
		"alert http any any -> any any (msg:\"pcre\"; file.data; "
		"pcre:\"/^MZ.{2}\\x90/s\"; sid:3;)",
		"alert http 192.0.2.10 any -> any any (msg:\"wrong way\"; "
		"flow:to_server; http.uri; content:\"/\"; sid:4;)",
		"alert http any any -> any any (msg:\"code\"; "
		"http.stat_code; content:\"404\"; sid:5;)",
		NULL,
	};
	static const char *const split[] = {
		"<html><scr", "ipt>var a=1;ev", "al(x)</script>", NULL,
	};
	static const char *const far[] = {
		"<script>", "                                             ",
		"eval(", NULL,
	};
	static const char *const listing[] = { "<h1>Index of /", NULL };
	static const char *const apache[] = {
		"<h1>Index of /", "</h1><address>Apache</address>", NULL,
	};
	static const char *const pe[] = { "MZ\x01\x02\x90rest", NULL };
	struct fixture *f = fx_new(rules, 2);

	(void)state;
	assert_true(detect_wants_response(f->dw));
	assert_int_equal(fx_response(f, "200", split), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_int_equal(f->res.n_fired, 1);
	/* within: too far apart; another status: no */
	assert_int_equal(fx_response(f, "200", far), DETECT_NONE);
	assert_int_equal(fx_response(f, "302", split), DETECT_NONE);
	/* negated: decided at the end of the body */
	assert_int_equal(fx_response(f, "200", listing), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	assert_int_equal(fx_response(f, "200", apache), DETECT_NONE);
	assert_int_equal(fx_response(f, "200", pe), DETECT_ALERT);
	assert_true(fired_sid(f, 3));
	assert_int_equal(fx_response(f, "404", NULL), DETECT_ALERT);
	assert_true(fired_sid(f, 5));
	/* a request with the same bytes fires no response rule */
	fx_request(f, "/");
	assert_int_equal(fx_body_txn(f, NULL), DETECT_NONE);
	assert_int_equal(f->res.n_fired, 0);
	/* the server's address is the rule's source: from another, no */
	f->t.dst[15] = 11;
	assert_int_equal(fx_response(f, "200", split), DETECT_NONE);
	fx_free(f);
}

/* A \b (or \z, lookahead) at the end of what is held is not known
 * until the next byte: the rule is decided on the bytes that settle it,
 * not only at the end of the body (a client that never ends its body
 * must not skip it). */
static void
test_body_word_boundary_progressive(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"wb\"; http.request_body; "
		"pcre:\"/union\\s+select\\b/i\"; sid:1;)",
		NULL,
	};
	static const struct { const char *piece; int verdict; } steps[] = {
		{ "q=1 UNION SELECT", DETECT_NONE },    /* \b unknown yet */
		{ "x", DETECT_NONE },                   /* "selectx": none */
		{ " union select", DETECT_NONE },
		{ "%20pas", DETECT_DROP },              /* settled inside */
	};
	struct fixture *f = fx_new(rules, 1);

	(void)state;
	fx_request(f, "/form");
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		assert_int_equal(detect_body(f->dw, &f->dt,
		                             (const uint8_t *)steps[i].piece,
		                             (uint32_t)strlen(steps[i].piece),
		                             &f->bufs, &f->t, &f->res),
		                 steps[i].verdict);
	assert_true(fired_sid(f, 1));
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	/* ending on the boundary: decided at the end of the body */
	fx_request(f, "/form");
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(detect_body(f->dw, &f->dt,
	                             (const uint8_t *)"1 union select", 14,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	assert_int_equal(detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_DROP);
	fx_free(f);
}

static void
test_pass_hides_drop(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"d\"; http.uri; "
		"content:\"/he\"; sid:1;)",
		"alert http any any -> any any (msg:\"a\"; http.uri; "
		"content:\"/health\"; sid:3;)",
		"pass http any any -> any any (msg:\"p\"; http.uri; "
		"content:\"/health\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	/* sorted: pass, drop, alert */
	assert_int_equal(f->db->rules.rules[0].sid, 2);
	assert_int_equal(f->db->rules.rules[1].sid, 1);
	assert_int_equal(f->db->rules.rules[2].sid, 3);
	fx_request(f, "/health");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	assert_int_equal(f->res.n_fired, 0);
	assert_int_equal(f->res.verdict, DETECT_NONE);
	fx_request(f, "/help");
	assert_int_equal(fx_txn(f), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	fx_free(f);
}

static void
test_fires_once(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"o\"; http.request_body; "
		"content:\"X\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);

	(void)state;
	fx_request(f, "/");
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	for (int i = 0; i < 5; i++)
		detect_body(f->dw, &f->dt, (const uint8_t *)"aXbX", 4, &f->bufs,
		            &f->t, &f->res);
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->res.n_fired, 1);
	assert_int_equal(f->ws.detect_rules_matched, 1);
	/* the next transaction on the reused stream fires again */
	memset(&f->res, 0, sizeof(f->res));
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(detect_body(f->dw, &f->dt, (const uint8_t *)"X", 1,
	                             &f->bufs, &f->t, &f->res), DETECT_ALERT);
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->res.n_fired, 1);
	fx_free(f);
}

static void
test_tuple_constraints(void **state)
{
	static const char *const rules[] = {
		"alert http 198.51.100.0/24 any -> 192.0.2.10 8080 (msg:\"t\"; "
		"http.uri; content:\"/x\"; sid:1;)",
		"alert http any any -> any any (msg:\"ts\"; flow:to_server; "
		"http.uri; content:\"/y\"; sid:2;)",
		"alert http any any -> !192.0.2.0/24 any (msg:\"neg\"; "
		"http.uri; content:\"/x\"; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	fx_request(f, "/x");
	assert_int_equal(fx_txn(f), DETECT_NONE);         /* dport 80 */
	f->t.dport = 8080;
	fx_request(f, "/x");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_true(fired_sid(f, 1));
	assert_false(fired_sid(f, 2));                    /* another uri */
	assert_false(fired_sid(f, 3));
	f->t.src[14] = 101;                               /* 198.51.101.1 */
	fx_request(f, "/x");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	f->t.dst[12] = 203;                               /* 203.0.2.10 */
	fx_request(f, "/x");
	fx_txn(f);
	assert_true(fired_sid(f, 3));
	fx_free(f);
}

static void
test_stream_pool_exhaustion(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"b\"; http.request_body; "
		"content:\"bad\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);
	struct detect_txn a, b;

	(void)state;
	fx_request(f, "/");
	detect_txn_begin(f->dw, &a);
	detect_txn_begin(f->dw, &b);
	detect_headers(f->dw, &a, &f->bufs, &f->t, &f->res);
	detect_headers(f->dw, &b, &f->bufs, &f->t, &f->res);
	assert_int_equal(detect_body(f->dw, &a, (const uint8_t *)"ba", 2,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	assert_non_null(a.body_stream);
	/* b's body cannot be inspected when nothing can be evicted (no room
	 * to report a victim): a fault for the verdict stage's policy, not a
	 * rule drop */
	f->res.n_evicted = DETECT_EVICT_MAX;
	assert_int_equal(detect_body(f->dw, &b, (const uint8_t *)"ok", 2,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	assert_null(b.body_stream);
	assert_int_equal(f->res.faults, DETECT_FAULT_BODY_POOL_FULL);
	assert_int_equal(f->res.n_fired, 0);
	assert_int_equal(f->ws.detect_stream_pool_full, 1);
	/* the rest of b's body stays a fault, even once a stream is free:
	 * scanning from the middle would shift every offset */
	f->res.faults = 0;
	detect_txn_abort(f->dw, &a);
	assert_int_equal(detect_body(f->dw, &b, (const uint8_t *)"bad", 3,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	assert_null(b.body_stream);
	assert_int_equal(f->res.faults, DETECT_FAULT_BODY_POOL_FULL);
	assert_int_equal(f->ws.detect_stream_pool_full, 1);
	f->res.faults = 0;
	assert_null(a.body_stream);
	detect_txn_abort(f->dw, &b);
	/* the stream is back, reset: "ba" + "d" across txns must not match */
	detect_txn_begin(f->dw, &b);
	detect_headers(f->dw, &b, &f->bufs, &f->t, &f->res);
	assert_int_equal(detect_body(f->dw, &b, (const uint8_t *)"d", 1,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	assert_int_equal(detect_body(f->dw, &b, (const uint8_t *)"bad", 3,
	                             &f->bufs, &f->t, &f->res), DETECT_DROP);
	detect_txn_end(f->dw, &b, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->ws.detect_stream_pool_full, 1);
	assert_int_equal(f->res.faults, 0);
	fx_free(f);
}

/* A full pool gives the body stream of the transaction whose body made no
 * progress for longest to the newcomer, and reports the victim's owner. */
static void
test_stream_pool_evicts_stalled(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"b\"; http.request_body; "
		"content:\"bad\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 2);
	struct detect_txn a, b, c;
	int owner_a, owner_b, owner_c;

	(void)state;
	fx_request(f, "/");
	detect_txn_begin(f->dw, &a);
	a.owner = &owner_a;
	detect_txn_begin(f->dw, &b);
	b.owner = &owner_b;
	detect_txn_begin(f->dw, &c);
	c.owner = &owner_c;
	detect_body(f->dw, &a, (const uint8_t *)"x", 1, &f->bufs, &f->t, &f->res);
	detect_body(f->dw, &b, (const uint8_t *)"y", 1, &f->bufs, &f->t, &f->res);
	/* a progresses: b is now the one stalled longest */
	detect_body(f->dw, &a, (const uint8_t *)"x", 1, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->res.n_evicted, 0);
	assert_int_equal(detect_body(f->dw, &c, (const uint8_t *)"bad", 3,
	                             &f->bufs, &f->t, &f->res), DETECT_DROP);
	assert_non_null(c.body_stream);
	assert_non_null(a.body_stream);
	assert_null(b.body_stream);
	assert_int_equal(f->res.n_evicted, 1);
	assert_ptr_equal(f->res.evicted[0].owner, &owner_b);
	assert_string_equal(f->res.evicted[0].event, "body_stream_evicted");
	assert_int_equal(f->ws.detect_body_stream_evicted, 1);
	assert_int_equal(f->ws.detect_stream_pool_full, 0);
	/* the victim's body is not scanned again until its flow ends */
	f->res.faults = 0;
	detect_body(f->dw, &b, (const uint8_t *)"y", 1, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->res.faults, DETECT_FAULT_BODY_POOL_FULL);
	detect_txn_abort(f->dw, &a);
	detect_txn_abort(f->dw, &b);
	detect_txn_abort(f->dw, &c);
	fx_free(f);
}

/* ---- raw stream ------------------------------------------------------- */

static int
fx_raw(struct fixture *f, struct detect_raw *raw, const char *s)
{
	return detect_raw_data(f->dw, raw, (const uint8_t *)s,
	                       (uint32_t)strlen(s), &f->t, &f->res);
}

static void
test_raw_split_across_segments(void **state)
{
	static const char *const rules[] = {
		"drop tcp any any -> any 6379 (msg:\"redis config\"; "
		"flow:to_server,established; content:\"CONFIG SET\"; nocase; "
		"sid:1; rev:2;)",
		"alert http any any -> any any (msg:\"h\"; http.uri; "
		"content:\"/x\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 2);
	struct detect_raw raw = { 0 };

	(void)state;
	assert_true(detect_wants_raw(f->dw));
	assert_false(detect_wants_body(f->dw));
	f->t.dport = 6379;
	assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL), 0);
	assert_int_equal(detect_raw_in_use(f->dw), 1);
	assert_int_equal(fx_raw(f, &raw, "*1\r\n$6\r\nconf"), DETECT_NONE);
	assert_int_equal(fx_raw(f, &raw, "ig s"), DETECT_NONE);
	assert_int_equal(f->res.n_fired, 0);
	assert_int_equal(fx_raw(f, &raw, "et dir /tmp"), DETECT_DROP);
	assert_int_equal(f->res.verdict, DETECT_DROP);
	assert_int_equal(f->res.n_fired, 1);
	assert_int_equal(f->res.fired[0].sid, 1);
	assert_int_equal(f->res.fired[0].rev, 2);
	assert_string_equal(f->res.fired[0].msg, "redis config");
	assert_string_equal(f->res.url, "");
	assert_int_equal(f->res.faults, 0);
	/* once per flow */
	memset(&f->res, 0, sizeof(f->res));
	assert_int_equal(fx_raw(f, &raw, "CONFIG SET x"), DETECT_NONE);
	detect_raw_close(f->dw, &raw);
	assert_int_equal(detect_raw_in_use(f->dw), 0);
	assert_null(raw.slot);

	/* the slot comes back reset: "CONFIG" + " SET" across flows is no
	 * match, and a benign flow fires nothing */
	assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL), 0);
	assert_int_equal(fx_raw(f, &raw, "CONFIG"), DETECT_NONE);
	detect_raw_close(f->dw, &raw);
	assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL), 0);
	assert_int_equal(fx_raw(f, &raw, " SET dir"), DETECT_NONE);
	assert_int_equal(fx_raw(f, &raw, "PING\r\n"), DETECT_NONE);
	assert_int_equal(f->res.n_fired, 0);
	detect_raw_close(f->dw, &raw);
	fx_free(f);
}

/* Raw-stream rules Hyperscan cannot decide alone (relative keywords,
 * back-references, byte_test) are decided on the stream's first
 * DETECT_RAW_WINDOW_BYTES, across segments. */
static void
test_raw_window(void **state)
{
	static const char *const rules[] = {
		"drop tcp any any -> any 1433 (msg:\"w\"; flow:to_server; "
		"content:\"exec\"; content:\"xp_\"; distance:0; within:8; "
		"pcre:\"/^(\\w+)=\\1!/R\"; sid:10;)",
		"alert tcp any any -> any 1433 (msg:\"b\"; flow:to_server; "
		"content:\"LEN\"; byte_test:1,>,100,0,relative; sid:11;)",
		NULL,
	};
	static const struct {
		const char *pieces[3];
		int verdict;            /* of the last piece */
		uint32_t sid;           /* fired, or 0 */
	} cases[] = {
		{ { "exec  x", "p_ab=a", "b!" }, DETECT_DROP, 10 },
		{ { "exec 0123456789 ", "xp_ab=ab!", NULL }, DETECT_NONE, 0 },
		{ { "exec xp_ab=ac!", NULL, NULL }, DETECT_NONE, 0 },
		{ { "exec xp_ab=ab!", NULL, NULL }, DETECT_DROP, 10 },
		{ { "LEN", "e", NULL }, DETECT_ALERT, 11 },     /* 'e' 101 */
		{ { "LEN\x10", NULL, NULL }, DETECT_NONE, 0 },
	};
	struct fixture *f;
	struct detect_raw raw = { 0 }, a = { 0 }, b = { 0 };
	char filler[DETECT_RAW_WINDOW_BYTES + 1];

	(void)state;
	fx_raw_windows = 2;
	f = fx_new(rules, 3);
	fx_raw_windows = 0;
	f->t.dport = 1433;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int v = DETECT_NONE;

		memset(&f->res, 0, sizeof(f->res));
		assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL,
		                                 NULL), 0);
		for (int k = 0; k < 3 && cases[i].pieces[k] != NULL; k++)
			v = fx_raw(f, &raw, cases[i].pieces[k]);
		assert_int_equal(v, cases[i].verdict);
		assert_int_equal(f->res.n_fired, cases[i].sid != 0);
		if (cases[i].sid != 0)
			assert_int_equal(f->res.fired[0].sid, cases[i].sid);
		assert_int_equal(f->res.faults, 0);
		detect_raw_close(f->dw, &raw);
	}
	/* past the window, as past Suricata's reassembly depth */
	memset(filler, '.', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	memset(&f->res, 0, sizeof(f->res));
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, filler), DETECT_NONE);
	assert_int_equal(f->ws.detect_raw_window_passed, 1);
	assert_int_equal(fx_raw(f, &raw, "exec xp_ab=ab!"), DETECT_NONE);
	assert_int_equal(f->res.faults, 0);
	detect_raw_close(f->dw, &raw);
	/* two windows: the third stream takes the one of the stream that
	 * stalled longest, which goes on but can no longer be cleared */
	detect_raw_open(f->dw, &a, 0, NULL, NULL, NULL);
	detect_raw_open(f->dw, &b, 0, NULL, NULL, NULL);
	fx_raw(f, &b, "x");
	assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL), 0);
	assert_int_equal(f->ws.detect_raw_window_evicted, 1);
	assert_int_equal(fx_raw(f, &raw, "exec xp_ab=ab!"), DETECT_DROP);
	assert_int_equal(fx_raw(f, &b, "exec xp_ab=ab!"), DETECT_DROP);
	memset(&f->res, 0, sizeof(f->res));
	assert_int_equal(fx_raw(f, &a, "exec xp_ab=ab!"), DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_RAW_POOL_FULL);
	detect_raw_close(f->dw, &a);
	detect_raw_close(f->dw, &b);
	detect_raw_close(f->dw, &raw);
	assert_int_equal(detect_raw_in_use(f->dw), 0);
	fx_free(f);
}

static void
test_raw_depth_offset(void **state)
{
	static const char *const rules[] = {
		"alert tcp any any -> any any (msg:\"a\"; flow:to_server; content:\"AUTH\"; "
		"depth:4; sid:1;)",
		"alert tcp any any -> any any (msg:\"b\"; flow:to_server; content:\"KEY\"; "
		"offset:6; depth:5; sid:2;)",
		NULL,
	};
	static const struct { const char *seg[3]; int sid1, sid2; } cases[] = {
		{ { "AUTH x", NULL, NULL }, 1, 0 },
		{ { "AU", "TH", NULL }, 1, 0 },          /* split, from byte 0 */
		{ { "xAUTH", NULL, NULL }, 0, 0 },       /* past depth */
		{ { "PING\r\n", "AUTH", NULL }, 0, 0 },  /* depth is of the stream,
		                                         * not of the segment */
		{ { "012345KEY", NULL, NULL }, 0, 1 },   /* at offset 6 */
		{ { "0123", "45", "xKEY" }, 0, 1 },      /* ends by 6 + 5 */
		{ { "01234KEY", NULL, NULL }, 0, 0 },    /* before the offset */
		{ { "012345xxx", "KEY", NULL }, 0, 0 }, /* past offset + depth */
	};
	struct fixture *f = fx_new(rules, 1);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct detect_raw raw = { 0 };

		memset(&f->res, 0, sizeof(f->res));
		assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL), 0);
		for (int k = 0; k < 3 && cases[i].seg[k] != NULL; k++)
			fx_raw(f, &raw, cases[i].seg[k]);
		if (fired_sid(f, 1) != cases[i].sid1 ||
		    fired_sid(f, 2) != cases[i].sid2)
			fail_msg("case %zu: sid1 %d sid2 %d", i, fired_sid(f, 1),
			         fired_sid(f, 2));
		detect_raw_close(f->dw, &raw);
	}
	fx_free(f);
}

static void
test_raw_header_and_conjunction(void **state)
{
	static const char *const rules[] = {
		"drop tcp any any -> any 2375 (msg:\"p\"; content:\"POST\"; "
		"depth:4; content:\"/containers/create\"; sid:1;)",
		"alert http any any -> any any (msg:\"h\"; flow:to_server; content:\"Bind\"; "
		"sid:2;)",
		"pass tcp 198.51.100.9 any -> any any (msg:\"trusted\"; flow:to_server; "
		"content:\"POST\"; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);
	struct detect_raw raw = { 0 };

	(void)state;
	/* both conditions, in different segments */
	f->t.dport = 2375;
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, "POST /v1.41"), DETECT_NONE);
	assert_int_equal(fx_raw(f, &raw, "/containers/create HTTP/1.1"),
	                 DETECT_DROP);
	assert_true(fired_sid(f, 1));
	detect_raw_close(f->dw, &raw);
	/* wrong port: the header is honoured */
	memset(&f->res, 0, sizeof(f->res));
	f->t.dport = 2376;
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, "POST /containers/create"),
	                 DETECT_NONE);
	detect_raw_close(f->dw, &raw);
	/* an http rule's raw content needs an HTTP flow */
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, "Binds"), DETECT_NONE);
	detect_raw_close(f->dw, &raw);
	detect_raw_open(f->dw, &raw, 1, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, "Binds"), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	detect_raw_close(f->dw, &raw);
	/* a pass rule stops the flow's raw rules */
	memset(&f->res, 0, sizeof(f->res));
	f->t.dport = 2375;
	f->t.src[15] = 9;
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, "POST /containers/create"),
	                 DETECT_NONE);
	assert_int_equal(f->res.n_fired, 0);
	detect_raw_close(f->dw, &raw);
	fx_free(f);
}

static void
test_raw_pool_full(void **state)
{
	static const char *const rules[] = {
		"drop tcp any any -> any any (msg:\"x\"; flow:to_server; content:\"evil\"; "
		"sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);
	struct detect_raw a = { 0 }, b = { 0 }, zero = { 0 };

	(void)state;
	assert_int_equal(detect_raw_open(f->dw, &a, 0, NULL, NULL, NULL), 0);
	assert_int_equal(detect_raw_open(f->dw, &b, 0, NULL, NULL, NULL), -1);
	assert_int_equal(f->ws.detect_raw_pool_full, 1);
	assert_null(b.slot);
	/* every byte of b is a fault, never a rule verdict */
	assert_int_equal(fx_raw(f, &b, "evil"), DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_RAW_POOL_FULL);
	assert_int_equal(f->res.n_fired, 0);
	/* a's slot freed does not rescue b (offsets would be wrong) */
	detect_raw_close(f->dw, &a);
	f->res.faults = 0;
	assert_int_equal(fx_raw(f, &b, "x"), DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_RAW_POOL_FULL);
	detect_raw_close(f->dw, &b);
	assert_memory_equal(&b, &zero, sizeof(b));
	assert_int_equal(detect_raw_in_use(f->dw), 0);
	assert_int_equal(f->ws.detect_raw_pool_full, 1);
	fx_free(f);
}

/* Each direction is its own stream: a to_client rule reads the server's
 * bytes (its header server to client), a to_server rule the client's, a
 * rule with neither both, each firing once per direction. */
static void
test_raw_server_direction(void **state)
{
	static const char *const rules[] = {
		"drop tcp any 6379 -> any any (msg:\"srv\"; "
		"flow:established,to_client; content:\"-ERR unknown\"; sid:1;)",
		"alert tcp any any -> any 6379 (msg:\"cli\"; flow:to_server; "
		"content:\"-ERR unknown\"; sid:2;)",
		"alert tcp any any -> any any (msg:\"both\"; "
		"content:\"uid=0(root)\"; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);
	struct detect_raw cli = { 0 }, srv = { 0 };

	(void)state;
	f->t.dport = 6379;
	assert_true(detect_wants_raw_server(f->dw));
	assert_int_equal(detect_raw_open(f->dw, &srv, DETECT_RAW_SERVER, NULL,
	                                 NULL, NULL), 0);
	assert_int_equal(detect_raw_open(f->dw, &cli, 0, NULL, NULL, NULL), 0);
	assert_int_equal(fx_raw(f, &srv, "-ERR unknown command"), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_false(fired_sid(f, 2));
	memset(&f->res, 0, sizeof(f->res));
	assert_int_equal(fx_raw(f, &cli, "-ERR unknown"), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	assert_false(fired_sid(f, 1));
	memset(&f->res, 0, sizeof(f->res));
	assert_int_equal(fx_raw(f, &srv, "uid=0(root) gid=0"), DETECT_ALERT);
	assert_true(fired_sid(f, 3));
	memset(&f->res, 0, sizeof(f->res));
	assert_int_equal(fx_raw(f, &cli, "uid=0(root)"), DETECT_ALERT);
	assert_true(fired_sid(f, 3));
	detect_raw_close(f->dw, &srv);
	detect_raw_close(f->dw, &cli);
	/* the to_client header names the server's port as its source */
	f->t.dport = 6380;
	memset(&f->res, 0, sizeof(f->res));
	detect_raw_open(f->dw, &srv, DETECT_RAW_SERVER, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &srv, "-ERR unknown"), DETECT_NONE);
	detect_raw_close(f->dw, &srv);
	fx_free(f);
}

static void
test_raw_server_not_wanted(void **state)
{
	static const char *const rules[] = {
		"alert tcp any any -> any 6379 (msg:\"cli\"; flow:to_server; "
		"content:\"x\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);

	(void)state;
	assert_true(detect_wants_raw(f->dw));
	assert_false(detect_wants_raw_server(f->dw));
	fx_free(f);
}

/* ---- tls.certs ---------------------------------------------------------- */

/* The buffer detect_tls_begin lends a TLS message (certificates or a
 * ClientHello) on tls, the results cleared. */
static uint8_t *
fx_tls_open(struct fixture *f, struct detect_tls *tls)
{
	uint32_t cap = 0;
	uint8_t *buf;

	memset(&f->res, 0, sizeof(f->res));
	buf = detect_tls_begin(f->dw, tls, tls, &f->t, &f->res, &cap);
	assert_non_null(buf);
	assert_int_equal(cap, DETECT_TLS_CERT_BYTES);
	return buf;
}

/* One Certificate message of certs (NULL-ended) on tls: each copied into
 * the lent buffer and inspected.  Returns the strongest verdict. */
static int
fx_certs_on(struct fixture *f, struct detect_tls *tls,
            const char *const *certs)
{
	uint8_t *buf = fx_tls_open(f, tls);
	int v = DETECT_NONE;

	for (uint32_t i = 0; certs[i] != NULL; i++) {
		uint32_t len = (uint32_t)strlen(certs[i]);
		int r;

		memcpy(buf, certs[i], len);
		r = detect_tls_cert(f->dw, tls, buf, len, 0, &f->t, &f->res);
		v = r > v ? r : v;
	}
	detect_tls_end(f->dw, tls);
	assert_null(tls->slot);
	return v;
}

static int
fx_certs(struct fixture *f, const char *const *certs)
{
	struct detect_tls tls = { 0 };

	return fx_certs_on(f, &tls, certs);
}

/* Each keyword's must-match and must-not, relative and negated, within
 * one certificate. */
static void
test_tls_certs_match_and_not(void **state)
{
	static const char *const rules[] = {
		"drop tls any any -> any any (msg:\"cn\"; "
		"flow:established,to_client; tls.certs; content:\"|55 04 03|\"; "
		"content:\"evil.example\"; distance:1; within:13; sid:1;)",
		"alert tls any any -> any any (msg:\"pcre R\"; tls.certs; "
		"content:\"O=\"; pcre:\"/^[0-9]{4}x/R\"; sid:2;)",
		"alert tls any any -> any any (msg:\"neg\"; tls.certs; "
		"content:\"CN=\"; content:!\"Org\"; distance:0; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);
	const char *const cn[] = { "..\x55\x04\x03\x0c" "evil.example..", NULL };
	const char *const cn_far[] = {
		"..\x55\x04\x03\x0c" "..........evil.example", NULL };
	const char *const o_ok[] = { "O=2024x", NULL };
	const char *const o_bad[] = { "O=202x4", NULL };
	const char *const neg_hit[] = { "Org CN=host", NULL };
	const char *const neg_miss[] = { "CN=host Org", NULL };

	(void)state;
	assert_int_equal(fx_certs(f, cn), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_int_equal(fx_certs(f, cn_far), DETECT_NONE);
	assert_int_equal(fx_certs(f, o_ok), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	assert_int_equal(fx_certs(f, o_bad), DETECT_NONE);
	assert_int_equal(fx_certs(f, neg_hit), DETECT_ALERT);
	assert_true(fired_sid(f, 3));
	assert_int_equal(fx_certs(f, neg_miss), DETECT_NONE);
	assert_int_equal(f->res.faults, 0);
	assert_int_equal(f->ws.detect_tls_certs, 6);
	fx_free(f);
}

/* A DER certificate as far as x509.c reads: serial, issuer CN, subject
 * CN (short-form lengths: keep the names short).  Returns its length. */
static uint32_t
fx_der_cert(uint8_t *out, uint8_t serial, const char *issuer,
            const char *subject)
{
	uint8_t tbs[256], name[2][96];
	uint32_t nl[2], n = 0, t = 0;
	const char *cn[2] = { issuer, subject };

	for (int i = 0; i < 2; i++) {
		uint8_t l = (uint8_t)strlen(cn[i]);
		const uint8_t head[] = { 0x30, (uint8_t)(l + 11), 0x31,
		                         (uint8_t)(l + 9), 0x30, (uint8_t)(l + 7),
		                         0x06, 3, 0x55, 0x04, 0x03, 0x0c, l };

		memcpy(name[i], head, sizeof(head));
		memcpy(name[i] + sizeof(head), cn[i], l);
		nl[i] = sizeof(head) + l;
	}
	tbs[t++] = 0x02, tbs[t++] = 2, tbs[t++] = 0, tbs[t++] = serial;
	tbs[t++] = 0x30, tbs[t++] = 0;              /* signature */
	memcpy(tbs + t, name[0], nl[0]), t += nl[0];
	tbs[t++] = 0x30, tbs[t++] = 0;              /* validity */
	memcpy(tbs + t, name[1], nl[1]), t += nl[1];
	out[n++] = 0x30, out[n++] = (uint8_t)(t + 2);
	out[n++] = 0x30, out[n++] = (uint8_t)t;
	memcpy(out + n, tbs, t);
	return n + t;
}

/* One Certificate message of DER certificates (subject CNs, issuer
 * "ca", serial 0x80 + index). */
static int
fx_der_certs(struct fixture *f, const char *const *subjects)
{
	struct detect_tls tls = { 0 };
	uint8_t *buf = fx_tls_open(f, &tls);
	int v = DETECT_NONE;

	for (uint32_t i = 0; subjects[i] != NULL; i++) {
		uint32_t len = fx_der_cert(buf, (uint8_t)(0x80 + i), "ca",
		                           subjects[i]);
		int r = detect_tls_cert(f->dw, &tls, buf, len, 0, &f->t, &f->res);

		v = r > v ? r : v;
	}
	detect_tls_end(f->dw, &tls);
	return v;
}

/* tls.cert_subject, _issuer and _serial: the first certificate's names
 * as Suricata prints them, combined in one rule, negated; a later
 * certificate's are not read. */
static void
test_tls_cert_names(void **state)
{
	static const char *const rules[] = {
		"drop tls any any -> any any (msg:\"subj\"; "
		"flow:established,to_client; tls.cert_subject; "
		"content:\"CN=evil.example\"; bsize:15; tls.cert_issuer; "
		"content:\"CN=ca\"; sid:1;)",
		"alert tls any any -> any any (msg:\"serial\"; tls.cert_serial; "
		"content:\"00:80\"; depth:5; sid:2;)",
		"alert tls any any -> any any (msg:\"neg\"; tls.cert_subject; "
		"content:!\"good\"; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);
	const char *const evil[] = { "evil.example", "good.example", NULL };
	const char *const longer[] = { "evil.example.net", NULL };
	const char *const second[] = { "good.example", "evil.example", NULL };

	(void)state;
	assert_int_equal(fx_der_certs(f, evil), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_true(fired_sid(f, 2));
	assert_true(fired_sid(f, 3));
	assert_int_equal(f->res.n_fired, 3);
	assert_int_equal(fx_der_certs(f, longer), DETECT_ALERT);
	assert_false(fired_sid(f, 1));              /* bsize */
	assert_int_equal(fx_der_certs(f, second), DETECT_ALERT);
	assert_int_equal(f->res.n_fired, 1);        /* the serial: 00:80 */
	assert_true(fired_sid(f, 2));
	assert_int_equal(f->res.faults, 0);
	/* not DER: no names, no match, counted */
	assert_int_equal(fx_certs(f, (const char *const[]){ "CN=evil.example",
	                                                    NULL }),
	                 DETECT_NONE);
	assert_int_equal(f->ws.detect_tls_cert_unparsed, 1);
	fx_free(f);
}

/* One ClientHello of this legacy_version on a fresh flow; its extensions
 * block (none when ext is NULL): ext's ext_len bytes, then the tail. */
static int
fx_hello_raw(struct fixture *f, uint16_t legacy, const uint8_t *ext,
             uint32_t ext_len, const void *tail, uint32_t tail_len)
{
	struct detect_tls tls = { 0 };
	uint8_t *buf = fx_tls_open(f, &tls);
	uint32_t n = 0;
	int v;

	buf[n++] = (uint8_t)(legacy >> 8), buf[n++] = (uint8_t)legacy;
	memset(buf + n, 'r', 32), n += 32;
	memcpy(buf + n, "\x00\x00\x02\x13\x01\x01\x00", 7), n += 7;
	if (ext != NULL) {
		memcpy(buf + n, ext, ext_len), n += ext_len;
		memcpy(buf + n, tail, tail_len), n += tail_len;
	}
	v = detect_tls_hello(f->dw, &tls, buf, n, 0, &f->t, &f->res);
	detect_tls_end(f->dw, &tls);
	return v;
}

/* One ClientHello with server name sni (len bytes; NULL: none) on a
 * fresh flow. */
static int
fx_hello_n(struct fixture *f, const char *sni, uint8_t l)
{
	const uint8_t ext[] = { 0, (uint8_t)(l + 9), 0, 0, 0, (uint8_t)(l + 5),
	                        0, (uint8_t)(l + 3), 0, 0, l };

	return fx_hello_raw(f, 0x0303, sni != NULL ? ext : NULL, sizeof(ext),
	                    sni, l);
}

static int
fx_hello(struct fixture *f, const char *sni)
{
	return fx_hello_n(f, sni, sni != NULL ? (uint8_t)strlen(sni) : 0);
}

/* tls.sni: the ClientHello's server name, read client to server, to its
 * first NUL: Suricata keeps it as a C string, so ET's sid 2027960, which
 * looks for a NUL in it, never matches there, nor here. */
static void
test_tls_sni(void **state)
{
	static const char *const rules[] = {
		"drop tls any any -> any any (msg:\"sni\"; "
		"flow:established,to_server; tls.sni; "
		"content:\"evil.example\"; endswith; sid:1;)",
		"alert tls any any -> any any (msg:\"ET nul\"; "
		"flow:established,to_server; tls.sni; content:\"|5c 00|\"; "
		"fast_pattern; sid:2027960;)",
		"alert tls 198.51.100.1 any -> 192.0.2.10 any (msg:\"neg\"; "
		"tls.sni; content:!\"example\"; sid:3;)",
		"alert tls any any -> any any (msg:\"cert\"; tls.certs; "
		"content:\"evil\"; sid:4;)",
		/* JA3 of "771,4865,0,,": the hello with a server name */
		"alert tls any any -> any any (msg:\"ja3\"; ja3.hash; "
		"content:\"1e7c622032b0cb79401b0f7be3793a1a\"; tls.sni; "
		"content:\"ja3.example\"; sid:5;)",
		"alert tls any any -> any any (msg:\"ja3 string\"; ja3.string; "
		"content:\"771,4865,,,\"; bsize:11; sid:6;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);

	(void)state;
	assert_int_equal(fx_hello(f, "ja3.example"), DETECT_ALERT);
	assert_true(fired_sid(f, 5));
	assert_int_equal(f->res.n_fired, 1);
	assert_int_equal(fx_hello(f, NULL), DETECT_ALERT);
	assert_true(fired_sid(f, 6));
	assert_int_equal(f->res.n_fired, 1);
	assert_true(detect_wants_tls_hello(f->dw));
	assert_int_equal(fx_hello(f, "www.evil.example"), DETECT_DROP);
	assert_true(fired_sid(f, 1));
	assert_int_equal(f->res.n_fired, 1);        /* not the cert rule */
	assert_false(f->res.fired[0].to_client);
	assert_int_equal(fx_hello(f, "evil.example.net"), DETECT_NONE);
	assert_int_equal(fx_hello(f, "a\x5c"), DETECT_ALERT);
	assert_false(fired_sid(f, 2027960));        /* no NUL after it */
	assert_true(fired_sid(f, 3));
	assert_int_equal(fx_hello_n(f, "x\x5c\x00.example", 11), DETECT_ALERT);
	assert_false(fired_sid(f, 2027960));
	assert_true(fired_sid(f, 3));               /* "x\x5c" lacks it */
	assert_int_equal(f->ws.detect_tls_hellos, 6);
	/* a ClientHello longer than its buffer: its prefix, undecided */
	{
		struct detect_tls tls = { 0 };
		uint32_t cap;
		uint8_t *buf;

		memset(&f->res, 0, sizeof(f->res));
		buf = detect_tls_begin(f->dw, &tls, &tls, &f->t, &f->res, &cap);
		assert_non_null(buf);
		memset(buf, 0, 64);
		detect_tls_hello(f->dw, &tls, buf, 64, 1, &f->t, &f->res);
		detect_tls_end(f->dw, &tls);
		assert_int_equal(f->ws.detect_tls_hello_truncated, 1);
		assert_int_equal(f->ws.detect_tls_cert_truncated, 0);
		assert_true(f->res.faults & DETECT_FAULT_INSPECT_LIMIT);
	}
	fx_free(f);
}

/* One ClientHello of this legacy_version and, unless sv is NULL, a
 * supported_versions extension of sv_len bytes, on a fresh flow. */
static int
fx_hello_version(struct fixture *f, uint16_t legacy, const uint8_t *sv,
                 uint8_t sv_len)
{
	const uint8_t ext[] = { 0, (uint8_t)(sv_len + 4), 0, 0x2b, 0, sv_len };

	return fx_hello_raw(f, legacy, sv != NULL ? ext : NULL, sizeof(ext),
	                    sv, sv_len);
}

/* tls.version: the client's version as Suricata 7 keeps it (the first
 * supported_versions entry it knows), TLS 1.3's drafts counted as 1.3
 * unless the rule names the number. */
static void
test_tls_version(void **state)
{
	static const char *const rules[] = {
		"alert tls any any -> any any (msg:\"1.2\"; flow:to_server; "
		"tls.version:1.2; sid:1;)",
		"alert tls any any -> any any (msg:\"1.3\"; "
		"flow:established,to_server; tls.version:\"1.3\"; sid:2;)",
		"alert tls any any -> any any (msg:\"draft 28\"; "
		"flow:to_server; tls.version:0x7f1c; sid:3;)",
		"drop tls any any -> any any (msg:\"1.0\"; flow:to_server; "
		"tls.version:1.0; sid:4;)",
		"alert tls any any -> any any (msg:\"1.2 and a JA3\"; "
		"flow:to_server; tls.version:1.2; ja3.string; "
		"content:\"769,\"; startswith; sid:5;)",
		NULL,
	};
	static const uint8_t grease_13[] = { 4, 0x1a, 0x1a, 0x03, 0x04 };
	static const uint8_t draft28[] = { 2, 0x7f, 0x1c };
	static const uint8_t only_12[] = { 2, 0x03, 0x03 };
	static const uint8_t short_list[] = { 1, 0x03 };
	static const struct {
		uint16_t legacy;
		const uint8_t *sv;      /* supported_versions, or NULL */
		uint8_t sv_len;
		int verdict;
		uint32_t sids[3];       /* those that fire, 0 after */
	} cases[] = {
		{ 0x0303, NULL, 0, DETECT_ALERT, { 1 } },
		{ 0x0303, grease_13, sizeof(grease_13), DETECT_ALERT, { 2 } },
		{ 0x0303, draft28, sizeof(draft28), DETECT_ALERT, { 2, 3 } },
		/* 0x0304 as legacy_version: drafts 1-15, kept as 0x7f01 */
		{ 0x0304, NULL, 0, DETECT_ALERT, { 2 } },
		{ 0x0301, NULL, 0, DETECT_DROP, { 4 } },
		/* a 1.0 legacy_version offering only 1.2: the version is 1.2,
		 * the JA3 string's the legacy one */
		{ 0x0301, only_12, sizeof(only_12), DETECT_ALERT, { 1, 5 } },
		/* a malformed hello has no version */
		{ 0x0303, short_list, sizeof(short_list), DETECT_NONE, { 0 } },
	};
	struct fixture *f = fx_new(rules, 4);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t n = 0;

		assert_int_equal(fx_hello_version(f, cases[i].legacy,
		                                  cases[i].sv, cases[i].sv_len),
		                 cases[i].verdict);
		for (; n < 3 && cases[i].sids[n] != 0; n++)
			assert_true(fired_sid(f, cases[i].sids[n]));
		assert_int_equal(f->res.n_fired, n);
	}
	fx_free(f);
}

/* tls.certs is a multi-buffer: conditions hold within one certificate,
 * and a rule fires once per flow whichever certificates match. */
static void
test_tls_certs_multi_buffer(void **state)
{
	static const char *const rules[] = {
		"alert tls any any -> any any (msg:\"both\"; tls.certs; "
		"content:\"AAAA\"; content:\"BBBB\"; sid:1;)",
		"alert tls any any -> any any (msg:\"one\"; tls.certs; "
		"content:\"CCCC\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);
	const char *const split[] = { "AAAA", "BBBB", NULL };
	const char *const whole[] = { "xx", "BBBB AAAA", NULL };
	const char *const twice[] = { "CCCC", "CCCC", "CCCC", NULL };

	(void)state;
	assert_int_equal(fx_certs(f, split), DETECT_NONE);
	assert_int_equal(fx_certs(f, whole), DETECT_ALERT);
	assert_int_equal(f->res.n_fired, 1);
	assert_int_equal(fx_certs(f, twice), DETECT_ALERT);
	assert_int_equal(f->res.n_fired, 1);
	fx_free(f);
}

/* The rule reads server to client: its source is the flow's server.  A
 * tls rule is never decided on a request, nor an http rule on a
 * certificate. */
static void
test_tls_certs_header_and_isolation(void **state)
{
	static const char *const rules[] = {
		"alert tls 192.0.2.10 80 -> 198.51.100.1 any (msg:\"srv\"; "
		"tls.certs; content:\"CERT\"; sid:1;)",
		"alert tls 198.51.100.1 any -> 192.0.2.10 any (msg:\"cli\"; "
		"tls.certs; content:\"CERT\"; sid:2;)",
		"alert tls any any -> any any (msg:\"neg only\"; tls.certs; "
		"content:!\"zzz\"; sid:3;)",
		"alert http any any -> any any (msg:\"uri\"; http.uri; "
		"content:\"CERT\"; sid:4;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);
	const char *const cert[] = { "CERT", NULL };

	(void)state;
	assert_int_equal(fx_certs(f, cert), DETECT_ALERT);
	assert_true(fired_sid(f, 1));
	assert_false(fired_sid(f, 2));
	assert_true(fired_sid(f, 3));
	assert_false(fired_sid(f, 4));
	fx_request(f, "/CERT");
	fx_txn(f);
	assert_true(fired_sid(f, 4));
	assert_false(fired_sid(f, 3));
	assert_int_equal(f->res.n_fired, 1);
	fx_free(f);
}

/* A full pool: the server that stalled longest gives up its slot (its
 * flow is reported for the caller to end) and its later certificates are
 * faults; a certificate longer than the buffer is a fault too. */
static void
test_tls_certs_pool_and_truncation(void **state)
{
	static const char *const rules[] = {
		"drop tls any any -> any any (msg:\"x\"; tls.certs; "
		"content:\"evil\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);
	struct detect_tls a = { 0 }, b = { 0 };
	uint32_t cap;
	uint8_t *buf;

	(void)state;
	assert_true(detect_wants_tls(f->dw));
	memset(&f->res, 0, sizeof(f->res));
	assert_non_null(detect_tls_begin(f->dw, &a, &a, &f->t, &f->res, &cap));
	buf = detect_tls_begin(f->dw, &b, &b, &f->t, &f->res, &cap);
	assert_non_null(buf);
	assert_int_equal(f->res.n_evicted, 1);
	assert_ptr_equal(f->res.evicted[0].owner, &a);
	assert_int_equal(f->ws.detect_tls_evicted, 1);
	assert_null(a.slot);
	assert_int_equal(detect_tls_cert(f->dw, &a, NULL, 4, 0, &f->t,
	                                 &f->res), DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_TLS_POOL_FULL);
	f->res.faults = 0;
	memcpy(buf, "evil", 4);
	assert_int_equal(detect_tls_cert(f->dw, &b, buf, 4, 0, &f->t, &f->res),
	                 DETECT_DROP);
	assert_int_equal(f->res.faults, 0);
	/* a prefix without the match: undecided, not clean */
	memset(&f->res, 0, sizeof(f->res));
	memcpy(buf, "good", 4);
	assert_int_equal(detect_tls_cert(f->dw, &b, buf, 4, 1, &f->t, &f->res),
	                 DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_INSPECT_LIMIT);
	assert_int_equal(f->ws.detect_tls_cert_truncated, 1);
	detect_tls_end(f->dw, &b);
	detect_tls_end(f->dw, &a);
	/* the pool has its slot back */
	memset(&f->res, 0, sizeof(f->res));
	assert_non_null(detect_tls_begin(f->dw, &a, &a, &f->t, &f->res, &cap));
	assert_int_equal(f->res.n_evicted, 0);
	detect_tls_end(f->dw, &a);
	fx_free(f);
}

/* Without tls.certs rules nothing is allocated and nothing is asked. */
static void
test_tls_not_wanted(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"u\"; http.uri; "
		"content:\"x\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 2);
	struct detect_tls t = { 0 };
	uint32_t cap = 7;

	(void)state;
	assert_false(detect_wants_tls(f->dw));
	assert_null(detect_tls_begin(f->dw, &t, &t, &f->t, &f->res, &cap));
	assert_int_equal(cap, 0);
	assert_int_equal(detect_tls_cert(f->dw, &t, NULL, 3, 0, &f->t,
	                                 &f->res), DETECT_NONE);
	assert_int_equal(f->res.faults, 0);
	detect_tls_end(f->dw, &t);
	fx_free(f);
}

/* A Hyperscan error is a fault for the verdict stage, never a rule drop;
 * a stream that missed bytes stays a fault. */
static void
test_scan_error_is_fault(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"u\"; http.uri; "
		"content:\"/x\"; sid:1;)",
		"drop http any any -> any any (msg:\"b\"; http.request_body; "
		"content:\"bad\"; sid:2;)",
		"drop tcp any any -> any any (msg:\"r\"; flow:to_server; content:\"evil\"; "
		"sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 1);
	struct detect_raw raw = { 0 };

	(void)state;
	fx_request(f, "/x");
	hs_fail_block = 1;
	detect_txn_begin(f->dw, &f->dt);
	assert_int_equal(detect_headers(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_NONE);
	hs_fail_block = 0;
	assert_int_equal(f->res.faults, DETECT_FAULT_SCAN_ERROR);
	assert_int_equal(f->res.n_fired, 0);
	assert_true(f->ws.detect_scan_errors > 0);
	f->res.faults = 0;
	hs_fail_stream = 1;
	assert_int_equal(detect_body(f->dw, &f->dt, (const uint8_t *)"x", 1,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	hs_fail_stream = 0;
	assert_int_equal(f->res.faults, DETECT_FAULT_SCAN_ERROR);
	f->res.faults = 0;
	assert_int_equal(detect_body(f->dw, &f->dt, (const uint8_t *)"bad", 3,
	                             &f->bufs, &f->t, &f->res), DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_SCAN_ERROR);
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);

	memset(&f->res, 0, sizeof(f->res));
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	hs_fail_stream = 1;
	assert_int_equal(fx_raw(f, &raw, "ev"), DETECT_NONE);
	hs_fail_stream = 0;
	assert_int_equal(f->res.faults, DETECT_FAULT_SCAN_ERROR);
	f->res.faults = 0;
	assert_int_equal(fx_raw(f, &raw, "il"), DETECT_NONE);
	assert_int_equal(f->res.faults, DETECT_FAULT_SCAN_ERROR);
	assert_int_equal(f->res.n_fired, 0);
	detect_raw_close(f->dw, &raw);
	/* the slot is usable again */
	memset(&f->res, 0, sizeof(f->res));
	detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL);
	assert_int_equal(fx_raw(f, &raw, "evil"), DETECT_DROP);
	assert_int_equal(f->res.faults, 0);
	detect_raw_close(f->dw, &raw);
	fx_free(f);
}

/* No raw rule: no pool, and the stream stage is told not to bother. */
static void
test_raw_not_wanted(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"h\"; http.uri; "
		"content:\"/x\"; sid:1;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 4);
	struct detect_raw raw = { 0 };

	(void)state;
	assert_false(detect_wants_raw(f->dw));
	assert_int_equal(detect_raw_open(f->dw, &raw, 0, NULL, NULL, NULL), -1);
	fx_free(f);
}

static void
test_result_fields_and_strongest(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"a\"; classtype:"
		"attempted-admin; http.uri; content:\"/x\"; sid:1; rev:4;)",
		"reject http any any -> any any (msg:\"r\"; http.uri; "
		"content:\"/x\"; sid:2;)",
		"drop http any any -> any any (msg:\"d\"; http.uri; "
		"content:\"/x\"; sid:3;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);
	char longua[300];

	(void)state;
	memset(longua, 'u', sizeof(longua) - 1);
	longua[sizeof(longua) - 1] = '\0';
	fx_request(f, "/x?q=1");
	fx_set(f, IPS_BUF_URI, "/x");             /* normalized differs */
	fx_set(f, IPS_BUF_USER_AGENT, longua);
	assert_int_equal(fx_txn(f), DETECT_REJECT);
	assert_int_equal(f->res.verdict, DETECT_REJECT);
	assert_int_equal(f->res.n_fired, 3);
	assert_int_equal(f->res.fired[0].sid, 3);   /* drop before reject */
	assert_int_equal(f->res.fired[2].sid, 1);
	assert_int_equal(f->res.fired[2].rev, 4);
	assert_int_equal(f->res.fired[2].priority, 1);
	assert_string_equal(f->res.fired[2].msg, "a");
	assert_string_equal(f->res.fired[2].classtype, "attempted-admin");
	assert_string_equal(f->res.url, "/x?q=1");
	assert_string_equal(f->res.host, "www.example.com");
	assert_string_equal(f->res.method, "GET");
	assert_int_equal(strlen(f->res.user_agent), sizeof(f->res.user_agent) - 1);
	assert_int_equal(f->ws.detect_rules_matched, 3);
	assert_true(f->ws.detect_scans >= 1);
	fx_free(f);
}

/* N rules, each with its own uri literal "<NNN>", plus an optional suffix
 * (a body condition); and a uri holding every literal. */
static struct fixture *
fx_many(int n, const char *suffix, char *uri)
{
	static char text[DETECT_TXN_MAX_MATCHES * 2][200];
	const char *list[DETECT_TXN_MAX_MATCHES * 2 + 1];
	struct fixture *f;

	assert_true(n <= DETECT_TXN_MAX_MATCHES * 2);
	for (int i = 0; i < n; i++) {
		snprintf(text[i], sizeof(text[i]), "alert http any any -> any any "
		         "(msg:\"o\"; http.uri; content:\"<%03d>\"; %s sid:%d;)", i,
		         suffix, i + 1);
		list[i] = text[i];
		memcpy(uri + i * 5, strchr(text[i], '<'), 5);
	}
	uri[n * 5] = '\0';
	list[n] = NULL;
	f = fx_new(list, 1);
	fx_request(f, uri);
	return f;
}

static void
test_many_header_matches(void **state)
{
	enum { N = DETECT_TXN_MAX_MATCHES + 8 };
	static char uri[N * 5 + 1];
	struct fixture *f = fx_many(N, "", uri);

	(void)state;
	/* header-only rules never need matched[]: no overflow, all fire */
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_int_equal(f->ws.detect_scan_errors, 0);
	assert_int_equal(f->ws.detect_rules_matched, N);
	assert_int_equal(f->res.n_fired, DETECT_RESULT_MAX);
	assert_int_equal(f->res.n_lost, N - DETECT_RESULT_MAX);
	/* and the per-call set does not leak into the next transaction */
	fx_request(f, "/clean");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	fx_free(f);
}

static void
test_match_overflow_fails_closed(void **state)
{
	enum { N = DETECT_TXN_MAX_MATCHES + 8 };
	static char uri[N * 5 + 1];
	struct fixture *f = fx_many(N, "http.request_body; content:\"Z\";", uri);

	(void)state;
	detect_txn_begin(f->dw, &f->dt);
	assert_int_equal(detect_headers(f->dw, &f->dt, &f->bufs, &f->t,
	                                &f->res), DETECT_NONE);
	assert_int_equal(f->dt.n_matched, DETECT_TXN_MAX_MATCHES);
	assert_int_equal(f->dt.overflow, 1);
	assert_int_equal(f->ws.detect_scan_errors, 1);
	/* the 8 uri matches that did not fit still count */
	assert_int_equal(detect_body(f->dw, &f->dt, (const uint8_t *)"Z", 1,
	                             &f->bufs, &f->t, &f->res), DETECT_ALERT);
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_int_equal(f->ws.detect_rules_matched, N);
	fx_free(f);
}

static void
test_distance_within(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"dw\"; http.uri; "
		"content:\"hello\"; content:\"world\"; distance:4; within:5; "
		"sid:1;)",
		"alert http any any -> any any (msg:\"neg\"; http.uri; "
		"content:\"/a\"; content:!\"b\"; distance:0; within:2; sid:2;)",
		"alert http any any -> any any (msg:\"end\"; http.uri; "
		"content:\".PHP\"; nocase; endswith; sid:3;)",
		"alert http any any -> any any (msg:\"back\"; http.uri; "
		"content:\"x\"; content:\"y\"; distance:-2; within:1; sid:4;)",
		NULL,
	};
	static const struct { const char *uri; uint32_t sid; int hit; } cases[] = {
		{ "hello1234world", 1, 1 },
		{ "hello123world", 1, 0 },          /* starts before distance */
		{ "hello12345world", 1, 0 },        /* ends past within */
		{ "hello12 hello1234world", 1, 1 }, /* needs the 2nd hello */
		{ "world hello", 1, 0 },
		{ "/ab", 2, 0 },
		{ "/acb", 2, 0 },
		{ "/accb", 2, 1 },
		{ "b/a", 2, 1 },                    /* b outside the window */
		{ "/x.php", 3, 1 },
		{ "/x.Php?a", 3, 0 },
		{ "yx", 4, 1 },                     /* negative distance */
		{ "xy", 4, 0 },
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_request(f, cases[i].uri);
		fx_txn(f);
		if (fired_sid(f, cases[i].sid) != cases[i].hit)
			fail_msg("uri '%s' sid %u: want %d", cases[i].uri,
			         cases[i].sid, cases[i].hit);
	}
	fx_free(f);
}

/* A chain that makes every content retry (within on each) cannot make
 * the inspection backtrack without bound: past the recursion limit the
 * rule is undecided, a fault for policy.detect_error, never a silent
 * "no match". */
static void
test_inspect_recursion_limit_is_fault(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"bt\"; http.uri; "
		"content:\"a\"; content:\"a\"; distance:0; within:400; "
		"content:\"a\"; distance:0; within:400; content:\"b\"; "
		"distance:0; within:400; sid:1;)",
		NULL,
	};
	static char uri[400];
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	memset(uri, 'a', sizeof(uri) - 2);
	uri[sizeof(uri) - 2] = '\0';
	fx_request(f, "aaab");
	assert_int_equal(fx_txn(f), DETECT_DROP);
	assert_int_equal(f->ws.detect_inspect_limit, 0);
	uri[0] = 'b';                   /* "b" before every "a" */
	fx_request(f, uri);
	assert_int_equal(fx_txn(f), DETECT_NONE);
	assert_int_equal(f->ws.detect_inspect_limit, 1);
	assert_true(f->res.faults & DETECT_FAULT_INSPECT_LIMIT);
	fx_request(f, "baaa");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	assert_int_equal(f->res.faults, 0);
	assert_int_equal(f->ws.detect_inspect_limit, 1);
	fx_free(f);
}

/* For each keyword Suricata's inspection adds (pcre with PCRE2, relative
 * and negated forms, isdataat, bsize, urilen, byte_test, byte_jump,
 * distance/within in the body): a request that must raise its sid and
 * one that must not. */
struct kw_case {
	uint32_t sid;
	const char *uri;
	const char *header;             /* NULL: "Host: www.example.com" */
	const char *cookie;             /* NULL: no Cookie header */
	const char *body;               /* NULL: no body */
	int hit;
};

static const char *const kw_rules[] = {
	/* pcre R: anchored where the content ended */
	"alert http any any -> any any (msg:\"r\"; http.uri; content:\"/a\"; "
	"pcre:\"/^b+c/R\"; sid:10;)",
	/* back-reference and lookahead: PCRE2 only */
	"alert http any any -> any any (msg:\"br\"; http.uri; "
	"pcre:\"/(\\w{2,})=\\1/\"; sid:11;)",
	"alert http any any -> any any (msg:\"la\"; http.uri; "
	"pcre:\"/\\/admin(?!\\.php)/\"; sid:12;)",
	/* negated pcre */
	"alert http any any -> any any (msg:\"np\"; http.uri; content:\"/n/\"; "
	"pcre:!\"/secret/\"; sid:13;)",
	/* within: the first "x" fails, the retry at the next one matches */
	"alert http any any -> any any (msg:\"w\"; http.uri; content:\"/w\"; "
	"content:\"x\"; content:\"y\"; within:2; sid:14;)",
	/* a negated relative content with distance only: Suricata retries
	 * the "a" before it (RELATIVE_NEXT; suricata-verify UriTestSig21) */
	"alert http any any -> any any (msg:\"nd\"; http.uri; "
	"content:\"/d\"; content:\"a\"; content:!\"b\"; distance:0; sid:15;)",
	"alert http any any -> any any (msg:\"ia\"; http.uri; content:\"/i\"; "
	"isdataat:3,relative; sid:16;)",
	"alert http any any -> any any (msg:\"ni\"; http.uri; content:\"/j\"; "
	"isdataat:!1,relative; sid:17;)",
	"alert http any any -> any any (msg:\"bs\"; http.uri; content:\"/b\"; "
	"bsize:<5; sid:18;)",
	"alert http any any -> any any (msg:\"ul\"; urilen:4<>7; http.uri; "
	"content:\"/u\"; startswith; sid:19;)",
	"alert http any any -> any any (msg:\"bt\"; http.header; "
	"content:\"X-N: \"; byte_test:3,>,100,0,relative,string,dec; "
	"sid:20;)",
	"alert http any any -> any any (msg:\"nbt\"; http.header; "
	"content:\"X-F: \"; byte_test:1,!&,0x01,0,relative; sid:21;)",
	"alert http any any -> any any (msg:\"bj\"; http.uri; content:\"/k\"; "
	"byte_jump:1,0,relative,string,dec; content:\"Z\"; within:1; "
	"sid:22;)",
	"alert http any any -> any any (msg:\"bd\"; http.uri; "
	"content:\"/p\"; http.request_body; content:\"user=\"; "
	"content:\"admin\"; distance:0; within:5; sid:23;)",
	"alert http any any -> any any (msg:\"nc\"; http.uri; "
	"content:\"/c\"; http.cookie; content:!\"session\"; sid:24;)",
	"alert http any any -> any any (msg:\"pb\"; http.uri; "
	"content:\"/q\"; pcre:\"/^x=(\\d+)&y=\\1$/P\"; sid:25;)",
	/* 0 bytes with string: every digit from there (ET's content_len
	 * tests); a number past 64 bits is no number */
	"alert http any any -> any any (msg:\"bw\"; http.header; "
	"content:\"X-L: \"; byte_test:0,>,4000,0,relative,string,dec; "
	"sid:26;)",
	/* strings read as strtoull reads them: blanks, a sign, 0x */
	"alert http any any -> any any (msg:\"bs\"; http.header; "
	"content:\"X-S: \"; byte_test:4,>,100,0,relative,string,dec; "
	"sid:27;)",
	"alert http any any -> any any (msg:\"bx\"; http.header; "
	"content:\"X-H: \"; byte_test:4,=,31,0,relative,string,hex; "
	"sid:28;)",
	/* byte_jump as Suricata's: from after the characters the number
	 * took; before the buffer lands on its start; to its very end is
	 * a jump */
	"alert http any any -> any any (msg:\"jx\"; http.uri; "
	"content:\"/j/\"; byte_jump:3,0,relative,string,dec; "
	"content:\"Z\"; within:1; sid:29;)",
	"alert http any any -> any any (msg:\"jb\"; http.uri; "
	"content:\"/b4/\"; byte_jump:1,0,relative,from_beginning,"
	"post_offset -200; content:\"/b4/\"; within:4; sid:30;)",
	"alert http any any -> any any (msg:\"je\"; http.uri; "
	"content:\"/e/\"; byte_jump:1,0,relative,string,dec; "
	"isdataat:!1,relative; sid:31;)",
	/* string with no base: strtoull's base 0, as Suricata's */
	"alert http any any -> any any (msg:\"b0\"; http.header; "
	"content:\"X-A: \"; byte_test:4,=,31,0,relative,string; sid:32;)",
	NULL,
};

static const struct kw_case kw_cases[] = {
	{ 10, "/abbc", NULL, NULL, NULL, 1 },
	{ 10, "/axbbc", NULL, NULL, NULL, 0 },
	{ 11, "/x?ab=ab", NULL, NULL, NULL, 1 },
	{ 11, "/x?ab=cd", NULL, NULL, NULL, 0 },
	{ 12, "/admin.html", NULL, NULL, NULL, 1 },
	{ 12, "/admin.php", NULL, NULL, NULL, 0 },
	{ 13, "/n/open", NULL, NULL, NULL, 1 },
	{ 13, "/n/secret", NULL, NULL, NULL, 0 },
	{ 14, "/wxaaxy", NULL, NULL, NULL, 1 },
	{ 14, "/wxaay", NULL, NULL, NULL, 0 },
	{ 15, "/da--", NULL, NULL, NULL, 1 },
	{ 15, "/da-b-a", NULL, NULL, NULL, 1 },
	{ 15, "/da-b-ab", NULL, NULL, NULL, 0 },
	{ 16, "/iabc", NULL, NULL, NULL, 1 },
	{ 16, "/iab", NULL, NULL, NULL, 0 },
	{ 17, "/j", NULL, NULL, NULL, 1 },
	{ 17, "/jx", NULL, NULL, NULL, 0 },
	{ 18, "/b12", NULL, NULL, NULL, 1 },
	{ 18, "/b123", NULL, NULL, NULL, 0 },
	{ 19, "/u345", NULL, NULL, NULL, 1 },
	{ 19, "/u34567", NULL, NULL, NULL, 0 },
	{ 20, "/", "X-N: 150\r\n", NULL, NULL, 1 },
	{ 20, "/", "X-N: 050\r\n", NULL, NULL, 0 },
	{ 21, "/", "X-F: \x02\r\n", NULL, NULL, 1 },
	{ 21, "/", "X-F: \x03\r\n", NULL, NULL, 0 },
	{ 22, "/k2abZ", NULL, NULL, NULL, 1 },
	{ 22, "/k2aZb", NULL, NULL, NULL, 0 },
	{ 23, "/p", NULL, NULL, "user=admin", 1 },
	{ 23, "/p", NULL, NULL, "user=xxxxxadmin", 0 },
	{ 24, "/c", NULL, "a=b", NULL, 1 },
	{ 24, "/c", NULL, NULL, NULL, 0 },   /* no cookie: no buffer */
	{ 24, "/c", NULL, "session=1", NULL, 0 },
	{ 25, "/q", NULL, NULL, "x=42&y=42", 1 },
	{ 25, "/q", NULL, NULL, "x=42&y=43", 0 },
	{ 26, "/", "X-L: 40001\r\n", NULL, NULL, 1 },
	{ 26, "/", "X-L: 4000\r\n", NULL, NULL, 0 },
	{ 26, "/", "X-L: 99999999999999999999\r\n", NULL, NULL, 0 },
	{ 27, "/", "X-S:  150\r\n", NULL, NULL, 1 },
	{ 27, "/", "X-S: +150\r\n", NULL, NULL, 1 },
	{ 27, "/", "X-S: -150\r\n", NULL, NULL, 1 },     /* wraps: huge */
	{ 27, "/", "X-S:  +50\r\n", NULL, NULL, 0 },
	{ 27, "/", "X-S:    1\r\n", NULL, NULL, 0 },
	{ 28, "/", "X-H: 0x1f\r\n", NULL, NULL, 1 },
	{ 28, "/", "X-H: 001f\r\n", NULL, NULL, 1 },
	{ 28, "/", "X-H: 0xzz\r\n", NULL, NULL, 0 },     /* 0, then x */
	{ 29, "/j/ 2abZ", NULL, NULL, NULL, 1 },
	{ 29, "/j/ 2aZb", NULL, NULL, NULL, 0 },
	{ 30, "/b4/x", NULL, NULL, NULL, 1 },
	{ 31, "/e/1x", NULL, NULL, NULL, 1 },
	{ 31, "/e/1xy", NULL, NULL, NULL, 0 },
	{ 32, "/", "X-A: 0x1f\r\n", NULL, NULL, 1 },
	{ 32, "/", "X-A: 0037\r\n", NULL, NULL, 1 },    /* octal */
	{ 32, "/", "X-A: 31\r\n", NULL, NULL, 1 },
	{ 32, "/", "X-A: 0031\r\n", NULL, NULL, 0 },    /* octal 25 */
	{ 32, "/", "X-A: 0x1g\r\n", NULL, NULL, 0 },
};

static void
test_keywords_match_and_not(void **state)
{
	struct fixture *f = fx_new(kw_rules, 2);

	(void)state;
	for (size_t i = 0; i < sizeof(kw_cases) / sizeof(kw_cases[0]); i++) {
		const struct kw_case *k = &kw_cases[i];

		fx_request(f, k->uri);
		if (k->header != NULL)
			fx_set(f, IPS_BUF_HEADER, k->header);
		f->bufs.ptr[IPS_BUF_COOKIE] = NULL;
		if (k->cookie != NULL)
			fx_set(f, IPS_BUF_COOKIE, k->cookie);
		detect_txn_begin(f->dw, &f->dt);
		detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
		if (k->body != NULL)
			detect_body(f->dw, &f->dt, (const uint8_t *)k->body,
			            (uint32_t)strlen(k->body), &f->bufs, &f->t,
			            &f->res);
		detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
		if (fired_sid(f, k->sid) != k->hit)
			fail_msg("case %zu: sid %u on uri '%s': want %s", i,
			         k->sid, k->uri, k->hit ? "a match" : "none");
		if (f->res.n_fired > (unsigned)k->hit)
			fail_msg("case %zu: %u rules fired, sid %u first", i,
			         f->res.n_fired, f->res.fired[0].sid);
		assert_int_equal(f->res.faults, 0);
	}
	assert_int_equal(detect_raw_in_use(f->dw), 0);
	fx_free(f);
}

/* flowbits: bits of the flow, set by one transaction's match, seen by a
 * later transaction of the same flow (and by a later rule of the same
 * one: setters are ordered first); noalert rules act without alerting;
 * unset, toggle and isnotset; another flow has its own bits. */
static void
test_flowbits(void **state)
{
	static const char *const rules[] = {
		/* the checker is written first: ordering puts setters ahead */
		"alert http any any -> any any (msg:\"chk\"; http.uri; "
		"content:\"/two\"; flowbits:isset,login|other; sid:2;)",
		"alert http any any -> any any (msg:\"set\"; http.uri; "
		"content:\"/login\"; flowbits:set,login; flowbits:noalert; "
		"sid:1;)",
		"alert http any any -> any any (msg:\"not\"; http.uri; "
		"content:\"/three\"; flowbits:isnotset,login; sid:3;)",
		"alert http any any -> any any (msg:\"off\"; http.uri; "
		"content:\"/logout\"; flowbits:unset,login; flowbits:noalert; "
		"sid:4;)",
		"alert http any any -> any any (msg:\"tog\"; http.uri; "
		"content:\"/flip\"; flowbits:toggle,login; flowbits:noalert; "
		"sid:5;)",
		"alert http any any -> any any (msg:\"same\"; http.uri; "
		"content:\"/login/two\"; flowbits:isset,login; sid:6;)",
		NULL,
	};
	struct fixture *f = fx_new(rules, 0);
	uint64_t bits[DETECT_FLOWBITS_WORDS] = { 0 }, other[2] = { 0 };

	(void)state;
	f->t.flowbits = bits;
	fx_request(f, "/two");
	assert_int_equal(fx_txn(f), DETECT_NONE);       /* not set yet */
	fx_request(f, "/three");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_true(fired_sid(f, 3));
	fx_request(f, "/login");
	assert_int_equal(fx_txn(f), DETECT_NONE);       /* noalert */
	assert_int_equal(f->res.n_fired, 0);
	fx_request(f, "/two");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_true(fired_sid(f, 2));
	fx_request(f, "/three");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	f->t.flowbits = other;                          /* another flow */
	fx_request(f, "/two");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	f->t.flowbits = bits;
	fx_request(f, "/logout");
	fx_txn(f);
	fx_request(f, "/two");
	assert_int_equal(fx_txn(f), DETECT_NONE);
	fx_request(f, "/flip");
	fx_txn(f);
	fx_request(f, "/two");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	/* set and tested within one transaction */
	memset(bits, 0, sizeof(bits));
	fx_request(f, "/login/two");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_true(fired_sid(f, 6));
	assert_true(fired_sid(f, 2));
	fx_free(f);
}

/* xbits: a bit one worker's match sets on a host (ip_src, ip_dst) or an
 * address pair holds for another worker's flows of that host or pair,
 * until its expiry; unset on either worker hides it; without a shared
 * store nothing is kept. */
static void
test_xbits_across_workers(void **state)
{
	static const char *const rules[] = {
		"alert http any any -> any any (msg:\"admin\"; http.uri; "
		"content:\"/admin\"; xbits:isset,ET.auth,track ip_src; sid:2;)",
		"alert http any any -> any any (msg:\"login\"; http.uri; "
		"content:\"/login\"; xbits:set,ET.auth,track ip_src,expire 30; "
		"noalert; sid:1;)",
		"alert http any any -> any any (msg:\"out\"; http.uri; "
		"content:\"/logout\"; xbits:unset,ET.auth,track ip_src; "
		"noalert; sid:3;)",
		"alert http any any -> any any (msg:\"anon\"; http.uri; "
		"content:\"/anon\"; xbits:isnotset,ET.auth,track ip_src; "
		"sid:4;)",
		"alert http any any -> any any (msg:\"mark\"; http.uri; "
		"content:\"/victim\"; xbits:set,ET.v,track ip_dst; noalert; "
		"sid:5;)",
		"alert http any any -> any any (msg:\"dst\"; http.uri; "
		"content:\"/dst\"; xbits:isset,ET.v,track ip_dst; sid:6;)",
		"alert http any any -> any any (msg:\"pair\"; http.uri; "
		"content:\"/pair\"; xbits:set,ET.p,track ip_pair; noalert; "
		"sid:7;)",
		"alert http any any -> any any (msg:\"pairchk\"; http.uri; "
		"content:\"/chk\"; xbits:isset,ET.p,track ip_pair; sid:8;)",
		/* a response rule's ip_src is the server */
		"alert http any any -> any any (msg:\"srv\"; http.stat_code; "
		"content:\"500\"; xbits:set,ET.srv,track ip_src; noalert; "
		"sid:9;)",
		"alert http any any -> any any (msg:\"tosrv\"; http.uri; "
		"content:\"/tosrv\"; xbits:isset,ET.srv,track ip_dst; sid:10;)",
		"alert http any any -> any any (msg:\"fromcl\"; http.uri; "
		"content:\"/fromcl\"; xbits:isset,ET.srv,track ip_src; "
		"sid:11;)",
		/* the tester first: the setter is ordered ahead of it */
		"alert http any any -> any any (msg:\"both\"; http.uri; "
		"content:\"/both\"; xbits:isset,ET.b,track ip_src; sid:12;)",
		"alert http any any -> any any (msg:\"bset\"; http.uri; "
		"content:\"/both\"; xbits:set,ET.b,track ip_src; noalert; "
		"sid:13;)",
		NULL,
	};
	struct fixture *w0 = fx_new(rules, 0), *w1 = fx_new(rules, 0);
	struct fixture *alone = fx_new(rules, 0);
	struct xbits *x = xbits_create(2, 64, 1);
	uint8_t client_a[16], client_b[16], server_x[16], server_y[16];

	(void)state;
	detect_worker_share_xbits(w0->dw, x, 0);
	detect_worker_share_xbits(w1->dw, x, 1);
	memcpy(client_a, w0->t.src, 16);
	memcpy(server_x, w0->t.dst, 16);
	memcpy(client_b, client_a, 16);
	client_b[15] ^= 1;
	memcpy(server_y, server_x, 16);
	server_y[15] ^= 1;
	assert_int_equal(fx_get(w1, "/admin"), DETECT_NONE);
	assert_int_equal(fx_get(w0, "/login"), DETECT_NONE);      /* noalert */
	assert_int_equal(fx_get(w1, "/admin"), DETECT_ALERT);
	assert_true(fired_sid(w1, 2));
	/* until the expiry's second ends: set at 0 s for 30 s */
	w1->t.now_ms = 30999;
	assert_int_equal(fx_get(w1, "/admin"), DETECT_ALERT);
	w1->t.now_ms = 31000;
	assert_int_equal(fx_get(w1, "/admin"), DETECT_NONE);
	w1->t.now_ms = 0;
	memcpy(w1->t.src, client_b, 16);                /* another client */
	assert_int_equal(fx_get(w1, "/admin"), DETECT_NONE);
	memcpy(w1->t.src, client_a, 16);
	fx_get(w1, "/logout");
	assert_int_equal(fx_get(w0, "/admin"), DETECT_NONE);
	assert_int_equal(fx_get(w0, "/anon"), DETECT_ALERT);
	/* ip_dst: one client marks the server, another's request to it is
	 * seen; a request to another server is not */
	fx_get(w0, "/victim");
	memcpy(w1->t.src, client_b, 16);
	assert_int_equal(fx_get(w1, "/dst"), DETECT_ALERT);
	memcpy(w1->t.dst, server_y, 16);
	assert_int_equal(fx_get(w1, "/dst"), DETECT_NONE);
	/* ip_pair: the pair, not either host */
	memcpy(w1->t.src, client_a, 16);
	memcpy(w1->t.dst, server_x, 16);
	fx_get(w0, "/pair");
	assert_int_equal(fx_get(w1, "/chk"), DETECT_ALERT);
	memcpy(w1->t.dst, server_y, 16);
	assert_int_equal(fx_get(w1, "/chk"), DETECT_NONE);
	/* the server's response marks the server: ip_dst of requests to
	 * it, not the client's ip_src */
	memcpy(w1->t.dst, server_x, 16);
	fx_response(w0, "500", NULL);
	assert_int_equal(fx_get(w1, "/tosrv"), DETECT_ALERT);
	assert_true(fired_sid(w1, 10));
	assert_int_equal(fx_get(w1, "/fromcl"), DETECT_NONE);
	/* set and tested in one transaction */
	assert_int_equal(fx_get(w0, "/both"), DETECT_ALERT);
	assert_true(fired_sid(w0, 12));
	/* a worker without the store keeps nothing */
	fx_get(alone, "/login");
	assert_int_equal(fx_get(alone, "/admin"), DETECT_NONE);
	assert_int_equal(w0->ws.detect_xbits_evicted, 0);
	fx_free(w0);
	fx_free(w1);
	fx_free(alone);
	xbits_free(x);
}

/* threshold limit / threshold / both and detection_filter, per tracked
 * address, in windows of packet time; a suppressed drop does not drop. */
static void
test_threshold(void **state)
{
	static const char *const rules[] = {
		"drop http any any -> any any (msg:\"lim\"; http.uri; "
		"content:\"/lim\"; threshold:type limit, track by_src, "
		"count 2, seconds 10; sid:1;)",
		"alert http any any -> any any (msg:\"thr\"; http.uri; "
		"content:\"/thr\"; threshold:type threshold, track by_src, "
		"count 3, seconds 10; sid:2;)",
		"alert http any any -> any any (msg:\"both\"; http.uri; "
		"content:\"/both\"; threshold:type both, track by_dst, "
		"count 2, seconds 10; sid:3;)",
		"alert http any any -> any any (msg:\"df\"; http.uri; "
		"content:\"/df\"; detection_filter:track by_src, count 2, "
		"seconds 10; sid:4;)",
		NULL,
	};
	static const struct { const char *uri; uint64_t ms; int src; int hit; }
	steps[] = {
		{ "/lim", 0, 1, 1 }, { "/lim", 1, 1, 1 }, { "/lim", 2, 1, 0 },
		{ "/lim", 3, 2, 1 },            /* another source */
		{ "/lim", 10000, 1, 1 },        /* a new window */
		{ "/thr", 0, 1, 0 }, { "/thr", 1, 1, 0 }, { "/thr", 2, 1, 1 },
		{ "/thr", 3, 1, 0 }, { "/thr", 4, 1, 0 }, { "/thr", 5, 1, 1 },
		{ "/both", 0, 1, 0 }, { "/both", 1, 1, 1 }, { "/both", 2, 1, 0 },
		{ "/both", 20000, 1, 0 }, { "/both", 20001, 1, 1 },
		{ "/df", 0, 1, 0 }, { "/df", 1, 1, 0 }, { "/df", 2, 1, 1 },
		{ "/df", 3, 1, 1 }, { "/df", 10002, 1, 0 },
	};
	struct fixture *f = fx_new(rules, 0);

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int v;

		f->t.now_ms = steps[i].ms;
		f->t.src[15] = (uint8_t)steps[i].src;
		fx_request(f, steps[i].uri);
		v = fx_txn(f);
		if ((f->res.n_fired == 1) != steps[i].hit)
			fail_msg("step %zu (%s at %llu ms): want %s", i,
			         steps[i].uri, (unsigned long long)steps[i].ms,
			         steps[i].hit ? "an alert" : "none");
		if (!steps[i].hit)
			assert_int_equal(v, DETECT_NONE);
	}
	assert_int_equal(f->ws.detect_threshold_suppressed, 11);
	fx_free(f);
}

/* A reload: a second db's set published to the worker.  New transactions
 * start on it after the worker syncs; one begun before finishes on the
 * old rules; the old set becomes idle only when that one has ended; hits
 * are counted per set. */
static void
test_reload_transaction_keeps_its_rules(void **state)
{
	static const char *const alert[] = {
		"alert http any any -> any any (msg:\"a\"; http.uri; "
		"content:\"/evil\"; sid:1; rev:1;)",
		NULL,
	};
	static const char *const drop[] = {
		"drop http any any -> any any (msg:\"d\"; http.uri; "
		"content:\"/evil\"; sid:1; rev:2;)",
		NULL,
	};
	struct fixture *f = fx_new(alert, 2);
	struct fixture *g = fx_new(drop, 2);    /* only for its db */
	struct detect_set *old = detect_set_current(f->dw), *nxt;
	struct detect_txn straddle = { 0 };
	char err[256];

	(void)state;
	fx_request(f, "/evil");
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_int_equal(detect_set_hits(old, 0), 1);

	nxt = detect_set_create(f->dw, g->db, err, sizeof(err));
	assert_non_null(nxt);
	detect_txn_begin(f->dw, &straddle);     /* before the publish */
	detect_set_publish(f->dw, nxt);
	/* published, not yet taken up: still the old rules */
	assert_ptr_equal(detect_set_current(f->dw), old);
	assert_int_equal(fx_txn(f), DETECT_ALERT);
	assert_false(detect_set_idle(f->dw, old));
	detect_worker_sync(f->dw);
	assert_ptr_equal(detect_set_current(f->dw), nxt);
	assert_int_equal(fx_txn(f), DETECT_DROP);
	/* the straddling transaction is judged by the rules it began on */
	assert_false(detect_set_idle(f->dw, old));
	assert_int_equal(detect_headers(f->dw, &straddle, &f->bufs, &f->t,
	                                &f->res), DETECT_ALERT);
	detect_txn_end(f->dw, &straddle, &f->bufs, &f->t, &f->res);
	assert_true(detect_set_idle(f->dw, old));
	assert_int_equal(detect_set_hits(old, 0), 3);
	assert_int_equal(detect_set_hits(nxt, 0), 1);
	assert_ptr_equal(detect_set_db(nxt), g->db);
	detect_set_free(old);                   /* the reloader's job */
	fx_free(f);                             /* frees nxt, the current */
	ips_detect_db_free(g->db);
	g->db = NULL;
	detect_worker_free(g->dw);
	free(g);
}

/* Reloading from rules with a body condition to rules without any: a
 * transaction begun on the first still has its body inspected. */
static void
test_reload_body_rules_outlive_their_set(void **state)
{
	static const char *const body[] = {
		"drop http any any -> any any (msg:\"b\"; http.request_body; "
		"content:\"evil\"; sid:1;)",
		NULL,
	};
	static const char *const uri[] = {
		"alert http any any -> any any (msg:\"u\"; http.uri; "
		"content:\"/x\"; sid:2;)",
		NULL,
	};
	struct fixture *f = fx_new(body, 2);
	struct fixture *g = fx_new(uri, 2);
	struct detect_set *old = detect_set_current(f->dw), *nxt;
	char err[256];

	(void)state;
	fx_request(f, "/");
	detect_txn_begin(f->dw, &f->dt);
	detect_headers(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	nxt = detect_set_create(f->dw, g->db, err, sizeof(err));
	assert_non_null(nxt);
	detect_set_publish(f->dw, nxt);
	detect_worker_sync(f->dw);
	assert_true(detect_wants_body(f->dw));  /* for the one in progress */
	assert_int_equal(detect_body(f->dw, &f->dt, (const uint8_t *)"an evil "
	                             "body", 13, &f->bufs, &f->t, &f->res),
	                 DETECT_DROP);
	detect_txn_end(f->dw, &f->dt, &f->bufs, &f->t, &f->res);
	assert_false(detect_wants_body(f->dw));
	assert_true(detect_set_idle(f->dw, old));
	detect_set_free(old);
	fx_free(f);
	ips_detect_db_free(g->db);
	g->db = NULL;
	detect_worker_free(g->dw);
	free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_per_buffer),
		cmocka_unit_test(test_nocase),
		cmocka_unit_test(test_depth_offset),
		cmocka_unit_test(test_negation),
		cmocka_unit_test(test_request_line_stage),
		cmocka_unit_test(test_request_line_then_flowbit),
		cmocka_unit_test(test_pcre),
		cmocka_unit_test(test_multi_buffer_conjunction),
		cmocka_unit_test(test_body_split),
		cmocka_unit_test(test_negated_body_at_end),
		cmocka_unit_test(test_response_rules),
		cmocka_unit_test(test_body_word_boundary_progressive),
		cmocka_unit_test(test_pass_hides_drop),
		cmocka_unit_test(test_fires_once),
		cmocka_unit_test(test_tuple_constraints),
		cmocka_unit_test(test_stream_pool_exhaustion),
		cmocka_unit_test(test_stream_pool_evicts_stalled),
		cmocka_unit_test(test_reload_transaction_keeps_its_rules),
		cmocka_unit_test(test_reload_body_rules_outlive_their_set),
		cmocka_unit_test(test_result_fields_and_strongest),
		cmocka_unit_test(test_many_header_matches),
		cmocka_unit_test(test_match_overflow_fails_closed),
		cmocka_unit_test(test_distance_within),
		cmocka_unit_test(test_inspect_recursion_limit_is_fault),
		cmocka_unit_test(test_keywords_match_and_not),
		cmocka_unit_test(test_flowbits),
		cmocka_unit_test(test_xbits_across_workers),
		cmocka_unit_test(test_body_number_waits_for_the_end),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_raw_split_across_segments),
		cmocka_unit_test(test_raw_window),
		cmocka_unit_test(test_raw_depth_offset),
		cmocka_unit_test(test_raw_header_and_conjunction),
		cmocka_unit_test(test_raw_pool_full),
		cmocka_unit_test(test_raw_not_wanted),
		cmocka_unit_test(test_raw_server_direction),
		cmocka_unit_test(test_raw_server_not_wanted),
		cmocka_unit_test(test_tls_certs_match_and_not),
		cmocka_unit_test(test_tls_certs_multi_buffer),
		cmocka_unit_test(test_tls_cert_names),
		cmocka_unit_test(test_tls_sni),
		cmocka_unit_test(test_tls_version),
		cmocka_unit_test(test_both_sides_twin),
		cmocka_unit_test(test_tls_certs_header_and_isolation),
		cmocka_unit_test(test_tls_certs_pool_and_truncation),
		cmocka_unit_test(test_tls_not_wanted),
		cmocka_unit_test(test_scan_error_is_fault),
	};

	return cmocka_run_group_tests_name("detect", tests, NULL, NULL);
}
