/*
 * Guest entry and exit (AMD APM vol. 2 15.5, 15.17).
 * void svm_enter(uint64_t *gprs, uint64_t vmcb_pa, uint64_t host_vmcb_pa)
 *
 * VMRUN saves and restores only part of the host (RSP, RIP, RAX, RFLAGS, CRs, EFER, ES/CS/SS/DS,
 * GDTR/IDTR) and loads only that part of the guest. FS, GS, TR, LDTR, KERNEL_GS_BASE and the
 * syscall/sysenter MSRs are the guest's (hv passes those MSRs through) between VMLOAD of the
 * guest VMCB and VMSAVE back into it; VMLOAD of this CPU's host VMCB then restores hv's own - GS
 * base first of all, which this_cpu() needs - before anything can interrupt: GIF stays clear from
 * before the guest's VMLOAD until the host's VMLOAD is done. With host IF set, a physical interrupt
 * or NMI during the guest exits (INTR/NMI intercepts) and stays pending until STGI, where the
 * host's IDT takes it; CLI then returns to the caller's interrupts-off state.
 * The other guest GPRs are loaded from and stored to gprs[] (vm_reg order); RAX and RSP live in
 * the VMCB.
 */
#define GPR(n) (8 * (n))
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7

	.text
	.code64
	.globl svm_enter
svm_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx			/* host VMCB, for after the exit */
	pushq %rdi			/* gprs */
	movq %rsi, %rax			/* guest VMCB */
	movq GPR(RCX)(%rdi), %rcx
	movq GPR(RDX)(%rdi), %rdx
	movq GPR(RBX)(%rdi), %rbx
	movq GPR(RBP)(%rdi), %rbp
	movq GPR(RSI)(%rdi), %rsi
	movq GPR(8)(%rdi), %r8
	movq GPR(9)(%rdi), %r9
	movq GPR(10)(%rdi), %r10
	movq GPR(11)(%rdi), %r11
	movq GPR(12)(%rdi), %r12
	movq GPR(13)(%rdi), %r13
	movq GPR(14)(%rdi), %r14
	movq GPR(15)(%rdi), %r15
	movq GPR(RDI)(%rdi), %rdi
	clgi
	sti
	vmload %rax
	vmrun %rax
	vmsave %rax			/* RAX is the host's again: the guest VMCB */

	xchgq %rdi, (%rsp)		/* guest RDI out, gprs in */
	movq %rcx, GPR(RCX)(%rdi)
	movq %rdx, GPR(RDX)(%rdi)
	movq %rbx, GPR(RBX)(%rdi)
	movq %rbp, GPR(RBP)(%rdi)
	movq %rsi, GPR(RSI)(%rdi)
	movq %r8, GPR(8)(%rdi)
	movq %r9, GPR(9)(%rdi)
	movq %r10, GPR(10)(%rdi)
	movq %r11, GPR(11)(%rdi)
	movq %r12, GPR(12)(%rdi)
	movq %r13, GPR(13)(%rdi)
	movq %r14, GPR(14)(%rdi)
	movq %r15, GPR(15)(%rdi)
	popq GPR(RDI)(%rdi)
	popq %rax
	vmload %rax			/* hv's GS base, TR, ... */
	stgi				/* a pending host interrupt or NMI is taken here */
	cli
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
