"""Emulated devices: real device behaviour on real transports, for tests and demonstrations
(``cervitrack emulate``). This is the bytes side.

Serial and UDP:

- :mod:`~cervitrack.firmware_bridge.emulation.protocols`: per device family, samples → the
  device's real messages, and its answers to host commands.
- :mod:`~cervitrack.firmware_bridge.emulation.endpoints`: real transports carrying them: a
  pseudo-terminal for serial devices, a UDP socket for UDP senders.

BLE (Bumble: a host stack and virtual controllers in Python, no Bluetooth hardware):

- :mod:`~cervitrack.firmware_bridge.emulation.ble_air`: the virtual radio, Bumble controllers
  on one link, each served to a host over loopback TCP.
- :mod:`~cervitrack.firmware_bridge.emulation.ble_peripherals`: emulated WitMotion BLE,
  Movella DOT and MetaWear GATT peripherals, built from the device profiles and the protocols'
  encoders.
- :mod:`~cervitrack.firmware_bridge.emulation.bleak_backend`: a bleak backend whose "operating
  system Bluetooth stack" is Bumble, so Cervitrack's unchanged BLE driver runs against them.
  The BLE modules need the optional ``bumble`` package (``pip install cervitrack[ble-emulation]``).

The samples themselves (a virtual patient wearing a virtual IMU, paced on the wall clock) come
from :mod:`cervitrack.trainer.simulation.emulated_device`.
"""

from cervitrack.firmware_bridge.emulation.protocols import (
    PROTOCOLS,
    BleEmulatedProtocol,
    BleService,
    EmulatedProtocol,
    SampleBlock,
    make_protocol,
)

__all__ = ["PROTOCOLS", "BleEmulatedProtocol", "BleService", "EmulatedProtocol", "SampleBlock",
           "make_protocol"]
