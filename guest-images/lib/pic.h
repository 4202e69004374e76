/* The 8259A PIC pair (master 0x20/0x21, slave 0xa0/0xa1) as on every PC. */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

#include <stdint.h>

#define PIC_MASTER_VECTOR 0x20 /* IRQ0..7 -> 0x20..0x27, above the exception vectors */
#define PIC_SLAVE_VECTOR 0x28  /* IRQ8..15 -> 0x28..0x2f */
#define IRQ_VECTOR(irq) (PIC_MASTER_VECTOR + (irq))
#define IRQ_PIT 0
#define IRQ_CASCADE 2
#define IRQ_SPURIOUS_MASTER 7 /* what a PIC raises for a request withdrawn before INTA */
#define IRQ_SPURIOUS_SLAVE 15

/* Initialises both PICs with the vectors above and every IRQ masked. */
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_mask_all(void);
void pic_eoi(unsigned irq);

/* Interrupt request register: IRQs raised and not yet acknowledged. */
uint16_t pic_irr(void);

#endif
