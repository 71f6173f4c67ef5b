/*
 * x509.h - the names of a server certificate, as Suricata's rules see
 * them: tls.cert_subject, tls.cert_issuer and tls.cert_serial.
 *
 * Owns: nothing but the strings it writes into the caller's buffer.
 * Reads a DER certificate only as far as its subject; a certificate that
 * is not DER up to there has no names (Suricata's parser rejects it
 * too).  The strings follow Suricata 7's (its Rust x509 module):
 *
 *   subject, issuer  RDNs in certificate order joined by ", ", the
 *                    attributes of one RDN by " + ", each "abbrev=value":
 *                    CN C L ST O OU DC Email, other known attributes by
 *                    their registry short name, the rest "OID(dotted)";
 *                    a string value as its bytes (it must be UTF-8, or
 *                    the name is absent), any other value as upper-case
 *                    hex of its content bytes;
 *   serial           the INTEGER's content bytes as upper-case hex pairs
 *                    joined by ':' ("00:E8:1F").
 *
 * No allocation, no logging: called per certificate on the packet path.
 */
#ifndef IPS_X509_H
#define IPS_X509_H

#include <stdint.h>

/* One name: NULL when absent (not DER, not UTF-8, longer than room). */
struct x509_str {
	const uint8_t *p;
	uint32_t len;
};

struct x509_names {
	struct x509_str subject;
	struct x509_str issuer;
	struct x509_str serial;
	uint8_t truncated;          /* a name did not fit in the room given */
};

/*
 * Read the names of der (len bytes) into out, writing their strings into
 * room (cap bytes).  Returns 0 when the certificate is DER up to its
 * subject (each name then present unless it is not UTF-8 or did not fit),
 * -1 when it is not (no name present).
 */
int x509_names(const uint8_t *der, uint32_t len, uint8_t *room, uint32_t cap,
               struct x509_names *out);

#endif /* IPS_X509_H */
