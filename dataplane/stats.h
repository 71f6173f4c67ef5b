/*
 * stats.h - per-worker counters and their sum.
 *
 * Owns: struct worker_stats (one per worker, written only by its worker,
 * no atomics), the summed view the service thread reads, and the JSON
 * renderings (the replay summary line of DESIGN §11 with its memory and
 * per-stage figures, control-socket stats).  Counter names come from
 * include/ips/counters.h.
 */
#ifndef IPS_STATS_H
#define IPS_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "ips/counters.h"

struct worker_stats {
#define IPS_COUNTER_FIELD(name) uint64_t name;
	IPS_COUNTERS(IPS_COUNTER_FIELD)
#undef IPS_COUNTER_FIELD
} __attribute__((aligned(64)));

/* Sum n per-worker blocks into *out.  Reads without locks: a counter read
 * mid-update may be one behind, never torn (aligned 64-bit stores). */
void stats_sum(const struct worker_stats *const *per_worker, unsigned n,
               struct worker_stats *out);

/* Packets the gateway made and sent: resets, block pages, ARP, ND,
 * ICMP. */
uint64_t stats_generated(const struct worker_stats *s);

/* Sum of every drop_ counter. */
uint64_t stats_dropped(const struct worker_stats *s);

struct json_t;
/* {"name": value, ...} for every counter (json_t *, caller owns). */
struct json_t *stats_to_json(const struct worker_stats *s);
/* {"reason": count} for non-zero drop_ counters, without the prefix. */
struct json_t *stats_drops_to_json(const struct worker_stats *s);

struct worker;

/*
 * The memory figures the benchmark's targets are measured against
 * (DESIGN §9): bytes per flow slot, per mbuf (a held or kept segment),
 * per HTTP transaction and per large header arena, a worker's HTTP pools,
 * the kept-bytes budgets, the flow capacity and peak RSS.  Read w (any
 * worker: all are sized alike by limits l) before its stages and pools
 * are freed.  Caller owns the json_t.
 */
struct config_limits;
struct json_t *stats_memory_json(const struct worker *w,
                                 const struct config_limits *l);

/*
 * Print the replay summary, one JSON line on f: packets and bytes in,
 * forwarded, dropped, held at exit, merged, local (L3 mode), flows, transactions, alerts, per-reason drops, every
 * counter, elapsed (first to last RX of any worker), Mpps, Gbps, and
 * per-stage cycles per packet in bench builds.  memory (from
 * stats_memory_json) is consumed.  Service thread, workers stopped.
 */
void stats_print_summary(FILE *f, struct worker *const *workers, unsigned n,
                         uint32_t n_rules, int inspect,
                         struct json_t *memory);

#endif /* IPS_STATS_H */
