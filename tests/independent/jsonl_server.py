"""JSON-lines request loop behind the reference scripts' --serve mode (see numpy.ts, PythonSession).

One python process answers every request of a test file, so a cross-check costs one interpreter
start (and one numpy import) however many cases it has.

Protocol: the server first writes a handshake line, {"ok": true, "result": {"python": VERSION}}, or
{"ok": false, "missing": [MODULE, ...], "error": TEXT} (and exits) when a module it needs is not
installed. Then, for each request line {"op": NAME, ...} on stdin, it writes one line
{"ok": true, "result": RESULT} or {"ok": false, "error": TRACEBACK}, in order, until stdin closes.
Results must be JSON without NaN or infinities (allow_nan=False). Anything a handler prints goes to
stderr, never into the protocol.

Every server also answers {"op": "exec", "code": PYTHON, "argv": [...]}, which runs PYTHON as
`python3 -c PYTHON ARGV...` would (sys.argv[1:] = ARGV, a fresh namespace) and returns what it
printed.
"""
import contextlib
import io
import json
import sys
import traceback


def _exec(req):
    code, argv = req['code'], req.get('argv', [])
    saved = sys.argv
    sys.argv = ['-c', *argv]
    try:
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(compile(code, '<exec>', 'exec'), {'__name__': '__main__'})
        return printed.getvalue()
    finally:
        sys.argv = saved


def serve(handlers, missing=()):
    out = sys.stdout
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol

    def send(text):
        out.write(text + '\n')
        out.flush()

    if missing:
        send(json.dumps({'ok': False, 'missing': list(missing), 'error': 'missing python modules: ' + ', '.join(missing)}))
        return
    handlers = {'exec': _exec, **handlers}
    send(json.dumps({'ok': True, 'result': {'python': sys.version.split()[0]}}))
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            text = json.dumps({'ok': True, 'result': handlers[req['op']](req)}, allow_nan=False)
        except Exception:  # noqa: BLE001 - every failure goes back to the caller as text
            text = json.dumps({'ok': False, 'error': traceback.format_exc()})
        send(text)
