"""``cervitrack calibration list|show|delete`` over the per-device store."""

import json

import numpy as np

from cervitrack.calibration.head import HeadCalibration
from cervitrack.signal import quaternion as quat
from cervitrack.trainer.cli import main
from cervitrack.trainer.stores import calibrations as store


def test_list_show_delete(capsys, tmp_path):
    assert main(["calibration", "list"]) == 0
    assert "no saved calibrations" in capsys.readouterr().out
    cal = HeadCalibration(q_sensor_head=quat.from_axis_angle([0, 1, 0], 0.4), quality={"score": 88.0})
    store.save_calibration("ble:AA:BB", cal)
    assert main(["calibration", "list"]) == 0
    assert "ble:AA:BB\tscore 88.0" in capsys.readouterr().out
    assert main(["calibration", "show", "ble:AA:BB"]) == 0
    shown = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(shown["q_sensor_head_wxyz"], cal.q_sensor_head)
    # The shown JSON is a valid --calibration file for `cervitrack process`.
    (tmp_path / "c.json").write_text(json.dumps(shown))
    np.testing.assert_allclose(store.read_calibration_file(tmp_path / "c.json").q_sensor_head, cal.q_sensor_head)
    assert main(["calibration", "delete", "ble:AA:BB"]) == 0
    assert main(["calibration", "show", "ble:AA:BB"]) == 2
    assert "no saved calibration for device 'ble:AA:BB'" in capsys.readouterr().err
    assert main(["calibration", "delete"]) == 2
