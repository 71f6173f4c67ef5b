/*
 * bundle.h - the compiled signature bundle: one file that carries a whole
 * detection database from the control process to the dataplane.
 *
 * The control side parses and compiles rules (slow, may fail, must never
 * run on the dataplane) and writes a bundle; the dataplane only reads one,
 * at start and on a reload, and never compiles.  A bundle holds:
 *   - a header: magic, format version, the Hyperscan version and the
 *     target CPU features it was compiled for, the generation, the
 *     lengths of the sections and a checksum over everything after the
 *     header;
 *   - the rule table (every field of struct ips_detect_db the dataplane
 *     reads, and the rules with their conditions, messages, classtypes);
 *   - one serialized Hyperscan database per buffer (hs_serialize_database).
 *
 * Reading validates everything before returning a db: size, magic,
 * version, checksum, the Hyperscan version and platform
 * (hs_serialized_database_info, hs_deserialize_database), every index in
 * the rule table.  A bad, truncated or foreign bundle returns NULL with a
 * reason and changes nothing.
 *
 * Thread safety: both functions are reentrant; neither is called from a
 * worker lcore.
 */
#ifndef IPS_BUNDLE_H
#define IPS_BUNDLE_H

#include <stddef.h>

#include "ips/detect_db.h"

#define IPS_BUNDLE_MAGIC   "IPSBNDL1"  /* 8 bytes, no NUL */
#define IPS_BUNDLE_FORMAT  1u

/*
 * Write db to path atomically (a temporary file in the same directory,
 * fsync, rename): a reader never sees a half-written bundle.  Control side
 * only.  Returns 0, or -1 with the reason in err.
 */
int ips_bundle_write(const struct ips_detect_db *db, const char *path,
                     char *err, size_t errlen);

/*
 * Read and fully validate the bundle at path.  Returns a new db (free it
 * with ips_detect_db_free), or NULL with the reason in err (the file name
 * and what was wrong: "bundle.ips: checksum mismatch", "compiled for
 * Hyperscan 5.4.2 on a CPU with AVX512, this host has ...").
 */
struct ips_detect_db *ips_bundle_read(const char *path, char *err,
                                      size_t errlen);

#endif /* IPS_BUNDLE_H */
