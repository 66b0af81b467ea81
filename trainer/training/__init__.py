"""The home training program: safety screen, daily plan, drills with faded feedback,
progression and stop rules, symptom diary, progress history and the posture reminder.

Clinical basis: ../shared/reference/clinical-protocols.md §4 (home training) and §5 (safety);
docs/training.md explains every rule and threshold with its source. Pure logic lives in
small modules (safety, symptoms, levels, feedback, progression, plan, posture, progress);
drills are engines with the :class:`~cervitrack.trainer.clinical.jpe.JpeTest` interface
(``start``/``update``/``done``/``events``); storage (``store``) and plots (``plot``) are the
only modules with I/O.
"""
