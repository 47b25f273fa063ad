// SPDX-License-Identifier: GPL-2.0
/*
 * Real DMA through the nested SMMU, checked word by word.
 *
 *   dmacheck fill IMAGE MIB [CORRUPT_LBA]
 *	write the pattern to a disk image (on the x86_64 host, before boot);
 *	with CORRUPT_LBA, flip one byte of that 512-byte block
 *   dmacheck verify DEV PASSES [CORRUPT_LBA]
 *	read the whole device PASSES times with O_DIRECT into buffers mapped
 *	afresh and poisoned before every read, chunk size changing per pass;
 *	compare every word; the planted corruption must be found (and only
 *	it) in every pass
 *   dmacheck latency DEV COUNT [CORRUPT_LBA]
 *	COUNT random 4 KiB O_DIRECT reads, each into a fresh buffer and
 *	checked (the planted corruption excepted); prints the read latency
 *	(median, mean, p99) in microseconds
 *
 * Every 64-bit word of the image encodes where it lives: its LBA (512-byte
 * block) and its index in the block, mixed with a constant so that zeroes,
 * poison or a stale buffer never look right. A word read from the wrong
 * place decodes to the LBA it came from, which the report prints: a late
 * or lost IOTLB invalidation shows up as data from a previous buffer.
 *
 * Output is TAP-like lines for the L2 init script to forward; exit status
 * 0 only when the check held. verify and latency end with exactly one
 * result line (l2_dma_integrity, l2_nvme_latency), "not ok" with the reason
 * when the device cannot be opened, sized, mapped or read: a DMA fault
 * usually shows up as a failed read, and it must not look like silence.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DMACHECK_BLOCK		512ULL
#define DMACHECK_WORDS		(DMACHECK_BLOCK / 8)
#define DMACHECK_KEY		0x56434d4451535721ULL
#define DMACHECK_POISON		0xa5

static uint64_t dmacheck_word(uint64_t lba, uint64_t idx)
{
	return ((lba << 8) | idx) ^ DMACHECK_KEY;
}

static uint64_t dmacheck_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void dmacheck_pattern(uint64_t *buf, uint64_t lba, uint64_t nblocks)
{
	for (uint64_t b = 0; b < nblocks; b++)
		for (uint64_t i = 0; i < DMACHECK_WORDS; i++)
			buf[b * DMACHECK_WORDS + i] = dmacheck_word(lba + b, i);
}

static int dmacheck_fill(const char *path, uint64_t mib, int64_t corrupt)
{
	const uint64_t chunk = 1 << 20;
	uint64_t *buf = malloc(chunk);
	FILE *f = fopen(path, "wb");

	if (!buf || !f) {
		fprintf(stderr, "dmacheck: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (uint64_t m = 0; m < mib; m++) {
		uint64_t lba = m * (chunk / DMACHECK_BLOCK);

		dmacheck_pattern(buf, lba, chunk / DMACHECK_BLOCK);
		if (corrupt >= 0 && (uint64_t)corrupt >= lba &&
		    (uint64_t)corrupt < lba + chunk / DMACHECK_BLOCK)
			((uint8_t *)buf)[(corrupt - lba) * DMACHECK_BLOCK + 77] ^= 0x10;
		if (fwrite(buf, chunk, 1, f) != 1) {
			fprintf(stderr, "dmacheck: writing %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	free(buf);
	return fclose(f) ? 1 : 0;
}

/* The one result line of a failed check: "not ok - NAME: reason". */
static int dmacheck_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("not ok - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

/* A buffer nobody touched before: new pages, new IOVA mapping for them. */
static uint64_t *dmacheck_fresh(const char *name, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		dmacheck_fail(name, "mmap of %zu bytes: %s", len,
			      strerror(errno));
		return NULL;
	}
	memset(p, DMACHECK_POISON, len);
	return p;
}

/*
 * Open DEV for O_DIRECT reads and size it (a block device by
 * BLKGETSIZE64, an image file, as on the host's self-test, by its length).
 * Returns the fd, or -1 after the result line.
 */
