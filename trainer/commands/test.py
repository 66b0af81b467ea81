"""``cervitrack test jpe|thp|rom|butterfly|trace``: run a clinical test and store it.

With ``--device sim`` the simulated headset and virtual patient perform the test on simulated
time (headless; ``--json`` prints one JSON object). Every run is stored in the sessions store
(:mod:`cervitrack.trainer.stores.sessions`) as a new session of the patient (``--patient``, default
"anonymous"). A preset (``--preset``, docs/clinical-tests.md) chooses the protocol; the default
preset of each test is listed in :data:`cervitrack.trainer.clinical.presets.DEFAULT_PRESETS`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import TYPE_CHECKING

from cervitrack.trainer.clinical import presets as protocols
from cervitrack.trainer.commands import (
    DEVICE_FORMS,
    LIVE_KINDS,
    add_device_argument,
    add_force_argument,
    add_pace_arguments,
    check_count,
    pace_speed,
)
from cervitrack.trainer.commands._test_run import (
    STOPPED_BY_CTRL_C,
    TestOutput,
    run_live,
    stopped_note,
)
from cervitrack.trainer.paths import DEFAULT_PATIENT
from cervitrack.trainer.recording import test_io

if TYPE_CHECKING:  # the rest is imported when the command runs (a fast --help)
    from cervitrack.trainer.stores.sessions import Store

KINDS = tuple(protocols.DEFAULT_PRESETS)


def device_kind(spec: str) -> str:
    """The kind of a ``--device`` spec a test can run on (ValueError otherwise)."""
    from cervitrack.firmware_bridge.device_spec import parse_device_spec

    kind = parse_device_spec(spec).kind
    if kind not in ("sim", "replay") + LIVE_KINDS:
        raise ValueError(f"unknown device {spec!r}; use {DEVICE_FORMS}")
    return kind


def _overrides(args, preset, store: Store, patient_id: str) -> dict:
    _, settings_cls = protocols.engines()[preset.test]
    names = {f.name for f in dataclasses.fields(settings_cls)}
    out = {}
    if args.trials is not None:
        key = "repetitions" if preset.test in ("butterfly", "trace") else "trials_per_direction"
        check_count("--trials", args.trials, 1, int(protocols.RANGES[key][1]))
        out[key] = args.trials
    if "target_rom_share" in names and preset.settings.get("target_rom_share") is not None:
        rom = store.latest_rom(patient_id)
        if not rom:
            raise ValueError(f"preset {preset.name} sets the target as a share of the range of "
                             f"motion: run `cervitrack test rom --patient {patient_id}` first")
        out["rom_deg"] = rom
    return out


def run(args) -> int:
    from cervitrack.trainer.clinical.results import format_table, result_document
    from cervitrack.trainer.stores.results_file import save_result_file, unstored_message
    from cervitrack.trainer.stores.sessions import Store, plain
    from cervitrack.trainer.stores.sqlite_file import StoreError

    kind = device_kind(args.device)
    if kind == "replay":
        return run_replay(args)
    pace_speed(args, None)  # validates --speed/--fast (refused with a real device)
    if kind in LIVE_KINDS and (args.seed is not None or args.sim_config):
        raise ValueError("--seed and --sim-config are for --device sim")
    if kind in LIVE_KINDS and (args.record or args.lsl):
        raise ValueError("--record and --lsl with a real device: record it with "
                         "`cervitrack record --device SPEC --out FILE.cvtrec` (tests record with --device sim)")
    preset = protocols.load(args.preset or protocols.DEFAULT_PRESETS[args.kind])
    if preset.test != args.kind:
        raise ValueError(f"preset {preset.name} is a {preset.test} test, not {args.kind}")

    with Store() as store:
        if args.session is not None:
            existing = store.session(args.session)
            if existing is None:
                raise ValueError(f"no session {args.session} in the sessions store")
            if existing["patient_id"] != args.patient:
                raise ValueError(f"session {args.session} belongs to patient "
                                 f"{existing['patient_id']!r}, not {args.patient!r}")
        store.ensure_patient(args.patient, args.name, args.birth_year)
        overrides = _overrides(args, preset, store, args.patient)
        paced = kind in LIVE_KINDS or args.speed is not None
        voice = None
        if paced and not args.no_sound:  # a person follows: each prompt is spoken too
            from cervitrack.trainer.audio.voice import for_command_line

            voice = for_command_line()
        output = TestOutput(args.events, show_prompts=paced, force=args.force,
                            out=sys.stderr if args.json else sys.stdout, voice=voice)
        try:
            if kind == "sim":
                engine, device_info, sim_config, truth, stopped = _run_sim(args, preset, overrides, output)
            else:
                engine, device_info, stopped = run_live(args, _live_spec(args.kind, preset, overrides), output)
                sim_config, truth = None, None
        finally:
            output.close()
        doc = result_document(args.kind, preset, engine, args.device, truth)
        if stopped:
            doc["aborted"] = stopped_note(stopped, engine)
        # The results are on disk before the store is written: a failing store loses nothing.
        side_file = save_result_file({**doc, "patient": args.patient}, args.kind, args.patient)
        try:
            if args.session is None:
                session_id = store.add_session(args.device, args.patient, device_info,
                                               None if engine.calibration is None else engine.calibration.to_dict(),
                                               sim_config)
            else:
                session_id = args.session
            test_id = store.add_test(session_id, args.kind, preset.name, doc["settings"], doc["scores"],
                                     {k: v for k, v in doc.items() if k != "trials"}, doc["trials"],
                                     preset_title=doc["preset_title"])
        except StoreError as exc:
            doc["patient"] = args.patient
            print(json.dumps(plain(doc)) if args.json else format_table(doc))
            print(unstored_message(side_file, exc), file=sys.stderr)
            return 2
        side_file.unlink()  # stored: no second copy of the health data
    doc["session_id"], doc["test_id"], doc["patient"] = session_id, test_id, args.patient
    stored = (f"Stored as session {session_id} (patient {args.patient}); "
              f"report: cervitrack report {session_id} --out report.pdf")
    if stopped:
        stored = f"The test was {doc['aborted']}: the trials done are stored, marked aborted.\n" + stored
    if args.json:
        print(json.dumps(plain(doc)))
        if paced:
            print(stored, file=sys.stderr)  # the person following the prompts reads it there
    else:
        print(format_table(doc))
        print("\n" + stored)
    return 130 if stopped else 0  # 130: ended by an interrupt, as a shell reports Ctrl-C


def _run_sim(args, preset, overrides, output: TestOutput):
    """The simulated headset and virtual patient (fast by default; ``--speed X``: X times real
    time, printing the prompts)."""
    from cervitrack.firmware_bridge.sim.config import as_dict, load_config
    from cervitrack.trainer.simulation.sim_tests import run_sim_test, truth_for

    cfg = load_config(args.sim_config, seed=args.seed)
    running: list = []  # the session, once it steps (kept for a Ctrl-C)

    def keep(session, _result):
        if not running:
            running.append(session)
        output.follow(session.engine)

    follow = [keep]
    if args.speed is not None:
        t0 = time.monotonic()

        def pace(session, _result, speed=args.speed):
            wait = t0 + session.t_s / speed - time.monotonic()
            if wait > 0:
                time.sleep(wait)

        follow.append(pace)
    stopped = None
    try:
        with test_io.test_capture(args, args.kind, preset, overrides, "sim", cfg.sensor.rate_hz) as observers:
            session = run_sim_test(preset, cfg, overrides, observers=observers + follow)
    except KeyboardInterrupt:
        if not running or not running[0].engine.trials:
            raise  # nothing done yet: nothing to store
        session, stopped = running[0], STOPPED_BY_CTRL_C
    return (session.engine, session.device.device_info, as_dict(cfg), truth_for(args.kind, session.device),
            stopped)


def _live_spec(kind: str, preset, overrides: dict):
    """The test as the application's worker runs it (a catalog entry)."""
    from cervitrack.trainer.gui.catalog import KIND_VIEWS, TestSpec

    view, eyes_closed = KIND_VIEWS[kind]

    def make(rate_hz, calibration):
        return protocols.build_engine(preset, rate_hz, overrides, calibration)

    return TestSpec(preset.name, preset.title, view, eyes_closed, make, kind)


