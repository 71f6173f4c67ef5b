/*
 * eve.h - alert and anomaly records, from workers to the EVE JSON log.
 *
 * Owns: the fixed-size record a worker fills (struct eve_record), the
 * per-worker single-producer/single-consumer ring that carries records by
 * value to the service thread, and the writer that formats them as
 * EVE-compatible JSON lines (jansson) on the service thread.  A worker never
 * formats, allocates or writes: a full ring loses the record and the
 * worker counts it (eve_ring_full).
 */
#ifndef IPS_EVE_H
#define IPS_EVE_H

#include <stdint.h>
#include <stdio.h>

struct rte_ring;

enum eve_type { EVE_ALERT = 0, EVE_ANOMALY };

struct eve_record {
	uint64_t tsc;               /* rte_rdtsc() when raised */
	uint64_t flow_id;
	uint8_t type;               /* enum eve_type */
	uint8_t ip_version;
	uint8_t proto;
	uint8_t blocked;            /* alert: the packet was not forwarded */
	uint8_t src[16];            /* the client; an alert's: the sender
	                             * of the bytes it fired on */
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	/* alert */
	uint64_t alert_id;          /* unique per worker and start; on the
	                             * block page the client sees */
	uint32_t sid;
	uint32_t rev;
	uint8_t action;             /* enum ips_action */
	uint8_t severity;
	char msg[192];
	char classtype[64];
	char url[256];
	char host[128];
	char method[16];
	char user_agent[128];
	/* anomaly */
	char layer[16];             /* "stream", "http", "decode" */
	char event[48];
};

/*
 * Wall-clock microseconds of TSC reading tsc, given that base_tsc was read
 * at base_us and the TSC runs at hz.  Whole seconds are taken first:
 * (tsc - base_tsc) * 10^6 would overflow 64 bits after about two hours at
 * a few GHz.  Readings before base_tsc give base_us.  Thread-safe.
 */
static inline uint64_t
eve_tsc_to_us(uint64_t base_us, uint64_t base_tsc, uint64_t tsc, uint64_t hz)
{
	uint64_t d = tsc >= base_tsc ? tsc - base_tsc : 0;

	return base_us + d / hz * 1000000u + d % hz * 1000000u / hz;
}

/* Ring for one worker: `size` records (rounded up to a power of two).
 * Setup only.  NULL on failure. */
struct rte_ring *eve_ring_create(unsigned worker, unsigned size, int socket);

/* Worker side: copy rec into the ring.  Returns 0, -1 when full. */
int eve_push(struct rte_ring *r, const struct eve_record *rec);

struct eve_writer;

/* Open path for appending ("" or NULL: records are drained and counted but
 * not written).  tsc_hz converts record times to wall-clock time. */
struct eve_writer *eve_writer_open(const char *path, uint64_t tsc_hz,
                                   char *err, size_t errlen);

/* Service thread: move every queued record of the rings to the log.
 * Returns records written. */
unsigned eve_writer_drain(struct eve_writer *w, struct rte_ring *const *rings,
                          unsigned n_rings);

void eve_writer_close(struct eve_writer *w);

#endif /* IPS_EVE_H */
