/**
 * What the traced program is, told from the trace itself, so advice fits it: KV-cache and FP8
 * advice for LLM serving, activation checkpointing for training, channels_last for vision,
 * embedding-table advice for recommenders. Signals: backward operators and kernels (training),
 * the Python files on the stacks (vLLM, SGLang, Hugging Face model folders, torchvision, TorchRec),
 * kernel families (convolutions, embedding bags, paged/split-KV attention) and the ranges serving
 * engines open (vLLM's `execute_context_N(...)_generation_M(...)`, SGLang's `capture_N_DECODE`).
 */
import { isCommKernel, type Profile } from './model';
import { CALL_LAUNCH } from './model-cpu-calls';
import type { KernelStat, Workload, WorkloadDomain, WorkloadPhase } from './report-types';
import { kernelTable } from './summary';

/** Serving engines by a directory of theirs on a stack, or a kernel namespace. */
const ENGINES: [string, RegExp][] = [
  ['vLLM', /(^|[\\/])vllm[\\/]|^(void )?vllm::|[^a-z]vllm::/],
  ['SGLang', /(^|[\\/])sglang[\\/]/],
  ['TensorRT-LLM', /(^|[\\/])tensorrt_llm[\\/]/],
];
const LLM_MODEL_DIRS =
  /transformers[\\/]models[\\/](llama\w*|qwen\w*|mistral|mixtral|gemma\w*|gpt\w*|opt|falcon|phi\w*|deepseek\w*|olmo\w*|bloom|starcoder\w*|internlm\w*|baichuan|chatglm|granite\w*|cohere\w*)[\\/]/i;
const VISION_DIRS =
  /(^|[\\/])(torchvision|timm|ultralytics|detectron2|mmdet|mmseg)[\\/]|transformers[\\/]models[\\/](vit\w*|owlv2|owlvit|clip\w*|siglip\w*|detr|swin\w*|convnext\w*|dinov2|sam\w*|yolos|deit|beit|segformer|mask2former|resnet|efficientnet|mobilenet\w*)[\\/]/i;
const RECSYS_DIRS = /(^|[\\/])(torchrec|fbgemm_gpu|dlrm\w*)[\\/]/i;

type KernelClass = 'backward' | 'conv' | 'embedding' | 'decode' | 'other';
const BACKWARD_KERNEL = /backward|_bwd|bwd_|wgrad|dgrad|bn_bw/i;
const CONV_KERNEL = /conv|fprop|implicit_gemm|winograd|scudnn|max_pool|avg_pool|nchwToNhwc|bn_fw/i;
const EMBEDDING_KERNEL =
  /split_embedding|embedding_bag|batched_embedding|fbgemm|jagged|permute_\w*sparse/i;
const DECODE_KERNEL = /splitkv|split_kv|paged_attention|decode|gemv/i;

/** Shares of kernel time that make a kernel family the workload's signature. */
const CONV_SHARE = 0.1;
const EMBEDDING_SHARE = 0.05;
const BACKWARD_SHARE = 0.05;

function kernelClass(name: string): KernelClass {
  if (BACKWARD_KERNEL.test(name)) return 'backward';
  if (EMBEDDING_KERNEL.test(name)) return 'embedding';
  if (CONV_KERNEL.test(name)) return 'conv';
  if (DECODE_KERNEL.test(name)) return 'decode';
  return 'other';
}

/**
 * Detects the workload of a profile; `signals` say what decided it. `kernels` is the profile's
 * kernel table (the Report's, when it has one: a second pass over millions of ops is not free).
 */
