#include "gpio_pl061.h"

#include "fdt_build.h"
#include "gic.h"
#include "machine_layout.h"
#include "pl061.h"
#include "vm_internal.h"

#include <errno.h>
#include <libfdt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APB_PCLK_HZ 24000000u
#define KEY_POWER 116u        /* linux/input-event-codes.h */
#define GPIO_ACTIVE_HIGH 0u

struct gpio_pl061 {
	struct vm_device dev;
	struct vm *vm;
	uint64_t base;
	unsigned spi;
	pthread_mutex_t lock; /* guards model and irq_level */
	struct pl061 model;
	bool irq_level;       /* what the GIC was last told */
	atomic_bool irq_error_logged;
};

/* Under g->lock: the GIC follows the model's interrupt output. */
static void sync_irq(struct gpio_pl061 *g)
{
	bool level = pl061_irq(&g->model);
	int ret;

	if (level == g->irq_level)
		return;
	g->irq_level = level;
	ret = gic_set_spi(g->vm, g->spi, level);
	if (ret < 0 && !atomic_exchange(&g->irq_error_logged, true))
		fprintf(stderr, "pinvm-vmm: gpio: KVM_IRQ_LINE: %s\n", strerror(-ret));
}

static void mmio_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct gpio_pl061 *g = opaque;
	uint32_t v;

	pthread_mutex_lock(&g->lock);
	v = pl061_read(&g->model, (uint32_t)offset);
	pthread_mutex_unlock(&g->lock);
	memset(data, 0, len);
	memcpy(data, &v, len < sizeof(v) ? len : sizeof(v)); /* little-endian host */
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct gpio_pl061 *g = opaque;
	uint32_t v = 0;

	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	pthread_mutex_lock(&g->lock);
	pl061_write(&g->model, (uint32_t)offset, v);
	sync_irq(g);
	pthread_mutex_unlock(&g->lock);
}

static const struct mmio_ops gpio_ops = { .read = mmio_read, .write = mmio_write };

#define FDT_TRY(expr)                      \
	do {                               \
		int fdt_try_ret_ = (expr); \
		if (fdt_try_ret_ < 0)      \
			return fdt_try_ret_; \
	} while (0)

/* The AMBA bus enables a PrimeCell's "apb_pclk" before it reads its IDs. */
static int clock_node(void *fdt)
{
	FDT_TRY(fdt_begin_node(fdt, "apb-pclk"));
	FDT_TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
	FDT_TRY(fdt_property_cell(fdt, "#clock-cells", 0));
	FDT_TRY(fdt_property_cell(fdt, "clock-frequency", APB_PCLK_HZ));
	FDT_TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	FDT_TRY(fdt_property_cell(fdt, "phandle", FDT_PHANDLE_APB_PCLK));
	return fdt_end_node(fdt);
}

static int gpio_fdt_node(struct vm_device *dev, struct fdt_ctx *ctx)
{
	static const char compat[] = "arm,pl061\0arm,primecell";
	struct gpio_pl061 *g = (struct gpio_pl061 *)dev;
	uint64_t reg[2] = { cpu_to_fdt64(g->base), cpu_to_fdt64(PL061_REGS) };
	uint32_t gpios[3] = { cpu_to_fdt32(FDT_PHANDLE_GPIO),
			      cpu_to_fdt32(MACHINE_GPIO_POWER_LINE),
			      cpu_to_fdt32(GPIO_ACTIVE_HIGH) };
	void *fdt = ctx->fdt;
	char name[32];

	FDT_TRY(clock_node(fdt));
	snprintf(name, sizeof(name), "pl061@%llx", (unsigned long long)g->base);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDT_TRY(fdt_ctx_irq_spi(ctx, g->spi, FDT_IRQ_TYPE_LEVEL_HIGH));
	FDT_TRY(fdt_property_cell(fdt, "clocks", FDT_PHANDLE_APB_PCLK));
	FDT_TRY(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	FDT_TRY(fdt_property(fdt, "gpio-controller", NULL, 0));
	FDT_TRY(fdt_property_cell(fdt, "#gpio-cells", 2));
	FDT_TRY(fdt_property_cell(fdt, "phandle", FDT_PHANDLE_GPIO));
	FDT_TRY(fdt_end_node(fdt));

	FDT_TRY(fdt_begin_node(fdt, "gpio-keys"));
	FDT_TRY(fdt_property_string(fdt, "compatible", "gpio-keys"));
	FDT_TRY(fdt_begin_node(fdt, "poweroff"));
	FDT_TRY(fdt_property_string(fdt, "label", "GPIO Key Poweroff"));
	FDT_TRY(fdt_property_cell(fdt, "linux,code", KEY_POWER));
	FDT_TRY(fdt_property(fdt, "gpios", gpios, sizeof(gpios)));
	FDT_TRY(fdt_end_node(fdt));
	return fdt_end_node(fdt);
}

static void gpio_reset(struct vm_device *dev)
{
	struct gpio_pl061 *g = (struct gpio_pl061 *)dev;

	pthread_mutex_lock(&g->lock);
	pl061_reset(&g->model);
	sync_irq(g);
	pthread_mutex_unlock(&g->lock);
}

static void gpio_destroy(struct vm_device *dev)
{
	struct gpio_pl061 *g = (struct gpio_pl061 *)dev;

	pthread_mutex_destroy(&g->lock);
	free(g);
}

int gpio_pl061_create(struct vm *vm, uint64_t base, unsigned spi, struct vmm_error *err)
{
	struct gpio_pl061 *g = calloc(1, sizeof(*g));
	int ret;

	if (!g)
		return vmm_error_set(err, "gpio", ENOMEM, "out of memory");
	g->vm = vm;
	g->base = base;
	g->spi = spi;
	pthread_mutex_init(&g->lock, NULL);
	pl061_reset(&g->model);
	ret = mmio_bus_register(&vm->bus, base, PL061_REGS, &gpio_ops, g);
	if (ret < 0) {
		gpio_destroy(&g->dev);
		return vmm_error_set(err, "gpio", -ret, "MMIO range at 0x%llx: %s",
				     (unsigned long long)base, strerror(-ret));
	}
	g->dev.name = "gpio";
	g->dev.fdt_node = gpio_fdt_node;
	g->dev.destroy = gpio_destroy;
	g->dev.reset = gpio_reset;
	vm_add_device(vm, &g->dev);
	vm->gpio = g;
	return 0;
}

void gpio_pl061_press_power(struct gpio_pl061 *g)
{
	pthread_mutex_lock(&g->lock);
	if (g->model.in & (1u << MACHINE_GPIO_POWER_LINE))
		pl061_set_input(&g->model, MACHINE_GPIO_POWER_LINE, false);
	pl061_set_input(&g->model, MACHINE_GPIO_POWER_LINE, true);
	sync_irq(g);
	pthread_mutex_unlock(&g->lock);
}
