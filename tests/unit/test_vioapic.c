/*
 * Unit tests of kernel/vmm/vioapic.c: the register file through the MMIO page (IOREGSEL/IOWIN, ID,
 * version, arbitration, redirection entries and their writable bits, odd sizes and offsets), edge
 * and level triggering with remote IRR and EOI (from the local APIC and from the EOI register),
 * polarity, masking, delivery modes, and the sequence Linux uses to program a pin. Expected values
 * are written out from the 82093AA and ICH datasheets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <hv/vioapic.h>

#define MAX_MSGS 64

static struct vdev_msi msgs[MAX_MSGS];
static unsigned nmsgs;

static void record_msi(void *ctx, const struct vdev_msi *msi)
{
	(void)ctx;
	assert_true(nmsgs < MAX_MSGS);
	msgs[nmsgs++] = *msi;
}

static const struct vdev_env env = { .deliver_msi = record_msi };
static struct vioapic A;

static int setup(void **state)
{
	(void)state;
	nmsgs = 0;
	memset(msgs, 0, sizeof(msgs));
	vioapic_init(&A, &env, 1);
	return 0;
}

static uint32_t rd(uint8_t reg)
{
	vioapic_mmio_write(&A, VIOAPIC_IOREGSEL, 4, reg);
	return (uint32_t)vioapic_mmio_read(&A, VIOAPIC_IOWIN, 4);
}

static void wr(uint8_t reg, uint32_t value)
{
	vioapic_mmio_write(&A, VIOAPIC_IOREGSEL, 4, reg);
	vioapic_mmio_write(&A, VIOAPIC_IOWIN, 4, value);
}

static uint64_t rte(unsigned pin) { return (uint64_t)rd(0x11 + 2 * pin) << 32 | rd(0x10 + 2 * pin); }

/* Linux's ioapic_write_entry: the high dword first, then the low one. */
static void set_rte(unsigned pin, uint64_t value)
{
	wr(0x11 + 2 * pin, (uint32_t)(value >> 32));
	wr(0x10 + 2 * pin, (uint32_t)value);
}

static void expect_msg(unsigned i, uint32_t dest, bool logical, uint8_t vector, uint8_t delivery, bool level)
{
	assert_true(i < nmsgs);
	assert_int_equal(msgs[i].dest, dest);
	assert_int_equal(msgs[i].dest_logical, logical);
	assert_int_equal(msgs[i].vector, vector);
	assert_int_equal(msgs[i].delivery, delivery);
	assert_int_equal(msgs[i].level_triggered, level);
}

/* ---- registers --------------------------------------------------------------------------------- */

static void test_reset_state(void **state)
{
	(void)state;
	assert_int_equal(rd(0x00), 0x01000000);
	assert_int_equal(rd(0x01), 0x00170020); /* 24 entries (max index 0x17), version 0x20 */
	assert_int_equal(rd(0x02), 0x01000000);
	for (unsigned pin = 0; pin < 24; pin++)
		assert_int_equal(rte(pin), 0x0000000000010000ull); /* masked */
	assert_int_equal(nmsgs, 0);
}

static void test_id_and_readonly_registers(void **state)
{
	(void)state;
	wr(0x00, 0xffffffff);
	assert_int_equal(rd(0x00), 0x0f000000); /* only bits 27:24 */
	assert_int_equal(rd(0x02), 0x0f000000); /* arbitration ID loaded with the ID */
	wr(0x00, 0x05000000);
	assert_int_equal(rd(0x00), 0x05000000);
	wr(0x01, 0);
	assert_int_equal(rd(0x01), 0x00170020);
	wr(0x02, 0x0a000000);
	assert_int_equal(rd(0x02), 0x05000000);
	/* unimplemented registers read 0 and ignore writes */
	wr(0x03, 0xffffffff);
	assert_int_equal(rd(0x03), 0);
	wr(0x40, 0xffffffff);
	assert_int_equal(rd(0x40), 0);
	assert_int_equal(rd(0xff), 0);
	/* the entry past the last pin (0x40/0x41) is not an entry */
	assert_int_equal(rd(0x3f), 0);
}

static void test_rte_writable_bits(void **state)
{
	(void)state;
	wr(0x10, 0xffffffff);
	/* delivery status (12) and remote IRR (14) are read-only, bits 31:17 reserved */
	assert_int_equal(rd(0x10), 0x0001afff);
	wr(0x11, 0xffffffff);
	assert_int_equal(rd(0x11), 0xffff0000);
	wr(0x3e, 0x12345678); /* pin 23 low */
	assert_int_equal(rd(0x3e), 0x00000678); /* vector 0x78, delivery mode 6 */
	wr(0x3f, 0xab000000);
	assert_int_equal(rte(23), 0xab00000000000678ull);
	assert_int_equal(nmsgs, 0); /* line low: nothing to send */
}

