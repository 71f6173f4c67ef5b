/*
 * test_rule_parse.c - unit tests for control/rule_parse.c: every supported
 * rule form parses to the right fields, every error names the right
 * file:line:col, and the tuple match honours the header.
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

#include <hs/hs.h>

#include "ips/detect_db.h"
#include "ips/rules.h"

static const struct ips_rule_var test_vars[] = {
	{ "HOME_NET", "[192.0.2.0/24,2001:db8::/32]" },
	{ "EXTERNAL_NET", "!$HOME_NET" },
	{ "HTTP_PORTS", "[80,8080:8090]" },
	{ "LOOP", "$LOOP" },
};
static const struct ips_parse_opts test_opts = { test_vars, 4, NULL };

static char errbuf[IPS_ERRBUF_SIZE];

static int
parse(struct ips_ruleset *rs, const char *text)
{
	errbuf[0] = '\0';
	return ips_rule_parse_line(rs, text, "t.rules", 7, &test_opts, errbuf,
	                           sizeof(errbuf));
}

/* Parses into a fresh set and returns its only rule (set freed by caller). */
static const struct ips_rule *
parse_one(struct ips_ruleset *rs, const char *text)
{
	int rc = parse(rs, text);

	if (rc != 1)
		fail_msg("parse failed: %s", errbuf);
	assert_int_equal(rs->n_rules, 1);
	return &rs->rules[0];
}

static void
expect_error(const char *text, const char *msg)
{
	struct ips_ruleset rs = { 0 };

	assert_int_equal(parse(&rs, text), -1);
	assert_int_equal(rs.n_rules, 0);
	if (strcmp(errbuf, msg) != 0)
		fail_msg("for: %s\n  got:  %s\n  want: %s", text, errbuf, msg);
	ips_ruleset_free(&rs);
}

static void
test_basic_fields(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "drop http any any -> any 80 (msg:\"Path "
	              "traversal\"; flow:to_server,established; http.uri; "
	              "content:\"../\"; nocase; classtype:web-application-attack;"
	              " sid:1001; rev:3; metadata:created_at 2024; "
	              "reference:url,example.com;)");
	assert_int_equal(r->action, IPS_ACTION_DROP);
	assert_string_equal(r->msg, "Path traversal");
	assert_int_equal(r->sid, 1001);
	assert_int_equal(r->rev, 3);
	assert_string_equal(r->classtype, "web-application-attack");
	assert_int_equal(r->priority, 1);
	assert_int_equal(r->flow_flags, IPS_FLOW_TO_SERVER | IPS_FLOW_ESTABLISHED);
	assert_int_equal(r->bidirectional, 0);
	assert_int_equal(r->src.n_cidrs, 0);
	assert_int_equal(r->dport.n_ranges, 1);
	assert_int_equal(r->dport.ranges[0].lo, 80);
	assert_int_equal(r->dport.ranges[0].hi, 80);
	assert_int_equal(r->n_conds, 1);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_URI);
	assert_int_equal(r->conds[0].kind, IPS_COND_CONTENT);
	assert_int_equal(r->conds[0].nocase, 1);
	assert_int_equal(r->conds[0].len, 3);
	assert_memory_equal(r->conds[0].bytes, "../", 3);
	assert_string_equal(r->file, "t.rules");
	assert_int_equal(r->line, 7);
	ips_ruleset_free(&rs);
}

static void
test_actions_and_defaults(void **state)
{
	static const char *const acts[] = { "pass", "drop", "reject", "alert" };
	struct ips_ruleset rs = { 0 };
	char line[256];

	(void)state;
	for (int a = 0; a < 4; a++) {
		snprintf(line, sizeof(line), "%s http any any <> any any "
		         "(msg:\"m\"; sid:%d;)", acts[a], a + 1);
		assert_int_equal(parse(&rs, line), 1);
		assert_int_equal(rs.rules[a].action, a);
		assert_int_equal(rs.rules[a].bidirectional, 1);
		assert_int_equal(rs.rules[a].priority, 3);
		assert_int_equal(rs.rules[a].rev, 0);
		assert_null(rs.rules[a].classtype);
		assert_int_equal(rs.rules[a].n_conds, 0);
		assert_string_equal(ips_action_name(a), acts[a]);
	}
	ips_ruleset_free(&rs);
}

/* Suricata's reject variants and the block-page metadata: which ends
 * a reject rule answers, and how the client is answered. */
static void
test_reject_variants(void **state)
{
	static const struct { const char *rule; uint8_t reject; } v[] = {
		{ "reject http any any -> any any (msg:\"m\"; sid:1;)",
		  IPS_REJECT_SERVER | IPS_REJECT_CLIENT },
		{ "rejectboth http any any -> any any (msg:\"m\"; sid:2;)",
		  IPS_REJECT_SERVER | IPS_REJECT_CLIENT | IPS_REJECT_RST },
		{ "rejectsrc http any any -> any any (msg:\"m\"; sid:3;)",
		  IPS_REJECT_CLIENT },
		{ "rejectdst http any any -> any any (msg:\"m\"; sid:4;)",
		  IPS_REJECT_SERVER },
		{ "reject http any any -> any any (msg:\"m\"; metadata: "
		  "created_at 2024, ips_reject_client block_page; sid:5;)",
		  IPS_REJECT_SERVER | IPS_REJECT_CLIENT | IPS_REJECT_PAGE },
		{ "rejectsrc http any any -> any any (msg:\"m\"; metadata: "
		  "ips_reject_client reset; sid:6;)",
		  IPS_REJECT_CLIENT | IPS_REJECT_RST },
		{ "drop http any any -> any any (msg:\"m\"; metadata: a b; "
		  "sid:7;)", 0 },
	};
	struct ips_ruleset rs = { 0 };

	(void)state;
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(parse(&rs, v[i].rule), 1);
		assert_int_equal(rs.rules[i].action, i == 6 ? IPS_ACTION_DROP
		                                            : IPS_ACTION_REJECT);
		if (rs.rules[i].reject != v[i].reject)
			fail_msg("%s: reject %#x, want %#x", v[i].rule,
			         rs.rules[i].reject, v[i].reject);
	}
	ips_ruleset_free(&rs);
	expect_error("rejectdst http any any -> any any (msg:\"m\"; metadata: "
	             "ips_reject_client block_page; sid:1;)",
	             "t.rules:7:55: ips_reject_client: the rule sends the "
	             "client nothing (reject, rejectsrc or rejectboth only)");
	expect_error("alert http any any -> any any (msg:\"m\"; metadata: "
	             "ips_reject_client block_page; sid:1;)",
	             "t.rules:7:51: ips_reject_client: the rule sends the "
	             "client nothing (reject, rejectsrc or rejectboth only)");
	expect_error("reject http any any -> any any (msg:\"m\"; metadata: "
	             "ips_reject_client page; sid:1;)",
	             "t.rules:7:70: ips_reject_client: expected block_page or "
	             "reset, got 'page'");
}

static void
test_all_sticky_buffers(void **state)
{
	struct ips_ruleset rs = { 0 };
	char line[256];

	(void)state;
	for (int b = 0; b < IPS_BUF_HTTP_COUNT; b++) {
		const struct ips_rule *r;

		snprintf(line, sizeof(line), "alert http any any -> any any "
		         "(msg:\"m\"; flow:to_server; %s; content:\"x\"; "
		         "sid:%d;)", ips_buffer_name(b), 100 + b);
		assert_int_equal(parse(&rs, line), 1);
		r = &rs.rules[rs.n_rules - 1];
		assert_int_equal(r->conds[0].buffer, b);
	}
	ips_ruleset_free(&rs);
}

