#!/usr/bin/python3
"""A scripted org.freedesktop.resolve1 for tests/resolved_netns.rs (python3-dbus).

Owns the name on the bus of $DBUS_SYSTEM_BUS_ADDRESS and answers the Manager's per-link
setters the way systemd-resolved does, writing one line per call to the log (argv[1]):
`SetLinkDomains 7 corp.example:false .:true`, `SetLinkDNS 7 2:192.0.2.53`, ...
Behaviour (environment):
  FAKE_UNKNOWN_LINK=N  the first N setter calls fail with NoSuchLink ("Link 7 not known")
  FAKE_LINK_BUSY=1     every setter fails with LinkBusy ("Link wg0 is managed.")
  FAKE_NO_DNSEX=1      SetLinkDNSEx is an unknown method (resolved before v246)
Prints "ready" on stdout once the name is owned.
"""
import ipaddress
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

IFACE = "org.freedesktop.resolve1.Manager"
log = open(sys.argv[1], "a", buffering=1)
unknown_left = int(os.environ.get("FAKE_UNKNOWN_LINK", "0"))
busy = os.environ.get("FAKE_LINK_BUSY") == "1"


class NoSuchLink(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.resolve1.NoSuchLink"


class LinkBusy(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.resolve1.LinkBusy"


class UnknownMethod(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.DBus.Error.UnknownMethod"


def addr(family, raw):
    b = bytes(int(x) for x in raw)
    return str(ipaddress.ip_address(b)) if (family, len(b)) in ((2, 4), (10, 16)) else "bad:%d:%s" % (family, b.hex())


class Manager(dbus.service.Object):
    def gate(self, name, ifindex, text):
        global unknown_left
        if unknown_left > 0:
            unknown_left -= 1
            log.write("refused NoSuchLink %s %d\n" % (name, ifindex))
            raise NoSuchLink("Link %d not known" % ifindex)
        if busy:
            log.write("refused LinkBusy %s %d\n" % (name, ifindex))
            raise LinkBusy("Link %d is managed." % ifindex)
        log.write("%s %d%s\n" % (name, ifindex, text))

    @dbus.service.method(IFACE, in_signature="ia(iay)", out_signature="")
    def SetLinkDNS(self, ifindex, addrs):
        self.gate("SetLinkDNS", ifindex, "".join(" %d:%s" % (f, addr(f, a)) for f, a in addrs))

    @dbus.service.method(IFACE, in_signature="ia(iayqs)", out_signature="")
    def SetLinkDNSEx(self, ifindex, addrs):
        if os.environ.get("FAKE_NO_DNSEX") == "1":
            raise UnknownMethod("Unknown method SetLinkDNSEx")
        self.gate("SetLinkDNSEx", ifindex, "".join(" %d:%s:%d:%s" % (f, addr(f, a), p, n) for f, a, p, n in addrs))

    @dbus.service.method(IFACE, in_signature="ia(sb)", out_signature="")
    def SetLinkDomains(self, ifindex, domains):
        self.gate("SetLinkDomains", ifindex, "".join(" %s:%s" % (d, "true" if r else "false") for d, r in domains))

    @dbus.service.method(IFACE, in_signature="ib", out_signature="")
    def SetLinkDefaultRoute(self, ifindex, enable):
        self.gate("SetLinkDefaultRoute", ifindex, " " + ("true" if enable else "false"))

    @dbus.service.method(IFACE, in_signature="i", out_signature="")
    def RevertLink(self, ifindex):
        log.write("RevertLink %d\n" % ifindex)


dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
name = dbus.service.BusName("org.freedesktop.resolve1", bus, do_not_queue=True)
Manager(bus, "/org/freedesktop/resolve1")
print("ready", flush=True)
GLib.MainLoop().run()
