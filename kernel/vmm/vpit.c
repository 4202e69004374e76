/*
 * 8254 PIT model. Reference: Intel 8254 Programmable Interval Timer datasheet (order 231164):
 * control word, counter latch and read-back commands, the six modes, gate behaviour, null count;
 * port 0x61 from the Intel ICH/PCH datasheets (NMI_SC: TIM_CNT2_EN, SPKR_DAT_EN, REF_TOGGLE,
 * TMR2_OUT_STS).
 *
 * Time is counted in PIT clocks (ticks) on one global grid: tick(t) = floor(t * 1193182 / 1e9). A
 * count written during tick k is loaded into the counting element (CE) at clock k + 1 ("the count is
 * loaded on the next CLK pulse") and decremented from clock k + 2 on, so a mode 0 count of N raises
 * OUT N + 1 clocks after the write, as the datasheet says. Nothing here loops over clocks: every
 * count and level is a closed form of the clocks elapsed since the load.
 */
#include <hv/vpit.h>

#define NEVER VDEV_NEVER
#define CW_SC(cw) ((cw) >> 6)
#define CW_RW(cw) (((cw) >> 4) & 3)
#define CW_MODE(cw) (((cw) >> 1) & 7)
#define CW_BCD 0x01
#define READBACK_NO_COUNT 0x20
#define READBACK_NO_STATUS 0x10
#define STATUS_OUT 0x80
#define STATUS_NULL 0x40
#define REFRESH_TICKS 18 /* 18 clocks = 15.085 us, the ICH's REF_TOGGLE period */
#define PORT61_WRITABLE 0x0f

/* ---- time ------------------------------------------------------------------------------------ */

static uint64_t ns_to_tick(uint64_t ns)
{
	/* Split so nothing overflows: (ns % 1e9) * 1193182 < 1.2e15. */
	return ns / NS_PER_SEC * VPIT_HZ + ns % NS_PER_SEC * VPIT_HZ / NS_PER_SEC;
}

/* The first ns at which ns_to_tick() reaches tick. */
static uint64_t tick_to_ns(uint64_t tick)
{
	uint64_t q = tick / VPIT_HZ, r = tick % VPIT_HZ;

	if (q > (UINT64_MAX - NS_PER_SEC) / NS_PER_SEC)
		return NEVER;
	return q * NS_PER_SEC + (r * NS_PER_SEC + VPIT_HZ - 1) / VPIT_HZ;
}

/* The current clock, never going back even if the time source does. */
static uint64_t tick_at(struct vpit *p, uint64_t now_ns)
{
	uint64_t t = ns_to_tick(now_ns);

	if (t > p->last_tick)
		p->last_tick = t;
	return p->last_tick;
}

static uint64_t now_tick(struct vpit *p)
{
	if (!p->env || !p->env->now_ns)
		return p->last_tick;
	return tick_at(p, p->env->now_ns(p->env->ctx));
}

/* ---- one channel as a function of time ---------------------------------------------------------- */

static uint32_t modulus(const struct vpit_channel *c) { return c->bcd ? 10000 : 65536; }

/* The initial count the CR stands for: 0 is the largest count (2^16, or 10^4 in BCD). A BCD digit
 * above 9 is taken at its binary weight (the datasheet leaves such counts undefined). */
