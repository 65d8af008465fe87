/* Guest physical layout shared by the probe guest and its VMM side. */
#ifndef PINVM_VMM_PROBE_LAYOUT_H
#define PINVM_VMM_PROBE_LAYOUT_H

#define PROBE_RAM_BASE 0x80000000
#define PROBE_RAM_SIZE 0x200000
#define PROBE_TABLE_OFFSET 0x1000
#define PROBE_PVTIME_OFFSET 0x100000 /* 64-byte aligned, inside RAM */
#define PROBE_REPORT_BASE 0x0a000000 /* MMIO, outside RAM; low 16 bits 0 */
#define PROBE_MAX_CALLS 48

#endif
