"""The simulated headset (``--device sim``): a virtual IMU on a moving head, speaking OHT/1
over a simulated BLE-like link, with ground truth for every frame. See docs/simulator.md.

- :mod:`~cervitrack.firmware_bridge.sim.config`: settings (TOML), validation, sensor presets.
- :mod:`~cervitrack.firmware_bridge.sim.motion`: minimum-jerk segments, tremor and sway.
- :mod:`~cervitrack.firmware_bridge.sim.imu`: sensor readings from a head trajectory.
- :mod:`~cervitrack.firmware_bridge.sim.link`: bunching, jitter, loss, splits, disconnects.
- :mod:`~cervitrack.firmware_bridge.sim.device`: the headset tying them together.
"""
