"""Open a ``--device SPEC``: the built-in device kinds, registered in one place.

Kinds: ``sim`` (the simulated headset worn by a resting virtual patient,
:mod:`cervitrack.trainer.simulation.sim_source`) and ``replay:PATH`` (a recording,
:mod:`cervitrack.trainer.recording.replay`); ``serial:``, ``ble:`` and ``udp:`` come from
:mod:`cervitrack.firmware_bridge.transports`. Transport modules register their kinds with
:func:`cervitrack.firmware_bridge.device_spec.register_source`; list them in
:data:`SOURCE_MODULES` so they are imported (lazily, when a device is opened).
"""

from __future__ import annotations

import importlib

from cervitrack.firmware_bridge import device_spec

SOURCE_MODULES = (
    "cervitrack.trainer.simulation.sim_source",
    "cervitrack.trainer.recording.replay",
    "cervitrack.firmware_bridge.transports",
)


def open_device(text: str, **options):
    """The source a ``--device`` string names (see :mod:`cervitrack.firmware_bridge.device_spec`).

    Raises:
        ValueError: a malformed spec or unknown kind (one line naming the known forms).
        OSError: the device or file cannot be opened.
    """
    for module in SOURCE_MODULES:
        importlib.import_module(module)
    return device_spec.open_source(text, **options)