static void
test_legacy_modifiers(void **state)
{
	static const struct { const char *kw; int buf; } mods[] = {
		{ "http_uri", IPS_BUF_URI }, { "http_raw_uri", IPS_BUF_URI_RAW },
		{ "http_method", IPS_BUF_METHOD }, { "http_header", IPS_BUF_HEADER },
		{ "http_cookie", IPS_BUF_COOKIE },
		{ "http_user_agent", IPS_BUF_USER_AGENT },
		{ "http_host", IPS_BUF_HOST },
		{ "http_client_body", IPS_BUF_REQUEST_BODY },
	};
	struct ips_ruleset rs = { 0 };
	char line[256];

	(void)state;
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		snprintf(line, sizeof(line), "alert http any any -> any any "
		         "(msg:\"m\"; flow:to_server; content:\"x\"; nocase; "
		         "%s; sid:%zu;)", mods[i].kw, 200 + i);
		assert_int_equal(parse(&rs, line), 1);
		assert_int_equal(rs.rules[i].conds[0].buffer, mods[i].buf);
		assert_int_equal(rs.rules[i].conds[0].nocase, 1);
	}
	/* a sticky buffer set before still loses to the modifier */
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "http.uri; content:\"a\"; content:\"b\"; http_host; "
	                 "sid:300;)"), 1);
	assert_int_equal(rs.rules[rs.n_rules - 1].conds[0].buffer, IPS_BUF_URI);
	assert_int_equal(rs.rules[rs.n_rules - 1].conds[1].buffer, IPS_BUF_HOST);
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "uricontent:\"/x\"; sid:301;)"), 1);
	assert_int_equal(rs.rules[rs.n_rules - 1].conds[0].buffer, IPS_BUF_URI);
	ips_ruleset_free(&rs);
}

static void
test_hex_and_escapes(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;
	static const uint8_t want[] = { 'a', 0x00, 0x41, 0xff, 'b', '"', ';',
	                                '\\', ':', '|', 'c' };

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"say \\\"hi\\\""
	              "\\; ok\"; http.uri; content:\"a|00 41 FF|b\\\"\\;\\\\\\:"
	              "|7c|c\"; sid:5;)");
	assert_string_equal(r->msg, "say \"hi\"; ok");
	assert_int_equal(r->conds[0].len, sizeof(want));
	assert_memory_equal(r->conds[0].bytes, want, sizeof(want));
	ips_ruleset_free(&rs);
}

static void
test_negation_depth_offset(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; http.uri; "
	              "content:!\"admin\"; content:\"/x\"; offset:2; depth:10; "
	              "fast_pattern; content:\"GET\"; http_method; startswith; "
	              "sid:6;)");
	assert_int_equal(r->n_conds, 3);
	assert_int_equal(r->conds[0].negated, 1);
	assert_int_equal(r->conds[0].offset, 0);
	assert_int_equal(r->conds[1].negated, 0);
	assert_int_equal(r->conds[1].offset, 2);
	assert_int_equal(r->conds[1].depth, 10);
	assert_int_equal(r->conds[2].buffer, IPS_BUF_METHOD);
	assert_int_equal(r->conds[2].depth, 3);
	ips_ruleset_free(&rs);
}

static void
test_distance_within_endswith(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "content:\"/a\"; http_uri; content:\"b\"; distance:-3; "
	              "http_uri; content:\"cd\"; within:10; distance:0; http_uri; "
	              "endswith; sid:1;)");
	assert_int_equal(r->n_conds, 3);
	assert_int_equal(r->conds[0].relative, 0);
	assert_int_equal(r->conds[1].relative, 1);
	assert_int_equal(r->conds[1].distance, -3);
	assert_int_equal(r->conds[1].within, 0);
	assert_int_equal(r->conds[2].relative, 1);
	assert_int_equal(r->conds[2].distance, 0);
	assert_int_equal(r->conds[2].within, 10);
	assert_int_equal(r->conds[2].endswith, 1);
	assert_int_equal(r->conds[2].buffer, IPS_BUF_URI);
	ips_ruleset_free(&rs);
}

static void
test_pcre(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "http.header; pcre:\"/a\\;b[\\\"]+$/ism\"; "
	              "pcre:!\"/evil/Ui\"; pcre:\"/ x y /x\"; sid:7;)");
	assert_int_equal(r->n_conds, 3);
	assert_int_equal(r->conds[0].kind, IPS_COND_PCRE);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_HEADER);
	assert_string_equal((char *)r->conds[0].bytes, "a\\;b[\\\"]+$");
	assert_int_equal(r->conds[0].hs_flags,
	                 HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE);
	assert_int_equal(r->conds[1].negated, 1);
	assert_int_equal(r->conds[1].buffer, IPS_BUF_URI);
	assert_string_equal((char *)r->conds[1].bytes, "evil");
	assert_int_equal(r->conds[0].pcre_opts, IPS_PCRE_CASELESS |
	                 IPS_PCRE_DOTALL | IPS_PCRE_MULTILINE);
	assert_string_equal((char *)r->conds[2].bytes, " x y ");
	assert_int_equal(r->conds[2].len, 5);
	assert_int_equal(r->conds[2].pcre_opts, IPS_PCRE_EXTENDED);
	ips_ruleset_free(&rs);
}

/* pcre R, the buffer flags and the retry flags Suricata's inspection
 * uses; a relative keyword with no sticky buffer takes the buffer of the
 * match it is relative to. */
static void
test_pcre_relative(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "content:\"/a\"; http_uri; pcre:\"/b(c)\\1/RAGE\"; "
	              "content:\"d\"; http_uri; within:4; "
	              "pcre:\"/x/P\"; isdataat:!2,relative; sid:7;)");
	assert_int_equal(r->n_conds, 5);
	assert_int_equal(r->conds[1].kind, IPS_COND_PCRE);
	assert_int_equal(r->conds[1].relative, 1);
	assert_int_equal(r->conds[1].buffer, IPS_BUF_URI);
	assert_int_equal(r->conds[1].pcre_opts, IPS_PCRE_ANCHORED |
	                 IPS_PCRE_UNGREEDY | IPS_PCRE_DOLLAR_END);
	/* the pcre is retried when the within content after it fails, the
	 * content before it when the relative pcre does */
	assert_int_equal(r->conds[1].retry_next, 1);
	assert_int_equal(r->conds[0].retry_next, 1);
	assert_int_equal(r->conds[2].relative, 1);
	assert_int_equal(r->conds[3].buffer, IPS_BUF_REQUEST_BODY);
	assert_int_equal(r->conds[4].kind, IPS_COND_ISDATAAT);
	assert_int_equal(r->conds[4].buffer, IPS_BUF_REQUEST_BODY);
	assert_int_equal(r->conds[4].negated, 1);
	assert_int_equal(r->conds[4].offset, 2);
	assert_int_equal(r->conds[3].retry_next, 1);
	/* a content retries for a negated relative content or a relative
	 * isdataat after it, not for a content with distance alone */
	ips_ruleset_free(&rs);
	rs = (struct ips_ruleset){ 0 };
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "http.uri; content:\"a\"; content:\"b\"; distance:0; "
	              "content:!\"c\"; distance:0; content:\"d\"; "
	              "isdataat:!3,relative; sid:8;)");
	assert_int_equal(r->conds[0].retry_next, 0);
	assert_int_equal(r->conds[1].retry_next, 1);
	assert_int_equal(r->conds[3].retry_next, 1);
	ips_ruleset_free(&rs);
}

/* msg may be left out and a pcre left unquoted, as Suricata takes them. */
static void
test_suricata_leniency(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (pcre:/\\.\\/a/I; "
	              "noalert; sid:9;)");
	assert_string_equal(r->msg, "");
	assert_int_equal(r->noalert, 1);
	assert_string_equal((char *)r->conds[0].bytes, "\\.\\/a");
	assert_int_equal(r->conds[0].buffer, IPS_BUF_URI_RAW);
	ips_ruleset_free(&rs);
}