static uint32_t initial_count(const struct vpit_channel *c)
{
	if (c->cr == 0)
		return modulus(c);
	if (!c->bcd)
		return c->cr;
	return (uint32_t)(c->cr >> 12) * 1000 + ((c->cr >> 8) & 0xf) * 100 + ((c->cr >> 4) & 0xf) * 10 + (c->cr & 0xf);
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint16_t display(const struct vpit_channel *c, uint32_t count)
{
	return c->bcd ? to_bcd(count) : (uint16_t)count; /* 65536 reads as 0 */
}

static uint32_t mode3_high_len(uint32_t n) { return (n + 1) / 2; }

/* Counting element after e clocks of counting (e >= 0) from a load of n. */
static uint32_t seg_count(uint8_t mode, uint32_t n, bool phase_low, uint64_t e, uint32_t m)
{
	switch (mode) {
	case 2: /* n, n-1, ..., 1, reload */
		return n == 1 ? 1 : n - (uint32_t)(e % n);
	case 3: { /* by twos; an odd count loads n-1 and spends one more clock in the high half */
		uint32_t hi = mode3_high_len(n);
		uint32_t pos = (uint32_t)((e + (phase_low ? hi : 0)) % n);
		uint32_t half = pos < hi ? pos : pos - hi;
		return (n & 1 ? n - 1 : n) - 2 * half;
	}
	default: /* modes 0, 1, 4, 5: down through 0 and on, wrapping */
		return (uint32_t)((n % m + m - e % m) % m);
	}
}

static bool seg_out(uint8_t mode, uint32_t n, bool phase_low, uint64_t e)
{
	switch (mode) {
	case 0: /* low until terminal count, then high */
	case 1:
		return e >= n;
	case 2: /* low for the clock at count 1 */
		return n == 1 || e % n != n - 1;
	case 3: { /* high for ceil(n/2) clocks, low for floor(n/2) */
		uint32_t hi = mode3_high_len(n);
		return (e + (phase_low ? hi : 0)) % n < hi;
	}
	default: /* modes 4 and 5: a one-clock low strobe at count 0 */
		return e != n;
	}
}

/* First clock after `after` at which OUT rises in a stretch loaded with n at clock load, or NEVER.
 * Edges are at e >= 1 (the load itself never raises OUT). Counts of 1 in modes 2 and 3 (illegal on
 * the 8254) make an edge every clock: the programmed rate. */
static uint64_t seg_next_rise(uint8_t mode, uint32_t n, bool phase_low, uint64_t load, uint64_t after)
{
	uint64_t m = after > load ? after - load : 0; /* want the first edge at e > m */
	uint64_t e;

	switch (mode) {
	case 0:
	case 1:
		if (n <= m)
			return NEVER;
		e = n;
		break;
	case 4:
	case 5:
		if ((uint64_t)n + 1 <= m)
			return NEVER;
		e = (uint64_t)n + 1;
		break;
	case 2:
		e = n == 1 ? m + 1 : (m / n + 1) * n;
		break;
	default: { /* mode 3: rising at the start of each high half */
		if (n == 1) {
			e = m + 1;
			break;
		}
		uint64_t o = phase_low ? n - mode3_high_len(n) : 0;
		if (o == 0)
			e = (m / n + 1) * n;
		else
			e = m < o ? o : o + ((m - o) / n + 1) * n;
		break;
	}
	}
	return load + e;
}

/* Applies a pending mode 2/3 count once its (half-)cycle is over. */
static void ch_sync(struct vpit_channel *c, uint64_t t)
{
	if (c->state == VPIT_RUN && !c->suspended && c->pending && t >= c->pending_tick) {
		c->load_tick = c->pending_tick;
		c->n = c->pending_n;
		c->phase_low = c->pending_phase_low;
		c->pending = false;
	}
}

static bool ch_counting(const struct vpit_channel *c, uint64_t t)
{
	return c->state == VPIT_RUN && !c->suspended && t >= c->load_tick;
}

static uint32_t ch_count(struct vpit_channel *c, uint64_t t)
{
	ch_sync(c, t);
	if (!ch_counting(c, t))
		return c->held_count;
	return seg_count(c->mode, c->n, c->phase_low, t - c->load_tick, modulus(c));
}

static bool ch_out(struct vpit_channel *c, uint64_t t)
{
	ch_sync(c, t);
	if (!ch_counting(c, t))
		return c->held_out;
	return seg_out(c->mode, c->n, c->phase_low, t - c->load_tick);
}

static uint64_t ch_next_rise(const struct vpit_channel *c, uint64_t after)
{
	if (c->state != VPIT_RUN || c->suspended)
		return NEVER;
	uint64_t r = seg_next_rise(c->mode, c->n, c->phase_low, c->load_tick, after);
	if (!c->pending || r <= c->pending_tick)
		return r;
	return seg_next_rise(c->mode, c->pending_n, c->pending_phase_low, c->pending_tick,
			     after > c->pending_tick ? after : c->pending_tick);
}

/* Starts counting n from the next clock. */
static void ch_load(struct vpit_channel *c, uint64_t t, uint32_t n, bool out_before)
{
	c->state = VPIT_RUN;
	c->n = n;
	c->load_tick = t + 1;
	c->phase_low = false;
	c->pending = false;
	c->suspended = false;
	/* Before the load the CE is undefined after a control word (8254 datasheet); show the count
	 * being loaded, so a read right after programming never sees a stale larger value. */
	c->held_count = n;
	c->held_out = out_before;
	if (c->null_until > t + 1)
		c->null_until = t + 1;
}

/* Modes 2 and 3: a count written while counting waits for the end of the current cycle (mode 2) or
 * half-cycle (mode 3). */
static void ch_schedule(struct vpit_channel *c, uint64_t t, uint32_t n)
{
	uint64_t e = t - c->load_tick;
	uint64_t boundary;
	bool next_low = false;

	if (c->pending) { /* the boundary is already known; only the count changes */
		c->pending_n = n;
		c->null_until = c->pending_tick;
		return;
	}
	if (c->n == 1) {
		boundary = e + 1;
	} else if (c->mode == 2) {
		boundary = (e / c->n + 1) * c->n;
	} else {
		uint32_t hi = mode3_high_len(c->n);
		uint64_t pos = (e + (c->phase_low ? hi : 0)) % c->n;
		if (pos < hi) {
			boundary = e + (hi - pos);
			next_low = true;
		} else {
			boundary = e + (c->n - pos);
		}
	}
	c->pending = true;
	c->pending_n = n;
	c->pending_tick = c->load_tick + boundary;
	c->pending_phase_low = next_low;
	c->null_until = c->pending_tick;
}

/* The CR holds a complete new count. */
static void ch_count_written(struct vpit_channel *c, uint64_t t)
{
	uint32_t n = initial_count(c);

	ch_sync(c, t);
	c->null_until = NEVER; /* until the CE takes it */
	switch (c->mode) {
	case 0: /* OUT low at once; load on the next clock, count while the gate is high */
	case 4: /* a new count restarts the strobe count on the next clock */
		ch_load(c, t, n, c->mode == 4);
		if (!c->gate) {
			c->suspended = true;
			c->held_e = 0;
		}
		break;
	case 1:
	case 5: /* the count waits for a gate trigger; a running one-shot is not disturbed */
		if (c->state == VPIT_IDLE)
			c->state = VPIT_WAIT_TRIGGER;
		break;
	default: /* 2, 3 */
		if (c->state != VPIT_RUN) {
			ch_load(c, t, n, true);
			if (!c->gate)
				c->suspended = true; /* loaded, but counting waits for the gate */
		} else if (c->suspended) {
			/* the gate's rising edge will load the CR */
		} else if (t < c->load_tick) {
			c->n = n; /* not loaded yet: the newest count is what loads */
			c->held_count = n;
			c->null_until = c->load_tick;
		} else {
			ch_schedule(c, t, n);
		}
		break;
	}
}

static void ch_control(struct vpit_channel *c, uint64_t t, uint8_t cw)
{
	uint8_t mode = CW_MODE(cw);

	/* "When a Control Word is written to a Counter, all Control Logic is immediately reset and OUT
	 * goes to a known initial state": low in mode 0, high otherwise. Counting stops until a count is
	 * written; the CE keeps its value. Pending latches are dropped with the rest of the logic. */
	c->held_count = ch_count(c, t);
	c->ctrl = cw & 0x3f;
	c->access = CW_RW(cw);
	c->mode = mode > 5 ? mode - 4 : mode; /* 6 and 7 are aliases of 2 and 3 */
	c->bcd = cw & CW_BCD;
	c->state = VPIT_IDLE;
	c->suspended = false;
	c->pending = false;
	c->held_out = c->mode != 0;
	c->null_until = NEVER;
	c->write_msb = false;
	c->read_msb = false;
	c->latch_bytes = 0;
	c->status_latched = false;
}

static void ch_set_gate(struct vpit_channel *c, uint64_t t, bool gate)
{
	ch_sync(c, t);
	if (gate == c->gate)
		return;
	c->gate = gate;
	switch (c->mode) {
	case 0:
	case 4: /* the gate enables counting; OUT is not affected */
		if (c->state != VPIT_RUN)
			break;
		if (!gate && !c->suspended) {
			c->held_count = ch_count(c, t);
			c->held_out = ch_out(c, t);
			c->held_e = t >= c->load_tick ? t - c->load_tick : 0;
			c->suspended = true;
		} else if (gate && c->suspended) {
			c->suspended = false;
			c->load_tick = t - c->held_e; /* counting resumes from the next clock */
		}
		break;
	case 1:
	case 5: /* a rising edge (re)triggers: the CR loads on the next clock */
		if (gate && c->state != VPIT_IDLE)
			ch_load(c, t, initial_count(c), ch_out(c, t));
		break;
	default: /* 2, 3: low stops counting and forces OUT high; a rising edge reloads the CR */
		if (c->state != VPIT_RUN)
			break;
		if (!gate) {
			c->held_count = ch_count(c, t);
			c->held_out = true;
			c->suspended = true;
			if (c->pending)
				c->null_until = NEVER;
			c->pending = false;
		} else {
			ch_load(c, t, initial_count(c), true);
		}
		break;
	}
}

static void ch_latch_count(struct vpit_channel *c, uint64_t t)
{
	if (c->latch_bytes)
		return; /* a second latch before the first is read is ignored */
	c->latch = display(c, ch_count(c, t));
	c->latch_bytes = c->access == 3 ? 2 : 1;
	c->latch_msb = c->access == 2;
}

static void ch_latch_status(struct vpit_channel *c, uint64_t t)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((ch_out(c, t) ? STATUS_OUT : 0) | (t < c->null_until ? STATUS_NULL : 0) | c->ctrl);
	c->status_latched = true;
}

