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
#include <stdint.h>

#include "ips/detect_db.h"

#define IPS_BUNDLE_MAGIC   "IPSBNDL1"  /* 8 bytes, no NUL */
#define IPS_BUNDLE_FORMAT 10u     /* 2: a rule's reject variant; 3: pcre,
                                  * flowbits, thresholds; 4: request
                                  * header buffers (ids moved), 32-bit
                                  * buffer masks; 5: tls.certs and the
                                  * tls protocol; 6: response buffers;
                                  * 7: response head buffers; 8: tls
                                  * certificate names, tls.sni, 64-bit
                                  * masks; 9: xbits; 10: tls.version
                                  * (buffer ids after ja3.string moved),
                                  * twin rules */

/*
 * File layout (format 2, little-endian, no padding):
 *
 *   struct ips_bundle_header
 *   section IPS_BUNDLE_SEC_CLASSES   classtype names the rules use
 *   section IPS_BUNDLE_SEC_RULES     struct ips_rule, conditions included
 *   section IPS_BUNDLE_SEC_TABLES    patterns[], meta[], always[]
 *   section IPS_BUNDLE_SEC_DB + b    hs_serialize_database of db[b], one
 *                                    per enum ips_buffer; length 0 = none
 *
 * Sections follow each other in that order; their lengths are in the
 * header, so a reader knows every boundary before it parses a byte.
 * Inside a section: integers are fixed-width, a string is a u32 length,
 * the bytes and a NUL (length 0xffffffff = NULL, no bytes follow).
 * checksum is FNV-1a-64 over the whole file with the checksum field
 * taken as zero: a flipped byte anywhere is caught, the header included.
 */
enum ips_bundle_section {
	IPS_BUNDLE_SEC_CLASSES = 0,
	IPS_BUNDLE_SEC_RULES,
	IPS_BUNDLE_SEC_TABLES,
	IPS_BUNDLE_SEC_DB,              /* + enum ips_buffer */
	IPS_BUNDLE_SECTIONS = IPS_BUNDLE_SEC_DB + IPS_BUF_COUNT
};

#define IPS_BUNDLE_HS_VERSION_MAX 64

struct ips_bundle_header {
	char magic[8];                  /* IPS_BUNDLE_MAGIC */
	uint32_t format;                /* IPS_BUNDLE_FORMAT */
	uint32_t header_bytes;          /* sizeof(struct ips_bundle_header) */
	uint64_t file_bytes;            /* header + every section */
	uint64_t checksum;              /* see above */
	uint64_t generation;            /* ips_detect_db.generation */
	uint64_t compile_us;            /* compile time, microseconds */
	char hs_version[IPS_BUNDLE_HS_VERSION_MAX]; /* hs_version() of the
	                                 * compiler, NUL-terminated */
	uint64_t cpu_features;          /* hs_platform_info.cpu_features the
	                                 * databases may use (HS_CPU_FEATURES_*) */
	uint32_t tune;                  /* hs_platform_info.tune */
	uint32_t n_sections;            /* IPS_BUNDLE_SECTIONS */
	uint64_t section_bytes[IPS_BUNDLE_SECTIONS];
} __attribute__((packed));

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

/*
 * ips_bundle_read on a bundle already in memory (len bytes at buf; not
 * modified, not kept).  name prefixes the error messages.  Same contract;
 * the fuzz harness's entry point.
 */
struct ips_detect_db *ips_bundle_read_mem(const void *buf, size_t len,
                                          const char *name, char *err,
                                          size_t errlen);

/*
 * The checksum of a whole bundle file (len >= sizeof(struct
 * ips_bundle_header)), its checksum field read as zeros.  Cannot fail.
 */
uint64_t ips_bundle_checksum(const void *buf, size_t len);

/*
 * Serialize db into a new malloc'd buffer (*buf, *len; the caller frees
 * it).  Returns 0, or -1 with the reason in err (*buf untouched).
 */
int ips_bundle_encode(const struct ips_detect_db *db, void **buf, size_t *len,
                      char *err, size_t errlen);

#endif /* IPS_BUNDLE_H */
