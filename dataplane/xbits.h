/*
 * xbits.h - Suricata's xbits: named bits kept per host or address pair,
 * with an expiry, that every worker sees.
 *
 * Owns: one table of records per worker.  Suricata keeps xbits in its
 * global host and ip-pair tables under locks; here RSS spreads one
 * client's connections over workers, so a bit one worker sets must hold
 * on the others, and no worker may wait.  So each worker writes only its
 * own table, and a check reads the key's record in every table: each set
 * or unset is stamped from one shared counter (an atomic add, paid only
 * when a rule that matched acts on an xbit) and the latest stamp says
 * whether the bit is set.  A record is read under its sequence number
 * (odd while its owner writes it; a reader that saw it move reads again),
 * so no check sees half a record.
 *
 * Semantics (Suricata 7's host-bit.c / ippair-bit.c): set while already
 * set keeps the first expiry; a bit holds while now <= its expiry (whole
 * seconds); toggle unsets a set bit, else sets it.  An expired bit is
 * absent: a set renews it, toggle sets it.  (Suricata keeps an expired
 * bit until a check or the host's timeout removes it, and a set or
 * toggle in between acts on the stale bit: timing this leaves out.)
 *
 * Bounded: a full probe window evicts the record that matters for the
 * least time (a record matters while some record of its key it overrides
 * could hold) and counts it in detect_xbits_evicted when it still did.
 *
 * Thread: xbits_create/free at setup; the rest on workers, concurrently,
 * each passing its own table.
 */
#ifndef IPS_XBITS_H
#define IPS_XBITS_H

#include <stdint.h>

struct xbits;

/* What a bit is kept for: a bit id (ips_xbit_id) and one address (a host
 * bit: b is zero) or two in a fixed order (a pair bit, either direction).
 * Addresses are 16 bytes (IPv4 as the flow stage stores it); the IP
 * version is part of the key. */
struct xbits_key {
	uint64_t id;
	uint8_t a[16];
	uint8_t b[16];
};

/* A host key for addr, or a pair key for (x, y) in either order. */
void xbits_key_host(struct xbits_key *k, uint64_t id, const uint8_t *addr,
                    uint8_t ip_version);
void xbits_key_pair(struct xbits_key *k, uint64_t id, const uint8_t *x,
                    const uint8_t *y, uint8_t ip_version);

/* n_tables tables (one per worker) of slots records each (at least
 * XBITS_PROBE; rounded up to a power of two); seed (random per process)
 * keeps an attacker from choosing addresses that share a probe window.
 * NULL when out of memory or out of range. */
#define XBITS_PROBE 8
struct xbits *xbits_create(unsigned n_tables, uint32_t slots, uint64_t seed);
void xbits_free(struct xbits *x);

/* Whether the bit holds at now_s (seconds).  Returns 1 or 0, or -1 when
 * a record stayed mid-write through every retry (its owner stalled):
 * undecided, for the caller's fault policy. */
int xbits_isset(const struct xbits *x, const struct xbits_key *k,
                uint64_t now_s);

/* IPS_FB_SET, IPS_FB_UNSET or IPS_FB_TOGGLE by the worker owning table
 * `own`; expire_s is a set's lifetime.  *evicted counts live records
 * pushed out.  Returns 0, or -1 when the current state could not be read
 * (nothing written). */
int xbits_act(struct xbits *x, unsigned own, const struct xbits_key *k,
              uint8_t op, uint64_t now_s, uint32_t expire_s,
              uint64_t *evicted);

#endif
