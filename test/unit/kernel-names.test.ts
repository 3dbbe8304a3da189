/**
 * Short kernel names: real names from the fixtures shortened as a reader would, every fixture
 * kernel name gets a bounded short name (names without brackets stay whole),
 * adversarial names cost linear time, and the nsys export's own shortName reaches the Report
 * (compared with SQL over the export).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { shortKernelName } from '../../src/core/kernel-names';
import { loadTrace as loadAnyTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { allFixtures, fixture } from './fixtures';
import { KERNEL_CATS, loadTrace } from './kineto-helpers';

void test('real kernel names: template arguments and parameter lists elided', () => {
  const cases: [string, string][] = [
    [
      'void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctorOnSelf_add<float>, std::array<char*, 2ul> >(int, at::native::CUDAFunctorOnSelf_add<float>, std::array<char*, 2ul>)',
      'at::native::vectorized_elementwise_kernel<…>',
    ],
    [
      'void cutlass::Kernel2<cutlass_80_simt_sgemm_128x32_8x5_nn_align1>(cutlass_80_simt_sgemm_128x32_8x5_nn_align1::Params)',
      'cutlass::Kernel2<cutlass_80_simt_sgemm_128x32_8x5_nn_align1>',
    ],
    [
      'void at::native::vectorized_elementwise_kernel<(int)4, at::native::rsqrt_kernel_cuda(at::TensorIteratorBase &)::[lambda() (instance 2)]::operator ()() const::[lambda(float) (instance 1)], std::array<char *, (unsigned long long)2>>(int, T2, T3)',
      'at::native::vectorized_elementwise_kernel<…>',
    ],
    [
      'void at::native::(anonymous namespace)::cunn_SoftMaxForward<4, float, float, float, at::native::(anonymous namespace)::SoftMaxForwardEpilogue>(float*, const float*, int)',
      'at::native::(anonymous namespace)::cunn_SoftMaxForward<…>',
    ],
    [
      'void at::native::<unnamed>::CatArrayBatchedCopy<float, unsigned int, (int)3, (int)128, (int)1>(T1 *, T1 *)',
      'at::native::<unnamed>::CatArrayBatchedCopy<…>',
    ],
    [
      'ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevKernelArgsStorage<4096ul>)',
      'ncclDevKernel_AllReduce_Sum_f32_RING_LL',
    ],
    ['void foo::operator()<int>(int)', 'foo::operator()<int>'],
    ['bool operator<(A, B)', 'operator<'],
    ['Memcpy HtoD (Pageable -> Device)', 'Memcpy HtoD (Pageable -> Device)'],
    ['triton_poi_fused_add_mul_0', 'triton_poi_fused_add_mul_0'],
    ['unbalanced<(int', 'unbalanced<(int'],
  ];
  for (const [name, short] of cases) assert.equal(shortKernelName(name), short, name);
});

void test('every fixture kernel name: bounded short names, bracket-free names whole', () => {
  const names = new Set<string>();
  for (const file of allFixtures('torch'))
    for (const e of loadTrace(file).events)
      if (e.ph === 'X' && KERNEL_CATS.has(e.cat ?? '')) names.add(e.name ?? '');
  for (const file of allFixtures('nsys')) {
    const db = new Database(file, { readonly: true });
    const has = db
      .prepare("SELECT 1 FROM sqlite_master WHERE name = 'CUPTI_ACTIVITY_KIND_KERNEL'")
      .get();
    if (has) {
      const rows = db
        .prepare(
          'SELECT DISTINCT s.value AS v FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName',
        )
        .all() as { v: string }[];
      for (const r of rows) names.add(r.v);
    }
    db.close();
  }
  assert.ok(names.size > 100, `${names.size} names`);
  let shortened = 0;
  for (const n of names) {
    const s = shortKernelName(n);
    if (!/[<>(){}[\]]/.test(n)) {
      assert.equal(s, n, 'a name without brackets is kept whole');
      continue;
    }
    assert.ok(s.length > 0 && s.length <= 120, `${s.length}: ${n.slice(0, 200)}`);
    assert.ok(!/[,*&]/.test(s.replace(/<[^<>]*>/g, '')), `no argument text left: ${s}`);
    if (n.length > 200) {
      shortened++;
      assert.ok(s.length < n.length * 0.75, s);
    }
  }
  assert.ok(shortened > 20, `${shortened} long names`);
});

void test('adversarial names take linear time', () => {
  for (const name of [
    'k' + '<'.repeat(200_000),
    'k<' + 'a<b, '.repeat(50_000) + '>'.repeat(50_000) + '>',
    'k' + '(('.repeat(100_000),
    'k' + '::<'.repeat(70_000),
    'k' + '<a>'.repeat(70_000) + '(',
  ]) {
    const t = performance.now();
    const s = shortKernelName(name);
    assert.ok(performance.now() - t < 500, `${name.length} chars in ${performance.now() - t} ms`);
    assert.ok(s.length <= 120);
  }
});

void test("nsys: Report.kernels carry the export's shortName where it differs", async () => {
  const file = fixture('nsys', 'rtx5000-attention-nvtx-2026.2.sqlite');
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(
      `SELECT DISTINCT d.value AS name, s.value AS short FROM CUPTI_ACTIVITY_KIND_KERNEL k
       JOIN StringIds d ON d.id = k.demangledName JOIN StringIds s ON s.id = k.shortName`,
    )
    .all() as { name: string; short: string }[];
  db.close();
  const expected = new Map(rows.filter((r) => r.short !== r.name).map((r) => [r.name, r.short]));
  assert.ok(expected.size > 5);
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-kn-'));
  const report = buildReport(await loadAnyTrace(file), { workspaceRoot: ws });
  assert.deepEqual(
    new Map(report.kernels.filter((k) => k.shortName).map((k) => [k.name, k.shortName])),
    expected,
  );
});
