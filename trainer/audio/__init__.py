"""Spoken prompts and tone cues for the eyes-closed tests and drills.

:mod:`~cervitrack.trainer.audio.phrases` turns a prompt's text into pre-rendered clips (the
``clips/`` folder, package data), :mod:`~cervitrack.trainer.audio.outputs` finds a way to play
sound on this computer (or says why there is none), :mod:`~cervitrack.trainer.audio.voice`
composes each prompt into one buffer (tone cue, then the words) and plays it. Standard library
and numpy only; the GUI, the commands and the training flows call it.
"""
