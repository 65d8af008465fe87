/*
 * migrate_recv() (vmm/migrate_stream.c) on arbitrary bytes: the stream a
 * migration destination reads comes from another host through pinvmd.
 * The destination expects 32 MiB at 0x80000000 and 2 vCPUs. A refusal
 * leaves nothing allocated (ASan); an accepted stream ended with END
 * after exactly one state describing that layout, and every byte it
 * counted came from the input.
 */
#include "fuzz.h"

#include "migrate_stream.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_SIZE (32ull << 20)

struct mem_reader {
	const uint8_t *data;
	size_t size, off;
};

static int mem_read(void *ctx, void *buf, size_t n)
{
	struct mem_reader *r = ctx;

	if (r->size - r->off < n)
		return -EPIPE;
	memcpy(buf, r->data + r->off, n);
	r->off += n;
	return 0;
}

int fuzz_run(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	const struct migrate_header want = {
		.version = MIGRATE_VERSION, .page_size = MIGRATE_PAGE,
		.ram_base = 0x80000000ull, .ram_size = RAM_SIZE, .vcpus = 2,
	};
	struct mem_reader mr = { .data = data, .size = size };
	struct migrate_reader r = { .read = mem_read, .ctx = &mr };
	struct migrate_recv_stats stats;
	struct vmm_error err;
	struct vm_state st;
	int ret;

	if (!ram) {
		/* Once: pages come in as the inputs write them. */
		void *m = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		FUZZ_CHECK(m != MAP_FAILED);
		ram = m;
	}
	ret = migrate_recv(&r, &want, ram, &st, &stats, &err);
	if (ret < 0) {
		FUZZ_CHECK(err.step[0] && err.detail[0]);
		return 0;
	}
	FUZZ_CHECK(st.vcpus == 2 && st.memory_mib == 32 && st.ram_base == want.ram_base);
	FUZZ_CHECK(stats.bytes == mr.off);
	FUZZ_CHECK(stats.data_pages * MIGRATE_PAGE <= mr.off);
	vm_state_free(&st);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_run(data, size);
	return 0;
}
