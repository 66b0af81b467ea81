"""Calibration accuracy over random mounts with the simulated headset, printed as JSON.

The scenario of tests/test_calibration_accuracy.py (read its docstring): raw-output headset
strapped on at a random orientation, the JPE engine's functional calibration, then trials in
which the virtual patient relocates 5 deg off its start; measured components are compared
with the simulator's truth over the same frames.

- ``max_component_error_deg``: the largest |measured − true| over the components (axial,
  flexion, lateral) of all trials (full chain: fusion, bias, calibration).
- ``max_crosstalk``: the largest off-axis share caused by the alignment alone: the true sensor
  rotation decomposed on the calibrated head axes, off-axis component minus the true one,
  divided by the true relocation (0.03 = 3%).
- ``max_offaxis_error_share``: the same with the measured components (includes fusion drift).
- ``max_alignment_error_deg``: angle between the estimated and true sensor-to-head rotation,
  which contains the accelerometer bias's tilt (a 6-axis sensor cannot tell it from tilt).

Usage: python bench/calibration.py [--json] [--mounts N] [--directions all|cycle]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.sim.config import DIRECTIONS, SimConfig
from cervitrack.signal import kinematics
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.clinical.jpe import DIRECTION_COMPONENT, JpeSettings, JpeTest
from cervitrack.trainer.simulation.runner import SimSession, true_trial_errors

COMPONENTS = ("axial", "flexion", "lateral")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    parser.add_argument("--mounts", type=int, default=10)
    parser.add_argument("--directions", choices=("all", "cycle"), default="all",
                        help="all six directions per mount, or one per mount in turn (as the test)")
    args = parser.parse_args()
    mounts = Rotation.random(args.mounts, random_state=2024).as_euler("XYZ", degrees=True)
    comp_err, crosstalk, offaxis, align, trials = [], [], [], [], 0
    for k in range(args.mounts):
        directions = DIRECTIONS if args.directions == "all" else (DIRECTIONS[k % len(DIRECTIONS)],)
        cfg = SimConfig(seed=100 + k)
        cfg.sensor.output = "raw"
        cfg.sensor.mount_rpy_deg = [float(a) for a in mounts[k]]
        cfg.patient.bias_deg = {d: 5.0 for d in DIRECTIONS}
        cfg.patient.sd_deg = 0.0
        cfg.patient.offaxis_sd_deg = 0.0
        cfg.patient.posture_sd_deg = 0.0
        engine = JpeTest(JpeSettings(directions=directions, trials_per_direction=1), rate_hz=cfg.sensor.rate_hz)
        session = SimSession(cfg, engine, step_s=0.2)
        session.run()
        q_hs = session.device.imu.q_head_sensor
        q_sh = engine.calibration.q_sensor_head
        align.append(float(quat.angle_deg(quat.relative(quat.conjugate(q_hs), q_sh))))
        for tr in engine.trials:
            if not tr["valid"]:
                continue
            trials += 1
            truth = true_trial_errors(session.device, tr)
            main_c, _ = DIRECTION_COMPONENT[tr["direction"]]
            ref = session.device.truth.between(tr["ref_window"]["seq_first"], tr["ref_window"]["seq_last"])
            ret = session.device.truth.between(tr["ret_window"]["seq_first"], tr["ret_window"]["seq_last"])
            r_sensor = quat.relative(quat.mean(quat.multiply(ref.q_world_head, q_hs)),
                                     quat.mean(quat.multiply(ret.q_world_head, q_hs)))
            on_cal = kinematics.head_angles_deg(quat.multiply(quat.multiply(quat.conjugate(q_sh), r_sensor), q_sh))
            me = tr["error_deg"]
            comp_err.append(max(abs(me[c] - truth[c]) for c in COMPONENTS))
            off = [c for c in COMPONENTS if c != main_c]
            crosstalk.append(max(abs(on_cal[c] - truth[c]) for c in off) / abs(truth[main_c]))
            offaxis.append(max(abs(me[c] - truth[c]) for c in off) / abs(truth[main_c]))
    print(json.dumps({
        "benchmark": "calibration", "mounts": args.mounts, "trials": trials,
        "max_component_error_deg": max(comp_err),
        "rms_component_error_deg": float(np.sqrt(np.mean(np.square(comp_err)))),
        "max_crosstalk": max(crosstalk),
        "max_offaxis_error_share": max(offaxis),
        "max_alignment_error_deg": max(align),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