static uint8_t ch_read(struct vpit_channel *c, uint64_t t)
{
	uint16_t v;
	bool msb;

	/* Latched status first, whichever was latched first; then the latched count. */
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_bytes) {
		msb = c->latch_msb;
		c->latch_msb = !c->latch_msb;
		c->latch_bytes--;
		return (uint8_t)(msb ? c->latch >> 8 : c->latch);
	}
	v = display(c, ch_count(c, t));
	switch (c->access) {
	case 1:
		return (uint8_t)v;
	case 2:
		return (uint8_t)(v >> 8);
	default:
		msb = c->read_msb;
		c->read_msb = !c->read_msb;
		return (uint8_t)(msb ? v >> 8 : v);
	}
}

static void ch_write(struct vpit_channel *c, uint64_t t, uint8_t v)
{
	switch (c->access) {
	case 1:
		c->cr = v;
		break;
	case 2:
		c->cr = (uint16_t)(v << 8);
		break;
	default:
		if (!c->write_msb) {
			c->cr_lsb = v;
			c->write_msb = true;
			c->null_until = NEVER;
			if (c->mode == 0) {
				/* "Writing the first byte disables counting. OUT is set low immediately." */
				c->held_count = ch_count(c, t);
				c->held_out = false;
				c->state = VPIT_IDLE;
				c->suspended = false;
				c->pending = false;
			}
			return;
		}
		c->cr = (uint16_t)(v << 8 | c->cr_lsb);
		c->write_msb = false;
		break;
	}
	ch_count_written(c, t);
}

