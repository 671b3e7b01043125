import { wasmBinaryBase64, wasmSharedBinaryBase64 } from './wasm-binary.generated.js';

/** The functions exported by assembly/adam.ts. Pointers are byte offsets into the memory. */
export interface KernelExports {
  /** A dense step over `count` records at `records`, with the step's scalar block at `scalars`. */
  dense32(scalars: number, records: number, count: number): void;
  dense64(scalars: number, records: number, count: number): void;
  sparse32(p: number, m: number, v: number, vhat: number, average: number, length: number,
    zero: number, indices: number, rowCount: number, rows: number, rowSize: number,
    scalars: number, flags: number): void;
  sparse64(p: number, m: number, v: number, vhat: number, average: number, length: number,
    zero: number, indices: number, rowCount: number, rows: number, rowSize: number,
    scalars: number, flags: number): void;
  sumsq32(ptr: number, length: number): number;
  sumsq64(ptr: number, length: number): number;
  /** Sums of squares of `count` (ptr, length, isF64) records at `table`, written back as f64s. */
  sumsqMany(table: number, count: number): void;
}

/** An instantiated kernel module and the memory it runs in. */
export interface LoadedModule {
  readonly exports: KernelExports;
  /** The compiled module, for worker threads to instantiate over the same (shared) memory. */
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Whether the memory is shared (its views survive growth) or ordinary (growth detaches them). */
  readonly shared: boolean;
  /** The most pages the memory may grow to. */
  readonly maximumPages: number;
}

/** The options of {@link instantiateKernelModule}. */
export interface LoadOptions {
  /** Whether to try a shared memory first (default true); false forces an ordinary memory. */
  readonly shared?: boolean;
  /** Initial size of the memory in 64 KiB pages (default 16). */
  readonly initialPages?: number;
  /**
   * Threads (main included) a large dense step may use; default: `defaultThreadCount()`. Workers
   * need a shared memory and Node's worker threads; elsewhere steps run on the calling thread.
   */
  readonly threads?: number;
  /**
   * The most 64 KiB pages one memory may grow to (default and at most 65536: 4 GiB). Kernel state
   * beyond it goes to further memories; tests use a small value to cross memory boundaries.
   */
  readonly maximumPages?: number;
  /** The most WebAssembly memories the kernel set may create (default: as many as needed). */
  readonly maximumMemories?: number;
}

/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const WASM32_PAGES = 65536;

// A function returning i8x16.popcnt(i8x16.splat(0)): it validates exactly where the final SIMD
// proposal is implemented (the same probe as wasm-feature-detect).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

/** Whether this engine runs WebAssembly with fixed-width SIMD. */
export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const chars = atob(text);
  const bytes = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) bytes[i] = chars.charCodeAt(i);
  return bytes;
}

const modules: { plain?: WebAssembly.Module; shared?: WebAssembly.Module } = {};

// Synchronous compilation: the binaries are under the 4 KB that browsers allow on the main thread.
function compiled(shared: boolean): WebAssembly.Module {
  const key = shared ? 'shared' : 'plain';
  return (modules[key] ??= new WebAssembly.Module(
    decodeBase64(shared ? wasmSharedBinaryBase64 : wasmBinaryBase64),
  ));
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/**
 * Instantiates the kernel module synchronously over a new memory. A shared memory is tried first,
 * because its views stay valid when it grows; it needs SharedArrayBuffer (cross-origin isolation in
 * browsers) and an address-space reservation of its maximum, so smaller maximums are tried before
 * falling back to an ordinary growable memory. Throws where WebAssembly SIMD is unavailable or
 * instantiation fails. `shared: true` without `fallBack` insists on a shared memory (a further
 * memory of a kernel set whose workers need one); it then returns null where none can be made.
 */
export function instantiateKernelModule(options: LoadOptions = {}): LoadedModule {
  if (!simdSupported()) throw new Error('WebAssembly SIMD is not supported by this engine');
  const loaded = instantiateMemory(options, true);
  if (loaded === null) throw new Error('no WebAssembly memory could be created');
  return loaded;
}

/** A new memory and module instance like {@link instantiateKernelModule}'s; null where the engine refuses. */
export function instantiateMemory(options: LoadOptions, fallBack: boolean): LoadedModule | null {
  const initial = options.initialPages ?? 16;
  const most = Math.min(WASM32_PAGES, options.maximumPages ?? WASM32_PAGES);
  if ((options.shared ?? true) && typeof SharedArrayBuffer === 'function') {
    for (const maximum of [most, 16384, 4096]) {
      if (maximum < initial || maximum > most) continue;
      let memory: WebAssembly.Memory;
      try {
        memory = new WebAssembly.Memory({ initial, maximum, shared: true });
      } catch {
        continue; // no address space for this maximum: try a smaller one
      }
      if (!(memory.buffer instanceof SharedArrayBuffer)) break;
      try {
        const module = compiled(true);
        return { exports: instantiate(module, memory), module, memory, shared: true, maximumPages: maximum };
      } catch {
        break; // the engine has shared memories but not the threads feature: use an ordinary one
      }
    }
    if (!fallBack) return null;
  }
  let memory: WebAssembly.Memory;
  try {
    // Without a maximum where the limit is wasm32's own: some engines refuse to reserve 4 GiB.
    memory = new WebAssembly.Memory(most >= WASM32_PAGES ? { initial } : { initial, maximum: most });
  } catch {
    return null;
  }
  const module = compiled(false);
  return { exports: instantiate(module, memory), module, memory, shared: false, maximumPages: most };
}
