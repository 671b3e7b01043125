/**
 * `npm start` (node --import tsx demo/cli/main.ts): the demo. `--help` lists the options.
 */
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
