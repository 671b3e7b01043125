/**
 * `npm run bench:web`: one Adam step of a 40-variable model (83,200 parameters) in headless
 * Chromium on the webgl and webgpu backends: ours fused, ours as tensor ops and `tf.train.adam`.
 * Prints, per step, the GPU dispatches (WebGPU) or draws (WebGL), the tensors uploaded from CPU
 * values, the GPU-level writes, the read-backs and the step time. On a software GPU (SwiftShader)
 * the counts mean what they say and the times do not.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromiumMissing, openPage } from '../../test/browser/chromium.js';
import type { WebBenchRow, WebBenchSpec } from './page.js';

const VARIABLES = 40;
const SIZE = 2080;
const TIMED_STEPS = Number(process.env.BENCH_WEB_STEPS ?? 5);

async function main(): Promise<void> {
  if (chromiumMissing) {
    console.log(`bench:web skipped: ${chromiumMissing}`);
    return;
  }
  const open = await openPage(fileURLToPath(new URL('./page.ts', import.meta.url)));
  try {
    const browser = open.page.context().browser()?.version() ?? 'Chromium';
    const adapter = await open.page.evaluate(() => window.adapterInfo());
    console.log(`machine: ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${browser}, WebGPU adapter: ${adapter}`);
    console.log(`model: ${VARIABLES} variables x ${SIZE} = ${VARIABLES * SIZE} parameters; time over ${TIMED_STEPS} steps`);
    const header = ['backend', 'optimizer', 'options', 'path', 'dispatches', 'tensor uploads', 'GPU writes', 'read-backs', 'ms/step'];
    const rows: string[][] = [];
    for (const backend of ['webgpu', 'webgl'] as const) {
      for (const options of ['defaults', 'amsgrad + wd + global clipnorm + EMA'] as const) {
        for (const optimizer of ['ours fused', 'ours tensor-ops', 'tf.train.adam'] as const) {
          if (optimizer === 'tf.train.adam' && options !== 'defaults') continue;
          const spec: WebBenchSpec = { backend, optimizer, options, variables: VARIABLES, size: SIZE, timedSteps: TIMED_STEPS };
          const r = await open.page.evaluate((s) => window.benchRun(s), spec) as WebBenchRow | { error: string };
          if ('error' in r) throw new Error(`${backend} ${optimizer} ${options}: ${r.error}`);
          rows.push([r.backend, r.optimizer, r.options, r.path, String(r.dispatches), String(r.tensorUploads), String(r.gpuWrites), String(r.readbacks), r.msPerStep.toFixed(1)]);
        }
      }
    }
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const row of rows) console.log(line(row));
    console.log('dispatches: WebGPU dispatchWorkgroups / WebGL drawArrays+drawElements; GPU writes: writeBuffer, mapped buffers / texImage2D with data');
    if (open.pageErrors.length > 0) console.log(`page errors: ${open.pageErrors.join('; ')}`);
  } finally {
    await open.close();
  }
}

await main();
