/*
 * reload.c - generations of rule sets, their swap under RCU, and the
 * dataplane's control commands (see reload.h).
 *
 * A generation is one db and one detect set per worker.  Its life:
 *   LIVE      in force (the newest one)
 *   DRAINING  replaced; waiting until every worker's set is idle (the
 *             worker moved on and nothing in progress uses it)
 *   GRACE     idle; waiting for one RCU grace period so that a worker
 *             still inside the call that released it has returned
 * then its sets and db are freed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_version.h>

#include "detect.h"
#include "ips/bundle.h"
#include "reload.h"

#ifndef IPS_VERSION
#define IPS_VERSION "unknown"
#endif

enum reload_state { RELOAD_LIVE, RELOAD_DRAINING, RELOAD_GRACE };

struct reload_gen {
	const struct ips_detect_db *db;
	struct ips_detect_db *owned;    /* db if loaded here (freed here) */
	struct detect_set **sets;       /* one per worker */
	uint64_t generation;            /* 1 = the start-up rules */
	uint64_t token;                 /* RCU token, in GRACE */
	uint8_t state;
	char bundle[256];               /* "" for the start-up rules */
};

struct reload {
	struct detect_worker *const *detect;
	const struct worker_stats *const *stats;
	unsigned n_workers;
	struct rte_rcu_qsbr *rcu;
	/* gens[0..n_gens): oldest first; the last one is LIVE */
	struct reload_gen gens[RELOAD_MAX_GENERATIONS];
	unsigned n_gens;
	uint64_t next_generation;
};

static double
reload_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct reload_gen *
reload_live(struct reload *r)
{
	return &r->gens[r->n_gens - 1];
}

struct reload *
reload_create(const struct reload_conf *conf, char *err, size_t errlen)
{
	struct reload *r = rte_zmalloc("reload", sizeof(*r), 0);
	struct reload_gen *g;
	size_t sz;

	if (r == NULL || conf->n_workers == 0)
		goto nomem;
	r->detect = conf->detect;
	r->stats = conf->stats;
	r->n_workers = conf->n_workers;
	sz = rte_rcu_qsbr_get_memsize(conf->n_workers);
	r->rcu = rte_zmalloc("reload_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (r->rcu == NULL || rte_rcu_qsbr_init(r->rcu, conf->n_workers) != 0)
		goto nomem;
	for (unsigned w = 0; w < conf->n_workers; w++)
		rte_rcu_qsbr_thread_register(r->rcu, w);
	g = &r->gens[0];
	g->sets = calloc(conf->n_workers, sizeof(*g->sets));
	if (g->sets == NULL)
		goto nomem;
	g->db = conf->db;
	g->generation = 1;
	g->state = RELOAD_LIVE;
	for (unsigned w = 0; w < conf->n_workers; w++)
		g->sets[w] = detect_set_current(conf->detect[w]);
	r->n_gens = 1;
	r->next_generation = 2;
	return r;
nomem:
	snprintf(err, errlen, "reload: out of memory");
	if (r != NULL)
		rte_free(r->rcu);
	rte_free(r);
	return NULL;
}

struct rte_rcu_qsbr *
reload_rcu(struct reload *r)
{
	return r->rcu;
}

static void
reload_gen_free(struct reload *r, struct reload_gen *g, int skip_in_use)
{
	for (unsigned w = 0; w < r->n_workers; w++)
		if (!skip_in_use || g->state != RELOAD_LIVE)
			detect_set_free(g->sets[w]);
	free(g->sets);
	ips_detect_db_free(g->owned);
	memset(g, 0, sizeof(*g));
}

void
reload_poll(struct reload *r)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < r->n_gens; i++) {
		struct reload_gen *g = &r->gens[i];

		if (g->state == RELOAD_DRAINING) {
			unsigned idle = 0;

			for (unsigned w = 0; w < r->n_workers; w++)
				idle += detect_set_idle(r->detect[w], g->sets[w]);
			if (idle == r->n_workers) {
				g->token = rte_rcu_qsbr_start(r->rcu);
				g->state = RELOAD_GRACE;
			}
		}
		if (g->state == RELOAD_GRACE &&
		    rte_rcu_qsbr_check(r->rcu, g->token, false) == 1) {
			reload_gen_free(r, g, 0);
			continue;
		}
		if (kept != i)
			r->gens[kept] = *g;
		kept++;
	}
	r->n_gens = kept;
}

