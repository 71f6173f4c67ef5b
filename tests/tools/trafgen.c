/*
 * trafgen.c - ips-trafgen: writes a deterministic classic pcap of HTTP/1.1
 * traffic for the replay benchmark, plus a JSON ground-truth sidecar.
 *
 * Owns the command line, the flow scheduler (N concurrent TCP flows,
 * interleaved one segment at a time), the TCP state of each flow
 * (handshake, MSS segments, ACKs, FIN teardown), the Ethernet/IPv4/TCP
 * record writer with checksums, the attack substitution and the truth
 * counters.  HTTP content comes from trafgen_http.c.
 *
 * Records are built in place in one large buffer written in big chunks:
 * no per-packet syscall, so the generator runs at memcpy + checksum speed.
 *
 * --open-flows N is the benchmark's memory run: N connections each do a
 * handshake and one small request/response, all before the first one
 * closes, so the gateway tracks N idle flows at once; then all close.
 * With --unfinished each sends only the head of a POST whose body never
 * comes (the server acknowledges it, never answers): N requests are in
 * progress at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "trafgen.h"

#define TG_OUT_BUF_BYTES  (32u << 20)
#define TG_MAX_MSS        9000u
#define TG_MIN_MSS        64u
#define TG_PCAP_REC_HDR   16u
#define TG_ETH_HDR        14u
#define TG_IP_HDR         20u
#define TG_TCP_HDR        20u
#define TG_TCP_SYN_OPTS   12u   /* MSS, NOP, WS, NOP, NOP, SACK-permitted */
#define TG_MAX_RECORD     (TG_PCAP_REC_HDR + TG_ETH_HDR + TG_IP_HDR + \
			   TG_TCP_HDR + TG_TCP_SYN_OPTS + TG_MAX_MSS)

#define TG_TH_FIN 0x01
#define TG_TH_SYN 0x02
#define TG_TH_PSH 0x08
#define TG_TH_ACK 0x10

/* Client (address, port) space: 508 documentation addresses x ports
 * 1024..65535.  Flow k takes the (k * TG_TUPLE_MUL + off) mod TG_TUPLES
 * element: a bijection (TG_TUPLE_MUL is a prime not dividing TG_TUPLES =
 * 2^12 * 3^2 * 7 * 127), so 4-tuples never repeat within one file. */
#define TG_CLIENT_ADDRS   508u
#define TG_CLIENT_PORTS   64512u
#define TG_TUPLES         ((uint64_t)TG_CLIENT_ADDRS * TG_CLIENT_PORTS)
#define TG_TUPLE_MUL      1000003u
#define TG_SERVERS        16u

/* 2026-01-01T00:00:00Z: a fixed epoch keeps the file seed-determined. */
#define TG_EPOCH_US       (1767225600ULL * 1000000ULL)

enum tg_state {
	TG_ST_SYN = 0,
	TG_ST_SYNACK,
	TG_ST_HS_ACK,
	TG_ST_REQ,              /* client sends request segments */
	TG_ST_REQ_ACK,          /* server acknowledges two of them */
	TG_ST_RESP,
	TG_ST_RESP_ACK,
	TG_ST_FIN_C,            /* client closes the keep-alive connection */
	TG_ST_FIN_S_ACK,        /* four-way close: server ACK before its FIN */
	TG_ST_FIN_S,
	TG_ST_FIN_C_ACK,
	TG_ST_DONE,
};

struct tg_flow {
	enum tg_state state;
	uint64_t index;         /* flow number in the file */
	uint8_t caddr[4], saddr[4];
	uint16_t cport, sport;
	uint32_t cseq, sseq;    /* next sequence number each side sends */
	uint16_t cip_id, sip_id;
	uint8_t cttl;
	unsigned unacked;       /* data segments since the peer last ACKed */
	uint32_t requests_left;
	bool last;              /* current request is the flow's last */
	bool four_way;
	bool in_request;        /* msg holds a request (else a response) */
	struct tg_req_info req;
	struct tg_client client;
	struct tg_rng rng;
	struct tg_msg msg;
	struct tg_arena arena;
};

struct tg_attack {
	int64_t sid;
	const uint8_t *text;
	size_t len;
};

struct tg_opts {
	const char *out;
	const char *truth;
	const char *attacks;
	uint64_t seed;
	uint64_t flows;         /* 0: unlimited (size decides) */
	uint64_t size;          /* 0: unlimited (flows decide) */
	uint64_t open_flows;    /* memory run: all open before any closes */
	bool unfinished;        /* ... each with a request in progress */
	uint32_t concurrency;
	uint32_t mss;
	uint64_t max_body;
	double requests_mean;
	uint32_t max_requests;
	double attack_fraction;
	bool api_profile;       /* --profile api */
};

