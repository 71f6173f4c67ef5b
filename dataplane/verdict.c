/*
 * verdict.c - alerts, anomaly events, resets, and each packet's fate
 * (see verdict.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "config.h"
#include "eve.h"
#include "ips/rules.h"
#include "verdict.h"

struct verdict_worker {
	struct verdict_conf conf;
	struct fwd_worker *fwd;
	struct rte_mempool *pool;   /* for resets */
	struct rte_ring *eve;
	struct worker_stats *ws;
	uint64_t alert_seq;
	/* the packet being judged: what its reject rules ask for */
	uint8_t reject_how;         /* IPS_REJECT_*, or'ed */
	uint64_t reject_alert_id;   /* the first reject rule's alert */
	struct eve_record rec;      /* scratch: too big for the stack path */
};

uint64_t
verdict_alert_id_base(unsigned worker, uint64_t start_s)
{
	return ((uint64_t)(worker & 0x3f) << 56) |
	       ((start_s & 0xffffffffu) << 24);
}

void
verdict_conf_init(struct verdict_conf *vc, const struct ips_config *c)
{
	memset(vc, 0, sizeof(*vc));
	vc->bypass_detect_error = c->policy.detect_error == POLICY_BYPASS;
	vc->block_page = c->policy.reject_client == REJECT_CLIENT_PAGE;
}

struct verdict_worker *
verdict_worker_create(const struct verdict_conf *conf, struct fwd_worker *fw,
                      struct rte_mempool *pool, struct rte_ring *eve,
                      struct worker_stats *ws, int socket)
{
	struct verdict_worker *vw =
		rte_zmalloc_socket("verdict_worker", sizeof(*vw), 64, socket);

	if (vw == NULL)
		return NULL;
	vw->conf = *conf;
	vw->fwd = fw;
	vw->pool = pool;
	vw->eve = eve;
	vw->ws = ws;
	return vw;
}

void
verdict_worker_free(struct verdict_worker *vw)
{
	rte_free(vw);
}

static void
verdict_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
}

static void
verdict_record_flow(struct eve_record *rec, const struct detect_tuple *t,
                    uint64_t flow_id, uint8_t proto)
{
	rec->tsc = rte_rdtsc();
	rec->flow_id = flow_id;
	rec->ip_version = t->ip_version;
	rec->proto = proto;
	memcpy(rec->src, t->src, 16);
	memcpy(rec->dst, t->dst, 16);
	rec->sport = t->sport;
	rec->dport = t->dport;
}

static void
verdict_record_tuple(struct eve_record *rec, const struct pkt_ctx *ctx)
{
	verdict_record_flow(rec, &ctx->tuple, ctx->flow_id, ctx->pm.proto);
	rec->ip_version = ctx->pm.ip_version;
}

/* An alert on the server's bytes names the server as its source, as
 * Suricata's does (the packet's sender). */
static void
verdict_record_swap(struct eve_record *rec)
{
	uint8_t a[16];
	uint16_t port = rec->sport;

	memcpy(a, rec->src, 16);
	memcpy(rec->src, rec->dst, 16);
	memcpy(rec->dst, a, 16);
	rec->sport = rec->dport;
	rec->dport = port;
}

static void
verdict_push(struct verdict_worker *vw)
{
	if (unlikely(eve_push(vw->eve, &vw->rec) != 0))
		vw->ws->eve_ring_full++;
}

static void
verdict_log_alerts(struct verdict_worker *vw, const struct pkt_ctx *ctx)
{
	const struct detect_result *res = &ctx->res;
	struct eve_record *rec = &vw->rec;

	for (unsigned i = 0; i < res->n_fired; i++) {
		const struct detect_fired *f = &res->fired[i];

		memset(rec, 0, sizeof(*rec));
		verdict_record_tuple(rec, ctx);
		if (f->to_client)
			verdict_record_swap(rec);
		rec->type = EVE_ALERT;
		rec->alert_id = vw->conf.alert_id_base + ++vw->alert_seq;
		if (f->action == IPS_ACTION_REJECT) {
			if (vw->reject_how == 0)
				vw->reject_alert_id = rec->alert_id;
			vw->reject_how |= f->reject;
		}
		rec->sid = f->sid;
		rec->rev = f->rev;
		rec->action = f->action;
		rec->severity = f->priority;
		rec->blocked = f->action == IPS_ACTION_DROP ||
		               f->action == IPS_ACTION_REJECT;
		verdict_copy(rec->msg, sizeof(rec->msg), f->msg);
		verdict_copy(rec->classtype, sizeof(rec->classtype), f->classtype);
		verdict_copy(rec->url, sizeof(rec->url), res->url);
		verdict_copy(rec->host, sizeof(rec->host), res->host);
		verdict_copy(rec->method, sizeof(rec->method), res->method);
		verdict_copy(rec->user_agent, sizeof(rec->user_agent),
		             res->user_agent);
		verdict_push(vw);
		vw->ws->verdict_alerts++;
	}
	/* rules fired beyond what one packet's result holds */
	vw->ws->verdict_alerts_truncated += res->n_lost;
}

