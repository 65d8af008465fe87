/*
 * The MMIO bus: guest-physical address ranges mapped to device callbacks.
 * A vCPU thread hands every KVM_EXIT_MMIO to mmio_bus_access(), which finds
 * the device by address; a device (the UART now, virtio-mmio later) only
 * registers its range and ops.
 *
 * Threading: register every range before any vCPU runs. Lookups then read
 * the table without a lock, from any number of vCPU threads at once; each
 * device serialises its own state.
 */
#ifndef PINVM_VMM_MMIO_BUS_H
#define PINVM_VMM_MMIO_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mmio_ops {
	/* offset is from the range's base; len is 1, 2, 4 or 8; data is the
	 * guest's little-endian bytes (read: fill them). */
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const void *data,
		      unsigned len);
};

struct mmio_region {
	uint64_t base;
	uint64_t size;
	const struct mmio_ops *ops; /* borrowed: must outlive the bus */
	void *opaque;               /* borrowed */
};

struct mmio_bus {
	struct mmio_region *regions; /* sorted by base, non-overlapping */
	size_t n, cap;
};

void mmio_bus_init(struct mmio_bus *bus);

/* 0, -EINVAL (empty or wrapping range), -EEXIST (overlap) or -ENOMEM. */
int mmio_bus_register(struct mmio_bus *bus, uint64_t base, uint64_t size,
		      const struct mmio_ops *ops, void *opaque);

/*
 * Dispatches one access. Returns false when no device claims addr (or the
 * access crosses the end of its range); a read then returns zeros.
 */
bool mmio_bus_access(const struct mmio_bus *bus, uint64_t addr, void *data,
		     unsigned len, bool is_write);

void mmio_bus_free(struct mmio_bus *bus);

#endif