/* ---- IRQ 0 ---------------------------------------------------------------------------------------- */

static void irq_line(struct vpit *p, bool level)
{
	p->irq_level = level;
	if (level)
		p->irq_edges++;
	if (p->env && p->env->set_irq)
		p->env->set_irq(p->env->ctx, 0, level);
}

/* Presents channel 0's waveform up to clock t: one rising edge if any (or several) went by since the
 * last call, then OUT's current level. Must run before anything changes channel 0 at t. */
static void irq_sync(struct vpit *p, uint64_t t)
{
	struct vpit_channel *c = &p->ch[0];

	if (ch_next_rise(c, p->irq_tick) <= t) {
		if (p->irq_level)
			irq_line(p, false);
		irq_line(p, true);
	}
	p->irq_tick = t;
	if (ch_out(c, t) != p->irq_level)
		irq_line(p, !p->irq_level); /* also after a register write moved OUT */
}

uint64_t vpit_next_deadline(const struct vpit *p)
{
	uint64_t rise = ch_next_rise(&p->ch[0], p->irq_tick);

	return rise == NEVER ? NEVER : tick_to_ns(rise);
}

void vpit_advance(struct vpit *p, uint64_t now_ns) { irq_sync(p, tick_at(p, now_ns)); }

/* ---- ports ---------------------------------------------------------------------------------------- */

