# SPDX-License-Identifier: GPL-2.0
# Entry points of the msharefs project; vm/msharevm does the work.
# See README.md.

MSHAREVM := vm/msharevm

.PHONY: check demo bench shell kernel tests initramfs tree deps clean help mmtests lint soak

check:			## build the test kernel and run every selftest in it
	$(MSHAREVM) check

demo:			## build, boot and show what msharefs does
	$(MSHAREVM) demo

bench:			## build the bench kernel and run the benchmarks
	$(MSHAREVM) bench

mmtests:		## the kernel's mm selftests on a vanilla and the patched kernel
	$(MSHAREVM) mmtests

soak:			## fuzzer, race tests and memory pressure (SOAK_MINUTES=30)
	$(MSHAREVM) soak

lint:			## the static gates: checkpatch, kernel-doc, sparse, W=1
	$(MSHAREVM) lint

shell:			## boot the test kernel to a shell on the serial console
	$(MSHAREVM) shell

kernel:			## rebuild just the kernel (FLAVOUR=test|bench)
	$(MSHAREVM) kernel

tests:			## rebuild just the selftests and tools, and the initramfs
	$(MSHAREVM) tests && $(MSHAREVM) initramfs

tree deps initramfs:
	$(MSHAREVM) $@

clean:			## remove the build folder (kernel tree, objects, logs)
	rm -rf build

help:
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'
