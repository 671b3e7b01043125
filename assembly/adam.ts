// The compiled Adam kernels: WebAssembly SIMD over raw pointers into the imported memory.
//
// No AssemblyScript runtime is used (no strings, arrays, exceptions): only load/store, v128 and
// memory.copy/fill, so the binary stays under the 4 KB that Chrome allows for a synchronous
// `new WebAssembly.Module` on the main thread.
//
// Layout contract with src/kernels/compiled/ (the JS side). T is f32 or f64, the variables' dtype.
// * Every storage the kernels write (param, m, v, vhat, average) is an arena allocation whose size
//   is rounded up to 16 bytes and used by nothing else. The loops therefore run over whole vectors
//   and let the last one spill into that padding: no scalar tail, no per-element branch, and
//   lengths that are not a multiple of the SIMD width cost nothing. Gradients are read the same
//   way, so the JS side only passes a gradient in place when its start is 16-byte aligned (the
//   over-read then stays inside the allocation that contains it).
// * Step scalars come in a block of T values (SCALARS bytes): alpha, epsilon, 1-beta1, 1-beta2,
//   clip value, EMA momentum, 1-momentum, and (sparse only) decay. They are read with load_splat
//   rather than passed as f64 arguments and splatted: V8 computes a pure value that is only used
//   inside a branch of a loop on every iteration, but keeps a load that precedes the loop in a
//   register.
// * A dense step reads the scalar block at `scalars` and `count` records of REC bytes at `records`,
//   one per variable (or piece of one):
//     0 param, 4 grad, 8 m, 12 v, 16 vhat, 20 average (u32 byte offsets), 24 length (u32),
//     28 flags (i32), 32 gradScale (T), 32 + sizeof<T> decay (T).
// * Flags: bit 0 amsgrad, bit 1 EMA, bit 2 EMA overwrite, bit 3 clip by value. They are per
//   record because a variable without a vhat (or average) slot runs without amsgrad (or EMA).
//
// The arithmetic and its order follow src/kernels/reference.ts exactly; float32 variables are
// computed in f32 (as Keras does), float64 variables in f64 (bit-identical to the reference).

const SCALARS: usize = 64;
const REC: usize = 48;
const AMSGRAD = 1;
const EMA = 2;
const OVERWRITE = 4;
const CLIP = 8;

@inline
function scalar<T>(block: usize, k: usize): v128 {
  return v128.load_splat<T>(block + k * sizeof<T>());
}

// Every per-element tail of the step, after m and v: amsgrad max, the parameter update, the EMA.
@inline
function finish<T>(
  p: usize, pv: v128, mv: v128, vv: v128, h: usize, a: usize,
  va: v128, ve: v128, vmom: v128, vomm: v128, flags: i32,
): void {
  let sv = vv;
  if (flags & AMSGRAD) {
    // max(vhat, v) with Math.max's NaN rule, in 3 cheap operations rather than V8's 8-instruction
    // NaN-exact f32x4.max: pmax(v, vhat) = v < vhat ? vhat : v already returns a NaN v, and the
    // select returns a NaN vhat. (pmax would also return -0 for max(-0, +0), but v is never -0:
    // v + (g*g - v)*c2 and (v - v*c2) + g*g*c2 are +0 when zero, whatever the stored v.)
    const hv = v128.load(h);
    sv = v128.bitselect(hv, v128.pmax<T>(vv, hv), v128.ne<T>(hv, hv));
    v128.store(h, sv);
  }
  pv = v128.sub<T>(pv, v128.div<T>(v128.mul<T>(va, mv), v128.add<T>(v128.sqrt<T>(sv), ve)));
  if (flags & EMA) {
    const av = v128.add<T>(v128.mul<T>(vmom, v128.load(a)), v128.mul<T>(vomm, pv));
    v128.store(a, av);
    if (flags & OVERWRITE) pv = av;
  }
  v128.store(p, pv);
}

