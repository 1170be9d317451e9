import { test } from 'vitest';
import { measureCompute, measureMemory, measureStorage } from '../../workers/benchmark';
test('x', async () => {
  for (let i = 0; i < 3; i++) {
    let t = performance.now(); console.log(measureCompute(), performance.now() - t);
    t = performance.now(); console.log(measureMemory(), performance.now() - t);
  }
  console.log(await measureStorage());
});