void
verdict_anomaly(struct verdict_worker *vw, const struct pkt_ctx *ctx,
                const char *layer, const char *event)
{
	struct eve_record *rec = &vw->rec;

	memset(rec, 0, sizeof(*rec));
	verdict_record_tuple(rec, ctx);
	rec->type = EVE_ANOMALY;
	verdict_copy(rec->layer, sizeof(rec->layer), layer);
	verdict_copy(rec->event, sizeof(rec->event), event);
	verdict_push(vw);
}

static void
verdict_log_events(struct verdict_worker *vw, const struct pkt_ctx *ctx)
{
	static const struct { uint16_t bit; const char *layer, *event; } ev[] = {
		{ PKT_EVENT_OVERLAP_MISMATCH, "stream", "overlap_mismatch" },
		{ PKT_EVENT_UNVERIFIABLE, "stream", "overlap_unverifiable" },
		{ PKT_EVENT_HOLD_FULL, "stream", "hold_limit" },
		{ PKT_EVENT_HTTP_POLICY, "http", "policy_drop" },
		{ PKT_EVENT_HTTP_BYPASS, "http", "malformed_bypass" },
		{ PKT_EVENT_HTTP_TUNNEL, "http", "tunnel_open" },
		{ PKT_EVENT_MIDSTREAM_BYPASS, "flow", "midstream_bypass" },
		{ PKT_EVENT_HOLD_BYPASS, "stream", "hold_limit_bypass" },
		{ PKT_EVENT_HTTP_POOL_BYPASS, "http", "txn_pool_bypass" },
		{ PKT_EVENT_KEEP_FULL, "stream", "keep_limit" },
	};

	for (unsigned i = 0; i < RTE_DIM(ev); i++)
		if (ctx->events & ev[i].bit)
			verdict_anomaly(vw, ctx, ev[i].layer, ev[i].event);
}

/* ---- resets and block pages --------------------------------------------- */

/* The flow a segment is made for: its tuple in to_server orientation, a
 * client packet's L2 header (VLAN tags included; MACs are swapped toward
 * the client, and in L3 mode forward writes them anew), and the port the
 * client sends in on, which tells where each end lies.  A flow evicted
 * with no packet in hand keeps the L2 header it was last seen with. */
struct verdict_flow_ref {
	const struct detect_tuple *tuple;
	const uint8_t *l2;
	uint16_t l2_len;
	uint16_t client_port;
};

/* A TCP segment of the flow: from the client (to_server) or the server. */
struct verdict_seg {
	int to_server;
	uint8_t flags;              /* RTE_TCP_*_FLAG */
	uint32_t seq, ack;
	uint16_t window;
	uint16_t len;               /* payload bytes, written by the caller */
};

static struct verdict_flow_ref
verdict_flow_of(const struct pkt_ctx *ctx, const struct rte_mbuf *trigger)
{
	struct verdict_flow_ref f = {
		.tuple = &ctx->tuple,
		.l2 = rte_pktmbuf_mtod(trigger, const uint8_t *),
		.l2_len = ctx->pm.l3_off,
		.client_port = ctx->in_port,
	};

	if (rte_pktmbuf_data_len(trigger) < f.l2_len)
		f.l2_len = 0;           /* no header to reuse: nothing is sent */
	return f;
}