@inline
function dense<T>(scalars: usize, records: usize, count: i32): void {
  const va = scalar<T>(scalars, 0);
  const ve = scalar<T>(scalars, 1);
  const vc1 = scalar<T>(scalars, 2);
  const vc2 = scalar<T>(scalars, 3);
  const vhi = scalar<T>(scalars, 4);
  const vlo = v128.neg<T>(vhi);
  const vmom = scalar<T>(scalars, 5);
  const vomm = scalar<T>(scalars, 6);
  const end = records + <usize>count * REC;
  for (let r = records; r < end; r += REC) {
    let p = <usize>load<u32>(r, 0);
    let g = <usize>load<u32>(r, 4);
    let m = <usize>load<u32>(r, 8);
    let v = <usize>load<u32>(r, 12);
    let h = <usize>load<u32>(r, 16);
    let a = <usize>load<u32>(r, 20);
    const pEnd = p + ((<usize>load<u32>(r, 24) * sizeof<T>() + 15) & ~15);
    const flags = load<i32>(r, 28);
    const vgs = scalar<T>(r + 32, 0);
    const vd = scalar<T>(r + 32, 1);
    const decay = load<T>(r + 32 + sizeof<T>());
    if ((flags | i32(decay != 0)) == 0) {
      // The common case: no decay, clip, amsgrad or EMA. One pass, no branches. (Unrolling
      // measured no faster under V8, and costs a kilobyte of the 4 KB budget.)
      for (; p < pEnd; p += 16, g += 16, m += 16, v += 16) {
        // All loads before any store: equal-sized storages laid out back to back are 4 KiB-
        // congruent, and a load issued after a store to a congruent address can be held up by it.
        const pv = v128.load(p);
        const gv = v128.mul<T>(v128.load(g), vgs);
        let mv = v128.load(m);
        let vv = v128.load(v);
        mv = v128.add<T>(mv, v128.mul<T>(v128.sub<T>(gv, mv), vc1));
        vv = v128.add<T>(vv, v128.mul<T>(v128.sub<T>(v128.mul<T>(gv, gv), vv), vc2));
        v128.store(m, mv);
        v128.store(v, vv);
        const upd = v128.div<T>(v128.mul<T>(va, mv), v128.add<T>(v128.sqrt<T>(vv), ve));
        v128.store(p, v128.sub<T>(pv, upd));
      }
    } else {
      // Every feature; the flag tests are loop-invariant and predict perfectly.
      for (; p < pEnd; p += 16, g += 16, m += 16, v += 16, h += 16, a += 16) {
        let pv = v128.load(p);
        // Skipped rather than multiplied by 0, so that an infinite parameter stays infinite.
        if (decay != 0) pv = v128.sub<T>(pv, v128.mul<T>(pv, vd));
        let gv = v128.mul<T>(v128.load(g), vgs);
        // A branch rather than a clamp to +-Infinity: NaN-exact min/max cost V8 ~8 instructions each.
        if (flags & CLIP) gv = v128.min<T>(v128.max<T>(gv, vlo), vhi);
        let mv = v128.load(m);
        let vv = v128.load(v);
        mv = v128.add<T>(mv, v128.mul<T>(v128.sub<T>(gv, mv), vc1));
        vv = v128.add<T>(vv, v128.mul<T>(v128.sub<T>(v128.mul<T>(gv, gv), vv), vc2));
        v128.store(m, mv);
        v128.store(v, vv);
        finish<T>(p, pv, mv, vv, h, a, va, ve, vmom, vomm, flags);
      }
    }
  }
}

/** A dense step over `count` float32 records at `records`, with the scalar block at `scalars`. */
export function dense32(scalars: usize, records: usize, count: i32): void {
  dense<f32>(scalars, records, count);
}

/** A dense step over `count` float64 records at `records`, with the scalar block at `scalars`. */
export function dense64(scalars: usize, records: usize, count: i32): void {
  dense<f64>(scalars, records, count);
}

// A sparse step. The gradient rows are scattered into `zero`, a scratch of at least the variable's
// padded size that is all zeros on entry, so that one pass over the whole variable can compute
// m = (m - m*c1) + g*c1 (for a row without a gradient, adding +0 is exact: the reference's
// two-step form gives the same bits); the rows are zeroed again afterwards, O(rows).
@inline
function sparse<T>(
  p: usize, m: usize, v: usize, h: usize, a: usize, length: u32, zero: usize,
  indices: usize, rowCount: i32, rows: usize, rowSize: u32, scalars: usize, flags: i32,
): void {
  const rowBytes = <usize>rowSize * sizeof<T>();
  const idxEnd = indices + (<usize>rowCount << 2);
  // rows == 0: the caller has already written the rows into `zero` (rows from outside the memory).
  if (rows != 0) {
    for (let i = indices, src = rows; i < idxEnd; i += 4, src += rowBytes) {
      memory.copy(zero + <usize>load<u32>(i) * rowBytes, src, rowBytes);
    }
  }
  const va = scalar<T>(scalars, 0);
  const ve = scalar<T>(scalars, 1);
  const vc1 = scalar<T>(scalars, 2);
  const vc2 = scalar<T>(scalars, 3);
  const vmom = scalar<T>(scalars, 5);
  const vomm = scalar<T>(scalars, 6);
  const vd = scalar<T>(scalars, 7);
  const decay = load<T>(scalars + 7 * sizeof<T>());
  const pEnd = p + ((<usize>length * sizeof<T>() + 15) & ~15);
  for (let g = zero; p < pEnd; p += 16, g += 16, m += 16, v += 16, h += 16, a += 16) {
    let pv = v128.load(p);
    if (decay != 0) pv = v128.sub<T>(pv, v128.mul<T>(pv, vd));
    const gv = v128.load(g);
    let mv = v128.load(m);
    let vv = v128.load(v);
    mv = v128.add<T>(v128.sub<T>(mv, v128.mul<T>(mv, vc1)), v128.mul<T>(gv, vc1));
    vv = v128.add<T>(v128.sub<T>(vv, v128.mul<T>(vv, vc2)), v128.mul<T>(v128.mul<T>(gv, gv), vc2));
    v128.store(m, mv);
    v128.store(v, vv);
    finish<T>(p, pv, mv, vv, h, a, va, ve, vmom, vomm, flags);
  }
  for (let i = indices; i < idxEnd; i += 4) {
    memory.fill(zero + <usize>load<u32>(i) * rowBytes, 0, rowBytes);
  }
}

