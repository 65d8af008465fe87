/*
 * The live-migration stream (vmm/migrate_stream.h): the header and frame
 * codecs, the layout check naming the field that differs, the frame
 * rules, and a whole stream received into RAM: pages land where they
 * belong, a page sent again replaces the old bytes, a zero marker clears
 * a page that had data, and the state comes out as sent.
 */
#include "migrate_stream.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM (32ull << 20)
#define PAGES (RAM / MIGRATE_PAGE)

static const struct migrate_header want = {
	.version = MIGRATE_VERSION, .page_size = MIGRATE_PAGE,
	.ram_base = 0x80000000ull, .ram_size = RAM, .vcpus = 1,
};

struct buf {
	uint8_t *p;
	size_t len, off;
};

static void put(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n);
	assert_non_null(b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void frame(struct buf *b, uint32_t type, uint32_t count, uint64_t arg)
{
	struct migrate_frame f = { type, count, arg };
	uint8_t raw[MIGRATE_FRAME_LEN];

	migrate_frame_encode(&f, raw);
	put(b, raw, sizeof(raw));
}

static int buf_read(void *ctx, void *out, size_t n)
{
	struct buf *b = ctx;

	if (b->len - b->off < n)
		return -EPIPE;
	memcpy(out, b->p + b->off, n);
	b->off += n;
	return 0;
}

static const char state_json[] =
	"{\"format\": 1, \"kernel_release\": \"6.12.0-test\", \"vcpus\": 1, \"memory_mib\": 32,"
	" \"ram_base\": \"0x80000000\", \"vcpu_features\": \"0x4\", \"gic\": {\"version\":"
	" \"v3\", \"nr_irqs\": 128, \"regs\": []}, \"uart\": {\"ier\": 5, \"lcr\": 19,"
	" \"mcr\": 11, \"scr\": 0, \"dll\": 12, \"dlm\": 0, \"fcr\": 1, \"rbr\": 0,"
	" \"thre_pending\": true, \"rx_ready\": false, \"irq_level\": false},"
	" \"console_offset\": 7, \"time\": {\"semantics\": \"paused\", \"cntvct\": \"0x1234\","
	" \"cntfrq\": \"0x3b9aca0\"}, \"vcpu\": [{\"mp_state\": 0, \"mpidr\": \"0x80000000\","
	" \"regs\": [{\"id\": \"0x6030000000100000\", \"value\": \"0x2a\"}]}], \"pins\": [],"
	" \"smccc_deny\": []}";

static void header(struct buf *b, const struct migrate_header *h)
{
	uint8_t raw[MIGRATE_HEADER_LEN];

	migrate_header_encode(h, raw);
	put(b, raw, sizeof(raw));
}

static void test_header_roundtrip(void **state)
{
	uint8_t raw[MIGRATE_HEADER_LEN];
	struct migrate_header h;
	struct vmm_error err;

	(void)state;
	migrate_header_encode(&want, raw);
	assert_memory_equal(raw, "PINVMMIG", 8);
	assert_int_equal(migrate_header_decode(raw, &h, &err), 0);
	assert_memory_equal(&h, &want, sizeof(h));
	raw[8] = 2;
	assert_int_equal(migrate_header_decode(raw, &h, &err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err.detail, "version"));
	raw[8] = 1;
	raw[40] = 1;
	assert_int_equal(migrate_header_decode(raw, &h, &err), -EPROTO);
	raw[40] = 0;
	raw[0] = 'X';
	assert_int_equal(migrate_header_decode(raw, &h, &err), -EPROTO);
}

static void test_layout_check(void **state)
{
	struct migrate_header h = want;
	struct vmm_error err;

	(void)state;
	assert_int_equal(migrate_header_check(&h, &want, &err), 0);
	h.ram_size = 64ull << 20;
	assert_int_equal(migrate_header_check(&h, &want, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "ram_size 64 MiB in the stream, 32 MiB here"));
	h = want;
	h.vcpus = 2;
	assert_int_equal(migrate_header_check(&h, &want, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "vcpus"));
	h = want;
	h.ram_base = 0x40000000;
	assert_int_equal(migrate_header_check(&h, &want, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "ram_base"));
	h = want;
	h.page_size = 65536;
	assert_int_equal(migrate_header_check(&h, &want, &err), -EINVAL);
	assert_non_null(strstr(err.detail, "page_size"));
}

static int decode(uint32_t type, uint32_t count, uint64_t arg, bool state_seen)
{
	struct migrate_frame f = { type, count, arg }, g;
	uint8_t raw[MIGRATE_FRAME_LEN];
	struct vmm_error err;

	migrate_frame_encode(&f, raw);
	return migrate_frame_decode(raw, PAGES, state_seen, &g, &err);
}

static void test_frame_rules(void **state)
{
	(void)state;
	assert_int_equal(decode(MIGRATE_FRAME_PAGES, 1, 0, false), 0);
	assert_int_equal(decode(MIGRATE_FRAME_PAGES, MIGRATE_MAX_RUN, PAGES - MIGRATE_MAX_RUN,
				false), 0);
	assert_int_equal(decode(MIGRATE_FRAME_PAGES, 0, 0, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_PAGES, MIGRATE_MAX_RUN + 1, 0, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_PAGES, 2, PAGES - 1, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_PAGES, 1, UINT64_MAX, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_ZERO, (uint32_t)PAGES, 0, false), 0);
	assert_int_equal(decode(MIGRATE_FRAME_ZERO, (uint32_t)PAGES, 1, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_ZERO, 1, 0, true), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_ROUND, 0, 3, false), 0);
	assert_int_equal(decode(MIGRATE_FRAME_ROUND, 1, 3, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_STATE, 100, 0, false), 0);
	assert_int_equal(decode(MIGRATE_FRAME_STATE, 100, 0, true), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_STATE, MIGRATE_MAX_STATE + 1, 0, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_END, 0, 2, false), -EPROTO);
	assert_int_equal(decode(MIGRATE_FRAME_END, 0, 2, true), 0);
	assert_int_equal(decode(42, 0, 0, false), -EPROTO);
}

