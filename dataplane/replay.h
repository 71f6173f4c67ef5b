/*
 * replay.h - pcap replay mode: spread one capture over the workers, gather
 * what they wrote.
 *
 * Owns the replay's orchestration and file work, done before the workers
 * start and after they stop: the plan of replay ports (per worker a
 * net_pcap reading its share of the capture and one writing what it
 * forwards), splitting IN into one capture per worker by the symmetric
 * flow hash (the same hash RSS gives both directions of a flow on a NIC,
 * so each worker sees whole flows, as on the live path) and merging the
 * per-worker output captures into one, in timestamp order.  Nothing here
 * runs on a worker.
 */
#ifndef IPS_REPLAY_H
#define IPS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_PATH_MAX 1024
#define REPLAY_MAX_WORKERS 64
/* "net_pcapN,rx_pcap=PATH,tx_pcap=PATH,infinite_rx=1" */
#define REPLAY_DEVARGS_MAX (2 * REPLAY_PATH_MAX + 64)

/* One replay: its files and the ports that read and write them.  Port
 * 2w is worker w's public side (reads its input), 2w+1 its private side
 * (writes what it forwards, or net_null). */
struct replay_plan {
	unsigned n_workers;
	const char *write;                      /* --write, may be NULL */
	const char *write_reverse;              /* --write-reverse */
	char dir[256];                          /* per-worker files (n > 1) */
	char in[REPLAY_MAX_WORKERS][REPLAY_PATH_MAX];
	char out[REPLAY_MAX_WORKERS][REPLAY_PATH_MAX];
	char rev[REPLAY_MAX_WORKERS][REPLAY_PATH_MAX];
	uint64_t packets[REPLAY_MAX_WORKERS];   /* per worker; preload only */
	char devargs[2 * REPLAY_MAX_WORKERS][REPLAY_DEVARGS_MAX];
	unsigned n_devargs;
};

/*
 * Plan a replay of IN over n workers: split it when n > 1 (in a fresh
 * directory under $TMPDIR), count each worker's packets when preload (a
 * preloaded capture loops, the worker reads one pass), and fill devargs.
 * write/write_reverse may be NULL (nothing written: net_null, or a
 * net_pcap without tx_pcap).  Returns 0, or -1 with err.
 */
int replay_plan_create(struct replay_plan *p, const char *in,
                       const char *write, const char *write_reverse,
                       unsigned n, int preload, char *err, size_t errlen);

/*
 * After the ports are closed (net_pcap flushes on close): merge the
 * workers' outputs into write/write_reverse and remove the per-worker
 * files and directory.  Returns 0, or -1 with err.
 */
int replay_plan_finish(struct replay_plan *p, char *err, size_t errlen);

/*
 * Write parts[w] = "<dir>/in.<w>.pcap" for w < n, each holding the packets
 * of IN whose flow hashes to w; counts[w] is how many.  IP fragments (no ports) hash on their
 * addresses only.  Returns 0, or -1 with the reason in err.
 */
int replay_split(const char *in, unsigned n, const char *dir,
                 char parts[][REPLAY_PATH_MAX], uint64_t *counts,
                 char *err, size_t errlen);

/* Count the records of a capture.  Returns 0 or -1 with err. */
int replay_count(const char *path, uint64_t *count, char *err, size_t errlen);

/* Merge n captures into out by record timestamp (stable: ties keep part
 * order, so each part's own order is kept).  Returns 0 or -1 with err. */
int replay_merge(char parts[][REPLAY_PATH_MAX], unsigned n, const char *out,
                 char *err, size_t errlen);

#endif /* IPS_REPLAY_H */
