"""``cervitrack train``: the home training program.

- ``cervitrack train [--device sim] [--patient ID]``: today's session on the command line:
  disclaimer, first-run safety screen (red flags), daily 5D/3N check, pain/dizziness rating,
  then the drills; questions (ratings, "where do you think you are?") are asked in the
  terminal. With ``--device sim`` a virtual trainee wears the simulated headset and moves;
  you answer. With a display (and without ``--terminal``) the same session runs in the
  patient training window (:mod:`cervitrack.trainer.gui.training_window`).
- ``cervitrack train --device sim --screenshot PATH [--moment M] [--size WxH]``: the training
  window rendered offscreen with the virtual trainee.
- ``cervitrack train --device sim --headless --simulate-days N [--pain-flare-day D] [--json]``:
  a virtual trainee who improves with practice does the program day by day (real drill
  sessions through the simulated pipeline); prints one record per day (``--json``:
  ``{"days": [...]}``). ``--progress-png FILE`` also renders the progress figure.

The history is stored in ``training.db`` in the data dir (simulations: ``training-sim.db``).
Cervitrack measures and trains; it does not diagnose.
"""

from __future__ import annotations

import datetime as dt
import json

from cervitrack.trainer.commands import (
    MAX_SIMULATED_DAYS,
    CliError,
    add_device_argument,
    check_count,
)
from cervitrack.trainer.paths import DEFAULT_PATIENT

DAY_KEYS = ("day", "date", "level", "level_next", "mode", "stopped", "reason", "pain_before", "pain_after",
            "max_pain_rise_nrs", "dizziness_max", "n_trials", "ae_deg", "ae_by_direction_deg",
            "estimate_agreement", "tracking", "skipped_blocks", "headache_nrs", "adherence", "level_reason",
            "advice", "sim_s")


def _round(v):
    if isinstance(v, float):
        return round(v, 3)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    return v


def day_json(record: dict) -> dict:
    return {k: _round(record.get(k)) for k in DAY_KEYS}


def format_days(records: list[dict]) -> str:
    lines = ["day  level  mode    stopped  pain b/a  AE (°)  headache  next level",
             "-" * 70]
    for r in records:
        ae = f"{r['ae_deg']:6.2f}" if r["ae_deg"] is not None else "     -"
        stop = (r["reason"] or "yes") if r["stopped"] else "no"
        lines.append(f"{r['day']:>3}  {r['level']:>5}  {r['mode']:<6}  {stop:<7}  "
                     f"{r['pain_before']:>3}/{r['pain_after']:<3}"
                     f"  {ae}  {r['headache_nrs']:>8}  {r['level_next']:>3}  {r['level_reason']}")
    last = records[-1]["adherence"]
    streak = last["current_streak_days"]
    lines += ["", f"Adherence: {last['checkin_days']} of {last['planned_days']} days, current streak "
              f"{streak} {'day' if streak == 1 else 'days'}. AE: eyes-closed relocation absolute error (laser "
              "levels: with the dot visible).",
              "Stops follow the rules in docs/training.md (pain up by 2 or more, any dizziness or nausea)."]
    return "\n".join(lines)


def run_simulation(args) -> int:
    from cervitrack.trainer.training.simulate import SIM_START_DATE, simulate_program
    from cervitrack.trainer.training.store import TrainingStore, default_path

    days = check_count("--simulate-days", args.simulate_days, 1, MAX_SIMULATED_DAYS)
    if days is None:
        days = 1
    check_count("--pain-flare-day", args.pain_flare_day, 1, days)
    with TrainingStore(args.db or default_path(simulation=True)) as store:
        records = simulate_program(days, store, seed=args.seed, flare_day=args.pain_flare_day)
        if args.progress_png:
            from cervitrack.trainer.training.plot import save_progress_png

            save_progress_png(args.progress_png, store.sessions("sim"), store.trials("sim"), store.diary("sim"),
                              SIM_START_DATE, title=f"Simulated {days}-day program (virtual trainee, seed {args.seed})")
    if args.json:
        print(json.dumps({"device": "sim", "seed": args.seed, "pain_flare_day": args.pain_flare_day,
                          "days": [day_json(r) for r in records]}))
    else:
        print(format_days(records))
    return 0


