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
from typing import TYPE_CHECKING

from cervitrack.trainer.clinical import presets as protocols
from cervitrack.trainer.recording import test_io

if TYPE_CHECKING:  # the rest is imported when the command runs (a fast --help)
    from cervitrack.trainer.stores.sessions import Store

KINDS = tuple(protocols.DEFAULT_PRESETS)


def check_device(spec: str) -> str:
    """Validate a device spec; only the simulator is available in this version."""
    spec = (spec or "").strip()
    if spec == "sim":
        return spec
    scheme = spec.split(":", 1)[0]
    if scheme in ("ble", "serial", "file", "replay", "lsl", "udp"):
        raise ValueError(f"device {spec!r}: {scheme} devices are not available in this version "
                         "yet; use --device sim")
    raise ValueError(f"unknown device {spec!r}; use --device sim")


def _overrides(args, preset, store: Store, patient_id: str) -> dict:
    _, settings_cls = protocols.engines()[preset.test]
    names = {f.name for f in dataclasses.fields(settings_cls)}
    out = {}
    if args.trials is not None:
        if args.trials < 1:
            raise ValueError("--trials must be at least 1")
        out["repetitions" if preset.test in ("butterfly", "trace") else "trials_per_direction"] = args.trials
    if "target_rom_share" in names and preset.settings.get("target_rom_share") is not None:
        rom = store.latest_rom(patient_id)
        if not rom:
            raise ValueError(f"preset {preset.name} sets the target as a share of the range of "
                             f"motion: run `cervitrack test rom --patient {patient_id}` first")
        out["rom_deg"] = rom
    return out


def run(args) -> int:
    from cervitrack.firmware_bridge.sim.config import as_dict, load_config
    from cervitrack.trainer.clinical.results import format_table, result_document
    from cervitrack.trainer.stores.sessions import Store, plain

    if args.device.strip().startswith("replay:"):
        return run_replay(args)
    device = check_device(args.device)
    preset = protocols.load(args.preset or protocols.DEFAULT_PRESETS[args.kind])
    if preset.test != args.kind:
        raise ValueError(f"preset {preset.name} is a {preset.test} test, not {args.kind}")
    cfg = load_config(args.sim_config, seed=args.seed)
    from cervitrack.trainer.simulation.sim_tests import run_sim_test, truth_for

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
        with test_io.test_capture(args, args.kind, preset, overrides, device,
                                  cfg.sensor.rate_hz) as observers:
            session = run_sim_test(preset, cfg, overrides, observers=observers)
        engine = session.engine
        doc = result_document(args.kind, preset, engine, device, truth_for(args.kind, session.device))
        if args.session is None:
            session_id = store.add_session(device, args.patient, session.device.device_info,
                                           None if engine.calibration is None else engine.calibration.to_dict(),
                                           as_dict(cfg))
        else:
            session_id = args.session
        test_id = store.add_test(session_id, args.kind, preset.name, doc["settings"], doc["scores"],
                                 {k: v for k, v in doc.items() if k != "trials"}, doc["trials"],
                                 preset_title=preset.title)
    doc["session_id"], doc["test_id"], doc["patient"] = session_id, test_id, args.patient
    if args.json:
        print(json.dumps(plain(doc)))
    else:
        print(format_table(doc))
        print(f"\nStored as session {session_id} (patient {args.patient}); "
              f"report: cervitrack report {session_id} --out report.pdf")
    return 0




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
    p = sub.add_parser("test", help="run a clinical test (JPE, target JPE, ROM, tracking, tracing) and store it")
    p.add_argument("kind", choices=KINDS, help="the test")
    p.add_argument("--device", required=True, metavar="SPEC", help='the headset; "sim": simulated headset and virtual patient; "replay:FILE.cvtrec": re-score a recorded test')
    p.add_argument("--patient", default="anonymous", metavar="ID", help="pseudonymous patient id (default: anonymous)")
    p.add_argument("--name", default=None, help="the patient's name (optional, stored locally)")
    p.add_argument("--birth-year", type=int, default=None, help="the patient's birth year (optional)")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="protocol preset (default per test: " + ", ".join(f"{k}: {v}" for k, v in protocols.DEFAULT_PRESETS.items()) + ")")
    p.add_argument("--session", type=int, default=None, metavar="ID",
                   help="add the test to this stored session (default: a new session)")
    p.add_argument("--trials", type=int, default=None, help="override trials per direction (or repetitions)")
    p.add_argument("--headless", action="store_true", help="no window (the simulator always runs headless)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, default=None, help="simulation seed")
    p.add_argument("--sim-config", metavar="FILE.toml", default=None, help="simulator settings")
    test_io.add_capture_arguments(p)
    p.set_defaults(func=run)
