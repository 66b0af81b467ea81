"""The home training program: safety screen, daily plan, drills with faded feedback,
progression and stop rules, symptom diary, progress history and the posture reminder.

Clinical basis: Revel et al. 1994, Arch Phys Med Rehabil 75:895–899; Jull et al. 2007, J Orthop
Res 25:404–412 (home training); Rushton et al. 2023, JOSPT 53(1):7–22 (safety);
docs/training.md explains every rule and threshold with its source. Pure logic lives in
small modules (safety, symptoms, levels, feedback, progression, plan, posture, progress);
drills are engines with the :class:`~cervitrack.trainer.clinical.jpe.JpeTest` interface
(``start``/``update``/``done``/``events``); storage (``store``) and plots (``plot``) are the
only modules with I/O.
"""
