#include "migrate_stream.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * Header: magic[8] version:u32 page_size:u32 ram_base:u64 ram_size:u64
 * vcpus:u32, then 12 reserved bytes that must be zero (room for later
 * fields without a new version when an old reader may ignore them).
 */
void migrate_header_encode(const struct migrate_header *h,
			   uint8_t out[MIGRATE_HEADER_LEN])
{
	memset(out, 0, MIGRATE_HEADER_LEN);
	memcpy(out, MIGRATE_MAGIC, 8);
	put32(out + 8, h->version);
	put32(out + 12, h->page_size);
	put64(out + 16, h->ram_base);
	put64(out + 24, h->ram_size);
	put32(out + 32, h->vcpus);
}

int migrate_header_decode(const uint8_t in[MIGRATE_HEADER_LEN],
			  struct migrate_header *h, struct vmm_error *err)
{
	memset(h, 0, sizeof(*h));
	if (memcmp(in, MIGRATE_MAGIC, 8))
		return vmm_error_set(err, "stream", EPROTO,
				     "not a pinvm migration stream (magic)");
	h->version = get32(in + 8);
	if (h->version != MIGRATE_VERSION)
		return vmm_error_set(err, "stream", EPROTONOSUPPORT,
				     "version: stream format %" PRIu32 ", this pinvm-vmm "
				     "reads %u", h->version, MIGRATE_VERSION);
	h->page_size = get32(in + 12);
	h->ram_base = get64(in + 16);
	h->ram_size = get64(in + 24);
	h->vcpus = get32(in + 32);
	for (unsigned i = 36; i < MIGRATE_HEADER_LEN; i++)
		if (in[i])
			return vmm_error_set(err, "stream", EPROTO,
					     "header byte %u: reserved, must be 0", i);
	return 0;
}

int migrate_header_check(const struct migrate_header *got,
			 const struct migrate_header *want, struct vmm_error *err)
{
	if (got->page_size != want->page_size)
		return vmm_error_set(err, "incoming", EINVAL,
				     "layout: page_size %" PRIu32 " in the stream, %" PRIu32
				     " here", got->page_size, want->page_size);
	if (got->ram_base != want->ram_base)
		return vmm_error_set(err, "incoming", EINVAL,
				     "layout: ram_base 0x%" PRIx64 " in the stream, 0x%" PRIx64
				     " here", got->ram_base, want->ram_base);
	if (got->ram_size != want->ram_size)
		return vmm_error_set(err, "incoming", EINVAL,
				     "layout: ram_size %" PRIu64 " MiB in the stream, %" PRIu64
				     " MiB here", got->ram_size >> 20, want->ram_size >> 20);
	if (got->vcpus != want->vcpus)
		return vmm_error_set(err, "incoming", EINVAL,
				     "layout: vcpus %" PRIu32 " in the stream, %" PRIu32 " here",
				     got->vcpus, want->vcpus);
	return 0;
}

void migrate_frame_encode(const struct migrate_frame *f, uint8_t out[MIGRATE_FRAME_LEN])
{
	put32(out, f->type);
	put32(out + 4, f->count);
	put64(out + 8, f->arg);
}

int migrate_frame_decode(const uint8_t in[MIGRATE_FRAME_LEN], uint64_t ram_pages,
			 bool state_seen, struct migrate_frame *f,
			 struct vmm_error *err)
{
	f->type = get32(in);
	f->count = get32(in + 4);
	f->arg = get64(in + 8);
	switch (f->type) {
	case MIGRATE_FRAME_PAGES:
	case MIGRATE_FRAME_ZERO:
		if (state_seen)
			return vmm_error_set(err, "stream", EPROTO,
					     "frame %" PRIu32 ": pages after the state",
					     f->type);
		if (!f->count || (f->type == MIGRATE_FRAME_PAGES &&
				  f->count > MIGRATE_MAX_RUN))
			return vmm_error_set(err, "stream", EPROTO,
					     "frame %" PRIu32 ": count %" PRIu32
					     " (1..%u)", f->type, f->count,
					     f->type == MIGRATE_FRAME_PAGES ? MIGRATE_MAX_RUN
									 : UINT32_MAX);
		/* No overflow: count < 2^32 and arg is checked first. */
		if (f->arg >= ram_pages || f->count > ram_pages - f->arg)
			return vmm_error_set(err, "stream", EPROTO,
					     "frame %" PRIu32 ": pages %" PRIu64 "+%" PRIu32
					     " outside the %" PRIu64 " pages of RAM", f->type,
					     f->arg, f->count, ram_pages);
		return 0;
	case MIGRATE_FRAME_ROUND:
		if (state_seen || f->count)
			return vmm_error_set(err, "stream", EPROTO,
					     "round mark: %s", state_seen ? "after the state"
									  : "count must be 0");
		return 0;
	case MIGRATE_FRAME_STATE:
		if (state_seen)
			return vmm_error_set(err, "stream", EPROTO, "a second state frame");
		if (!f->count || f->count > MIGRATE_MAX_STATE || f->arg)
			return vmm_error_set(err, "stream", EPROTO,
					     "state frame: %" PRIu32 " bytes (1..%u), arg 0",
					     f->count, MIGRATE_MAX_STATE);
		return 0;
	case MIGRATE_FRAME_END:
		if (!state_seen || f->count)
			return vmm_error_set(err, "stream", EPROTO,
					     "end mark: %s", !state_seen ? "before the state"
									 : "count must be 0");
		return 0;
	default:
		return vmm_error_set(err, "stream", EPROTO, "unknown frame type %" PRIu32,
				     f->type);
	}
}

