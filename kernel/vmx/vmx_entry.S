/*
 * Guest entry and exit. vmx_enter(gprs, launched) saves the host's callee-saved registers, loads
 * the guest's general registers from gprs[] (vm_reg order; RSP lives in the VMCS) and enters.
 * A VM exit lands at vmx_exit_entry (HOST_RIP) on the same stack, stores the guest registers and
 * returns 0 from vmx_enter. A failed VMLAUNCH/VMRESUME falls through and returns 1.
 */
#define VMCS_HOST_RSP 0x6c14
#define GPR(n) (8 * (n))
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7

	.text
	.code64
	.globl vmx_enter, vmx_exit_entry
vmx_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi			/* gprs, for the exit path */
	movl $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax

	movq GPR(RAX)(%rdi), %rax
	movq GPR(RCX)(%rdi), %rcx
	movq GPR(RDX)(%rdi), %rdx
	movq GPR(RBX)(%rdi), %rbx
	movq GPR(RBP)(%rdi), %rbp
	movq GPR(8)(%rdi), %r8
	movq GPR(9)(%rdi), %r9
	movq GPR(10)(%rdi), %r10
	movq GPR(11)(%rdi), %r11
	movq GPR(12)(%rdi), %r12
	movq GPR(13)(%rdi), %r13
	movq GPR(14)(%rdi), %r14
	movq GPR(15)(%rdi), %r15
	testl %esi, %esi
	movq GPR(RSI)(%rdi), %rsi
	movq GPR(RDI)(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* entry failed: nothing of the guest ran */
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	movl $1, %eax
	ret

vmx_exit_entry:
	pushq %rdi
	movq 8(%rsp), %rdi
	movq %rax, GPR(RAX)(%rdi)
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
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	xorl %eax, %eax
	ret