static void fill(uint8_t *p, uint8_t v)
{
	memset(p, v, MIGRATE_PAGE);
}

static void test_stream_roundtrip(void **state)
{
	uint8_t *ram = calloc(1, RAM), page[MIGRATE_PAGE];
	struct buf b = { 0 };
	struct migrate_reader r = { buf_read, &b };
	struct migrate_recv_stats stats;
	struct vmm_error err;
	struct vm_state st;

	(void)state;
	assert_non_null(ram);
	header(&b, &want);
	/* Round 1: page 3 and 4 with data, 7 too, the rest zero. */
	frame(&b, MIGRATE_FRAME_ZERO, 3, 0);
	frame(&b, MIGRATE_FRAME_PAGES, 2, 3);
	fill(page, 0x33);
	put(&b, page, sizeof(page));
	fill(page, 0x44);
	put(&b, page, sizeof(page));
	frame(&b, MIGRATE_FRAME_PAGES, 1, 7);
	fill(page, 0x77);
	put(&b, page, sizeof(page));
	frame(&b, MIGRATE_FRAME_ROUND, 0, 1);
	/* Round 2: page 4 written again, page 7 became zero. */
	frame(&b, MIGRATE_FRAME_PAGES, 1, 4);
	fill(page, 0x45);
	put(&b, page, sizeof(page));
	frame(&b, MIGRATE_FRAME_ZERO, 1, 7);
	frame(&b, MIGRATE_FRAME_ROUND, 0, 2);
	frame(&b, MIGRATE_FRAME_STATE, (uint32_t)strlen(state_json), 0);
	put(&b, state_json, strlen(state_json));
	frame(&b, MIGRATE_FRAME_END, 0, 2);

	assert_int_equal(migrate_recv(&r, &want, ram, &st, &stats, &err), 0);
	assert_int_equal(stats.bytes, b.len);
	assert_int_equal(stats.data_pages, 4);
	assert_int_equal(stats.zero_pages, 4);
	assert_int_equal(stats.rounds, 2);
	assert_int_equal(ram[3 * MIGRATE_PAGE + 100], 0x33);
	assert_int_equal(ram[4 * MIGRATE_PAGE + 4095], 0x45);
	assert_int_equal(ram[7 * MIGRATE_PAGE + 1], 0);
	assert_int_equal(st.vcpus, 1);
	assert_int_equal(st.cntvct, 0x1234);
	assert_int_equal(st.uart.tx_bytes, 7);
	vm_state_free(&st);

	/* Every cut of that stream is refused, with nothing allocated. */
	for (size_t cut = 0; cut < b.len; cut += cut < 200 ? 1 : 997) {
		struct buf c = { b.p, cut, 0 };
		struct migrate_reader rc = { buf_read, &c };

		assert_int_not_equal(migrate_recv(&rc, &want, ram, &st, &stats, &err), 0);
		assert_string_equal(err.step, cut < MIGRATE_HEADER_LEN ? "incoming" : err.step);
	}
	/* A state that does not describe the announced layout. */
	{
		struct migrate_header two = want;
		struct buf c = { b.p, b.len, 0 };
		struct migrate_reader rc = { buf_read, &c };

		two.vcpus = 2;
		migrate_header_encode(&two, b.p);
		assert_int_equal(migrate_recv(&rc, &two, ram, &st, &stats, &err), -EINVAL);
		assert_non_null(strstr(err.detail, "state: 1 vCPUs"));
	}
	free(b.p);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_layout_check),
		cmocka_unit_test(test_frame_rules),
		cmocka_unit_test(test_stream_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
