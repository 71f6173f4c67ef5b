/*
 * stream.c - TCP reassembly for an inline gateway (see stream.h).
 *
 * Segments are never copied.  A segment is linked into a flow's lists
 * through an mbuf dynamic field (struct stream_seg) that records its
 * sequence number and where its payload lies in the frame:
 *   held - out of order, owned by the stream until the gap fills;
 *   kept - already inspected and forwarded; the stream holds one extra
 *          reference (refcnt) so a retransmission overlapping these bytes
 *          can be compared with what detection saw.  Only a segment's new
 *          bytes are recorded (its older ones were found equal to kept
 *          copies), and acknowledged ones are forgotten, so the list
 *          covers [first kept seq, next_seq) exactly once: the bytes the
 *          peer may still need again.  Released when it acknowledges them.
 * Held segments are bounded in mbufs, kept ones in bytes (per flow: the
 * window the server advertises is clamped to it) and in mbufs, per
 * direction and per worker.  The two budgets are apart: out-of-order
 * segments filling the hold never stop in-order bytes from being kept.
 */
#include <stdbool.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_tcp.h>

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
	uint32_t held_in_use;   /* held mbufs, this worker */
	uint32_t kept_in_use;   /* kept mbufs, this worker */
	uint64_t kept_bytes;    /* kept bytes, this worker */
	struct hold_pool held;  /* flows holding segments, a unit each */
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
stream_conf_init(struct stream_conf *sc, const struct ips_config *c,
                 uint64_t tsc_hz)
{
	memset(sc, 0, sizeof(*sc));
	sc->held_per_flow = c->limits.stream_held_per_flow;
	sc->kept_bytes_per_flow = c->limits.stream_kept_bytes_per_flow;
	sc->kept_segs_per_flow = sc->kept_bytes_per_flow /
	                         STREAM_KEPT_SEG_MIN_AVG;
	sc->held_total = c->limits.stream_held;
	sc->kept_bytes_total = c->limits.stream_kept_bytes;
	sc->kept_segs_total = sc->kept_bytes_total / STREAM_KEPT_SEG_MIN_AVG;
	sc->source_share_pct = c->limits.source_share;
	sc->gap_timeout_tsc = (uint64_t)c->limits.stream_gap_timeout * tsc_hz;
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
	hold_pool_init(&sw->held, conf->held_total, conf->source_share_pct);
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
	sf->wscale_client = STREAM_WSCALE_UNSEEN;
	sf->wscale_server = STREAM_WSCALE_UNSEEN;
	sf->http_port = http_port != 0;
	sf->inspect = sf->http_port;
	sf->probed = sf->http_port || !probe;
	sf->http.owner = sf;
}

/* ---- segment lists ------------------------------------------------------ */

/* Take one more reference on every segment of the chain: TX frees its
 * reference, ours keeps the bytes readable until the peer acks them. */
static void
stream_mbuf_ref(struct rte_mbuf *m)
{
	for (struct rte_mbuf *s = m; s != NULL; s = s->next)
		rte_mbuf_refcnt_update(s, 1);
}

/* Forget the first n bytes of kept segment s (acknowledged, or checked
 * equal to older kept copies). */
static void
stream_kept_shrink(struct stream_worker *sw, struct stream_dir *d,
                   struct stream_seg *s, uint32_t n)
{
	s->seq += n;
	s->off += n;
	s->len -= n;
	d->kept_bytes -= n;
	sw->kept_bytes -= n;
}

static void
stream_kept_drop_head(struct stream_worker *sw, struct stream_dir *d)
{
	struct rte_mbuf *m = d->kept;
	struct stream_seg *s = stream_seg(m);

	d->kept = s->next;
	if (d->kept == NULL)
		d->kept_tail = NULL;
	d->n_kept--;
	d->kept_bytes -= s->len;
	sw->kept_bytes -= s->len;
	sw->kept_in_use--;
	rte_pktmbuf_free(m);
}

