"""The Cervitrack application (``cervitrack app``): live visual feedback for tests, training
and research, built on pyqtgraph with the pinned PySide6.

Threads: a :class:`~cervitrack.trainer.gui.worker.PipelineWorker` thread drives the device
source, the pipeline and the test engine and fills ring buffers
(:mod:`cervitrack.trainer.gui.feed`); the views are thin consumers that read those buffers on
a QTimer at the display rate. Modules without "view"/"window" in their name import no Qt.
"""
