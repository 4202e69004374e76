/* A ticket-free test-and-set lock: hv holds locks for a few instructions only. */
#ifndef HV_SPINLOCK_H
#define HV_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
};

static inline bool spin_trylock(struct spinlock *l) { return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE); }

static inline void spin_lock(struct spinlock *l)
{
	while (!spin_trylock(l))
		while (l->locked)
			__asm__ volatile("pause");
}

static inline void spin_unlock(struct spinlock *l) { __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE); }

/* Interrupt-safe variants: the lock may also be taken from an interrupt handler on this CPU. */
static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	spin_unlock(l);
	if (flags & (1u << 9))
		__asm__ volatile("sti" ::: "memory");
}

#endif
