/*
 * stream.c - TCP reassembly for an inline gateway (see stream.h).
 *
 * Segments are never copied.  A segment is linked into a flow's lists
 * through an mbuf dynamic field (struct stream_seg) that records its
 * sequence number and where its payload lies in the frame:
 *   held - out of order, owned by the stream until the gap fills;
 *   kept - already inspected and forwarded; the stream holds one extra
 *          reference (refcnt) so a retransmission overlapping these bytes
 *          can be compared with what detection saw.  Released when the
 *          peer acknowledges them.
 * Both lists are bounded per direction and per worker.
 */
#include <stdbool.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "bench.h"
#include "config.h"
#include "stream.h"

/* Sequence-space comparisons (RFC 793 modular arithmetic). */
#define SEQ_LT(a, b)  ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((a) - (b)) > 0)

/* A segment further ahead than this is not a plausible out-of-order
 * arrival but a forged or corrupt sequence number: no receive window is
 * that large without window scaling beyond what we hold anyway. */
#define STREAM_MAX_AHEAD (1u << 30)

struct stream_seg {
	struct rte_mbuf *next;
	uint32_t seq;           /* sequence number of the first payload byte */
	uint32_t off;           /* payload offset in the frame */
	uint32_t len;           /* payload bytes */
};

static int stream_seg_offset = -1;

struct stream_worker {
	struct stream_conf conf;
	struct http_worker *http;
	struct detect_worker *detect;   /* raw stream path, or NULL */
	struct worker_stats *ws;
	uint32_t segs_in_use;   /* held + kept, this worker */
};

static inline struct stream_seg *
stream_seg(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, stream_seg_offset, struct stream_seg *);
}

int
stream_register_dynfield(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "ips_stream_seg",
		.size = sizeof(struct stream_seg),
		.align = __alignof__(struct stream_seg),
	};

	stream_seg_offset = rte_mbuf_dynfield_register(&desc);
	return stream_seg_offset < 0 ? -1 : 0;
}

void
stream_conf_init(struct stream_conf *sc, const struct ips_config *c)
{
	memset(sc, 0, sizeof(*sc));
	sc->held_per_flow = c->limits.stream_held_per_flow;
	/* unacked data kept for overlap checks: a receive window (64 KiB =
	 * 45 full segments) needs more than the hold */
	sc->kept_per_flow = 4 * c->limits.stream_held_per_flow;
	sc->held_total = c->limits.stream_held;
	sc->drop_on_hold_full = c->policy.stream_hold_full == POLICY_DROP;
}

struct stream_worker *
stream_worker_create(const struct stream_conf *conf, struct http_worker *hw,
                     struct detect_worker *dw, struct worker_stats *ws)
{
	struct stream_worker *sw = rte_zmalloc("stream_worker", sizeof(*sw), 0);

	if (sw == NULL)
		return NULL;
	sw->conf = *conf;
	sw->http = hw;
	sw->detect = dw;
	sw->ws = ws;
	return sw;
}

void
stream_worker_free(struct stream_worker *sw)
{
	rte_free(sw);
}

void
stream_flow_init(struct stream_flow *sf, int http_port, int probe)
{
	memset(sf, 0, sizeof(*sf));
	sf->http_port = http_port != 0;
	sf->inspect = sf->http_port;
	sf->probed = sf->http_port || !probe;
}

/* ---- segment lists ------------------------------------------------------ */

static void
stream_seg_free(struct stream_worker *sw, struct rte_mbuf *m)
{
	sw->segs_in_use--;
	rte_pktmbuf_free(m);
}

/* Take one more reference on every segment of the chain: TX frees its
 * reference, ours keeps the bytes readable until the peer acks them. */
static void
stream_mbuf_ref(struct rte_mbuf *m)
{
	for (struct rte_mbuf *s = m; s != NULL; s = s->next)
		rte_mbuf_refcnt_update(s, 1);
}

