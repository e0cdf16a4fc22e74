/**
 * Shared by every package's `bench` script: describes the machine and writes one package's
 * section of docs/benchmarks.md between its markers, leaving the other sections as they were.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const docPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'benchmarks.md');

const preamble = `# Benchmarks

Written by \`pnpm bench\`; every section records when and where it was measured. These machines are
shared 2-core VMs, so absolute numbers are noisy: each table compares against a baseline measured in
the same run (for example \`JSON.parse\` vs \`fingerprint\`), and the ratios are what to read.
`;

/** One line naming the date, the machine and the Node version, for the top of a section. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memGiB = Math.round(os.totalmem() / 2 ** 30);
  return `Measured ${new Date().toISOString().slice(0, 10)} on ${cpu} (${os.cpus().length} cores, ${memGiB} GiB), ${os.type()} ${os.release()}, Node ${process.version}.`;
}

/** Replace (or append) the section called `name` in docs/benchmarks.md. */
export async function writeBenchSection(name: string, markdown: string): Promise<void> {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  let doc = preamble;
  try {
    doc = await readFile(docPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  doc = from !== -1 && to > from ? doc.slice(0, from) + block + doc.slice(to + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  await mkdir(dirname(docPath), { recursive: true });
  // Write beside and rename, so an interrupted run never leaves a half-written document.
  const tmp = `${docPath}.${process.pid}.tmp`;
  await writeFile(tmp, doc);
  await rename(tmp, docPath);
}
