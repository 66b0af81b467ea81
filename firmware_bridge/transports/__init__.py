"""Device links: serial, BLE and UDP transports as supervised device sources.

Importing this package registers the live ``--device`` kinds with
:mod:`cervitrack.firmware_bridge.device_spec` (``sim`` and ``replay:PATH`` are registered by
:mod:`cervitrack.trainer.simulation.sim_source` and the recording's replay module;
:func:`cervitrack.trainer.live.devices.open_device` imports them all):

============================  =============================================================
``serial:PORT``               a serial port (:mod:`.serial_link`); ``--baud`` overrides the
                              protocol's default line speed
``ble:ADDRESS_OR_NAME``       a BLE peripheral (:mod:`.ble`); the device profile follows
                              ``--protocol`` or is recognised from the advertised name
``udp:PORT``, ``udp:HOST:PORT``  UDP datagrams (:mod:`.udp`), default port 4242
============================  =============================================================

Every live transport runs under the link supervisor (:mod:`.base`,
:mod:`cervitrack.firmware_bridge.supervisor`). See docs/transports.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from cervitrack.firmware_bridge import profiles
from cervitrack.firmware_bridge.device_spec import register_source
from cervitrack.firmware_bridge.protocols import make_decoder
from cervitrack.firmware_bridge.transports.base import (
    LinkError,
    LinkLost,
    LinkRunner,
    LinkUnavailable,
    LiveSource,
)

if TYPE_CHECKING:
    from cervitrack.firmware_bridge.transports.ble import BleProfileLike

#: Serial line speed when no device profile names one (most IMU boards and adapters).
DEFAULT_BAUD = 115200


def _serial_settings(protocol: str, baud: int | None) -> tuple[int, bool]:
    """(baud, rtscts) for ``protocol``: the device profile's defaults, ``baud`` overriding."""
    try:
        profile = profiles.serial_profile(protocol)
        default, rtscts = profile.baud, profile.rtscts
    except ValueError:  # a protocol without serial defaults (e.g. a BLE-only one)
        default, rtscts = DEFAULT_BAUD, False
    if baud is not None and not (isinstance(baud, int) and 50 <= baud <= 12_000_000):
        raise ValueError(f"--baud must be a line speed such as 115200, not {baud}")
    return (baud or default), rtscts


def open_serial(spec, protocol: str | None = None, baud: int | None = None,
                wait_for_device: bool = False, configure: bool = True,
                rate_hz: float | None = None, save_config: bool = False,
                **_options) -> LiveSource:
    """A serial device. With ``configure`` (the default) the sensor is put in the mode the
    tests need on every open (:func:`profiles.serial_setup`: WitMotion unlock, ``rate_hz``
    (default 100 Hz), output content, and save only with ``save_config``)."""
    from cervitrack.firmware_bridge.transports.serial_link import SerialDriver

    protocol = protocol or "reference"
    decoder = make_decoder(protocol)
    line_rate, rtscts = _serial_settings(protocol, baud)
    setup, configured_hz = profiles.serial_setup(protocol, rate_hz, save_config) if configure \
        else ((), None)
    driver = SerialDriver(spec.target, line_rate, rtscts, setup=setup)
    source = LiveSource(driver, protocol, configured_hz or decoder.nominal_rate_hz, spec.text,
                        wait_for_device=wait_for_device)
    source.configured_rate_hz = configured_hz
    return source


def ble_profile_chooser(protocol: str | None):
    """The profile for ``protocol`` (a profile key or decoder name), or, when None, a function
    that recognises the profile from the advertised name after the scan."""
    if protocol is None:
        return profiles.profile_for_name
    if protocol in profiles.BLE_PROFILES:
        return profiles.BLE_PROFILES[protocol]
    base, _, option = protocol.partition(":")
    if base == "movella-dot" and option:
        if not option.isdigit():
            raise ValueError(f"bad Movella DOT payload mode {option!r} in {protocol!r}")
        return profiles.movella_dot_profile(int(option))
    for profile in profiles.BLE_PROFILES.values():
        if profile.protocol == protocol:
            return profile
    known = sorted(set(profiles.BLE_PROFILES) | {p.protocol for p in profiles.BLE_PROFILES.values()})
    raise ValueError(f"no BLE profile for protocol {protocol!r}; choose one of: {', '.join(known)}")