/** A sparse step on one float32 variable. */
export function sparse32(
  p: usize, m: usize, v: usize, h: usize, a: usize, length: u32, zero: usize,
  indices: usize, rowCount: i32, rows: usize, rowSize: u32, scalars: usize, flags: i32,
): void {
  sparse<f32>(p, m, v, h, a, length, zero, indices, rowCount, rows, rowSize, scalars, flags);
}

/** A sparse step on one float64 variable. */
export function sparse64(
  p: usize, m: usize, v: usize, h: usize, a: usize, length: u32, zero: usize,
  indices: usize, rowCount: i32, rows: usize, rowSize: u32, scalars: usize, flags: i32,
): void {
  sparse<f64>(p, m, v, h, a, length, zero, indices, rowCount, rows, rowSize, scalars, flags);
}

// Sums of squares read exactly `length` elements (the array may be any view into the memory, so
// nothing past its end is read) and accumulate in f64 in four lanes, which is at least as
// accurate as the reference's one running f64 sum.

/** Sum of squares of `length` float32 values at `ptr`, accumulated in f64. */
export function sumsq32(ptr: usize, length: u32): f64 {
  // Squares of promoted f32 values are exact in f64. Four independent accumulators, 8 elements an
  // iteration: with fewer, the loop waits on the latency of the f64 additions.
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let s2 = f64x2.splat(0);
  let s3 = f64x2.splat(0);
  const vecEnd = ptr + ((<usize>length & ~7) << 2);
  const end = ptr + (<usize>length << 2);
  for (; ptr < vecEnd; ptr += 32) {
    const x = v128.load(ptr);
    const y = v128.load(ptr, 16);
    const x0 = f64x2.promote_low_f32x4(x);
    const x1 = f64x2.promote_low_f32x4(v128.shuffle<u32>(x, x, 2, 3, 2, 3));
    const y0 = f64x2.promote_low_f32x4(y);
    const y1 = f64x2.promote_low_f32x4(v128.shuffle<u32>(y, y, 2, 3, 2, 3));
    s0 = f64x2.add(s0, f64x2.mul(x0, x0));
    s1 = f64x2.add(s1, f64x2.mul(x1, x1));
    s2 = f64x2.add(s2, f64x2.mul(y0, y0));
    s3 = f64x2.add(s3, f64x2.mul(y1, y1));
  }
  s0 = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  for (; ptr < end; ptr += 4) {
    const x = <f64>load<f32>(ptr);
    s += x * x;
  }
  return s;
}

/** Sum of squares of `length` float64 values at `ptr`. */
export function sumsq64(ptr: usize, length: u32): f64 {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  const vecEnd = ptr + ((<usize>length & ~3) << 3);
  const end = ptr + (<usize>length << 3);
  for (; ptr < vecEnd; ptr += 32) {
    const x0 = v128.load(ptr);
    const x1 = v128.load(ptr, 16);
    s0 = f64x2.add(s0, f64x2.mul(x0, x0));
    s1 = f64x2.add(s1, f64x2.mul(x1, x1));
  }
  s0 = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  for (; ptr < end; ptr += 8) {
    const x = load<f64>(ptr);
    s += x * x;
  }
  return s;
}

// Sums of squares of many arrays in one call (gradient clipping by norm): `count` records of 16
// bytes at `table` (0 ptr, 4 length, 8 is-f64 (u32), 12 unused); each record's sum is written back
// over it as an f64 at offset 0.
export function sumsqMany(table: usize, count: i32): void {
  const end = table + <usize>count * 16;
  for (let r = table; r < end; r += 16) {
    const ptr = <usize>load<u32>(r);
    const length = load<u32>(r, 4);
    store<f64>(r, load<u32>(r, 8) ? sumsq64(ptr, length) : sumsq32(ptr, length));
  }
}
