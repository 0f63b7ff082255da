# packaging/packaging.mk — what a server needs beyond the binaries: the
# systemd units and the example configuration (make install), and the
# Debian packages (make deb). Included by the top-level Makefile.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [UNITDIR=...] [SYSCONFDIR=...]
#       also installs (install-system):
#         $(UNITDIR)/dtxd.service, dtx-gateway.service   (units, 0644)
#         $(SYSCONFDIR)/dtx/dtxd.env, gateway.json       (examples, 0644;
#                                                         never overwritten)
#         $(MANDIR)/man8/dtxd.8, dtx-gateway.8, man1/dtxctl.1
#       UNITDIR defaults to $(PREFIX)/lib/systemd/system (systemd reads
#       /usr/local/lib/systemd/system too); SYSCONFDIR to /etc for
#       PREFIX=/usr, else $(PREFIX)/etc (a private prefix stays private).
#   make deb
#       build/deb/{dtxd,dtx-gateway,libdtx1,libdtx-dev}_VERSION_ARCH.deb,
#       always from a plain build (SAN=0 TSAN=0, BUILD=build): an install
#       into build/deb/root with Debian's paths, split by packaging/deb.sh.
#       tests/stages/packages.sh checks them (lintian included).

UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR     ?= $(PREFIX)/share/man
UNIT_FILES := dtxd.service dtx-gateway.service
ETC_FILES  := dtxd.env gateway.json

.PHONY: install-system deb
install-system:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/dtx $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	for m in dtxd.8 dtx-gateway.8 dtxctl.1; do \
	    sed -e 's|@VERSION@|$(DTX_VERSION)|g' packaging/man/$$m \
	        > $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m && chmod 644 $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m || exit 1; \
	done
	for u in $(UNIT_FILES); do \
	    sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	        packaging/systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	for f in $(ETC_FILES); do \
	    [ -e $(DESTDIR)$(SYSCONFDIR)/dtx/$$f ] || \
	        install -m 644 packaging/etc/$$f $(DESTDIR)$(SYSCONFDIR)/dtx/$$f || exit 1; \
	done

# Debian's paths: the multiarch library directory, the unit directory of
# this systemd (/lib/systemd/system before the /usr merge of trixie).
DEB_ROOT      := build/deb/root
DEB_MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
DEB_UNITDIR   := $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)

deb:
	rm -rf $(DEB_ROOT)
	$(MAKE) BUILD=build SAN=0 TSAN=0 install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr \
	    LIBDIR=/usr/lib/$(DEB_MULTIARCH) UNITDIR=$(DEB_UNITDIR) SYSCONFDIR=/etc
	packaging/deb.sh $(DEB_ROOT) build/deb $(DTX_VERSION)