def ble_backend(environ=None) -> dict:
    """``BleDriver`` keyword arguments for the Bluetooth stack: bleak's platform backend
    (none), or the Bumble backend when ``CERVITRACK_BLE_BACKEND=bumble:HOST:PORT`` names one
    (an emulated sensor from ``cervitrack emulate``, or ``bumble:usb:0`` for a controller driven
    by Bumble; :mod:`cervitrack.firmware_bridge.emulation.bleak_backend`)."""
    import os

    text = (os.environ if environ is None else environ).get("CERVITRACK_BLE_BACKEND", "")
    if not text.strip():
        return {}
    try:
        from cervitrack.firmware_bridge.emulation import bleak_backend
    except ImportError as exc:
        raise LinkUnavailable(f"CERVITRACK_BLE_BACKEND={text} needs the optional package "
                              f"bumble (pip install 'cervitrack[ble-emulation]'): {exc}") from None
    transport = bleak_backend.parse_backend(text)
    return {"scanner": bleak_backend.scanner_class(transport),
            "client_factory": bleak_backend.client_factory(transport)}


def open_ble(spec, protocol: str | None = None, wait_for_device: bool = False,
             configure: bool = True, rate_hz: float | None = None, save_config: bool = False,
             filter_profile: str = "general", scanner=None, client_factory=None,
             **_options) -> LiveSource:
    """A BLE device. With ``configure`` (the default) the profile's configuration steps put
    the sensor in the mode the tests need on every connection
    (:func:`profiles.configured_ble_profile`)."""
    from cervitrack.firmware_bridge.transports.ble import BleDriver

    choice = ble_profile_chooser(protocol)
    backend = ble_backend() if scanner is None and client_factory is None else \
        {"scanner": scanner, "client_factory": client_factory}
    driver = BleDriver(spec.target, choice, **backend)
    # Without --protocol the profile (and so the decoder) is known only after a scan.
    profile = driver.identify() if callable(choice) else choice
    configured_hz = None
    if configure and isinstance(profile, profiles.BleProfile):
        configured = profiles.configured_ble_profile(profile, rate_hz, save_config,
                                                     filter_profile)
        if configured is not profile:
            driver.profile = cast("BleProfileLike", configured)
            configured_hz = configured.nominal_rate_hz
            profile = configured
    make_decoder(profile.protocol)
    source = LiveSource(driver, profile.protocol, profile.nominal_rate_hz, spec.text,
                        wait_for_device=wait_for_device)
    source.configured_rate_hz = configured_hz
    return source


def parse_udp_target(target: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` → (host, port). Without a host Cervitrack listens on this
    computer only (127.0.0.1); ``udp:0.0.0.0:PORT`` accepts a phone or tracker on the network."""
    from cervitrack.firmware_bridge.transports.udp import DEFAULT_PORT

    host, _, port_text = target.rpartition(":")
    port_text = port_text or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"bad UDP port {port_text!r}: expected udp:PORT or udp:HOST:PORT, "
                         "e.g. udp:4242")
    return host or "127.0.0.1", int(port_text)


def open_udp(spec, protocol: str | None = None, **_options) -> LiveSource:
    from cervitrack.firmware_bridge.transports.udp import UdpDriver

    protocol = protocol or "opentrack-udp"
    decoder = make_decoder(protocol)
    host, port = parse_udp_target(spec.target)
    return LiveSource(UdpDriver(port, host), protocol, decoder.nominal_rate_hz, spec.text)


register_source("serial", open_serial, "serial:PORT")
register_source("ble", open_ble, "ble:ADDRESS_OR_NAME")
register_source("udp", open_udp, "udp:PORT")

__all__ = ["LinkError", "LinkLost", "LinkRunner", "LinkUnavailable", "LiveSource", "open_ble",
           "open_serial", "open_udp"]