static void
stream_keep(struct stream_worker *sw, struct stream_dir *d, struct rte_mbuf *m)
{
	if (d->n_kept >= sw->conf.kept_per_flow ||
	    sw->segs_in_use >= sw->conf.held_total) {
		/* Out of room: forget the oldest.  Its bytes become
		 * unverifiable until acked; a retransmission of them is then
		 * dropped (fail closed), never forwarded unchecked. */
		struct rte_mbuf *old = d->kept;

		if (old == NULL)
			return;
		d->kept = stream_seg(old)->next;
		if (d->kept == NULL)
			d->kept_tail = NULL;
		d->n_kept--;
		sw->ws->stream_kept_evicted++;
		stream_seg_free(sw, old);
	}
	stream_mbuf_ref(m);
	stream_seg(m)->next = NULL;
	if (d->kept_tail != NULL)
		stream_seg(d->kept_tail)->next = m;
	else
		d->kept = m;
	d->kept_tail = m;
	d->n_kept++;
	sw->segs_in_use++;
}

/* Release kept segments the peer has acknowledged in full. */
static void
stream_trim_acked(struct stream_worker *sw, struct stream_dir *d)
{
	while (d->kept != NULL) {
		struct stream_seg *s = stream_seg(d->kept);
		struct rte_mbuf *m = d->kept;

		if (SEQ_GT(s->seq + s->len, d->acked))
			break;
		d->kept = s->next;
		d->n_kept--;
		stream_seg_free(sw, m);
	}
	if (d->kept == NULL)
		d->kept_tail = NULL;
}

/* Insert into the held list, sorted by sequence number.  Returns 0, or -1
 * when the hold limits are reached. */
static int
stream_hold(struct stream_worker *sw, struct stream_dir *d, struct rte_mbuf *m)
{
	struct rte_mbuf **pos = &d->held;
	uint32_t seq = stream_seg(m)->seq;

	if (d->n_held >= sw->conf.held_per_flow ||
	    sw->segs_in_use >= sw->conf.held_total)
		return -1;
	while (*pos != NULL && SEQ_LEQ(stream_seg(*pos)->seq, seq))
		pos = &stream_seg(*pos)->next;
	stream_seg(m)->next = *pos;
	*pos = m;
	d->n_held++;
	sw->segs_in_use++;
	return 0;
}

/* ---- byte comparison of a retransmission with what was inspected ------- */

enum overlap_check {
	OVERLAP_SAME = 0,
	OVERLAP_MISMATCH,
	OVERLAP_UNVERIFIABLE,
};

/* Compare len bytes at offset a_off of frame a with b_off of frame b. */
static int
stream_bytes_equal(const struct rte_mbuf *a, uint32_t a_off,
                   const struct rte_mbuf *b, uint32_t b_off, uint32_t len)
{
	uint8_t abuf[256], bbuf[256];

	while (len > 0) {
		uint32_t n = len < sizeof(abuf) ? len : sizeof(abuf);
		const void *pa = rte_pktmbuf_read(a, a_off, n, abuf);
		const void *pb = rte_pktmbuf_read(b, b_off, n, bbuf);

		if (pa == NULL || pb == NULL || memcmp(pa, pb, n) != 0)
			return 0;
		a_off += n;
		b_off += n;
		len -= n;
	}
	return 1;
}

/*
 * Check the bytes [s, e) of segment m, all below d->next_seq, against the
 * kept segments.  Bytes below d->acked are already delivered and cannot
 * change what the server reads, so they need no check.
 */
static int
stream_check_overlap(const struct stream_dir *d, struct rte_mbuf *m,
                     uint32_t s, uint32_t e)
{
	const struct stream_seg *ms = stream_seg(m);
	uint32_t from = s;

	if (d->acked_known && SEQ_LT(from, d->acked))
		from = d->acked;
	for (const struct rte_mbuf *k = d->kept; k != NULL && SEQ_LT(from, e);
	     k = stream_seg((struct rte_mbuf *)(uintptr_t)k)->next) {
		const struct stream_seg *ks =
			stream_seg((struct rte_mbuf *)(uintptr_t)k);
		uint32_t ke = ks->seq + ks->len;
		uint32_t to;

		if (SEQ_LEQ(ke, from))
			continue;
		if (SEQ_GT(ks->seq, from))
			return OVERLAP_UNVERIFIABLE;    /* a gap in what we kept */
		to = SEQ_LT(ke, e) ? ke : e;
		if (!stream_bytes_equal(m, ms->off + (from - s), k,
		                        ks->off + (from - ks->seq), to - from))
			return OVERLAP_MISMATCH;
		from = to;
	}
	return SEQ_LT(from, e) ? OVERLAP_UNVERIFIABLE : OVERLAP_SAME;
}

