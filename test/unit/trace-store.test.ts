/** The server's TraceStore keeps one Report per path and drops traces that no folder shows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '../../src/core/report-types';
import { MAX_INACTIVE, TraceStore, type LoadedTrace } from '../../src/server/trace-store';

let clock = 0;
/** A trace as server.ts adds it; the store only looks at path, folder and load time. */
function loaded(path: string, workspaceFolder = '/ws'): Omit<LoadedTrace, 'id'> {
  return {
    path,
    workspaceFolder,
    report: { source: { path } } as unknown as Report,
    loadedAt: ++clock,
  } as unknown as Omit<LoadedTrace, 'id'>;
}

void test('a reload of the same path replaces its Report', () => {
  const store = new TraceStore();
  const reports: Report[] = [];
  for (let i = 0; i < 7; i++) reports.push(store.add(loaded('/ws/trace.json')).report);
  assert.equal(store.all().length, 1);
  assert.equal(store.all()[0].report, reports.at(-1));
  assert.equal(store.latest()?.report, reports.at(-1));
  // The same file in another folder is another trace.
  store.add(loaded('/ws/trace.json', '/other'));
  assert.equal(store.all().length, 2);
});

void test('only the latest traces that no folder shows are kept', () => {
  const store = new TraceStore();
  const ids = Array.from(
    { length: MAX_INACTIVE + 3 },
    (_, i) => store.add(loaded(`/ws/t${i}.json`)).id,
  );
  const kept = store.all().map((t) => t.id);
  // The shown one plus the MAX_INACTIVE loaded just before it.
  assert.deepEqual(kept.sort(), ids.slice(-(MAX_INACTIVE + 1)).sort());
  assert.equal(store.active().length, 1);
  assert.equal(store.active()[0].id, ids.at(-1));
  // A dropped trace cannot be selected; a kept one can.
  assert.equal(store.select(ids[0]), undefined);
  assert.equal(store.select(ids.at(-2)!)?.id, ids.at(-2));
});

void test('a trace no folder shows keeps its Report but not its kernel timeline', () => {
  const store = new TraceStore();
  const timeline = () => ({}) as unknown as LoadedTrace['timeline'];
  const first = store.add({ ...loaded('/ws/a.json'), timeline: timeline() });
  const other = store.add({ ...loaded('/other/b.json', '/other'), timeline: timeline() });
  assert.ok(first.timeline && other.timeline, 'each folder shows its own trace');
  store.add({ ...loaded('/ws/c.json'), timeline: timeline() });
  assert.equal(store.get(first.id)?.timeline, undefined, 'the trace /ws no longer shows');
  assert.ok(store.get(first.id)?.report, 'its Report stays for Switch Trace');
  assert.ok(store.get(other.id)?.timeline, 'the other folder still shows its trace');
});