uint64_t migrate_frame_payload(const struct migrate_frame *f)
{
	if (f->type == MIGRATE_FRAME_PAGES)
		return (uint64_t)f->count * MIGRATE_PAGE;
	if (f->type == MIGRATE_FRAME_STATE)
		return f->count;
	return 0;
}

static int cut(int ret, struct vmm_error *err, const char *what)
{
	if (ret == -EPIPE)
		return vmm_error_set(err, "incoming", EPIPE,
				     "the stream ended in the middle (%s)", what);
	return vmm_error_set(err, "incoming", -ret, "reading the stream (%s): %s", what,
			     strerror(-ret));
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < MIGRATE_PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* The state must describe the layout the header announced. */
static int check_state(const struct vm_state *st, const struct migrate_header *want,
		       struct vmm_error *err)
{
	if (st->vcpus != want->vcpus || st->memory_mib << 20 != want->ram_size ||
	    st->ram_base != want->ram_base)
		return vmm_error_set(err, "incoming", EINVAL,
				     "state: %u vCPUs, %" PRIu64 " MiB at 0x%" PRIx64
				     "; the stream announced %" PRIu32 ", %" PRIu64
				     " MiB at 0x%" PRIx64, st->vcpus, st->memory_mib,
				     st->ram_base, want->vcpus, want->ram_size >> 20,
				     want->ram_base);
	return 0;
}

static int read_state(const struct migrate_reader *r, uint32_t len,
		      const struct migrate_header *want, struct vm_state *st,
		      struct vmm_error *err)
{
	char *buf = malloc(len);
	json_error_t jerr;
	json_t *obj;
	int ret;

	if (!buf)
		return vmm_error_set(err, "incoming", ENOMEM, "out of memory");
	ret = r->read(r->ctx, buf, len);
	if (ret < 0) {
		free(buf);
		return cut(ret, err, "state");
	}
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!obj)
		return vmm_error_set(err, "incoming", EPROTO, "state: %s at byte %d",
				     jerr.text, jerr.position);
	ret = vm_state_from_json(obj, st, err);
	json_decref(obj);
	if (ret < 0)
		return ret;
	if ((ret = check_state(st, want, err)) < 0)
		vm_state_free(st);
	return ret;
}

int migrate_recv(const struct migrate_reader *r, const struct migrate_header *want,
		 uint8_t *ram, struct vm_state *st, struct migrate_recv_stats *stats,
		 struct vmm_error *err)
{
	uint8_t buf[MIGRATE_HEADER_LEN];
	uint64_t ram_pages = want->ram_size / MIGRATE_PAGE;
	struct migrate_header h;
	bool state_seen = false;
	int ret;

	memset(stats, 0, sizeof(*stats));
	memset(st, 0, sizeof(*st));
	if ((ret = r->read(r->ctx, buf, MIGRATE_HEADER_LEN)) < 0)
		return cut(ret, err, "header");
	stats->bytes += MIGRATE_HEADER_LEN;
	if ((ret = migrate_header_decode(buf, &h, err)) < 0 ||
	    (ret = migrate_header_check(&h, want, err)) < 0)
		return ret;
	for (;;) {
		struct migrate_frame f;

		if ((ret = r->read(r->ctx, buf, MIGRATE_FRAME_LEN)) < 0)
			goto fail_cut;
		stats->bytes += MIGRATE_FRAME_LEN;
		if ((ret = migrate_frame_decode(buf, ram_pages, state_seen, &f, err)) < 0)
			goto fail;
		switch (f.type) {
		case MIGRATE_FRAME_PAGES:
			ret = r->read(r->ctx, ram + f.arg * MIGRATE_PAGE,
				      (size_t)f.count * MIGRATE_PAGE);
			if (ret < 0)
				goto fail_cut;
			stats->data_pages += f.count;
			break;
		case MIGRATE_FRAME_ZERO:
			/* Reading an untouched page maps the shared zero page;
			 * only pages that got data earlier are written. */
			for (uint64_t p = f.arg; p < f.arg + f.count; p++)
				if (!page_is_zero(ram + p * MIGRATE_PAGE))
					memset(ram + p * MIGRATE_PAGE, 0, MIGRATE_PAGE);
			stats->zero_pages += f.count;
			break;
		case MIGRATE_FRAME_ROUND:
			stats->rounds = f.arg;
			break;
		case MIGRATE_FRAME_STATE:
			if ((ret = read_state(r, f.count, want, st, err)) < 0)
				return ret; /* nothing allocated */
			state_seen = true;
			break;
		case MIGRATE_FRAME_END:
			stats->rounds = f.arg;
			return 0;
		}
		stats->bytes += migrate_frame_payload(&f);
	}
fail_cut:
	ret = cut(ret, err, state_seen ? "end mark" : "pages");
fail:
	if (state_seen)
		vm_state_free(st);
	return ret;
}