/*
 * Can len new bytes be kept once forwarded?  Asked before they are
 * inspected: bytes that cannot be kept are dropped unseen (the sender
 * retransmits them once acknowledgements free room), because forwarding
 * them without a copy would leave a later loss of them after the gateway
 * unrecoverable (their retransmission could not be checked).
 */
static bool
stream_kept_room(const struct stream_worker *sw, const struct stream_dir *d,
                 uint32_t len)
{
	return d->kept_bytes + len <= sw->conf.kept_bytes_per_flow &&
	       d->n_kept < sw->conf.kept_segs_per_flow &&
	       sw->kept_bytes + len <= sw->conf.kept_bytes_total &&
	       sw->kept_in_use < sw->conf.kept_segs_total;
}

/* Keep m's bytes from `from` (its new ones) until the peer acknowledges
 * them; the caller checked stream_kept_room. */
static void
stream_keep(struct stream_worker *sw, struct stream_dir *d, struct rte_mbuf *m,
            uint32_t from)
{
	struct stream_seg *s = stream_seg(m);

	stream_mbuf_ref(m);
	s->next = NULL;
	if (d->kept_tail != NULL)
		stream_seg(d->kept_tail)->next = m;
	else
		d->kept = m;
	d->kept_tail = m;
	d->n_kept++;
	d->kept_bytes += s->len;
	sw->kept_bytes += s->len;
	sw->kept_in_use++;
	stream_kept_shrink(sw, d, s, from - s->seq);
}

/* Release kept segments the peer has acknowledged in full, and the
 * acknowledged head of one it has acknowledged in part. */
static void
stream_trim_acked(struct stream_worker *sw, struct stream_dir *d)
{
	while (d->kept != NULL) {
		struct stream_seg *s = stream_seg(d->kept);

		if (SEQ_GT(s->seq + s->len, d->acked)) {
			if (SEQ_LT(s->seq, d->acked))
				stream_kept_shrink(sw, d, s, d->acked - s->seq);
			return;
		}
		stream_kept_drop_head(sw, d);
	}
}

static void stream_dir_release(struct stream_worker *sw, struct stream_dir *d,
                               uint64_t *held_counter);

_Static_assert(DETECT_EVICT_MAX < PKT_EVICT_MAX,
               "HTTP and detect victims must fit in pkt_ctx.evict");

/* May this stage evict one more flow of its own?  It leaves room for
 * those HTTP and detection may report for the same packet: their places
 * are freed before they are reported, so they must not be lost. */
static int
stream_evict_room(const struct pkt_ctx *ctx)
{
	return ctx->n_evict + DETECT_EVICT_MAX < PKT_EVICT_MAX;
}

/* Flow sf gives up its held segments (counted in *held_counter) and its
 * connection: the flow stage removes it, the verdict stage resets it. */
static void
stream_evict(struct stream_worker *sw, struct stream_flow *sf,
             struct pkt_ctx *ctx, const char *event, uint64_t *held_counter)
{
	stream_dir_release(sw, &sf->dir[STREAM_CLIENT], held_counter);
	hold_release(&sw->held, &sf->held_node);
	pkt_ctx_evict(ctx, sf, "stream", event);
}

/*
 * Make room for one more held segment of sf: while the worker's segments
 * are all taken, or sf's source holds its share of them, the flow holding
 * segments whose stream made no progress for longest (its source's own,
 * past the share) is evicted.  Never sf itself: its newcomer is refused
 * instead.  Returns 0 when there is room.
 */
