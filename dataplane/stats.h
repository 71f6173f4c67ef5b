/*
 * stats.h - per-worker counters and their sum.
 *
 * Owns: struct worker_stats (one per worker, written only by its worker,
 * no atomics), the summed view the service thread reads, and the JSON
 * renderings (replay summary, control-socket stats).  Counter names come
 * from include/ips/counters.h.
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

/* Sum of every drop_ counter. */
uint64_t stats_dropped(const struct worker_stats *s);

struct json_t;
/* {"name": value, ...} for every counter (json_t *, caller owns). */
struct json_t *stats_to_json(const struct worker_stats *s);
/* {"reason": count} for non-zero drop_ counters, without the prefix. */
struct json_t *stats_drops_to_json(const struct worker_stats *s);

#endif /* IPS_STATS_H */