/* flowbits (with | groups and noalert), threshold, detection_filter. */
static void
test_flowbits_threshold(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "flowbits:isset,a|b; flowbits:set,c&d; flowbits:noalert; "
	              "threshold: type both, count 3, seconds 60, "
	              "track by_dst; sid:7;)");
	assert_int_equal(r->n_flowbits, 4);
	assert_int_equal(r->flowbits[0].op, IPS_FB_ISSET);
	assert_int_equal(r->flowbits[0].or_next, 1);
	assert_string_equal(r->flowbits[1].name, "b");
	assert_int_equal(r->flowbits[1].or_next, 0);
	assert_int_equal(r->flowbits[2].op, IPS_FB_SET);
	assert_string_equal(r->flowbits[3].name, "d");
	assert_int_equal(r->noalert, 1);
	assert_int_equal(r->threshold.type, IPS_THRESH_BOTH);
	assert_int_equal(r->threshold.track, IPS_TRACK_DST);
	assert_int_equal(r->threshold.count, 3);
	assert_int_equal(r->threshold.seconds, 60);
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "detection_filter:track by_src,count 5,seconds 10; "
	              "sid:8;)");
	assert_int_equal(r->threshold.type, IPS_THRESH_DETECTION);
	assert_int_equal(r->threshold.track, IPS_TRACK_SRC);
	assert_int_equal(r->threshold.count, 5);
	ips_ruleset_free(&rs);
}

/* xbits as ET writes them: blanks after commas, expire on isset (read,
 * meaningless), the default expiry; one name's ip_src and ip_dst bits are
 * one host bit, its ip_pair bit another; flowbits stay apart. */
static void
test_xbits(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "xbits:set,ET.CVE-2023-46604.attempt, track ip_dst, "
	              "expire 300; xbits:isset,ET.x,track ip_src,expire 10; "
	              "xbits:unset,ET.x,track ip_pair; flowbits:set,f; sid:1;)");
	assert_int_equal(r->n_xbits, 3);
	assert_int_equal(r->n_flowbits, 1);
	assert_int_equal(r->flowbits[0].track, IPS_XBIT_NONE);
	assert_int_equal(r->xbits[0].op, IPS_FB_SET);
	assert_string_equal(r->xbits[0].name, "ET.CVE-2023-46604.attempt");
	assert_int_equal(r->xbits[0].track, IPS_XBIT_IP_DST);
	assert_int_equal(r->xbits[0].expire, 300);
	assert_int_equal(r->xbits[1].op, IPS_FB_ISSET);
	assert_int_equal(r->xbits[1].track, IPS_XBIT_IP_SRC);
	assert_int_equal(r->xbits[2].op, IPS_FB_UNSET);
	assert_int_equal(r->xbits[2].track, IPS_XBIT_IP_PAIR);
	assert_int_equal(r->xbits[2].expire, IPS_XBIT_EXPIRE_DEFAULT);
	assert_true(r->xbits[1].id == ips_xbit_id("ET.x", IPS_XBIT_IP_DST));
	assert_true(r->xbits[2].id != r->xbits[1].id);
	assert_true(r->xbits[0].id != r->xbits[1].id);
	ips_ruleset_free(&rs);
}

/* Keywords that change no match: flow:only_stream (raw rules read the
 * reassembled stream only anyway), rawbytes after a raw content, tag. */
static void
test_keywords_without_effect(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert tcp any any -> any 23 (msg:\"m\"; "
	              "flow:established,to_server,only_stream; "
	              "content:\"|FF FA|\"; rawbytes; tag:host,5,packets,src; "
	              "sid:1;)");
	assert_int_equal(r->flow_flags,
	                 IPS_FLOW_ESTABLISHED | IPS_FLOW_TO_SERVER);
	assert_int_equal(r->n_conds, 1);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_STREAM);
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "http.uri; content:\"/x\"; tag:session,5,packets; "
	              "sid:2;)");
	assert_int_equal(r->n_conds, 1);
	ips_ruleset_free(&rs);
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"/x\"; rawbytes; sid:1;)", "t.rules:7:65: "
	             "rawbytes needs a raw-stream content (no sticky buffer)");
	expect_error("alert tcp any any -> any any (msg:\"m\"; rawbytes; "
	             "sid:1;)", "t.rules:7:40: 'rawbytes' needs a preceding "
	             "content");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "tag:session,5,packets,src; sid:1;)", "t.rules:7:63: "
	             "invalid tag option 'src'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "tag:flow; sid:1;)", "t.rules:7:45: invalid tag option "
	             "'flow'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "tag:host,5; sid:1;)", "t.rules:7:45: tag: a count needs "
	             "its metric");
}

/* bsize, urilen, byte_test, byte_jump: operands as the inspection reads
 * them. */
static void
test_size_and_byte_keywords(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "http.uri; content:\"/x\"; bsize:<=20; urilen:3<>9,raw; "
	              "http.header; bsize:7; byte_test:2,!&,0x40,-3,relative,"
	              "little,bitmask 0xf0; byte_jump:3,1,string,hex,"
	              "multiplier 2,align,post_offset -1; sid:7;)");
	assert_int_equal(r->n_conds, 6);
	assert_int_equal(r->conds[1].kind, IPS_COND_BSIZE);
	assert_int_equal(r->conds[1].num_op, IPS_OP_LE);
	assert_int_equal(r->conds[1].offset, 20);
	assert_int_equal(r->conds[2].kind, IPS_COND_URILEN);
	assert_int_equal(r->conds[2].buffer, IPS_BUF_URI_RAW);
	assert_int_equal(r->conds[2].num_op, IPS_OP_RANGE);
	assert_int_equal(r->conds[2].offset, 3);
	assert_int_equal(r->conds[2].depth, 9);
	assert_int_equal(r->conds[3].buffer, IPS_BUF_HEADER);
	assert_int_equal(r->conds[3].num_op, IPS_OP_EQ);
	assert_int_equal(r->conds[4].kind, IPS_COND_BYTE_TEST);
	assert_int_equal(r->conds[4].negated, 1);
	assert_int_equal(r->conds[4].num_op, IPS_OP_AND);
	assert_int_equal(r->conds[4].num_value, 0x40);
	assert_int_equal(r->conds[4].num_offset, -3);
	assert_int_equal(r->conds[4].num_bytes, 2);
	assert_int_equal(r->conds[4].num_flags,
	                 IPS_BYTE_LITTLE | IPS_BYTE_BITMASK);
	assert_int_equal(r->conds[4].num_bitmask, 0xf0);
	assert_int_equal(r->conds[4].relative, 1);
	assert_int_equal(r->conds[5].kind, IPS_COND_BYTE_JUMP);
	assert_int_equal(r->conds[5].num_base, 16);
	assert_int_equal(r->conds[5].num_mult, 2);
	assert_int_equal(r->conds[5].num_post, -1);
	assert_int_equal(r->conds[5].num_flags, IPS_BYTE_STRING |
	                 IPS_BYTE_ALIGN);
	ips_ruleset_free(&rs);
}

static void
test_addresses_ports_vars(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert http $EXTERNAL_NET ![1:1023,8000:] -> "
	              "[198.51.100.7,203.0.113.0/25] $HTTP_PORTS (msg:\"m\"; "
	              "sid:8;)");
	assert_int_equal(r->src.negated, 1);
	assert_int_equal(r->src.n_cidrs, 2);
	assert_int_equal(r->src.cidrs[0].prefix, 96 + 24);
	assert_int_equal(r->src.cidrs[0].addr[10], 0xff);
	assert_int_equal(r->src.cidrs[0].addr[12], 192);
	assert_int_equal(r->src.cidrs[1].prefix, 32);
	assert_int_equal(r->src.cidrs[1].addr[0], 0x20);
	assert_int_equal(r->sport.negated, 1);
	assert_int_equal(r->sport.n_ranges, 2);
	assert_int_equal(r->sport.ranges[1].lo, 8000);
	assert_int_equal(r->sport.ranges[1].hi, 65535);
	assert_int_equal(r->dst.negated, 0);
	assert_int_equal(r->dst.n_cidrs, 2);
	assert_int_equal(r->dst.cidrs[0].prefix, 128);
	assert_int_equal(r->dst.cidrs[1].addr[15], 0);
	assert_int_equal(r->dport.n_ranges, 2);
	assert_int_equal(r->dport.ranges[1].lo, 8080);
	assert_int_equal(r->dport.ranges[1].hi, 8090);
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert http [any,10.0.0.1] :1024 -> any any "
	              "(msg:\"m\"; sid:9;)");
	assert_int_equal(r->src.n_cidrs, 0);
	assert_int_equal(r->sport.ranges[0].lo, 0);
	assert_int_equal(r->sport.ranges[0].hi, 1024);
	ips_ruleset_free(&rs);
}

