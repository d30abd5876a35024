/**
 * Loading the CPU backend's WebAssembly module (synchronously; the plain or the relaxed-SIMD build)
 * on a shared memory, and a grow-only arena over that memory. The module has no allocator of its own: each kernel call lays out its buffers
 * from `heapBase()` upwards, the arena grows the memory when a call needs more, and the memory is
 * reused by later calls (it never shrinks).
 */
import { CapExceededError } from '../../../core/errors.ts';
import { kernelsRelaxedWasmBase64, kernelsWasmBase64 } from './kernels.generated.ts';

type Ptr = number;

/** The parts of the WebAssembly JS API used here (the project's `lib` has no DOM / wasm types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
};

/** The module's exports (see src/backend/cpu/wasm/assembly/index.ts). */
export interface KernelExports {
  readonly memory: WasmMemory;
  heapBase(): Ptr;
  kern64(kc: number, a: Ptr, b: Ptr, ldbBytes: Ptr, c: Ptr, ldcBytes: Ptr, scale: number, accumulate: number): void;
  gemmPanel64(...args: number[]): void;
  gemmPanel32(...args: number[]): void;
  gemmWsA(): number;
  gemmKC(): number;
  gemmMC(): number;
  pairLseInit64(...args: number[]): void;
  pairLseInit32(...args: number[]): void;
  pairLse64(...args: number[]): void;
  pairLse32(...args: number[]): void;
  pairLseFinish(...args: number[]): void;
  pairGradInit64(...args: number[]): void;
  pairGradInit32(...args: number[]): void;
  pairGrad64(...args: number[]): void;
  pairGrad32(...args: number[]): void;
  pairGradFinish64(...args: number[]): void;
  pairGradFinish32(...args: number[]): void;
  expF64(x: number): number;
  expF32(x: number): number;
}

const compiled: { plain: object | null; relaxed: object | null | false } = { plain: null, relaxed: null };

/**
 * The compiled module (once per process): the relaxed-SIMD build when `relaxed` and the engine
 * accepts it (Node 22+, or Node 20 with --experimental-wasm-relaxed-simd), else the plain build.
 */
export function kernelModule(relaxed: boolean): { module: object; relaxed: boolean } {
  if (relaxed) {
    if (compiled.relaxed === null) {
      const bytes = Buffer.from(kernelsRelaxedWasmBase64, 'base64');
      compiled.relaxed = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : false;
    }
    if (compiled.relaxed !== false) return { module: compiled.relaxed, relaxed: true };
  }
  if (compiled.plain === null) compiled.plain = new WebAssembly.Module(Buffer.from(kernelsWasmBase64, 'base64'));
  return { module: compiled.plain, relaxed: false };
}

/** Whether this engine runs the relaxed-SIMD build (fused multiply-add in the micro-kernels). */
export function relaxedSimdAvailable(): boolean {
  return kernelModule(true).relaxed;
}

/** A shared memory for the kernels: 1 page to start, growable to 4 GiB. */
export function kernelMemory(): WasmMemory {
  return new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
}

/** An instance of `module` on `memory` (the calling thread's; workers make their own). */
export function instantiateKernels(module: object, memory: WasmMemory): KernelExports {
  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`cpu backend: wasm abort at ${line}:${col}`);
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}

const PAGE = 65536;
const ALIGN = 64;

/** Byte offsets of a call's buffers, laid out from the arena's base, 64-byte aligned. */
export class Layout {
  private top: number;
  constructor(readonly base: number) {
    this.top = base;
  }
  alloc(bytes: number): Ptr {
    const p = this.top;
    this.top = Math.ceil((this.top + bytes) / ALIGN) * ALIGN;
    return p;
  }
  get end(): number {
    return this.top;
  }
}

export class Arena {
  readonly base: number;
  constructor(private readonly ex: { readonly memory: WasmMemory; heapBase(): Ptr }) {
    this.base = Math.ceil(ex.heapBase() / ALIGN) * ALIGN;
  }

  layout(): Layout {
    return new Layout(this.base);
  }

  /** Grows the memory (if needed) so that [0, end) is addressable. */
  reserve(op: string, end: number): void {
    const mem = this.ex.memory;
    const have = mem.buffer.byteLength;
    if (end <= have) return;
    if (end > 4 * 1024 ** 3) {
      throw new CapExceededError(op, `needs ${(end / 2 ** 20).toFixed(0)} MiB of WebAssembly memory; the 32-bit limit is 4096 MiB`);
    }
    try {
      mem.grow(Math.ceil((end - have) / PAGE));
    } catch (e) {
      throw new CapExceededError(op, `could not grow WebAssembly memory to ${(end / 2 ** 20).toFixed(0)} MiB: ${(e as Error).message}`);
    }
  }

  get buffer(): ArrayBuffer {
    return this.ex.memory.buffer;
  }
  f64(ptr: Ptr, length: number): Float64Array {
    return new Float64Array(this.ex.memory.buffer, ptr, length);
  }
  f32(ptr: Ptr, length: number): Float32Array {
    return new Float32Array(this.ex.memory.buffer, ptr, length);
  }
  i32(ptr: Ptr, length: number): Int32Array {
    return new Int32Array(this.ex.memory.buffer, ptr, length);
  }
}
