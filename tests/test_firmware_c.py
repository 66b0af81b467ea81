"""The firmware's portable C frame encoder, compiled with the host compiler, against Python.

The C file (firmware_bridge/firmware/oht_headset/oht_frame.c) is built into a shared library and
called through ctypes: its frames must equal the Python encoder's byte for byte (docs/devices/oht-headset.md vectors
and random inputs), the Python decoder must decode them, and its command parser must accept the
docs/devices/oht-headset.md host→device frames and resynchronise after garbage.
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cervitrack.firmware_bridge.protocols.reference import (
    ReferenceDecoder,
    crc16_ccitt_false,
    encode_frame,
    encode_samples,
)

QUAT = bytes.fromhex("A5 5A 01 0A 2A 00 40 42 0F 00 41 2D 00 00 00 00 41 2D 03 00 80 81")
IMU = bytes.fromhex("A5 5A 02 16 2B 00 50 69 0F 00 00 40 00 00 00 00 00 00 00 00 00 00 "
                    "0C 01 00 00 00 00 CF 09 03 00 95 22")
TARE = bytes.fromhex("A5 5A 83 00 07 00 00 00 00 00 8B CC")
RATE = bytes.fromhex("A5 5A 82 02 08 00 00 00 00 00 64 00 D4 C4")

F4 = ctypes.c_float * 4
F3 = ctypes.c_float * 3


class Frame(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint8), ("len", ctypes.c_uint8), ("seq", ctypes.c_uint16),
                ("t_us", ctypes.c_uint32), ("payload", ctypes.POINTER(ctypes.c_uint8))]


class Parser(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_uint8 * 251), ("frame", ctypes.c_uint8 * 239),
                ("n", ctypes.c_size_t), ("rejected", ctypes.c_uint32)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no host C compiler (cc, gcc or clang) on PATH to build oht_frame.c")
    src = (Path(__file__).resolve().parents[1] / "firmware_bridge" / "firmware" / "oht_headset"
           / "oht_frame.c")
    out = tmp_path_factory.mktemp("oht") / "liboht.so"
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC",
                    "-o", str(out), str(src), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(out))
    lib.oht_crc16.restype = ctypes.c_uint16
    lib.oht_crc16.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.oht_encode_frame.restype = ctypes.c_size_t
    lib.oht_encode_frame.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint8,
                                     ctypes.c_uint16, ctypes.c_uint32, ctypes.c_char_p,
                                     ctypes.c_uint8]
    lib.oht_encode_quat.restype = ctypes.c_size_t
    lib.oht_encode_quat.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint16,
                                    ctypes.c_uint32, F4, ctypes.c_uint8]
    lib.oht_encode_quat_imu.restype = ctypes.c_size_t
    lib.oht_encode_quat_imu.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint16,
                                        ctypes.c_uint32, F4, F3, F3, ctypes.c_uint8]
    lib.oht_parser_feed.restype = ctypes.c_int
    lib.oht_parser_feed.argtypes = [ctypes.POINTER(Parser), ctypes.c_uint8, ctypes.POINTER(Frame)]
    lib.oht_parser_next.restype = ctypes.c_int
    lib.oht_parser_next.argtypes = [ctypes.POINTER(Parser), ctypes.POINTER(Frame)]
    lib.oht_parser_init.argtypes = [ctypes.POINTER(Parser)]
    return lib


def _quat(lib, seq, t_us, q, status=3):
    out = ctypes.create_string_buffer(64)
    n = lib.oht_encode_quat(out, 64, seq, t_us, F4(*q), status)
    return out.raw[:n]


def _imu(lib, seq, t_us, q, g, a, status=3):
    out = ctypes.create_string_buffer(64)
    n = lib.oht_encode_quat_imu(out, 64, seq, t_us, F4(*q), F3(*g), F3(*a), status)
    return out.raw[:n]


def _frame(lib, frame_type, seq, t_us, payload=b""):
    out = ctypes.create_string_buffer(300)
    n = lib.oht_encode_frame(out, 300, frame_type, seq, t_us, payload, len(payload))
    return out.raw[:n]


def test_crc_check_value(lib):
    assert lib.oht_crc16(b"123456789", 9) == 0x29B1
    rng = np.random.default_rng(0)
    for size in (0, 1, 17, 240):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert lib.oht_crc16(data, size) == crc16_ccitt_false(data)


def test_the_documented_example_frames(lib):
    assert _quat(lib, 42, 1_000_000, [11585 / 16384, 0, 0, 11585 / 16384]) == QUAT
    assert _imu(lib, 43, 1_010_000, [1, 0, 0, 0], [0, 0, 268 / 512], [0, 0, 2511 / 256]) == IMU
    assert _frame(lib, 0x83, 7, 0) == TARE
    assert _frame(lib, 0x82, 8, 0, b"\x64\x00") == RATE
    assert _frame(lib, 0x10, 0, 0, bytes(240)) == b""  # payload too long


def test_random_inputs_match_python_byte_for_byte(lib):
    rng = np.random.default_rng(42)
    n = 300
    # float32 inputs (what the firmware has), including values that saturate int16
    q = rng.uniform(-1.2, 1.2, (n, 4)).astype(np.float32)
    g = rng.uniform(-80, 80, (n, 3)).astype(np.float32)
    a = rng.uniform(-150, 150, (n, 3)).astype(np.float32)
    q[:5] = np.float32(0.5) / np.float32(16384) * np.arange(5)[:, None]  # exact .5 ties
    seq = rng.integers(0, 70000, n)
    t_us = rng.integers(0, 2**33, n)
    status = rng.integers(0, 256, n)
    c_quat = b"".join(_quat(lib, int(s) % 65536, int(t) % 2**32, qq, int(st))
                      for s, t, qq, st in zip(seq, t_us, q, status))
    c_imu = b"".join(_imu(lib, int(s) % 65536, int(t) % 2**32, qq, gg, aa, int(st))
                     for s, t, qq, gg, aa, st in zip(seq, t_us, q, g, a, status))
    py_quat = b"".join(encode_samples([s], [t], [qq], status=st)
                       for s, t, qq, st in zip(seq, t_us, q.astype(np.float64), status))
    py_imu = encode_samples(seq, t_us, q.astype(np.float64), gyr_rad_s=g.astype(np.float64),
                            acc_m_s2=a.astype(np.float64), status=status)
    assert c_quat == py_quat
    assert c_imu == py_imu
    for _ in range(50):
        payload = rng.integers(0, 256, int(rng.integers(0, 240)), dtype=np.uint8).tobytes()
        ft, s = int(rng.integers(0, 256)), int(rng.integers(0, 65536))
        t = int(rng.integers(0, 2**32))
        assert _frame(lib, ft, s, t, payload) == encode_frame(ft, s, t, payload)


def test_python_decoder_decodes_c_output(lib):
    rng = np.random.default_rng(1)
    n = 100
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    data = b"".join(_quat(lib, i, i * 10000, q[i]) if i % 2 else
                    _imu(lib, i, i * 10000, q[i], [0.1, 0.2, 0.3], [0, 0, 9.81])
                    for i in range(n))
    d = ReferenceDecoder()
    b = d.feed(data)
    assert b.seq.tolist() == list(range(n)) and d.stats.rejected_frames == 0
    np.testing.assert_allclose(np.abs(np.sum(b.quat_wxyz * q, axis=1)), 1, atol=1e-6)


def test_c_parser_accepts_commands_and_resyncs(lib):
    p = Parser()
    lib.oht_parser_init(ctypes.byref(p))
    bad = bytearray(TARE)
    bad[5] ^= 1
    stream = b"\x00\xa5\xa5" + bytes(bad) + RATE + b"\x5a" + TARE
    found = []
    f = Frame()
    for byte in stream:
        ok = lib.oht_parser_feed(ctypes.byref(p), byte, ctypes.byref(f))
        while ok:
            found.append((f.type, f.seq, bytes(f.payload[:f.len])))
            ok = lib.oht_parser_next(ctypes.byref(p), ctypes.byref(f))
    assert found == [(0x82, 8, b"\x64\x00"), (0x83, 7, b"")]
    assert p.rejected >= 1


@pytest.mark.slow
def test_wheel_ships_the_firmware_folder(tmp_path):
    import sys
    import zipfile

    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(tmp_path), str(repo)], check=True, capture_output=True, cwd=tmp_path)
    names = zipfile.ZipFile(next(tmp_path.glob("cervitrack-*.whl"))).namelist()
    base = "cervitrack/firmware_bridge/firmware/"
    for rel in ("README.md", "oht_headset/oht_headset.ino", "oht_headset/oht_frame.c",
                "oht_headset/oht_frame.h"):
        assert base + rel in names
