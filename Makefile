# InsightCore in C.  `make` builds the tools, `make check` installs what the
# tests need (Debian), builds everything again with ASan and UBSan and runs
# the tests under prove.  Every output goes below $(B), so two builds with
# different B= never race.
#
# The source tree is in layers; each folder is one archive and may use only
# the folders below it:
#
#   cmd/TOOL/   one tool: its main and the modules that serve it alone
#   post/       the posters' machinery: spool, hooks, dedupe, rendering
#   match/      the stream language: streams, conditions, the verdict, index
#   net/        HTTP, the ESI client and its cache
#   json/       NDJSON lines, the validating scanner, pairs
#   lib/        Unix plumbing: logs, memory, lines, signals, hashing
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/insight
SYSCONFDIR ?= $(PREFIX)/etc
STATEDIR ?= /var/lib/insight
B ?= build

CC ?= cc
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror=implicit-function-declaration
CPPFLAGS += -D_GNU_SOURCE -I. -MMD -MP
STD = -std=gnu11
LDLIBS = -ljq -ljansson -lcurl -lhiredis -lm
SAN = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# What each tool is made of: the objects of cmd/TOOL/, then these archives.
LIBS_redisq-pull   = net json lib
LIBS_esi-resolve   = net json lib
LIBS_stream-fanout = match json lib
LIBS_filter1       = match json lib
LIBS_filter2       = match net json lib
LIBS_post-discord  = post net json lib
LIBS_post-slack    = post net json lib

