/*
 * fuzz_http.c - libFuzzer harness for the HTTP request parser (http.c),
 * driving the real detect stage with a small rule set.
 *
 * Input: byte 0 picks the policy (drop_ambiguous, drop_malformed) and,
 * with bit 2, a header limit above the transaction's small arena (heads
 * that move into a large arena, and ones too long for it), byte 1
 * where to cut, byte 2 where the rest splits into a client stream and a
 * server stream.  Each flow gets the client stream, then the server
 * stream (response framing, tunnels), then the client stream again (what
 * the client sends once the server answered).  This is done twice to
 * fresh flows: every part whole, then every part in two pieces cut at the
 * same proportion.  Besides the
 * sanitizers, the harness checks what the parser promises: the outcome
 * (every HTTP counter, the verdict, the rules fired, the result code,
 * requests completed) does not depend on where the stream was cut (body
 * bytes after a drop, the request line's alert before a policy stop
 * excepted), and no transaction is left
 * taken once the flow is released.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "http.h"
#include "ips/detect_db.h"
#include "ips/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_rules[] = {
	"alert http any any -> any any (msg:\"uri\"; flow:to_server; "
	"http.uri; content:\"/a\"; sid:1; rev:1;)",
	"drop http any any -> any any (msg:\"body\"; flow:to_server; "
	"http.request_body; content:\"evil\"; sid:2; rev:1;)",
	"alert http any any -> any any (msg:\"host\"; flow:to_server; "
	"http.host; content:\"x\"; http.header; content:\"X-\"; sid:3; rev:1;)",
	"reject http any any -> any any (msg:\"cookie\"; flow:to_server; "
	"http.cookie; content:\"zz\"; sid:4; rev:1;)",
	/* responses: status code, and a body inflated when coded */
	"drop http any any -> any any (msg:\"resp\"; http.stat_code; "
	"content:\"200\"; file_data; content:\"<script\"; "
	"pcre:\"/^[a-z]+/R\"; sid:5; rev:1;)",
	/* numbers read from strings, to the buffer's end too */
	"alert http any any -> any any (msg:\"num\"; flow:to_server; "
	"http.header; content:\"X-N:\"; byte_test:4,>,100,0,relative,"
	"string,dec; byte_jump:2,0,relative,string,hex; sid:6; rev:1;)",
	"alert http any any -> any any (msg:\"len\"; flow:to_server; "
	"http.content_len; byte_test:0,>,4000,0,string,dec; sid:7; rev:1;)",
};

static struct worker_stats fuzz_ws;
static struct detect_worker *fuzz_dw;
static struct http_worker *fuzz_hw[8];

static void
fuzz_http_init(void)
{
	struct ips_ruleset rs = { 0 };
	struct ips_detect_db *db;
	char err[IPS_ERRBUF_SIZE];

	for (size_t i = 0; i < sizeof(fuzz_rules) / sizeof(fuzz_rules[0]); i++) {
		if (ips_rule_parse_line(&rs, fuzz_rules[i], "fuzz", (uint32_t)i + 1,
		                        NULL, err, sizeof(err)) != 1) {
			fprintf(stderr, "fuzz_http: rule %zu: %s\n", i, err);
			abort();
		}
	}
	db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "fuzz_http: compile: %s\n", err);
		abort();
	}
	static const struct detect_pools pools = {
		.body_streams = 2, .response_bodies = 2, .raw_streams = 2,
		.raw_windows = 2 };

	fuzz_dw = detect_worker_create(db, &pools, &fuzz_ws, err, sizeof(err));
	if (fuzz_dw == NULL) {
		fprintf(stderr, "fuzz_http: detect worker: %s\n", err);
		abort();
	}
	for (unsigned p = 0; p < 8; p++) {
		/* small limits so that too-long heads and a full pool happen */
		struct http_conf conf = { 2, (p & 4) ? 4096 : 256,
		                          (uint8_t)(p & 1), (uint8_t)((p >> 1) & 1),
		                          0, 1 };

		conf.max_responses = 2;
		conf.max_decoders = 2;
		conf.body_limit = 1024;
		fuzz_hw[p] = http_worker_create(&conf, fuzz_dw, &fuzz_ws);
		if (fuzz_hw[p] == NULL)
			abort();
	}
}

struct fuzz_outcome {
#define FUZZ_HTTP_FIELD(name) uint64_t name;
	IPS_COUNTERS_HTTP(FUZZ_HTTP_FIELD)
#undef FUZZ_HTTP_FIELD
	int rc;
	uint8_t verdict;
	uint16_t n_requests;
	uint32_t sids;              /* 1 << sid of each rule that fired */
};

/* The rule on the request line alone (sid 1): decided when a piece ends
 * inside a head whose line is complete. */
#define FUZZ_LINE_SID (1u << 1)

