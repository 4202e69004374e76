/* 8259A initialisation: ICW1..ICW4, then masks and OCW2/OCW3. */
#include "pic.h"
#include "io.h"

#define PIC_MASTER_CMD 0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_CMD 0xa0
#define PIC_SLAVE_DATA 0xa1

#define ICW1_INIT_WITH_ICW4 0x11
#define ICW3_MASTER_HAS_SLAVE_ON_IRQ2 (1u << IRQ_CASCADE)
#define ICW3_SLAVE_ID 2
#define ICW4_8086 0x01
#define OCW2_NONSPECIFIC_EOI 0x20
#define OCW3_READ_IRR 0x0a

void pic_init(void)
{
	outb(PIC_MASTER_CMD, ICW1_INIT_WITH_ICW4);
	outb(PIC_SLAVE_CMD, ICW1_INIT_WITH_ICW4);
	outb(PIC_MASTER_DATA, PIC_MASTER_VECTOR);
	outb(PIC_SLAVE_DATA, PIC_SLAVE_VECTOR);
	outb(PIC_MASTER_DATA, ICW3_MASTER_HAS_SLAVE_ON_IRQ2);
	outb(PIC_SLAVE_DATA, ICW3_SLAVE_ID);
	outb(PIC_MASTER_DATA, ICW4_8086);
	outb(PIC_SLAVE_DATA, ICW4_8086);
	pic_mask_all();
}

void pic_mask_all(void)
{
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
}

void pic_unmask(unsigned irq)
{
	uint16_t port = irq < 8 ? PIC_MASTER_DATA : PIC_SLAVE_DATA;

	outb(port, inb(port) & ~(1u << (irq & 7)));
	if (irq >= 8)
		pic_unmask(IRQ_CASCADE);
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC_SLAVE_CMD, OCW2_NONSPECIFIC_EOI);
	outb(PIC_MASTER_CMD, OCW2_NONSPECIFIC_EOI);
}

uint16_t pic_irr(void)
{
	outb(PIC_MASTER_CMD, OCW3_READ_IRR);
	outb(PIC_SLAVE_CMD, OCW3_READ_IRR);
	return (uint16_t)(inb(PIC_SLAVE_CMD) << 8 | inb(PIC_MASTER_CMD));
}