def run_replay(args) -> int:
    """Re-score a recorded test (``--device replay:PATH``): exactly the live scores. The
    result is printed, not stored (the live run was)."""
    from cervitrack.trainer.clinical.results import format_table, result_document
    from cervitrack.trainer.recording.rescore import recorded_preset
    from cervitrack.trainer.stores.sessions import plain

    if args.record:
        raise ValueError("--record with --device replay: the recording exists already")
    session, metadata = test_io.replay(args)
    test = metadata.get("test") or {}
    preset = recorded_preset(test)
    if preset is None or test.get("kind") != args.kind:
        raise ValueError(f"{args.device} does not hold a recorded {args.kind} test "
                         "(record one with `cervitrack test ... --record PATH`)")
    doc = result_document(args.kind, preset, session.engine, args.device)
    doc["replayed"] = True
    if not session.engine.done:
        doc["note_replay"] = "the recording ends before the test did: partial scores"
    print(json.dumps(plain(doc)) if args.json else format_table(doc))
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "test", help="run a clinical test (JPE, target JPE, ROM, tracking, tracing) and store it",
        description="Run a clinical test with a person wearing a device (or the simulated headset "
        "and virtual patient), print each instruction, and store the result under --patient.")
    p.add_argument("kind", choices=KINDS, help="the test: " + ", ".join(KINDS))
    add_device_argument(p, extra="sim: the simulated headset and virtual patient; replay: re-score a "
                        "recorded test (printed, not stored)")
    p.add_argument("--protocol", metavar="P", default=None,
                   help="wire protocol of a real device (default: its profile's; udp: opentrack-udp)")
    p.add_argument("--patient", default=DEFAULT_PATIENT, metavar="ID",
                   help=f"pseudonymous patient id (default: {DEFAULT_PATIENT})")
    p.add_argument("--name", default=None, help="the patient's name (optional, stored locally)")
    p.add_argument("--birth-year", type=int, default=None, help="the patient's birth year (optional)")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="protocol preset (shipped: " + ", ".join(sorted(f.stem for f in protocols.SHIPPED_DIR.glob("*.toml")))
                   + "; or your own, docs/clinical-tests.md; default per test: "
                   + ", ".join(f"{k}: {v}" for k, v in protocols.DEFAULT_PRESETS.items()) + ")")
    p.add_argument("--session", type=int, default=None, metavar="ID",
                   help="add the test to this stored session (default: a new session)")
    p.add_argument("--trials", type=int, default=None, metavar="N",
                   help="trials per direction (butterfly, trace: repetitions), instead of the preset's")
    p.add_argument("--use-saved-calibration", action="store_true",
                   help="real device: reuse its saved calibration without asking (default: ask "
                   "when interactive, else calibrate afresh)")
    p.add_argument("--events", metavar="PATH", default=None,
                   help="write each prompt and the test's moments as JSON lines as they happen "
                   "(kinds: prompt, test_start, trial_start, trial_end, pause, resume, test_end)")
    p.add_argument("--headless", action="store_true", help="no window (tests always run without one)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the prompts go to stderr)")
    p.add_argument("--no-sound", action="store_true",
                   help="print the prompts without speaking them (they are spoken by default "
                   "when a person follows the test)")
    p.add_argument("--seed", type=int, default=None, help="sim: simulation seed")
    p.add_argument("--sim-config", metavar="FILE.toml", default=None, help="sim: simulator settings")
    add_pace_arguments(p, default="as fast as possible; a real device runs in real time")
    add_force_argument(p)
    test_io.add_capture_arguments(p)
    p.set_defaults(func=run)