static void test_regsel_and_odd_accesses(void **state)
{
	(void)state;
	/* IOREGSEL is 8 bits; its other bytes read 0 */
	vioapic_mmio_write(&A, 0x00, 4, 0xabcdef01);
	assert_int_equal(vioapic_mmio_read(&A, 0x00, 4), 0x01);
	vioapic_mmio_write(&A, 0x00, 1, 0x10);
	assert_int_equal(vioapic_mmio_read(&A, 0x00, 1), 0x10);
	vioapic_mmio_write(&A, 0x01, 1, 0x77); /* not IOREGSEL */
	assert_int_equal(vioapic_mmio_read(&A, 0x00, 4), 0x10);
	/* byte and word reads of IOWIN see the bytes of the selected register */
	vioapic_mmio_write(&A, 0x00, 1, 0x01);
	assert_int_equal(vioapic_mmio_read(&A, 0x10, 1), 0x20);
	assert_int_equal(vioapic_mmio_read(&A, 0x12, 1), 0x17);
	assert_int_equal(vioapic_mmio_read(&A, 0x12, 2), 0x0017);
	assert_int_equal(vioapic_mmio_read(&A, 0x13, 1), 0x00);
	assert_int_equal(vioapic_mmio_read(&A, 0x10, 8), 0x00170020ull);
	assert_int_equal(vioapic_mmio_read(&A, 0x0c, 8), 0x0017002000000000ull);
	/* a byte write to IOWIN changes only that byte of the register */
	vioapic_mmio_write(&A, 0x00, 1, 0x10);
	vioapic_mmio_write(&A, 0x10, 1, 0x42);
	assert_int_equal(rd(0x10), 0x00010042);
	vioapic_mmio_write(&A, 0x00, 1, 0x10);
	vioapic_mmio_write(&A, 0x12, 1, 0x00); /* byte 2: unmask */
	assert_int_equal(rd(0x10), 0x00000042);
	vioapic_mmio_write(&A, 0x00, 1, 0x10);
	vioapic_mmio_write(&A, 0x11, 2, 0x0180); /* bytes 1-2: level, masked */
	assert_int_equal(rd(0x10), 0x00018042);
	/* invalid sizes and offsets outside the page do nothing */
	vioapic_mmio_write(&A, 0x00, 0, 0x20);
	vioapic_mmio_write(&A, 0x00, 9, 0x20);
	vioapic_mmio_write(&A, 0x1000, 4, 0x20);
	vioapic_mmio_write(&A, UINT64_MAX, 8, 0x20);
	assert_int_equal(vioapic_mmio_read(&A, 0x00, 1), 0x10);
	assert_int_equal(vioapic_mmio_read(&A, 0x00, 3), 0x10); /* any size 1-8 is byte lanes */
	assert_int_equal(vioapic_mmio_read(&A, 0x1000, 4), 0);
	assert_int_equal(vioapic_mmio_read(&A, UINT64_MAX, 8), 0);
	assert_int_equal(vioapic_mmio_read(&A, 0xffc, 8), 0);
	assert_int_equal(vioapic_mmio_read(&A, 0x20, 4), 0);
	assert_int_equal(vioapic_mmio_read(&A, 0x40, 4), 0); /* EOI is write-only */
	assert_int_equal(nmsgs, 0);
}

/* ---- edge ------------------------------------------------------------------------------------------ */

static void test_edge_delivery(void **state)
{
	(void)state;
	set_rte(2, 0x0300000000000030ull); /* vector 0x30, fixed, physical, edge, high, unmasked, dest 3 */
	vioapic_set_irq(&A, 2, true);
	assert_int_equal(nmsgs, 1);
	expect_msg(0, 3, false, 0x30, 0, false);
	vioapic_set_irq(&A, 2, true); /* no edge */
	assert_int_equal(nmsgs, 1);
	vioapic_set_irq(&A, 2, false);
	assert_int_equal(nmsgs, 1);
	vioapic_set_irq(&A, 2, true);
	assert_int_equal(nmsgs, 2);
	/* a pulse, as edge sources send them */
	vioapic_set_irq(&A, 2, false);
	vioapic_set_irq(&A, 2, true);
	vioapic_set_irq(&A, 2, false);
	assert_int_equal(nmsgs, 3);
	assert_int_equal(rte(2) & (1ull << 14), 0); /* no remote IRR for edge */
	vioapic_eoi(&A, 0x30);
	assert_int_equal(nmsgs, 3);
}