static void
test_classification_file(void **state)
{
	char path[] = "/tmp/test_rule_parse_XXXXXX";
	int fd = mkstemp(path);
	struct ips_parse_opts o = { NULL, 0, path };
	struct ips_ruleset rs = { 0 };
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# comment\nconfig classification: my-class,Mine,4\n"
	        "config classification: other,Other, 2\n");
	fclose(f);
	assert_int_equal(ips_rule_parse_line(&rs, "alert http any any -> any "
	                 "any (msg:\"m\"; classtype:my-class; sid:1;)", "f", 1,
	                 &o, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(rs.rules[0].priority, 4);
	/* explicit priority wins, whatever the order */
	assert_int_equal(ips_rule_parse_line(&rs, "alert http any any -> any "
	                 "any (msg:\"m\"; priority:9; classtype:other; sid:2;)",
	                 "f", 2, &o, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(rs.rules[1].priority, 9);
	/* the built-in table is not consulted when a file is given */
	assert_int_equal(ips_rule_parse_line(&rs, "alert http any any -> any "
	                 "any (msg:\"m\"; classtype:attempted-admin; sid:3;)",
	                 "f", 3, &o, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, "f:3:51: unknown classtype "
	                    "'attempted-admin'");
	unlink(path);
	ips_ruleset_free(&rs);
}

/* Contents and pcre with no sticky buffer inspect the raw stream, in tcp
 * and http rules alike; offset/depth stay stream-relative. */
static void
test_raw_stream(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "drop tcp any any -> any 6379 (msg:\"redis\"; "
	              "flow:to_server,established; content:\"CONFIG\"; "
	              "nocase; offset:2; depth:64; pcre:\"/SET\\s+dir/i\"; "
	              "sid:1;)");
	assert_int_equal(r->proto, IPS_PROTO_TCP);
	assert_int_equal(r->n_conds, 2);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_STREAM);
	assert_int_equal(r->conds[0].kind, IPS_COND_CONTENT);
	assert_int_equal(r->conds[0].nocase, 1);
	assert_int_equal(r->conds[0].offset, 2);
	assert_int_equal(r->conds[0].depth, 64);
	assert_int_equal(r->conds[1].buffer, IPS_BUF_STREAM);
	assert_int_equal(r->conds[1].kind, IPS_COND_PCRE);
	assert_int_equal(r->dport.n_ranges, 1);
	assert_int_equal(r->dport.ranges[0].lo, 6379);
	assert_string_equal(ips_buffer_name(IPS_BUF_STREAM), "stream");
	ips_ruleset_free(&rs);

	/* an http rule's unbuffered content is the raw stream too */
	r = parse_one(&rs, "alert http any any -> any any (msg:\"m\"; "
	              "flow:to_server; content:\"abc\"; startswith; sid:2;)");
	assert_int_equal(r->proto, IPS_PROTO_HTTP);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_STREAM);
	assert_int_equal(r->conds[0].depth, 3);
	ips_ruleset_free(&rs);

	/* a legacy modifier still claims the content before it */
	r = parse_one(&rs, "alert tcp any any -> any any (msg:\"m\"; "
	              "content:\"/x\"; http_uri; sid:3;)");
	assert_int_equal(r->conds[0].buffer, IPS_BUF_URI);
	ips_ruleset_free(&rs);

	/* relative keywords on the raw stream: decided on its window */
	r = parse_one(&rs, "alert tcp any any -> any 1433 (msg:\"m\"; "
	              "flow:to_server; content:\"a\"; content:\"b\"; "
	              "distance:1; within:4; pcre:\"/c(d)\\1/R\"; "
	              "isdataat:10,relative; byte_test:1,>,3,0,relative; "
	              "sid:5;)");
	assert_int_equal(r->n_conds, 5);
	for (uint32_t i = 0; i < r->n_conds; i++) {
		assert_int_equal(r->conds[i].buffer, IPS_BUF_STREAM);
		assert_int_equal(ips_cond_needs_window(&r->conds[i]), i != 0);
	}
	/* Suricata's retries: a content followed by a within on it, a pcre
	 * by any relative keyword */
	assert_int_equal(r->conds[0].retry_next, 1);
	assert_int_equal(r->conds[2].retry_next, 1);
	ips_ruleset_free(&rs);

	/* each direction is inspected: to_client, neither, '<>' */
	r = parse_one(&rs, "alert tcp any 6379 -> any any (msg:\"m\"; "
	              "flow:established,to_client; content:\"-ERR\"; sid:6;)");
	assert_int_equal(r->flow_flags & IPS_FLOW_TO_CLIENT, IPS_FLOW_TO_CLIENT);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_STREAM);
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert tcp any any -> any any (msg:\"m\"; "
	              "content:\"uid=0(root)\"; sid:7;)");
	assert_int_equal(r->flow_flags & (IPS_FLOW_TO_CLIENT |
	                                  IPS_FLOW_TO_SERVER), 0);
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert tcp any any <> any 6379 (msg:\"m\"; "
	              "content:\"x\"; sid:8;)");
	assert_true(r->bidirectional);
	ips_ruleset_free(&rs);

	/* a tcp rule may use HTTP buffers: it then applies to HTTP */
	r = parse_one(&rs, "alert tcp any any -> any any (msg:\"m\"; "
	              "http.uri; content:\"/x\"; sid:4;)");
	assert_int_equal(r->proto, IPS_PROTO_TCP);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_URI);
	ips_ruleset_free(&rs);
}

/* What the raw stream cannot do exactly is refused, saying what. */
static void
test_raw_stream_errors(void **state)
{
	(void)state;
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "content:\"x\"; http.uri; content:\"y\"; sid:1;)",
	             "t.rules:7:31: content/pcre without a sticky buffer (raw "
	             "stream) cannot be combined with http.* buffers in one "
	             "rule");
	expect_error("alert tcp any any -> any any (msg:\"m\"; "
	             "content:!\"x\"; sid:1;)",
	             "t.rules:7:40: negated content on the raw stream is not "
	             "supported");
	expect_error("alert tcp any any -> any any (msg:\"m\"; "
	             "pcre:!\"/x/\"; sid:1;)",
	             "t.rules:7:40: negated pcre on the raw stream is not "
	             "supported");
	expect_error("alert tcp any any -> any any (msg:\"m\"; "
	             "content:\"x\"; endswith; sid:1;)",
	             "t.rules:7:40: endswith on the raw stream is not "
	             "supported");
	/* isdataat:! holds only once the stream has ended */
	expect_error("alert tcp any any -> any 80 (msg:\"m\"; "
	             "flow:to_server; content:\"x\"; isdataat:!1,relative; "
	             "sid:1;)",
	             "t.rules:7:68: negated isdataat/byte_test on the raw "
	             "stream is not supported");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flow:to_client; http.uri; content:\"x\"; sid:1;)",
	             "t.rules:7:31: flow:to_client with request buffers is "
	             "not supported (a response is not tied to its request's "
	             "buffers)");
	expect_error("alert tcp any any -> any any (msg:\"m\"; dsize:>10; "
	             "content:\"x\"; sid:1;)",
	             "t.rules:7:40: unsupported keyword 'dsize'");
	expect_error("alert tcp any any -> any 22 (msg:\"m\"; sid:1;)",
	             "t.rules:7:29: tcp rule without content or pcre is not "
	             "supported");
}