/* ---- inspection ---------------------------------------------------------- */

static void
stream_probe_http(struct stream_flow *sf, struct rte_mbuf *m, uint32_t off,
                  uint32_t len, struct worker_stats *ws)
{
	uint8_t buf[16];
	uint32_t n = len < sizeof(buf) ? len : sizeof(buf);
	const uint8_t *p = rte_pktmbuf_read(m, off, n, buf);
	int r = p != NULL ? http_probe_request(p, n) : 0;

	/* Undecided (a method prefix split across segments) is treated as
	 * HTTP: the parser's malformed policy handles what is not. */
	sf->probed = 1;
	sf->inspect = r != 0;
	if (sf->inspect)
		ws->http_detected_by_content++;
}

/* The mbuf segment of chain m that holds frame offset *off; *off becomes
 * the offset within it.  NULL past the end of the chain. */
static struct rte_mbuf *
stream_mbuf_at(struct rte_mbuf *m, uint32_t *off)
{
	while (m != NULL && *off >= m->data_len) {
		*off -= m->data_len;
		m = m->next;
	}
	return m;
}

/* Hand len new bytes at frame offset off to HTTP, one contiguous piece per
 * mbuf segment: the request parser for client bytes, the response
 * tracker for server bytes.  Returns the http_result. */
static int
stream_feed_http(struct stream_worker *sw, struct stream_flow *sf,
                 struct rte_mbuf *m, uint32_t off, uint32_t len,
                 struct pkt_ctx *ctx)
{
	struct rte_mbuf *seg = stream_mbuf_at(m, &off);

	while (seg != NULL && len > 0) {
		uint32_t n = seg->data_len - off;
		int r;

		if (n > len)
			n = len;
		{
			const uint8_t *p = rte_pktmbuf_mtod_offset(seg, uint8_t *,
			                                           off);

			BENCH_ENTER(BENCH_HTTP);
			r = ctx->to_server
			    ? http_request_data(sw->http, &sf->http, p, n,
			                        &ctx->tuple, &ctx->res)
			    : http_response_data(sw->http, &sf->http, p, n);
			BENCH_LEAVE();
		}
		if (r != HTTP_CONTINUE)
			return r;
		if (ctx->res.verdict >= DETECT_DROP)
			return HTTP_CONTINUE;
		len -= n;
		off = 0;
		seg = seg->next;
	}
	return HTTP_CONTINUE;
}

/* HTTP inspection ended without a drop (bypass policy, tunnel): log it.
 * Returns true when the flow must be dropped instead. */
static bool
stream_http_ended(int r, struct pkt_ctx *ctx)
{
	if (r == HTTP_BYPASS)
		ctx->events |= PKT_EVENT_HTTP_BYPASS;
	else if (r == HTTP_BYPASS_POOL)
		ctx->events |= PKT_EVENT_HTTP_POOL_BYPASS;
	else if (r == HTTP_TUNNEL)
		ctx->events |= PKT_EVENT_HTTP_TUNNEL;
	return r == HTTP_DROP_POLICY;
}

/*
 * Server bytes are not held (nothing inspects responses to drop them):
 * in-order ones go to the response tracker, which only needs to know
 * where each response starts; a gap means it cannot know any more.
 */
static void
stream_server_bytes(struct stream_worker *sw, struct stream_flow *sf,
                    struct stream_dir *d, struct rte_mbuf *m,
                    struct pkt_ctx *ctx)
{
	const struct stream_seg *ms = stream_seg(m);
	uint32_t e = ms->seq + ms->len;

	if (!SEQ_GT(e, d->next_seq))
		return;     /* nothing new: a retransmission */
	if (SEQ_GT(ms->seq, d->next_seq)) {
		http_response_gap(sw->http, &sf->http);
		d->next_seq = e;
		return;
	}
	stream_http_ended(stream_feed_http(sw, sf, m,
	                                   ms->off + (d->next_seq - ms->seq),
	                                   e - d->next_seq, ctx), ctx);
	d->next_seq = e;
}

