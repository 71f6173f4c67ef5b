/*
 * detect_db.h - the compiled detection database: what the dataplane scans
 * with and evaluates rules from.
 *
 * Compilation (DESIGN §7): every content and pcre condition of every rule
 * that inspects the same buffer goes into one Hyperscan database for that
 * buffer (block mode for header-side buffers, streaming mode for the request
 * body and the raw stream).  Each condition becomes one Hyperscan expression whose id is its
 * index in patterns[]; offset/depth become hs_expr_ext min/max offsets.
 * Hyperscan is the prefilter: after a scan the matched pattern ids name the
 * candidate rules, and only those are evaluated (negations, conjunctions
 * across buffers).  Negated conditions are compiled too: matching one
 * vetoes its rule.
 *
 * Rules are stored sorted by action priority (pass, drop, reject, alert) and
 * then by file order, so evaluating candidates in index order honours
 * "pass stops lower-priority rules".
 *
 * An ips_detect_db is immutable once built and may be read by any number of
 * worker threads at once; each worker needs its own scratch
 * (ips_detect_db_alloc_scratch).  This struct is what the bundle file
 * serializes (bundle.h).  ips_detect_db_compile is control-side
 * (rule_compile.c); everything else here is in the runtime library
 * (rule_runtime.c) the dataplane links.
 */
#ifndef IPS_DETECT_DB_H
#define IPS_DETECT_DB_H

#include <stdint.h>
#include <hs/hs.h>

#include "ips/rules.h"

struct ips_pattern {
	uint32_t rule;          /* index into rules */
	uint16_t cond;          /* index into that rule's conds */
	uint8_t buffer;         /* enum ips_buffer */
	uint8_t negated;
};

struct ips_rule_meta {
	uint32_t first_pattern; /* its patterns are contiguous in patterns[] */
	uint16_t n_positive;    /* conditions that must match */
	uint16_t n_negated;     /* conditions that must not match */
	uint64_t buffers;       /* bit mask of enum ips_buffer it inspects */
	uint8_t needs_body;     /* has a positive or negated body condition */
};

struct ips_detect_db {
	uint64_t generation;    /* bumped on every compile/load */
	hs_database_t *db[IPS_BUF_COUNT];   /* NULL: no condition on buffer */
	struct ips_ruleset rules;           /* sorted, see above */
	struct ips_rule_meta *meta;         /* one per rule */
	struct ips_pattern *patterns;
	uint32_t n_patterns;
	/* Rules with no positive condition (only negations, or only a flow
	 * constraint): evaluated for every transaction, not only on a match. */
	uint32_t *always;
	uint32_t n_always;
	double compile_seconds;
};

/*
 * Compile a parsed rule set.  Takes ownership of *rs (it is moved into the
 * db and left empty) whether or not compilation succeeds.  A pattern that
 * Hyperscan rejects is reported as "file:line: sid N: reason".
 *
 * Returns the new db, or NULL with the reason in err.
 */
struct ips_detect_db *ips_detect_db_compile(struct ips_ruleset *rs,
                                            char *err, size_t errlen);

/* A db with no rules (no signatures configured).  Returns NULL when out
 * of memory. */
struct ips_detect_db *ips_detect_db_empty(void);

/*
 * Compile every pcre condition of db with PCRE2 and its JIT (the dataplane
 * confirms Hyperscan's prefilter matches with them; see detect_inspect.h).
 * The bundle carries each regex as source and flags, so a loaded db runs
 * this once on the loading thread; the compiler runs it too, so a regex
 * PCRE2 refuses is a rule error there.  Idempotent.
 *
 * Returns 0, or -1 with "file:line: sid N: pcre: reason" in err.
 */
int ips_detect_db_prepare(struct ips_detect_db *db, char *err, size_t errlen);

/*
 * Whether a raw-stream condition is decided on the stream's held window
 * (the first DETECT_RAW_WINDOW_BYTES client bytes, dataplane/detect.c)
 * rather than by Hyperscan alone over the whole stream: distance/within,
 * pcre R and every pcre Hyperscan cannot run exactly, isdataat, byte_test,
 * byte_jump.  0 for conditions of other buffers.
 */
int ips_cond_needs_window(const struct ips_cond *cd);

/* Compile one condition's regex (cd->re); same contract for one rule. */
int ips_cond_prepare_pcre(const struct ips_rule *r, struct ips_cond *cd,
                          char *err, size_t errlen);

/* Free db and everything it owns; db may be NULL.  Cannot fail. */
void ips_detect_db_free(struct ips_detect_db *db);

/*
 * Allocate (or grow, if *scratch is non-NULL) Hyperscan scratch able to scan
 * every database in db.  Called once per worker at start and after a reload,
 * never on the hot path.  Returns 0, or -1 with err set.
 */
int ips_detect_db_alloc_scratch(const struct ips_detect_db *db,
                                hs_scratch_t **scratch,
                                char *err, size_t errlen);

#endif /* IPS_DETECT_DB_H */
