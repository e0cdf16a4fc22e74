import { benchSim, formatSimBench } from '../bench/sim.bench.ts';
import { writeBenchSection } from '../../scripts/bench-doc.js';
const rows = await benchSim({ sizes: [200_000, 1_000_000], runs: 1, log: (l) => process.stderr.write(l + '\n') });
console.log(JSON.stringify(rows));
await writeBenchSection('sim', formatSimBench(rows, 1));
