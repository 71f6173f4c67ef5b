/*
 * bench.h - per-stage cycle accounting, compiled into benchmark builds only
 * (meson -Dbench_cycles=true); in every other build the marks are empty.
 *
 * Each worker thread keeps "the stage running now" and the TSC when it
 * started.  A mark charges the cycles since the last mark to the stage
 * that was running and switches to the new one, so the figures are
 * exclusive: time HTTP spends inside detection is detection's.  A call
 * into the next stage is bracketed with BENCH_ENTER / BENCH_LEAVE.
 * Uses the compiler's __rdtsc so stages without DPDK can use it too.
 */
#ifndef IPS_BENCH_H
#define IPS_BENCH_H

#include <stdint.h>

enum bench_stage {
	BENCH_RX = 0,       /* rte_eth_rx_burst, loop overhead */
	BENCH_DECODE,
	BENCH_FLOW,
	BENCH_STREAM,
	BENCH_HTTP,
	BENCH_DETECT,
	BENCH_VERDICT,
	BENCH_FORWARD,      /* TX flush */
	BENCH_STAGES
};

struct bench_cycles {
	uint64_t last;
	uint64_t cycles[BENCH_STAGES];
	uint8_t cur;
};

#ifdef IPS_BENCH_CYCLES
#include <x86intrin.h>

/* Weak so that binaries of the engine library without the worker (the
 * unit tests, ips-hsbench) still link in a bench build; worker.c's
 * definition is the one the dataplane uses. */
__attribute__((weak)) __thread struct bench_cycles bench_tls;

static inline uint8_t
bench_mark(uint8_t stage)
{
	uint64_t now = __rdtsc();
	uint8_t prev = bench_tls.cur;

	bench_tls.cycles[prev] += now - bench_tls.last;
	bench_tls.last = now;
	bench_tls.cur = stage;
	return prev;
}

#define BENCH_ENTER(stage) uint8_t bench_prev_ = bench_mark(stage)
#define BENCH_LEAVE() ((void)bench_mark(bench_prev_))
#define BENCH_MARK(stage) ((void)bench_mark(stage))
#define BENCH_ENABLED 1
#else
#define BENCH_ENTER(stage) do { } while (0)
#define BENCH_LEAVE() do { } while (0)
#define BENCH_MARK(stage) do { } while (0)
#define BENCH_ENABLED 0
#endif

static inline const char *
bench_stage_name(unsigned s)
{
	static const char *const names[BENCH_STAGES] = { "rx", "decode",
		"flow", "stream", "http", "detect", "verdict", "forward" };

	return s < BENCH_STAGES ? names[s] : "?";
}

#endif /* IPS_BENCH_H */