static int dmacheck_open(const char *name, const char *dev, uint64_t *size)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	struct stat st;

	if (fd < 0) {
		dmacheck_fail(name, "open %s: %s", dev, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		dmacheck_fail(name, "stat %s: %s", dev, strerror(errno));
		goto err;
	}
	if (!S_ISBLK(st.st_mode)) {
		*size = st.st_size;
	} else if (ioctl(fd, BLKGETSIZE64, size)) {
		dmacheck_fail(name, "BLKGETSIZE64 on %s: %s", dev,
			      strerror(errno));
		goto err;
	}
	if (*size < DMACHECK_BLOCK) {
		dmacheck_fail(name, "%s holds %" PRIu64 " bytes, not one block",
			      dev, *size);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

static int dmacheck_read(const char *name, int fd, uint64_t *buf, size_t len,
			 uint64_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return dmacheck_fail(name, "read of %zu bytes at %" PRIu64
				     ": %s", len, off, strerror(errno));
	if (n != (ssize_t)len)
		return dmacheck_fail(name, "short read: %zd of %zu bytes at %"
				     PRIu64, n, len, off);
	return 0;
}

struct dmacheck_result {
	uint64_t blocks;
	uint64_t bad_blocks;
	int64_t first_bad;		/* LBA, -1 if none */
	int64_t first_bad_from;		/* LBA the wrong data came from */
	int corrupt_seen;
};

static void dmacheck_compare(const uint64_t *buf, uint64_t lba, uint64_t n,
			     int64_t corrupt, struct dmacheck_result *r)
{
	for (uint64_t b = 0; b < n; b++) {
		const uint64_t *w = buf + b * DMACHECK_WORDS;
		int bad = 0;

		for (uint64_t i = 0; i < DMACHECK_WORDS && !bad; i++) {
			if (w[i] == dmacheck_word(lba + b, i))
				continue;
			bad = 1;
			if ((int64_t)(lba + b) == corrupt)
				continue;
			if (r->first_bad < 0) {
				r->first_bad = lba + b;
				r->first_bad_from = (w[i] ^ DMACHECK_KEY) >> 8;
			}
		}
		r->blocks++;
		if (bad && (int64_t)(lba + b) == corrupt)
			r->corrupt_seen = 1;
		else if (bad)
			r->bad_blocks++;
	}
}

static int dmacheck_verify(const char *dev, int passes, int64_t corrupt)
{
	static const char name[] = "l2_dma_integrity";
	static const size_t chunks[] = { 1 << 20, 128 << 10, 16 << 10,
					  256 << 10, 64 << 10, 512 << 10 };
	uint64_t size, total = 0, bad = 0;
	int fd, ok = 1, missed = 0;

	fd = dmacheck_open(name, dev, &size);
	if (fd < 0)
		return 1;
	for (int p = 0; p < passes; p++) {
		size_t len = chunks[p % (sizeof(chunks) / sizeof(chunks[0]))];
		struct dmacheck_result r = { .first_bad = -1 };
		uint64_t t0 = dmacheck_now_ns();

		for (uint64_t off = 0; off < size; off += len) {
			uint64_t *buf = dmacheck_fresh(name, len);

			if (!buf)
				goto err;
			if (dmacheck_read(name, fd, buf, len, off)) {
				munmap(buf, len);
				goto err;
			}
			dmacheck_compare(buf, off / DMACHECK_BLOCK,
					 len / DMACHECK_BLOCK, corrupt, &r);
			munmap(buf, len);
		}
		printf("# pass %d: %zu KiB reads, %" PRIu64 " blocks, %" PRIu64
		       " mismatched, planted corruption %s, %.1f MB/s\n", p + 1,
		       len >> 10, r.blocks, r.bad_blocks,
		       corrupt < 0 ? "none" : r.corrupt_seen ? "found" : "MISSED",
		       size * 1e3 / (dmacheck_now_ns() - t0));
		if (r.first_bad >= 0)
			printf("# pass %d: first bad block %" PRId64
			       " holds data of block %" PRId64 "\n", p + 1,
			       r.first_bad, r.first_bad_from);
		total += r.blocks;
		bad += r.bad_blocks;
		missed += corrupt >= 0 && !r.corrupt_seen;
		if (r.bad_blocks)
			ok = 0;
	}
	close(fd);
	ok = ok && !missed;
	printf("%s - %s: %d passes, %" PRIu64 " blocks compared, %" PRIu64
	       " mismatches%s\n", ok ? "ok" : "not ok", name, passes, total,
	       bad, corrupt < 0 ? "" : missed ?
	       ", planted corruption MISSED" :
	       ", planted corruption caught in every pass");
	return !ok;
err:
	close(fd);
	return 1;
}

static int dmacheck_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int dmacheck_latency(const char *dev, int count, int64_t corrupt)
{
	static const char name[] = "l2_nvme_latency";
	const size_t len = 4096;
	struct dmacheck_result r = { .first_bad = -1 };
	uint64_t size, sum = 0, seed = 0x2545f4914f6cdd1dULL;
	uint64_t *lat;
	int fd;

	fd = dmacheck_open(name, dev, &size);
	if (fd < 0)
		return 1;
	if (size < len) {
		dmacheck_fail(name, "%s holds %" PRIu64 " bytes, < %zu",
			      dev, size, len);
		close(fd);
		return 1;
	}
	lat = calloc(count, sizeof(*lat));
	if (!lat) {
		dmacheck_fail(name, "no memory for %d samples", count);
		close(fd);
		return 1;
	}
	for (int i = 0; i < count; i++) {
		uint64_t *buf = dmacheck_fresh(name, len), off, t0;

		if (!buf)
			goto err;
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		off = (seed % (size / len)) * len;
		t0 = dmacheck_now_ns();
		if (dmacheck_read(name, fd, buf, len, off)) {
			munmap(buf, len);
			goto err;
		}
		lat[i] = dmacheck_now_ns() - t0;
		sum += lat[i];
		dmacheck_compare(buf, off / DMACHECK_BLOCK, len / DMACHECK_BLOCK,
				 corrupt, &r);
		munmap(buf, len);
	}
	close(fd);
	qsort(lat, count, sizeof(*lat), dmacheck_cmp_u64);
	/* p99 is the (count / 100)-th largest sample: 20th of 2000 */
	printf("# nvme 4k: %d reads, p50 %.1f us, mean %.1f us, p99 %.1f us, "
	       "%" PRIu64 " mismatched blocks\n", count, lat[count / 2] / 1e3,
	       sum / 1e3 / count, lat[count * 99 / 100] / 1e3, r.bad_blocks);
	printf("VCMDQ-BENCH {\"nvme_4k_read_us\": {\"p50\": %.1f, \"mean\": %.1f, "
	       "\"p99\": %.1f, \"reads\": %d, \"mismatched_blocks\": %" PRIu64
	       "}}\n", lat[count / 2] / 1e3, sum / 1e3 / count,
	       lat[count * 99 / 100] / 1e3, count, r.bad_blocks);
	printf("%s - %s: %d random 4 KiB reads, %" PRIu64
	       " mismatched blocks\n", r.bad_blocks ? "not ok" : "ok", name,
	       count, r.bad_blocks);
	free(lat);
	return r.bad_blocks != 0;
err:
	free(lat);
	close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	int64_t corrupt = argc > 4 ? strtoll(argv[4], NULL, 0) : -1;

	if (argc >= 4 && !strcmp(argv[1], "fill"))
		return dmacheck_fill(argv[2], strtoull(argv[3], NULL, 0), corrupt);
	if (argc >= 4 && !strcmp(argv[1], "verify") && atoi(argv[3]) > 0)
		return dmacheck_verify(argv[2], atoi(argv[3]), corrupt);
	if (argc >= 4 && !strcmp(argv[1], "latency") && atoi(argv[3]) > 0)
		return dmacheck_latency(argv[2], atoi(argv[3]), corrupt);
	fprintf(stderr,
		"usage: dmacheck fill IMAGE MIB [CORRUPT_LBA]\n"
		"       dmacheck verify DEV PASSES [CORRUPT_LBA]\n"
		"       dmacheck latency DEV COUNT [CORRUPT_LBA]\n");
	return 2;
}