static int
stream_hold_room(struct stream_worker *sw, struct stream_flow *sf,
                 struct pkt_ctx *ctx)
{
	for (;;) {
		uint16_t src = ctx->src_bucket;
		int share = hold_src_count(&sw->held, src) >= sw->held.share_max;
		struct hold_node *n;

		if (!share && sw->held_in_use < sw->conf.held_total)
			return 0;
		n = share ? sw->held.src[src].oldest : hold_oldest(&sw->held);
		if (n == NULL || n == &sf->held_node || !stream_evict_room(ctx))
			return -1;
		if (share)
			sw->ws->stream_hold_share_evicted++;
		else
			sw->ws->stream_hold_evicted++;
		stream_evict(sw, hold_entry(n, struct stream_flow, held_node), ctx,
		             share ? "hold_share_evicted" : "hold_evicted",
		             &sw->ws->drop_stream_hold_evicted);
	}
}

/* Insert into the held list, sorted by sequence number.  Returns 0, or -1
 * when the hold limits are reached and no other flow's place could be
 * taken. */
static int
stream_hold(struct stream_worker *sw, struct stream_flow *sf,
            struct stream_dir *d, struct rte_mbuf *m, struct pkt_ctx *ctx)
{
	struct rte_mbuf **pos = &d->held;
	uint32_t seq = stream_seg(m)->seq;

	if (d->n_held >= sw->conf.held_per_flow ||
	    stream_hold_room(sw, sf, ctx) != 0)
		return -1;
	while (*pos != NULL && SEQ_LEQ(stream_seg(*pos)->seq, seq))
		pos = &stream_seg(*pos)->next;
	stream_seg(m)->next = *pos;
	*pos = m;
	d->n_held++;
	sw->held_in_use++;
	if (hold_is_linked(&sf->held_node))
		hold_charge(&sw->held, &sf->held_node, 1);
	else    /* the gap opened now: the stream's last progress */
		hold_take(&sw->held, &sf->held_node, ctx->src_bucket,
		          ctx->now_tsc);
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

