"""Each emulated device's byte encoder is the exact inverse of its decoder (round trip).

The encoders sit next to the decoders in firmware_bridge/protocols/*.py; these tests fail as soon
as one of the pair changes its convention (Euler order, axis signs, scaling) without the other.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from cervitrack.firmware_bridge.emulation import PROTOCOLS, SampleBlock, make_protocol
from cervitrack.firmware_bridge.protocols import make_decoder, witmotion
from cervitrack.signal import quaternion as quat


def _block(n=40, seed=3, max_pitch_deg=80.0):
    rng = np.random.default_rng(seed)
    ypr = np.column_stack([rng.uniform(-179, 179, n), rng.uniform(-max_pitch_deg, max_pitch_deg, n),
                           rng.uniform(-179, 179, n)])
    q = quat.from_rotation(Rotation.from_euler("ZYX", ypr, degrees=True))
    return SampleBlock(k=np.arange(n), t_device_s=np.arange(n) / 100.0 + 3.0, quat_wxyz=q,
                       acc_m_s2=rng.normal(0, 5, (n, 3)), gyr_rad_s=rng.normal(0, 2, (n, 3)),
                       mag_uT=rng.normal(0, 30, (n, 3)))


def _angle_deg(q1, q2):
    return quat.angle_deg(quat.relative(q1, q2))


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_round_trip_through_the_decoder(name):
    proto = make_protocol(name)
    proto.rate_hz = 100.0
    block = _block()
    messages = proto.encode(block)
    assert len(messages) == len(block.k)  # one message (frames, datagram, notification) per sample
    decoder = make_decoder(proto.decoder_name)
    batch = _with_finish(decoder.feed(b"".join(messages)), decoder)
    assert len(batch) == len(block.k)
    assert decoder.stats.rejected_frames == 0 and decoder.stats.skipped_bytes == 0
    # Quantisation: int16 Euler at 180/32768° (0.0055°), 0.01° (BNO08x), Q14 (reference), float32.
    assert np.max(_angle_deg(block.quat_wxyz, batch.quat_wxyz)) < 0.02
    if batch.acc_m_s2 is not None:
        assert np.max(np.abs(batch.acc_m_s2 - block.acc_m_s2)) < 0.01
    if batch.gyr_rad_s is not None:
        assert np.max(np.abs(batch.gyr_rad_s - block.gyr_rad_s)) < 0.005
    seq = np.asarray(batch.seq)
    if decoder.seq_modulus is not None:
        assert np.array_equal(seq, block.k % decoder.seq_modulus)
    if decoder.has_clock:
        assert np.allclose(batch.t_device_s, block.t_device_s, atol=1e-6)


def _with_finish(batch, decoder):
    from cervitrack.signal.samples import concat

    return concat([batch, decoder.finish()])


def test_witmotion_serial_sends_the_channels_its_output_register_selects():
    proto = make_protocol("witmotion-serial")
    block = _block(5)
    first = proto.encode(block)[0]
    assert [first[i + 1] for i in range(0, len(first), 11)] == [0x51, 0x52, 0x53, 0x54]  # factory RSW 0x001E: acc, gyro, angle, mag
    for reg, value in ((witmotion.REG_UNLOCK, witmotion.UNLOCK_VALUE), (witmotion.REG_RSW, 0x21F)):
        proto.host_bytes(witmotion.encode_command(reg, value))
    frames = proto.encode(block)[0]
    assert [frames[i + 1] for i in range(0, len(frames), 11)] == [0x50, 0x51, 0x52, 0x53, 0x54, 0x59]
    decoder = make_decoder("witmotion-serial")
    batch = _with_finish(decoder.feed(b"".join(proto.encode(block))), decoder)
    assert np.max(_angle_deg(block.quat_wxyz, batch.quat_wxyz)) < 0.01  # the 0x59 quaternion
    assert witmotion.chip_time_s(frames[2:10]) == pytest.approx(block.t_device_s[0], abs=1e-3)


def test_witmotion_configuration_needs_the_unlock_and_is_read_back():
    proto = make_protocol("witmotion-serial")
    assert proto.rate_hz == 10.0  # factory default
    proto.host_bytes(witmotion.encode_command(witmotion.REG_RATE, 0x09))
    assert proto.rate_hz == 10.0  # locked: ignored, as current firmware does
    replies = proto.host_bytes(witmotion.encode_command(witmotion.REG_UNLOCK, witmotion.UNLOCK_VALUE)
                               + witmotion.encode_command(witmotion.REG_RATE, 0x09)[:3])
    assert replies == [] and proto.rate_hz == 10.0  # a command split across writes waits
    proto.host_bytes(witmotion.encode_command(witmotion.REG_RATE, 0x09)[3:])
    assert proto.rate_hz == 100.0
    proto.host_bytes(witmotion.encode_command(witmotion.REG_SAVE, 0))
    reply = b"".join(proto.host_bytes(witmotion.encode_command(witmotion.REG_READ, witmotion.REG_RATE)))
    assert reply == witmotion.encode_register_reply([0x09, 0x06, 0, 0])  # rate, then baud 115200


def test_witmotion_ble_takes_the_same_configuration_and_answers_0x71():
    proto = make_protocol("witmotion-ble")
    assert proto.ble.write_uuid.startswith("0000ffe9") and proto.ble.notify_uuid.startswith("0000ffe4")
    proto.host_bytes(witmotion.encode_command(witmotion.REG_UNLOCK, witmotion.UNLOCK_VALUE)
                     + witmotion.encode_command(witmotion.REG_RATE, 0x08))
    assert proto.rate_hz == 50.0
    reply, = proto.host_bytes(witmotion.encode_command(witmotion.REG_READ, witmotion.REG_RATE))
    decoder = make_decoder("witmotion-ble")
    decoder.feed(reply)
    assert decoder.registers[witmotion.REG_RATE] == 0x08 and decoder.registers[0x04] == 0x06
