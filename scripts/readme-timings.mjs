// Regenerates the timings the README states for `npm start` and `npm test`, with the machine and its
// load: runs each command (whole process, wall clock), records the CPU model, cores, memory and the
// load average before and after, writes bench/results/readme-timings.json, and rewrites the README
// between <!-- timings:start --> and <!-- timings:end --> (and the start job's table between
// <!-- start-output:start --> and <!-- start-output:end -->).
//
//   node scripts/readme-timings.mjs            both commands
//   node scripts/readme-timings.mjs --start    npm start only (keeps the last npm test figure)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

const RESULT = 'bench/results/readme-timings.json';
const onlyStart = process.argv.includes('--start');
const previous = existsSync(RESULT) ? JSON.parse(readFileSync(RESULT, 'utf8')) : {};

function timed(args) {
  const before = loadavg();
  const t = performance.now();
  const r = spawnSync('npm', args, { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NO_COLOR: '1' } });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) {
    process.stderr.write(r.stdout.slice(-4000) + r.stderr.slice(-4000));
    throw new Error(`npm ${args.join(' ')} exited ${r.status}`);
  }
  return { seconds: +seconds.toFixed(1), loadBefore: before.map((v) => +v.toFixed(2)), loadAfter: loadavg().map((v) => +v.toFixed(2)), stdout: r.stdout };
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
};
const start = timed(['start', '--silent']);
const table = start.stdout.slice(start.stdout.indexOf('preset ')).trimEnd();
const test = onlyStart ? previous.test : timed(['test', '--silent']);
const result = {
  date: new Date().toISOString(),
  machine,
  start: { seconds: start.seconds, loadBefore: start.loadBefore, loadAfter: start.loadAfter },
  test: test ? { seconds: test.seconds, loadBefore: test.loadBefore, loadAfter: test.loadAfter } : null,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync(RESULT, JSON.stringify(result, null, 2) + '\n');

const load = (r) => `load average ${r.loadBefore[0]} before, ${r.loadAfter[0]} after`;
const where = `${machine.cores}-core ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node.slice(1)}`;
const lines = [
  `Measured by \`node scripts/readme-timings.mjs\` on ${result.date.slice(0, 10)} (${where}; WebGPU on lavapipe, the CPU Vulkan driver):`,
  `\`npm start\` took ${start.seconds} s (${load(start)})` +
    (test ? `, \`npm test\` ${test.seconds} s (${load(test)}, so the machine was ${test.loadBefore[0] < 0.5 ? 'quiet' : 'busy'} at the start).` : '.'),
  'On a busier or slower machine expect more: both are mostly CPU-bound on two cores.',
];
let readme = readFileSync('README.md', 'utf8');
const replace = (name, body) => {
  const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`);
  if (!re.test(readme)) throw new Error(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> markers`);
  readme = readme.replace(re, (_, a, b) => a + body + b);
};
replace('timings', lines.join('\n'));
replace('start-output', '```\n' + table + '\n```');
writeFileSync('README.md', readme);
console.log(lines.join('\n'));