	if (sw->http != NULL)
		http_set_clock(sw->http, ctx->now_tsc);
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
			    : http_response_data(sw->http, &sf->http, p, n,
			                         &ctx->tuple, &ctx->res);
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

/* Hand len new bytes at frame offset off to one direction's raw stream,
 * one contiguous piece per mbuf segment.  The raw stream is opened at the
 * direction's first byte (the client's once the HTTP-by-content decision
 * is made); flags: DETECT_RAW_SERVER for the server's bytes. */
static void
stream_feed_raw(struct stream_worker *sw, struct stream_flow *sf,
                struct detect_raw *raw, int flags, struct rte_mbuf *m,
                uint32_t off, uint32_t len, struct pkt_ctx *ctx)
{
	struct rte_mbuf *seg = stream_mbuf_at(m, &off);

	if (!raw->opened)
		detect_raw_open(sw->detect, raw,
		                flags | (sf->inspect ? DETECT_RAW_APP_HTTP : 0),
		                sf, &ctx->tuple, &ctx->res);
	for (; seg != NULL && len > 0 && ctx->res.verdict < DETECT_DROP;
	     seg = seg->next, off = 0) {
		uint32_t n = seg->data_len - off < len ? seg->data_len - off
		                                       : len;

		BENCH_ENTER(BENCH_DETECT);
		detect_raw_data(sw->detect, raw,
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

/* The client accepts a reset at its RCV.NXT: the end of what the server
 * sent, which may be ahead of the client's last ACK. */
static uint32_t
stream_client_rcv_nxt(const struct stream_flow *sf)
{
	const struct stream_dir *srv = &sf->dir[STREAM_SERVER];

	return srv->seq_known ? srv->next_seq : sf->client_ack;
}

void
stream_reset_seqs(const struct stream_flow *sf, uint32_t *to_server,
                  uint32_t *to_client)
{
	/* everything before next_seq was forwarded; held bytes were not */
	*to_server = sf->dir[STREAM_CLIENT].next_seq;
	*to_client = stream_client_rcv_nxt(sf);
}

static void
stream_block(struct pkt_ctx *ctx, struct stream_flow *sf, uint32_t seg_seq)
{
	ctx->flow_blocked = 1;
	ctx->rst_seq_to_server = seg_seq;
	ctx->rst_seq_to_client = stream_client_rcv_nxt(sf);
	ctx->client_next_seq = sf->dir[STREAM_CLIENT].next_seq;
	if (ctx->res.verdict == DETECT_REJECT)
		ctx->rst_pending = 1;
}

/* A FIN right after the last byte inspected: the client's decides the
 * request it cuts short (or whose body ran to the end of the flow) before
 * the FIN reaches the server; the server's, a response body delimited by
 * the close, before it reaches the client.  Leaves a drop in ctx->res. */
static void
stream_eof(struct stream_worker *sw, struct stream_flow *sf, uint32_t end,
           struct pkt_ctx *ctx)
{
	const struct pkt_meta *pm = &ctx->pm;

	if (!sf->inspect || sw->http == NULL ||
	    !(pm->tcp_flags & PKT_TCP_FIN) || ctx->res.verdict >= DETECT_DROP ||
	    pm->seq + pm->payload_len != end)
		return;
	if (ctx->to_server)
		(void)http_request_eof(sw->http, &sf->http, &ctx->tuple,
		                       &ctx->res);
	else
		http_response_eof(sw->http, &sf->http, &ctx->tuple, &ctx->res);
}

/* ---- the TLS handshake (tls.sni, tls.certs, tls.cert_*) ----------------- */

/* What the TLS parser's sink needs.  ctx is NULL when the flow ends:
 * tls_server_release then only returns the buffer (certs_end). */
struct stream_tls_call {
	struct stream_worker *sw;
	struct stream_flow *sf;
	struct pkt_ctx *ctx;
};

static uint8_t *
stream_tls_cert_buffer(void *arg, uint32_t *cap)
{
	struct stream_tls_call *tc = arg;

	return detect_tls_begin(tc->sw->detect, &tc->sf->tls_certs, tc->sf,
	                        &tc->ctx->tuple, &tc->ctx->res, cap);
}

static void
stream_tls_cert(void *arg, const uint8_t *der, uint32_t len, int truncated)
{
	struct stream_tls_call *tc = arg;

	BENCH_ENTER(BENCH_DETECT);
	detect_tls_cert(tc->sw->detect, &tc->sf->tls_certs, der, len,
	                truncated, &tc->ctx->tuple, &tc->ctx->res);
	BENCH_LEAVE();
}

static void
stream_tls_certs_end(void *arg)
{
	struct stream_tls_call *tc = arg;

	detect_tls_end(tc->sw->detect, &tc->sf->tls_certs);
}

static const struct tls_sink stream_tls_sink = {
	stream_tls_cert_buffer, stream_tls_cert, stream_tls_certs_end,
};

static void
stream_tls_hello(void *arg, const uint8_t *body, uint32_t len, int truncated)
{
	struct stream_tls_call *tc = arg;

	BENCH_ENTER(BENCH_DETECT);
	detect_tls_hello(tc->sw->detect, &tc->sf->tls_certs, body, len,
	                 truncated, &tc->ctx->tuple, &tc->ctx->res);
	BENCH_LEAVE();
}

/* The ClientHello takes and gives back a buffer as a Certificate
 * message does (one at a time: the server speaks after it). */
static const struct tls_sink stream_tls_hello_sink = {
	stream_tls_cert_buffer, stream_tls_hello, stream_tls_certs_end,
};

/* Are the server's bytes of this (non-HTTP) flow followed to its
 * certificates?  Only while tls.certs rules are loaded, or a message
 * begun under them goes on. */
static int
stream_tls_follows(const struct stream_worker *sw,
                   const struct stream_flow *sf)
{
	return sw->detect != NULL && !tls_server_ended(&sf->tls) &&
	       (sf->tls_certs.slot != NULL || detect_wants_tls(sw->detect));
}

/* Are the client's bytes of this (non-HTTP) flow followed to its
 * ClientHello?  While tls.sni rules are loaded, or a ClientHello begun
 * under them goes on. */
static int
stream_tls_hello_follows(const struct stream_worker *sw,
                         const struct stream_flow *sf)
{
	return sw->detect != NULL && !sf->inspect &&
	       !tls_client_ended(&sf->tls) &&
	       (sf->tls_certs.slot != NULL ||
	        detect_wants_tls_hello(sw->detect));
}

static void
stream_tls_stopped(struct stream_worker *sw, struct stream_flow *sf, int r)
{
	if (r == TLS_MALFORMED)
		sw->ws->tls_server_not_tls++;
	else if (sf->tls.n_certs != 0)
		sw->ws->tls_server_handshakes++;
}

/* Hand len new bytes at frame offset off to the TLS parser: the server's
 * (client 0) or the client's.  Returns its enum tls_result. */
static int
stream_tls_feed(struct stream_worker *sw, struct stream_flow *sf,
                struct rte_mbuf *m, uint32_t off, uint32_t len,
                struct pkt_ctx *ctx, int client)
{
	struct stream_tls_call tc = { sw, sf, ctx };
	struct rte_mbuf *seg = stream_mbuf_at(m, &off);
	int r = TLS_CONTINUE;

	for (; seg != NULL && len > 0 && r == TLS_CONTINUE;
	     seg = seg->next, off = 0) {
		uint32_t n = seg->data_len - off < len ? seg->data_len - off
		                                       : len;
		const uint8_t *p = rte_pktmbuf_mtod_offset(seg, uint8_t *, off);

		r = client ? tls_client_data(&sf->tls, p, n,
		                             &stream_tls_hello_sink, &tc)
		           : tls_server_data(&sf->tls, p, n, &stream_tls_sink,
		                             &tc);
		len -= n;
	}
	return r;
}

static void
stream_feed_tls(struct stream_worker *sw, struct stream_flow *sf,
                struct rte_mbuf *m, uint32_t off, uint32_t len,
                struct pkt_ctx *ctx)
{
	int r = stream_tls_feed(sw, sf, m, off, len, ctx, 0);

	if (r != TLS_CONTINUE)
		stream_tls_stopped(sw, sf, r);
}

static void
stream_feed_tls_hello(struct stream_worker *sw, struct stream_flow *sf,
                      struct rte_mbuf *m, uint32_t off, uint32_t len,
                      struct pkt_ctx *ctx)
{
	int r = stream_tls_feed(sw, sf, m, off, len, ctx, 1);

	if (r == TLS_MALFORMED)
		sw->ws->tls_client_not_tls++;
	else if (r == TLS_DONE)
		sw->ws->tls_client_hellos++;
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

	if (!stream_kept_room(sw, d, new_len)) {
		ws->drop_stream_kept_full++;
		ctx->events |= PKT_EVENT_KEEP_FULL;
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	d->next_seq = e;
	ws->stream_bytes_inspected += new_len;
	if (hold_is_linked(&sf->held_node))     /* its gap is filling */
		hold_progress(&sw->held, &sf->held_node, ctx->now_tsc);
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
	stream_eof(sw, sf, e, ctx);
	if (stream_tls_hello_follows(sw, sf))
		stream_feed_tls_hello(sw, sf, m, new_off, new_len, ctx);
	/* A flow HTTP rules already dropped needs no raw verdict. */
	if (ctx->res.verdict < DETECT_DROP &&
	    (stream_raw(sw) || sf->raw.slot != NULL))
		stream_feed_raw(sw, sf, &sf->raw, 0, m, new_off, new_len,
		                ctx);
	if (ctx->res.verdict >= DETECT_DROP) {
		ws->drop_rule++;
		stream_block(ctx, sf, seg_seq);
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	stream_keep(sw, d, m, seg_seq);
	if (ctx->res.faults != 0)
		pkt_ctx_emit_uninspected(ctx, m);
	else
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
}

/* HTTP or detection gave the transaction, body or raw stream of other
 * flows to this one, or ended them for stalling: those flows end (the
 * owners reported are their struct stream_flow). */
static void
stream_take_evictions(struct pkt_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->res.n_evicted; i++) {
		const struct detect_evicted *e = &ctx->res.evicted[i];

		/* they evict only while res has room, and res has no more
		 * room than ctx->evict */
		if (pkt_ctx_evict_room(ctx))
			pkt_ctx_evict(ctx, e->owner, e->layer, e->event);
	}
	ctx->res.n_evicted = 0;
}

/* What reads the server's bytes of this flow now. */
#define STREAM_SRV_HTTP 0x1     /* the response tracker */
#define STREAM_SRV_TLS  0x2     /* the TLS parser, for tls.certs */
#define STREAM_SRV_RAW  0x4     /* the server's raw stream */

/* The server's raw stream is read while rules want it, and once opened
 * for as long as it has a slot or a fault to report. */
static int
stream_server_raw(const struct stream_worker *sw, const struct stream_flow *sf)
{
	const struct detect_raw *raw = &sf->raw_server;

	if (raw->opened)
		return raw->slot != NULL || raw->fault != 0;
	return sw->detect != NULL && detect_wants_raw_server(sw->detect);
}

static unsigned
stream_server_readers(const struct stream_worker *sw,
                      const struct stream_flow *sf)
{
	unsigned r = 0;

	if (sf->inspect)
		r |= STREAM_SRV_HTTP;
	else if (stream_tls_follows(sw, sf))
		r |= STREAM_SRV_TLS;
	if (stream_server_raw(sw, sf))
		r |= STREAM_SRV_RAW;
	return r;
}

/*
 * The server's bytes are not held: in-order ones go to what reads them
 * (the response tracker of an HTTP flow, the TLS parser, the server's raw
 * stream).  The response tracker alone only needs to know where each
 * response starts: past a gap it knows no more, and the bytes go on.
 * When rules read the server's bytes, a segment ahead of the next byte is
 * dropped instead (the server sends it again): the client must not hold
 * bytes the rules have not seen.  A retransmission of bytes already
 * passed goes on (the client keeps the copy it has).  A drop verdict
 * drops the packet that completed the match and blocks the flow.
 */
static void
stream_server_input(struct stream_worker *sw, struct stream_flow *sf,
                    struct stream_dir *d, struct rte_mbuf *m,
                    struct pkt_ctx *ctx)
{
	const struct stream_seg *ms = stream_seg(m);
	uint32_t e = ms->seq + ms->len, start = d->next_seq;
	uint32_t off = ms->off + (start - ms->seq), len = e - start;
	unsigned readers = stream_server_readers(sw, sf);

	if (readers == 0 || !SEQ_GT(e, start)) {
		if (SEQ_GT(e, start))
			d->next_seq = e;
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
		return;
	}
	if (SEQ_GT(ms->seq, start)) {
		if (readers == STREAM_SRV_HTTP &&
		    !http_inspects_responses(sw->http, &sf->http)) {
			http_response_gap(sw->http, &sf->http);
			d->next_seq = e;
			pkt_ctx_emit(ctx, m, PKT_FORWARD);
			return;
		}
		sw->ws->drop_server_out_of_order++;
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	d->next_seq = e;
	if (readers & STREAM_SRV_HTTP) {
		stream_http_ended(stream_feed_http(sw, sf, m, off, len, ctx),
		                  ctx);
		stream_eof(sw, sf, e, ctx);
	}
	if (readers & STREAM_SRV_TLS)
		stream_feed_tls(sw, sf, m, off, len, ctx);
	if ((readers & STREAM_SRV_RAW) && ctx->res.verdict < DETECT_DROP)
		stream_feed_raw(sw, sf, &sf->raw_server, DETECT_RAW_SERVER, m,
		                off, len, ctx);
	if (unlikely(ctx->res.n_evicted != 0))
		stream_take_evictions(ctx);
	if (ctx->res.verdict >= DETECT_DROP) {
		/* the client's next byte is this packet's first */
		d->next_seq = start;
		sw->ws->drop_rule++;
		stream_block(ctx, sf, sf->dir[STREAM_CLIENT].next_seq);
		pkt_ctx_emit(ctx, m, PKT_DROP);
	} else if (ctx->res.faults != 0) {
		pkt_ctx_emit_uninspected(ctx, m);
	} else {
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
	}
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
		sw->held_in_use--;
		if (d->n_held == 0)
			hold_release(&sw->held, &sf->held_node);
		else
			hold_charge(&sw->held, &sf->held_node, -1);
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

/* ---- the window the server advertises ----------------------------------- */

/* Window Scale is offered in the SYN and answered in the SYN-ACK
 * (RFC 7323 §2.2); the latest of each counts. */
static void
stream_note_wscale(struct stream_flow *sf, const struct pkt_meta *pm,
                   int to_server)
{
	if (!(pm->tcp_flags & PKT_TCP_SYN))
		return;
	if (to_server && !(pm->tcp_flags & PKT_TCP_ACK))
		sf->wscale_client = pm->tcp_wscale;
	else if (!to_server && (pm->tcp_flags & PKT_TCP_ACK))
		sf->wscale_server = pm->tcp_wscale;
}

/* The shift the client applies to the window of this server segment.  A
 * SYN's window is never scaled; later ones are, by the server's shift,
 * when both ends offered scaling (RFC 7323 §2.2-2.3).  A handshake not
 * seen leaves the largest shift possible: assuming it can only make the
 * window smaller than intended, never larger. */
static unsigned
stream_server_wscale(const struct stream_flow *sf, const struct pkt_meta *pm)
{
	if (pm->tcp_flags & PKT_TCP_SYN)
		return 0;
	if (sf->wscale_client == STREAM_WSCALE_UNSEEN ||
	    sf->wscale_server == STREAM_WSCALE_UNSEEN)
		return PKT_WSCALE_MAX;
	if (sf->wscale_client == PKT_WSCALE_NONE ||
	    sf->wscale_server == PKT_WSCALE_NONE)
		return 0;
	return sf->wscale_server;
}

/* A 16-bit field of a checksummed header changed from old to new (all
 * in network order): the checksum after, RFC 1624 eqn. 3,
 * HC' = ~(~HC + ~m + m'). */
static rte_be16_t
stream_cksum_replace(rte_be16_t cksum, rte_be16_t old, rte_be16_t new)
{
	uint32_t sum = (uint16_t)~cksum + (uint32_t)(uint16_t)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (rte_be16_t)~sum;
}

/*
 * Lower the window of a server-to-client segment so that the client never
 * has more unacknowledged bytes in flight than the flow may keep: every
 * byte it may have to send again is then kept, and a retransmission of a
 * segment lost after the gateway can be checked and forwarded.  The right
 * edge (ack + window) only moves back if the server's own window does.
 */
static void
stream_clamp_window(struct stream_worker *sw, const struct stream_flow *sf,
                    struct rte_mbuf *m, const struct pkt_meta *pm)
{
	uint32_t max = sw->conf.kept_bytes_per_flow >>
	               stream_server_wscale(sf, pm);
	struct rte_tcp_hdr *th;
	rte_be16_t old, new;

	if (pm->window <= max || !(pm->tcp_flags & PKT_TCP_ACK) ||
	    (pm->tcp_flags & PKT_TCP_RST))
		return;
	th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, pm->l4_off);
	old = th->rx_win;
	new = rte_cpu_to_be_16((uint16_t)max);
	th->rx_win = new;
	th->cksum = stream_cksum_replace(th->cksum, old, new);
	sw->ws->stream_window_clamped++;
}

/* ---- entry --------------------------------------------------------------- */

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
	stream_note_wscale(sf, pm, ctx->to_server);
	if (!ctx->to_server && stream_client_inspected(sw, sf))
		stream_clamp_window(sw, sf, m, pm);

	if ((pm->tcp_flags & PKT_TCP_SYN) && !d->seq_known) {
		d->next_seq = pm->seq + 1;      /* SYN takes one sequence number */
		d->seq_known = 1;
	}
	if (pm->payload_len == 0 && !ctx->flow_blocked && d->seq_known &&
	    stream_client_inspected(sw, sf)) {
		stream_eof(sw, sf, d->next_seq, ctx);
		if (ctx->res.verdict >= DETECT_DROP) {
			ws->drop_rule++;
			stream_block(ctx, sf, sf->dir[STREAM_CLIENT].next_seq);
			pkt_ctx_emit(ctx, m, PKT_DROP);
			return;
		}
	}
	if (pm->payload_len == 0 || ctx->flow_blocked) {
		/* Nothing to inspect in a bare SYN/ACK/RST; a FIN was seen
		 * to above. */
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

	if (!ctx->to_server) {
		stream_server_input(sw, sf, d, m, ctx);
		return;
	}
	if (!stream_client_inspected(sw, sf)) {
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
		if (stream_hold(sw, sf, d, m, ctx) == 0) {
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
	if (unlikely(ctx->res.n_evicted != 0))
		stream_take_evictions(ctx);
}

void
stream_expire(struct stream_worker *sw, uint64_t now, struct pkt_ctx *ctx)
{
	struct hold_node *n;

	while (stream_evict_room(ctx) &&
	       (n = hold_stalled(&sw->held, now, sw->conf.gap_timeout_tsc))) {
		sw->ws->stream_gap_timeout++;
		stream_evict(sw, hold_entry(n, struct stream_flow, held_node), ctx,
		             "gap_timeout", &sw->ws->drop_stream_gap_timeout);
	}
	if (sw->http != NULL) {
		http_expire(sw->http, now, &ctx->res);
		stream_take_evictions(ctx);
	}
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
stream_take_fin(struct stream_worker *sw, struct stream_flow *sf,
                int to_server, const struct pkt_meta *pm)
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
	if ((to_server ? sf->raw.slot : sf->raw_server.slot) != NULL) {
		struct detect_raw *raw = to_server ? &sf->raw : &sf->raw_server;

		/* this side sends no more: its raw stream goes back to the
		 * pool now, not when the closed flow expires */
		detect_raw_close(sw->detect, raw);
		raw->opened = 1;
	}
	return 1;
}

/* Free d's held segments, each counted in *held_counter, and its kept
 * ones. */
static void
stream_dir_release(struct stream_worker *sw, struct stream_dir *d,
                   uint64_t *held_counter)
{
	while (d->held != NULL) {
		struct rte_mbuf *m = d->held;

		d->held = stream_seg(m)->next;
		(*held_counter)++;
		sw->held_in_use--;
		rte_pktmbuf_free(m);
	}
	while (d->kept != NULL)
		stream_kept_drop_head(sw, d);
	d->n_held = 0;
}

void
stream_flow_release(struct stream_worker *sw, struct stream_flow *sf,
                    int at_exit)
{
	uint64_t *held = at_exit ? &sw->ws->stream_held_at_exit
	                         : &sw->ws->drop_stream_flow_gone;

	stream_dir_release(sw, &sf->dir[STREAM_CLIENT], held);
	stream_dir_release(sw, &sf->dir[STREAM_SERVER], held);
	hold_release(&sw->held, &sf->held_node);
	http_flow_release(sw->http, &sf->http);
	if (sw->detect != NULL) {
		struct stream_tls_call tc = { sw, sf, NULL };

		detect_raw_close(sw->detect, &sf->raw);
		detect_raw_close(sw->detect, &sf->raw_server);
		tls_server_release(&sf->tls, &stream_tls_sink, &tc);
	}
}