static void test_edge_on_masked_pin_is_lost(void **state)
{
	(void)state;
	set_rte(4, 0x0000000000010031ull); /* masked */
	vioapic_set_irq(&A, 4, true);
	vioapic_set_irq(&A, 4, false);
	assert_int_equal(nmsgs, 0);
	wr(0x18, 0x31); /* unmask: the edge is not held pending */
	assert_int_equal(nmsgs, 0);
	vioapic_set_irq(&A, 4, true);
	assert_int_equal(nmsgs, 1);
	/* line high while masked, unmask: no edge */
	wr(0x18, 0x10031);
	vioapic_set_irq(&A, 4, false);
	vioapic_set_irq(&A, 4, true);
	wr(0x18, 0x31);
	assert_int_equal(nmsgs, 1);
}

/* ---- level ------------------------------------------------------------------------------------------ */

static void test_level_remote_irr_and_eoi(void **state)
{
	(void)state;
	set_rte(9, 0x0000000000008041ull); /* vector 0x41, level, active high, unmasked, dest 0 */
	vioapic_set_irq(&A, 9, true);
	assert_int_equal(nmsgs, 1);
	expect_msg(0, 0, false, 0x41, 0, true);
	assert_int_equal(rd(0x22), 0x0000c041); /* remote IRR set */
	vioapic_set_irq(&A, 9, true); /* still asserted: nothing while remote IRR is set */
	assert_int_equal(nmsgs, 1);
	vioapic_eoi(&A, 0x42); /* another vector */
	assert_int_equal(nmsgs, 1);
	assert_int_equal(rd(0x22), 0x0000c041);
	vioapic_eoi(&A, 0x41); /* still asserted: delivered again */
	assert_int_equal(nmsgs, 2);
	assert_int_equal(rd(0x22), 0x0000c041);
	vioapic_set_irq(&A, 9, false);
	vioapic_eoi(&A, 0x41);
	assert_int_equal(nmsgs, 2);
	assert_int_equal(rd(0x22), 0x00008041);
	vioapic_set_irq(&A, 9, true);
	assert_int_equal(nmsgs, 3);
}

static void test_level_eoi_register(void **state)
{
	(void)state;
	vioapic_set_irq(&A, 16, true);		/* idle: line high */
	set_rte(16, 0x020000000000a051ull); /* vector 0x51, level, active low, dest 2 */
	assert_int_equal(nmsgs, 0);
	vioapic_set_irq(&A, 16, false); /* asserted */
	assert_int_equal(nmsgs, 1);
	expect_msg(0, 2, false, 0x51, 0, true);
	vioapic_mmio_write(&A, VIOAPIC_EOI, 4, 0x51);
	assert_int_equal(nmsgs, 2); /* still asserted */
	vioapic_set_irq(&A, 16, true);
	vioapic_mmio_write(&A, VIOAPIC_EOI, 1, 0x51);
	assert_int_equal(nmsgs, 2);
	assert_int_equal(rd(0x30) & 0x4000, 0);
	/* the EOI register takes the vector from byte 0 only */
	vioapic_set_irq(&A, 16, false);
	assert_int_equal(nmsgs, 3);
	vioapic_mmio_write(&A, VIOAPIC_EOI, 4, 0x5100);
	assert_int_equal(rd(0x30) & 0x4000, 0x4000);
	vioapic_mmio_write(&A, 0x41, 1, 0x51);
	assert_int_equal(rd(0x30) & 0x4000, 0x4000);
}

static void test_level_masked_then_unmasked(void **state)
{
	(void)state;
	set_rte(10, 0x0000000000018061ull); /* level, masked */
	vioapic_set_irq(&A, 10, true);
	assert_int_equal(nmsgs, 0);
	assert_int_equal(rd(0x24) & 0x4000, 0);
	wr(0x24, 0x8061); /* unmask: the asserted level is seen at once */
	assert_int_equal(nmsgs, 1);
	assert_int_equal(rd(0x24), 0xc061);
	/* masking does not clear remote IRR; EOI while masked does not deliver */
	wr(0x24, 0x18061);
	assert_int_equal(rd(0x24), 0x1c061);
	vioapic_eoi(&A, 0x61);
	assert_int_equal(rd(0x24), 0x18061);
	assert_int_equal(nmsgs, 1);
	wr(0x24, 0x8061);
	assert_int_equal(nmsgs, 2);
}

