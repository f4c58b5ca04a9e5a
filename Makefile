# InsightCore in C.  `make` builds the tools, `make check` installs what the
# tests need (Debian), builds everything again with ASan and UBSan and runs
# the tests under prove.  Every output goes below $(B), so two builds with
# different B= never race.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
B ?= build

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror=implicit-function-declaration
CPPFLAGS += -D_GNU_SOURCE -Icommon
STD = -std=gnu11
LDLIBS = -ljq -ljansson -lcurl -lhiredis -lm
SAN = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

TOOLS := $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
COMMON := $(wildcard common/*.c)
UNITS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/*.c))
SCRIPTS := insight

all: $(addprefix $(B)/bin/,$(TOOLS))

# Normal build
$(B)/obj/%.o: %.c $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/libcommon.a: $(patsubst %.c,$(B)/obj/%.o,$(COMMON))
	rm -f $@ && ar rcs $@ $^
$(B)/bin/%: $(B)/obj/cmd/%.o $(B)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Sanitizer build for the tests
$(B)/san/obj/%.o: %.c $(wildcard common/*.h) tests/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CPPFLAGS) -Itests/unit $(SAN) -c -o $@ $<
$(B)/san/libcommon.a: $(patsubst %.c,$(B)/san/obj/%.o,$(COMMON))
	rm -f $@ && ar rcs $@ $^
$(B)/san/bin/%: $(B)/san/obj/cmd/%.o $(B)/san/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)
$(B)/san/t/%.t: $(B)/san/obj/tests/unit/%.o $(B)/san/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

san: $(addprefix $(B)/san/bin/,$(TOOLS)) $(addprefix $(B)/san/t/,$(addsuffix .t,$(UNITS)))

deps:
	@sh tests/deps.sh

# Tests see the sanitizer binaries through BIN; T selects a subset.
T ?= $(B)/san/t/*.t tests/t/*.t
check: deps
	@$(MAKE) --no-print-directory san
	BIN=$(CURDIR)/$(B)/san/bin ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1 prove $(PROVEFLAGS) $(T)

# Tests that need ../shared/data (real killmails); they skip without it.
check-real: deps
	@$(MAKE) --no-print-directory all
	BIN=$(CURDIR)/$(B)/bin REAL=1 prove $(PROVEFLAGS) tests/real/*.t

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	for t in $(TOOLS); do install -m 755 $(B)/bin/$$t $(DESTDIR)$(BINDIR)/; done
	for s in $(SCRIPTS); do [ ! -f bin/$$s ] || install -m 755 bin/$$s $(DESTDIR)$(BINDIR)/; done
	for m in cmd/*.1 bin/*.1; do [ ! -f $$m ] || install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	mkdir -p $(DESTDIR)$(PREFIX)/share/insight
	rm -rf $(DESTDIR)$(PREFIX)/share/insight/services
	cp -R services $(DESTDIR)$(PREFIX)/share/insight/services

# The pipeline in the foreground against the live zKillboard and ESI, with
# this repository's streams.d; state and run directory in var/.  ^C stops
# it in order (insight down).
run: all
	PATH="$(CURDIR)/$(B)/bin:$$PATH" STATE_DIR=var STREAMS_DIR=streams.d exec bin/insight up

# The whole pipeline against the fakes on ../shared/data (or synthetic
# data): prints a table, writes it under results/.  Asserts nothing.
# QUICK=1 for a first look; see bench/run.sh.
bench: all
	BIN=$(CURDIR)/$(B)/bin bench/run.sh

clean:
	rm -rf $(B)

.PHONY: all san deps check check-real install clean run bench
.SECONDARY:
