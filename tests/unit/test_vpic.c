/*
 * Unit tests of kernel/vmm/vpic.c: the 8259A pair through its ports as SeaBIOS, Linux and our test
 * guests (guest-images/lib/pic.c) program it; INTR and the INTA cycle; fully nested priorities,
 * EOI (non-specific, specific), rotation, auto-EOI, poll, special mask, special fully nested mode,
 * cascade through IR2, edge and level (ELCR) sensing, the spurious IR7 rule. Expected values are
 * written out from the 8259A datasheet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vpic.h>

static struct vpic P;
static unsigned intr_calls;
static bool intr_last;

static void intr_cb(void *ctx, bool level)
{
	assert_ptr_equal(ctx, &P);
	assert_true(level != intr_last); /* called on changes only */
	intr_last = level;
	intr_calls++;
}

static int setup(void **state)
{
	(void)state;
	intr_calls = 0;
	intr_last = false;
	vpic_init(&P, intr_cb, &P);
	return 0;
}

static void outb(uint16_t port, uint8_t v)
{
	uint32_t value = v;

	assert_true(vpic_io(&P, port, 1, false, &value));
}

static uint8_t inb(uint16_t port)
{
	uint32_t value = 0xdeadbe00;

	assert_true(vpic_io(&P, port, 1, true, &value));
	assert_int_equal(value >> 8, 0xdeadbe);
	return (uint8_t)value;
}

static void pulse(unsigned irq)
{
	vpic_set_irq(&P, irq, true);
	vpic_set_irq(&P, irq, false);
}

static uint8_t read_irr(uint16_t cmd)
{
	outb(cmd, 0x0a);
	return inb(cmd);
}

static uint8_t read_isr(uint16_t cmd)
{
	outb(cmd, 0x0b);
	uint8_t v = inb(cmd);
	outb(cmd, 0x0a);
	return v;
}

/* guest-images/lib/pic.c pic_init(): vectors 0x20/0x28, everything masked */
static void guest_pic_init(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0x20);
	outb(0xa1, 0x28);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static void guest_pic_unmask(unsigned irq)
{
	uint16_t port = irq < 8 ? 0x21 : 0xa1;

	outb(port, inb(port) & (uint8_t) ~(1u << (irq & 7)));
	if (irq >= 8)
		guest_pic_unmask(2);
}

/* Linux init_8259A(0): vectors 0x30/0x38, then the cached masks */
static void linux_init(uint8_t master_mask, uint8_t slave_mask)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	outb(0x20, 0x11);
	outb(0x21, 0x30);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0xa0, 0x11);
	outb(0xa1, 0x38);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
	outb(0x21, master_mask);
	outb(0xa1, slave_mask);
}

/* ---- reset, initialisation ------------------------------------------------------------------------ */

static void test_reset_state(void **state)
{
	(void)state;
	assert_int_equal(inb(0x21), 0xfb);
	assert_int_equal(inb(0xa1), 0xff);
	assert_int_equal(inb(0x20), 0x00);
	assert_int_equal(inb(0xa0), 0x00);
	assert_int_equal(inb(0x4d0), 0x00);
	assert_int_equal(inb(0x4d1), 0x00);
	assert_false(vpic_intr(&P));
	/* BIOS vectors: IRQ0 -> 0x08, IRQ8 -> 0x70 */
	outb(0x21, 0xfa);
	pulse(0);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x08);
	outb(0x20, 0x20);
	outb(0xa1, 0xfe);
	pulse(8);
	assert_int_equal(vpic_ack(&P), 0x70);
}

static void test_test_guest_sequence(void **state)
{
	(void)state;
	guest_pic_init();
	assert_int_equal(inb(0x21), 0xff);
	assert_int_equal(inb(0xa1), 0xff);
	/* the PIT raises IRQ0 while it is masked: held in the IRR, no INTR */
	pulse(0);
	assert_false(vpic_intr(&P));
	assert_int_equal(read_irr(0x20), 0x01);
	guest_pic_unmask(0);
	assert_int_equal(inb(0x21), 0xfe);
	assert_true(vpic_intr(&P));
	assert_int_equal(intr_calls, 1);
	/* pic_irr(): OCW3 read IRR on both, slave in the high byte */
	assert_int_equal(read_irr(0xa0) << 8 | read_irr(0x20), 0x0001);
	assert_int_equal(vpic_ack(&P), 0x20);
	assert_false(vpic_intr(&P));
	assert_int_equal(read_irr(0x20), 0x00);
	assert_int_equal(read_isr(0x20), 0x01);
	pulse(0); /* next tick while in service: pending, blocked */
	assert_false(vpic_intr(&P));
	outb(0x20, 0x20); /* pic_eoi(0) */
	assert_int_equal(read_isr(0x20), 0x00);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x20);
	outb(0x20, 0x20);
	assert_false(vpic_intr(&P));
	assert_int_equal(intr_calls, 4);
	/* pic_mask_all() */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	pulse(0);
	assert_false(vpic_intr(&P));
}

static void test_seabios_sequence(void **state)
{
	(void)state;
	/* SeaBIOS pic_setup(): ICW1 0x11, vectors 0x08/0x70, cascade, 8086 mode, masks */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0x08);
	outb(0xa1, 0x70);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xfb);
	outb(0xa1, 0xff);
	outb(0x21, inb(0x21) & ~0x01); /* timer */
	pulse(0);
	assert_int_equal(vpic_ack(&P), 0x08);
	outb(0x20, 0x20);
	outb(0xa1, inb(0xa1) & ~0x40); /* IRQ14 (ATA) */
	vpic_set_irq(&P, 14, true);
	assert_int_equal(vpic_ack(&P), 0x76);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_int_equal(read_isr(0x20), 0);
	assert_int_equal(read_isr(0xa0), 0);
}

static void test_linux_sequence(void **state)
{
	(void)state;
	/* probe_8259A(): the IMR must read back */
	outb(0xa1, 0xff);
	outb(0x21, 0xfb);
	assert_int_equal(inb(0x21), 0xfb);
	linux_init(0xfa, 0xfe); /* IRQ0, cascade, IRQ8 enabled */
	assert_int_equal(inb(0x21), 0xfa);
	assert_int_equal(inb(0xa1), 0xfe);
	/* timer */
	pulse(0);
	assert_int_equal(vpic_ack(&P), 0x30);
	/* mask_and_ack_8259A(0): i8259A_irq_real() is not needed for a real ISR bit */
	outb(0x21, 0xfb);
	outb(0x20, 0x60); /* specific EOI for IR0 */
	outb(0x21, 0xfa);
	assert_int_equal(read_isr(0x20), 0);
	/* RTC on IRQ8 through the slave */
	pulse(8);
	assert_true(vpic_intr(&P));
	assert_int_equal(read_irr(0x20), 0x04);
	assert_int_equal(vpic_ack(&P), 0x38);
	assert_int_equal(read_isr(0x20), 0x04);
	assert_int_equal(read_isr(0xa0), 0x01);
	assert_false(vpic_intr(&P));
	/* mask_and_ack_8259A(8): slave specific EOI, then the master's cascade */
	outb(0xa1, 0xff);
	outb(0xa0, 0x60);
	outb(0x20, 0x62);
	outb(0xa1, 0xfe);
	assert_int_equal(read_isr(0x20), 0);
	assert_int_equal(read_isr(0xa0), 0);
	assert_false(vpic_intr(&P));
}

static void test_single_mode_and_no_icw4(void **state)
{
	(void)state;
	/* ICW1 with SNGL and IC4: no ICW3 */
	outb(0x20, 0x13);
	outb(0x21, 0x40);
	outb(0x21, 0x01); /* ICW4 */
	outb(0x21, 0xfe); /* OCW1 */
	assert_int_equal(inb(0x21), 0xfe);
	pulse(0);
	assert_int_equal(vpic_ack(&P), 0x40);
	/* ICW1 without IC4: ICW2, ICW3 and done; the next data write is OCW1 */
	outb(0x20, 0x10);
	outb(0x21, 0x48);
	outb(0x21, 0x04);
	outb(0x21, 0xfd);
	assert_int_equal(inb(0x21), 0xfd);
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x49);
	/* ICW2's low three bits are the IR number, not the base */
	outb(0x20, 0x11);
	outb(0x21, 0x57);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0x21, 0xfd);
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x51);
}

static void test_icw1_resets(void **state)
{
	(void)state;
	guest_pic_init();
	guest_pic_unmask(3);
	guest_pic_unmask(4);
	vpic_set_irq(&P, 3, true); /* held high across the re-init */
	pulse(4);
	assert_int_equal(vpic_ack(&P), 0x23);
	outb(0x20, 0xc4); /* set priority: IR4 lowest */
	outb(0x20, 0x0b); /* read ISR */
	outb(0x20, 0x68); /* special mask on */
	/* ICW1: IMR and ISR cleared, edge latches reset, IR7 lowest, IRR reads selected */
	outb(0x20, 0x11);
	assert_int_equal(inb(0x21), 0x00);
	assert_int_equal(inb(0x20), 0x00); /* IRR: IR3 and IR4 edges forgotten */
	assert_false(vpic_intr(&P));	   /* and nothing during the sequence */
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	assert_false(vpic_intr(&P));
	vpic_set_irq(&P, 3, true); /* still high: no new edge */
	assert_false(vpic_intr(&P));
	vpic_set_irq(&P, 3, false);
	vpic_set_irq(&P, 3, true);
	assert_true(vpic_intr(&P));
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x21); /* IR7 lowest again: IR1 beats IR3 */
}

static void test_init_in_progress_blocks_intr(void **state)
{
	(void)state;
	outb(0x21, 0xfe);
	pulse(0);
	assert_true(vpic_intr(&P));
	outb(0x20, 0x11);
	assert_false(vpic_intr(&P));
	outb(0x21, 0x20);
	/* OCW3 and OCW2 are still decoded on the command port during the sequence */
	outb(0x20, 0x0b);
	assert_int_equal(inb(0x20), 0x00);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	pulse(0);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x20);
}

/* ---- priorities, EOI, rotation ------------------------------------------------------------------- */

static void test_fully_nested_priority(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x21, 0x00);
	pulse(3);
	pulse(1);
	pulse(5);
	assert_int_equal(read_irr(0x20), 0x2a);
	assert_int_equal(vpic_ack(&P), 0x21);
	/* IR1 in service: IR0 may interrupt it, IR3 and IR5 wait */
	assert_false(vpic_intr(&P));
	pulse(0);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x20);
	assert_int_equal(read_isr(0x20), 0x03);
	pulse(1); /* same level as one in service: blocked */
	outb(0x20, 0x20); /* non-specific EOI: the highest in service, IR0 */
	assert_int_equal(read_isr(0x20), 0x02);
	assert_false(vpic_intr(&P));
	outb(0x20, 0x20);
	assert_int_equal(read_isr(0x20), 0x00);
	assert_int_equal(vpic_ack(&P), 0x21);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(&P), 0x23);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(&P), 0x25);
	outb(0x20, 0x20);
	assert_false(vpic_intr(&P));
	assert_int_equal(read_irr(0x20), 0x00);
}

