/*
 * fuzz_bundle.c - libFuzzer harness for the bundle reader: any bytes must
 * load or fail with a message, never crash or leak.
 *
 * Each input is read twice: as it is (the header checks), and with its
 * header repaired - magic, format, this host's Hyperscan version, no CPU
 * features, section lengths clamped to the input and the checksum
 * recomputed - so that mutations reach the section parsers instead of
 * stopping at the checksum.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ips/bundle.h"

static void
fuzz_read(const uint8_t *data, size_t size)
{
	char err[512];
	struct ips_detect_db *db;

	err[0] = '\0';
	db = ips_bundle_read_mem(data, size, "fuzz", err, sizeof(err));
	if (db == NULL && err[0] == '\0')
		__builtin_trap();           /* a failure must say why */
	ips_detect_db_free(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ips_bundle_header h;
	uint64_t left;
	uint8_t *copy;

	fuzz_read(data, size);
	if (size < sizeof(h))
		return 0;
	copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	memcpy(&h, copy, sizeof(h));
	memcpy(h.magic, IPS_BUNDLE_MAGIC, sizeof(h.magic));
	h.format = IPS_BUNDLE_FORMAT;
	h.header_bytes = sizeof(h);
	h.n_sections = IPS_BUNDLE_SECTIONS;
	snprintf(h.hs_version, sizeof(h.hs_version), "%s", hs_version());
	h.cpu_features = 0;
	left = size - sizeof(h);
	for (unsigned s = 0; s < IPS_BUNDLE_SECTIONS; s++) {
		if (h.section_bytes[s] > left)
			h.section_bytes[s] = left;
		left -= h.section_bytes[s];
	}
	h.section_bytes[IPS_BUNDLE_SECTIONS - 1] += left;
	h.file_bytes = size;
	memcpy(copy, &h, sizeof(h));
	h.checksum = ips_bundle_checksum(copy, size);
	memcpy(copy, &h, sizeof(h));
	fuzz_read(copy, size);
	free(copy);
	return 0;
}
