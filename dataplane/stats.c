/*
 * stats.c - summing per-worker counters and rendering them (see stats.h).
 * Runs on the service thread only.
 */
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_mempool.h>

#include "bench.h"
#include "config.h"
#include "flow.h"
#include "http.h"
#include "stats.h"
#include "stream.h"
#include "worker.h"

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
stats_generated(const struct worker_stats *s)
{
	return s->verdict_rst_sent + s->verdict_block_pages +
	       s->l3_arp_requests_sent + s->l3_arp_replies_sent +
	       s->l3_nd_solicits_sent + s->l3_nd_adverts_sent +
	       s->l3_echo_replies_sent + s->l3_icmp_errors_sent;
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

/* ---- the replay summary ------------------------------------------------ */

/* Per-stage cycles per packet (bench builds); null otherwise. */
static json_t *
stats_stage_json(struct worker *const *workers, unsigned n, uint64_t packets)
{
	json_t *o;

	if (!BENCH_ENABLED || packets == 0)
		return json_null();
	o = json_object();
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		uint64_t c = 0;

		for (unsigned w = 0; w < n; w++)
			c += workers[w]->bench.cycles[s];
		json_object_set_new(o, bench_stage_name(s),
		                    json_real((double)c / (double)packets));
	}
	return o;
}

/* What the memory targets are measured against (DESIGN §9 limits). */
json_t *
stats_memory_json(const struct worker *w, const struct config_limits *l)
{
	struct rusage ru;
	const struct rte_mempool *mp = w->pool;
	size_t txn = http_txn_bytes(w->http);
	size_t arena = http_header_arena_bytes(w->http);

	getrusage(RUSAGE_SELF, &ru);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	                 "s:I, s:I}",
		"flow_slot_bytes", (json_int_t)flow_bytes_per_slot(w->flows),
		"mbuf_bytes", (json_int_t)(mp->elt_size + mp->header_size +
		                           mp->trailer_size),
		"http_txn_bytes", (json_int_t)txn,
		"http_header_arena_bytes", (json_int_t)arena,
		/* both HTTP pools of one worker */
		"http_pool_bytes", (json_int_t)(txn * l->http_transactions +
		                                arena * l->http_header_arenas),
		"kept_bytes_per_flow", (json_int_t)l->stream_kept_bytes_per_flow,
		"kept_mbufs_per_flow", (json_int_t)(l->stream_kept_bytes_per_flow /
		                                    STREAM_KEPT_SEG_MIN_AVG),
		"kept_bytes_per_worker", (json_int_t)l->stream_kept_bytes,
		"kept_mbufs_per_worker", (json_int_t)(l->stream_kept_bytes /
		                                      STREAM_KEPT_SEG_MIN_AVG),
		"held_mbufs_per_worker", (json_int_t)l->stream_held,
		"flows_capacity", (json_int_t)l->flows,
		"peak_rss_kb", (json_int_t)ru.ru_maxrss);
}

/*
 * Each worker's share of the packets and what they cost it: wall time
 * from its first to its last packet, and its thread's CPU time over the
 * same span, as TSC cycles per packet.  CPU time leaves out what other
 * threads on the same CPU took, so the figure holds on a loaded machine.
 */
static json_t *
stats_workers_json(struct worker *const *workers, unsigned n,
                   uint64_t total_packets)
{
	double hz = (double)rte_get_tsc_hz();
	json_t *a = json_array();

	for (unsigned i = 0; i < n; i++) {
		const struct worker *w = workers[i];
		uint64_t pk = w->stats.rx_packets;
		double wall = w->last_rx_tsc > w->first_rx_tsc ?
		              (double)(w->last_rx_tsc - w->first_rx_tsc) / hz : 0;
		double cpu = w->cpu_ns_end > w->cpu_ns_first_rx ?
		             (double)(w->cpu_ns_end - w->cpu_ns_first_rx) / 1e9 : 0;

		json_array_append_new(a, json_pack("{s:i, s:I, s:f, s:f, s:f, s:f}",
			"worker", (int)w->id,
			"packets", (json_int_t)pk,
			"share", total_packets ? (double)pk / (double)total_packets : 0.0,
			"elapsed_s", wall,
			"cpu_s", cpu,
			"cpu_cycles_per_packet", pk ? cpu * hz / (double)pk : 0.0));
	}
	return a;
}

void
stats_print_summary(FILE *f, struct worker *const *workers, unsigned n,
                    uint32_t n_rules, int inspect, json_t *memory)
{
	const struct worker_stats *per[RTE_MAX_LCORE] = { NULL }; /* one per lcore */
	struct worker_stats s;
	uint64_t first = UINT64_MAX, last = 0;
	double secs;
	json_t *o;

	for (unsigned w = 0; w < n; w++) {
		per[w] = &workers[w]->stats;
		if (workers[w]->first_rx_tsc != 0 &&
		    workers[w]->first_rx_tsc < first)
			first = workers[w]->first_rx_tsc;
		if (workers[w]->last_rx_tsc > last)
			last = workers[w]->last_rx_tsc;
	}
	stats_sum(per, n, &s);
	secs = last > first ? (double)(last - first) / (double)rte_get_tsc_hz()
	                    : 0.0;
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"packets_in", (json_int_t)s.rx_packets,
		"bytes_in", (json_int_t)s.rx_bytes,
		/* packets read that left: not the packets we made, nor the
		 * extra pieces of datagrams cut again at the egress MTU */
		"forwarded", (json_int_t)(s.tx_packets - stats_generated(&s) -
		                          s.fwd_fragments_added),
		"dropped", (json_int_t)stats_dropped(&s),
		"held_at_exit", (json_int_t)(s.stream_held_at_exit +
		                             s.frag_held_at_exit +
		                             s.l3_held_at_exit),
		"merged", (json_int_t)s.frag_merged,
		/* L3 mode: for the gateway itself (ARP, ND, ping) */
		"local", (json_int_t)s.l3_local,
		"flows", (json_int_t)s.flow_created,
		"transactions", (json_int_t)s.http_requests,
		"alerts", (json_int_t)s.verdict_alerts);
	json_object_set_new(o, "drops", stats_drops_to_json(&s));
	json_object_set_new(o, "counters", stats_to_json(&s));
	json_object_set_new(o, "workers", json_integer(n));
	json_object_set_new(o, "per_worker",
	                    stats_workers_json(workers, n, s.rx_packets));
	json_object_set_new(o, "rules", json_integer(n_rules));
	json_object_set_new(o, "elapsed_s", json_real(secs));
	json_object_set_new(o, "memory", memory);
	json_object_set_new(o, "inspect", json_boolean(inspect));
	json_object_set_new(o, "cycles_per_packet",
	                    stats_stage_json(workers, n, s.rx_packets));
	json_object_set_new(o, "march", json_string(IPS_MARCH));
	json_object_set_new(o, "tsc_hz", json_integer((json_int_t)rte_get_tsc_hz()));
	json_object_set_new(o, "mpps", json_real(secs > 0 ?
		(double)s.rx_packets / secs / 1e6 : 0.0));
	json_object_set_new(o, "gbps", json_real(secs > 0 ?
		(double)s.rx_bytes * 8 / secs / 1e9 : 0.0));
	json_dumpf(o, f, JSON_COMPACT);
	fputc('\n', f);
	fflush(f);
	json_decref(o);
}