/* tls.certs: the server's certificates, to the client, on tls flows. */
static void
test_tls_certs(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert tls $EXTERNAL_NET any -> $HOME_NET any "
	              "(msg:\"m\"; flow:established,to_client; tls.certs; "
	              "content:\"|55 04 03|\"; pcre:\"/^.[a-z]+/R\"; "
	              "content:!\"good\"; distance:0; sid:1;)");
	assert_int_equal(r->proto, IPS_PROTO_TLS);
	assert_int_equal(r->n_conds, 3);
	for (uint32_t i = 0; i < r->n_conds; i++)
		assert_int_equal(r->conds[i].buffer, IPS_BUF_TLS_CERTS);
	assert_true(r->conds[2].negated);
	ips_ruleset_free(&rs);
	/* tcp with an app-layer keyword is Suricata's tls */
	r = parse_one(&rs, "alert tcp any 443 -> any any (msg:\"m\"; "
	              "tls.certs; content:\"x\"; sid:2;)");
	assert_int_equal(r->proto, IPS_PROTO_TLS);
	ips_ruleset_free(&rs);
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "flow:to_server; tls.certs; content:\"x\"; sid:1;)",
	             "t.rules:7:30: tls.certs with flow:to_server never "
	             "matches (certificates go to the client)");
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "tls.certs; content:\"x\"; http.uri; content:\"y\"; "
	             "sid:1;)",
	             "t.rules:7:74: tls.certs cannot be combined with other "
	             "buffers in one rule");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "tls.certs; content:\"x\"; sid:1;)",
	             "t.rules:7:31: tls.certs in an http rule never matches "
	             "(use protocol tls)");
	expect_error("alert tls any any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:30: tls rule without tls.sni, ja3.*, "
	             "tls.version, tls.certs or tls.cert_* is not supported");
	expect_error("alert tls any any <> any any (msg:\"m\"; "
	             "tls.certs; content:\"x\"; sid:1;)",
	             "t.rules:7:30: '<>' with tls.certs is not supported");
}

/* tls.sni: the ClientHello's server name, to the server, alone in its
 * rule (ET's sid 2027960). */
static void
test_tls_sni(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert tls any any -> any any (msg:\"m\"; "
	              "flow:established,to_server; tls.sni; "
	              "content:\"|5c 00|\"; fast_pattern; sid:2027960;)");
	assert_int_equal(r->proto, IPS_PROTO_TLS);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_TLS_SNI);
	ips_ruleset_free(&rs);
	/* the ClientHello's buffers together: the name and its JA3 */
	r = parse_one(&rs, "alert tcp any any -> any 443 (msg:\"m\"; "
	              "ja3.hash; content:\"e7d705a3286e19ea42f587b344ee6865\"; "
	              "ja3.string; content:\"771,\"; startswith; tls.sni; "
	              "content:\"x\"; sid:2;)");
	assert_int_equal(r->proto, IPS_PROTO_TLS);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_JA3_HASH);
	assert_int_equal(r->conds[1].buffer, IPS_BUF_JA3_STRING);
	assert_int_equal(r->conds[2].buffer, IPS_BUF_TLS_SNI);
	ips_ruleset_free(&rs);
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "flow:to_client; tls.sni; content:\"x\"; sid:1;)",
	             "t.rules:7:30: tls.sni/ja3/tls.version with flow:to_client "
	             "never "
	             "matches (the ClientHello goes to the server)");
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "ja3.hash; content:\"x\"; tls.cert_subject; "
	             "content:\"y\"; sid:1;)",
	             "t.rules:7:81: tls.sni/ja3/tls.version cannot be combined "
	             "with other buffers in one rule");
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "content:\"x\"; sid:1;)",
	             "t.rules:7:40: a tls rule reads tls.sni, ja3.*, "
	             "tls.version, tls.certs or tls.cert_* only (raw content is "
	             "not supported there)");
}

/* A rule with no direction on buffers both sides have is Suricata's on
 * requests and responses: the request's reading and its twin, the
 * response's, one rule as written. */
static void
test_both_sides_twin(void **state)
{
	struct ips_ruleset rs = { 0 };

	(void)state;
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "flow:established; http.cookie; content:\"godid=\"; "
	                 "http.header; content:\"a\"; sid:2017085;)"), 1);
	assert_int_equal(rs.n_rules, 2);
	assert_int_equal(ips_ruleset_count(&rs), 1);
	assert_int_equal(rs.rules[0].twin, 0);
	assert_int_equal(rs.rules[0].conds[0].buffer, IPS_BUF_COOKIE);
	assert_int_equal(rs.rules[0].conds[1].buffer, IPS_BUF_HEADER);
	assert_int_equal(rs.rules[1].twin, 1);
	assert_int_equal(rs.rules[1].sid, 2017085);
	assert_int_equal(rs.rules[1].conds[0].buffer, IPS_BUF_RESP_COOKIE);
	assert_int_equal(rs.rules[1].conds[1].buffer, IPS_BUF_RESP_HEADER);
	/* a tcp rule on them is Suricata's http rule, on both sides too */
	assert_int_equal(parse(&rs, "alert tcp any any -> any any (msg:\"m\"; "
	                 "http.header_names; content:\"X\"; "
	                 "http.content_type; content:\"y\"; sid:2;)"), 1);
	assert_int_equal(rs.n_rules, 4);
	assert_int_equal(rs.rules[3].twin, 1);
	assert_int_equal(rs.rules[3].proto, IPS_PROTO_HTTP);
	assert_int_equal(rs.rules[3].conds[0].buffer,
	                 IPS_BUF_RESP_HEADER_NAMES);
	assert_int_equal(rs.rules[3].conds[1].buffer,
	                 IPS_BUF_RESP_CONTENT_TYPE);
	/* the sid is still the rule's own */
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "flow:to_server; http.uri; content:\"x\"; "
	                 "sid:2017085;)"), -1);
	assert_string_equal(errbuf, "t.rules:7:84: duplicate sid 2017085 "
	                    "(first at t.rules:7)");
	/* a direction, or a buffer of one side, says which */
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "flow:to_client; http.cookie; content:\"a\"; "
	                 "sid:3;)"), 1);
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "http.cookie; content:\"a\"; http.uri; "
	                 "content:\"b\"; sid:4;)"), 1);
	assert_int_equal(parse(&rs, "alert http any any -> any any (msg:\"m\"; "
	                 "http.cookie; content:\"a\"; http.stat_code; "
	                 "content:\"200\"; sid:5;)"), 1);
	assert_int_equal(rs.n_rules, 7);
	assert_int_equal(ips_ruleset_count(&rs), 5);
	assert_int_equal(rs.rules[6].conds[0].buffer, IPS_BUF_RESP_COOKIE);
	ips_ruleset_free(&rs);
	/* on both sides too, where the gateway reads the request's only */
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "http.header; content:\"a\"; http.content_len; "
	             "content:\"1\"; sid:1;)",
	             "t.rules:7:31: http.content_len with no flow direction is "
	             "read on responses too, where the gateway does not "
	             "produce it (add flow:to_server)");
	expect_error("alert http any any <> any any (msg:\"m\"; "
	             "http.header; content:\"a\"; sid:1;)",
	             "t.rules:7:31: '<>' with no flow direction on http.header "
	             "is not supported (Suricata reads it on responses too; "
	             "add flow:to_server)");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "http.protocol; content:\"1.0\"; sid:1;)",
	             "t.rules:7:31: http.protocol with no flow direction is "
	             "read on responses too, where the gateway does not "
	             "produce it (add flow:to_server)");
}

/* tls.version: the client's, to the server; 1.0-1.3 (quoted or not) or a
 * number, which alone is compared as is. */
