/*
 * pkt_ctx.h - the work order one received packet carries down the chain.
 *
 * The worker fills the decoded header; flow adds the direction and tuple;
 * stream decides, for the received packet and for any held segments it
 * releases, whether each is forwarded or dropped (and counts the drop
 * reason); detection adds the rules that fired.  The verdict stage then
 * carries it out: logs alerts, sends resets, hands packets to forward.
 * One pkt_ctx per worker, reused for every packet (reset by pkt_ctx_reset).
 */
#ifndef IPS_PKT_CTX_H
#define IPS_PKT_CTX_H

#include <stdint.h>

#include "detect.h"
#include "pkt.h"

struct rte_mbuf;

enum pkt_fate {
	PKT_FORWARD = 0,
	PKT_DROP,           /* the stage that decided counted the reason */
	PKT_UNINSPECTED,    /* detection could not see all of its bytes
	                     * (pkt_emit.faults says why): the verdict stage
	                     * applies policy.detect_error and counts it */
};

/* Held segments released by one packet come out with it; bounded by the
 * per-flow hold limit (config caps stream_held_per_flow below this). */
#define PKT_EMIT_MAX 64

struct pkt_emit {
	struct rte_mbuf *m;
	uint8_t fate;       /* enum pkt_fate */
	uint8_t faults;     /* PKT_UNINSPECTED: DETECT_FAULT_* */
};

/* Anomaly events raised while processing the packet (bit mask). */
#define PKT_EVENT_OVERLAP_MISMATCH  0x01
#define PKT_EVENT_HTTP_POLICY       0x02
#define PKT_EVENT_UNVERIFIABLE      0x04
#define PKT_EVENT_HOLD_FULL         0x08
#define PKT_EVENT_HTTP_BYPASS       0x10    /* not HTTP, bypass policy */
#define PKT_EVENT_HTTP_TUNNEL       0x20    /* server switched protocols */
#define PKT_EVENT_MIDSTREAM_BYPASS  0x40    /* flow picked up uninspected */
#define PKT_EVENT_HOLD_BYPASS       0x80    /* hold full: forwarded */
#define PKT_EVENT_HTTP_POOL_BYPASS  0x100   /* no transaction: HTTP ended */
#define PKT_EVENT_KEEP_FULL         0x200   /* new bytes could not be kept */

/*
 * A flow ended to give its place in a full pool to a newcomer, or because
 * its work stalled past a timeout (DESIGN §9).  The stage owning the pool
 * frees the place at once and names the victim (its struct stream_flow)
 * and the event; the flow stage fills in who the victim is and removes
 * it; the verdict stage resets it both ways (when `reset`) and logs the
 * event.  Bounded: a stage evicts only while pkt_ctx_evict_room() says so.
 */
#define PKT_EVICT_MAX 12
#define PKT_L2_MAX 22           /* Ethernet + two VLAN tags */

struct pkt_evict {
	const void *victim;         /* the stage's handle: struct stream_flow */
	const char *layer;          /* EVE anomaly layer and event: static */
	const char *event;
	uint8_t reset;              /* send RSTs (set by flow) */
	uint8_t l2_len;             /* bytes of l2 */
	uint16_t client_port;       /* port the client's packets come in on */
	uint32_t seq_to_server;     /* the server's RCV.NXT */
	uint32_t seq_to_client;     /* the client's RCV.NXT */
	uint64_t flow_id;
	struct detect_tuple tuple;  /* to_server orientation */
	uint8_t l2[PKT_L2_MAX];     /* a client packet's L2 header */
};

/* A flow's blocked flag (*pkt_ctx.flow_block): nothing more passes; after
 * a block page the client's FIN is answered with a reset, so its socket
 * closes at once instead of retransmitting into the blocked flow. */
#define PKT_FLOW_BLOCKED      1
#define PKT_FLOW_BLOCKED_PAGE 2

/* Which side of the gateway a packet came in on. */
#define PKT_SIDE_PUBLIC  0
#define PKT_SIDE_PRIVATE 1
#define PKT_SIDE_ANY     0xff   /* replay: one port carries both sides */

