"""Serial end to end: a simulated device writes OHT/1 into a pseudo-terminal; `cervitrack stream`
reads the other end through pyserial, like a USB serial port.

The port is reached through a symlink (like /dev/serial/by-id/...). "Unplugging" closes the pty
master; "plugging back in" makes a new pty pair and points the symlink at it. pyserial discards
what the OS buffered before it opened a port (``reset_input_buffer`` in ``open``), so the device
starts writing only once the reader has the port open: a pty master reports POLLHUP until its
slave side is opened.
"""

import json
import os
import select
import subprocess
import sys
import threading
import time
import tty

import numpy as np
import pytest

from cervitrack.firmware_bridge.protocols import reference

RATE_HZ = 200
PHASE1_FRAMES = 10 * RATE_HZ  # 10 s
OUTAGE_FRAMES = 100  # the device keeps counting while unplugged (0.5 s)
PHASE2_FRAMES = 1 * RATE_HZ
BANNER = b"ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"


def _frames(first_seq: int, n: int) -> list[bytes]:
    k = np.arange(first_seq, first_seq + n)
    angle = 0.3 * np.sin(k / RATE_HZ)
    quat = np.column_stack([np.cos(angle / 2), np.zeros(n), np.zeros(n), np.sin(angle / 2)])
    data = reference.encode_samples(k, 7_000_000 + k * 5000, quat)
    size = len(data) // n
    return [data[i * size:(i + 1) * size] for i in range(n)]


class PtyDevice:
    """A device behind a symlinked pty that can be unplugged and plugged in again."""

    def __init__(self, link: str) -> None:
        self.link = link
        self.master = None
        self.rng = np.random.default_rng(3)
        self.chunks_written = 0
        self.chunks_splitting_a_frame = 0

    def plug_in(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo or line editing before pyserial configures the port
        tmp = self.link + ".new"
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.link)
        os.close(slave)
        old, self.master = self.master, master
        if old is not None:
            os.close(old)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = None

    def wait_until_opened(self, timeout_s: float = 30.0) -> None:
        poller = select.poll()
        poller.register(self.master, select.POLLHUP)
        deadline = time.monotonic() + timeout_s
        while poller.poll(0):
            if time.monotonic() > deadline:
                raise AssertionError("the stream never opened the serial port")
            time.sleep(0.01)
        time.sleep(0.1)  # pyserial flushes the input right after opening: let it

    def write_paced(self, frames: list[bytes]) -> None:
        """Write frames at RATE_HZ on average, in uneven chunks at uneven moments."""
        data = b"".join(frames)
        size = len(frames[0])
        t0 = time.monotonic()
        sent = 0
        while sent < len(data):
            time.sleep(float(self.rng.uniform(0.0, 0.02)))
            due = min(len(data), int((time.monotonic() - t0) * RATE_HZ + 1) * size)
            while sent < due:
                n = int(self.rng.integers(1, 120))
                piece = data[sent:min(due, sent + n)]
                os.write(self.master, piece)
                self.chunks_written += 1
                self.chunks_splitting_a_frame += (sent + len(piece)) % size != 0
                sent += len(piece)


