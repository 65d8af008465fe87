/*
 * The power button: a PL061 GPIO controller (pl061.h) on the MMIO bus,
 * its interrupt on a GIC SPI, and in the device tree a gpio-keys node
 * whose KEY_POWER is line MACHINE_GPIO_POWER_LINE, the way QEMU's virt
 * machine asks a guest to power off. A guest with the gpio-keys driver
 * sees a KEY_POWER press (systemd-logind or acpid then power off); one
 * without it can read the line through gpiolib.
 */
#ifndef PINVM_VMM_GPIO_PL061_H
#define PINVM_VMM_GPIO_PL061_H

#include "vmm_error.h"

#include <stdint.h>

struct gpio_pl061;
struct vm;

/* Registers the device with vm (which then owns it) and sets vm->gpio.
 * Before the device tree is built and before any vCPU runs. */
int gpio_pl061_create(struct vm *vm, uint64_t base, unsigned spi,
		      struct vmm_error *err);

/* Presses the button: the line goes high (an edge for the guest). A
 * second press first lets it go, so every press is a new edge. Any
 * thread. */
void gpio_pl061_press_power(struct gpio_pl061 *g);

#endif
