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
- :mod:`.replay`: ``replay:PATH``, a source that yields the recorded items in the recorded
  pipeline steps.
- :mod:`.session`: the ``cervitrack record`` loop (source → recorder).
- :mod:`.capture`: a test-session step observer that records (and streams) a running test.
- :mod:`.rescore`: re-run a recorded test from its recording (exactly the live scores).
- :mod:`.test_io`: the ``--record`` / ``--lsl`` / ``--device replay:`` options of test commands.
- :mod:`.export_csv`, :mod:`.export_sto`, :mod:`.export_bids`: research exports.
- :mod:`.lsl`: Lab Streaming Layer outlets (pylsl imported lazily); :mod:`.live` feeds them
  head poses from the live pipeline.
"""