/* Feed one direction's bytes in two pieces, cut at cut/255 of them; keep
 * the first result that is not HTTP_CONTINUE in o->rc. */
static void
fuzz_http_feed(struct http_worker *hw, struct http_flow *hf, int to_server,
               const uint8_t *p, size_t len, unsigned cut,
               struct detect_result *res, struct fuzz_outcome *o)
{
	static const struct detect_tuple t = { .sport = 40000, .dport = 80,
	                                       .ip_version = 4 };
	size_t at = len * cut / 255;
	size_t pieces[2][2] = { { 0, at }, { at, len - at } };

	for (int i = 0; i < 2; i++) {
		int rc;

		if (pieces[i][1] == 0)
			continue;
		rc = to_server
		     ? http_request_data(hw, hf, p + pieces[i][0],
		                         (uint32_t)pieces[i][1], &t, res)
		     : http_response_data(hw, hf, p + pieces[i][0],
		                          (uint32_t)pieces[i][1], &t, res);
		if (o->rc == HTTP_CONTINUE)
			o->rc = rc;
	}
}

static void
fuzz_http_run(struct http_worker *hw, const uint8_t *p, size_t len,
              size_t split, unsigned cut, struct fuzz_outcome *o)
{
	struct http_flow hf = { 0 };
	struct detect_result res;

	memset(&res, 0, sizeof(res));
	memset(&fuzz_ws, 0, sizeof(fuzz_ws));
	o->rc = HTTP_CONTINUE;
	fuzz_http_feed(hw, &hf, 1, p, split, cut, &res, o);
	fuzz_http_feed(hw, &hf, 0, p + split, len - split, cut, &res, o);
	fuzz_http_feed(hw, &hf, 1, p, split, cut, &res, o);
	o->verdict = res.verdict;
	o->n_requests = hf.n_requests;
	o->sids = 0;
	for (unsigned i = 0; i < res.n_fired; i++)
		o->sids |= 1u << (res.fired[i].sid & 31);
	if (hf.txn == NULL && http_txns_in_use(hw) != 0)
		abort();
	http_flow_release(hw, &hf);
	if (http_txns_in_use(hw) != 0 || http_header_arenas_in_use(hw) != 0)
		abort();
#define FUZZ_HTTP_COPY(name) o->name = fuzz_ws.name;
	IPS_COUNTERS_HTTP(FUZZ_HTTP_COPY)
#undef FUZZ_HTTP_COPY
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_outcome whole, split;
	struct http_worker *hw;
	size_t len, srv;
	unsigned cut;

	if (size < 3)
		return 0;
	if (fuzz_dw == NULL)
		fuzz_http_init();
	hw = fuzz_hw[data[0] & 7];
	cut = data[1];
	len = size - 3;
	srv = len * data[2] / 255;
	memset(&whole, 0, sizeof(whole));
	memset(&split, 0, sizeof(split));
	fuzz_http_run(hw, data + 3, len, srv, 255, &whole);
	fuzz_http_run(hw, data + 3, len, srv, cut, &split);
	/* A body rule fires at the end of the piece it matched in (a coded
	 * body: of the piece decoded from it), so how many body bytes went
	 * to detection before the drop, and whether the body limit or a
	 * decoding error was met by then, depends on the pieces; everything
	 * else must not. */
	if (whole.verdict >= DETECT_DROP) {
		whole.http_body_bytes = split.http_body_bytes;
		whole.http_body_limit_reached = split.http_body_limit_reached;
		whole.http_decode_error = split.http_decode_error;
	}
	/* A piece ending inside a head with its line complete decides the
	 * request line's rule there (as Suricata does at that progress);
	 * whole, the same head may be stopped by a policy before it ends,
	 * its rules never decided.  Only that alert may differ. */
	if (whole.rc != HTTP_CONTINUE && split.rc == whole.rc &&
	    (split.sids & ~whole.sids) == FUZZ_LINE_SID &&
	    split.verdict == DETECT_ALERT && whole.verdict <= DETECT_ALERT) {
		whole.sids = split.sids;
		whole.verdict = split.verdict;
	}
	if (memcmp(&whole, &split, sizeof(whole)) != 0) {
		fprintf(stderr, "fuzz_http: outcome depends on the cut at %u:"
		        " rc %d/%d verdict %u/%u requests %u/%u\n", cut, whole.rc,
		        split.rc, whole.verdict, split.verdict, whole.n_requests,
		        split.n_requests);
#define FUZZ_HTTP_DIFF(name) if (whole.name != split.name) \
	fprintf(stderr, "  %s %lu/%lu\n", #name, (unsigned long)whole.name, \
	        (unsigned long)split.name);
		IPS_COUNTERS_HTTP(FUZZ_HTTP_DIFF)
#undef FUZZ_HTTP_DIFF
		abort();
	}
	return 0;
}