static void
test_tls_version(void **state)
{
	static const struct { const char *opt; uint32_t v; uint16_t flags; }
	ok[] = {
		{ "1.0", 0x0301, 0 }, { "1.1", 0x0302, 0 },
		{ "\"1.2\"", 0x0303, 0 }, { "1.3", 0x0304, 0 },
		{ "0x7f1c", 0x7f1c, IPS_TLS_VERSION_RAW },
		{ "0xFB1A", 0xfb1a, IPS_TLS_VERSION_RAW },
	};
	static const char *const bad[] = {
		"1.4", "1.2x", "\"0x0303\"", "0x303", "0x03g3", "!1.2", "tls1.2",
	};
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;
	char rule[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(rule, sizeof(rule), "alert tcp any any -> any 443 "
		         "(msg:\"m\"; flow:established,to_server; "
		         "tls.version:%s; sid:1;)", ok[i].opt);
		r = parse_one(&rs, rule);
		assert_int_equal(r->proto, IPS_PROTO_TLS);
		assert_int_equal(r->n_conds, 1);
		assert_int_equal(r->conds[0].kind, IPS_COND_TLS_VERSION);
		assert_int_equal(r->conds[0].buffer, IPS_BUF_TLS_VERSION);
		assert_int_equal(r->conds[0].num_value, ok[i].v);
		assert_int_equal(r->conds[0].num_flags, ok[i].flags);
		ips_ruleset_free(&rs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rule, sizeof(rule), "alert tls any any -> any any "
		         "(msg:\"m\"; flow:to_server; tls.version:%s; sid:1;)",
		         bad[i]);
		snprintf(want, sizeof(want), "t.rules:7:68: invalid tls.version "
		         "'%s' (1.0, 1.1, 1.2, 1.3 or 0x and four hex digits)",
		         bad[i]);
		expect_error(rule, want);
	}
	/* with the hello's buffers */
	r = parse_one(&rs, "alert tls any any -> any any (msg:\"m\"; "
	              "flow:to_server; tls.sni; content:\"a\"; "
	              "tls.version:1.2; content:\"b\"; sid:1;)");
	assert_int_equal(r->n_conds, 3);
	assert_int_equal(r->conds[1].kind, IPS_COND_TLS_VERSION);
	assert_int_equal(r->conds[2].buffer, IPS_BUF_TLS_SNI);
	ips_ruleset_free(&rs);
	/* tls.sni beside it makes the rule the client's, as in Suricata */
	r = parse_one(&rs, "alert tls any any -> any any (msg:\"m\"; "
	              "tls.version:1.3; tls.sni; content:\"a\"; sid:1;)");
	assert_int_equal(r->n_conds, 2);
	ips_ruleset_free(&rs);
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "tls.version:1.2; sid:1;)",
	             "t.rules:7:30: tls.version without flow:to_server is not "
	             "supported (the server's version, in its ServerHello, is "
	             "not read)");
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "flow:to_client; tls.version:1.2; sid:1;)",
	             "t.rules:7:30: tls.version without flow:to_server is not "
	             "supported (the server's version, in its ServerHello, is "
	             "not read)");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flow:to_server; tls.version:1.2; sid:1;)",
	             "t.rules:7:31: tls.sni/ja3/tls.version in an http rule "
	             "never matches (use protocol tls)");
}

/* The first certificate's names: to the client, with one another, not
 * with tls.certs or anything else (ET's sid 2031299). */
static void
test_tls_cert_names(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;

	(void)state;
	r = parse_one(&rs, "alert tls $EXTERNAL_NET any -> $HOME_NET any "
	              "(msg:\"m\"; flow:established,to_client; "
	              "tls.cert_subject; content:\"CN=a\"; bsize:4; "
	              "tls.cert_issuer; content:\"O=b\"; "
	              "tls.cert_serial; content:\"00:80\"; sid:1;)");
	assert_int_equal(r->proto, IPS_PROTO_TLS);
	assert_int_equal(r->conds[0].buffer, IPS_BUF_TLS_SUBJECT);
	assert_int_equal(r->conds[1].buffer, IPS_BUF_TLS_SUBJECT);
	assert_int_equal(r->conds[2].buffer, IPS_BUF_TLS_ISSUER);
	assert_int_equal(r->conds[3].buffer, IPS_BUF_TLS_SERIAL);
	ips_ruleset_free(&rs);
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "tls.cert_subject; content:\"x\"; tls.certs; "
	             "content:\"y\"; sid:1;)",
	             "t.rules:7:58: tls.certs cannot be combined with other "
	             "buffers in one rule");
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "tls.cert_issuer; content:\"x\"; http.uri; "
	             "content:\"y\"; sid:1;)",
	             "t.rules:7:80: tls.cert_* cannot be combined with other "
	             "buffers in one rule");
	expect_error("alert tls any any -> any any (msg:\"m\"; "
	             "flow:to_server; tls.cert_serial; content:\"x\"; sid:1;)",
	             "t.rules:7:30: tls.cert_* with flow:to_server never "
	             "matches (certificates go to the client)");
}

