/*
 * fuzz_l3.c - libFuzzer harness for the l3 stage's parsers of what the
 * wire sends the gateway itself: ARP (l3_parse_arp) and IPv6 neighbor
 * discovery (l3_parse_nd, after decode_parse as in the worker).  The
 * frame is copied to a buffer of exactly its size, so ASan catches any
 * read past it; what a successful parse returns must be in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "l3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_l3_frame(const uint8_t *f, uint32_t len)
{
	static struct worker_stats ws;
	struct pkt_meta pm;
	struct l3_arp a;
	struct l3_nd nd;
	int frag, rc;

	rc = decode_parse(f, len, len, &pm, &frag, &ws);
	if (rc == DECODE_NOT_IP) {
		if (l3_parse_arp(f, len, pm.l3_off, &a) == 0 &&
		    ((a.op != 1 && a.op != 2) || (a.sha[0] & 1)))
			abort();
	} else if (rc == DECODE_OK && !frag) {
		if (l3_parse_nd(f, len, &pm, &nd) == 0 &&
		    ((nd.type != L3_ND_NS && nd.type != L3_ND_NA) ||
		     nd.target[0] == 0xff || (nd.has_lla && (nd.lla[0] & 1))))
			abort();
	}
	/* any offset the caller might pass, in or past the frame */
	(void)l3_parse_arp(f, len, len > 0 ? f[0] : 0, &a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f;

	if (size > 65536)
		return 0;
	f = malloc(size == 0 ? 1 : size);
	if (f == NULL)
		return 0;
	memcpy(f, data, size);
	fuzz_l3_frame(f, (uint32_t)size);
	free(f);
	return 0;
}