static void test_specific_eoi(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x21, 0x00);
	pulse(6);
	assert_int_equal(vpic_ack(&P), 0x26);
	pulse(4); /* IR4 interrupts IR6 */
	assert_int_equal(vpic_ack(&P), 0x24);
	assert_int_equal(read_isr(0x20), 0x50);
	outb(0x20, 0x66); /* specific EOI IR6, not the highest */
	assert_int_equal(read_isr(0x20), 0x10);
	outb(0x20, 0x67); /* IR7 not in service: no effect */
	assert_int_equal(read_isr(0x20), 0x10);
	outb(0x20, 0x64);
	assert_int_equal(read_isr(0x20), 0x00);
	outb(0x20, 0x20); /* nothing in service: no effect */
	outb(0x20, 0x40); /* OCW2 no-op */
	assert_int_equal(read_isr(0x20), 0x00);
}

static void test_rotation(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x21, 0x00);
	/* rotate on non-specific EOI: the serviced IR becomes the lowest */
	pulse(0);
	pulse(5);
	assert_int_equal(vpic_ack(&P), 0x20);
	outb(0x20, 0xa0);
	pulse(0);
	/* now IR1 is the highest ... IR0 the lowest: IR5 goes before IR0 */
	assert_int_equal(vpic_ack(&P), 0x25);
	outb(0x20, 0xa0); /* IR5 now lowest: IR6 highest */
	pulse(7);
	pulse(6);
	assert_int_equal(vpic_ack(&P), 0x26);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(&P), 0x27);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(&P), 0x20);
	outb(0x20, 0x20);
	/* set priority: IR3 lowest, IR4 highest */
	outb(0x20, 0xc3);
	pulse(3);
	pulse(4);
	pulse(0);
	assert_int_equal(vpic_ack(&P), 0x24);
	/* IR0 ranks above IR3 but below IR4, which is in service */
	assert_false(vpic_intr(&P));
	/* rotate on specific EOI: IR4 cleared and made the lowest (IR5 highest, IR3 above IR4) */
	outb(0x20, 0xe4);
	assert_int_equal(read_isr(0x20), 0x00);
	assert_int_equal(vpic_ack(&P), 0x20);
	outb(0x20, 0x60);
	assert_int_equal(vpic_ack(&P), 0x23);
	outb(0x20, 0x63);
	assert_false(vpic_intr(&P));
}

static void test_auto_eoi(void **state)
{
	(void)state;
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x03); /* 8086, AEOI */
	outb(0x21, 0x00);
	pulse(1);
	pulse(3);
	assert_int_equal(vpic_ack(&P), 0x21);
	assert_int_equal(read_isr(0x20), 0x00); /* no ISR bit, so IR3 follows at once */
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x23);
	/* rotate in auto-EOI mode (set): each acknowledged IR becomes the lowest */
	outb(0x20, 0x80);
	pulse(1);
	pulse(3);
	assert_int_equal(vpic_ack(&P), 0x21);
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x23); /* IR1 is now lowest */
	assert_int_equal(vpic_ack(&P), 0x21);
	/* clear rotate in AEOI */
	outb(0x20, 0x00);
	outb(0x20, 0xc7); /* IR7 lowest */
	pulse(3);
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x21);
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x21);
	assert_int_equal(vpic_ack(&P), 0x23);
}

/* ---- cascade --------------------------------------------------------------------------------------- */

