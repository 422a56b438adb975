/** Runs the CLI in-process with captured stdout/stderr: { code, out, err }. */
import { main, type CliIO } from '../src/node/cli.js';

export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await main(argv, io);
  return { code, out, err };
}