/* Hand len new client bytes at frame offset off to the raw stream path,
 * one contiguous piece per mbuf segment.  The raw stream is opened at the
 * flow's first byte, once the HTTP-by-content decision is made. */
static void
stream_feed_raw(struct stream_worker *sw, struct stream_flow *sf,
                struct rte_mbuf *m, uint32_t off, uint32_t len,
                struct pkt_ctx *ctx)
{
	struct rte_mbuf *seg = stream_mbuf_at(m, &off);

	if (!sf->raw.opened)
		detect_raw_open(sw->detect, &sf->raw, sf->inspect);
	for (; seg != NULL && len > 0 && ctx->res.verdict < DETECT_DROP;
	     seg = seg->next, off = 0) {
		uint32_t n = seg->data_len - off < len ? seg->data_len - off
		                                       : len;

		BENCH_ENTER(BENCH_DETECT);
		detect_raw_data(sw->detect, &sf->raw,
		                rte_pktmbuf_mtod_offset(seg, uint8_t *, off), n,
		                &ctx->tuple, &ctx->res);
		BENCH_LEAVE();
		len -= n;
	}
}

/* Raw stream rules are loaded now.  Asked per segment, not once at start:
 * a reload may add or remove them.  A flow whose raw stream was opened
 * keeps it (and its rules) until it ends; one that began without raw
 * rules is inspected from the reload on. */
static int
stream_raw(const struct stream_worker *sw)
{
	return sw->detect != NULL && detect_wants_raw(sw->detect);
}

/* Are the client's bytes of this flow inspected (reassembled, in order)?
 * Every TCP flow's are when raw stream rules are loaded. */
static int
stream_client_inspected(const struct stream_worker *sw,
                        const struct stream_flow *sf)
{
	return stream_raw(sw) || sf->raw.slot != NULL || !sf->probed ||
	       sf->inspect;
}

static void
stream_block(struct pkt_ctx *ctx, struct stream_flow *sf, uint32_t seg_seq)
{
	ctx->flow_blocked = 1;
	const struct stream_dir *srv = &sf->dir[STREAM_SERVER];

	ctx->rst_seq_to_server = seg_seq;
	/* The client accepts a reset at its RCV.NXT: the end of what the
	 * server sent, which may be ahead of the client's last ACK. */
	ctx->rst_seq_to_client = srv->seq_known ? srv->next_seq : sf->client_ack;
	ctx->client_next_seq = sf->dir[STREAM_CLIENT].next_seq;
	if (ctx->res.verdict == DETECT_REJECT)
		ctx->rst_pending = 1;
}

/*
 * A segment whose first byte is at or before next_seq: check the part
 * already inspected, inspect the new part, decide its fate.
 */
static void
stream_accept(struct stream_worker *sw, struct stream_flow *sf,
              struct stream_dir *d, struct rte_mbuf *m, struct pkt_ctx *ctx)
{
	struct worker_stats *ws = sw->ws;
	const struct stream_seg *ms = stream_seg(m);
	uint32_t s = ms->seq, e = ms->seq + ms->len;
	uint32_t old_end = SEQ_LT(e, d->next_seq) ? e : d->next_seq;

