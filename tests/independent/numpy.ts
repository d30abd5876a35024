/**
 * Access to Debian's python3 (+ numpy) for independent cross-checks (installed by .ci/run).
 *
 * A cross-check runs ONE python process per test file (a PythonSession: startNumpy, startPython)
 * and sends it every case as a JSON line, rather than starting an interpreter (and importing
 * numpy, ~0.1-0.3 s, much more on a loaded machine) per case.
 *
 * In CI the interpreter and numpy must be there (the checks must not silently vanish); locally the
 * tests skip without them.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The numpy reference of THEORY.md's objectives (serves {"op": "reference"} and {"op": "exec"}). */
export const THEORY_REFERENCE = join(HERE, 'theory_reference.py');
/** Python's csv module as a reader (serves {"op": "read_csv"} and {"op": "exec"}). */
export const CSV_REFERENCE = join(HERE, 'csv_reference.py');

export function hasNumpy(): boolean {
  return spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}

/** In CI numpy must be there (the checks must not silently vanish); locally the tests skip without it. */
export function numpyOrSkip(): boolean {
  const ok = hasNumpy();
  if (!ok && process.env.CI) throw new Error('python3-numpy is missing in CI: .ci/run must install it');
  return ok;
}

export function python(code: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

export function pythonScript(path: string, args: string[]): string {
  const r = spawnSync(PYTHON, [path, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python ${path} failed: ${r.stderr}`);
  return r.stdout;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Thrown by PythonSession.start when python3 or a module the script needs is not installed. */
export class PythonMissing extends Error {}

/**
 * A long-lived `python3 SCRIPT --serve` speaking tests/independent/jsonl_server.py's protocol:
 * one JSON request per line in, one answer per line out, in order.
 */
export class PythonSession {
  private buf = '';
  private stderr = '';
  private readonly pending: Pending[] = [];
  private dead: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly script: string,
  ) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onData(chunk));
    child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-20_000);
    });
    // Writing to a process that died must not become an unhandled 'error' event.
    child.stdin.on('error', () => {});
    this.exited = new Promise((resolve) => {
      const fail = (e: Error) => {
        this.dead ??= e;
        for (const p of this.pending.splice(0)) p.reject(this.dead);
        resolve();
      };
      child.on('error', (e) => fail(e.message.includes('ENOENT') ? new PythonMissing(`${PYTHON} is not installed`) : e));
      child.on('close', (code, signal) => fail(new Error(`python ${script} exited (${signal ?? code}): ${this.stderr}`)));
    });
  }

  /**
   * Starts the server and waits for its handshake. Rejects with PythonMissing when python3 or a
   * module the script needs is absent.
   */
  static async start(script: string): Promise<PythonSession> {
    const s = new PythonSession(spawn(PYTHON, [script, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] }), script);
    try {
      await new Promise((resolve, reject) => s.pending.push({ resolve, reject }));
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Sends one request ({op, ...}) and resolves with its result; rejects with python's traceback. */
  request<T = unknown>(req: { op: string; [k: string]: unknown }): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  /** Runs python code as `python3 -c CODE ...argv` would, in the server; resolves with what it printed. */
  exec(code: string, argv: string[] = []): Promise<string> {
    return this.request<string>({ op: 'exec', code, argv });
  }

  /** Closes stdin (the server then exits) and waits for the process to end. */
  async close(): Promise<void> {
    this.dead ??= new Error(`python ${this.script}: session closed`);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const p = this.pending.shift();
      if (!p) continue;
      let msg: { ok: boolean; result?: unknown; error?: string; missing?: string[] };
      try {
        msg = JSON.parse(line);
      } catch {
        p.reject(new Error(`python ${this.script}: not a JSON answer: ${line.slice(0, 200)}`));
        continue;
      }
      if (msg.ok) p.resolve(msg.result);
      else if (msg.missing) p.reject(new PythonMissing(msg.error));
      else p.reject(new Error(`python ${this.script} failed: ${msg.error}`));
    }
  }
}

/**
 * Starts a session, or returns undefined (the caller skips) when python3 or a module it needs is
 * missing outside CI. In CI a missing interpreter or module is an error.
 */
async function startOrSkip(script: string, what: string): Promise<PythonSession | undefined> {
  try {
    return await PythonSession.start(script);
  } catch (e) {
    if (!(e instanceof PythonMissing)) throw e;
    if (process.env.CI) throw new Error(`${what} is missing in CI: .ci/run must install it (${e.message})`);
    return undefined;
  }
}

/** theory_reference.py's server (python3 + numpy). */
export function startNumpy(): Promise<PythonSession | undefined> {
  return startOrSkip(THEORY_REFERENCE, 'python3-numpy');
}

/** csv_reference.py's server (python3's standard library only). */
export function startCsvReference(): Promise<PythonSession | undefined> {
  return startOrSkip(CSV_REFERENCE, 'python3');
}
