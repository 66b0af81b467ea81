"""``cervitrack store check|repair``: check the sessions store, recover a damaged one.

``repair`` never touches the damaged file: it writes what SQLite can still read into a new
file (``--out``, default ``sessions.recovered-N.sqlite3`` beside it) and says how to use it.
"""

from __future__ import annotations

from pathlib import Path


def _path(args) -> Path:
    from cervitrack.trainer.paths import data_dir
    from cervitrack.trainer.stores.sessions import DB_NAME
    return Path(args.db) if args.db else data_dir(create=False) / DB_NAME


def run(args) -> int:
    from cervitrack.trainer.commands import CliError
    from cervitrack.trainer.stores import repair
    from cervitrack.trainer.stores.sessions import APPLICATION_ID, SCHEMA_VERSION

    path = _path(args)
    if not path.is_file():
        raise CliError(f"{path}: no sessions store there")
    if args.action == "check":
        found = repair.check(path)
        if found == ["ok"]:
            print(f"{path}: ok")
            return 0
        print(f"{path}: damaged: " + "; ".join(found[:5])
              + (f" (+{len(found) - 5} more)" if len(found) > 5 else ""))
        print("Recover what it holds into a new file: cervitrack store repair")
        return 1
    if args.out:
        target = Path(args.out)
    else:
        n = 1
        while (target := path.with_name(f"{path.stem}.recovered-{n}.sqlite3")).exists():
            n += 1
    result = repair.recover(path, target, {"user_version": SCHEMA_VERSION,
                                           "application_id": APPLICATION_ID})
    total_lost = sum(result.lost.values())
    for table, rows in result.rows.items():
        lost = result.lost.get(table, 0)
        print(f"  {table:<12} {rows} row{'s' if rows != 1 else ''} recovered"
              + (f", {lost} unreadable" if lost else ""))
    print(f"Recovered into {target} (the damaged {path.name} is unchanged).")
    print(f"To use it: move {path.name} away and rename {target.name} to {path.name}."
          + (" Some rows were unreadable." if total_lost else ""))
    return 0


def register(sub) -> None:
    p = sub.add_parser("store", help="check the sessions store, or recover a damaged one into "
                       "a new file")
    p.add_argument("action", choices=("check", "repair"),
                   help="check: SQLite's integrity check; repair: copy every readable row into "
                   "a new file (the damaged one is never modified)")
    p.add_argument("--db", metavar="FILE", help="the sessions database (default: the user data "
                   "folder's sessions.sqlite3)")
    p.add_argument("--out", metavar="FILE", help="repair: the new file (must not exist)")
    p.set_defaults(func=run)