struct tg_stats {
	uint64_t flows, packets, bytes;
	uint64_t requests, benign_requests, attack_requests;
	uint64_t chunked_requests, post_requests, responses;
	uint64_t l7_client_bytes, l7_server_bytes;
	uint64_t client_packets, server_packets;
};

struct tg_gen {
	struct tg_opts opt;
	struct tg_rng sched;
	int fd;
	uint8_t *buf;
	size_t used;
	uint64_t ts_us;
	uint64_t tuple_off;
	bool draining;          /* size reached: flows finish their request */
	struct tg_flow *flows;  /* concurrency slots */
	uint32_t active;
	struct tg_attack *attack;
	size_t nattacks;
	size_t next_attack;
	int64_t *attack_count;  /* per attack entry */
	json_t *attack_flows;
	struct tg_stats st;
};

/* ---- output ------------------------------------------------------------ */

static void
tg_die(const char *what, const char *detail)
{
	fprintf(stderr, "ips-trafgen: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	exit(2);
}

static void
tg_flush(struct tg_gen *g)
{
	size_t off = 0;

	while (off < g->used) {
		ssize_t n = write(g->fd, g->buf + off, g->used - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			tg_die("write failed", strerror(errno));
		off += (size_t)n;
	}
	g->used = 0;
}

static inline void
tg_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
tg_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* pcap header fields are in host order; the file says which by magic. */
static inline void
tg_put32_host(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/*
 * Internet checksum partial sum in host word order (RFC 1071 section 2(B):
 * the ones' complement sum is byte-order independent, so summing native
 * words and storing the folded result natively gives the network-order
 * checksum).  Eight bytes per step with 32-bit halves so a 64-bit
 * accumulator cannot overflow for any frame.
 */
static uint64_t
tg_csum_add(uint64_t acc, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
		p += 8;
		n -= 8;
	}
	while (n >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		n -= 2;
	}
	if (n) {
		uint16_t w = 0;

		memcpy(&w, p, 1);
		acc += w;
	}
	return acc;
}

static uint16_t
tg_csum_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static void
tg_mac(uint8_t *mac, const uint8_t *addr, uint8_t role)
{
	mac[0] = 0x02;          /* locally administered, unicast */
	mac[1] = role;
	memcpy(mac + 2, addr, 4);
}

/*
 * Writes one Ethernet/IPv4/TCP record with len payload bytes taken from
 * the flow's message, and advances that side's sequence number.
 */
static void
tg_emit(struct tg_gen *g, struct tg_flow *f, bool from_client, uint8_t flags,
	uint32_t len)
{
	uint32_t opts = (flags & TG_TH_SYN) ? TG_TCP_SYN_OPTS : 0;
	uint32_t tcp_len = TG_TCP_HDR + opts + len;
	uint32_t frame = TG_ETH_HDR + TG_IP_HDR + tcp_len;
	const uint8_t *src = from_client ? f->caddr : f->saddr;
	const uint8_t *dst = from_client ? f->saddr : f->caddr;
	uint32_t *seq = from_client ? &f->cseq : &f->sseq;
	uint32_t ack = from_client ? f->sseq : f->cseq;
	uint8_t *rec, *eth, *ip, *tcp;
	uint8_t pseudo[12];
	uint16_t sum;

	if (g->used + TG_MAX_RECORD > TG_OUT_BUF_BYTES)
		tg_flush(g);
	rec = g->buf + g->used;
	g->ts_us += 1 + tg_rng_below(&g->sched, 24);
	tg_put32_host(rec, (uint32_t)(g->ts_us / 1000000));
	tg_put32_host(rec + 4, (uint32_t)(g->ts_us % 1000000));
	tg_put32_host(rec + 8, frame);
	tg_put32_host(rec + 12, frame);

	eth = rec + TG_PCAP_REC_HDR;
	tg_mac(eth, dst, from_client ? 0x5e : 0xc1);
	tg_mac(eth + 6, src, from_client ? 0xc1 : 0x5e);
	tg_put16(eth + 12, 0x0800);

	ip = eth + TG_ETH_HDR;
	ip[0] = 0x45;
	ip[1] = 0;
	tg_put16(ip + 2, (uint16_t)(TG_IP_HDR + tcp_len));
	tg_put16(ip + 4, from_client ? f->cip_id++ : f->sip_id++);
	tg_put16(ip + 6, 0x4000);               /* DF */
	ip[8] = from_client ? f->cttl : 64;
	ip[9] = 6;
	ip[10] = ip[11] = 0;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	sum = tg_csum_fold(tg_csum_add(0, ip, TG_IP_HDR));
	memcpy(ip + 10, &sum, 2);

	tcp = ip + TG_IP_HDR;
	tg_put16(tcp, from_client ? f->cport : f->sport);
	tg_put16(tcp + 2, from_client ? f->sport : f->cport);
	tg_put32(tcp + 4, *seq);
	tg_put32(tcp + 8, (flags & TG_TH_ACK) ? ack : 0);
	tcp[12] = (uint8_t)(((TG_TCP_HDR + opts) / 4) << 4);
	tcp[13] = flags;
	/* SYNs advertise 64240 unscaled; later windows are scaled by 2^7. */
	tg_put16(tcp + 14, (flags & TG_TH_SYN) ? 64240 : 502);
	tcp[16] = tcp[17] = tcp[18] = tcp[19] = 0;
	if (opts) {
		static const uint8_t tmpl[TG_TCP_SYN_OPTS] = {
			2, 4, 0, 0, 1, 3, 3, 7, 1, 1, 4, 2,
		};

		memcpy(tcp + TG_TCP_HDR, tmpl, sizeof(tmpl));
		tg_put16(tcp + TG_TCP_HDR + 2, (uint16_t)g->opt.mss);
	}
	if (len)
		tg_msg_read(&f->msg, tcp + TG_TCP_HDR + opts, len);

	memcpy(pseudo, src, 4);
	memcpy(pseudo + 4, dst, 4);
	pseudo[8] = 0;
	pseudo[9] = 6;
	tg_put16(pseudo + 10, (uint16_t)tcp_len);
	sum = tg_csum_fold(tg_csum_add(tg_csum_add(0, pseudo, 12), tcp,
				       tcp_len));
	memcpy(tcp + 16, &sum, 2);

	*seq += len + ((flags & (TG_TH_SYN | TG_TH_FIN)) ? 1 : 0);
	g->used += TG_PCAP_REC_HDR + frame;
	g->st.bytes += TG_PCAP_REC_HDR + frame;
	g->st.packets++;
	if (from_client) {
		g->st.client_packets++;
		g->st.l7_client_bytes += len;
	} else {
		g->st.server_packets++;
		g->st.l7_server_bytes += len;
	}
}

static void
tg_write_pcap_header(struct tg_gen *g)
{
	uint8_t *h = g->buf + g->used;
	uint16_t major = 2, minor = 4;

	tg_put32_host(h, 0xa1b2c3d4);           /* microsecond timestamps */
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memset(h + 8, 0, 8);                    /* thiszone, sigfigs */
	tg_put32_host(h + 16, 65535);           /* snaplen */
	tg_put32_host(h + 20, 1);               /* LINKTYPE_ETHERNET */
	g->used += 24;
	g->st.bytes += 24;
}

/* ---- flows ------------------------------------------------------------- */

static void
tg_client_addr(uint8_t *a, uint32_t idx)
{
	if (idx < 254) {
		memcpy(a, "\xc6\x33\x64", 3);   /* 198.51.100.0/24 */
		a[3] = (uint8_t)(1 + idx);
	} else {
		memcpy(a, "\xcb\x00\x71", 3);   /* 203.0.113.0/24 */
		a[3] = (uint8_t)(1 + idx - 254);
	}
}

/* Requests on one connection: 1 + geometric with the configured mean. */
static uint32_t
tg_requests_per_flow(struct tg_gen *g, struct tg_rng *r)
{
	double more = 1.0 - 1.0 / g->opt.requests_mean;
	uint32_t n = 1;

	while (n < g->opt.max_requests && tg_rng_chance(r, more))
		n++;
	return n;
}

static void
tg_flow_start(struct tg_gen *g, struct tg_flow *f)
{
	uint64_t k = g->st.flows++;
	uint64_t t = (k * TG_TUPLE_MUL + g->tuple_off) % TG_TUPLES;
	uint64_t fseed = g->opt.seed ^ (k * 0xd1b54a32d192ed03ULL);
	struct tg_rng *r = &f->rng;

	f->index = k;
	f->state = TG_ST_SYN;
	/* Per-flow stream: a flow's bytes do not depend on interleaving. */
	tg_rng_seed(r, fseed);
	tg_client_addr(f->caddr, (uint32_t)(t % TG_CLIENT_ADDRS));
	f->cport = (uint16_t)(1024 + t / TG_CLIENT_ADDRS);
	tg_http_client_init(&f->client, r, g->opt.api_profile);
	memcpy(f->saddr, "\xc0\x00\x02", 3);    /* 192.0.2.0/24 */
	f->saddr[3] = (uint8_t)(10 + f->client.host % TG_SERVERS);
	f->sport = f->client.port8080 ? 8080 : 80;
	f->cseq = (uint32_t)tg_rng_next(r);
	f->sseq = (uint32_t)tg_rng_next(r);
	f->cip_id = (uint16_t)tg_rng_next(r);
	f->sip_id = (uint16_t)tg_rng_next(r);
	f->cttl = tg_rng_chance(r, 0.3) ? 128 : 64;
	f->unacked = 0;
	f->requests_left = tg_requests_per_flow(g, r);
	f->last = false;
	f->four_way = tg_rng_chance(r, 0.5);
	f->msg.arena = &f->arena;
	tg_msg_reset(&f->msg);
}

static void
tg_note_attack(struct tg_gen *g, struct tg_flow *f, size_t i)
{
	char c[32], s[32];
	json_t *o;

	g->attack_count[i]++;
	g->st.attack_requests++;
	snprintf(c, sizeof(c), "%u.%u.%u.%u:%u", f->caddr[0], f->caddr[1],
		 f->caddr[2], f->caddr[3], f->cport);
	snprintf(s, sizeof(s), "%u.%u.%u.%u:%u", f->saddr[0], f->saddr[1],
		 f->saddr[2], f->saddr[3], f->sport);
	o = json_pack("{s:I, s:s, s:s, s:I, s:I}", "sid",
		      (json_int_t)g->attack[i].sid, "client", c, "server", s,
		      "flow", (json_int_t)f->index,
		      "request_index", (json_int_t)f->client.nreq);
	if (!o || json_array_append_new(g->attack_flows, o) != 0)
		tg_die("out of memory", NULL);
}

/* Loads the flow's next request: an attack (which ends the flow, as the
 * gateway would block everything after it) or a benign one. */
static void
tg_flow_next_request(struct tg_gen *g, struct tg_flow *f)
{
	f->requests_left--;
	f->last = f->requests_left == 0 || g->draining;
	f->in_request = true;
	f->unacked = 0;
	g->st.requests++;
	if (g->nattacks && tg_rng_chance(&f->rng, g->opt.attack_fraction)) {
		size_t i = g->next_attack;

		g->next_attack = (i + 1) % g->nattacks;
		f->client.nreq++;
		tg_note_attack(g, f, i);
		tg_msg_reset(&f->msg);
		tg_msg_add(&f->msg, g->attack[i].text, 0, g->attack[i].len, 0);
		memset(&f->req, 0, sizeof(f->req));
		f->req.kind = TG_REQ_ATTACK;
		f->last = true;
		return;
	}
	g->st.benign_requests++;
	tg_http_request(&f->msg, &f->req, &f->client, &f->rng,
			g->opt.max_body);
	if (f->req.kind == TG_REQ_POST_FORM || f->req.kind == TG_REQ_POST_JSON)
		g->st.post_requests++;
	if (f->req.chunked)
		g->st.chunked_requests++;
}

static void
tg_flow_response(struct tg_gen *g, struct tg_flow *f)
{
	f->in_request = false;
	f->unacked = 0;
	g->st.responses++;
	tg_http_response(&f->msg, &f->req, &f->client, &f->rng,
			 (int64_t)(g->ts_us / 1000000));
}

/* One data segment of the current message; PSH marks the message end. */
static bool
tg_flow_data(struct tg_gen *g, struct tg_flow *f, bool from_client)
{
	uint64_t left = tg_msg_left(&f->msg);
	uint32_t len = left < g->opt.mss ? (uint32_t)left : g->opt.mss;
	bool end = len == left;

	tg_emit(g, f, from_client, TG_TH_ACK | (end ? TG_TH_PSH : 0), len);
	f->unacked++;
	return end;
}

/* Emits the flow's next packet and moves its state on. */
static void
tg_flow_step(struct tg_gen *g, struct tg_flow *f)
{
	switch (f->state) {
	case TG_ST_SYN:
		tg_emit(g, f, true, TG_TH_SYN, 0);
		f->state = TG_ST_SYNACK;
		break;
	case TG_ST_SYNACK:
		tg_emit(g, f, false, TG_TH_SYN | TG_TH_ACK, 0);
		f->state = TG_ST_HS_ACK;
		break;
	case TG_ST_HS_ACK:
		tg_emit(g, f, true, TG_TH_ACK, 0);
		tg_flow_next_request(g, f);
		f->state = TG_ST_REQ;
		break;
	case TG_ST_REQ:
		if (tg_flow_data(g, f, true)) {
			/* The response's first segment acknowledges the
			 * request's tail (delayed ACK piggybacks). */
			tg_flow_response(g, f);
			f->state = TG_ST_RESP;
		} else if (f->unacked == 2) {
			f->state = TG_ST_REQ_ACK;
		}
		break;
	case TG_ST_REQ_ACK:
		tg_emit(g, f, false, TG_TH_ACK, 0);
		f->unacked = 0;
		f->state = TG_ST_REQ;
		break;
	case TG_ST_RESP:
		if (tg_flow_data(g, f, false)) {
			if (f->last || g->draining) {
				f->state = TG_ST_FIN_C;
			} else {
				tg_flow_next_request(g, f);
				f->state = TG_ST_REQ;
			}
		} else if (f->unacked == 2) {
			f->state = TG_ST_RESP_ACK;
		}
		break;
	case TG_ST_RESP_ACK:
		tg_emit(g, f, true, TG_TH_ACK, 0);
		f->unacked = 0;
		f->state = TG_ST_RESP;
		break;
	case TG_ST_FIN_C:
		tg_emit(g, f, true, TG_TH_FIN | TG_TH_ACK, 0);
		f->state = f->four_way ? TG_ST_FIN_S_ACK : TG_ST_FIN_S;
		break;
	case TG_ST_FIN_S_ACK:
		tg_emit(g, f, false, TG_TH_ACK, 0);
		f->state = TG_ST_FIN_S;
		break;
	case TG_ST_FIN_S:
		tg_emit(g, f, false, TG_TH_FIN | TG_TH_ACK, 0);
		f->state = TG_ST_FIN_C_ACK;
		break;
	case TG_ST_FIN_C_ACK:
		tg_emit(g, f, true, TG_TH_ACK, 0);
		f->state = TG_ST_DONE;
		break;
	case TG_ST_DONE:
		break;
	}
}

static bool
tg_may_start_flow(const struct tg_gen *g)
{
	if (g->opt.flows && g->st.flows >= g->opt.flows)
		return false;
	return !g->draining && g->st.flows < TG_TUPLES;
}

/* Steps a random active flow until every flow has closed. */
static void
tg_run(struct tg_gen *g)
{
	while (g->active < g->opt.concurrency && tg_may_start_flow(g))
		tg_flow_start(g, &g->flows[g->active++]);
	while (g->active) {
		uint32_t i = tg_rng_below(&g->sched, g->active);
		struct tg_flow *f = &g->flows[i];

		tg_flow_step(g, f);
		if (g->opt.size && g->st.bytes >= g->opt.size)
			g->draining = true;
		if (f->state != TG_ST_DONE)
			continue;
		if (tg_may_start_flow(g)) {
			tg_flow_start(g, f);
			continue;
		}
		/* Slot i takes the last active flow; its pieces point into
		 * its own arena, so the arena moves with it. */
		g->active--;
		if (i != g->active) {
			*f = g->flows[g->active];
			tg_msg_rebase(&f->msg, &g->flows[g->active].arena,
				      &f->arena);
		}
	}
	tg_flush(g);
}

/* ---- memory run: N flows open at once ----------------------------------- */

/* What a flow needs to be closed later; the full tg_flow (with its 8 KB
 * arena) is one shared scratch slot. */
struct tg_open {
	uint8_t caddr[4], saddr[4];
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	uint16_t cip_id, sip_id;
	uint8_t cttl;
};

static void
tg_open_save(struct tg_open *o, const struct tg_flow *f)
{
	memcpy(o->caddr, f->caddr, 4);
	memcpy(o->saddr, f->saddr, 4);
	o->cport = f->cport;
	o->sport = f->sport;
	o->cseq = f->cseq;
	o->sseq = f->sseq;
	o->cip_id = f->cip_id;
	o->sip_id = f->sip_id;
	o->cttl = f->cttl;
}

static void
tg_open_restore(struct tg_flow *f, const struct tg_open *o)
{
	memcpy(f->caddr, o->caddr, 4);
	memcpy(f->saddr, o->saddr, 4);
	f->cport = o->cport;
	f->sport = o->sport;
	f->cseq = o->cseq;
	f->sseq = o->sseq;
	f->cip_id = o->cip_id;
	f->sip_id = o->sip_id;
	f->cttl = o->cttl;
	tg_msg_reset(&f->msg);
}

/* The head of a browser's form upload, the body left to come. */
static void
tg_open_unfinished(struct tg_gen *g, struct tg_flow *f)
{
	tg_msg_printf(&f->msg, "POST /api/v1/orders?id=%" PRIu64 " HTTP/1.1\r\n"
		      "Host: shop.example.com\r\nUser-Agent: Mozilla/5.0 "
		      "(X11; Linux x86_64; rv:120.0) Gecko/20100101 "
		      "Firefox/120.0\r\nAccept: text/html,application/xhtml"
		      "+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
		      "Accept-Language: en-US,en;q=0.5\r\n"
		      "Accept-Encoding: gzip, deflate, br\r\n"
		      "Content-Type: application/x-www-form-urlencoded\r\n"
		      "Cookie: session=%016" PRIx64 "%016" PRIx64 "; theme=dark"
		      "\r\nContent-Length: 1048576\r\n\r\n", f->index,
		      (uint64_t)(f->index * 0x9e3779b97f4a7c15ULL),
		      (uint64_t)~f->index);
	g->st.requests++;
	g->st.benign_requests++;
	g->st.post_requests++;
	tg_emit(g, f, true, TG_TH_ACK | TG_TH_PSH,
		(uint32_t)tg_msg_left(&f->msg));
	tg_emit(g, f, false, TG_TH_ACK, 0);
}

/* Handshake, one single-segment GET, its 204 answer, the client's ACK:
 * the flow is then established with no transaction in progress (with
 * --unfinished: a POST head, acknowledged, its transaction in
 * progress). */
static void
tg_open_one(struct tg_gen *g, struct tg_flow *f)
{
	tg_flow_start(g, f);
	tg_emit(g, f, true, TG_TH_SYN, 0);
	tg_emit(g, f, false, TG_TH_SYN | TG_TH_ACK, 0);
	tg_emit(g, f, true, TG_TH_ACK, 0);
	f->arena.used = 0;
	tg_msg_reset(&f->msg);
	if (g->opt.unfinished) {
		tg_open_unfinished(g, f);
		return;
	}
	tg_msg_printf(&f->msg, "GET /status?id=%" PRIu64 " HTTP/1.1\r\n"
		      "Host: api.example.com\r\nUser-Agent: curl/8.5.0\r\n"
		      "Accept: */*\r\n\r\n", f->index);
	g->st.requests++;
	g->st.benign_requests++;
	tg_emit(g, f, true, TG_TH_ACK | TG_TH_PSH,
		(uint32_t)tg_msg_left(&f->msg));
	f->arena.used = 0;
	tg_msg_reset(&f->msg);
	tg_msg_printf(&f->msg, "HTTP/1.1 204 No Content\r\nServer: nginx\r\n"
		      "Connection: keep-alive\r\n\r\n");
	g->st.responses++;
	tg_emit(g, f, false, TG_TH_ACK | TG_TH_PSH,
		(uint32_t)tg_msg_left(&f->msg));
	tg_emit(g, f, true, TG_TH_ACK, 0);
}

static void
tg_run_open(struct tg_gen *g)
{
	struct tg_flow *f = &g->flows[0];
	struct tg_open *saved = calloc(g->opt.open_flows, sizeof(*saved));

	if (!saved)
		tg_die("out of memory", NULL);
	f->msg.arena = &f->arena;
	for (uint64_t k = 0; k < g->opt.open_flows; k++) {
		tg_open_one(g, f);
		tg_open_save(&saved[k], f);
	}
	/* Three-way close, client first, in opening order. */
	for (uint64_t k = 0; k < g->opt.open_flows; k++) {
		tg_open_restore(f, &saved[k]);
		tg_emit(g, f, true, TG_TH_FIN | TG_TH_ACK, 0);
		tg_emit(g, f, false, TG_TH_FIN | TG_TH_ACK, 0);
		tg_emit(g, f, true, TG_TH_ACK, 0);
	}
	tg_flush(g);
	free(saved);
}

/* ---- attacks and truth -------------------------------------------------- */

static void
tg_load_attacks(struct tg_gen *g, json_t **keep)
{
	json_error_t err;
	json_t *arr = json_load_file(g->opt.attacks, 0, &err);
	size_t i;
	json_t *v;

	if (!arr || !json_is_array(arr) || json_array_size(arr) == 0)
		tg_die("--attacks: expected a non-empty JSON array",
		       arr ? g->opt.attacks : err.text);
	g->nattacks = json_array_size(arr);
	g->attack = calloc(g->nattacks, sizeof(*g->attack));
	g->attack_count = calloc(g->nattacks, sizeof(*g->attack_count));
	if (!g->attack || !g->attack_count)
		tg_die("out of memory", NULL);
	json_array_foreach(arr, i, v) {
		json_t *sid = json_object_get(v, "sid");
		json_t *req = json_object_get(v, "request");

		if (!json_is_integer(sid) || !json_is_string(req) ||
		    json_string_length(req) == 0)
			tg_die("--attacks: each entry needs integer sid and "
			       "non-empty string request", g->opt.attacks);
		g->attack[i].sid = json_integer_value(sid);
		g->attack[i].text = (const uint8_t *)json_string_value(req);
		g->attack[i].len = json_string_length(req);
	}
	*keep = arr;            /* texts are borrowed from it */
}

static void
tg_write_truth(struct tg_gen *g, double secs)
{
	json_t *by_sid = json_object();
	json_t *o;
	char key[32];

	for (size_t i = 0; by_sid && i < g->nattacks; i++) {
		json_t *cur;

		snprintf(key, sizeof(key), "%" PRId64, g->attack[i].sid);
		cur = json_object_get(by_sid, key);
		json_object_set_new(by_sid, key, json_integer(
			(cur ? json_integer_value(cur) : 0) +
			g->attack_count[i]));
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		      " s:I, s:I, s:o, s:O, s:I, s:I, s:I, s:f}",
		      "flows", (json_int_t)g->st.flows,
		      "packets", (json_int_t)g->st.packets,
		      "bytes", (json_int_t)g->st.bytes,
		      "requests", (json_int_t)g->st.requests,
		      "benign_requests", (json_int_t)g->st.benign_requests,
		      "attack_requests", (json_int_t)g->st.attack_requests,
		      "chunked_requests", (json_int_t)g->st.chunked_requests,
		      "post_requests", (json_int_t)g->st.post_requests,
		      "responses", (json_int_t)g->st.responses,
		      "l7_client_bytes", (json_int_t)g->st.l7_client_bytes,
		      "l7_server_bytes", (json_int_t)g->st.l7_server_bytes,
		      "client_packets", (json_int_t)g->st.client_packets,
		      "server_packets", (json_int_t)g->st.server_packets,
		      "attacks_by_sid", by_sid,
		      "attack_flows", g->attack_flows,
		      "seed", (json_int_t)g->opt.seed,
		      "mss", (json_int_t)g->opt.mss,
		      "concurrency", (json_int_t)(g->opt.open_flows ?
						  g->opt.open_flows :
						  g->opt.concurrency),
		      "generation_seconds", secs);
	if (!o || json_dump_file(o, g->opt.truth, JSON_INDENT(1) |
				 JSON_SORT_KEYS) != 0)
		tg_die("cannot write truth file", g->opt.truth);
	json_decref(o);
}

/* ---- command line ------------------------------------------------------- */

static void
tg_usage(void)
{
	fprintf(stderr,
"usage: ips-trafgen --out FILE.pcap (--flows N | --size BYTES |\n"
"                   --open-flows N) [options]\n"
"  --seed S              PRNG seed (default 1); same options => same file\n"
"  --concurrency N       flows open at once, interleaved (default 64)\n"
"  --mss N               TCP payload per segment (default 1460)\n"
"  --max-body BYTES      cap on request bodies (default 4194304)\n"
"  --requests-mean X     mean requests per connection (default 4)\n"
"  --max-requests N      cap on requests per connection (default 32)\n"
"  --profile web|api     web: browsers and some API clients, big pages\n"
"                        (default); api: API clients only, small JSON\n"
"                        answers, half the requests POST a body\n"
"  --attacks FILE.json   [{\"sid\":N,\"request\":\"raw HTTP\"},...]\n"
"  --attack-fraction F   share of requests replaced by attacks (0..1)\n"
"  --truth FILE.json     ground-truth counters sidecar\n"
"  --open-flows N        memory run: N flows each do a handshake and one\n"
"                        GET/204, all before the first closes\n"
"  --unfinished          with --open-flows: each sends a POST head and no\n"
"                        body, so N requests are in progress at once\n");
	exit(2);
}

static uint64_t
tg_parse_u64(const char *s, const char *opt)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		tg_die("bad number for", opt);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		tg_die("bad number for", opt);
	return v;
}

static double
tg_parse_double(const char *s, const char *opt)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end)
		tg_die("bad number for", opt);
	return v;
}

