/*
 * hsbench.c - the benchmark's matching limit: Hyperscan alone over exactly
 * the bytes the gateway inspects, with the same compiled databases.
 *
 *   ips-hsbench [--vars-any] [--classification FILE] --rules FILE...
 *               --pcap IN.pcap [--repeat N]
 *
 * Phase 1 (untimed): read the capture, follow each TCP flow's client bytes
 * in order and run the gateway's own HTTP stage over them.  The detect
 * stage is replaced (linker --wrap) by recorders that copy every buffer
 * HTTP hands to detection into one arena: header-side buffers per
 * transaction, and body pieces in the order they arrive.  When raw-stream
 * rules are loaded, each segment's new bytes are recorded too, per flow
 * direction, as the gateway scans them: every TCP flow's client bytes,
 * and its server's when a rule reads them (flow:to_client, no direction).
 * Phase 2 (timed): scan the arena with the databases the gateway uses:
 * hs_scan per header-side buffer (block mode), a reused stream per
 * transaction body and per raw flow direction (hs_reset_stream /
 * hs_scan_stream), as detect.c does.
 * Prints one JSON line: bytes, scans, seconds, Gbit/s, matches.
 *
 * The capture must be loss-free and in order (the traffic generator's
 * are); this tool is a measuring instrument, not a reassembler.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hs/hs.h>

#include "http.h"
#include "ips/detect_db.h"
#include "../unit/wrap_detect.h"

/* ---- the arena of recorded scans ---------------------------------------- */

enum rec_kind { REC_HEADER = 0, REC_BODY_BEGIN, REC_BODY, REC_BODY_END,
                REC_RAW };

struct rec {
	uint8_t kind;
	uint8_t buffer;         /* enum ips_buffer, REC_HEADER */
	uint32_t len;
	uint64_t off;           /* into arena */
	uint64_t dir;           /* REC_RAW: flow direction, in flow order */
};

static uint8_t *arena;
static uint64_t arena_len, arena_cap;
static struct rec *recs;
static uint64_t n_recs, cap_recs;

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "ips-hsbench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void
record(uint8_t kind, uint8_t buffer, const uint8_t *p, uint32_t len)
{
	if (n_recs == cap_recs) {
		cap_recs = cap_recs ? cap_recs * 2 : 1 << 16;
		recs = realloc(recs, cap_recs * sizeof(*recs));
		if (recs == NULL)
			die("%s", "out of memory");
	}
	if (arena_len + len > arena_cap) {
		while (arena_len + len > arena_cap)
			arena_cap = arena_cap ? arena_cap * 2 : 1 << 24;
		arena = realloc(arena, arena_cap);
		if (arena == NULL)
			die("%s", "out of memory");
	}
	recs[n_recs].kind = kind;
	recs[n_recs].buffer = buffer;
	recs[n_recs].len = len;
	recs[n_recs].off = arena_len;
	recs[n_recs].dir = 0;
	n_recs++;
	if (len > 0)
		memcpy(arena + arena_len, p, len);
	arena_len += len;
}

/* ---- detect replaced by recorders (see tests/tools/meson.build) --------- */


/* Record every body: scan_all skips them when no rule reads bodies, as
 * detection does. */
int
__wrap_detect_wants_body(const struct detect_worker *dw)
{
	(void)dw;
	return 1;
}

void
__wrap_detect_txn_begin(struct detect_worker *dw, struct detect_txn *dt)
{
	(void)dw;
	memset(dt, 0, sizeof(*dt));
}

/* Responses are followed when rules read them, as the gateway does. */
static int follow_responses;

int
__wrap_detect_wants_response(const struct detect_worker *dw)
{
	(void)dw;
	return follow_responses;
}

void
__wrap_detect_response_begin(struct detect_worker *dw, struct detect_txn *dt)
{
	__wrap_detect_txn_begin(dw, dt);
	dt->response = 1;
}

/* The body buffer of a transaction's direction. */
static uint8_t
body_buffer(const struct detect_txn *dt)
{
	return dt->response ? IPS_BUF_RESPONSE_BODY : IPS_BUF_REQUEST_BODY;
}

/* The gateway scans a request line's buffers once more when its head
 * spans packets: so does the benchmark. */
