/*
 * fuzz_decode.c - libFuzzer harness for decode_parse(): any byte string is
 * a frame.  The first byte, when present, picks how much of the frame is
 * in the "first segment"; that segment is copied to a buffer of exactly
 * its size, so ASan catches any read past it (headers must lie inside).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct worker_stats ws;
	struct pkt_meta pm;
	uint32_t len, frame_len;
	uint8_t *seg;
	int frag, rc;

	if (size < 1 || size > 65536 + 1)
		return 0;
	frame_len = (uint32_t)size - 1;
	/* 0: whole frame contiguous; otherwise a first segment of k bytes */
	len = data[0] == 0 ? frame_len : (uint32_t)data[0] * 2;
	if (len > frame_len)
		len = frame_len;
	seg = malloc(len == 0 ? 1 : len);
	if (seg == NULL)
		return 0;
	memcpy(seg, data + 1, len);
	rc = decode_parse(seg, len, frame_len, &pm, &frag, &ws);
	free(seg);
	if (rc < DECODE_OK || rc > DECODE_DROP)
		abort();
	if (rc == DECODE_OK && !frag &&
	    (pm.payload_off > frame_len ||
	     pm.payload_len > frame_len - pm.payload_off ||
	     pm.l4_off > len || pm.l3_off > pm.l4_off))
		abort();
	return 0;
}
