/* Register map and reset values from the PL061 Technical Reference Manual
 * (ARM DDI 0190B). */
#include "pl061.h"

#include <string.h>

#define REG_DATA_END 0x400u /* 0x000-0x3fc: DATA, address bits [9:2] mask */
#define REG_DIR 0x400u
#define REG_IS 0x404u
#define REG_IBE 0x408u
#define REG_IEV 0x40cu
#define REG_IE 0x410u
#define REG_RIS 0x414u
#define REG_MIS 0x418u
#define REG_IC 0x41cu
#define REG_AFSEL 0x420u
#define REG_ID_BASE 0xfe0u

/* PeriphID0-3 then PCellID0-3: what the AMBA bus probe matches. */
static const uint8_t ids[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

void pl061_reset(struct pl061 *g)
{
	memset(g, 0, sizeof(*g));
}

/* The level a line shows: driven by the guest when an output. */
static uint8_t levels(const struct pl061 *g)
{
	return (uint8_t)((g->data & g->dir) | (g->in & ~g->dir));
}

/* Level-sensitive lines follow their level; edge ones keep what latched. */
static void update_level_irqs(struct pl061 *g)
{
	uint8_t active = (uint8_t)~(levels(g) ^ g->iev); /* level == IEV */

	g->ris = (uint8_t)((g->ris & ~g->is) | (active & g->is));
}

uint32_t pl061_read(struct pl061 *g, uint32_t offset)
{
	if (offset < REG_DATA_END)
		return levels(g) & ((offset >> 2) & 0xffu);
	switch (offset) {
	case REG_DIR:
		return g->dir;
	case REG_IS:
		return g->is;
	case REG_IBE:
		return g->ibe;
	case REG_IEV:
		return g->iev;
	case REG_IE:
		return g->ie;
	case REG_RIS:
		return g->ris;
	case REG_MIS:
		return g->ris & g->ie;
	case REG_AFSEL:
		return g->afsel;
	}
	if (offset >= REG_ID_BASE && offset < PL061_REGS && !(offset & 3u))
		return ids[(offset - REG_ID_BASE) >> 2];
	return 0;
}

void pl061_write(struct pl061 *g, uint32_t offset, uint32_t value)
{
	uint8_t v = (uint8_t)value;

	if (offset < REG_DATA_END) {
		uint8_t mask = (uint8_t)(offset >> 2);

		g->data = (uint8_t)((g->data & ~mask) | (v & mask));
	} else {
		switch (offset) {
		case REG_DIR:
			g->dir = v;
			break;
		case REG_IS:
			g->is = v;
			break;
		case REG_IBE:
			g->ibe = v;
			break;
		case REG_IEV:
			g->iev = v;
			break;
		case REG_IE:
			g->ie = v;
			break;
		case REG_IC:
			g->ris &= (uint8_t)~v;
			break;
		case REG_AFSEL:
			g->afsel = v;
			break;
		default:
			return; /* read-only or reserved */
		}
	}
	update_level_irqs(g);
}

void pl061_set_input(struct pl061 *g, unsigned line, bool level)
{
	uint8_t bit = (uint8_t)(1u << line), before = levels(g), changed;

	if (line >= PL061_LINES)
		return;
	g->in = level ? (uint8_t)(g->in | bit) : (uint8_t)(g->in & ~bit);
	changed = (uint8_t)((before ^ levels(g)) & ~g->is);
	/* Both edges, or the one IEV names (rising: now high). */
	g->ris |= (uint8_t)(changed & (g->ibe | ~(levels(g) ^ g->iev)));
	update_level_irqs(g);
}

bool pl061_irq(const struct pl061 *g)
{
	return (g->ris & g->ie) != 0;
}
