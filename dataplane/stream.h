/*
 * stream.h - TCP reassembly with the inline-safety rule of DESIGN §5:
 * no byte reaches the server that detection has not seen, in the order the
 * server will see it.
 *
 * Owns: per-direction sequence tracking of a flow (struct stream_flow,
 * embedded in the flow), out-of-order segments held until the gap fills,
 * and inspected-but-unacknowledged segments kept (by mbuf reference, not by
 * copy) so that a retransmission overlapping them can be checked byte for
 * byte.  A segment that overlaps inspected bytes with different bytes is
 * dropped with an anomaly event; one overlapping bytes the receiver has
 * already acknowledged is harmless (the receiver discards them) and is
 * forwarded; one overlapping bytes that are neither kept nor acknowledged
 * cannot be checked and is dropped (fail closed; the sender retransmits).
 *
 * Kept bytes are bounded per flow and per worker, in bytes, and the
 * window the server advertises to the client is clamped to the per-flow
 * bound (its Window Scale option honoured, the checksum adjusted): the
 * client never has more unacknowledged bytes in flight than the gateway
 * keeps, so a segment lost after the gateway is always kept and its
 * retransmission checked and forwarded.  New bytes that could not be kept
 * (a client ignoring the window, a worker's budget spent) are dropped
 * before inspection: the client retransmits them once acknowledgements
 * free room.
 *
 * Client-to-server bytes of HTTP flows are handed, in order and once, to the
 * HTTP stage.  When the rules inspect the raw stream, the client-to-server
 * bytes of every TCP flow are also handed, in order and once, to the raw
 * stream path of the detect stage (detect_raw_*), whatever the protocol.
 * Server-to-client bytes are tracked but not held: nothing inspects
 * responses yet.
 *
 * Held segments are a pool (DESIGN §9): when it is full, the flow whose
 * client stream made no progress for longest (its gap the oldest) gives
 * up its held segments and its connection for the newcomer; no one source
 * holds more than its share; and a gap left unfilled for
 * limits.stream_gap_timeout ends its flow the same way.
 *
 * Entry point: stream_input().  Thread: one stream_worker per worker.
 */
#ifndef IPS_STREAM_H
#define IPS_STREAM_H

#include <stdint.h>

#include "hold.h"
#include "http.h"
#include "pkt_ctx.h"
#include "stats.h"
#include "tls.h"

struct rte_mbuf;
struct stream_worker;

struct stream_conf {
	uint32_t held_per_flow;     /* out-of-order segments per direction,
	                             * < PKT_EMIT_MAX */
	uint32_t kept_bytes_per_flow;   /* inspected, unacked bytes kept per
	                             * direction, >= 65536: the window the
	                             * server advertises is clamped to it */
	uint32_t kept_segs_per_flow;    /* mbufs those bytes may take */
	uint32_t held_total;        /* held mbufs per worker */
	uint32_t kept_bytes_total;  /* kept bytes per worker */
	uint32_t kept_segs_total;   /* kept mbufs per worker */
	uint32_t source_share_pct;  /* of held_total one source may hold
	                             * out of order; 0 = no limit */
	uint64_t gap_timeout_tsc;   /* a gap unfilled this long ends its
	                             * flow; 0 = never */
	uint8_t drop_on_hold_full;  /* policy: 1 = drop, 0 = bypass (forward
	                             * the segment uninspected, counted) */
};

struct stream_dir {
	uint32_t next_seq;          /* next byte to inspect and forward */
	uint32_t acked;             /* highest ACK from the peer */
	struct rte_mbuf *held;      /* out of order, sorted by seq */
	struct rte_mbuf *kept;      /* inspected, forwarded, not yet acked */
	struct rte_mbuf *kept_tail;
	uint32_t kept_bytes;        /* unacked bytes in kept: they cover
	                             * [first kept seq, next_seq) once each */
	uint16_t n_kept;
	uint8_t n_held;             /* <= held_per_flow < PKT_EMIT_MAX */
	uint8_t seq_known : 1;
	uint8_t acked_known : 1;
	uint8_t fin : 1;            /* FIN taken: next_seq counts it */
};

#define STREAM_CLIENT 0
#define STREAM_SERVER 1

struct stream_flow {
	struct stream_dir dir[2];   /* [STREAM_CLIENT] = client->server */
	struct hold_node held_node; /* among flows holding client segments
	                             * out of order, by last progress */
	struct http_flow http;
	struct detect_raw raw;      /* raw stream inspection of client bytes */
	struct detect_raw raw_server;   /* and of the server's, while rules
	                                 * read them */
	struct tls_handshake tls;   /* its TLS handshake: the client's
	                             * ClientHello, then the server's
	                             * certificates, while rules read them */
	struct detect_tls tls_certs;    /* its ClientHello's, then its
	                                 * certificates' inspection */
	uint32_t client_ack;        /* last ACK number the client sent */
	uint8_t inspect : 1;        /* client bytes go to HTTP */
	uint8_t probed : 1;         /* HTTP-by-content decision made */
	uint8_t http_port : 1;      /* server port is a configured HTTP port */
	uint8_t wscale_client;      /* Window Scale of the client's SYN, of */
	uint8_t wscale_server;      /* the server's SYN-ACK: PKT_WSCALE_NONE,
	                             * or STREAM_WSCALE_UNSEEN */
};

