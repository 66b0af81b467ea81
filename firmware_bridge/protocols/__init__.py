"""Wire protocols: one incremental decoder per device family.

:data:`DECODERS` maps each ``--protocol`` name to its decoder class. Register a new protocol by
adding it here. :func:`make_decoder` also accepts ``NAME:OPTION`` for decoders with one
constructor option: the Movella DOT payload mode and optional padded record size
(``movella-dot:2`` or ``movella-dot:2,40``), the text preset
(``text:razor``) and the Hatire axis order (``hatire:ypr``).
"""

from collections.abc import Callable
from typing import Any

from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.firmware_bridge.protocols.bno08x_rvc import Bno08xRvcDecoder
from cervitrack.firmware_bridge.protocols.hatire import HatireDecoder
from cervitrack.firmware_bridge.protocols.metawear import MetaWearDecoder
from cervitrack.firmware_bridge.protocols.movella_dot import MovellaDotDecoder
from cervitrack.firmware_bridge.protocols.opentrack_udp import OpentrackUdpDecoder
from cervitrack.firmware_bridge.protocols.reference import ReferenceDecoder, ReferenceTextDecoder
from cervitrack.firmware_bridge.protocols.text import TextDecoder
from cervitrack.firmware_bridge.protocols.witmotion import (
    WitMotionBleDecoder,
    WitMotionSerialDecoder,
)

DECODERS: dict[str, type[Decoder]] = {
    cls.name: cls
    for cls in (
        ReferenceDecoder,
        ReferenceTextDecoder,
        WitMotionSerialDecoder,
        WitMotionBleDecoder,
        Bno08xRvcDecoder,
        MovellaDotDecoder,
        MetaWearDecoder,
        HatireDecoder,
        TextDecoder,
        OpentrackUdpDecoder,
    )
}

#: Decoders taking one option after a colon: how to convert it, and the class to build with it.
_OPTION: dict[str, tuple[Callable[[str], Any], Callable[[Any], Decoder]]] = {
    MovellaDotDecoder.name: (str, MovellaDotDecoder),
    TextDecoder.name: (str, TextDecoder),
    HatireDecoder.name: (str, HatireDecoder),
}


def make_decoder(name: str) -> Decoder:
    """A new decoder for protocol ``name`` (``NAME`` or ``NAME:OPTION``).

    Raises:
        ValueError naming the choices when the protocol or its option is unknown.
    """
    base, _, option = name.partition(":")
    try:
        cls = DECODERS[base]
    except KeyError:
        raise ValueError(
            f"unknown protocol {base!r}; choose one of: {', '.join(sorted(DECODERS))}"
        ) from None
    if not option:
        return cls()
    if base not in _OPTION:
        raise ValueError(f"protocol {base!r} takes no option (got {option!r})")
    parse, build = _OPTION[base]
    try:
        value = parse(option)
    except ValueError:
        raise ValueError(f"invalid option {option!r} for protocol {base!r}") from None
    return build(value)


__all__ = ["DECODERS", "Decoder", "make_decoder"]