static void control_word(struct vpit *p, uint64_t t, uint8_t cw)
{
	if (CW_SC(cw) == 3) { /* read-back: bits 3:1 select channels; COUNT and STATUS are active low */
		for (unsigned i = 0; i < 3; i++) {
			if (!(cw & (2u << i)))
				continue;
			if (!(cw & READBACK_NO_COUNT))
				ch_latch_count(&p->ch[i], t);
			if (!(cw & READBACK_NO_STATUS))
				ch_latch_status(&p->ch[i], t);
		}
		return;
	}
	if (CW_RW(cw) == 0)
		ch_latch_count(&p->ch[CW_SC(cw)], t);
	else
		ch_control(&p->ch[CW_SC(cw)], t, cw);
}

static uint8_t port_read(struct vpit *p, uint64_t t, uint16_t port)
{
	switch (port) {
	case VPIT_PORT_CH0:
	case VPIT_PORT_CH1:
	case VPIT_PORT_CH2:
		return ch_read(&p->ch[port - VPIT_PORT_CH0], t);
	case VPIT_PORT_NMI_SC:
		return (uint8_t)((p->port61 & PORT61_WRITABLE) | (t / REFRESH_TICKS & 1 ? VPIT_61_REFRESH : 0) |
				 (ch_out(&p->ch[2], t) ? VPIT_61_OUT2 : 0));
	default: /* the control word register is write-only */
		return 0xff;
	}
}

static void port_write(struct vpit *p, uint64_t t, uint16_t port, uint8_t v)
{
	switch (port) {
	case VPIT_PORT_CH0:
	case VPIT_PORT_CH1:
	case VPIT_PORT_CH2:
		ch_write(&p->ch[port - VPIT_PORT_CH0], t, v);
		break;
	case VPIT_PORT_CMD:
		control_word(p, t, v);
		break;
	case VPIT_PORT_NMI_SC:
		p->port61 = v & PORT61_WRITABLE; /* status bits 7:4 are read-only */
		ch_set_gate(&p->ch[2], t, v & VPIT_61_GATE2);
		break;
	default:
		break;
	}
}

bool vpit_io(void *dev, uint16_t port, uint8_t bytes, bool in, uint32_t *value)
{
	struct vpit *p = dev;

	if (bytes != 1 && bytes != 2 && bytes != 4)
		return false;
	uint64_t t = now_tick(p);
	irq_sync(p, t);
	for (unsigned i = 0; i < bytes; i++) {
		uint16_t port_i = (uint16_t)(port + i);
		if (in) {
			*value &= ~(0xffu << (8 * i));
			*value |= (uint32_t)port_read(p, t, port_i) << (8 * i);
		} else {
			port_write(p, t, port_i, (uint8_t)(*value >> (8 * i)));
		}
	}
	irq_sync(p, t);
	return true;
}

void vpit_init(struct vpit *p, const struct vdev_env *env)
{
	*p = (struct vpit){ .env = env };
	uint64_t t = now_tick(p);

	for (unsigned i = 0; i < 3; i++)
		p->ch[i].gate = i != 2; /* gates 0 and 1 are tied high; gate 2 is port 0x61 bit 0 */
	ch_control(&p->ch[0], t, 0x36); /* channel 0, LSB then MSB, mode 3, binary */
	ch_write(&p->ch[0], t, 0);
	ch_write(&p->ch[0], t, 0);
	ch_control(&p->ch[1], t, 0x54); /* channel 1, LSB only, mode 2, binary */
	ch_write(&p->ch[1], t, 18);
	ch_control(&p->ch[2], t, 0xb6); /* channel 2, LSB then MSB, mode 3, binary */
	ch_write(&p->ch[2], t, 0);
	ch_write(&p->ch[2], t, 0);
	/* IRQ 0 is considered high already (OUT is high in mode 3): nothing is sent before the first
	 * real edge, so the first edge a controller sees is a real one. */
	p->irq_level = true;
	p->irq_tick = t;
}
