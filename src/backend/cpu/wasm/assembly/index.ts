/**
 * Entry point of the WebAssembly module of the CPU backend. No managed objects: the JS side owns a
 * bump layout above `heapBase()` and passes byte addresses; the memory is imported (shared, so that
 * worker threads run the same kernels on it) and grown from JS.
 */
export { kern64, kern32, gemmPanel64, gemmPanel32, gemmWsA, gemmKC, gemmMC } from './gemm';
export {
  pairLseInit64, pairLseInit32, pairLse64, pairLse32, pairLseFinish,
  pairGradInit64, pairGradInit32, pairGrad64, pairGrad32, pairGradFinish64, pairGradFinish32,
} from './pair';
export { expF64, expF32 } from './exp';

/** First free byte after the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