json_t *
reload_load(struct reload *r, const char *path, char *err, size_t errlen)
{
	double t0 = reload_now_ms(), t1, t2;
	struct reload_gen *g;
	struct ips_detect_db *db;
	struct detect_set **sets;
	char why[512];

	reload_poll(r);
	if (r->n_gens == RELOAD_MAX_GENERATIONS) {
		snprintf(err, errlen, "load: %u earlier rule sets are still in "
		         "use by open transactions; try again later",
		         r->n_gens - 1);
		return NULL;
	}
	db = ips_bundle_read(path, why, sizeof(why));
	if (db == NULL) {
		snprintf(err, errlen, "load: %s (rules in force unchanged)", why);
		return NULL;
	}
	t1 = reload_now_ms();
	sets = calloc(r->n_workers, sizeof(*sets));
	if (sets == NULL) {
		ips_detect_db_free(db);
		snprintf(err, errlen, "load: out of memory (rules in force "
		         "unchanged)");
		return NULL;
	}
	for (unsigned w = 0; w < r->n_workers; w++) {
		sets[w] = detect_set_create(r->detect[w], db, why, sizeof(why));
		if (sets[w] == NULL) {
			snprintf(err, errlen, "load: %s: worker %u: %s (rules "
			         "in force unchanged)", path, w, why);
			while (w-- > 0)
				detect_set_free(sets[w]);
			free(sets);
			ips_detect_db_free(db);
			return NULL;
		}
	}
	/* Everything that can fail has succeeded: publish. */
	reload_live(r)->state = RELOAD_DRAINING;
	g = &r->gens[r->n_gens++];
	memset(g, 0, sizeof(*g));
	g->db = g->owned = db;
	g->sets = sets;
	g->generation = r->next_generation++;
	g->state = RELOAD_LIVE;
	snprintf(g->bundle, sizeof(g->bundle), "%s", path);
	for (unsigned w = 0; w < r->n_workers; w++)
		detect_set_publish(r->detect[w], sets[w]);
	t2 = reload_now_ms();
	return json_pack("{s:I, s:I, s:i, s:s, s:f, s:f, s:i}",
	                 "generation", (json_int_t)g->generation,
	                 "bundle_generation", (json_int_t)db->generation,
	                 "rules", (int)ips_ruleset_count(&db->rules),
	                 "bundle", path,
	                 "validate_ms", t1 - t0,
	                 "swap_ms", t2 - t1,
	                 "draining", (int)(r->n_gens - 1));
}

void
reload_stop(struct reload *r)
{
	if (r == NULL)
		return;
	for (unsigned w = 0; w < r->n_workers; w++)
		detect_worker_sync(r->detect[w]);
}

void
reload_free(struct reload *r)
{
	if (r == NULL)
		return;
	/* The live generation's sets went with detect_worker_free (after
	 * reload_stop they were every worker's current set). */
	for (unsigned i = 0; i < r->n_gens; i++)
		reload_gen_free(r, &r->gens[i], 1);
	rte_free(r->rcu);
	rte_free(r);
}

/* ---- control commands ----------------------------------------------------- */

static json_t *
reload_cmd_load(void *arg, const char *bundle, char *err, size_t errlen)
{
	return reload_load(arg, bundle, err, errlen);
}

static json_t *
reload_cmd_stats(void *arg, char *err, size_t errlen)
{
	struct reload *r = arg;
	struct worker_stats sum;
	json_t *per = json_array();

	(void)err, (void)errlen;
	stats_sum(r->stats, r->n_workers, &sum);
	for (unsigned w = 0; w < r->n_workers; w++)
		json_array_append_new(per, stats_to_json(r->stats[w]));
	return json_pack("{s:I, s:i, s:I, s:o, s:o}",
	                 "generation", (json_int_t)reload_live(r)->generation,
	                 "workers", (int)r->n_workers,
	                 "dropped", (json_int_t)stats_dropped(&sum),
	                 "total", stats_to_json(&sum),
	                 "per_worker", per);
}

static json_t *
reload_cmd_rules(void *arg, char *err, size_t errlen)
{
	struct reload *r = arg;
	const struct reload_gen *g = reload_live(r);
	const struct ips_ruleset *rs = &g->db->rules;
	json_t *list = json_array();

	(void)err, (void)errlen;
	for (uint32_t i = 0; i < rs->n_rules; i++) {
		const struct ips_rule *rule = &rs->rules[i];
		json_int_t hits = 0;

		if (rule->twin)
			continue;       /* its hits are the rule's, below */
		for (unsigned w = 0; w < r->n_workers; w++) {
			hits += (json_int_t)detect_set_hits(g->sets[w], i);
			if (i + 1 < rs->n_rules && rs->rules[i + 1].twin)
				hits += (json_int_t)detect_set_hits(g->sets[w],
				                                    i + 1);
		}
		json_array_append_new(list, json_pack(
			"{s:I, s:I, s:s, s:s, s:s?, s:I}",
			"sid", (json_int_t)rule->sid,
			"rev", (json_int_t)rule->rev,
			"action", ips_action_name(rule->action),
			"msg", rule->msg ? rule->msg : "",
			"classtype", rule->classtype,
			"hits", hits));
	}
	return json_pack("{s:I, s:i, s:o}",
	                 "generation", (json_int_t)g->generation,
	                 "count", (int)ips_ruleset_count(rs), "rules", list);
}

static json_t *
reload_cmd_version(void *arg, char *err, size_t errlen)
{
	struct reload *r = arg;
	const struct reload_gen *g = reload_live(r);

	(void)err, (void)errlen;
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:i, s:s, s:i}",
	                 "version", IPS_VERSION,
	                 "hyperscan", hs_version(),
	                 "dpdk", rte_version(),
	                 "bundle_format", (int)IPS_BUNDLE_FORMAT,
	                 "generation", (json_int_t)g->generation,
	                 "rules", (int)ips_ruleset_count(&g->db->rules),
	                 "bundle", g->bundle,
	                 "workers", (int)r->n_workers);
}

void
reload_backend(struct reload *r, struct ctl_backend *be)
{
	memset(be, 0, sizeof(*be));
	be->arg = r;
	be->load = reload_cmd_load;
	be->stats = reload_cmd_stats;
	be->rules = reload_cmd_rules;
	be->version = reload_cmd_version;
}