static void
tg_parse_args(struct tg_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ "flows", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 'S' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "mss", required_argument, NULL, 'm' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "requests-mean", required_argument, NULL, 'r' },
		{ "max-requests", required_argument, NULL, 'R' },
		{ "attacks", required_argument, NULL, 'a' },
		{ "attack-fraction", required_argument, NULL, 'F' },
		{ "truth", required_argument, NULL, 't' },
		{ "open-flows", required_argument, NULL, 'O' },
		{ "profile", required_argument, NULL, 'p' },
		{ "unfinished", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct tg_opts){ .seed = 1, .concurrency = 64, .mss = 1460,
			       .max_body = 4u << 20, .requests_mean = 4.0,
			       .max_requests = 32 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 't': o->truth = optarg; break;
		case 'a': o->attacks = optarg; break;
		case 's': o->seed = tg_parse_u64(optarg, "--seed"); break;
		case 'p':
			if (strcmp(optarg, "web") != 0 &&
			    strcmp(optarg, "api") != 0)
				tg_die("--profile: expected web or api", NULL);
			o->api_profile = strcmp(optarg, "api") == 0;
			break;
		case 'f': o->flows = tg_parse_u64(optarg, "--flows"); break;
		case 'S': o->size = tg_parse_u64(optarg, "--size"); break;
		case 'O': o->open_flows = tg_parse_u64(optarg, "--open-flows");
			break;
		case 'U': o->unfinished = true; break;
		case 'c':
			o->concurrency = (uint32_t)tg_parse_u64(optarg,
							       "--concurrency");
			break;
		case 'm': o->mss = (uint32_t)tg_parse_u64(optarg, "--mss");
			break;
		case 'b': o->max_body = tg_parse_u64(optarg, "--max-body");
			break;
		case 'r':
			o->requests_mean = tg_parse_double(optarg,
							   "--requests-mean");
			break;
		case 'R':
			o->max_requests = (uint32_t)tg_parse_u64(optarg,
							"--max-requests");
			break;
		case 'F':
			o->attack_fraction = tg_parse_double(optarg,
							"--attack-fraction");
			break;
		default:
			tg_usage();
		}
	}
	if (optind != argc || !o->out ||
	    (!o->flows && !o->size && !o->open_flows))
		tg_usage();
	if (o->open_flows && (o->flows || o->size || o->attacks))
		tg_die("--open-flows excludes --flows, --size and --attacks",
		       NULL);
	if (o->unfinished && !o->open_flows)
		tg_die("--unfinished needs --open-flows", NULL);
	if (o->mss < TG_MIN_MSS || o->mss > TG_MAX_MSS)
		tg_die("--mss must be within 64..9000", NULL);
	/* Each slot holds an 11 KB message arena and piece list. */
	if (o->concurrency < 1 || o->concurrency > 65536)
		tg_die("--concurrency must be within 1..65536", NULL);
	if (!(o->requests_mean >= 1.0) || o->max_requests < 1)
		tg_die("--requests-mean must be >= 1, --max-requests >= 1",
		       NULL);
	if (!(o->attack_fraction >= 0.0 && o->attack_fraction <= 1.0))
		tg_die("--attack-fraction must be within 0..1", NULL);
	if (o->max_body < TG_MIN_MAX_BODY)
		tg_die("--max-body must be at least 2048", NULL);
	if (o->attack_fraction > 0 && !o->attacks)
		tg_die("--attack-fraction needs --attacks", NULL);
	if (o->flows > TG_TUPLES || o->open_flows > TG_TUPLES)
		tg_die("--flows exceeds the unique client (address, port) "
		       "space of 32772096", NULL);
}

