"""``cervitrack process IN.csv --out OUT.csv``: orientation (and head angles) from a raw CSV.

Input: a header row, then one row per sample with the columns
``t_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s`` (any order, extra
columns ignored) and, for ``--mag``, ``mag_x_uT,mag_y_uT,mag_z_uT``. Times must increase.

Output: one row per input row, ``t_s,quat_w,quat_x,quat_y,quat_z`` (q_world_sensor, sensor →
world, scalar first; world z up, heading arbitrary in 6-axis mode, ENU with ``--mag``). With
``--calibration FILE.json`` also ``axial_deg,flexion_deg,lateral_deg,global_deg``: the head
angles (docs/architecture.md) relative to a neutral captured from the recording itself (the
mean head orientation over its first settled still window; a neutral from another session
would carry that session's arbitrary heading).

Fusion: ``offlineVQF`` (non-causal) by default, ``--causal`` for the live chain's causal VQF;
the gyro is scaled by each sample's true period (:func:`cervitrack.signal.orientation.fuse_offline`).
Gyro bias: the calibration's, else the median over the recording's rest windows
(:func:`cervitrack.calibration.rest.rest_bias_from_raw`), used with the head profile; when
neither exists VQF's own bias estimation (its default parameters) takes over.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from cervitrack.trainer.commands import add_force_argument, refuse_overwrite

if TYPE_CHECKING:  # annotations only: imported when the command runs
    import numpy as np

BASE_COLUMNS = ("t_s", "acc_x_m_s2", "acc_y_m_s2", "acc_z_m_s2",
                "gyr_x_rad_s", "gyr_y_rad_s", "gyr_z_rad_s")
MAG_COLUMNS = ("mag_x_uT", "mag_y_uT", "mag_z_uT")
#: Files with more rows than this report progress on stderr.
PROGRESS_MIN_ROWS = 200_000
_WRITE_BLOCK = 100_000


def _progress(enabled: bool, text: str) -> None:
    if enabled:
        print(f"cervitrack process: {text}", file=sys.stderr, flush=True)


def _first_bad_line(text: str, n_cols: int) -> str:
    """Locate the first malformed data line (only called once parsing has failed)."""
    with io.StringIO(text) as fh:
        fh.readline()
        for lineno, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != n_cols:
                return f"line {lineno} has {len(cells)} values, the header has {n_cols}"
            for cell in cells:
                try:
                    float(cell)
                except ValueError:
                    return f"non-numeric value {cell.strip()!r} at line {lineno}"
    return "the file could not be parsed as numbers"


def read_raw_csv(path: Path, use_mag: bool) -> dict[str, np.ndarray]:
    """Columns needed for fusion as float arrays; ValueError naming the problem otherwise."""
    import numpy as np

    from cervitrack.trainer.paths import read_text

    text = read_text(path, "input file")  # names the file; a byte-order mark is dropped
    header = text.split("\n", 1)[0]
    names = [h.strip() for h in header.rstrip("\r\n").split(",")]
    need = BASE_COLUMNS + (MAG_COLUMNS if use_mag else ())
    missing = [c for c in need if c not in names]
    if missing:
        extra = " (--mag needs mag_x_uT,mag_y_uT,mag_z_uT)" if use_mag and set(missing) <= set(MAG_COLUMNS) else ""
        raise ValueError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}{extra}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported below
            data = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError:
        raise ValueError(f"{path}: {_first_bad_line(text, len(names))}") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path}: no data rows")
    if data.shape[1] != len(names):
        raise ValueError(f"{path}: {_first_bad_line(text, len(names))}")
    cols = {c: data[:, names.index(c)] for c in need}
    finite = np.all(np.isfinite(np.column_stack([cols[c] for c in need])), axis=1)
    if not finite.all():
        raise ValueError(f"{path}: non-finite value at line {int(np.flatnonzero(~finite)[0]) + 2}")
    t = cols["t_s"]
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        raise ValueError(f"{path}: time t_s does not increase at line {int(bad[0]) + 3}")
    if len(t) < 2:
        raise ValueError(f"{path}: at least two samples are needed")
    return cols


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (links and relative paths included)."""
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def run(args) -> int:
    import numpy as np

    from cervitrack.trainer.live.pipeline import NonFiniteResult, process_recording
    from cervitrack.trainer.paths import open_private
    from cervitrack.trainer.stores.calibrations import read_calibration_file

    src, dst = Path(args.input), Path(args.out)
    for other, what in ((src, "the input"), (args.calibration, "the calibration file")):
        if other is not None and same_file(dst, Path(other)):
            raise ValueError(f"--out {dst} is {what}: a command never writes over its own input")
    refuse_overwrite(dst, args.force)
    cols = read_raw_csv(src, args.mag)
    n = len(cols["t_s"])
    verbose = n > PROGRESS_MIN_ROWS
    _progress(verbose, f"read {n} rows from {src}")
    calibration = read_calibration_file(args.calibration) if args.calibration else None
    t = cols["t_s"]
    gyr = np.column_stack([cols[c] for c in BASE_COLUMNS[4:7]])
    acc = np.column_stack([cols[c] for c in BASE_COLUMNS[1:4]])
    mag = np.column_stack([cols[c] for c in MAG_COLUMNS]) if args.mag else None
    _progress(verbose, f"fusing ({'causal VQF' if args.causal else 'offline VQF'}, "
                       f"{'9' if args.mag else '6'}-axis)")
    try:
        result = process_recording(t, gyr, acc, mag, calibration=calibration, causal=args.causal)
    except NonFiniteResult as exc:  # name the input line (header = line 1)
        raise ValueError(f"{src}: line {exc.index + 2} (t_s = {t[exc.index]:g}): {exc}") from None
    columns = [t[:, None], result.q_world_sensor]
    header = "t_s,quat_w,quat_x,quat_y,quat_z"
    fmt = ["%.6f"] + ["%.9f"] * 4
    if result.angles_deg is not None:
        angles = result.angles_deg
        columns.append(np.column_stack([angles[k] for k in ("axial", "flexion", "lateral", "global")]))
        header += ",axial_deg,flexion_deg,lateral_deg,global_deg"
        fmt += ["%.4f"] * 4
    table = np.hstack(columns)
    try:
        with open_private(dst, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(header + "\n")
            for start in range(0, n, _WRITE_BLOCK):
                np.savetxt(fh, table[start:start + _WRITE_BLOCK], fmt=fmt, delimiter=",")
                _progress(verbose, f"written {min(n, start + _WRITE_BLOCK) * 100 // n}%")
    except OSError as exc:
        raise ValueError(f"cannot write {dst}: {exc.strerror or exc}") from None
    return 0


def register(sub) -> None:
    p = sub.add_parser("process", help="orientation and head angles from a raw IMU CSV file")
    p.add_argument("input", metavar="IN.csv", help="raw samples (t_s, acc_*_m_s2, gyr_*_rad_s[, mag_*_uT])")
    p.add_argument("--out", metavar="OUT.csv", required=True, help="output file")
    add_force_argument(p)
    p.add_argument("--mag", action="store_true", help="9-axis fusion with the magnetometer columns")
    p.add_argument("--calibration", metavar="FILE.json", default=None,
                   help="head calibration: adds head angles relative to the recording's neutral")
    p.add_argument("--causal", action="store_true",
                   help="causal VQF (as the live chain) instead of offline VQF")
    p.set_defaults(func=run)
