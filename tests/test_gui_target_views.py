"""The tracking and tracing views, driven by the clinical tests' engines and the simulator.

These views exist for the Butterfly-style tracking and pattern-tracing engines of the clinical
tests (:mod:`cervitrack.trainer.clinical.presets`); a build without them does not offer those tests,
and these tests need them.
"""

import numpy as np
import pytest
from PySide6 import QtWidgets  # the pinned binding, before pyqtgraph

pytest.importorskip("cervitrack.trainer.clinical.trajectories",
                    reason="the clinical tests (tracking, tracing) are not in this build")

from cervitrack.trainer.audio.outputs import RecordingOutput
from cervitrack.trainer.clinical.names import display_name
from cervitrack.trainer.gui.application import make_window  # noqa: E402
from cervitrack.trainer.gui.main_window import AppSettings  # noqa: E402


@pytest.fixture(scope="module")
def qapp():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def drive(window, frames, until=None, frame_s=1 / 30):
    for i in range(frames):
        window.worker.step_to(round(window.worker.t_s + frame_s, 9))
        window.tick()
        QtWidgets.QApplication.processEvents()
        if until is not None and until():
            return i + 1
    return frames


def start(person, test):
    """The app with the simulated device, a patient and ``test`` started, all by typing and
    clicking; the Test tab shown."""
    window = make_window(trials_per_direction=1, settings=AppSettings(follow=False), threaded=False,
                         player=RecordingOutput())
    window.resize(900, 700)
    window.show()
    person.connect(window, "sim", wait=False)
    drive(window, 100, until=lambda: window.link_ready()[0])  # a test needs samples first
    spec = window.catalog[test]
    person.start_test(window, display_name(spec.name, spec.label, spec.kind))
    person.click_tab(window, "Test")
    return window


def test_butterfly_view_moves_the_target_along_the_run_and_lights_it_on_target(qapp, close_window, person):
    window = start(person, "butterfly")
    view = window.test_views["butterfly"]
    drive(window, 3000, until=lambda: view.trajectory is not None, frame_s=0.1)
    on, agree, distance = [], [], []

    def watch():
        feed = window.worker.feed
        t = feed.ring.channel("t_s", 1)[-1]
        expected = view.trajectory.position_deg([t - view.t_start_s])[0]
        pos = view.target.pos()
        distance.append(np.hypot(pos.x() + expected[0], pos.y() - expected[1]))
        cursor = np.degrees(np.arctan([feed.ring.channel("wall_u", 1)[-1], feed.ring.channel("wall_v", 1)[-1]]))
        inside = np.hypot(cursor[0] - expected[0], cursor[1] - expected[1]) <= view.radius_deg
        on.append(view.on_target)
        agree.append(view.on_target == inside)
        return False

    frames = drive(window, 500, until=watch)
    close_window(window)
    assert frames == 500
    assert max(distance) < 1e-6  # drawn where the trajectory says (x mirrored to the right)
    assert all(agree)  # lit exactly while the dot is within the target radius
    assert sum(on) > 100


def test_tracing_view_draws_the_pattern_band_to_scale(qapp, close_window, person):
    window = start(person, "trace-figure8")
    view = window.test_views["tracing"]
    frames = drive(window, 4000, until=lambda: window.worker.feed.state.get("phase") == "trace", frame_s=0.1)
    assert frames < 4000
    frames = drive(window, 500)
    close_window(window)
    x, y = view.line.getData()
    assert frames == 500 and len(x) > 100
    assert view.band.opts["pen"].widthF() == pytest.approx(2 * window.worker.feed.state["settings"]["band_deg"])
    assert not view.band.opts["pen"].isCosmetic()
    assert np.hypot(x[0], y[0]) < 1e-6  # the figure-eight starts at the centre