static void test_switch_to_edge_clears_remote_irr(void **state)
{
	(void)state;
	set_rte(11, 0x0000000000008071ull);
	vioapic_set_irq(&A, 11, true);
	assert_int_equal(rd(0x26), 0xc071);
	/* Linux's workaround for I/O APICs without an EOI register: mask+edge, then level again */
	wr(0x26, 0x10071);
	assert_int_equal(rd(0x26), 0x10071);
	wr(0x26, 0x18071);
	assert_int_equal(nmsgs, 1);
	wr(0x26, 0x8071); /* unmasked, still asserted: delivered again */
	assert_int_equal(nmsgs, 2);
}

static void test_edge_to_level_while_asserted(void **state)
{
	(void)state;
	set_rte(12, 0x0000000000000072ull); /* edge */
	vioapic_set_irq(&A, 12, true);
	assert_int_equal(nmsgs, 1);
	wr(0x28, 0x8072); /* level now: asserted and remote IRR clear */
	assert_int_equal(nmsgs, 2);
	expect_msg(1, 0, false, 0x72, 0, true);
}

/* ---- polarity -------------------------------------------------------------------------------------- */

static void test_polarity_edge(void **state)
{
	(void)state;
	set_rte(5, 0x0000000000012035ull); /* active low, edge, masked */
	vioapic_set_irq(&A, 5, true);
	wr(0x1a, 0x2035); /* unmask: line high = deasserted */
	assert_int_equal(nmsgs, 0);
	vioapic_set_irq(&A, 5, false); /* falling line = rising assertion */
	assert_int_equal(nmsgs, 1);
	vioapic_set_irq(&A, 5, true);
	assert_int_equal(nmsgs, 1);
	/* reprogramming polarity never makes an edge */
	wr(0x1a, 0x0035);
	assert_int_equal(nmsgs, 1);
	vioapic_set_irq(&A, 5, false);
	vioapic_set_irq(&A, 5, true);
	assert_int_equal(nmsgs, 2);
}

static void test_polarity_level(void **state)
{
	(void)state;
	/* line low after reset: an active-low level pin is asserted as soon as it is unmasked */
	set_rte(20, 0x000000000000a090ull);
	assert_int_equal(nmsgs, 1);
	expect_msg(0, 0, false, 0x90, 0, true);
	vioapic_set_irq(&A, 20, true);
	vioapic_eoi(&A, 0x90);
	assert_int_equal(nmsgs, 1);
	/* flipping to active high with the line high: asserted, delivered */
	wr(0x38, 0x8090);
	assert_int_equal(nmsgs, 2);
}

/* ---- delivery modes ------------------------------------------------------------------------------- */

static void test_delivery_modes(void **state)
{
	(void)state;
	set_rte(1, 0x0f00000000000921ull); /* lowest priority, logical, dest 0x0f */
	vioapic_set_irq(&A, 1, true);
	expect_msg(0, 0x0f, true, 0x21, 1, false);
	/* NMI programmed level-triggered: sent as an edge, no remote IRR */
	set_rte(3, 0x0000000000008400ull);
	vioapic_set_irq(&A, 3, true);
	assert_int_equal(nmsgs, 2);
	expect_msg(1, 0, false, 0x00, 4, false);
	assert_int_equal(rd(0x16) & 0x4000, 0);
	vioapic_set_irq(&A, 3, true);
	assert_int_equal(nmsgs, 2);
	/* ExtINT (the 8259's INTR on pin 0 in virtual wire mode B) */
	set_rte(0, 0x0000000000000700ull);
	vioapic_set_irq(&A, 0, true);
	expect_msg(2, 0, false, 0x00, 7, false);
	/* SMI, INIT */
	set_rte(6, 0x0100000000000200ull);
	vioapic_set_irq(&A, 6, true);
	expect_msg(3, 1, false, 0x00, 2, false);
	set_rte(7, 0x0100000000000500ull);
	vioapic_set_irq(&A, 7, true);
	expect_msg(4, 1, false, 0x00, 5, false);
	/* reserved encodings 3 and 6 send nothing and never set remote IRR */
	set_rte(8, 0x0000000000008344ull);
	set_rte(13, 0x0000000000000644ull);
	vioapic_set_irq(&A, 8, true);
	vioapic_set_irq(&A, 13, true);
	assert_int_equal(nmsgs, 5);
	assert_int_equal(rd(0x20) & 0x4000, 0);
	/* broadcast destination passes through */
	set_rte(14, 0xff00000000000045ull);
	vioapic_set_irq(&A, 14, true);
	expect_msg(5, 0xff, false, 0x45, 0, false);
	assert_int_equal(A.delivered, 6);
}