static double
tg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	static struct tg_gen g;
	json_t *attacks = NULL;
	double t0 = tg_now(), secs;

	tg_parse_args(&g.opt, argc, argv);
	if (g.opt.attacks)
		tg_load_attacks(&g, &attacks);
	g.attack_flows = json_array();
	g.buf = malloc(TG_OUT_BUF_BYTES);
	g.flows = calloc(g.opt.concurrency, sizeof(*g.flows));
	if (!g.buf || !g.flows || !g.attack_flows)
		tg_die("out of memory", NULL);
	g.fd = open(g.opt.out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (g.fd < 0)
		tg_die("cannot open output", g.opt.out);
	tg_rng_seed(&g.sched, g.opt.seed ^ 0x7363686564ULL);
	g.tuple_off = tg_rng_next(&g.sched) % TG_TUPLES;
	g.ts_us = TG_EPOCH_US + tg_rng_below(&g.sched, 1000000);
	tg_http_init(g.opt.seed);

	tg_write_pcap_header(&g);
	if (g.opt.open_flows)
		tg_run_open(&g);
	else
		tg_run(&g);
	if (close(g.fd) != 0)
		tg_die("close failed", strerror(errno));
	secs = tg_now() - t0;
	if (g.opt.truth)
		tg_write_truth(&g, secs);
	fprintf(stderr, "ips-trafgen: %s: %" PRIu64 " flows, %" PRIu64
		" packets, %" PRIu64 " bytes, %" PRIu64 " requests (%" PRIu64
		" attacks), %" PRIu64 " client L7 bytes in %.2f s (%.0f MB/s)\n",
		g.opt.out, g.st.flows, g.st.packets, g.st.bytes,
		g.st.requests, g.st.attack_requests, g.st.l7_client_bytes,
		secs, secs > 0 ? (double)g.st.bytes / secs / 1e6 : 0.0);
	json_decref(g.attack_flows);
	json_decref(attacks);
	free(g.flows);
	free(g.buf);
	free(g.attack);
	free(g.attack_count);
	return 0;
}
