/*
 * stats.c - summing per-worker counters and rendering them (see stats.h).
 * Runs on the service thread only.
 */
#include <string.h>

#include <jansson.h>

#include "stats.h"

void
stats_sum(const struct worker_stats *const *per_worker, unsigned n,
          struct worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned w = 0; w < n; w++) {
#define IPS_COUNTER_ADD(name) out->name += per_worker[w]->name;
		IPS_COUNTERS(IPS_COUNTER_ADD)
#undef IPS_COUNTER_ADD
	}
}

static int
stats_is_drop(const char *name)
{
	return strncmp(name, "drop_", 5) == 0;
}

uint64_t
stats_dropped(const struct worker_stats *s)
{
	uint64_t total = 0;

#define IPS_COUNTER_DROP(name) \
	if (stats_is_drop(#name)) total += s->name;
	IPS_COUNTERS(IPS_COUNTER_DROP)
#undef IPS_COUNTER_DROP
	return total;
}

json_t *
stats_to_json(const struct worker_stats *s)
{
	json_t *o = json_object();

#define IPS_COUNTER_JSON(name) \
	json_object_set_new(o, #name, json_integer((json_int_t)s->name));
	IPS_COUNTERS(IPS_COUNTER_JSON)
#undef IPS_COUNTER_JSON
	return o;
}

json_t *
stats_drops_to_json(const struct worker_stats *s)
{
	json_t *o = json_object();

#define IPS_COUNTER_DROPS(name) \
	if (stats_is_drop(#name) && s->name != 0) \
		json_object_set_new(o, &(#name)[5], json_integer((json_int_t)s->name));
	IPS_COUNTERS(IPS_COUNTER_DROPS)
#undef IPS_COUNTER_DROPS
	return o;
}
