/** A subprocess run to completion without blocking the event loop (the progress bar keeps drawing). */
import { spawn } from 'node:child_process';

export interface ProcessResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the process could not start or was killed for time. */
  readonly error?: string;
}

export function runProcess(
  command: string, args: readonly string[], timeoutSeconds: number, env: NodeJS.ProcessEnv = process.env,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let error: string | undefined;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const timer = setTimeout(() => {
      error = `timed out after ${timeoutSeconds} s`;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (e) => { error = e.message; });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, error });
    });
  });
}

/** The last non-empty line of a text. */
export function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