export function detectWorkload(
  profile: Profile,
  kernels: readonly KernelStat[] = kernelTable(profile),
): Workload {
  const signals: string[] = [];
  // Kernel time by family (collectives left out: they say nothing about the model).
  const byClass = new Map<KernelClass, number>();
  let kernelNs = 0;
  for (const k of kernels) {
    if (isCommKernel(k.name)) continue;
    const c = kernelClass(k.name);
    kernelNs += k.totalNs;
    byClass.set(c, (byClass.get(c) ?? 0) + k.totalNs);
  }
  const share = (c: KernelClass) => (kernelNs > 0 ? (byClass.get(c) ?? 0) / kernelNs : 0);
  const pct = (x: number) => `${(x * 100).toFixed(0)} % of kernel time`;

  // Files on the stacks (each interned stack once).
  const files = new Set<string>();
  for (const stack of profile.stacks) for (const f of stack) files.add(f.file);
  const anyFile = (re: RegExp) => [...files].find((f) => re.test(f));

  let backwardOps = 0;
  let optimizerRanges = 0;
  let decodeRanges = 0;
  let prefillRanges = 0;
  const tally = (flags: number): void => {
    if (flags & BACKWARD_OP) backwardOps++;
    if (flags & OPTIMIZER) optimizerRanges++;
    if (flags & DECODE) decodeRanges++;
    if (flags & PREFILL) prefillRanges++;
  };
  const seen = new Map<string, number>();
  for (const r of profile.ranges) {
    let flags = seen.get(r.name);
    if (flags === undefined) seen.set(r.name, (flags = rangeFlags(r.kind, r.name)));
    tally(flags);
  }
  // Operators by name index: each distinct name tested once.
  const operators = profile.operators;
  const opFlags = operators.names.values.map((name) => rangeFlags('op', name));
  for (let i = 0; i < operators.length; i++) tally(opFlags[operators.name[i]]);

  const engine =
    ENGINES.find(
      ([, re]) =>
        anyFile(re) !== undefined || kernels.some((k) => !isCommKernel(k.name) && re.test(k.name)),
    )?.[0] ?? null;

  // Phase: training when the trace runs backward.
  let phase: WorkloadPhase = 'inference';
  if (backwardOps > 0 || share('backward') >= BACKWARD_SHARE || optimizerRanges > 0) {
    phase = 'training';
    if (backwardOps > 0) signals.push(count(backwardOps, 'backward operator'));
    if (share('backward') > 0) signals.push(`backward kernels ${pct(share('backward'))}`);
    if (optimizerRanges > 0) signals.push(count(optimizerRanges, 'optimizer range'));
  }

  // Domain: engines and model folders first, then kernel families.
  let domain: WorkloadDomain = 'other';
  const llmDir = anyFile(LLM_MODEL_DIRS);
  const visionDir = anyFile(VISION_DIRS);
  const recsysDir = anyFile(RECSYS_DIRS);
  if (engine) {
    domain = 'llm';
    signals.push(`${engine} code or kernels`);
  } else if (llmDir) {
    domain = 'llm';
    signals.push(`LLM model code (${shortPath(llmDir)})`);
  } else if (recsysDir || share('embedding') >= EMBEDDING_SHARE) {
    domain = 'recommender';
    signals.push(
      recsysDir
        ? `recommender code (${shortPath(recsysDir)})`
        : `embedding kernels ${pct(share('embedding'))}`,
    );
  } else if (visionDir || share('conv') >= CONV_SHARE) {
    domain = 'vision';
    signals.push(
      visionDir
        ? `vision model code (${shortPath(visionDir)})`
        : `convolution kernels ${pct(share('conv'))}`,
    );
  }

  if (domain === 'llm' && phase === 'inference') {
    let graphLaunches = 0;
    const calls = profile.cpuCalls;
    const isGraphLaunch = calls.names.values.map((n) => n.includes('GraphLaunch'));
    for (let i = 0; i < calls.length; i++)
      if (calls.kind[i] === CALL_LAUNCH && isGraphLaunch[calls.name[i]]) graphLaunches++;
    if (decodeRanges > prefillRanges) {
      phase = 'decode';
      signals.push(count(decodeRanges, 'decode range'));
    } else if (prefillRanges > 0) {
      phase = 'prefill';
      signals.push(count(prefillRanges, 'prefill range'));
    } else if (share('decode') > 0.2) {
      phase = 'decode';
      signals.push(`decode kernels ${pct(share('decode'))}`);
    } else if (graphLaunches > 0) {
      // Engines replay decode steps as CUDA graphs; prefill runs eagerly.
      phase = 'decode';
      signals.push(count(graphLaunches, 'CUDA graph replay'));
    } else {
      phase = 'prefill';
      signals.push('full-sequence forward (no decode kernels or graph replays)');
    }
  }
  if (phase === 'inference') signals.push('no backward work');
  if (domain === 'other') signals.push('no LLM, vision or recommender code or kernels');
  return { domain, phase, engine, label: labelOf(domain, phase, engine), signals };
}

const BACKWARD_OP = 1;
const OPTIMIZER = 2;
const DECODE = 4;
const PREFILL = 8;

/** What a range's name says about the run. */
function rangeFlags(kind: string, name: string): number {
  let flags = 0;
  if (kind === 'op' && /backward/i.test(name)) flags |= BACKWARD_OP;
  if (/^Optimizer\.(step|zero_grad)/.test(name)) flags |= OPTIMIZER;
  // vLLM: execute_context_<requests>(<tokens>)_generation_<requests>(<tokens>).
  const vllm = /^execute_context_(\d+)\(.*\)_generation_(\d+)\(/.exec(name);
  if (vllm) flags |= Number(vllm[1]) > 0 ? PREFILL : Number(vllm[2]) > 0 ? DECODE : 0;
  else if (kind !== 'op' && /(^|[^a-z])decode([^a-z]|$)/i.test(name)) flags |= DECODE;
  else if (kind !== 'op' && /(^|[^a-z])(prefill|extend)([^a-z]|$)/i.test(name)) flags |= PREFILL;
  return flags;
}

function labelOf(domain: WorkloadDomain, phase: WorkloadPhase, engine: string | null): string {
  const what = { llm: 'LLM', vision: 'vision', recommender: 'recommender', other: '' }[domain];
  const label = what ? `${what} ${phase}` : phase;
  return engine ? `${label} (${engine})` : label;
}

/** "1 decode range", "3 decode ranges". */
function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** The two folders above a file, for a signal. */
function shortPath(file: string): string {
  return file.split(/[\\/]/).slice(-3, -1).join('/');
}
