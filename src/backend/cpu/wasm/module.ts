/**
 * Loading the CPU backend's WebAssembly module (synchronously) and a grow-only arena over its
 * linear memory. The module has no allocator of its own: each kernel call lays out its buffers
 * from `heapBase()` upwards, the arena grows the memory when a call needs more, and the memory is
 * reused by later calls (it never shrinks).
 */
import { CapExceededError } from '../../../core/errors.ts';
import { kernelsWasmBase64 } from './kernels.generated.ts';

type Ptr = number;

/** The parts of the WebAssembly JS API used here (the project's `lib` has no DOM / wasm types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
};

/** The module's exports (see src/backend/cpu/wasm/assembly/index.ts). */
export interface KernelExports {
  readonly memory: WasmMemory;
  heapBase(): Ptr;
  kern64(kc: number, a: Ptr, b: Ptr, ldbBytes: Ptr, c: Ptr, ldcBytes: Ptr, scale: number, accumulate: number): void;
  gemmPanel64(m: number, n: number, k: number, A: Ptr, ars: number, acs: number, B: Ptr, brs: number, bcs: number, P: Ptr, ldp: number, wsA: Ptr, wsB: Ptr): void;
  gemmPanel32(m: number, n: number, k: number, A: Ptr, ars: number, acs: number, B: Ptr, brs: number, bcs: number, P: Ptr, ldp: number, wsA: Ptr, wsB: Ptr): void;
  gemmWsA(): number;
  gemmKC(): number;
  pairLse64(...args: number[]): void;
  pairLse32(...args: number[]): void;
  pairGrad64(...args: number[]): void;
  pairGrad32(...args: number[]): void;
  expF64(x: number): number;
  expF32(x: number): number;
}

let compiled: object | null = null;

/** Compiles the module once per process (synchronous) and returns a fresh instance. */
export function instantiateKernels(): KernelExports {
  if (compiled === null) {
    const bytes = Buffer.from(kernelsWasmBase64, 'base64');
    compiled = new WebAssembly.Module(bytes);
  }
  const instance = new WebAssembly.Instance(compiled, {
    env: {
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
  constructor(private readonly ex: KernelExports) {
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
}
