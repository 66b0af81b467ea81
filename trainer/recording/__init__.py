"""Crash-safe session recordings: format, writer, reader, replay, exports and LSL output.

A recording (``*.cvtrec``) is an append-only file of framed, CRC-checked records holding the
raw device stream (transport chunks with their host arrival times, or decoded sample
batches), gap markers, test events and metadata. The byte layout is documented in
``docs/recording-format.md``; :mod:`.format` is its single implementation.

Modules (one concept each):

- :mod:`.format`: constants, record encoding and the tolerant record scanner.
- :mod:`.writer`: :class:`~.writer.Recorder`, the append-only writer with a flush schedule.
- :mod:`.reader`: :func:`~.reader.load` a recording into memory, with an integrity report.
- :mod:`.decode`: decode the recorded stream into samples (same decoder and timebase as live).
- :mod:`.summary`: what ``cervitrack inspect`` reports.
- :mod:`.replay`: a source that yields the recorded Chunk/Gap items again.
- :mod:`.export_csv`, :mod:`.export_sto`, :mod:`.export_bids`: research exports.
- :mod:`.lsl`: Lab Streaming Layer outlets (pylsl imported lazily).
"""
