"""Training levels: explicit drill parameters, easiest first.

Progression follows the drill content and order of the reference
(Treleaven 2008, Man Ther 13:2–11; Kristjansson & Treleaven 2009, JOSPT 39:364–377; Jull et al. 2007, J Orthop Res 25:404–412, Treleaven 2008; Kristjansson & Treleaven 2009;
Jull 2007): relocation to neutral before relocation to targets; **eyes open with laser
feedback first, then eyes closed** with knowledge of results (KR); larger range; faster. KR is
faded (Winstein 1991, Phys Ther 71:140–149): every trial (100 %), every other trial (50 %), then a summary every 5 trials.
Targets are 20-40° (Boudreau et al. 2007, Pain 132:169–178 "targets 20-40° or a fraction of pain-free ROM"; NeckCare Home's
0/20/40° offsets, NeckCare Home), never beyond the soft ROM limit (:func:`soft_limit_deg`).

``target_ae_deg`` is the accuracy a level asks for before moving on. The eyes-closed targets
step down from 4.5° (the usual JPE screening threshold, Revel et al. 1994; Eur Spine J 2015)
through 4.0° to 3.6° (the upper limit of healthy people in Eur Spine J 2015;24,
doi:10.1007/s00586-015-4263-9). With the laser visible the task is visually guided, so the
target is tighter (1.5°). The exact numbers and the level table are a **[DESIGN PROPOSAL]**:
published progression criteria are not available (Treleaven 2008, Man Ther 13:2–11; Kristjansson & Treleaven 2009, JOSPT 39:364–377 "exact progression criteria
[UNVERIFIED]").

Speeds are instructions ("slowly" ≈ 20°/s, "steadily" ≈ 30°/s, "at a natural speed" ≈ 40°/s):
slow movement favours proprioceptive over vestibular input (Revel et al. 1991; AlDahas et al. 2023, PLoS One 18(10):e0292798; Kristjansson et al. 2004, Arch Phys Med Rehabil 85:490–495); natural speed comes
last (Eur Spine J 2015 found natural speed more accurate).
"""

from __future__ import annotations

from dataclasses import dataclass

RELOCATION_DIRECTIONS = ("rotation_left", "rotation_right", "flexion", "extension")

#: Speed instruction → (plain word, guide speed in deg/s).
SPEEDS = {"slow": ("slowly", 20.0), "steady": ("steadily", 30.0), "natural": ("at a natural speed", 40.0)}

#: Soft ROM limit as a share of the calibrated pain-free ROM (Rushton et al. 2023, JOSPT 53(1):7–22; a Cervitrack design proposal: ~70-80 %).
SOFT_LIMIT_SHARE = 0.75

#: Default pain-free ROM per direction, deg, used until a therapist or a ROM test sets the
#: patient's own: deliberately below the healthy adult ranges (Swinkels & Swinkels-Meewisse
#: 2014; rotation ≈ 70-80°, flexion/extension ≈ 50-70°) so the soft limits stay submaximal.
DEFAULT_PAIN_FREE_ROM_DEG = {"rotation_left": 60.0, "rotation_right": 60.0,
                             "flexion": 45.0, "extension": 45.0}


@dataclass(frozen=True)
class Level:
    """One level.

    Attributes:
        number: 1 = easiest.
        task: "neutral" (relocate to the start) or "target" (relocate to a target position).
        vision: "laser" (eyes open, live laser dot) or "closed" (eyes closed, KR after).
        feedback: "concurrent" (the dot is always visible), "kr100", "kr50" or "summary".
        amplitude_deg: excursion (neutral task) or target offset (target task), deg.
        speed: key of :data:`SPEEDS`.
        reps_per_direction: relocation trials per direction in one block.
        tracking: Butterfly tracking difficulty at this level ("easy", "medium", "hard").
        target_ae_deg: the AE (deg) to reach, over recent sessions, to move up.
    """

    number: int
    task: str
    vision: str
    feedback: str
    amplitude_deg: float
    speed: str
    reps_per_direction: int
    tracking: str
    target_ae_deg: float

    def describe(self) -> str:
        task = "back to the centre" if self.task == "neutral" else f"to a target {self.amplitude_deg:.0f}° away"
        how = "eyes open, following the laser dot" if self.vision == "laser" else "eyes closed"
        fb = {"concurrent": "dot always visible", "kr100": "result after every try",
              "kr50": "result after every other try", "summary": "summary every 5 tries"}[self.feedback]
        return f"Level {self.number}: find your way {task}, {how} ({fb}), moving {SPEEDS[self.speed][0]}"


LEVELS: tuple[Level, ...] = (
    Level(1, "neutral", "laser", "concurrent", 20.0, "slow", 3, "easy", 1.5),
    Level(2, "neutral", "closed", "kr100", 20.0, "slow", 3, "easy", 4.5),
    Level(3, "neutral", "closed", "kr50", 30.0, "slow", 3, "easy", 4.0),
    Level(4, "target", "closed", "kr100", 20.0, "slow", 3, "medium", 4.5),
    Level(5, "target", "closed", "kr50", 20.0, "steady", 3, "medium", 4.0),
    Level(6, "target", "closed", "kr50", 30.0, "steady", 3, "medium", 4.0),
    Level(7, "target", "closed", "summary", 30.0, "steady", 3, "hard", 3.6),
    Level(8, "target", "closed", "summary", 40.0, "natural", 3, "hard", 3.6),
)
MAX_LEVEL = len(LEVELS)


def level(number: int) -> Level:
    """The level with this number (1..MAX_LEVEL); ValueError otherwise."""
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_LEVEL:
        raise ValueError(f"level must be a whole number from 1 to {MAX_LEVEL}, got {number!r}")
    return LEVELS[number - 1]


def soft_limit_deg(pain_free_rom_deg: float, share: float = SOFT_LIMIT_SHARE) -> float:
    """Soft ROM limit: ``share`` (default 0.75) of the pain-free ROM, deg."""
    return float(share * pain_free_rom_deg)


def drill_amplitude_deg(lvl: Level, direction: str, pain_free_rom_deg: dict, gentle: bool = False,
                        share: float = SOFT_LIMIT_SHARE, gentle_cap_deg: float = 20.0) -> float:
    """The amplitude used for ``direction``: the level's, capped at the soft limit (``share``
    of the pain-free ROM) and, on a gentle day, at ``gentle_cap_deg`` (20°, the smallest
    target, Boudreau et al. 2007, Pain 132:169–178)."""
    amp = min(lvl.amplitude_deg, soft_limit_deg(pain_free_rom_deg[direction], share))
    return float(min(amp, gentle_cap_deg) if gentle else amp)
