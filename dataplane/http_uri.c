/*
 * http_uri.c - request target and host normalization (see http_uri.h for
 * every decoding choice and why).
 *
 * Shape: the target is split on raw bytes first (authority, then the first
 * '?'), then each part is decoded into the output and the path is
 * rewritten in place.  Every pass only shrinks its region, so one output
 * buffer of the input's size is enough and no pass reads what a later
 * byte of the same pass wrote.
 */
#include <string.h>

#include "http_uri.h"

/* Value of n hex digits at p, or -1. */
static int32_t
http_uri_hexn(const uint8_t *p, unsigned n)
{
	int32_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		int d = http_hex_digit(p[i]);
		if (d < 0)
			return -1;
		v = (v << 4) | d;
	}
	return v;
}

/*
 * Write code point cp of a %uXXXX escape to out (room for 3 bytes checked
 * by the caller).  Returns bytes written, 0 for a surrogate (invalid: the
 * caller keeps the escape literally).
 */
static uint32_t
http_uri_put_u(uint32_t cp, uint8_t *out)
{
	if (cp >= 0xff01 && cp <= 0xff5e)
		cp -= 0xfee0;   /* IIS best fit: fullwidth form -> ASCII */
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		return 0;
	out[0] = (uint8_t)(0xe0 | (cp >> 12));
	out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp & 0x3f));
	return 3;
}

/*
 * Decode one escape at in[0] == '%' (n bytes available).  Writes the
 * decoded bytes to out (room >= 3) and returns the input bytes consumed,
 * or 0 when the escape is invalid and must be kept literally.
 */
static uint32_t
http_uri_escape(const uint8_t *in, uint32_t n, uint8_t *out,
                uint32_t *written, unsigned *anom)
{
	int32_t v;

	if (n >= 6 && (in[1] | 0x20) == 'u') {
		v = http_uri_hexn(in + 2, 4);
		if (v < 0)
			return 0;
		*anom |= HTTP_URI_ANOM_U_ENCODING;
		*written = http_uri_put_u((uint32_t)v, out);
		if (*written == 0)
			return 0;
		if (*written == 1 && out[0] == 0)
			*anom |= HTTP_URI_ANOM_NUL;
		return 6;
	}
	if (n < 3 || (v = http_uri_hexn(in + 1, 2)) < 0)
		return 0;
	out[0] = (uint8_t)v;
	*written = 1;
	if (v == 0)
		*anom |= HTTP_URI_ANOM_NUL;
	return 3;
}

/* Percent-decode in[0..len) into out[0..cap).  Returns bytes written. */
static uint32_t
http_uri_decode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap,
                unsigned *anom)
{
	uint32_t i = 0, j = 0;

	while (i < len) {
		uint8_t tmp[3];
		uint32_t w = 1, used = 0;

		if (in[i] == '%')
			used = http_uri_escape(in + i, len - i, tmp, &w, anom);
		if (used == 0) {
			if (in[i] == '%')
				*anom |= HTTP_URI_ANOM_BAD_ESCAPE;
			tmp[0] = in[i];
			w = 1;
			used = 1;
		}
		if (w > cap - j) {
			*anom |= HTTP_URI_ANOM_TRUNCATED;
			break;
		}
		memcpy(out + j, tmp, w);
		j += w;
		i += used;
	}
	return j;
}

