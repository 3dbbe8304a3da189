#!/usr/bin/env python3
"""Removes environment dumps from an nsys SQLite export before it is committed as a fixture.

nsys records the profiled process's environment (TARGET_INFO_SYSTEM_ENV, ProcessStreams, the
capture metadata, and the launch environment as NUL-separated NAME=VALUE strings in StringIds).
Usage: scrub-nsys-export.py FILE.sqlite [...]
"""
import sqlite3
import sys

ENV_MARKERS = (b"HOME=", b"PATH=", b"USER=", b"PWD=")


def scrub(path: str) -> None:
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table in ("TARGET_INFO_SYSTEM_ENV", "ProcessStreams"):
        if table in tables:
            db.execute(f'DELETE FROM "{table}"')
    if "META_DATA_CAPTURE" in tables:
        db.execute("DELETE FROM META_DATA_CAPTURE WHERE name LIKE '%ENVIRONMENT%'")
    if "StringIds" in tables:
        # Compare as bytes: the environment block is one NUL-separated string.
        cleared = 0
        for row_id, value in db.execute("SELECT id, CAST(value AS BLOB) FROM StringIds").fetchall():
            if value and b"\x00" in value and any(m in value for m in ENV_MARKERS):
                db.execute("UPDATE StringIds SET value = '' WHERE id = ?", (row_id,))
                cleared += 1
        print(f"{path}: cleared {cleared} environment string(s)")
    db.commit()
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    for f in sys.argv[1:]:
        scrub(f)
