"""Settings of the simulated headset, its link and the virtual patient, read from TOML.

Every key, its unit and default is in :data:`KEYS` and docs/simulator.md. Unknown keys and bad
values raise :class:`SimConfigError` naming the key.

Example::

    seed = 7
    [sensor]
    rate_hz = 100
    output = "raw"                 # "quaternion" (on-device fusion) or "raw" (gyro + acc)
    mount_rpy_deg = [20, -30, 45]
    [patient]
    sd_deg = 1.0
    [patient.bias_deg]
    rotation_left = 3
    [link]
    loss_rate = 0.01
    jitter_ms = 5
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DIRECTIONS = ("rotation_left", "rotation_right", "flexion", "extension",
              "lateral_left", "lateral_right")


class SimConfigError(ValueError):
    """A bad simulator setting; the message names the key."""


# Sensor presets from datasheets: white-noise density and typical zero-rate offset (gyro),
# noise density and typical zero-g offset (accelerometer). The per-sample noise used by the
# simulator is density × sqrt(rate_hz / 2).
SENSOR_PRESETS: dict[str, dict[str, float]] = {
    # Bosch BMI160 datasheet (BST-BMI160-DS000): gyro 0.007 °/s/√Hz, ZRO ±3 °/s;
    # acc 180 µg/√Hz, zero-g offset ±40 mg.
    "bmi160": {"gyro_density_dps_rthz": 0.007, "gyro_offset_dps": 3.0,
               "acc_density_ug_rthz": 180.0, "acc_offset_mg": 40.0},
    # TDK InvenSense ICM-20948 datasheet (DS-000189): gyro 0.015 °/s/√Hz, ZRO ±5 °/s;
    # acc 230 µg/√Hz, zero-g offset ±25 mg (X/Y).
    "icm20948": {"gyro_density_dps_rthz": 0.015, "gyro_offset_dps": 5.0,
                 "acc_density_ug_rthz": 230.0, "acc_offset_mg": 25.0},
    # TDK InvenSense MPU-6050 product specification (PS-MPU-6000A): gyro 0.005 °/s/√Hz,
    # ZRO ±20 °/s; acc 400 µg/√Hz, zero-g offset ±50 mg (X/Y).
    "mpu6050": {"gyro_density_dps_rthz": 0.005, "gyro_offset_dps": 20.0,
                "acc_density_ug_rthz": 400.0, "acc_offset_mg": 50.0},
    # ST LSM6DSO datasheet (DS12140): gyro 3.8 mdps/√Hz, ZRO ±1 °/s; acc 70 µg/√Hz (±2 g),
    # zero-g offset ±20 mg.
    "lsm6dso": {"gyro_density_dps_rthz": 0.0038, "gyro_offset_dps": 1.0,
                "acc_density_ug_rthz": 70.0, "acc_offset_mg": 20.0},
}


def _preset_noise(preset: str, rate_hz: float) -> tuple[float, float]:
    p = SENSOR_PRESETS[preset]
    bw = math.sqrt(rate_hz / 2.0)
    return p["gyro_density_dps_rthz"] * bw, p["acc_density_ug_rthz"] * 1e-6 * 9.80665 * bw


@dataclass
class SensorConfig:
    """The virtual IMU.

    Attributes:
        rate_hz: output rate, Hz.
        output: "quaternion" (on-device fusion, OHT/1 type 0x01) or "raw" (gyro + acc, type
            0x02, fused on the host with VQF).
        preset: datasheet noise preset (see SENSOR_PRESETS); sets the noise defaults.
        mount_rpy_deg: sensor orientation on the head, intrinsic roll-pitch-yaw (x-y-z) in
            degrees, of the sensor frame relative to the head frame (x anterior, y left, z up).
        lever_arm_m: sensor position relative to the head's centre of rotation, head frame, m.
        gyro_noise_dps: white gyro noise, standard deviation per sample, deg/s.
        gyro_bias_dps: constant gyro bias per sensor axis, deg/s (a residual after factory
            trim; datasheet zero-rate offsets are the untrimmed worst case).
        acc_noise_m_s2: white accelerometer noise per sample, m/s².
        acc_bias_m_s2: constant accelerometer bias per sensor axis, m/s².
        clock_drift_ppm: device clock rate error relative to true time, ppm.
        clock_offset_s: device clock reading at true time 0, s.
        fusion_heading_drift_deg_min: heading drift of the on-device fusion (quaternion output
            only), deg/min.
    """

    rate_hz: float = 100.0
    output: str = "quaternion"
    preset: str = "bmi160"
    mount_rpy_deg: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    lever_arm_m: list = field(default_factory=lambda: [0.09, 0.0, 0.12])
    gyro_noise_dps: float | None = None
    gyro_bias_dps: list = field(default_factory=lambda: [0.3, -0.2, 0.25])
    acc_noise_m_s2: float | None = None
    acc_bias_m_s2: list = field(default_factory=lambda: [0.05, -0.03, 0.04])
    clock_drift_ppm: float = 40.0
    clock_offset_s: float = 12.5
    fusion_heading_drift_deg_min: float = 0.5

    def resolved_noise(self) -> tuple[float, float]:
        """(gyro_noise_dps, acc_noise_m_s2) with preset defaults filled in."""
        g, a = _preset_noise(self.preset, self.rate_hz)
        return (g if self.gyro_noise_dps is None else self.gyro_noise_dps,
                a if self.acc_noise_m_s2 is None else self.acc_noise_m_s2)


@dataclass
class LinkConfig:
    """The in-memory link between the virtual headset and the host.

    Attributes:
        interval_ms: BLE-like connection interval: frames are delivered in bunches this often.
        frames_per_packet: most frames carried by one notification.
        latency_ms: fixed delivery latency, ms.
        jitter_ms: extra random delivery delay, uniform in [0, jitter_ms], ms.
        loss_rate: probability that a notification (packet) is lost, 0..1.
        split_rate: probability that a packet arrives split into two chunks (serial-like).
        disconnect_every_s: mean time between disconnects, s (0: never).
        disconnect_s: length of a disconnect, s.
    """

    interval_ms: float = 15.0
    frames_per_packet: int = 6
    latency_ms: float = 4.0
    jitter_ms: float = 3.0
    loss_rate: float = 0.0
    split_rate: float = 0.1
    disconnect_every_s: float = 0.0
    disconnect_s: float = 1.0


@dataclass
class PatientConfig:
    """The virtual patient.

    Attributes:
        bias_deg: relocation constant error per direction, deg; positive = overshoot (past the
            target in the direction of the return movement), negative = undershoot.
        sd_deg: relocation variability (standard deviation), deg: one number for every
            direction, or a table per direction.
        offaxis_sd_deg: variability of the relocation in the two other components, deg.
        amplitude_deg: excursion per direction when asked to move, deg.
        speed_deg_s: mean angular speed of deliberate movements, deg/s.
        reaction_s: mean reaction time to a prompt, s (at least 0.4 s: the simulated headset
            samples up to 0.3 s ahead, and the drawn reaction time is 0.8-1.25 × this).
        tremor_deg: physiological tremor amplitude (8-12 Hz), deg.
        sway_deg: postural sway amplitude (0.1-0.6 Hz), deg.
        posture_sd_deg: variability of the natural head posture between re-centrings, deg.
        rom_deg: maximal active range of motion per direction, deg (range-of-motion test).
        rom_sd_deg: variability of the reached maximum between repetitions, deg.
        learn_sd_deg: error of the first move to a shown target (target relocation test, before
            feedback corrects it), deg.
        tracking_lag_s: how far the cursor trails a moving target, s; negative: it leads
            (anticipates) the target by that much (tracking test).
        tracking_noise_deg: smooth random tracking error (0.1-0.5 Hz), RMS per axis, deg.
        trace_speed_deg_s: mean speed along a tracing pattern, deg/s.
        trace_error_deg: smooth random deviation from a tracing pattern (0.15-0.6 Hz), RMS per
            axis, deg.
    """

    bias_deg: dict = field(default_factory=lambda: {
        "rotation_left": 1.2, "rotation_right": -0.8, "flexion": 0.9, "extension": -1.5,
        "lateral_left": 0.5, "lateral_right": 0.4})
    sd_deg: float | dict = 1.5
    offaxis_sd_deg: float = 0.6
    amplitude_deg: dict = field(default_factory=lambda: {
        "rotation_left": 55.0, "rotation_right": 55.0, "flexion": 40.0, "extension": 40.0,
        "lateral_left": 30.0, "lateral_right": 30.0})
    speed_deg_s: float = 40.0
    reaction_s: float = 0.45
    tremor_deg: float = 0.005
    sway_deg: float = 0.05
    posture_sd_deg: float = 0.4
    rom_deg: dict = field(default_factory=lambda: {
        "rotation_left": 75.0, "rotation_right": 72.0, "flexion": 55.0, "extension": 65.0,
        "lateral_left": 40.0, "lateral_right": 42.0})
    rom_sd_deg: float = 1.5
    learn_sd_deg: float = 3.0
    tracking_lag_s: float = 0.2
    tracking_noise_deg: float = 0.4
    trace_speed_deg_s: float = 6.0
    trace_error_deg: float = 0.5

    def sd_for(self, direction: str) -> float:
        return float(self.sd_deg[direction] if isinstance(self.sd_deg, dict) else self.sd_deg)


@dataclass
class SimConfig:
    seed: int = 1
    sensor: SensorConfig = field(default_factory=SensorConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    patient: PatientConfig = field(default_factory=PatientConfig)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _number(key, value, lo=-math.inf, hi=math.inf, integer=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SimConfigError(f"{key} must be a number, got {value!r}")
    if integer and int(value) != value:
        raise SimConfigError(f"{key} must be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise SimConfigError(f"{key} must be between {lo} and {hi}, got {value!r}")
    return int(value) if integer else float(value)


def _vector(key, value, lo=-math.inf, hi=math.inf):
    if not isinstance(value, list) or len(value) != 3:
        raise SimConfigError(f"{key} must be a list of 3 numbers, got {value!r}")
    return [_number(f"{key}[{i}]", v, lo, hi) for i, v in enumerate(value)]


def _direction_table(key, value, lo, hi, defaults):
    if not isinstance(value, dict):
        raise SimConfigError(f"{key} must be a table of directions, got {value!r}")
    out = dict(defaults)
    for d, v in value.items():
        if d not in DIRECTIONS:
            raise SimConfigError(f"unknown key {key}.{d}; directions are {', '.join(DIRECTIONS)}")
        out[d] = _number(f"{key}.{d}", v, lo, hi)
    return out


_SENSOR_RULES = {
    "rate_hz": lambda k, v: _number(k, v, 10, 1000),
    "output": lambda k, v: v if v in ("quaternion", "raw") else (_ for _ in ()).throw(
        SimConfigError(f'{k} must be "quaternion" or "raw", got {v!r}')),
    "preset": lambda k, v: v if v in SENSOR_PRESETS else (_ for _ in ()).throw(
        SimConfigError(f"{k} must be one of {', '.join(SENSOR_PRESETS)}, got {v!r}")),
    "mount_rpy_deg": lambda k, v: _vector(k, v, -360, 360),
    "lever_arm_m": lambda k, v: _vector(k, v, -0.5, 0.5),
    "gyro_noise_dps": lambda k, v: _number(k, v, 0, 10),
    "gyro_bias_dps": lambda k, v: _vector(k, v, -50, 50),
    "acc_noise_m_s2": lambda k, v: _number(k, v, 0, 10),
    "acc_bias_m_s2": lambda k, v: _vector(k, v, -5, 5),
    "clock_drift_ppm": lambda k, v: _number(k, v, -1000, 1000),
    "clock_offset_s": lambda k, v: _number(k, v, 0, 4000),
    "fusion_heading_drift_deg_min": lambda k, v: _number(k, v, -60, 60),
}
_LINK_RULES = {
    "interval_ms": lambda k, v: _number(k, v, 1, 500),
    "frames_per_packet": lambda k, v: _number(k, v, 1, 64, integer=True),
    "latency_ms": lambda k, v: _number(k, v, 0, 1000),
    "jitter_ms": lambda k, v: _number(k, v, 0, 1000),
    "loss_rate": lambda k, v: _number(k, v, 0, 0.5),
    "split_rate": lambda k, v: _number(k, v, 0, 1),
    "disconnect_every_s": lambda k, v: _number(k, v, 0, 1e6),
    "disconnect_s": lambda k, v: _number(k, v, 0.05, 60),
}
_PATIENT_RULES = {
    "bias_deg": lambda k, v: _direction_table(k, v, -30, 30, PatientConfig().bias_deg),
    "sd_deg": lambda k, v: (_direction_table(k, v, 0, 20, {d: PatientConfig().sd_deg for d in DIRECTIONS})
                            if isinstance(v, dict) else _number(k, v, 0, 20)),
    "offaxis_sd_deg": lambda k, v: _number(k, v, 0, 20),
    "amplitude_deg": lambda k, v: _direction_table(k, v, 5, 80, PatientConfig().amplitude_deg),
    "speed_deg_s": lambda k, v: _number(k, v, 5, 200),
    "reaction_s": lambda k, v: _number(k, v, 0.4, 3),  # 0.8 × 0.4 > LOOKAHEAD_S
    "tremor_deg": lambda k, v: _number(k, v, 0, 1),
    "sway_deg": lambda k, v: _number(k, v, 0, 3),
    "posture_sd_deg": lambda k, v: _number(k, v, 0, 5),
    "rom_deg": lambda k, v: _direction_table(k, v, 5, 100, PatientConfig().rom_deg),
    "rom_sd_deg": lambda k, v: _number(k, v, 0, 20),
    "learn_sd_deg": lambda k, v: _number(k, v, 0, 20),
    "tracking_lag_s": lambda k, v: _number(k, v, -1, 1),
    "tracking_noise_deg": lambda k, v: _number(k, v, 0, 10),
    "trace_speed_deg_s": lambda k, v: _number(k, v, 1, 60),
    "trace_error_deg": lambda k, v: _number(k, v, 0, 10),
}


def _apply(section_name, obj, table, rules):
    if not isinstance(table, dict):
        raise SimConfigError(f"{section_name} must be a table")
    for key, value in table.items():
        if key not in rules:
            known = ", ".join(f"{section_name}.{k}" for k in rules)
            raise SimConfigError(f"unknown key {section_name}.{key} (known: {known})")
        setattr(obj, key, rules[key](f"{section_name}.{key}", value))


def config_from_dict(data: dict, seed: int | None = None) -> SimConfig:
    """Validate a parsed TOML document into a SimConfig; ``seed`` overrides the file's."""
    cfg = SimConfig()
    for key, value in data.items():
        if key == "seed":
            cfg.seed = _number("seed", value, 0, 2**63 - 1, integer=True)
        elif key == "sensor":
            _apply("sensor", cfg.sensor, value, _SENSOR_RULES)
        elif key == "link":
            _apply("link", cfg.link, value, _LINK_RULES)
        elif key == "patient":
            _apply("patient", cfg.patient, value, _PATIENT_RULES)
        else:
            raise SimConfigError(f"unknown key {key} (known: seed, sensor.*, patient.*, link.*)")
    if seed is not None:
        cfg.seed = _number("--seed", seed, 0, 2**63 - 1, integer=True)
    _check_can_finish(cfg)
    return cfg


#: Shortest mean connected stretch between simulated disconnects, s: about one trial of a test
#: (move, hold, return, rest); shorter stretches interrupt every trial and a test never ends.
MIN_DISCONNECT_EVERY_S = 10.0
#: Disconnects may take at most this share of the mean time between them.
MAX_DISCONNECT_SHARE = 0.25


def _check_can_finish(cfg: SimConfig) -> None:
    """Settings each valid alone that together leave no test able to finish: refused with the
    reason, before anything runs."""
    link = cfg.link
    if link.disconnect_every_s > 0:
        if link.disconnect_every_s < MIN_DISCONNECT_EVERY_S:
            raise SimConfigError(
                f"link.disconnect_every_s = {link.disconnect_every_s:g} s: a test needs the link up "
                f"for about one trial at a time; use 0 (never) or at least {MIN_DISCONNECT_EVERY_S:g} s")
        if link.disconnect_s > MAX_DISCONNECT_SHARE * link.disconnect_every_s:
            raise SimConfigError(
                f"link.disconnect_s = {link.disconnect_s:g} s with link.disconnect_every_s = "
                f"{link.disconnect_every_s:g} s: the link would be down more than "
                f"{MAX_DISCONNECT_SHARE:.0%} of the time and no test could finish; use "
                f"link.disconnect_s <= {MAX_DISCONNECT_SHARE * link.disconnect_every_s:g} s")
    if cfg.sensor.output == "raw":
        from cervitrack.signal.stillness import StillnessParams

        limit = StillnessParams().speed_threshold_deg_s
        norm = math.sqrt(sum(float(b) ** 2 for b in cfg.sensor.gyro_bias_dps))
        if norm >= limit:
            raise SimConfigError(
                f"sensor.gyro_bias_dps = {cfg.sensor.gyro_bias_dps} with output = \"raw\": a bias of "
                f"{norm:.3g} deg/s reads as a head always turning (stillness needs < {limit:g} deg/s), "
                f"so the host never sees the head still and no test can run; keep its size below "
                f"{limit:g} deg/s")


def load_config(path: str | Path | None = None, seed: int | None = None) -> SimConfig:
    """Read and validate a simulator TOML file (None: all defaults)."""
    if seed is not None:
        _number("--seed", seed, 0, 2**63 - 1, integer=True)
    if path is None:
        return config_from_dict({}, seed)
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SimConfigError(f"simulator config {path} not found") from None
    except OSError as exc:
        raise SimConfigError(f"cannot read simulator config {path}: "
                             f"{(exc.strerror or str(exc)).lower()}") from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is accepted
    except UnicodeDecodeError as exc:
        raise SimConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SimConfigError(f"{path} is not valid TOML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise SimConfigError(f"{path}: nested too deeply") from None
    try:
        return config_from_dict(data, seed)
    except SimConfigError as exc:
        raise SimConfigError(f"{path}: {exc}") from None


def as_dict(cfg: SimConfig) -> dict:
    """The configuration as plain data (for recordings and reports)."""
    def section(obj):
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    return {"seed": cfg.seed, "sensor": section(cfg.sensor), "link": section(cfg.link),
            "patient": section(cfg.patient)}
