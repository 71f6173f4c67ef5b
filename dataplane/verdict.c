/*
 * verdict.c - alerts, anomaly events, resets, and each packet's fate
 * (see verdict.h).
 */
#include <stddef.h>
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
	struct eve_record rec;      /* scratch: too big for the stack path */
};

void
verdict_conf_init(struct verdict_conf *vc, const struct ips_config *c)
{
	memset(vc, 0, sizeof(*vc));
	vc->bypass_detect_error = c->policy.detect_error == POLICY_BYPASS;
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
verdict_record_tuple(struct eve_record *rec, const struct pkt_ctx *ctx)
{
	rec->tsc = rte_rdtsc();
	rec->flow_id = ctx->flow_id;
	rec->ip_version = ctx->pm.ip_version;
	rec->proto = ctx->pm.proto;
	memcpy(rec->src, ctx->tuple.src, 16);
	memcpy(rec->dst, ctx->tuple.dst, 16);
	rec->sport = ctx->tuple.sport;
	rec->dport = ctx->tuple.dport;
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
		rec->type = EVE_ALERT;
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
	};

	for (unsigned i = 0; i < RTE_DIM(ev); i++)
		if (ctx->events & ev[i].bit)
			verdict_anomaly(vw, ctx, ev[i].layer, ev[i].event);
}

/* ---- resets ---------------------------------------------------------------- */

/*
 * Build a RST|ACK from the client side (to_server) or the server side of
 * the flow, reusing the trigger's L2 header (VLAN tags included) with MACs
 * swapped for the server side.
 */
static struct rte_mbuf *
verdict_build_rst(struct verdict_worker *vw, const struct rte_mbuf *trigger,
                  const struct pkt_ctx *ctx, int to_server)
{
	const struct pkt_meta *pm = &ctx->pm;
	uint16_t l2 = pm->l3_off;
	uint16_t l3 = pm->ip_version == 4 ? sizeof(struct rte_ipv4_hdr)
	                                  : sizeof(struct rte_ipv6_hdr);
	struct rte_mbuf *m = rte_pktmbuf_alloc(vw->pool);
	uint8_t *p;
	struct rte_tcp_hdr *tcp;
	const uint8_t *src = to_server ? ctx->tuple.src : ctx->tuple.dst;
	const uint8_t *dst = to_server ? ctx->tuple.dst : ctx->tuple.src;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, l2 + l3 + sizeof(*tcp));
	if (p == NULL || rte_pktmbuf_data_len(trigger) < l2) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, rte_pktmbuf_mtod(trigger, const uint8_t *), l2);
	if (!to_server) {
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
		struct rte_ether_addr tmp = eth->src_addr;

		eth->src_addr = eth->dst_addr;
		eth->dst_addr = tmp;
	}
	tcp = (struct rte_tcp_hdr *)(p + l2 + l3);
	memset(tcp, 0, sizeof(*tcp));
	tcp->src_port = rte_cpu_to_be_16(to_server ? ctx->tuple.sport
	                                           : ctx->tuple.dport);
	tcp->dst_port = rte_cpu_to_be_16(to_server ? ctx->tuple.dport
	                                           : ctx->tuple.sport);
	tcp->sent_seq = rte_cpu_to_be_32(to_server ? ctx->rst_seq_to_server
	                                           : ctx->rst_seq_to_client);
	tcp->recv_ack = rte_cpu_to_be_32(to_server ? ctx->rst_seq_to_client
	                                           : ctx->rst_seq_to_server);
	tcp->data_off = (sizeof(*tcp) / 4) << 4;
	tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	if (pm->ip_version == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + l2);

		memset(ip, 0, sizeof(*ip));
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(l3 + sizeof(*tcp));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		memcpy(&ip->src_addr, src + 12, 4);
		memcpy(&ip->dst_addr, dst + 12, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(p + l2);

		memset(ip, 0, sizeof(*ip));
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16(sizeof(*tcp));
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, src, 16);
		memcpy(ip->dst_addr, dst, 16);
		tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
	}
	return m;
}

static void
verdict_send_resets(struct verdict_worker *vw, const struct rte_mbuf *trigger,
                    const struct pkt_ctx *ctx)
{
	/* The trigger is a client packet: the server lies where it was going,
	 * the client where it came from. */
	struct rte_mbuf *to_srv = verdict_build_rst(vw, trigger, ctx, 1);
	struct rte_mbuf *to_cli = verdict_build_rst(vw, trigger, ctx, 0);

	if (to_srv != NULL) {
		fwd_send(vw->fwd, fwd_route(vw->fwd, ctx->in_port, 1), to_srv);
		vw->ws->verdict_rst_sent++;
	}
	if (to_cli != NULL) {
		fwd_send(vw->fwd, fwd_route_back(vw->fwd, ctx->in_port), to_cli);
		vw->ws->verdict_rst_sent++;
	}
	vw->ws->verdict_rejects++;
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

	if (ctx->res.n_fired > 0)
		verdict_log_alerts(vw, ctx);
	if (ctx->events != 0)
		verdict_log_events(vw, ctx);
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
			verdict_send_resets(vw, m, ctx);
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