/* ---- robustness, sequences ------------------------------------------------------------------------- */

static void test_out_of_range_pins(void **state)
{
	(void)state;
	vioapic_set_irq(&A, 24, true);
	vioapic_set_irq(&A, 0xffffffff, true);
	assert_int_equal(A.lines, 0);
	assert_int_equal(nmsgs, 0);
	vioapic_eoi(&A, 0);
	vioapic_eoi(&A, 0xff);
	assert_int_equal(nmsgs, 0);
}

static void test_no_env_callback(void **state)
{
	(void)state;
	static const struct vdev_env empty = { 0 };
	struct vioapic b;

	vioapic_init(&b, &empty, 0);
	vioapic_mmio_write(&b, 0, 4, 0x10);
	vioapic_mmio_write(&b, 0x10, 4, 0x8030);
	vioapic_set_irq(&b, 0, true);
	assert_int_equal(b.delivered, 1);
	vioapic_init(&b, NULL, 0);
	vioapic_mmio_write(&b, 0, 4, 0x10);
	vioapic_mmio_write(&b, 0x10, 4, 0x30);
	vioapic_set_irq(&b, 0, true);
	assert_int_equal(b.delivered, 1);
}

/* Linux: ISA IRQ0 via GSI2 (edge, high), SCI on GSI9 (level, high), a PCI INTx on GSI16 (level,
 * low), programmed masked first (dest in the high dword, then the low dword), unmasked later. */
static void test_linux_sequence(void **state)
{
	(void)state;
	assert_int_equal(rd(0x01) & 0xff, 0x20); /* Linux picks the EOI-register path for >= 0x20 */
	set_rte(2, 0x0000000000010030ull);
	set_rte(9, 0x0000000000018039ull);
	set_rte(16, 0x000000000001a041ull);
	vioapic_set_irq(&A, 16, true); /* the PCI line idles high */
	assert_int_equal(nmsgs, 0);
	wr(0x14, 0x30);
	wr(0x22, 0x8039);
	wr(0x30, 0xa041);
	assert_int_equal(nmsgs, 0);
	vioapic_set_irq(&A, 2, true);
	vioapic_set_irq(&A, 2, false);
	expect_msg(0, 0, false, 0x30, 0, false);
	vioapic_set_irq(&A, 9, true);
	expect_msg(1, 0, false, 0x39, 0, true);
	vioapic_set_irq(&A, 16, false);
	expect_msg(2, 0, false, 0x41, 0, true);
	vioapic_set_irq(&A, 9, false); /* handler cleared the source */
	vioapic_mmio_write(&A, VIOAPIC_EOI, 4, 0x39);
	vioapic_set_irq(&A, 16, true);
	vioapic_eoi(&A, 0x41); /* EOI broadcast from the LAPIC */
	assert_int_equal(nmsgs, 3);
	assert_int_equal(rd(0x22), 0x8039);
	assert_int_equal(rd(0x30), 0xa041);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_id_and_readonly_registers, setup),
		cmocka_unit_test_setup(test_rte_writable_bits, setup),
		cmocka_unit_test_setup(test_regsel_and_odd_accesses, setup),
		cmocka_unit_test_setup(test_edge_delivery, setup),
		cmocka_unit_test_setup(test_edge_on_masked_pin_is_lost, setup),
		cmocka_unit_test_setup(test_level_remote_irr_and_eoi, setup),
		cmocka_unit_test_setup(test_level_eoi_register, setup),
		cmocka_unit_test_setup(test_level_masked_then_unmasked, setup),
		cmocka_unit_test_setup(test_switch_to_edge_clears_remote_irr, setup),
		cmocka_unit_test_setup(test_edge_to_level_while_asserted, setup),
		cmocka_unit_test_setup(test_polarity_edge, setup),
		cmocka_unit_test_setup(test_polarity_level, setup),
		cmocka_unit_test_setup(test_delivery_modes, setup),
		cmocka_unit_test_setup(test_out_of_range_pins, setup),
		cmocka_unit_test_setup(test_no_env_callback, setup),
		cmocka_unit_test_setup(test_linux_sequence, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
