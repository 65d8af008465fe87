#include "mmio_bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mmio_bus_init(struct mmio_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first region whose end lies above addr. */
static size_t lower_bound(const struct mmio_bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mmio_region *r = &bus->regions[mid];

		if (r->base + (r->size - 1) < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int mmio_bus_register(struct mmio_bus *bus, uint64_t base, uint64_t size,
		      const struct mmio_ops *ops, void *opaque)
{
	size_t i;

	if (!size || base + (size - 1) < base || !ops)
		return -EINVAL;
	i = lower_bound(bus, base);
	if (i < bus->n && bus->regions[i].base <= base + (size - 1))
		return -EEXIST;
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 8;
		struct mmio_region *r = realloc(bus->regions, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->regions = r;
		bus->cap = cap;
	}
	memmove(&bus->regions[i + 1], &bus->regions[i],
		(bus->n - i) * sizeof(bus->regions[0]));
	bus->regions[i] = (struct mmio_region){ .base = base, .size = size,
						.ops = ops, .opaque = opaque };
	bus->n++;
	return 0;
}

bool mmio_bus_access(const struct mmio_bus *bus, uint64_t addr, void *data,
		     unsigned len, bool is_write)
{
	size_t i = lower_bound(bus, addr);
	const struct mmio_region *r;
	uint64_t off;

	if (i == bus->n || bus->regions[i].base > addr || !len)
		goto unclaimed;
	r = &bus->regions[i];
	off = addr - r->base;
	if (len > r->size - off)
		goto unclaimed;
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, off, data, len);
	} else if (r->ops->read) {
		r->ops->read(r->opaque, off, data, len);
	} else {
		memset(data, 0, len);
	}
	return true;

unclaimed:
	if (!is_write)
		memset(data, 0, len);
	return false;
}

void mmio_bus_free(struct mmio_bus *bus)
{
	free(bus->regions);
	mmio_bus_init(bus);
}
