/*
 * worker.h - one run-to-completion worker lcore.
 *
 * Owns: the worker's RX queues (one per port), its stage contexts and its
 * counters.  The loop mirrors DPDK's l3fwd lpm_main_loop: read a burst,
 * take every packet through decode -> flow -> stream -> HTTP -> detect ->
 * verdict -> forward, flush TX, free expired fragments and idle flows.
 * Nothing in the loop allocates, locks, logs or makes a syscall.
 */
#ifndef IPS_WORKER_H
#define IPS_WORKER_H

#include <signal.h>
#include <stdint.h>

#include <rte_config.h>

#include "bench.h"
#include "pkt_ctx.h"
#include "stats.h"

#define WORKER_BURST 32
#define WORKER_MAX_RXQ 16

struct decode_worker;
struct detect_worker;
struct flow_table;
struct rte_rcu_qsbr;
struct verdict_worker;
struct fwd_worker;

struct worker_rxq {
	uint16_t port;
	uint16_t queue;
};

struct worker {
	struct worker_stats stats;      /* first: its own cache lines */
	unsigned id;
	unsigned lcore;
	uint16_t n_rxq;
	struct worker_rxq rxq[WORKER_MAX_RXQ];
	uint8_t port_side[RTE_MAX_ETHPORTS];   /* PKT_SIDE_* by port id */
	uint8_t stop_when_idle;         /* replay: input exhausted = done */
	uint8_t inspect;                /* 0: decode and forward only (the
	                                 * benchmark's I/O limit) */
	uint64_t rx_budget;             /* preloaded replay: packets of one
	                                 * pass; 0 = unlimited */
	volatile uint8_t done;
	uint64_t first_rx_tsc;
	uint64_t last_rx_tsc;
	struct decode_worker *decode;
	struct flow_table *flows;
	struct verdict_worker *verdict;
	struct fwd_worker *fwd;
	struct detect_worker *detect;   /* its rule set is synced per burst */
	struct rte_rcu_qsbr *rcu;       /* reload's; NULL: no reloads */
	struct pkt_ctx ctx;
	struct bench_cycles bench;      /* bench builds: copied at exit */
} __attribute__((aligned(64)));

/* Set by the signal handler; every worker leaves its loop. */
extern volatile sig_atomic_t worker_force_quit;

/* rte_eal_remote_launch entry point; arg is the struct worker. */
int worker_main(void *arg);

#endif /* IPS_WORKER_H */