	if (ctx->flow_blocked) {
		ws->drop_flow_blocked++;
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	if (SEQ_LT(s, old_end)) {
		int r = stream_check_overlap(d, m, s, old_end);

		if (r == OVERLAP_MISMATCH) {
			ws->drop_stream_overlap_mismatch++;
			ctx->events |= PKT_EVENT_OVERLAP_MISMATCH;
			pkt_ctx_emit(ctx, m, PKT_DROP);
			return;
		}
		if (r == OVERLAP_UNVERIFIABLE) {
			ws->drop_stream_unverifiable++;
			ctx->events |= PKT_EVENT_UNVERIFIABLE;
			pkt_ctx_emit(ctx, m, PKT_DROP);
			return;
		}
		ws->stream_retransmit_same++;
		if (!SEQ_GT(e, d->next_seq)) {
			pkt_ctx_emit(ctx, m, PKT_FORWARD);
			return;
		}
	}

	/* New bytes [next_seq, e). */
	uint32_t new_off = ms->off + (d->next_seq - s);
	uint32_t new_len = e - d->next_seq;
	/* Everything before next_seq reached the server: a reset must
	 * carry the first byte it has not seen. */
	uint32_t seg_seq = d->next_seq;

	d->next_seq = e;
	ws->stream_bytes_inspected += new_len;
	if (!sf->probed)
		stream_probe_http(sf, m, new_off, new_len, ws);
	if (sf->inspect) {
		int r = stream_feed_http(sw, sf, m, new_off, new_len, ctx);

		if (stream_http_ended(r, ctx)) {
			/* HTTP counted the reason (drop_http_*). */
			ctx->events |= PKT_EVENT_HTTP_POLICY;
			stream_block(ctx, sf, seg_seq);
			pkt_ctx_emit(ctx, m, PKT_DROP);
			return;
		}
	}
	/* A flow HTTP rules already dropped needs no raw verdict. */
	if (ctx->res.verdict < DETECT_DROP &&
	    (stream_raw(sw) || sf->raw.slot != NULL))
		stream_feed_raw(sw, sf, m, new_off, new_len, ctx);
	if (ctx->res.verdict >= DETECT_DROP) {
		ws->drop_rule++;
		stream_block(ctx, sf, seg_seq);
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	stream_keep(sw, d, m);
	if (ctx->res.faults != 0)
		pkt_ctx_emit_uninspected(ctx, m);
	else
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
}

/* Release held segments the new in-order bytes have reached. */
static void
stream_release_held(struct stream_worker *sw, struct stream_flow *sf,
                    struct stream_dir *d, struct pkt_ctx *ctx)
{
	/* Whatever does not fit in this packet's emit list stays held and
	 * goes out with the next packet of the flow. */
	while (d->held != NULL && pkt_ctx_emit_room(ctx) &&
	       SEQ_LEQ(stream_seg(d->held)->seq, d->next_seq)) {
		struct rte_mbuf *m = d->held;

		d->held = stream_seg(m)->next;
		d->n_held--;
		sw->segs_in_use--;
		sw->ws->stream_segments_released++;
		stream_accept(sw, sf, d, m, ctx);
	}
}

static void
stream_note_ack(struct stream_worker *sw, struct stream_flow *sf,
                const struct pkt_meta *pm, int to_server)
{
	struct stream_dir *peer = &sf->dir[to_server ? STREAM_SERVER
	                                             : STREAM_CLIENT];

	if (!(pm->tcp_flags & PKT_TCP_ACK))
		return;
	if (to_server)
		sf->client_ack = pm->ack;
	/* An ACK beyond what was sent is forged or corrupt; do not let it
	 * release kept bytes early. */
	if (peer->seq_known && SEQ_GT(pm->ack, peer->next_seq))
		return;
	if (!peer->acked_known || SEQ_GT(pm->ack, peer->acked)) {
		peer->acked = pm->ack;
		peer->acked_known = 1;
		stream_trim_acked(sw, peer);
	}
}

void
stream_input(struct stream_worker *sw, struct stream_flow *sf,
             struct rte_mbuf *m, struct pkt_ctx *ctx)
{
	const struct pkt_meta *pm = &ctx->pm;
	struct worker_stats *ws = sw->ws;
	struct stream_dir *d = &sf->dir[ctx->to_server ? STREAM_CLIENT
	                                                : STREAM_SERVER];
	struct stream_seg *seg = stream_seg(m);

	stream_note_ack(sw, sf, pm, ctx->to_server);

	if ((pm->tcp_flags & PKT_TCP_SYN) && !d->seq_known) {
		d->next_seq = pm->seq + 1;      /* SYN takes one sequence number */
		d->seq_known = 1;
	}
	if (pm->payload_len == 0 || ctx->flow_blocked) {
		/* Nothing to inspect in a bare SYN/ACK/FIN/RST. */
		pkt_ctx_emit(ctx, m, ctx->flow_blocked ? PKT_DROP : PKT_FORWARD);
		if (ctx->flow_blocked)
			ws->drop_flow_blocked++;
		return;
	}
	ws->stream_segments++;
	if (!d->seq_known) {
		/* Picked up mid-stream under a bypass policy. */
		d->next_seq = pm->seq;
		d->seq_known = 1;
	}
	seg->seq = pm->seq + ((pm->tcp_flags & PKT_TCP_SYN) ? 1 : 0);
	seg->off = pm->payload_off;
	seg->len = pm->payload_len;
	seg->next = NULL;

	if (!ctx->to_server && sf->inspect) {
		stream_server_bytes(sw, sf, d, m, ctx);
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
		return;
	}
	if (!ctx->to_server || !stream_client_inspected(sw, sf)) {
		/* Not inspected: keep sequence tracking for resets only. */
		if (SEQ_GT(seg->seq + seg->len, d->next_seq))
			d->next_seq = seg->seq + seg->len;
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
		return;
	}

	if (pm->tcp_flags & PKT_TCP_URG) {
		/* A receiving socket removes the urgent byte from the stream it
		 * reads (unless SO_OOBINLINE): the server would not see what
		 * we inspect.  HTTP never uses it. */
		ws->drop_tcp_urgent++;
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	if (SEQ_GT(seg->seq, d->next_seq)) {
		if (seg->seq - d->next_seq > STREAM_MAX_AHEAD) {
			ws->drop_stream_out_of_window++;
			pkt_ctx_emit(ctx, m, PKT_DROP);
			return;
		}
		if (stream_hold(sw, d, m) == 0) {
			ws->stream_segments_held++;
			return;
		}
		if (sw->conf.drop_on_hold_full) {
			ws->drop_stream_hold_full++;
			ctx->events |= PKT_EVENT_HOLD_FULL;
			pkt_ctx_emit(ctx, m, PKT_DROP);
		} else {
			ws->stream_hold_bypass++;
			ctx->events |= PKT_EVENT_HOLD_BYPASS;
			pkt_ctx_emit(ctx, m, PKT_FORWARD);
		}
		return;
	}
	stream_accept(sw, sf, d, m, ctx);
	stream_release_held(sw, sf, d, ctx);
}

void
stream_syn_acked(struct stream_flow *sf, uint32_t ack)
{
	struct stream_dir *c = &sf->dir[STREAM_CLIENT];

	c->next_seq = ack;
	c->seq_known = 1;
}

int
stream_rst_acceptable(const struct stream_flow *sf, int to_server,
                      const struct pkt_meta *pm)
{
	const struct stream_dir *d = &sf->dir[to_server ? STREAM_CLIENT
	                                                : STREAM_SERVER];
	const struct stream_dir *peer = &sf->dir[to_server ? STREAM_SERVER
	                                                   : STREAM_CLIENT];

	if (d->seq_known)
		return pm->seq == d->next_seq;
	return (pm->tcp_flags & PKT_TCP_ACK) && peer->seq_known &&
	       pm->ack == peer->next_seq;
}

int
stream_take_fin(struct stream_flow *sf, int to_server,
                const struct pkt_meta *pm)
{
	struct stream_dir *d = &sf->dir[to_server ? STREAM_CLIENT
	                                          : STREAM_SERVER];
	uint32_t end = pm->seq + pm->payload_len;

	if (!d->seq_known)
		return 0;
	if (d->fin)
		return end + 1 == d->next_seq;
	if (end != d->next_seq)
		return 0;
	d->next_seq++;          /* the FIN takes one sequence number */
	d->fin = 1;
	return 1;
}

static void
stream_dir_release(struct stream_worker *sw, struct stream_dir *d,
                   int at_exit)
{
	while (d->held != NULL) {
		struct rte_mbuf *m = d->held;

		d->held = stream_seg(m)->next;
		if (at_exit)
			sw->ws->stream_held_at_exit++;
		else
			sw->ws->drop_stream_flow_gone++;
		stream_seg_free(sw, m);
	}
	while (d->kept != NULL) {
		struct rte_mbuf *m = d->kept;

		d->kept = stream_seg(m)->next;
		stream_seg_free(sw, m);
	}
	d->kept_tail = NULL;
	d->n_held = 0;
	d->n_kept = 0;
}

void
stream_flow_release(struct stream_worker *sw, struct stream_flow *sf,
                    int at_exit)
{
	stream_dir_release(sw, &sf->dir[STREAM_CLIENT], at_exit);
	stream_dir_release(sw, &sf->dir[STREAM_SERVER], at_exit);
	http_flow_release(sw->http, &sf->http);
	if (sw->detect != NULL)
		detect_raw_close(sw->detect, &sf->raw);
}