static void test_cascade(void **state)
{
	(void)state;
	guest_pic_init();
	guest_pic_unmask(10);
	guest_pic_unmask(12);
	guest_pic_unmask(1);
	assert_int_equal(inb(0x21), 0xf9);
	assert_int_equal(inb(0xa1), 0xeb);
	pulse(12);
	assert_true(vpic_intr(&P));
	assert_int_equal(read_irr(0xa0), 0x10);
	assert_int_equal(read_irr(0x20), 0x04);
	assert_int_equal(vpic_ack(&P), 0x2c);
	assert_int_equal(read_isr(0x20), 0x04);
	assert_int_equal(read_isr(0xa0), 0x10);
	assert_int_equal(read_irr(0x20), 0x00);
	/* IR10 outranks IR12 on the slave, but the master has IR2 in service (fully nested) */
	pulse(10);
	assert_false(vpic_intr(&P));
	assert_int_equal(read_irr(0x20), 0x04);
	/* IR1 outranks IR2 on the master */
	pulse(1);
	assert_int_equal(vpic_ack(&P), 0x21);
	outb(0x20, 0x20);
	/* EOI the slave, then the master: IR10 comes through */
	outb(0xa0, 0x20);
	assert_false(vpic_intr(&P));
	outb(0x20, 0x20);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x2a);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_false(vpic_intr(&P));
	/* a masked slave request does not reach the master */
	outb(0xa1, 0xff);
	pulse(9);
	assert_int_equal(read_irr(0x20), 0x00);
	assert_int_equal(read_irr(0xa0), 0x02);
	/* vpic_set_irq(2) is the cascade: ignored */
	pulse(2);
	assert_int_equal(read_irr(0x20), 0x00);
}

static void test_special_fully_nested(void **state)
{
	(void)state;
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x11); /* SFNM */
	outb(0xa0, 0x11);
	outb(0xa1, 0x28);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
	outb(0x21, 0x00);
	outb(0xa1, 0x00);
	pulse(12);
	assert_int_equal(vpic_ack(&P), 0x2c);
	/* a higher slave IR gets through although the master has IR2 in service */
	pulse(9);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x29);
	/* a lower slave IR does not: the slave's own ISR blocks it */
	pulse(13);
	assert_false(vpic_intr(&P));
	outb(0xa0, 0x20); /* EOI IR9 on the slave; IR12 still in service there */
	assert_int_equal(read_isr(0xa0), 0x10);
	/* software checks the slave's ISR before the master EOI, as SFNM requires */
	outb(0xa0, 0x20);
	assert_int_equal(read_isr(0xa0), 0x00);
	assert_true(vpic_intr(&P)); /* IR13: master IR2 still in service but SFNM lets it through */
	assert_int_equal(vpic_ack(&P), 0x2d);
}

static void test_slave_id_mismatch_floats(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0xa0, 0x11);
	outb(0xa1, 0x28);
	outb(0xa1, 0x05); /* slave ID 5, but it hangs on IR2 */
	outb(0xa1, 0x01);
	outb(0xa1, 0x00);
	outb(0x21, 0x00);
	pulse(8);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0xff);
	/* the master has no slave on IR2 at all: it answers with its own vector */
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x00);
	outb(0x21, 0x01);
	outb(0x21, 0x00);
	assert_true(vpic_intr(&P)); /* the slave still drives IR2 */
	assert_int_equal(vpic_ack(&P), 0x22);
}

/* ---- sensing, spurious ----------------------------------------------------------------------------- */

static void test_edge_and_level(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	assert_int_equal(inb(0x4d0), 0xf8); /* IRQ0-2 always edge */
	assert_int_equal(inb(0x4d1), 0xde); /* IRQ8, IRQ13 always edge */
	outb(0x4d0, 0x20);		    /* IRQ5 level, the rest edge */
	outb(0x4d1, 0x00);
	outb(0x21, 0x00);
	/* level: request follows the line; stays requested after EOI while the line is high */
	vpic_set_irq(&P, 5, true);
	assert_int_equal(vpic_ack(&P), 0x25);
	assert_int_equal(read_irr(0x20), 0x20);
	outb(0x20, 0x20);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x25);
	vpic_set_irq(&P, 5, false);
	outb(0x20, 0x20);
	assert_false(vpic_intr(&P));
	assert_int_equal(read_irr(0x20), 0x00);
	/* edge: one request per rising edge, a line held high requests nothing more */
	vpic_set_irq(&P, 4, true);
	assert_int_equal(vpic_ack(&P), 0x24);
	outb(0x20, 0x20);
	assert_false(vpic_intr(&P));
	vpic_set_irq(&P, 4, true);
	assert_false(vpic_intr(&P));
	/* the edge latch holds a request after the line falls (edge sources pulse) */
	vpic_set_irq(&P, 4, false);
	vpic_set_irq(&P, 4, true);
	vpic_set_irq(&P, 4, false);
	assert_int_equal(vpic_ack(&P), 0x24);
	outb(0x20, 0x20);
	/* switching to level: the request follows the line at once */
	vpic_set_irq(&P, 6, true);
	outb(0x4d0, 0x20 | 0x40);
	assert_int_equal(read_irr(0x20), 0x40);
	vpic_set_irq(&P, 6, false);
	assert_int_equal(read_irr(0x20), 0x00);
	/* slave level input */
	outb(0x4d1, 0x08); /* IRQ11 */
	outb(0xa1, 0x00);
	vpic_set_irq(&P, 11, true);
	assert_int_equal(vpic_ack(&P), 0x2b);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_int_equal(vpic_ack(&P), 0x2b);
}

