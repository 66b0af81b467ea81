"""Devices, transports, wire protocols, the simulated headset and reference firmware.

Data model: :mod:`cervitrack.signal.samples`. Decoders:
:mod:`cervitrack.firmware_bridge.protocols`. Simulated headset:
:mod:`cervitrack.firmware_bridge.sim`.
"""
