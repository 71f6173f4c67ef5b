/*
 * replay.h - pcap replay mode: spread one capture over the workers, gather
 * what they wrote.
 *
 * Owns only file work done before the workers start and after they stop:
 * splitting IN into one capture per worker by the symmetric flow hash (the
 * same hash RSS gives both directions of a flow on a NIC, so each worker
 * sees whole flows, as on the live path) and merging the per-worker output
 * captures into one, in timestamp order.  Nothing here runs on a worker.
 */
#ifndef IPS_REPLAY_H
#define IPS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_PATH_MAX 1024

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