def run_interactive(args, ask=None, say=print) -> int:
    from cervitrack.trainer.training import cli_flow, levels, safety, symptoms
    from cervitrack.trainer.training.plan import Plan
    from cervitrack.trainer.training.store import TrainingStore

    ask = ask or (lambda text: input(text))
    source = None
    if args.device != "sim":
        from cervitrack.trainer.training.live import open_device

        source = open_device(args.device, args.seed, args.protocol, args.baud)  # fail before the questions
    today = dt.date.today().isoformat()
    with TrainingStore(args.db) as store:
        plan = store.plan(args.patient)
        if plan is None:
            plan = Plan(patient=args.patient)
            store.save_plan(plan, today, "default plan")
        earlier = store.stops(args.patient, today)
        if earlier:  # a stop holds for the rest of the day: say it again, with the next step
            say("Earlier today you stopped training. Training is paused for the rest of today.")
            cli_flow.say_stop(say, earlier[-1], plan)
            return 0
        say(safety.DISCLAIMER)
        first = store.first_run_screening(args.patient)
        if first is None or first["positive"]:
            say("First, some safety questions. Answer each with y or n.")
            screen, kind = cli_flow.run_screen(ask, say, safety.FIRST_RUN_QUESTIONS), "first_run"
        else:  # the first-run screen contains these: never asked twice the same day
            say("Today's check: since your last session...")
            screen, kind = cli_flow.run_screen(ask, say, safety.DAILY_QUESTIONS), "daily"
        store.save_screening(args.patient, today, kind, screen.positive, screen.flags)
        if screen.positive:
            store.save_stop(args.patient, today, kind, "screen", screen.flags)
            cli_flow.say_stop(say, {"kind": kind, "reason": "screen", "flags": list(screen.flags), "detail": {}}, plan)
            return 0
        headache = cli_flow.ask_nrs(ask, "Headache diary: how bad was your worst headache since yesterday? 0 = none.")
        store.save_diary(args.patient, today, headache)
        before = cli_flow.ask_rating(ask)
        mode, stop = symptoms.readiness(before, plan.gentle_pain_nrs, plan.no_training_pain_nrs)
        if mode == "none":
            detail = {"pain_nrs": before.pain_nrs}
            store.save_stop(args.patient, today, "readiness", stop.reason, (), detail)
            cli_flow.say_stop(say, {"kind": "readiness", "reason": stop.reason, "flags": [], "detail": detail}, plan)
            return 0
        say(levels.level(plan.level).describe() + (" (gentle day: small movements only)" if mode == "gentle" else ""))
        if source is None:
            from cervitrack.trainer.training.interactive import run_sim_interactive

            return run_sim_interactive(args, store, plan, mode, before, today, ask, say)
        from cervitrack.trainer.training.interactive import finish_live

        return finish_live(args, store, plan, mode, before, today, source, ask, say)


def run(args) -> int:
    simulate = args.headless or args.json  # with --device sim: no person at the terminal
    if args.simulate_days is not None or args.pain_flare_day is not None or (simulate and args.device == "sim"):
        if args.device != "sim":
            raise CliError("--simulate-days needs --device sim")
        if args.pain_flare_day is not None and args.simulate_days is None:
            raise CliError("--pain-flare-day needs --simulate-days")
        return run_simulation(args)
    if args.json or args.headless:
        raise CliError("--json and --headless are for the simulation (--device sim); a live session is interactive")
    if args.screenshot:
        return run_screenshot(args)
    from cervitrack.trainer.commands.demo import has_display

    if not args.terminal and has_display():
        return run_gui(args)
    return run_interactive(args)


def run_screenshot(args) -> int:
    """The training window offscreen (virtual trainee, a few simulated days of history in a
    temporary file): mid-drill or at the summary."""
    if args.device != "sim":
        raise CliError("--screenshot needs --device sim (the virtual trainee does the session)")
    from cervitrack.trainer.gui.training_app import render_training_screenshot

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise CliError(f"--size must be WIDTHxHEIGHT, e.g. 1280x720, got {args.size!r}") from None
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise CliError(f"--size {args.size} is outside 320x240 .. 7680x4320")
    path = render_training_screenshot(args.screenshot, args.moment, seed=args.seed, size=(width, height))
    print(f"saved {path}")
    return 0


def run_gui(args) -> int:
    """The patient training window (safety screen, ratings, drills, summary)."""
    from cervitrack.trainer.gui.system_libs import require_window_libraries

    require_window_libraries()
    from cervitrack.trainer.gui.training_app import run_training_gui
    from cervitrack.trainer.training.interactive import _session_plan
    from cervitrack.trainer.training.store import TrainingStore

    with TrainingStore(args.db) as store:
        return run_training_gui(args.device, store, args.patient, dt.date.today().isoformat(),
                                protocol=args.protocol, plan_for_session=lambda plan: _session_plan(plan, print))


def register(sub) -> None:
    p = sub.add_parser("train", help="home training program (safety screen, drills, progression, history)")
    add_device_argument(p, "sim (simulated headset and virtual trainee), serial:PORT, ble:NAME_OR_ADDRESS, "
                        "udp:PORT")
    p.add_argument("--protocol", metavar="P", help="live device: wire protocol (as for cervitrack stream)")
    p.add_argument("--baud", type=int, metavar="B", help="live serial device: line speed")
    p.add_argument("--patient", default=DEFAULT_PATIENT, help=f"patient id (default {DEFAULT_PATIENT!r})")
    p.add_argument("--headless", action="store_true", help="no window; with --device sim: simulate")
    p.add_argument("--json", action="store_true", help="print one JSON object (simulation)")
    p.add_argument("--simulate-days", type=int, metavar="N", help="simulate N days of the program (--device sim)")
    p.add_argument("--pain-flare-day", type=int, metavar="D", help="simulated pain flare-up on day D")
    p.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    p.add_argument("--progress-png", metavar="FILE.png", help="also save the progress figure (simulation)")
    p.add_argument("--db", metavar="FILE", help="training history file (default: in the data dir)")
    p.add_argument("--terminal", action="store_true", help="ask in the terminal even when a display is present")
    p.add_argument("--screenshot", metavar="PATH.png",
                   help="render the training window offscreen with the virtual trainee and save a PNG (--device sim)")
    p.add_argument("--moment", choices=("welcome", "question", "review", "rating", "rating-stop", "drill",
                                        "drill-open", "after", "stop", "summary", "details"), default="drill",
                   help="what --screenshot shows (default: an eyes-closed drill at the 'where do you think you "
                   "are?' question)")
    p.add_argument("--size", default="1280x720", metavar="WxH", help="--screenshot window size (default 1280x720)")
    p.set_defaults(func=run)