static void test_spurious_irq7(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x4d0, 0x20);
	outb(0x21, 0x00);
	/* a level request withdrawn before INTA: IR7's vector, ISR untouched */
	vpic_set_irq(&P, 5, true);
	assert_true(vpic_intr(&P));
	vpic_set_irq(&P, 5, false);
	assert_false(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x27);
	assert_int_equal(read_isr(0x20), 0x00);
	/* a request masked after INTR rose */
	pulse(3);
	outb(0x21, 0x08);
	assert_int_equal(vpic_ack(&P), 0x27);
	assert_int_equal(read_irr(0x20), 0x08); /* still latched */
	outb(0x21, 0x00);
	assert_int_equal(vpic_ack(&P), 0x23);
	outb(0x20, 0x20);
	/* a slave request withdrawn: the slave's INT falls, so the master answers with its IR7 */
	outb(0x4d1, 0x02);
	outb(0xa1, 0x00);
	vpic_set_irq(&P, 9, true);
	vpic_set_irq(&P, 9, false);
	assert_int_equal(vpic_ack(&P), 0x27);
	/* a real IR7 and the spurious one look alike, only the ISR tells (Linux's irq_real check) */
	pulse(7);
	assert_int_equal(vpic_ack(&P), 0x27);
	assert_int_equal(read_isr(0x20), 0x80);
	outb(0x20, 0x20);
	/* vpic_ack with nothing at all pending */
	assert_int_equal(vpic_ack(&P), 0x27);
}

static void test_poll_mode(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x21, 0x00);
	outb(0xa1, 0x00);
	outb(0x20, 0x0c); /* poll */
	assert_int_equal(inb(0x20), 0x00);
	pulse(5);
	pulse(6);
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x20), 0x85);
	assert_int_equal(read_isr(0x20), 0x20);
	assert_int_equal(read_irr(0x20), 0x40);
	/* poll is one-shot: the next read is a register read again */
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x21), 0x00); /* poll on the data port too; IR6 blocked by IR5 */
	assert_int_equal(inb(0x21), 0x00); /* IMR */
	outb(0x20, 0x20);
	outb(0x20, 0x0e); /* poll with RR: poll wins for the next read */
	assert_int_equal(inb(0x20), 0x86);
	outb(0x20, 0x20);
	/* polling the master for a slave interrupt gives IR2; then poll the slave */
	pulse(11);
	outb(0x20, 0x0c);
	assert_int_equal(inb(0x20), 0x82);
	outb(0xa0, 0x0c);
	assert_int_equal(inb(0xa0), 0x83);
	assert_int_equal(read_isr(0xa0), 0x08);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	assert_int_equal(read_isr(0x20), 0x00);
}

