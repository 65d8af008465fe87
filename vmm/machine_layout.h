/*
 * Guest physical memory map of the pinvm microVM (arm64). Every address
 * the engine hands to KVM or writes into the device tree comes from here.
 *
 *   0x0100_0000  16550 UART (console), 4 KiB, SPI 0
 *   0x0200_0000  PL061 GPIO, 4 KiB, SPI 1: line 3 is the power button
 *                (gpio-keys KEY_POWER, as on QEMU's virt machine)
 *   0x0a00_0000  virtio-mmio window: 32 slots of 512 bytes, SPIs 16..47
 *                (reserved for virtio blk/net/vsock; nothing there yet)
 *   ...          GICv3 redistributors (128 KiB per vCPU), just below
 *   0x3fff_0000  GIC distributor, 64 KiB (GICv2: CPU interface below it)
 *   0x8000_0000  RAM, up to the IPA size KVM offers
 *
 * RAM at 2 GiB and the GIC just under 1 GiB follow kvmtool's arm map.
 */
#ifndef PINVM_VMM_MACHINE_LAYOUT_H
#define PINVM_VMM_MACHINE_LAYOUT_H

#define MACHINE_UART_BASE 0x01000000ULL
#define MACHINE_UART_SIZE 0x1000ULL
#define MACHINE_UART_SPI 0u

#define MACHINE_GPIO_BASE 0x02000000ULL
#define MACHINE_GPIO_SIZE 0x1000ULL
#define MACHINE_GPIO_SPI 1u
#define MACHINE_GPIO_POWER_LINE 3u

#define MACHINE_VIRTIO_MMIO_BASE 0x0a000000ULL
#define MACHINE_VIRTIO_MMIO_SLOT_SIZE 0x200ULL
#define MACHINE_VIRTIO_MMIO_SLOTS 32u
#define MACHINE_VIRTIO_SPI_BASE 16u

#define MACHINE_GIC_DIST_BASE 0x3fff0000ULL
#define MACHINE_GIC_DIST_SIZE 0x10000ULL
#define MACHINE_GIC_REDIST_SIZE 0x20000ULL /* per vCPU (GICv3) */
#define MACHINE_GIC_CPUIF_SIZE 0x20000ULL  /* GICv2 */
#define MACHINE_GICV2_MAX_VCPUS 8u         /* the GICv2 architecture's */
/* 32 private interrupts + 96 SPIs; a multiple of 32 as KVM requires. */
#define MACHINE_GIC_NR_IRQS 128u

#define MACHINE_RAM_BASE 0x80000000ULL

/* The redistributors of this many vCPUs still end above the virtio window. */
#define MACHINE_MAX_VCPUS 512u

#endif
