/* Selectors of the guest GDT (gdt.S); shared by C and assembly. */
#ifndef GUEST_SEGMENTS_H
#define GUEST_SEGMENTS_H

#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define SEL_CODE64 0x18
#define SEL_NOT_PRESENT 0x20 /* a data segment with P=0: loading it raises #NP */
#define GDT_LIMIT 0x27

#endif
