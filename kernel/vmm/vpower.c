/*
 * Guest power control: the ACPI PM1 event/control registers the guest's FADT points at
 * (ACPI 6.5 4.8.3), the PCI reset control register 0xcf9 the FADT names as RESET_REG, and the
 * keyboard controller's pulse-reset command. Sleep state S5 and resets end that VM alone.
 */
#include <hv/vplatform.h>

#define PM1_STS 0
#define PM1_EN 2
#define PM1_CNT 4
#define PM1_CNT_SCI_EN 0x0001u	 /* always on: there is no legacy mode to leave (SMI_CMD = 0) */
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)
#define PM1_CNT_SLP_EN 0x2000u
#define PM1_STS_WRITE_CLEAR 0x8d31u /* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK status bits */
#define SLP_TYP_S5 5		 /* the value the DSDT's \_S5 package gives */
#define RESET_CONTROL_PORT 0xcf9
#define RESET_CONTROL_RST_CPU 0x04
#define KBC_COMMAND_PORT 0x64
#define KBC_PULSE_RESET 0xfe

static uint16_t pm1_read(struct vpower *pw, unsigned reg)
{
	switch (reg) {
	case PM1_STS:
		return pw->pm1_sts;
	case PM1_EN:
		return pw->pm1_en;
	case PM1_CNT:
		return pw->pm1_cnt | PM1_CNT_SCI_EN;
	default:
		return 0;
	}
}

static void pm1_write(struct vpower *pw, unsigned reg, uint16_t v)
{
	switch (reg) {
	case PM1_STS:
		pw->pm1_sts &= (uint16_t)~(v & PM1_STS_WRITE_CLEAR);
		break;
	case PM1_EN:
		pw->pm1_en = v;
		break;
	case PM1_CNT:
		pw->pm1_cnt = v & (uint16_t)~PM1_CNT_SLP_EN; /* SLP_EN is write-only */
		if ((v & PM1_CNT_SLP_EN) && PM1_CNT_SLP_TYP(v) == SLP_TYP_S5)
			vm_suspend(pw->vm, VM_SUSPEND_POWEROFF, "ACPI S5 through PM1a_CNT");
		break;
	default:
		break;
	}
}

/* PM1a_EVT (4 bytes) and PM1a_CNT (2 bytes), accessed byte by byte as registered ports. */
bool vpower_pm1_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vpower *pw = dev;
	unsigned offset = (unsigned)(port - pw->pm_base);

	if (bytes == 4 && offset == PM1_STS) { /* PM1_STS and PM1_EN in one access */
		if (in)
			*value = pm1_read(pw, PM1_STS) | ((uint32_t)pm1_read(pw, PM1_EN) << 16);
		else {
			pm1_write(pw, PM1_STS, (uint16_t)*value);
			pm1_write(pw, PM1_EN, (uint16_t)(*value >> 16));
		}
		return true;
	}
	unsigned reg = offset & ~1u;
	unsigned shift = (offset & 1u) * 8;
	if (in) {
		*value = (uint32_t)(pm1_read(pw, reg) >> shift);
		if (bytes == 1)
			*value &= 0xff;
		return true;
	}
	uint16_t v = bytes == 1 ? (uint16_t)((pm1_read(pw, reg) & ~(0xffu << shift)) | ((*value & 0xffu) << shift))
				: (uint16_t)*value;
	pm1_write(pw, reg, v);
	return true;
}

bool vpower_reset_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vpower *pw = dev;

	(void)bytes;
	if (in) {
		if (port != RESET_CONTROL_PORT)
			return false; /* no keyboard controller to read */
		*value = pw->reset_control;
		return true;
	}
	if (port == RESET_CONTROL_PORT) {
		pw->reset_control = (uint8_t)*value;
		if (*value & RESET_CONTROL_RST_CPU)
			vm_suspend(pw->vm, VM_SUSPEND_RESET, "reset through port 0xcf9");
	} else if (port == KBC_COMMAND_PORT && (uint8_t)*value == KBC_PULSE_RESET) {
		vm_suspend(pw->vm, VM_SUSPEND_RESET, "keyboard controller reset (port 0x64)");
	}
	return true;
}
