/**
 * A Node built-in module, reached so that browser bundlers leave it alone: a literal
 * `import('node:os')` in the package's import graph fails an esbuild or webpack build for the web,
 * though the mesh only asks for these modules when it runs in Node.
 */
export async function nodeBuiltin<T>(name: 'node:os' | 'node:url' | 'node:worker_threads'): Promise<T> {
  const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof nodeProcess?.getBuiltinModule === 'function') return nodeProcess.getBuiltinModule(name) as T;
  const specifier: string = name; // not a literal: bundlers do not try to resolve it
  return (await import(/* @vite-ignore */ specifier)) as T;
}
