// @ts-nocheck: AssemblyScript (i32, usize, memory.*), compiled by scripts/build-wasm.mjs, not by tsc.
/**
 * One scratch region at the start of the heap, grown on demand. The modules never allocate through
 * the runtime (`--runtime stub` never frees), so the heap is theirs to use this way.
 */
export function scratch(bytes: usize): usize {
  const base: usize = (__heap_base + 15) & ~(<usize>15);
  const end = base + bytes;
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    if (memory.grow(<i32>((end - have + 0xffff) >> 16)) < 0) return 0;
  }
  return base;
}