static struct rte_mbuf *
verdict_build_tcp(struct verdict_worker *vw, const struct verdict_flow_ref *f,
                  const struct verdict_seg *sg, uint8_t **payload)
{
	const struct detect_tuple *t = f->tuple;
	uint16_t l2 = f->l2_len;
	uint16_t l3 = t->ip_version == 4 ? sizeof(struct rte_ipv4_hdr)
	                                 : sizeof(struct rte_ipv6_hdr);
	uint16_t l4 = sizeof(struct rte_tcp_hdr) + sg->len;
	struct rte_mbuf *m;
	uint8_t *p;
	struct rte_tcp_hdr *tcp;
	const uint8_t *src = sg->to_server ? t->src : t->dst;
	const uint8_t *dst = sg->to_server ? t->dst : t->src;

	if (l2 < sizeof(struct rte_ether_hdr))
		return NULL;
	m = rte_pktmbuf_alloc(vw->pool);
	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, l2 + l3 + l4);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, f->l2, l2);
	if (!sg->to_server) {
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
		struct rte_ether_addr tmp = eth->src_addr;

		eth->src_addr = eth->dst_addr;
		eth->dst_addr = tmp;
	}
	tcp = (struct rte_tcp_hdr *)(p + l2 + l3);
	memset(tcp, 0, sizeof(*tcp));
	tcp->src_port = rte_cpu_to_be_16(sg->to_server ? t->sport : t->dport);
	tcp->dst_port = rte_cpu_to_be_16(sg->to_server ? t->dport : t->sport);
	tcp->sent_seq = rte_cpu_to_be_32(sg->seq);
	tcp->recv_ack = rte_cpu_to_be_32(sg->ack);
	tcp->data_off = (sizeof(*tcp) / 4) << 4;
	tcp->tcp_flags = sg->flags;
	tcp->rx_win = rte_cpu_to_be_16(sg->window);
	*payload = (uint8_t *)(tcp + 1);
	if (t->ip_version == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + l2);

		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(l3 + l4);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		memcpy(&ip->src_addr, src + 12, 4);
		memcpy(&ip->dst_addr, dst + 12, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(p + l2);

		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16(l4);
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, src, 16);
		memcpy(ip->dst_addr, dst, 16);
	}
	return m;
}

/* The TCP checksum, once the payload is written. */
static void
verdict_tcp_cksum(struct rte_mbuf *m, const struct verdict_flow_ref *f)
{
	uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, f->l2_len);

	if (f->tuple->ip_version == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(h + 1);

		tcp->cksum = rte_ipv4_udptcp_cksum(h, tcp);
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(h + 1);

		tcp->cksum = rte_ipv6_udptcp_cksum(h, tcp);
	}
}

/* The server lies where the client's packets go, the client where they
 * came from. */
static void
verdict_send_seg(struct verdict_worker *vw, const struct verdict_flow_ref *f,
                 const struct verdict_seg *sg)
{
	uint8_t *payload;
	struct rte_mbuf *m = verdict_build_tcp(vw, f, sg, &payload);

	if (m == NULL)
		return;
	verdict_tcp_cksum(m, f);
	fwd_send(vw->fwd, sg->to_server ? fwd_route(vw->fwd, f->client_port, 1)
	                                : fwd_route_back(vw->fwd, f->client_port),
	         m);
	vw->ws->verdict_rst_sent++;
}

/* A RST|ACK at the first byte each end has not received, as the stream
 * stage recorded them. */
static void
verdict_send_rst(struct verdict_worker *vw, const struct verdict_flow_ref *f,
                 int to_server, uint32_t seq_to_server, uint32_t seq_to_client)
{
	struct verdict_seg sg = {
		.to_server = to_server,
		.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
		.seq = to_server ? seq_to_server : seq_to_client,
		.ack = to_server ? seq_to_client : seq_to_server,
	};

	verdict_send_seg(vw, f, &sg);
}

/* The page a client sees instead of a reset: short enough for one
 * segment at the smallest MSS (536). */
#define VERDICT_PAGE_BODY \
	"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>" \
	"<body><h1>403 Forbidden</h1><p>The request was blocked by the " \
	"intrusion prevention gateway.</p><p>Alert ID: %" PRIu64 "</p>" \
	"</body></html>\n"
#define VERDICT_PAGE_MAX 512

/*
 * An HTTP 403 from the server's address, with FIN: it takes the place of
 * the response at the client's next expected byte and acknowledges the
 * blocked request, so the client reads it and closes; the flow is marked
 * so that the client's FIN is answered with a reset.  Returns -1 if no
 * page could be made (the caller resets instead).
 */
static int
verdict_send_page(struct verdict_worker *vw, const struct verdict_flow_ref *f,
                  struct pkt_ctx *ctx)
{
	char body[VERDICT_PAGE_MAX], page[VERDICT_PAGE_MAX];
	struct verdict_seg sg = {
		.to_server = 0,
		.flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG,
		.seq = ctx->rst_seq_to_client,
		.ack = ctx->client_next_seq,
		.window = 0xffff,
	};
	struct rte_mbuf *m;
	uint8_t *payload;
	int nb, np;

