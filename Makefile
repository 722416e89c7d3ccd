# SPDX-License-Identifier: GPL-2.0
#
# Thin wrapper: everything real lives in tools/testing/selftests/mm/anon_vma_lazy
# (the part that would go upstream) and in scripts/ and test/ (this
# repository's own plumbing and checks).
#
#   make run    build and run the suite on the running kernel (as root;
#               RUN_ARGS, default "-a -s": every category, with a temporary
#               swap device so that the swap and pageout tests run)
#   make check  the project's own tests (see test/run.sh)
#   make vm     run the suite in QEMU (VM_ARGS="-k bzImage -- -t fork")
#   make clean

SELFTEST := tools/testing/selftests/mm/anon_vma_lazy
RUN_ARGS ?= -a -s
VM_ARGS ?=

.PHONY: all deps framework build run check vm clean

all: build

deps:
	sh scripts/deps.sh

framework:
	sh scripts/fetch-framework.sh >/dev/null

build: framework
	$(MAKE) -C $(SELFTEST)

run: build
	cd $(SELFTEST) && ./run_vmtests.sh $(RUN_ARGS)

check:
	sh test/run.sh

vm: framework
	$(SELFTEST)/vmtest.sh $(VM_ARGS)

clean:
	-$(MAKE) -C $(SELFTEST) clean
	-$(MAKE) -C test/unit clean
