/*
 * flow.h - the per-worker flow table and TCP connection state.
 *
 * Owns: one rte_hash per worker keyed on the normalized 5-tuple (both
 * directions of a connection find one entry), the flow records beside it,
 * TCP state tracking (SYN, SYN-ACK, established, FIN, RST, closed), idle
 * timeouts per state and eviction when the table is full.  Decides each
 * packet's direction (sent by the flow's client or not) and hands TCP
 * segments to the stream stage.  Everything is sized at create time; the
 * table is touched only by its worker, so there are no locks.
 *
 * A full table evicts, not refuses (DESIGN §9): closed flows first, then
 * embryonic ones (a SYN flood's), then established ones, each the one idle
 * longest; no one source (an IPv4 address, an IPv6 /64) holds more than
 * limits.source_share percent of the table.  The flows that later stages
 * evict from their own pools (or time out) are removed here too: the
 * stages name them in pkt_ctx.evict, this stage says who they are, and
 * the verdict stage resets them both ways.
 *
 * Timeouts are exact and O(1): each timeout class (handshake, established,
 * closed, UDP) keeps its flows in one list ordered by last activity, so the
 * oldest flow of a class is always at its head.
 *
 * Entry point: flow_input().  Thread: one flow_table per worker.
 */
#ifndef IPS_FLOW_H
#define IPS_FLOW_H

#include <stdint.h>

#include "pkt_ctx.h"
#include "stats.h"
#include "stream.h"

struct rte_mbuf;
struct flow_table;

struct flow_conf {
	uint32_t capacity;          /* flows per worker */
	uint32_t timeout_syn_s;
	uint32_t timeout_established_s;
	uint32_t timeout_closed_s;
	uint32_t timeout_udp_s;
	uint32_t source_share_pct;  /* flows one source may hold, percent;
	                             * 0 = no limit */
	uint8_t evict_when_full;    /* 1 = evict the oldest, 0 = drop new */
	uint8_t bypass_midstream;   /* 1 = forward uninspected, 0 = drop */
	uint8_t http_probe;         /* look for HTTP on other ports */
	const uint16_t *http_ports;
	unsigned n_http_ports;
	uint64_t tsc_hz;
	uint32_t hash_seed;         /* random, from start: the tuples hashed
	                             * are the attacker's choice */
	unsigned worker_id;         /* for flow ids */
	int socket;
};

struct ips_config;
/* This stage's settings from the config (limits.flow*, policy, http
 * ports); tsc_hz, hash_seed, worker_id and socket are the caller's to
 * set.  fc->http_ports points into c.  Cannot fail. */
void flow_conf_init(struct flow_conf *fc, const struct ips_config *c);

struct flow_table *flow_table_create(const struct flow_conf *conf,
                                     struct stream_worker *sw,
                                     struct worker_stats *ws);
/* Releases every flow (held segments counted as held at exit). */
void flow_table_free(struct flow_table *ft);

/*
 * Classify ctx->pm (an IP packet) into its flow and process it.  Appends
 * the resulting packets to ctx->emit (forward or drop, reasons counted).
 */
void flow_input(struct flow_table *ft, struct rte_mbuf *m,
                struct pkt_ctx *ctx, uint64_t now_tsc);

/*
 * Once per burst: end work that stalled past its timeout in the later
 * stages (unfinished header, body without progress, unfilled gap), whose
 * flows are removed and named in ctx->evict for the verdict stage to reset
 * and log; then expire idle flows, at most `budget`.  ctx is the worker's
 * scratch context, reset by the caller.
 */
void flow_expire(struct flow_table *ft, uint64_t now_tsc, unsigned budget,
                 struct pkt_ctx *ctx);

/* Flows in the table now. */
uint32_t flow_count(const struct flow_table *ft);

/* Bytes of table memory per flow slot (for the memory benchmark). */
size_t flow_bytes_per_slot(const struct flow_table *ft);

/* Symmetric hash of a decoded packet's 5-tuple, keyed by seed: both
 * directions hash alike.  Spreads flows over workers where the NIC
 * cannot (replay). */
uint32_t flow_symmetric_hash(const struct pkt_meta *pm, uint32_t seed);

#endif /* IPS_FLOW_H */