LAYERS := lib json net match post
TOOLS := redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack
UNITS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/*.c))

objs = $(patsubst %.c,$(2)/obj/%.o,$(wildcard $(1)/*.c))

all: $(addprefix $(B)/bin/,$(TOOLS))

# The version, from one place: the VERSION file (also in a tarball).
VERSION := $(shell cat VERSION 2>/dev/null || echo unknown)
VERSIONED := $(foreach d,$(B) $(B)/san,$(d)/obj/lib/opt.o $(d)/obj/lib/conf.o)
$(VERSIONED): VERSION
$(VERSIONED): CPPFLAGS += -DINSIGHT_VERSION='"$(VERSION)"'

# Normal build
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(foreach l,$(LAYERS),$(eval $(B)/$(l).a: $(call objs,$(l),$(B))))
$(B)/%.a:
	rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
$(B)/bin/%: $$(call objs,cmd/$$*,$(B)) $$(addprefix $(B)/,$$(addsuffix .a,$$(LIBS_$$*)))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Sanitizer build for the tests.  A unit test may test a tool's own module
# (filter2's geo): it links every tool's objects but their mains.
$(B)/san/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CPPFLAGS) -Itests/unit $(SAN) -c -o $@ $<
$(foreach l,$(LAYERS),$(eval $(B)/san/$(l).a: $(call objs,$(l),$(B)/san)))
$(B)/san/tools.a: $(filter-out $(foreach t,$(TOOLS),%/$(t).o),$(foreach t,$(TOOLS),$(call objs,cmd/$(t),$(B)/san)))
$(B)/san/%.a:
	rm -f $@ && ar rcs $@ $^
$(B)/san/bin/%: $$(call objs,cmd/$$*,$(B)/san) $$(addprefix $(B)/san/,$$(addsuffix .a,$$(LIBS_$$*)))
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)
$(B)/san/t/%.t: $(B)/san/obj/tests/unit/%.o $(B)/san/tools.a $(patsubst %,$(B)/san/%.a,post match net json lib)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

san: $(addprefix $(B)/san/bin/,$(TOOLS)) $(addprefix $(B)/san/t/,$(addsuffix .t,$(UNITS)))

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)

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

# Every manual page in the tree, whatever its section (tools: 1, formats: 5).
MANS = $(shell find . -path ./.git -prune -o -path './build*' -prune -o \
	-path ./debian -prune -o -name '*.[1-8]' -type f -print)

# The tools, then the rest.  An installed insight keeps its streams in
# SYSCONFDIR/insight/streams.d and its state in STATEDIR, whatever the
# current directory: written into it here.  Stream files already there are
# the site's and are not replaced.
install: all
	mkdir -p $(DESTDIR)$(BINDIR)
	for t in $(TOOLS); do install -m 755 $(B)/bin/$$t $(DESTDIR)$(BINDIR)/; done
	@$(MAKE) --no-print-directory install-share

install-share:
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)/insight/streams.d
	sed -e 's|^STATE_DIR=$${STATE_DIR:-var}$$|STATE_DIR=$${STATE_DIR:-$(STATEDIR)}|' \
	    -e 's|^STREAMS_DIR=$${STREAMS_DIR:-streams.d}$$|STREAMS_DIR=$${STREAMS_DIR:-$(SYSCONFDIR)/insight/streams.d}|' \
	    bin/insight >$(DESTDIR)$(BINDIR)/insight.tmp
	grep -q '^STATE_DIR=$${STATE_DIR:-$(STATEDIR)}$$' $(DESTDIR)$(BINDIR)/insight.tmp
	grep -q '^STREAMS_DIR=$${STREAMS_DIR:-$(SYSCONFDIR)/insight/streams.d}$$' $(DESTDIR)$(BINDIR)/insight.tmp
	chmod 755 $(DESTDIR)$(BINDIR)/insight.tmp && mv $(DESTDIR)$(BINDIR)/insight.tmp $(DESTDIR)$(BINDIR)/insight
	for m in $(MANS); do s=$${m##*.}; mkdir -p $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	rm -rf $(DESTDIR)$(DATADIR)/services
	cp -R services $(DESTDIR)$(DATADIR)/services
	install -m 644 VERSION $(DESTDIR)$(DATADIR)/
	mkdir -p $(DESTDIR)$(DATADIR)/streams.d
	install -m 644 streams.d/*.json $(DESTDIR)$(DATADIR)/streams.d/
	for f in streams.d/*.json; do d=$(DESTDIR)$(SYSCONFDIR)/insight/$$f; \
		[ -e $$d ] || install -m 644 $$f $$d || exit 1; done

# The Debian package (debian/) of the tree as it is, built in a copy:
# $(B)/deb/insightcore_VERSION_ARCH.deb.  Installs debhelper and lintian
# when missing; lintian must pass (debian/*.lintian-overrides say why each
# remaining tag is there).
deb:
	@sh tests/deps.sh deb
	rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	tar -c --exclude=./.git --exclude='./build*' --exclude=./var --exclude=./results . | \
		tar -x -C $(B)/deb/src
	cd $(B)/deb/src && dpkg-buildpackage -b -us -uc
	lintian --fail-on error,warning --info $(B)/deb/*.changes
	@ls $(B)/deb/*.deb

# As root: build the package, install it, run it as a service would run,
# remove and purge it (tests/pkg/).  CI runs it.
check-pkg:
	prove $(PROVEFLAGS) tests/pkg/*.t

# The pipeline in the foreground against the live zKillboard and ESI, with
# this repository's streams.d; state and run directory in var/.  ^C stops
# it in order (insight down).  Installs what is missing first, as check.
run: deps
	@$(MAKE) --no-print-directory all
	PATH="$(CURDIR)/$(B)/bin:$$PATH" STATE_DIR=var STREAMS_DIR=streams.d exec bin/insight up

# The whole pipeline against the fakes on ../shared/data (or synthetic
# data): prints a table, writes it under results/.  Asserts nothing.
# QUICK=1 for a first look; see bench/run.sh.  The throughput runs post to
# tests/fake/sink.c, a lean Discord host in C that does not bound them.
bench: all $(B)/fake-sink $(B)/metrics-cost
	BIN=$(CURDIR)/$(B)/bin SINK=$(CURDIR)/$(B)/fake-sink \
	    METRICS_COST=$(CURDIR)/$(B)/metrics-cost bench/run.sh

$(B)/fake-sink: tests/fake/sink.c
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) -D_GNU_SOURCE $(CFLAGS) -o $@ $<

$(B)/metrics-cost: bench/metrics.c $(B)/lib.a
	$(CC) $(STD) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

clean:
	rm -rf $(B)

.PHONY: all san deps check check-real install install-share deb check-pkg clean run bench
.SECONDARY:
