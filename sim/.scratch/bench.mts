import { benchSim } from '../bench/sim.bench.ts';
const rows = await benchSim({ sizes: [1_000_000], runs: 1, log: (l) => process.stderr.write(l + '\n') });
console.log(JSON.stringify(rows));