/* The response's buffers: read server to client, alone in their rule. */
static void
test_response_buffers(void **state)
{
	static const struct {
		const char *opt;
		uint8_t buffer;
	} kw[] = {
		{ "http.response_body; content:\"x\";", IPS_BUF_RESPONSE_BODY },
		{ "file_data; content:\"x\";", IPS_BUF_RESPONSE_BODY },
		{ "file.data; content:\"x\";", IPS_BUF_RESPONSE_BODY },
		{ "content:\"x\"; http_server_body;", IPS_BUF_RESPONSE_BODY },
		{ "http.stat_code; content:\"200\";", IPS_BUF_STAT_CODE },
		{ "content:\"200\"; http_stat_code;", IPS_BUF_STAT_CODE },
		{ "pcre:\"/^2/S\";", IPS_BUF_STAT_CODE },
		{ "http.stat_msg; content:\"OK\";", IPS_BUF_STAT_MSG },
		{ "pcre:\"/^OK/Y\";", IPS_BUF_STAT_MSG },
		{ "http.response_line; content:\"HTTP/\";",
		  IPS_BUF_RESPONSE_LINE },
		{ "http.server; content:\"nginx\";", IPS_BUF_SERVER },
		{ "http.location; content:\"http\";", IPS_BUF_LOCATION },
		/* the request's keywords read the response in its rule */
		{ "flow:to_client; http.header; content:\"X-\";",
		  IPS_BUF_RESP_HEADER },
		{ "flow:from_server; content:\"x\"; http_cookie;",
		  IPS_BUF_RESP_COOKIE },
		{ "http.content_type; content:\"text\"; http.server; "
		  "content:\"x\";", IPS_BUF_RESP_CONTENT_TYPE },
		{ "flow:to_client; http.header_names; content:\"X\";",
		  IPS_BUF_RESP_HEADER_NAMES },
	};
	struct ips_ruleset rs = { 0 };
	char text[256];
	const struct ips_rule *r;

	(void)state;
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		snprintf(text, sizeof(text), "alert http any any -> any any "
		         "(msg:\"m\"; %s sid:1;)", kw[i].opt);
		r = parse_one(&rs, text);
		assert_int_equal(r->conds[0].buffer, kw[i].buffer);
		/* the buffer says the direction */
		assert_true(r->flow_flags & IPS_FLOW_TO_CLIENT);
		ips_ruleset_free(&rs);
	}
	r = parse_one(&rs, "alert http $EXTERNAL_NET any -> $HOME_NET any "
	              "(msg:\"m\"; flow:established,from_server; "
	              "http.stat_code; content:\"200\"; file_data; "
	              "content:\"<script\"; content:\"eval(\"; distance:0; "
	              "content:!\"benign\"; sid:2;)");
	assert_int_equal(r->n_conds, 4);
	assert_int_equal(r->conds[1].buffer, IPS_BUF_RESPONSE_BODY);
	assert_true(r->conds[3].negated);
	ips_ruleset_free(&rs);
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flow:to_server; file_data; content:\"x\"; sid:1;)",
	             "t.rules:7:31: response buffers with flow:to_server are "
	             "not supported (file_data of uploads is not produced)");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "http.uri; content:\"x\"; file_data; content:\"y\"; "
	             "sid:1;)",
	             "t.rules:7:51: http.uri cannot be combined with response "
	             "buffers in one rule");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "content:\"x\"; file_data; content:\"y\"; sid:1;)",
	             "t.rules:7:41: content/pcre without a sticky buffer (raw "
	             "stream) cannot be combined with response buffers in one "
	             "rule");
	expect_error("alert tcp any any -> any any (msg:\"m\"; "
	             "file_data; content:\"y\"; sid:1;)",
	             "t.rules:7:30: response buffers need protocol http");
	expect_error("alert http any any <> any any (msg:\"m\"; "
	             "file_data; content:\"y\"; sid:1;)",
	             "t.rules:7:31: '<>' with response buffers is not "
	             "supported");
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"x\"; flowint:a,=,1; sid:1;)",
	             "t.rules:7:64: unsupported keyword 'flowint'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:set,a; sid:1;)", "t.rules:7:41: xbits needs a "
	             "command, a name, a track and at most an expire");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:noalert; sid:1;)", "t.rules:7:41: xbits needs a "
	             "command, a name, a track and at most an expire");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:set,a,track ip_src,expire 1,x; sid:1;)",
	             "t.rules:7:41: xbits needs a command, a name, a track "
	             "and at most an expire");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:flip,a,track ip_src; sid:1;)", "t.rules:7:47: "
	             "unsupported xbits command 'flip'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:set,a,track by_src; sid:1;)", "t.rules:7:53: "
	             "invalid xbits track 'track by_src' (track ip_src, "
	             "ip_dst or ip_pair)");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:set,a,track ip_src,expire 0; sid:1;)",
	             "t.rules:7:66: invalid xbits expire 'expire 0' (expire "
	             "seconds, more than 0)");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:set,a|b,track ip_src; sid:1;)", "t.rules:7:52: "
	             "invalid xbit name 'a|b'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "xbits:set, ,track ip_src; sid:1;)", "t.rules:7:41: "
	             "xbits needs a name");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flowbits:flip,a; sid:1;)", "t.rules:7:50: unsupported "
	             "flowbits command 'flip'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flowbits:set,a|b; sid:1;)", "t.rules:7:54: '|' only with "
	             "isset/isnotset");
	/* A blank name between separators is empty, never negative. */
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flowbits:isset,a | |b; sid:1;)", "t.rules:7:41: flowbits "
	             "needs a name");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "threshold:type limit, track by_src, count 1; sid:1;)",
	             "t.rules:7:41: threshold needs type, track, count and "
	             "seconds");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "threshold:type limit, track by_either, count 1, "
	             "seconds 2; sid:1;)", "t.rules:7:69: unsupported "
	             "threshold track 'by_either'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "detection_filter:track by_src, count 1, seconds 0; "
	             "sid:1;)", "t.rules:7:41: detection_filter: count and "
	             "seconds must be positive");
	expect_error("alert http any any -> any any (msg:\"m\"; dsize:1; "
	             "sid:1;)", "t.rules:7:41: unsupported keyword 'dsize'");
	expect_error("alert http any any -> any any (msg:\"m\"; distance:0; "
	             "sid:1;)", "t.rules:7:41: 'distance' needs a preceding "
	             "content");
	expect_error("alert udp any any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:7: unsupported protocol 'udp': UDP payloads "
	             "are not inspected");
	expect_error("alert dns any any -> any any (msg:\"m\"; dns.query; "
	             "content:\"x\"; sid:1;)", "t.rules:7:7: unsupported "
	             "protocol 'dns': DNS is not decoded (UDP payloads are not "
	             "inspected)");
	expect_error("block http any any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:1: unknown action 'block'");
	expect_error("alert http any any -> any any (msg:\"m\"; rev:1;)",
	             "t.rules:7:31: missing sid");
	expect_error("alert http any any -> any any (sid:4; msg:x;)",
	             "t.rules:7:43: expected a quoted string");
	expect_error("alert http $NOPE any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:12: undefined variable '$NOPE'");
	expect_error("alert http $LOOP any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:12: variables nested too deep at '$LOOP'");
	expect_error("alert http 192.0.2.300 any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:12: invalid address '192.0.2.300'");
	expect_error("alert http 192.0.2.0/33 any -> any any (msg:\"m\"; "
	             "sid:1;)", "t.rules:7:22: invalid prefix length '33'");
	expect_error("alert http any 70000 -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:16: invalid port '70000'");
	expect_error("alert http any 90:80 -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:16: empty port range '90:80'");
	expect_error("alert http [1.2.3.4,!5.6.7.8] any -> any any "
	             "(msg:\"m\"; sid:1;)", "t.rules:7:22: address list mixing "
	             "negated and plain entries is not supported");
	expect_error("alert http !any any -> any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:13: '!any' matches nothing");
	expect_error("alert http any any => any any (msg:\"m\"; sid:1;)",
	             "t.rules:7:20: invalid direction '=>'");
	expect_error("alert http any any -> any any msg:\"m\"; sid:1;)",
	             "t.rules:7:31: expected '(' to open the options");
	expect_error("alert http any any -> any any (msg:\"m\"; sid:1;",
	             "t.rules:7:31: unterminated options: missing ')'");
	expect_error("alert http any any -> any any (msg:\"m\"; sid:1)",
	             "t.rules:7:41: missing ';' after 'sid'");
	expect_error("alert http any any -> any any (msg:\"m\"; sid:1;) x",
	             "t.rules:7:49: text after the closing ')'");
	expect_error("alert http any any -> any any (msg:\"m\"; sid:x1;)",
	             "t.rules:7:45: invalid sid 'x1'");
	expect_error("alert http any any -> any any (msg:\"m\"; nocase; sid:1;)",
	             "t.rules:7:41: 'nocase' needs a preceding content");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"ab\"; depth:1; sid:1;)",
	             "t.rules:7:71: depth 1 is shorter than the content "
	             "(2 bytes)");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"a|4|\"; sid:1;)",
	             "t.rules:7:63: odd number of hex digits");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"a|4g|\"; sid:1;)",
	             "t.rules:7:63: invalid hex digit 'g'");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"a\\n\"; sid:1;)",
	             "t.rules:7:61: invalid escape in content");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:x; sid:1;)",
	             "t.rules:7:59: expected a quoted string");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"\"; sid:1;)", "t.rules:7:59: empty content");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "pcre:\"/x/D\"; sid:1;)",
	             "t.rules:7:60: pcre flag 'D': buffer http.header.raw is "
	             "not supported");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "pcre:\"/x/O\"; sid:1;)",
	             "t.rules:7:60: pcre flag 'O' (no match limit) is not "
	             "supported: every pcre runs under the match limit");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "pcre:\"/x/UH\"; sid:1;)",
	             "t.rules:7:61: pcre has more than one buffer flag");
	expect_error("alert http any any -> any any (msg:\"m\"; bsize:3; "
	             "sid:1;)", "t.rules:7:41: bsize without a sticky buffer "
	             "(raw stream) is not supported");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "bsize:5<>6; sid:1;)", "t.rules:7:57: invalid bsize "
	             "range '5<>6'");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "bsize:  <>6; sid:1;)", "t.rules:7:59: invalid bsize "
	             "range '<>6'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "urilen:3,abs; sid:1;)", "t.rules:7:50: invalid urilen "
	             "option 'abs'");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_test:2,~,1,0; sid:1;)", "t.rules:7:63: invalid "
	             "byte_test operator '~'");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_test:9,=,1,0; sid:1;)", "t.rules:7:61: invalid "
	             "number of bytes '9' (1..8)");
	/* 0 bytes: byte_test with string only */
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_test:0,=,1,0; sid:1;)", "t.rules:7:61: invalid "
	             "number of bytes '0' (1..8)");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_jump:0,0,string,dec; sid:1;)", "t.rules:7:61: "
	             "invalid number of bytes '0' (1..20)");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_jump:2,0,bitmask 0xf; sid:1;)", "t.rules:7:65: "
	             "byte_jump takes no bitmask (Suricata's does not)");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_jump:2,0,dce; sid:1;)", "t.rules:7:65: 'dce' "
	             "(DCERPC byte order) is not supported");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "byte_jump:2,0,from_end,from_beginning; sid:1;)",
	             "t.rules:7:51: byte_jump: from_beginning and from_end "
	             "together");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "pcre:\"x\"; sid:1;)",
	             "t.rules:7:57: pcre must start with '/'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "classtype:nope; sid:1;)",
	             "t.rules:7:51: unknown classtype 'nope'");
	expect_error("alert http any any -> any any (msg:\"m\"; "
	             "flow:to_server,no_stream; sid:1;)",
	             "t.rules:7:56: unsupported flow option 'no_stream'");
	expect_error("alert http any any -> any any (msg:\"m\"; nocase:1; "
	             "sid:1;)", "t.rules:7:41: 'nocase' takes no value");
	expect_error("alert http any any -> any any (msg:\"m\"; msg:\"n\"; "
	             "sid:1;)", "t.rules:7:41: duplicate msg");
	expect_error("alert http any", "t.rules:7:15: missing source port");
	{
		char deep[4096];
		int n = 0;

		n += snprintf(deep + n, sizeof(deep) - n, "alert http ");
		for (int i = 0; i < 1000; i++)
			deep[n++] = '[';
		deep[n++] = '1';
		for (int i = 0; i < 1000; i++)
			deep[n++] = ']';
		snprintf(deep + n, sizeof(deep) - n, " any -> any any (msg:\"m\"; "
		         "sid:1;)");
		expect_error(deep, "t.rules:7:28: lists nested too deep");
	}
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"a\"; content:\"bcd\"; within:2; sid:1;)",
	             "t.rules:7:86: within 2 is shorter than the content "
	             "(3 bytes)");
	expect_error("alert http any any -> any any (msg:\"m\"; http.uri; "
	             "content:\"a\"; content:\"b\"; depth:4; distance:0; "
	             "sid:1;)", "t.rules:7:86: 'distance' cannot be combined "
	             "with depth/offset/startswith");
}

