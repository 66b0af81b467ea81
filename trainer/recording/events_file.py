"""The events file (``--events PATH``): a running test's moments as JSON lines, for another
program to follow as they happen (a metronome, an EEG recorder, an emulated sensor).

Each prompt is written as it is issued (:meth:`~cervitrack.trainer.clinical.prompts.Prompt.as_event`),
with the test's other moments (``test_start``, ``trial_start``, ``trial_end``, ``pause``,
``resume``, ``test_end``), each line with ``wall_time_s`` (the ``time.time()`` when it was
written) and flushed at once. ``cervitrack test --events`` and ``cervitrack app --events``
write the same lines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

#: Engine events written besides the prompts (``trial`` is written as ``trial_end``, without
#: its windows and traces).
EVENT_KINDS = ("test_start", "trial_start", "trial", "pause", "resume", "test_end")
_TRIAL_BULK = ("trace", "ref_window", "ret_window", "hold_window")


class EventsFile:
    """An events file, created (an existing non-empty file only with ``force``: else
    FileExistsError)."""

    def __init__(self, path, force: bool = False) -> None:
        path = Path(path)
        if path.exists() and path.stat().st_size > 0 and not force:
            raise FileExistsError(f"{path} already exists; add --force to overwrite it")
        self.path = path
        self.file: TextIO | None = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def event(self, event: dict) -> None:
        """Write ``event`` when it is a prompt or one of :data:`EVENT_KINDS`."""
        kind = event.get("kind")
        if kind == "trial":
            self.write({**{k: v for k, v in event.items() if k not in _TRIAL_BULK}, "kind": "trial_end"})
        elif kind == "prompt" or kind in EVENT_KINDS:
            self.write(event)

    def write(self, event: dict) -> None:
        """Write one event as it is (plus ``wall_time_s``)."""
        from cervitrack.trainer.stores.sessions import plain

        if self.file is None:
            return
        self.file.write(json.dumps(plain({**event, "wall_time_s": time.time()})) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
