#!/usr/bin/env node
/**
 * The `webntk` executable (package.json "bin"). It loads almost nothing before deciding how to run,
 * so that signal handlers are in place within milliseconds rather than after the whole CLI has
 * loaded: a command that may open a WebGPU device runs in a child process behind the stderr filter
 * (quiet.ts; signals are forwarded), every other one installs the handlers (signals.ts) and then
 * loads and runs the CLI (cli.ts).
 */
import { launch } from './quiet.js';

process.exitCode = await launch(process.argv.slice(2), async () => (await import('./cli.js')).runMain);
