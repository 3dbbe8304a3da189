/**
 * Fixes fitted to the detected workload (core/workload.ts): the same bottleneck asks for KV-cache
 * quantization in LLM serving, fusion and bf16 in training, channels_last in vision and fused
 * embedding tables in recommenders. Every fix names the workload it was fitted to, so a wrong
 * detection is visible rather than silent. Rules call `adviceFor(topic, ctx.workload())`.
 */
import type { Fix, Workload } from '../report-types';

/** Bottlenecks whose fix depends on the workload. */
export type AdviceTopic = 'memory-bound' | 'memory-pressure' | 'alloc-stalls';

/** Which advice a workload gets: LLM inference, training, vision, recommender, other. */
type Audience = 'llm-inference' | 'training' | 'vision' | 'recommender' | 'other';

function audienceOf(w: Workload): Audience {
  if (w.domain === 'recommender') return 'recommender';
  if (w.domain === 'llm' && w.phase !== 'training') return 'llm-inference';
  if (w.domain === 'vision') return 'vision';
  if (w.phase === 'training') return 'training';
  return 'other';
}

const TEXTS: Record<AdviceTopic, Record<Audience, Fix>> = {
  'memory-bound': {
    'llm-inference': {
      title: 'Move fewer bytes per token: quantize, fuse, batch',
      detail:
        'Each decode step reads every weight and the KV cache once. Quantize weights and KV cache ' +
        '(FP8/INT4), use grouped-query attention, fuse elementwise chains (torch.compile), and batch ' +
        'more sequences per step so each weight read serves more tokens.',
      snippet:
        'model = torch.compile(model)  # fuses norm + elementwise chains\n' +
        '# serving: LLM(model, quantization="fp8", kv_cache_dtype="fp8", max_num_seqs=64)',
    },
    training: {
      title: 'Fuse the elementwise and optimizer chains, train in bf16',
      detail:
        'In training, memory-bound time is elementwise, normalization and optimizer kernels that each ' +
        'read and write whole tensors. torch.compile fuses the chains, bf16 autocast halves the bytes, ' +
        'and a fused optimizer updates all parameters in a few kernels.',
      snippet:
        'model = torch.compile(model)\n' +
        'opt = torch.optim.AdamW(model.parameters(), fused=True)\n' +
        'with torch.autocast("cuda", dtype=torch.bfloat16):\n    loss = loss_fn(model(x), y)',
    },
    vision: {
      title: 'channels_last, bf16 and fusion for the convolution network',
      detail:
        'Layout conversions (NCHW↔NHWC), batch norm and activations are memory-bound. Keep tensors ' +
        'channels_last so cuDNN skips the transposes, autocast to bf16, and fuse norm + activation ' +
        'chains with torch.compile; a fused optimizer helps when training.',
      snippet:
        'model = model.to(memory_format=torch.channels_last)\n' +
        'x = x.to(memory_format=torch.channels_last)\n' +
        'torch.backends.cudnn.benchmark = True\n' +
        'model = torch.compile(model)',
    },
    recommender: {
      title: 'Batch the embedding lookups into fused table kernels',
      detail:
        'Embedding lookups and sparse-feature permutes are memory-bound by nature. Look up all tables ' +
        "in one FBGEMM table-batched kernel (TorchRec's EmbeddingBagCollection), keep tables in FP16 " +
        '(INT8 for inference), and use larger batches per lookup; pipeline the sparse all-to-all.',
      snippet:
        'from torchrec import EmbeddingBagCollection  # table-batched FBGEMM kernels\n' +
        '# per table: EmbeddingBagConfig(..., data_type=DataType.FP16)\n' +
        '# training: TrainPipelineSparseDist(model, optimizer, device)',
    },
    other: {
      title: 'Move fewer bytes: fuse and use smaller types',
      detail:
        'The time goes to kernels limited by memory bandwidth. Fuse elementwise chains ' +
        '(torch.compile), keep activations in bf16/fp16, and batch more work per kernel launch.',
      snippet:
        'model = torch.compile(model)\n' +
        'with torch.autocast("cuda", dtype=torch.bfloat16):\n    out = model(x)',
    },
  },
  'memory-pressure': {
    'llm-inference': {
      title: 'Shrink the KV cache and weights, page the cache',
      detail:
        'Quantize weights (FP8/INT4) and the KV cache, use paged attention (vLLM) so the cache is ' +
        'allocated in blocks, and cap the memory fraction; expandable segments reduce fragmentation.',
      snippet:
        'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True\n' +
        'llm = LLM(model, gpu_memory_utilization=0.9, kv_cache_dtype="fp8", quantization="fp8")',
    },
    training: {
      title: 'Trade activations for compute, shard the optimizer state',
      detail:
        'Training memory is weights, gradients, optimizer state and activations. Checkpoint ' +
        'activations, use a smaller micro-batch with gradient accumulation, train in bf16, and shard ' +
        'parameters and optimizer state across GPUs (FSDP / ZeRO).',
      snippet:
        'from torch.utils.checkpoint import checkpoint\n' +
        'y = checkpoint(block, x, use_reentrant=False)  # recompute in backward\n' +
        'model = torch.distributed.fsdp.FullyShardedDataParallel(model)\n' +
        'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True',
    },
    vision: {
      title: 'Smaller micro-batch, checkpointed activations, bf16',
      detail:
        'Convolution networks keep large feature maps per layer. Checkpoint the stages, use a smaller ' +
        'micro-batch with gradient accumulation, and autocast to bf16; channels_last avoids ' +
        'transposed copies of the activations.',
      snippet:
        'from torch.utils.checkpoint import checkpoint_sequential\n' +
        'out = checkpoint_sequential(model.layers, 4, x, use_reentrant=False)\n' +
        'model = model.to(memory_format=torch.channels_last)',
    },
    recommender: {
      title: 'Shard and cache the embedding tables',
      detail:
        'Embedding tables dominate recommender memory. Let the TorchRec planner shard them across ' +
        'GPUs (table- or row-wise), keep cold rows in host memory with a UVM cache, and store tables ' +
        'in FP16.',
      snippet:
        'from torchrec.distributed.planner import EmbeddingShardingPlanner\n' +
        '# compute_kernel="fused_uvm_caching" keeps hot rows on the GPU, the rest in host memory',
    },
    other: {
      title: 'Hold less at the peak',
      detail:
        'Run inference under torch.inference_mode(), keep weights and activations in bf16, lower the ' +
        'batch size at the peak, and let expandable segments limit fragmentation.',
      snippet:
        'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True\n' +
        'with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):\n    out = model(x)',
    },
  },
  'alloc-stalls': {
    'llm-inference': {
      title: 'Pre-allocate and reuse GPU memory',
      detail:
        "Allocate buffers (KV cache, activations) once at startup and reuse them; let PyTorch's " +
        'caching allocator grow segments instead of calling cudaMalloc/cudaFree in the loop.',
      edit: 'expandable-segments',
      snippet:
        'os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"  # before importing torch\n' +
        'kv = torch.empty((layers, 2, max_tokens, heads, dim), dtype=torch.float16, device="cuda")  # once\n' +
        '# avoid torch.cuda.empty_cache() inside the loop',
    },
    training: {
      title: 'Keep the allocator warm: static shapes, no empty_cache',
      detail:
        'Each new tensor shape can make the caching allocator call cudaMalloc again. Keep shapes ' +
        'static (pad or bucket sequence lengths, drop_last=True), never call empty_cache() in the ' +
        'loop, and let expandable segments grow instead of fragmenting.',
      edit: 'expandable-segments',
      snippet:
        'os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"  # before importing torch\n' +
        'loader = DataLoader(ds, batch_size=bs, drop_last=True)  # same shape every step',
    },
    vision: {
      title: 'Keep the allocator warm: fixed input sizes, no empty_cache',
      detail:
        'Varying image sizes make the caching allocator request new blocks. Resize or pad inputs to ' +
        'fixed sizes, drop the last partial batch, and never call empty_cache() in the loop.',
      edit: 'expandable-segments',
      snippet:
        'os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"  # before importing torch\n' +
        'loader = DataLoader(ds, batch_size=bs, drop_last=True)',
    },
    recommender: {
      title: 'Reuse the sparse-feature buffers',
      detail:
        'Variable numbers of sparse ids per batch change tensor sizes every step. Pad the jagged ' +
        'features to fixed capacities where you can, and let expandable segments grow.',
      edit: 'expandable-segments',
      snippet:
        'os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"  # before importing torch',
    },
    other: {
      title: 'Allocate once, reuse',
      detail:
        'Create buffers once outside the loop and reuse them; never call empty_cache() in the loop.',
      edit: 'expandable-segments',
      snippet:
        'os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"  # before importing torch\n' +
        'out = torch.empty(shape, device="cuda")  # once; then op(x, out=out) each step',
    },
  },
};

/** The fix for `topic` that fits `workload`, saying which workload it was fitted to. */
export function adviceFor(topic: AdviceTopic, workload: Workload): Fix {
  const fix = TEXTS[topic][audienceOf(workload)];
  const why = workload.signals.length > 0 ? ` (${workload.signals.join(', ')})` : '';
  return {
    ...fix,
    detail: `${fix.detail} Fitted to the detected workload: ${workload.label}${why}.`,
  };
}
