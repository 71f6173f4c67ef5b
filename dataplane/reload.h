/*
 * reload.h - the rule sets in force and their replacement under RCU, and
 * the dataplane's answers to the control socket (load, stats, rules,
 * version).
 *
 * Owns: the generations of detection databases (the one in force and those
 * still finishing transactions begun on them), the rte_rcu_qsbr variable
 * the workers report quiescence to, and the JSON of the control commands.
 * Does not own the workers, their counters or the start-up db (main does).
 *
 * A load (DESIGN §8, issue 8): the bundle is read and validated in full
 * (ips_bundle_read), a detect set is built for every worker, then each is
 * published; nothing in force changes before every step succeeded.
 * Workers adopt the new set at their next burst and never wait.  An old
 * generation is freed from reload_poll once every worker has moved on, no
 * transaction or raw stream still uses it, and one more grace period has
 * passed.
 *
 * Thread: every function runs on the service thread (main), none on a
 * worker.
 */
#ifndef IPS_RELOAD_H
#define IPS_RELOAD_H

#include <stddef.h>

#include "ctl.h"
#include "ips/detect_db.h"
#include "stats.h"

/* Generations alive at once: the one in force and those draining.  A load
 * while all are taken is refused: long-lived flows still pin old rule sets,
 * and each costs a database and every worker's stream pools. */
#define RELOAD_MAX_GENERATIONS 8

struct detect_worker;
struct rte_rcu_qsbr;
struct reload;

struct reload_conf {
	struct detect_worker *const *detect;    /* one per worker */
	const struct worker_stats *const *stats; /* one per worker */
	unsigned n_workers;
	const struct ips_detect_db *db; /* in force at start; the caller
	                                 * keeps it and frees it after
	                                 * reload_free */
};

/* Returns NULL with err set (setup only). */
struct reload *reload_create(const struct reload_conf *conf, char *err,
                             size_t errlen);

/* The QSBR variable: worker i (its index in conf) reports to it as thread
 * id i (rte_rcu_qsbr_thread_online / _quiescent / _offline). */
struct rte_rcu_qsbr *reload_rcu(struct reload *r);

/* The control-socket commands this dataplane answers, for ctl_server_open.
 * be->arg is r. */
void reload_backend(struct reload *r, struct ctl_backend *be);

/*
 * Validate the bundle at path and put it in force.  Returns the reply
 * members (generation, rules, swap_ms, ...) or NULL with err set; on
 * failure the rules in force are unchanged.  (The backend's load.)
 */
json_t *reload_load(struct reload *r, const char *path, char *err,
                    size_t errlen);

/* Free generations that are fully retired; never waits.  Call from the
 * service loop. */
void reload_poll(struct reload *r);

/* Workers have stopped: make every worker's current set the last one
 * published, which detect_worker_free then frees. */
void reload_stop(struct reload *r);

/* After the detect workers are freed: free every other set and every
 * loaded db.  NULL is fine. */
void reload_free(struct reload *r);

#endif /* IPS_RELOAD_H */
