/* benchpeer's WFI loop, 64 KiB-aligned so that its addresses lie beyond the whole bench guest
 * image (both guests are linked at 0x40080000): bench/profile.py tells the two VMs apart in an
 * instruction trace by the program counter. */
	.text
	.balign	65536
	.global	peer_loop
peer_loop:
	wfi
	b	peer_loop
