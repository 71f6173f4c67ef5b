/*
 * http_uri.h - normalization of request targets and host names for the
 * http.uri and http.host buffers.
 *
 * Owns: percent and %u decoding, overlong UTF-8 folding, path normalization
 * (./ ../ // and backslash), the absolute-form split (scheme://authority)
 * and host normalization.  Pure functions over caller buffers: no state, no
 * allocation, safe on any bytes.  Used only by http.c.
 *
 * Why normalize at all: servers decode and resolve the path before they
 * map it to a file, so a rule written against "/etc/passwd" or "../" must
 * see what the server will see, whatever the encoding the attacker chose.
 *
 * Choices (each one is the reading of the most permissive common server,
 * because the IPS must catch what any backend would accept):
 *  - "%xx" is decoded once (no double decoding: no current server does it);
 *    an invalid escape ("%zz", "%4", "%u12") is kept literally and flagged.
 *  - "%uXXXX" (IIS only): code points below 0x80 become that byte; the
 *    fullwidth forms U+FF01..U+FF5E are folded to the ASCII they imitate
 *    (best fit, as IIS does: "%uff0e%uff0e%uff0f" is "../" to IIS); any
 *    other code point is written as UTF-8 so no information is lost for
 *    rules on non-ASCII text.  Surrogates are invalid: kept literally.
 *  - Overlong UTF-8 forms of ASCII ("%c0%af", raw C0 AF, E0 80 AF,
 *    F0 80 80 AF) are folded to the ASCII byte they encode, as old IIS did,
 *    so "..%c0%af" is seen as "../".  Overlong forms of non-ASCII are kept.
 *  - %00 (and %u0000, C0 80) is kept as byte 0x00 and flagged: servers in C
 *    truncate there, others do not, so rules must see both sides.
 *  - Path rules apply to the path only, split from the query at the first
 *    raw '?' (an encoded %3f belongs to the path, as on the server).  In the
 *    path, '\' becomes '/' (IIS), "//" collapses, "." segments go, ".."
 *    removes the previous segment and never climbs above the root.  A
 *    segment is "." or ".." also with a ";params" tail ("..;/" is ".." to
 *    Tomcat).  The query is decoded (%xx, %u, overlong) and nothing else.
 *  - Absolute form "scheme://authority/path?q" is normalized to its
 *    "/path?q" part (Suricata's default uri-include-all: false).
 *
 * Output is never longer than the input (every rule only shrinks bytes or
 * maps 6 input bytes to at most 3), except that an absolute-form target
 * with an empty path yields "/"; so cap >= len + 1 never truncates.
 */
#ifndef IPS_HTTP_URI_H
#define IPS_HTTP_URI_H

#include <stdint.h>

/* Anomaly bits reported by http_uri_normalize (OR-ed into *anomalies). */
#define HTTP_URI_ANOM_NUL          0x0001u /* decoded byte 0x00 */
#define HTTP_URI_ANOM_BAD_ESCAPE   0x0002u /* invalid %-sequence kept */
#define HTTP_URI_ANOM_U_ENCODING   0x0004u /* %uXXXX seen (IIS only) */
#define HTTP_URI_ANOM_OVERLONG     0x0008u /* overlong UTF-8 folded */
#define HTTP_URI_ANOM_ABOVE_ROOT   0x0010u /* ".." tried to leave "/" */
#define HTTP_URI_ANOM_BACKSLASH    0x0020u /* '\' used as separator */
#define HTTP_URI_ANOM_DOT_SEGMENT  0x0040u /* "." or ".." segment removed */
#define HTTP_URI_ANOM_DOUBLE_SLASH 0x0080u /* empty segment collapsed */
#define HTTP_URI_ANOM_TRUNCATED    0x0100u /* cap too small: output cut */

/*
 * Normalize the request target raw[0..len) into out[0..cap).
 * anomalies may be NULL; otherwise HTTP_URI_ANOM_* bits are OR-ed in.
 * Returns the number of bytes written (<= cap).  Cannot fail; with
 * cap < len + 1 the output may be truncated (HTTP_URI_ANOM_TRUNCATED).
 * raw and out must not overlap.  Thread-safe.
 */
uint32_t http_uri_normalize(const uint8_t *raw, uint32_t len,
                            uint8_t *out, uint32_t cap, unsigned *anomalies);

/*
 * Split an absolute-form target ("http://user@Host:80/p").  Returns the
 * offset where the path (or query) starts, 0 for any other form; when
 * non-zero, [*host_off, *host_off + *host_len) is the authority without
 * userinfo (port still attached).  Thread-safe.
 */
uint32_t http_uri_authority(const uint8_t *raw, uint32_t len,
                            uint32_t *host_off, uint32_t *host_len);

/*
 * Normalize a host name for http.host: surrounding blanks trimmed,
 * lowercased, ":port" and trailing dots removed ("[v6]:port" keeps the
 * brackets).  Writes at most min(len, cap) bytes; returns the length.
 * Thread-safe.
 */
uint32_t http_host_normalize(const uint8_t *in, uint32_t len,
                             uint8_t *out, uint32_t cap);

/* Value of one hex digit, or -1: for %XX escapes and chunk sizes. */
static inline int
http_hex_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif /* IPS_HTTP_URI_H */
