/*
 * sigload.h - where the dataplane's detection db comes from at start.
 *
 * Owns choosing and loading the signatures: a compiled bundle
 * (signatures.bundle or --bundle), or, for the rule-file workflows
 * (signatures.files, --rules), a bundle compiled by running `ipsctl
 * compile` as a separate process.  The dataplane never parses or compiles
 * a rule itself (DESIGN §2): a compiler bug or a pathological pattern can
 * crash or stall only the child, and the dataplane does not link the
 * compiler.  Runs once, before EAL init, on the main thread.
 */
#ifndef IPS_SIGLOAD_H
#define IPS_SIGLOAD_H

#include <stddef.h>

#include "config.h"
#include "ips/detect_db.h"

/*
 * Load the db the config names: c->bundle if set; else c->rule_files
 * compiled by c->compiler (or the ipsctl next to this executable) into a
 * temporary bundle, removed once read; else an empty rule set.  The
 * compiler's errors (file:line:col: reason) reach stderr unchanged.
 * Prints one line on stderr saying what was loaded.
 *
 * Returns the db (free with ips_detect_db_free), or NULL with the reason
 * in err.
 */
struct ips_detect_db *sig_load(const struct ips_config *c, char *err,
                               size_t errlen);

#endif /* IPS_SIGLOAD_H */
