"""Emulated devices (``cervitrack emulate``): the bytes side.

- :mod:`~cervitrack.firmware_bridge.emulation.protocols`: per device family, samples → the
  device's real messages, and its answers to host commands.
- :mod:`~cervitrack.firmware_bridge.emulation.endpoints`: real transports carrying them: a
  pseudo-terminal for serial devices, a UDP socket for UDP senders.

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