#define STREAM_WSCALE_UNSEEN 0xfe

/* Kept segments may average no less than this many bytes before a flow
 * (or worker) meets its mbuf bound within its byte bound: full-sized
 * segments (an MSS of 1220 at the least on IPv6 paths, 1460 on most) never
 * do; a sender of many small ones is slowed (its next ones are dropped and
 * retransmitted, coalesced), never broken.  It also sizes the mbuf pool's
 * share for kept segments (worker.c). */
#define STREAM_KEPT_SEG_MIN_AVG 1024

/* Register the mbuf dynamic field segments are linked through.  Setup
 * only, before any worker starts.  Returns 0 or -1 (rte_errno set). */
int stream_register_dynfield(void);

/* dw: the detect worker for the raw stream path; NULL, or a db without
 * raw stream rules, turns that path off.  NULL on allocation failure
 * (setup only). */
struct ips_config;
/* This stage's settings from the config (limits.stream_held*,
 * limits.stream_kept_bytes*, limits.stream_gap_timeout,
 * policy.stream_hold_full); tsc_hz converts the timeout.  Cannot fail. */
void stream_conf_init(struct stream_conf *sc, const struct ips_config *c,
                      uint64_t tsc_hz);

struct stream_worker *stream_worker_create(const struct stream_conf *conf,
                                           struct http_worker *hw,
                                           struct detect_worker *dw,
                                           struct worker_stats *ws);
void stream_worker_free(struct stream_worker *sw);

/* Start tracking a flow.  http_port: the server port is one of the
 * configured HTTP ports (otherwise HTTP is looked for by content when
 * probe is set). */
void stream_flow_init(struct stream_flow *sf, int http_port, int probe);

/*
 * Process one TCP segment m (decoded in ctx->pm, direction in
 * ctx->to_server).  Appends to ctx->emit the packets to send or drop now,
 * in order: m itself unless it is held, then any held segments it
 * released.  Sets ctx->flow_blocked when detection or policy blocked the
 * flow (every later emitted packet is then a drop).  A server-to-client
 * segment may leave with a lower window (and its TCP checksum adjusted):
 * m must be the caller's alone.
 */
void stream_input(struct stream_worker *sw, struct stream_flow *sf,
                  struct rte_mbuf *m, struct pkt_ctx *ctx);

/*
 * The server's SYN-ACK acknowledged the client's SYN with `ack`: that, not
 * the first SYN seen, fixes where the client's byte stream starts (a SYN
 * the server dropped, e.g. for a bad checksum, must not shift it).
 * Called before any client data is accepted.
 */
void stream_syn_acked(struct stream_flow *sf, uint32_t ack);

/* Would the endpoint accept this RST (RFC 5961 3.2: exact sequence match;
 * in SYN-SENT, RFC 793: it acknowledges the SYN)?  An unacceptable RST
 * must not close the flow: the endpoints keep going. */
int stream_rst_acceptable(const struct stream_flow *sf, int to_server,
                          const struct pkt_meta *pm);

/* A FIN in this segment closes its direction only if the segment ended
 * exactly at the stream's end once processed (an out-of-order FIN is not
 * the end yet).  Then the FIN's sequence number is taken and 1 returned;
 * a retransmitted FIN also returns 1.  The client's FIN gives its raw
 * stream back to the pool: it has no more bytes to scan. */
int stream_take_fin(struct stream_worker *sw, struct stream_flow *sf,
                    int to_server, const struct pkt_meta *pm);

/* The next sequence number each endpoint expects (RCV.NXT): the server
 * from the client, the client from the server; for resetting the flow. */
void stream_reset_seqs(const struct stream_flow *sf, uint32_t *to_server,
                       uint32_t *to_client);

/*
 * Once per burst: end work stalled past its timeout (a gap not filled, an
 * unfinished request header, a body without progress), at most what
 * ctx->evict has room for; each is counted, its place freed, and its flow
 * named in ctx->evict for the flow stage to remove and reset.
 */
void stream_expire(struct stream_worker *sw, uint64_t now_tsc,
                   struct pkt_ctx *ctx);

/* The flow ends: free held segments (counted drop_stream_flow_gone, or
 * stream_held_at_exit when at_exit), release kept ones, the HTTP
 * transaction and the raw stream. */
void stream_flow_release(struct stream_worker *sw, struct stream_flow *sf,
                         int at_exit);

#endif /* IPS_STREAM_H */