int
__wrap_detect_request_line(struct detect_worker *dw, struct detect_txn *dt,
                           const struct detect_bufs *bufs,
                           const struct detect_tuple *t,
                           struct detect_result *res)
{
	(void)dw; (void)t; (void)res;
	if (dt->line_done || dt->headers_done || dt->response)
		return DETECT_NONE;
	dt->line_done = 1;
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		if ((DETECT_LINE_BUFFERS & IPS_BUF_BIT(b)) && bufs->ptr[b] != NULL)
			record(REC_HEADER, (uint8_t)b, bufs->ptr[b], bufs->len[b]);
	return DETECT_NONE;
}

int
__wrap_detect_headers(struct detect_worker *dw, struct detect_txn *dt,
                      const struct detect_bufs *bufs,
                      const struct detect_tuple *t, struct detect_result *res)
{
	(void)dw; (void)t; (void)res;
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		if (!ips_buffer_is_body(b) && bufs->ptr[b] != NULL)
			record(REC_HEADER, (uint8_t)b, bufs->ptr[b], bufs->len[b]);
	dt->headers_done = 1;
	return DETECT_NONE;
}

int
__wrap_detect_body(struct detect_worker *dw, struct detect_txn *dt,
                   const uint8_t *data, uint32_t len,
                   const struct detect_bufs *bufs,
                   const struct detect_tuple *t, struct detect_result *res)
{
	(void)dw; (void)bufs; (void)t; (void)res;
	if (dt->body_stream == NULL) {
		record(REC_BODY_BEGIN, body_buffer(dt), NULL, 0);
		dt->body_stream = (void *)1;    /* "a body is open" */
	}
	record(REC_BODY, body_buffer(dt), data, len);
	return DETECT_NONE;
}

int
__wrap_detect_txn_end(struct detect_worker *dw, struct detect_txn *dt,
                      const struct detect_bufs *bufs,
                      const struct detect_tuple *t, struct detect_result *res)
{
	(void)dw; (void)bufs; (void)t; (void)res;
	if (dt->body_stream != NULL)
		record(REC_BODY_END, body_buffer(dt), NULL, 0);
	dt->body_stream = NULL;
	return DETECT_NONE;
}

void
__wrap_detect_txn_abort(struct detect_worker *dw, struct detect_txn *dt)
{
	__wrap_detect_txn_end(dw, dt, NULL, NULL, NULL);
}

/* ---- phase 1: follow client streams of the capture ----------------------- */

struct flow_slot {
	uint8_t used;
	uint32_t cli_ip, srv_ip;
	uint16_t cli_port, srv_port;
	uint32_t next_seq;
	uint32_t srv_next_seq;
	uint64_t id;            /* per SYN: raw directions 2 id, 2 id + 1 */
	struct http_flow http;
};

/* Which raw directions the rules read (set from the db). */
static int follow_raw_client, follow_raw_server;
static uint64_t flows_started, server_bytes_fed;

static struct flow_slot *flows;
static uint64_t flow_cap;

