"""Python's csv module as an independent reader of the CSV that src/io/trace.ts writes.

usage: csv_reference.py --serve
answers JSON lines (jsonl_server.py): {"op": "read_csv", "path": FILE} opens FILE as a user would
(UTF-8, newline='' as the csv module requires) and returns {"rows": [[cell, ...], ...], "floats":
[[repr(float(cell)) or null, ...], ...]}: the cells, and what Python's float() makes of each (repr
is Python's shortest round-trip form: 'nan', 'inf', '-inf', '-0.0', '1e-07', ...).
"""
import csv
import sys

from jsonl_server import serve


def as_float(cell):
    try:
        return repr(float(cell))
    except ValueError:
        return None


def read_csv(req):
    with open(req['path'], encoding='utf-8', newline='') as f:
        rows = list(csv.reader(f))
    return {'rows': rows, 'floats': [[as_float(c) for c in row] for row in rows]}


if __name__ == '__main__':
    if sys.argv[1:] != ['--serve']:
        raise SystemExit(__doc__)
    serve({'read_csv': read_csv})
