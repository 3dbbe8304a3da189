/**
 * Kernel families by name, for the classifier and the memory-bound decode rule. Names come from
 * cuBLAS/CUTLASS/cuDNN, PyTorch's ATen and FlashAttention kernels as profilers record them.
 */

/** Matrix-multiply kernels (compute-bound at large shapes). GEMV is excluded: it is memory-bound. */
export function isGemmKernel(name: string): boolean {
  return (
    !/gemv/i.test(name) && /gemm|matmul|cutlass|xmma|wgmma|cublas|nvjet|s\d{3,4}gemm/i.test(name)
  );
}

/**
 * Kernels whose time is set by memory traffic, not math: matrix-vector products, split-KV / paged
 * decode attention, normalization, elementwise, reductions, copies, embeddings, rotary, softmax.
 */
export function isMemoryBoundKernel(name: string): boolean {
  if (isGemmKernel(name)) return false;
  return /gemv|split_?kv|splitkv|flash_?decod|paged_?attention|decode|rms_?norm|layer_?norm|elementwise|vectorized|reduce|copy|cat_|index|gather|scatter|embedding|rotary|softmax|fill|unrolled/i.test(
    name,
  );
}