static int
http_uri_cont(uint8_t c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Length of an overlong UTF-8 sequence at b[0..n) that encodes an ASCII
 * byte (stored in *ascii), or 0.  Only ASCII matters: that is where
 * separators and dots hide.
 */
static uint32_t
http_uri_overlong(const uint8_t *b, uint32_t n, uint8_t *ascii)
{
	uint32_t cp;

	if ((b[0] == 0xc0 || b[0] == 0xc1) && n >= 2 && http_uri_cont(b[1])) {
		*ascii = (uint8_t)(((b[0] & 0x1f) << 6) | (b[1] & 0x3f));
		return 2;
	}
	if (b[0] == 0xe0 && n >= 3 && b[1] >= 0x80 && b[1] <= 0x9f &&
	    http_uri_cont(b[2])) {
		cp = ((uint32_t)(b[1] & 0x3f) << 6) | (b[2] & 0x3f);
		if (cp < 0x80) {
			*ascii = (uint8_t)cp;
			return 3;
		}
		return 0;
	}
	if (b[0] == 0xf0 && n >= 4 && b[1] >= 0x80 && b[1] <= 0x8f &&
	    http_uri_cont(b[2]) && http_uri_cont(b[3])) {
		cp = ((uint32_t)(b[1] & 0x3f) << 12) |
		     ((uint32_t)(b[2] & 0x3f) << 6) | (b[3] & 0x3f);
		if (cp < 0x80) {
			*ascii = (uint8_t)cp;
			return 4;
		}
	}
	return 0;
}

/* Fold overlong ASCII forms in place.  Returns the new length. */
static uint32_t
http_uri_fold_overlong(uint8_t *b, uint32_t n, unsigned *anom)
{
	uint32_t i = 0, j = 0;

	while (i < n) {
		uint8_t c;
		uint32_t used = b[i] >= 0xc0 ? http_uri_overlong(b + i, n - i, &c)
		                             : 0;
		if (used) {
			*anom |= HTTP_URI_ANOM_OVERLONG;
			if (c == 0)
				*anom |= HTTP_URI_ANOM_NUL;
			b[j++] = c;
			i += used;
		} else {
			b[j++] = b[i++];
		}
	}
	return j;
}

/* Is b[0..len) "." (1) or ".." (2), ignoring a ";params" tail?  0 if not. */
static unsigned
http_uri_dots(const uint8_t *b, uint32_t len)
{
	const uint8_t *semi = memchr(b, ';', len);

	if (semi)
		len = (uint32_t)(semi - b);
	if (len == 1 && b[0] == '.')
		return 1;
	if (len == 2 && b[0] == '.' && b[1] == '.')
		return 2;
	return 0;
}

/* Remove the last segment of b[0..j) (which ends with '/' or is empty). */
static uint32_t
http_uri_pop(const uint8_t *b, uint32_t j, unsigned *anom)
{
	if (j == 0 || (j == 1 && b[0] == '/')) {
		*anom |= HTTP_URI_ANOM_ABOVE_ROOT;
		return j;
	}
	j--;
	while (j > 0 && b[j - 1] != '/')
		j--;
	return j;
}

/*
 * Resolve "\", "//", "." and ".." in the path b[0..n), in place.
 * Invariant: when a segment starts, the output is empty or ends with '/',
 * so popping a segment is a backward scan to the previous '/'.
 */
static uint32_t
http_uri_path(uint8_t *b, uint32_t n, unsigned *anom)
{
	uint32_t i = 0, j = 0;

	for (uint32_t k = 0; k < n; k++) {
		if (b[k] == '\\') {
			b[k] = '/';
			*anom |= HTTP_URI_ANOM_BACKSLASH;
		}
	}
	while (i < n) {
		if (b[i] == '/') {
			if (j > 0 && b[j - 1] == '/')
				*anom |= HTTP_URI_ANOM_DOUBLE_SLASH;
			else
				b[j++] = '/';
			i++;
			continue;
		}
		const uint8_t *slash = memchr(b + i, '/', n - i);
		uint32_t k = slash ? (uint32_t)(slash - b) : n;
		unsigned dots = http_uri_dots(b + i, k - i);

		if (dots) {
			*anom |= HTTP_URI_ANOM_DOT_SEGMENT;
			if (dots == 2)
				j = http_uri_pop(b, j, anom);
			i = k < n ? k + 1 : k;   /* the segment's own '/' goes too */
			continue;
		}
		memmove(b + j, b + i, k - i);
		j += k - i;
		i = k;
	}
	return j;
}

static int
http_uri_scheme_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

uint32_t
http_uri_authority(const uint8_t *raw, uint32_t len,
                   uint32_t *host_off, uint32_t *host_len)
{
	uint32_t i = 0, a, e;

	if (len == 0 || !((raw[0] | 0x20) >= 'a' && (raw[0] | 0x20) <= 'z'))
		return 0;
	while (i < len && http_uri_scheme_char(raw[i]))
		i++;
	if (len - i < 3 || memcmp(raw + i, "://", 3) != 0)
		return 0;
	a = i + 3;
	e = a;
	while (e < len && raw[e] != '/' && raw[e] != '?' && raw[e] != '#')
		e++;
	*host_off = a;
	for (uint32_t k = a; k < e; k++) {
		if (raw[k] == '@')
			*host_off = k + 1;
	}
	*host_len = e - *host_off;
	return e;
}

uint32_t
http_uri_normalize(const uint8_t *raw, uint32_t len, uint8_t *out,
                   uint32_t cap, unsigned *anomalies)
{
	unsigned anom = 0;
	uint32_t host_off, host_len, n = 0;
	uint32_t start = http_uri_authority(raw, len, &host_off, &host_len);
	const uint8_t *q = memchr(raw + start, '?', len - start);
	uint32_t path_end = q ? (uint32_t)(q - raw) : len;

	if (start > 0 && start == path_end) {
		if (cap == 0)
			anom |= HTTP_URI_ANOM_TRUNCATED;
		else
			out[n++] = '/';
	}
	n += http_uri_decode(raw + start, path_end - start, out + n, cap - n,
	                     &anom);
	n = http_uri_fold_overlong(out, n, &anom);
	n = http_uri_path(out, n, &anom);
	if (q) {
		uint32_t m;

		if (n == cap) {
			anom |= HTTP_URI_ANOM_TRUNCATED;
			goto done;
		}
		out[n++] = '?';
		m = http_uri_decode(q + 1, len - path_end - 1, out + n, cap - n,
		                    &anom);
		n += http_uri_fold_overlong(out + n, m, &anom);
	}
done:
	if (anomalies)
		*anomalies |= anom;
	return n;
}

uint32_t
http_host_normalize(const uint8_t *in, uint32_t len, uint8_t *out,
                    uint32_t cap)
{
	uint32_t s = 0, e = len, n;

	while (s < e && (in[s] == ' ' || in[s] == '\t'))
		s++;
	while (e > s && (in[e - 1] == ' ' || in[e - 1] == '\t'))
		e--;
	if (s < e && in[s] == '[') {
		const uint8_t *rb = memchr(in + s, ']', e - s);
		if (rb)
			e = (uint32_t)(rb - in) + 1;
	} else {
		const uint8_t *colon = memchr(in + s, ':', e - s);
		if (colon)
			e = (uint32_t)(colon - in);
		while (e > s && in[e - 1] == '.')
			e--;
	}
	n = e - s < cap ? e - s : cap;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = in[s + i];
		out[i] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
	}
	return n;
}
