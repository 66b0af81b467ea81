"""Emulated devices: real device behaviour on real transports, for tests and demonstrations.

BLE (Bumble: a host stack and virtual controllers in Python, no Bluetooth hardware):

- :mod:`~cervitrack.firmware_bridge.emulation.ble_air`: the virtual radio, Bumble controllers
  on one link, each served to a host over loopback TCP.
- :mod:`~cervitrack.firmware_bridge.emulation.ble_peripherals`: emulated WitMotion BLE,
  Movella DOT and MetaWear GATT peripherals, built from the device profiles and the protocols'
  encoders.
- :mod:`~cervitrack.firmware_bridge.emulation.bleak_backend`: a bleak backend whose "operating
  system Bluetooth stack" is Bumble, so Cervitrack's unchanged BLE driver runs against them.

These modules need the optional ``bumble`` package (``pip install cervitrack[ble-emulation]``).
"""
