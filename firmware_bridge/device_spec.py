"""``--device SPEC`` strings and the registry of device sources they open.

A spec is ``KIND`` or ``KIND:TARGET``: ``sim``, ``replay:session.cvtrec``,
``serial:/dev/ttyUSB0``, ``ble:AA:BB:CC:DD:EE:FF``, ``udp:0.0.0.0:9000``. The kind is the text
before the first colon; the target is everything after it (it may contain colons).

A *source* is what a spec opens. It provides:

- ``polls()``: an iterator of lists of transport items (:class:`Chunk`, :class:`Gap`, or
  :class:`SampleBatch` for sources without raw bytes), one list per poll, in arrival order.
  The list is what the consumer processes in one pipeline step; live sources yield an empty
  list when nothing arrived within their poll interval, so consumers stay responsive.
- ``protocol``: the decoder name for its chunks (``make_decoder``), or None.
- ``nominal_rate_hz``: the device's nominal sample rate.
- ``host_clock``: "monotonic" when item host times are ``time.monotonic()``, "simulated" when
  they are a simulation's time.
- ``metadata``: a JSON-ready dict about the device (``spec``, ``name``, ``firmware``...).
- ``now_s()``: the source's current host time (simulated time for simulated sources).
- ``close()``.

Transports register a factory with :func:`register_source`; the factory receives the parsed
:class:`DeviceSpec` and the keyword options the command passed (e.g. ``speed``, ``seed``) and
ignores options it does not use. :func:`cervitrack.trainer.live.devices.open_device` imports the
modules that register the built-in kinds and opens a spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_KIND_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed ``--device`` string: ``kind`` and ``target`` ("" when absent)."""

    kind: str
    target: str
    text: str


def parse_device_spec(text: str) -> DeviceSpec:
    """Parse ``KIND[:TARGET]``; ValueError with a one-line message when malformed."""
    text = str(text).strip()
    kind, sep, target = text.partition(":")
    kind = kind.lower()
    if not _KIND_RE.match(kind):
        raise ValueError(f"bad device spec {text!r}: expected KIND or KIND:TARGET "
                         f"(e.g. sim, replay:FILE.cvtrec)")
    if sep and not target:
        raise ValueError(f"bad device spec {text!r}: nothing after '{kind}:'")
    return DeviceSpec(kind, target, text)


_FACTORIES: dict[str, tuple[Callable, str]] = {}


def register_source(kind: str, factory: Callable, usage: str) -> None:
    """Register ``factory(spec, **options) -> source`` for ``kind``; ``usage`` shows the
    spec's form in error messages (e.g. "replay:PATH")."""
    _FACTORIES[kind] = (factory, usage)


def available_kinds() -> list[str]:
    """The kinds registered so far."""
    return sorted(_FACTORIES)


def open_source(text: str, **options):
    """Open the source a ``--device`` string names.

    Raises:
        ValueError: malformed spec or unknown kind (the message lists the known forms).
        OSError: the device or file cannot be opened.
    """
    spec = parse_device_spec(text)
    if spec.kind not in _FACTORIES:
        forms = ", ".join(usage for _, usage in sorted(_FACTORIES.values(), key=lambda v: v[1]))
        raise ValueError(f"unknown device kind {spec.kind!r} in {text!r}; available: {forms}")
    factory, _ = _FACTORIES[spec.kind]
    return factory(spec, **options)
