"""`cervitrack decode`: output formats, time axis, the stderr summary, user errors."""

import json
import subprocess
import sys

import numpy as np

from cervitrack.firmware_bridge.protocols.reference import encode_samples
from cervitrack.trainer.cli import main

RVC = bytes.fromhex("AA AA DE 01 00 92 FF 25 08 8D FE EC FF D1 03 00 00 00 E7")


def test_subprocess_vector_and_summary_line(tmp_path):
    f = tmp_path / "rvc.bin"
    f.write_bytes(b"boot\r\n" + RVC)
    out = subprocess.run([sys.executable, "-m", "cervitrack", "decode", str(f), "--protocol",
                          "bno08x-rvc"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0
    row = json.loads(out.stdout)
    assert list(row) == ["seq", "t_s", "quat_wxyz", "acc_m_s2"] and row["seq"] == 222
    assert out.stderr == "frames=1 rejected=0 skipped_bytes=6\n"


def test_csv_header_has_units_and_clock_is_unwrapped(tmp_path, capsys):
    n = 5
    t_us = (2**32 - 20000 + np.arange(n) * 10000) % 2**32  # the u32 µs clock wraps
    q = np.tile([1.0, 0, 0, 0], (n, 1))
    data = encode_samples(np.arange(65534, 65534 + n), t_us, q, gyr_rad_s=np.zeros((n, 3)),
                          acc_m_s2=np.tile([0, 0, 9.81], (n, 1)))
    f = tmp_path / "oht.bin"
    f.write_bytes(data)
    assert main(["decode", str(f), "--protocol", "reference", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == ("t_s,seq,quat_w,quat_x,quat_y,quat_z,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2,"
                        "gyr_x_rad_s,gyr_y_rad_s,gyr_z_rad_s")
    rows = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(np.diff(rows[:, 0]), 0.01, atol=1e-9)
    assert rows[:, 1].tolist() == [65534, 65535, 65536, 65537, 65538]
    assert err == "frames=5 rejected=0 skipped_bytes=0\n"


def test_empty_file(tmp_path, capsys):
    f = tmp_path / "empty.bin"
    f.write_bytes(b"")
    assert main(["decode", str(f), "--protocol", "witmotion-serial", "--format", "csv"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"cervitrack: error: {f} is empty: there are no bytes to decode\n"


def test_wrong_protocol_said_plainly():
    """Real WitMotion serial bytes decoded as another protocol: the installed command exits
    non-zero with one line naming the protocol whose frames are in the file."""
    import subprocess
    import sys
    from pathlib import Path

    real = Path(__file__).parent / "data" / "real" / "witmotion_serial" / "wtgahrs2_heyjdp_readme_dump.bin"
    exe = Path(sys.executable).with_name("cervitrack")
    r = subprocess.run([str(exe), "decode", str(real), "--protocol", "bno08x-rvc"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("cervitrack: error: no valid bno08x-rvc frame in 352 bytes: is this a "
                        "witmotion-serial device? (try --protocol witmotion-serial)\n")


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    f = tmp_path / "x.bin"
    f.write_bytes(RVC)
    cases = [
        ["decode", str(tmp_path / "missing.bin"), "--protocol", "bno08x-rvc"],
        ["decode", str(f), "--protocol", "nope"],
        ["decode", str(f), "--protocol", "text:nope"],
        ["decode", str(f), "--protocol", "movella-dot:x"],
        ["decode", str(tmp_path), "--protocol", "hatire"],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and len(err.splitlines()) == 1 and err.startswith("cervitrack: error: ")
