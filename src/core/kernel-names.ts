/**
 * Short kernel names for tables: demangled C++ kernel names run to ~1,000 characters of template
 * arguments and parameter types, so two different kernels look alike once a cell cuts them.
 */

/** Longest short name kept whole; longer ones lose their middle (ends tell kernels apart). */
const MAX_SHORT = 120;

/** Top-level template arguments this short, with no brackets inside, are kept as written. */
const MAX_KEPT_ARGS = 80;

const OPEN: Record<string, string> = { '<': '>', '(': ')', '[': ']', '{': '}' };
const CLOSE = new Set(['>', ')', ']', '}']);
const OPERATOR_SYMBOLS = /^(?:<<=|>>=|<=>|<<|>>|<=|>=|->|\(\)|\[\]|[<>])/;

/**
 * `void at::native::vectorized_elementwise_kernel<4, at::native::AbsFunctor<float>, …>(int, …)`
 * → `at::native::vectorized_elementwise_kernel<…>`: template arguments become `<…>` (short flat
 * ones are kept: `cutlass::Kernel2<cutlass_80_simt_sgemm_128x32_8x5_nn_align1>`), the parameter
 * list goes, and a leading `void ` return type is dropped. One left-to-right scan with a stack of
 * open brackets (no regex backtracking, linear in the name's length). `operator<`, `operator()`
 * and the like stay whole; `(anonymous namespace)`, `{lambda(int)#1}` and parentheses after a
 * space (`Memcpy HtoD (Pageable -> Device)`) are kept as written. A name whose brackets do not
 * balance comes back unchanged, cut to length in the middle.
 */
export function shortKernelName(name: string): string {
  // Names without brackets (`triton_poi_fused_add_0`, `Cijk_Alik_Bljk_…`) are the kernel's name.
  if (!/[<>(){}[\]]/.test(name)) return name;
  const src = name.startsWith('void ') ? name.slice(5) : name;
  let out = '';
  /** Where the name proper starts: after the last top-level space (a return type before it). */
  let nameStart = 0;
  /** Whether a parameter list was met: only then is the text a signature with a return type. */
  let signature = false;
  const stack: string[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (stack.length === 0) {
      if (src.endsWith('operator', i)) {
        const m = OPERATOR_SYMBOLS.exec(src.slice(i, i + 3));
        if (m) {
          out += m[0];
          i += m[0].length - 1;
          continue;
        }
      }
      if (!(c in OPEN)) {
        if (c === ' ') nameStart = out.length + 1;
        out += c;
        continue;
      }
      const prev = i > 0 ? src[i - 1] : ' ';
      const params = c === '(' && /[\w>\]<=]/.test(prev);
      // `<` opens template arguments (not `::<unnamed>`), `(` after a name the parameter list;
      // other brackets, and `(` after a space, belong to the name and are kept as written.
      if (c === '<' ? prev === ':' : !params) {
        const end = matching(src, i);
        if (end < 0) return cut(name);
        out += src.slice(i, end + 1);
        i = end;
        continue;
      }
      if (c === '<') {
        // Short flat arguments say which kernel it is (`Kernel2<cutlass_80_simt_sgemm_…>`).
        const end = matching(src, i);
        if (end < 0) return cut(name);
        const inner = src.slice(i + 1, end);
        if (inner.length <= MAX_KEPT_ARGS && !/[<(]/.test(inner)) {
          out += src.slice(i, end + 1);
          i = end;
          continue;
        }
        out += '<…>';
      } else signature = true;
      stack.push(OPEN[c]);
      continue;
    }
    const top = stack[stack.length - 1];
    // Inside parentheses `<` and `>` may be comparisons (`enable_if<((8)>(0))>`): only the
    // parentheses count there. `->` is never a closing bracket.
    if (top === ')' && (c === '<' || c === '>')) continue;
    if (c === '>' && src[i - 1] === '-') continue;
    if (c in OPEN) stack.push(OPEN[c]);
    else if (CLOSE.has(c)) {
      if (c !== top) return cut(name);
      stack.pop();
      // The parameter list ends the name (a trailing `const` or clone suffix is dropped).
      if (stack.length === 0 && c === ')') break;
    }
  }
  if (stack.length > 0) return cut(name);
  const short = (signature ? out.slice(nameStart) : out).trim();
  return cut(short || name);
}

/** Index of the bracket closing the one at `start` (nesting of the same kind counted), or -1. */
function matching(s: string, start: number): number {
  const open = s[start];
  const close = OPEN[open];
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === open) depth++;
    else if (s[i] === close && --depth === 0) return i;
  }
  return -1;
}

function cut(s: string): string {
  if (s.length <= MAX_SHORT) return s;
  const head = Math.ceil((MAX_SHORT - 1) / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (MAX_SHORT - 1 - head))}`;
}