static void test_special_mask_mode(void **state)
{
	(void)state;
	guest_pic_init();
	outb(0x21, 0x00);
	pulse(3);
	assert_int_equal(vpic_ack(&P), 0x23);
	pulse(5);
	assert_false(vpic_intr(&P));
	/* the IR3 handler masks itself and enables special mask mode: lower levels get through */
	outb(0x21, 0x08);
	outb(0x20, 0x68);
	assert_true(vpic_intr(&P));
	assert_int_equal(vpic_ack(&P), 0x25);
	outb(0x20, 0x65);
	outb(0x20, 0x48); /* special mask off */
	assert_false(vpic_intr(&P));
	outb(0x20, 0x63);
	outb(0x21, 0x00);
	assert_int_equal(read_isr(0x20), 0x00);
	/* OCW3 without ESMM leaves the mode alone */
	outb(0x20, 0x68);
	outb(0x20, 0x08);
	pulse(4);
	assert_int_equal(vpic_ack(&P), 0x24);
	pulse(6);
	assert_true(vpic_intr(&P)); /* SMM still on: the ISR blocks nothing */
}

/* ---- ports ------------------------------------------------------------------------------------------- */

static void test_wide_and_foreign_ports(void **state)
{
	(void)state;
	uint32_t v = 0;

	outb(0x4d0, 0x20);
	outb(0x4d1, 0x08);
	assert_true(vpic_io(&P, 0x4d0, 2, true, &v));
	assert_int_equal(v, 0x0820);
	v = 0x1080;
	assert_true(vpic_io(&P, 0x4d0, 2, false, &v));
	assert_int_equal(inb(0x4d0), 0x80);
	assert_int_equal(inb(0x4d1), 0x10);
	/* a word read at 0x21 reaches 0x22, which is not ours */
	v = 0;
	assert_true(vpic_io(&P, 0x21, 2, true, &v));
	assert_int_equal(v, 0xfffb);
	v = 0;
	assert_true(vpic_io(&P, 0x20, 4, true, &v));
	assert_int_equal(v, 0xfffffb00);
	v = 0xffffffff;
	assert_true(vpic_io(&P, 0x22, 1, false, &v));
	assert_false(vpic_io(&P, 0x20, 3, true, &v));
	assert_false(vpic_io(&P, 0x20, 0, false, &v));
}

static void test_callback_optional(void **state)
{
	(void)state;
	struct vpic q;

	vpic_init(&q, NULL, NULL);
	uint32_t v = 0xfa;
	assert_true(vpic_io(&q, 0x21, 1, false, &v));
	vpic_set_irq(&q, 0, true);
	assert_true(vpic_intr(&q));
	assert_int_equal(vpic_ack(&q), 0x08);
	vpic_set_irq(&q, 16, true);
	vpic_set_irq(&q, 0xffffffff, true);
	assert_false(vpic_intr(&q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_test_guest_sequence, setup),
		cmocka_unit_test_setup(test_seabios_sequence, setup),
		cmocka_unit_test_setup(test_linux_sequence, setup),
		cmocka_unit_test_setup(test_single_mode_and_no_icw4, setup),
		cmocka_unit_test_setup(test_icw1_resets, setup),
		cmocka_unit_test_setup(test_init_in_progress_blocks_intr, setup),
		cmocka_unit_test_setup(test_fully_nested_priority, setup),
		cmocka_unit_test_setup(test_specific_eoi, setup),
		cmocka_unit_test_setup(test_rotation, setup),
		cmocka_unit_test_setup(test_auto_eoi, setup),
		cmocka_unit_test_setup(test_cascade, setup),
		cmocka_unit_test_setup(test_special_fully_nested, setup),
		cmocka_unit_test_setup(test_slave_id_mismatch_floats, setup),
		cmocka_unit_test_setup(test_edge_and_level, setup),
		cmocka_unit_test_setup(test_spurious_irq7, setup),
		cmocka_unit_test_setup(test_poll_mode, setup),
		cmocka_unit_test_setup(test_special_mask_mode, setup),
		cmocka_unit_test_setup(test_wide_and_foreign_ports, setup),
		cmocka_unit_test_setup(test_callback_optional, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