	nb = snprintf(body, sizeof(body), VERDICT_PAGE_BODY, vw->reject_alert_id);
	np = snprintf(page, sizeof(page), "HTTP/1.1 403 Forbidden\r\n"
	              "Content-Type: text/html; charset=utf-8\r\n"
	              "Content-Length: %d\r\nConnection: close\r\n"
	              "Cache-Control: no-store\r\nX-IPS-Alert-Id: %" PRIu64
	              "\r\n\r\n%s", nb, vw->reject_alert_id, body);
	if (nb < 0 || np < 0 || np >= (int)sizeof(page) ||
	    ctx->flow_block == NULL)
		return -1;
	sg.len = (uint16_t)np;
	m = verdict_build_tcp(vw, f, &sg, &payload);
	if (m == NULL)
		return -1;
	memcpy(payload, page, (size_t)np);
	verdict_tcp_cksum(m, f);
	fwd_send(vw->fwd, fwd_route_back(vw->fwd, f->client_port), m);
	*ctx->flow_block = PKT_FLOW_BLOCKED_PAGE;
	vw->ws->verdict_block_pages++;
	return 0;
}

/* What the reject rules of this packet ask for, by their variants and
 * policy.reject_client; a rule lost from a full result counts as plain
 * reject.  The trigger is a client packet of ctx's flow. */
static void
verdict_reject(struct verdict_worker *vw, const struct rte_mbuf *trigger,
               struct pkt_ctx *ctx)
{
	struct verdict_flow_ref f = verdict_flow_of(ctx, trigger);
	uint8_t how = vw->reject_how;
	int page;

	if (how == 0 || ctx->res.n_lost > 0)
		how |= IPS_REJECT_SERVER | IPS_REJECT_CLIENT;
	page = (how & IPS_REJECT_PAGE) ||
	       (vw->conf.block_page && !(how & IPS_REJECT_RST));
	if (how & IPS_REJECT_SERVER)
		verdict_send_rst(vw, &f, 1, ctx->rst_seq_to_server,
		                 ctx->rst_seq_to_client);
	/* a page only answers an HTTP request */
	if ((how & IPS_REJECT_CLIENT) &&
	    (!page || ctx->res.method[0] == '\0' ||
	     verdict_send_page(vw, &f, ctx) != 0))
		verdict_send_rst(vw, &f, 0, ctx->rst_seq_to_server,
		                 ctx->rst_seq_to_client);
	vw->ws->verdict_rejects++;
}

/* A client FIN on a flow closed by a block page: a reset at the
 * sequence number its ACK names (RFC 9293 3.10.7.1), so it goes at once. */
static void
verdict_reply_rst(struct verdict_worker *vw, const struct rte_mbuf *trigger,
                  const struct pkt_ctx *ctx)
{
	const struct pkt_meta *pm = &ctx->pm;
	struct verdict_flow_ref f = verdict_flow_of(ctx, trigger);
	struct verdict_seg sg = {
		.to_server = 0,
		.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
		.seq = pm->ack,
		.ack = pm->seq + pm->payload_len + 1,       /* and the FIN */
	};

	verdict_send_seg(vw, &f, &sg);
}

/* Flows evicted from a full pool or timed out while this packet (or this
 * burst's expiry) was processed: log each, reset both ends of those the
 * flow stage asked to. */
static void
verdict_evictions(struct verdict_worker *vw, const struct pkt_ctx *ctx)
{
	struct eve_record *rec = &vw->rec;

	for (unsigned i = 0; i < ctx->n_evict; i++) {
		const struct pkt_evict *e = &ctx->evict[i];
		struct verdict_flow_ref f = {
			.tuple = &e->tuple,
			.l2 = e->l2,
			.l2_len = e->l2_len,
			.client_port = e->client_port,
		};

		memset(rec, 0, sizeof(*rec));
		verdict_record_flow(rec, &e->tuple, e->flow_id, IPPROTO_TCP);
		rec->type = EVE_ANOMALY;
		verdict_copy(rec->layer, sizeof(rec->layer), e->layer);
		verdict_copy(rec->event, sizeof(rec->event), e->event);
		verdict_push(vw);
		if (!e->reset)
			continue;
		verdict_send_rst(vw, &f, 1, e->seq_to_server, e->seq_to_client);
		verdict_send_rst(vw, &f, 0, e->seq_to_server, e->seq_to_client);
	}
}

