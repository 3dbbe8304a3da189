/**
 * Entry point of the Workspace Trust host tests (scripts/host-tests.mjs --trust): code-server opens
 * one hostile workspace per run, with Workspace Trust on, and this runs that scenario's test file
 * (`GPU_LENS_TRUST_SCENARIO`.test.js).
 */
import { runMocha } from '../host/index';

export async function run(): Promise<void> {
  const scenario = process.env.GPU_LENS_TRUST_SCENARIO;
  if (!scenario)
    throw new Error('GPU_LENS_TRUST_SCENARIO is not set (run scripts/host-tests.mjs --trust)');
  await runMocha(__dirname, (f) => f === `${scenario}.test.js`);
}
