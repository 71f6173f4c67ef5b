/*
 * worker.c - the per-lcore packet loop (see worker.h).
 */
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "bench.h"
#include "decode.h"
#include "detect.h"
#include "flow.h"
#include "verdict.h"
#include "worker.h"

volatile sig_atomic_t worker_force_quit;

#ifdef IPS_BENCH_CYCLES
__thread struct bench_cycles bench_tls;
#endif

/* Flows expired per burst at most: bounds the work one burst can add. */
#define WORKER_EXPIRE_BUDGET 64
/* Consecutive empty polls after which a replay input is exhausted:
 * net_pcap returns nothing only at end of file, the margin is cheap. */
#define WORKER_REPLAY_IDLE_POLLS 256
#define WORKER_PREFETCH_AHEAD 3

static void
worker_packet(struct worker *w, struct rte_mbuf *m, uint16_t port,
              uint64_t now)
{
	struct pkt_ctx *ctx = &w->ctx;

	w->stats.rx_packets++;
	w->stats.rx_bytes += m->pkt_len;
	pkt_ctx_reset(ctx);
	ctx->in_port = port;
	ctx->in_side = w->port_side[port];
	BENCH_MARK(BENCH_DECODE);
	switch (decode_packet(w->decode, &m, &ctx->pm, now)) {
	case DECODE_OK:
		/* a rebuilt datagram may need cutting again at the egress
		 * MTU; anything else leaves as it came (DF and all) */
		m->l2_len = ctx->pm.reassembled ? ctx->pm.l3_off : 0;
		if (unlikely(!w->inspect)) {
			verdict_pass(w->verdict, m, port);
			return;
		}
		break;
	case DECODE_NOT_IP:
		m->l2_len = 0;
		verdict_pass(w->verdict, m, port);
		return;
	case DECODE_HELD:
		return;
	default:
		rte_pktmbuf_free(m);    /* reason counted by decode */
		return;
	}
	BENCH_MARK(BENCH_FLOW);
	flow_input(w->flows, m, ctx, now);
	BENCH_MARK(BENCH_VERDICT);
	verdict_apply(w->verdict, ctx);
	BENCH_MARK(BENCH_RX);
}

static uint16_t
worker_poll(struct worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[WORKER_BURST];
	uint16_t total = 0;

	for (uint16_t q = 0; q < w->n_rxq; q++) {
		uint16_t port = w->rxq[q].port;
		uint16_t want = WORKER_BURST;
		uint16_t n;

		/* A preloaded capture loops forever: read exactly one pass. */
		if (w->rx_budget != 0 &&
		    w->rx_budget - w->stats.rx_packets < want)
			want = (uint16_t)(w->rx_budget - w->stats.rx_packets);
		n = rte_eth_rx_burst(port, w->rxq[q].queue, pkts, want);

		for (uint16_t i = 0; i < n && i < WORKER_PREFETCH_AHEAD; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
		for (uint16_t i = 0; i < n; i++) {
			if (i + WORKER_PREFETCH_AHEAD < n)
				rte_prefetch0(rte_pktmbuf_mtod(
					pkts[i + WORKER_PREFETCH_AHEAD], void *));
			worker_packet(w, pkts[i], port, now);
		}
		total += n;
	}
	return total;
}

int
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned idle = 0;

#ifdef IPS_BENCH_CYCLES
	bench_tls.last = __rdtsc();
	bench_tls.cur = BENCH_RX;
#endif

	if (w->rcu != NULL)
		rte_rcu_qsbr_thread_online(w->rcu, w->id);
	while (!worker_force_quit) {
		uint64_t now;

		/* Between bursts the worker holds no pointer into a rule set
		 * (alerts left as copies): take up a reloaded one and report
		 * quiescence, so the old one can go (DESIGN §4).  Neither
		 * waits. */
		if (w->rcu != NULL) {
			detect_worker_sync(w->detect);
			rte_rcu_qsbr_quiescent(w->rcu, w->id);
		}
		now = rte_rdtsc();
		uint16_t n = worker_poll(w, now);

		BENCH_MARK(BENCH_FORWARD);
		fwd_flush(w->fwd);
		BENCH_MARK(BENCH_RX);
		decode_flush(w->decode);
		flow_expire(w->flows, now, WORKER_EXPIRE_BUDGET);
		if (n > 0) {
			if (unlikely(w->first_rx_tsc == 0))
				w->first_rx_tsc = now;
			w->last_rx_tsc = rte_rdtsc();
			idle = 0;
		} else if (w->stop_when_idle &&
		           ++idle >= WORKER_REPLAY_IDLE_POLLS) {
			break;
		}
		if (w->rx_budget != 0 && w->stats.rx_packets >= w->rx_budget)
			break;
	}
	fwd_flush(w->fwd);
	if (w->rcu != NULL)
		rte_rcu_qsbr_thread_offline(w->rcu, w->id);
#ifdef IPS_BENCH_CYCLES
	BENCH_MARK(BENCH_RX);
	w->bench = bench_tls;
#endif
	w->done = 1;
	return 0;
}
