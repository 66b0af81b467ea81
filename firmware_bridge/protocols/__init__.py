"""Wire protocols: one incremental decoder per device family.

:data:`DECODERS` maps each ``--protocol`` name to its decoder class. Register a new protocol by
adding it here.
"""

from cervitrack.firmware_bridge.protocols.base import Decoder
from cervitrack.firmware_bridge.protocols.reference import ReferenceDecoder, ReferenceTextDecoder

DECODERS: dict[str, type[Decoder]] = {
    ReferenceDecoder.name: ReferenceDecoder,
    ReferenceTextDecoder.name: ReferenceTextDecoder,
}


def make_decoder(name: str) -> Decoder:
    """A new decoder for protocol ``name``; ValueError naming the choices when unknown."""
    try:
        return DECODERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown protocol {name!r}; choose one of: {', '.join(sorted(DECODERS))}"
        ) from None


__all__ = ["DECODERS", "Decoder", "make_decoder"]
