"""The therapist report of a stored session (HTML or PDF) and its plots.

May import: :mod:`cervitrack.signal`, :mod:`cervitrack.trainer.clinical`,
:mod:`cervitrack.trainer.stores`, and Qt (to print the PDF). Never devices or the live chain.
"""
