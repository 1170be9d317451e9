// @ts-nocheck: AssemblyScript, compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * The SIMD build of Monte Carlo pi is the scalar kernel (`montecarlo-pi.as.ts`): its 64-bit
 * multiplications have no fast SIMD form in WebAssembly on x64 (V8 emulates i64x2.mul with three
 * 32-bit products), and an i64x2 version measured slower than the scalar one.
 */
export { countHits } from './montecarlo-pi.as';