static void
test_comments_and_blank(void **state)
{
	struct ips_ruleset rs = { 0 };

	(void)state;
	assert_int_equal(parse(&rs, ""), 0);
	assert_int_equal(parse(&rs, "   \t"), 0);
	assert_int_equal(parse(&rs, "# alert http any any -> any any (sid:1;)"),
	                 0);
	assert_int_equal(rs.n_rules, 0);
}

static void
test_duplicate_sid(void **state)
{
	struct ips_ruleset rs = { 0 };

	(void)state;
	assert_int_equal(parse(&rs, "alert http any any -> any any "
	                 "(msg:\"a\"; sid:42;)"), 1);
	assert_int_equal(parse(&rs, "drop http any any -> any any "
	                 "(msg:\"sid:1\"; sid:42;)"), -1);
	assert_string_equal(errbuf, "t.rules:7:48: duplicate sid 42 "
	                    "(first at t.rules:7)");
	assert_int_equal(rs.n_rules, 1);
	ips_ruleset_free(&rs);
}

struct collected {
	char msgs[8][IPS_ERRBUF_SIZE];
	int n;
};

static void
collect(void *arg, const char *msg)
{
	struct collected *c = arg;

	if (c->n < 8)
		snprintf(c->msgs[c->n++], IPS_ERRBUF_SIZE, "%s", msg);
}

static void
test_file_multiline_and_errors(void **state)
{
	char path[] = "/tmp/test_rule_parse_XXXXXX";
	int fd = mkstemp(path);
	struct ips_ruleset rs = { 0 };
	struct collected col = { .n = 0 };
	char err[IPS_ERRBUF_SIZE], want[IPS_ERRBUF_SIZE];
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# header comment\n"
	        "\n"
	        "alert http any any -> any any (msg:\"one\"; \\\n"
	        "    http.uri; content:\"/a\"; \\\n"
	        "    sid:1;)\n"
	        "alert http any any -> any any (msg:\"bad\"; dsize:3; sid:2;)\r\n"
	        "alert http any any -> any any (msg:\"dup\"; sid:1;)\n"
	        "drop http any any -> any any (msg:\"three\"; sid:3;)");
	fclose(f);
	assert_int_equal(ips_rule_parse_file(&rs, path, &test_opts, collect,
	                                     &col, err, sizeof(err)), 2);
	assert_int_equal(rs.n_rules, 2);
	assert_int_equal(rs.rules[0].sid, 1);
	assert_int_equal(rs.rules[0].line, 3);
	assert_memory_equal(rs.rules[0].conds[0].bytes, "/a", 2);
	assert_int_equal(rs.rules[1].sid, 3);
	assert_int_equal(rs.rules[1].line, 8);
	assert_int_equal(col.n, 2);
	snprintf(want, sizeof(want), "%s:6:43: unsupported keyword 'dsize'",
	         path);
	assert_string_equal(col.msgs[0], want);
	snprintf(want, sizeof(want), "%s:7:47: duplicate sid 1 (first at %s:3)",
	         path, path);
	assert_string_equal(col.msgs[1], want);
	unlink(path);
	ips_ruleset_free(&rs);
	assert_int_equal(ips_rule_parse_file(&rs, "/nonexistent/x.rules",
	                                     &test_opts, collect, &col, err,
	                                     sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.rules"));
}

static void
addr4(uint8_t a[16], uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = x, a[13] = y, a[14] = z, a[15] = w;
}

static void
test_match_tuple(void **state)
{
	struct ips_ruleset rs = { 0 };
	const struct ips_rule *r;
	uint8_t home[16], ext[16], v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	(void)state;
	addr4(home, 192, 0, 2, 9);
	addr4(ext, 198, 51, 100, 1);
	r = parse_one(&rs, "alert http $EXTERNAL_NET any -> $HOME_NET "
	              "$HTTP_PORTS (msg:\"m\"; sid:1;)");
	assert_true(ips_rule_match_tuple(r, ext, 40000, home, 80));
	assert_true(ips_rule_match_tuple(r, ext, 40000, home, 8085));
	assert_false(ips_rule_match_tuple(r, ext, 40000, home, 8091));
	assert_false(ips_rule_match_tuple(r, home, 40000, home, 80));
	assert_false(ips_rule_match_tuple(r, v6, 40000, home, 80));
	assert_true(ips_rule_match_tuple(r, ext, 1, v6, 80));
	/* reversed orientation only for <> */
	assert_false(ips_rule_match_tuple(r, home, 80, ext, 40000));
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert http $EXTERNAL_NET any <> $HOME_NET 80 "
	              "(msg:\"m\"; sid:2;)");
	assert_true(ips_rule_match_tuple(r, home, 80, ext, 40000));
	ips_ruleset_free(&rs);
	r = parse_one(&rs, "alert http 192.0.2.128/25 !80 -> any any "
	              "(msg:\"m\"; sid:3;)");
	assert_false(ips_rule_match_tuple(r, home, 1000, ext, 80));
	home[15] = 200;
	assert_true(ips_rule_match_tuple(r, home, 1000, ext, 80));
	assert_false(ips_rule_match_tuple(r, home, 80, ext, 80));
	ips_ruleset_free(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_fields),
		cmocka_unit_test(test_actions_and_defaults),
		cmocka_unit_test(test_reject_variants),
		cmocka_unit_test(test_all_sticky_buffers),
		cmocka_unit_test(test_legacy_modifiers),
		cmocka_unit_test(test_hex_and_escapes),
		cmocka_unit_test(test_negation_depth_offset),
		cmocka_unit_test(test_distance_within_endswith),
		cmocka_unit_test(test_pcre),
		cmocka_unit_test(test_pcre_relative),
		cmocka_unit_test(test_flowbits_threshold),
		cmocka_unit_test(test_xbits),
		cmocka_unit_test(test_keywords_without_effect),
		cmocka_unit_test(test_suricata_leniency),
		cmocka_unit_test(test_size_and_byte_keywords),
		cmocka_unit_test(test_addresses_ports_vars),
		cmocka_unit_test(test_classification_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_raw_stream),
		cmocka_unit_test(test_raw_stream_errors),
		cmocka_unit_test(test_tls_certs),
		cmocka_unit_test(test_tls_cert_names),
		cmocka_unit_test(test_tls_sni),
		cmocka_unit_test(test_tls_version),
		cmocka_unit_test(test_both_sides_twin),
		cmocka_unit_test(test_response_buffers),
		cmocka_unit_test(test_comments_and_blank),
		cmocka_unit_test(test_duplicate_sid),
		cmocka_unit_test(test_file_multiline_and_errors),
		cmocka_unit_test(test_match_tuple),
	};

	return cmocka_run_group_tests_name("rule_parse", tests, NULL, NULL);
}