/* ---- fate ----------------------------------------------------------------- */

/* Detection faults, most severe first: a packet with several is counted
 * once, under the first. */
static const struct verdict_fault {
	uint8_t bit;
	size_t drop;                /* offsetof the worker_stats counters */
	size_t bypass;
	const char *event;
} verdict_faults[] = {
#define VERDICT_FAULT(bit, name, event) \
	{ bit, offsetof(struct worker_stats, drop_detect_##name), \
	  offsetof(struct worker_stats, bypass_detect_##name), event }
	VERDICT_FAULT(DETECT_FAULT_SCAN_ERROR, scan_error, "scan_error"),
	VERDICT_FAULT(DETECT_FAULT_RAW_POOL_FULL, raw_pool_full,
	              "raw_stream_pool_full"),
	VERDICT_FAULT(DETECT_FAULT_BODY_POOL_FULL, body_pool_full,
	              "body_stream_pool_full"),
	VERDICT_FAULT(DETECT_FAULT_INSPECT_LIMIT, inspect_limit,
	              "inspect_limit"),
	VERDICT_FAULT(DETECT_FAULT_TLS_POOL_FULL, tls_pool_full,
	              "tls_cert_pool_full"),
	VERDICT_FAULT(DETECT_FAULT_RESPONSE, response, "response_uninspected"),
	VERDICT_FAULT(DETECT_FAULT_DECODE, decode, "body_undecodable"),
#undef VERDICT_FAULT
};

static void
verdict_count(struct verdict_worker *vw, size_t off)
{
	(*(uint64_t *)((char *)vw->ws + off))++;
}

/* policy.detect_error for a packet detection could not fully inspect:
 * one anomaly per fault, the packet counted once.  Returns its fate. */
static uint8_t
verdict_uninspected(struct verdict_worker *vw, const struct pkt_ctx *ctx,
                    uint8_t faults)
{
	int counted = 0;

	for (unsigned i = 0; i < RTE_DIM(verdict_faults); i++) {
		const struct verdict_fault *f = &verdict_faults[i];

		if (!(faults & f->bit))
			continue;
		verdict_anomaly(vw, ctx, "detect", f->event);
		if (!counted)
			verdict_count(vw, vw->conf.bypass_detect_error ? f->bypass
			                                               : f->drop);
		counted = 1;
	}
	if (vw->conf.bypass_detect_error)
		return PKT_FORWARD;
	if (ctx->flow_block != NULL)
		*ctx->flow_block = 1;
	return PKT_DROP;
}

void
verdict_apply(struct verdict_worker *vw, struct pkt_ctx *ctx)
{
	uint16_t out = FWD_NO_PORT;
	int reset_sent = 0, fault_dropped = 0;

	vw->reject_how = 0;
	if (ctx->res.n_fired > 0)
		verdict_log_alerts(vw, ctx);
	if (ctx->events != 0)
		verdict_log_events(vw, ctx);
	if (ctx->n_evict != 0)
		verdict_evictions(vw, ctx);
	for (unsigned i = 0; i < ctx->n_emit; i++) {
		struct rte_mbuf *m = ctx->emit[i].m;
		uint8_t fate = ctx->emit[i].fate;

		if (fate == PKT_UNINSPECTED) {
			fate = verdict_uninspected(vw, ctx, ctx->emit[i].faults);
			fault_dropped |= fate == PKT_DROP;
		} else if (fate == PKT_FORWARD && fault_dropped) {
			/* after the bytes the server will never get */
			vw->ws->drop_flow_blocked++;
			fate = PKT_DROP;
		}
		if (fate == PKT_FORWARD) {
			if (out == FWD_NO_PORT)
				out = fwd_route(vw->fwd, ctx->in_port,
				                ctx->to_server);
			fwd_send(vw->fwd, out, m);
			continue;
		}
		if (ctx->rst_pending && !reset_sent && ctx->to_server) {
			verdict_reject(vw, m, ctx);
			reset_sent = 1;
		} else if (ctx->rst_reply && !reset_sent) {
			verdict_reply_rst(vw, m, ctx);
			reset_sent = 1;
		}
		rte_pktmbuf_free(m);
	}
}

void
verdict_pass(struct verdict_worker *vw, struct rte_mbuf *m, uint16_t in_port)
{
	fwd_send(vw->fwd, fwd_route(vw->fwd, in_port, 1), m);
}