def stop_child(proc: subprocess.Popen, grace_s: float = 30.0) -> bytes:
    """Stop ``proc`` with SIGTERM, then SIGKILL if it has not ended after ``grace_s``; its
    stderr."""
    if proc.poll() is None:
        proc.terminate()
    try:
        _, err = proc.communicate(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or b""


@pytest.mark.slow
def test_stream_delivers_every_frame_in_order_and_marks_one_gap_on_replug(tmp_path):
    link = str(tmp_path / "ttyCERVITRACK")
    device = PtyDevice(link)
    device.plug_in()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cervitrack", "stream", "--device", f"serial:{link}",
         "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    lines: list[str] = []
    last_seq_seen = threading.Event()
    final_seq = PHASE1_FRAMES + OUTAGE_FRAMES + PHASE2_FRAMES - 1

    def read_stdout():
        for line in proc.stdout:
            lines.append(line.decode())
            if f'"seq": {final_seq},' in lines[-1]:
                last_seq_seen.set()

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        device.wait_until_opened()
        os.write(device.master, BANNER)
        device.write_paced(_frames(0, PHASE1_FRAMES))
        time.sleep(0.3)  # the reader drains, then the cable is pulled...
        device.unplug()
        time.sleep(0.2)
        device.plug_in()  # ...and plugged in again
        device.wait_until_opened()
        device.write_paced(_frames(PHASE1_FRAMES + OUTAGE_FRAMES, PHASE2_FRAMES))
        assert last_seq_seen.wait(30.0), "the last frame never came out of the stream"
    finally:
        # SIGTERM, not SIGINT: under a launcher that ignores SIGINT the child inherits that and
        # would run on; cervitrack stops on SIGTERM as on Ctrl-C. SIGKILL if it still does not.
        err = stop_child(proc)
        if device.master is not None:
            os.close(device.master)
    reader.join(5)
    assert proc.returncode == 0, err.decode()

    rows = [json.loads(line) for line in lines]
    gaps = [r["gap"] for r in rows if "gap" in r]
    seqs = np.array([r["seq"] for r in rows if "seq" in r])
    t_s = np.array([r["t_s"] for r in rows if "seq" in r])
    expected = np.concatenate([np.arange(PHASE1_FRAMES),
                               np.arange(PHASE1_FRAMES + OUTAGE_FRAMES, final_seq + 1)])
    # Every frame written arrives, once, in order; nothing else does.
    assert len(seqs) == PHASE1_FRAMES + PHASE2_FRAMES
    np.testing.assert_array_equal(seqs, expected)
    assert np.all(np.diff(t_s) > 0)
    # Exactly one gap, where the cable was pulled, with the frames the counter says were lost.
    assert len(gaps) == 1
    assert gaps[0]["reason"] == "disconnect"
    assert gaps[0]["lost_frames"] == OUTAGE_FRAMES
    gap_row = next(i for i, r in enumerate(rows) if "gap" in r)
    assert rows[gap_row - 1]["seq"] == PHASE1_FRAMES - 1
    assert rows[gap_row + 1]["seq"] == PHASE1_FRAMES + OUTAGE_FRAMES
    stats = err.decode().strip().splitlines()[-1]
    fields = dict(kv.split("=") for kv in stats.split())
    assert fields["frames"] == str(PHASE1_FRAMES + PHASE2_FRAMES)
    assert fields["gaps"] == "1" and fields["reconnects"] == "1"
    assert fields["rejected"] == "0"
    # The boot banner is skipped, and counted, by the decoder.
    assert fields["skipped_bytes"] == str(len(BANNER))
    # Uneven chunks: many writes end inside a frame.
    assert device.chunks_splitting_a_frame > device.chunks_written // 4
    print(f"pty: sent={PHASE1_FRAMES + PHASE2_FRAMES} delivered={len(seqs)} gaps={len(gaps)} "
          f"lost_frames={gaps[0]['lost_frames']} chunks={device.chunks_written} | {stats}")


def test_serial_driver_reads_stamped_chunks_notes_missing_low_latency_and_reports_loss():
    from cervitrack.firmware_bridge.transports.base import LinkLost
    from cervitrack.firmware_bridge.transports.serial_link import SerialDriver

    master, slave = os.openpty()
    tty.setraw(slave)
    driver = SerialDriver(os.ttyname(slave), 115200)
    os.close(slave)
    try:
        driver.connect()
        assert driver.low_latency is False  # a pty has no ASYNC_LOW_LATENCY...
        assert "low-latency mode not available" in driver.metadata()["notes"][0]  # ...noted
        t0 = time.monotonic()
        os.write(master, b"\xa5\x5a" * 50)
        data = b""
        while len(data) < 100:
            chunks = driver.read(0.05)
            data += b"".join(c.data for c in chunks)
            assert all(c.t_host_s >= t0 for c in chunks)
        assert data == b"\xa5\x5a" * 50
        assert driver.read(0.01) == []  # silence is an empty read, not an error
        os.close(master)
        master = None
        with pytest.raises(LinkLost):
            driver.read(0.05)
    finally:
        driver.disconnect()
        if master is not None:
            os.close(master)
