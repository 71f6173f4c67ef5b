/*
 * bounded.h - a writer into a fixed room.
 *
 * Owns nothing: the room is the caller's.  Writing past the room sets
 * full and writes nothing more, so a caller never mistakes a cut string
 * for a whole one: HTTP's normalized buffers, a response head's buffers
 * and a certificate's names are built with it, and each says what full
 * means for it (a fault, an absent name).
 */
#ifndef IPS_BOUNDED_H
#define IPS_BOUNDED_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct bounded_out {
	uint8_t *p;
	uint32_t len;
	uint32_t cap;
	bool full;
};

static inline void
bounded_put(struct bounded_out *o, const void *s, uint32_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static inline void
bounded_str(struct bounded_out *o, const char *s)
{
	bounded_put(o, s, (uint32_t)strlen(s));
}

#endif /* IPS_BOUNDED_H */