static struct flow_slot *
flow_find(uint32_t cip, uint16_t cport, uint32_t sip, uint16_t sport,
          int create)
{
	uint64_t h = ((uint64_t)cip * 0x9e3779b97f4a7c15ull) ^
	             ((uint64_t)sip * 0xc2b2ae3d27d4eb4full) ^
	             ((uint64_t)cport << 16 | sport) * 0x165667b19e3779f9ull;

	for (uint64_t i = h % flow_cap;; i = (i + 1) % flow_cap) {
		struct flow_slot *f = &flows[i];

		if (!f->used) {
			if (!create)
				return NULL;
			f->used = 1;
			f->cli_ip = cip; f->srv_ip = sip;
			f->cli_port = cport; f->srv_port = sport;
			return f;
		}
		if (f->cli_ip == cip && f->srv_ip == sip &&
		    f->cli_port == cport && f->srv_port == sport)
			return f;
	}
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One Ethernet/IPv4/TCP frame: in-order client data goes to HTTP (on an
 * HTTP port) and to the client's raw stream, in-order server data to the
 * HTTP response inspection and the server's raw stream, as the rules
 * read them.  Returns client bytes. */
static uint64_t
feed_frame(struct http_worker *hw, const uint8_t *p, uint32_t len,
           const uint16_t *http_ports, unsigned n_ports)
{
	static const struct detect_tuple tuple;
	struct detect_result res;
	uint32_t ihl, thl, ip_len, sip, dip, seq, plen, *next;
	uint16_t sport, dport;
	const uint8_t *ip = p + 14, *tcp, *payload;
	struct flow_slot *f;
	int http = 0, from_client;

	if (len < 14 + 20 || be16(p + 12) != 0x0800 || (ip[0] >> 4) != 4 ||
	    ip[9] != 6)
		return 0;
	ihl = (ip[0] & 15u) * 4;
	ip_len = be16(ip + 2);
	if (ihl < 20 || 14 + ip_len > len || ip_len < ihl + 20)
		return 0;
	tcp = ip + ihl;
	thl = (uint32_t)(tcp[12] >> 4) * 4;
	if (thl < 20 || ihl + thl > ip_len)
		return 0;
	sip = be32(ip + 12); dip = be32(ip + 16);
	sport = be16(tcp); dport = be16(tcp + 2);
	seq = be32(tcp + 4);
	payload = tcp + thl;
	plen = ip_len - ihl - thl;
	if ((tcp[13] & 0x12) == 0x02) {         /* SYN: a flow begins */
		f = flow_find(sip, sport, dip, dport, 1);
		if (f->http.txn != NULL || f->http.state != 0)
			http_flow_release(hw, &f->http);
		memset(&f->http, 0, sizeof(f->http));
		f->next_seq = seq + 1;
		f->id = flows_started++;
		return 0;
	}
	f = flow_find(sip, sport, dip, dport, 0);
	from_client = f != NULL;
	if (f == NULL && (f = flow_find(dip, dport, sip, sport, 0)) == NULL)
		return 0;               /* begun before the capture */
	if (tcp[13] & 0x02) {                   /* SYN-ACK */
		f->srv_next_seq = seq + 1;
		return 0;
	}
	next = from_client ? &f->next_seq : &f->srv_next_seq;
	if (plen == 0 || seq != *next)
		return 0;               /* in-order captures only: see above */
	*next += plen;
	for (unsigned i = 0; i < n_ports; i++)
		http |= f->srv_port == http_ports[i];
	if (!from_client) {
		if (http && follow_responses) {
			memset(&res, 0, sizeof(res));
			http_response_data(hw, &f->http, payload, plen, &tuple,
			                   &res);
		}
		if (follow_raw_server) {
			record(REC_RAW, IPS_BUF_STREAM, payload, plen);
			recs[n_recs - 1].dir = 2 * f->id + 1;
		}
		server_bytes_fed += plen;
		return 0;
	}
	if (http) {
		memset(&res, 0, sizeof(res));
		http_request_data(hw, &f->http, payload, plen, &tuple, &res);
	}
	if (follow_raw_client) {
		record(REC_RAW, IPS_BUF_STREAM, payload, plen);
		recs[n_recs - 1].dir = 2 * f->id;
	}
	return plen;
}

static uint64_t
extract(const char *pcap, struct http_worker *hw)
{
	static const uint16_t ports[] = { 80, 8080 };
	uint8_t hdr[24], rh[16];
	uint8_t *frame = malloc(262144);
	uint64_t fed = 0;
	FILE *f = fopen(pcap, "rb");

	if (f == NULL || frame == NULL)
		die("%s: cannot read", pcap);
	if (fread(hdr, sizeof(hdr), 1, f) != 1 ||
	    (memcmp(hdr, "\xd4\xc3\xb2\xa1", 4) != 0 &&
	     memcmp(hdr, "\x4d\x3c\xb2\xa1", 4) != 0))
		die("%s: not a little-endian classic pcap", pcap);
	while (fread(rh, sizeof(rh), 1, f) == 1) {
		uint32_t caplen = (uint32_t)rh[8] | (uint32_t)rh[9] << 8 |
		                  (uint32_t)rh[10] << 16 | (uint32_t)rh[11] << 24;

		if (caplen > 262144 || fread(frame, 1, caplen, f) != caplen)
			die("%s: truncated record", pcap);
		fed += feed_frame(hw, frame, caplen, ports, 2);
	}
	fclose(f);
	free(frame);
	return fed;
}

/* ---- phase 2: the timed scan --------------------------------------------- */

static int
on_match(unsigned id, unsigned long long from, unsigned long long to,
         unsigned flags, void *ctx)
{
	(void)id; (void)from; (void)to; (void)flags;
	(*(uint64_t *)ctx)++;
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Raw records by flow direction, each direction's in arrival order: the
 * gateway keeps one stream per direction open; here one stream is reset
 * between directions (the same scans, one stream's memory). */
static uint64_t *raw_order;
static uint64_t n_raw;

static int
raw_cmp(const void *a, const void *b)
{
	const struct rec *x = &recs[*(const uint64_t *)a];
	const struct rec *y = &recs[*(const uint64_t *)b];

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void
order_raw(void)
{
	raw_order = malloc((n_recs ? n_recs : 1) * sizeof(*raw_order));
	if (raw_order == NULL)
		die("%s", "out of memory");
	for (uint64_t i = 0; i < n_recs; i++)
		if (recs[i].kind == REC_RAW)
			raw_order[n_raw++] = i;
	qsort(raw_order, n_raw, sizeof(*raw_order), raw_cmp);
}

static void
scan_raw(hs_stream_t *raw, hs_scratch_t *scratch, uint64_t *bytes,
         uint64_t *scans, uint64_t *matches)
{
	for (uint64_t i = 0; i < n_raw; i++) {
		const struct rec *r = &recs[raw_order[i]];

		if (i > 0 && recs[raw_order[i - 1]].dir != r->dir)
			hs_reset_stream(raw, 0, NULL, NULL, NULL);
		hs_scan_stream(raw, (const char *)arena + r->off, r->len, 0,
		               scratch, on_match, matches);
		*bytes += r->len;
		(*scans)++;
	}
	if (n_raw > 0)
		hs_reset_stream(raw, 0, NULL, NULL, NULL);
}

static double
scan_all(const struct ips_detect_db *db, hs_scratch_t *scratch,
         hs_stream_t *const *streams, hs_stream_t *raw, uint64_t *bytes,
         uint64_t *scans, uint64_t *matches)
{
	double t0 = now_s();

	for (uint64_t i = 0; i < n_recs; i++) {
		const struct rec *r = &recs[i];
		hs_database_t *d = db->db[r->buffer];
		hs_stream_t *stream = streams[r->buffer];

		if (d == NULL)
			continue;       /* no rule reads it: detect skips it too */
		switch (r->kind) {
		case REC_HEADER:
			hs_scan(d, (const char *)arena + r->off, r->len, 0,
			        scratch, on_match, matches);
			break;
		case REC_BODY_BEGIN:
			hs_reset_stream(stream, 0, NULL, NULL, NULL);
			continue;
		case REC_BODY:
			hs_scan_stream(stream, (const char *)arena + r->off, r->len,
			               0, scratch, on_match, matches);
			break;
		case REC_BODY_END:
			hs_reset_stream(stream, 0, scratch, on_match, matches);
			continue;
		case REC_RAW:
			continue;       /* scan_raw, by direction */
		}
		*bytes += r->len;
		(*scans)++;
	}
	if (raw != NULL)
		scan_raw(raw, scratch, bytes, scans, matches);
	return now_s() - t0;
}

/* The raw directions the gateway scans with these rules (detect.c: every
 * client stream; the server's when a rule has no to_server). */
static void
raw_directions(const struct ips_detect_db *db)
{
	follow_raw_client = db->db[IPS_BUF_STREAM] != NULL;
	for (uint32_t r = 0; follow_raw_client && r < db->rules.n_rules; r++)
		if ((db->meta[r].buffers & IPS_BUF_BIT(IPS_BUF_STREAM)) &&
		    !(db->rules.rules[r].flow_flags & IPS_FLOW_TO_SERVER))
			follow_raw_server = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ips-hsbench [--classification FILE] "
	        "[--repeat N] --pcap IN.pcap --rules FILE...\n");
	exit(2);
}

static void
report_rule_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "ips-hsbench: %s\n", msg);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "pcap", required_argument, NULL, 'p' },
		{ "classification", required_argument, NULL, 'c' },
		{ "repeat", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct ips_rule_var vars[] = {
		{ "HOME_NET", "any" }, { "EXTERNAL_NET", "any" },
		{ "HTTP_SERVERS", "any" }, { "HTTP_PORTS", "[80,8080]" },
	};
	struct ips_parse_opts po = { .vars = vars, .n_vars = 4 };
	struct ips_ruleset rs = { 0 };
	const char *pcap = NULL;
	unsigned repeat = 3;
	char err[IPS_ERRBUF_SIZE];
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "r:p:c:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (ips_rule_parse_file(&rs, optarg, &po, report_rule_error,
			                        NULL, err, sizeof(err)) != 0)
				bad = 1;
			break;
		case 'p': pcap = optarg; break;
		case 'c': po.classification_file = optarg; break;
		case 'n': repeat = (unsigned)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (pcap == NULL || rs.n_rules == 0 || repeat == 0)
		usage();
	if (bad)
		die("%s", "bad rules");

	struct ips_detect_db *db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (db == NULL)
		die("%s", err);
	static const struct detect_pools pools = {
		.body_streams = 16, .response_bodies = 16, .raw_streams = 16,
		.raw_windows = 16 };
	struct detect_worker *dw = detect_worker_create(db, &pools, NULL, err,
	                                                sizeof(err));
	struct worker_stats ws;
	memset(&ws, 0, sizeof(ws));
	/* Enough for the generator's concurrency (flows with a request in
	 * progress at once), at the gateway's default header limit. */
	struct http_conf hc = { .max_txns = 8192, .max_header_bytes = 16384,
	                        .drop_ambiguous = 0, .drop_malformed = 0,
	                        .max_header_arenas = 8192,
	                        .max_responses = 8192,
	                        .max_decoders = 8192,
	                        .body_limit = 102400 };
	struct http_worker *hw;

	flow_cap = 1u << 22;
	flows = calloc(flow_cap, sizeof(*flows));
	if (dw == NULL || flows == NULL)
		die("%s", dw == NULL ? err : "out of memory");
	hw = http_worker_create(&hc, dw, &ws);
	if (hw == NULL)
		die("%s", "http worker");
	raw_directions(db);
	follow_responses = db->db[IPS_BUF_STAT_CODE] != NULL ||
	                   db->db[IPS_BUF_RESPONSE_BODY] != NULL;
	uint64_t fed = extract(pcap, hw);

	order_raw();
	hs_scratch_t *scratch = NULL;
	hs_stream_t *streams[IPS_BUF_COUNT] = { NULL }, *raw = NULL;
	if (ips_detect_db_alloc_scratch(db, &scratch, err, sizeof(err)) != 0)
		die("%s", err);
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		if (ips_buffer_is_body(b) && db->db[b] != NULL &&
		    hs_open_stream(db->db[b], 0, &streams[b]) != HS_SUCCESS)
			die("%s", "hs_open_stream");
	if (follow_raw_client &&
	    hs_open_stream(db->db[IPS_BUF_STREAM], 0, &raw) != HS_SUCCESS)
		die("%s", "hs_open_stream");

	/* Best of `repeat` passes: the figure is the cost of matching, not
	 * of a cold cache or a preempted run. */
	double best = 0;
	uint64_t bytes = 0, scans = 0, matches = 0;
	for (unsigned i = 0; i < repeat; i++) {
		uint64_t b = 0, s = 0, m = 0;
		double t = scan_all(db, scratch, streams, raw, &b, &s, &m);

		if (i == 0 || t < best)
			best = t;
		bytes = b; scans = s; matches = m;
	}
	printf("{\"client_bytes_fed\":%llu,\"server_bytes_fed\":%llu,"
	       "\"raw_directions\":\"%s\",\"requests\":%llu,\"bytes_scanned\":%llu,"
	       "\"scans\":%llu,\"matches\":%llu,\"seconds\":%.6f,\"gbps\":%.3f,"
	       "\"rules\":%u,\"compile_seconds\":%.3f}\n",
	       (unsigned long long)fed, (unsigned long long)server_bytes_fed,
	       follow_raw_server ? "both" : follow_raw_client ? "client" : "none",
	       (unsigned long long)ws.http_requests,
	       (unsigned long long)bytes, (unsigned long long)scans,
	       (unsigned long long)matches, best,
	       best > 0 ? (double)bytes * 8 / best / 1e9 : 0.0,
	       ips_ruleset_count(&db->rules), db->compile_seconds);
	return 0;
}
