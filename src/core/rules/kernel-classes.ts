/**
 * Kernel families by name, for the classifier and the memory-bound decode rule. Names come from
 * cuBLAS/CUTLASS/cuDNN, PyTorch's ATen and FlashAttention kernels as profilers record them, and on
 * ROCm from rocBLAS/hipBLASLt, whose GEMMs are Tensile kernels named `Cijk_<layout>_…`.
 */

/**
 * Answers per kernel name: a trace has millions of launches of a few hundred names, and the regex
 * per launch was a visible share of a large report. Bounded against traces of unique names.
 */
const gemmByName = new Map<string, boolean>();
const memoryBoundByName = new Map<string, boolean>();
const MAX_CACHED_NAMES = 100_000;

/**
 * Matrix-multiply kernels (compute-bound at large shapes). GEMV is excluded: it is memory-bound.
 * Tensile's `Cijk_` prefix is C[i,j] summed over k: a GEMM whatever the rest of the name says.
 */
export function isGemmKernel(name: string): boolean {
  let hit = gemmByName.get(name);
  if (hit === undefined) {
    hit =
      /^Cijk_/.test(name) ||
      (!/gemv/i.test(name) &&
        /gemm|matmul|cutlass|xmma|wgmma|cublas|nvjet|s\d{3,4}gemm/i.test(name));
    if (gemmByName.size >= MAX_CACHED_NAMES) gemmByName.clear();
    gemmByName.set(name, hit);
  }
  return hit;
}

/**
 * Kernels whose time is set by memory traffic, not math: matrix-vector products, split-KV / paged
 * decode attention, normalization, elementwise, reductions, copies, embeddings, rotary, softmax.
 */
export function isMemoryBoundKernel(name: string): boolean {
  if (isGemmKernel(name)) return false;
  let hit = memoryBoundByName.get(name);
  if (hit === undefined) {
    hit =
      /gemv|split_?kv|splitkv|flash_?decod|paged_?attention|decode|rms_?norm|layer_?norm|elementwise|vectorized|reduce|copy|cat_|index|gather|scatter|embedding|rotary|softmax|fill|unrolled/i.test(
        name,
      );
    if (memoryBoundByName.size >= MAX_CACHED_NAMES) memoryBoundByName.clear();
    memoryBoundByName.set(name, hit);
  }
  return hit;
}