struct pkt_ctx {
	struct pkt_meta pm;
	uint16_t in_port;
	uint8_t in_side;            /* PKT_SIDE_* of in_port */
	uint8_t to_server;          /* sent by the flow's client */
	uint8_t flow_blocked;       /* set when this packet blocked its flow */
	uint16_t events;            /* PKT_EVENT_* */
	uint8_t rst_pending;        /* reject fired: send resets */
	uint8_t rst_reply;          /* a client FIN after a block page:
	                             * answer it with a reset */
	/* The flow's blocked flag, set by flow before stream runs: lets the
	 * verdict stage block the flow when its policy drops a packet that
	 * could not be inspected (its bytes are gone from the stream, the
	 * flow cannot continue).  NULL outside a TCP flow. */
	uint8_t *flow_block;
	uint64_t flow_id;
	struct detect_tuple tuple;  /* to_server orientation */
	/* Sequence numbers for resets (reject): the next byte the server
	 * expects from the client, and the next the client expects. */
	uint32_t rst_seq_to_server;
	uint32_t rst_seq_to_client;
	/* The client's next byte after the data that was blocked: what a
	 * block page acknowledges, so the client does not send it again. */
	uint32_t client_next_seq;
	struct detect_result res;
	uint16_t src_bucket;        /* the flow client's hold.h source
	                             * bucket, for pool shares */
	uint64_t now_tsc;           /* the burst's time, for pool order and
	                             * stalled-work timeouts */
	uint16_t n_emit;
	struct pkt_emit emit[PKT_EMIT_MAX];
	uint16_t n_evict;
	struct pkt_evict evict[PKT_EVICT_MAX];
};

static inline void
pkt_ctx_reset(struct pkt_ctx *ctx)
{
	ctx->to_server = 0;
	ctx->flow_blocked = 0;
	ctx->events = 0;
	ctx->rst_pending = 0;
	ctx->rst_reply = 0;
	ctx->flow_block = NULL;
	ctx->flow_id = 0;
	ctx->res.verdict = DETECT_NONE;
	ctx->res.n_fired = 0;
	ctx->res.n_lost = 0;
	ctx->res.faults = 0;
	ctx->res.n_evicted = 0;
	ctx->n_emit = 0;
	ctx->n_evict = 0;
	ctx->src_bucket = UINT16_MAX;
}

/* Room for one more emitted packet?  The received packet plus the held
 * segments it releases: stream stops releasing when this says no. */
static inline int
pkt_ctx_emit_room(const struct pkt_ctx *ctx)
{
	return ctx->n_emit < PKT_EMIT_MAX;
}

static inline void
pkt_ctx_emit(struct pkt_ctx *ctx, struct rte_mbuf *m, uint8_t fate)
{
	/* The caller checked pkt_ctx_emit_room: the received packet always
	 * fits (n_emit starts at 0), releases stop when full. */
	ctx->emit[ctx->n_emit].m = m;
	ctx->emit[ctx->n_emit].fate = fate;
	ctx->emit[ctx->n_emit].faults = 0;
	ctx->n_emit++;
}

/* Emit a packet whose new bytes detection could not fully inspect: the
 * faults detection reported for them move from ctx->res onto the packet,
 * so a later segment of the same burst is judged on its own. */
static inline void
pkt_ctx_emit_uninspected(struct pkt_ctx *ctx, struct rte_mbuf *m)
{
	pkt_ctx_emit(ctx, m, PKT_UNINSPECTED);
	ctx->emit[ctx->n_emit - 1].faults = ctx->res.faults;
	ctx->res.faults = 0;
}

/* Room to evict one more holder while this packet is processed?  A stage
 * asks before it takes a victim's place; without room the newcomer is
 * refused as if nothing could be evicted. */
static inline int
pkt_ctx_evict_room(const struct pkt_ctx *ctx)
{
	return ctx->n_evict < PKT_EVICT_MAX;
}

/* Name a victim whose place the calling stage has just taken back (the
 * caller checked pkt_ctx_evict_room).  layer and event are static. */
static inline void
pkt_ctx_evict(struct pkt_ctx *ctx, const void *victim, const char *layer,
              const char *event)
{
	struct pkt_evict *e = &ctx->evict[ctx->n_evict++];

	e->victim = victim;
	e->layer = layer;
	e->event = event;
	e->reset = 0;
}

#endif /* IPS_PKT_CTX_H */
