/*
 * detect_inspect.h - Suricata's content inspection of one held buffer.
 *
 * Owns the exact evaluation of one rule's conditions on one buffer the
 * HTTP stage holds whole (header-side buffers, the held request body):
 * contents with offset/depth/distance/within/startswith/endswith and
 * their negations, pcre (PCRE2 with the JIT, relative R included),
 * isdataat, bsize, urilen, byte_test, byte_jump.  The conditions are taken
 * in rule order, the way Suricata's DetectEngineContentInspection takes a
 * buffer's keyword list: every match moves the "previous match end" that
 * relative keywords count from; when what follows a content fails and
 * the content carries retry_next, the content is retried at its next
 * occurrence (likewise a pcre), bounded by a recursion limit.
 *
 * Hyperscan has already prefiltered the rule (detect.c): this module is
 * called only for candidate rules, so its cost is bounded by the
 * prefilter's hits.  It does not own the rules (read-only, in the db) nor
 * the buffers (windows owned by the HTTP stage or detect.c).
 *
 * No allocation, syscall or logging per call: the PCRE2 match data, match
 * context and JIT stack are the worker's, made at detect_inspect_init.
 * Thread: one struct detect_inspect per worker lcore.
 */
#ifndef IPS_DETECT_INSPECT_H
#define IPS_DETECT_INSPECT_H

#include <stdint.h>

#include "ips/rules.h"

/* PCRE2 match limit (calls of its internal match function per attempt).
 * Suricata's default is 3500, after which it calls the pcre a non-match;
 * here reaching the limit is an inspection fault that policy.detect_error
 * decides (drop by default), so the limit is set higher: benign requests
 * stay far below it, a pathological one is bounded. */
#define DETECT_PCRE_MATCH_LIMIT 10000

/* Keywords one buffer inspection may evaluate, retries included
 * (Suricata's inspection_recursion_limit): bounds the backtracking an
 * attacker can force with many occurrences of a prefix.  Reaching it is
 * a fault, as for the match limit. */
#define DETECT_INSPECT_RECURSION_LIMIT 3000

/* Why an inspection could not decide (detect_inspect_buffer's *fault). */
#define DETECT_INSPECT_FAULT_PCRE_LIMIT 0x1  /* PCRE2 match/JIT stack limit */
#define DETECT_INSPECT_FAULT_RECURSION  0x2  /* recursion limit */
#define DETECT_INSPECT_FAULT_PCRE_ERROR 0x4  /* any other PCRE2 error */

struct detect_inspect {
	void *match_data;       /* pcre2_match_data, one ovector pair */
	void *match_ctx;        /* pcre2_match_context: limit, JIT stack */
	void *jit_stack;        /* pcre2_jit_stack */
};

/*
 * Make a worker's PCRE2 state.  Returns 0, or -1 with err set.
 * Thread: setup.
 */
int detect_inspect_init(struct detect_inspect *di, char *err, size_t errlen);

/* Free it; safe on a zeroed or half-made one.  Thread: shut-down. */
void detect_inspect_fini(struct detect_inspect *di);

/*
 * Evaluate the conditions of rule that inspect buffer b against
 * [buf, buf + len) (buf may be NULL when len is 0).  more: the buffer is
 * the first part of one still growing (a body not yet ended): a pcre's $
 * then does not match at its end.  Returns 1 when they
 * all hold, 0 when not.  When the answer could not be computed (a limit
 * above, a PCRE2 error) 0 is returned and DETECT_INSPECT_FAULT_* bits are
 * or-ed into *fault: the caller must not take the 0 as "clean".
 * Thread: the worker owning di.
 */
int detect_inspect_buffer(struct detect_inspect *di,
                          const struct ips_rule *rule, uint8_t b,
                          const uint8_t *buf, uint32_t len, int more,
                          int *fault);

/* Whether a condition is decided only by detect_inspect_buffer (the
 * Hyperscan match alone does not decide it exactly). */
int detect_inspect_needed(const struct ips_cond *cd);

/* Whether a condition that holds on the first bytes of a buffer still
 * holds once more bytes follow (no negation, no end anchor but a pcre's
 * $ matched with "more", no size):
 * such conditions of the request body may be decided on the body held
 * so far, as Suricata's progressive body inspection does; the others
 * wait for its end. */
int detect_inspect_prefix_safe(const struct ips_cond *cd);

#endif /* IPS_DETECT_INSPECT_H */
