/** Checks a tool's arguments against its JSON Schema: one readable line per refusal. */
import Ajv, { type ValidateFunction } from 'ajv';
import type { ToolSpec } from './tool-specs';

const ajv = new Ajv({ allErrors: true, strict: true });
const compiled = new Map<string, ValidateFunction>();

/** A tool input that does not match the tool's schema. */
export class ToolInputError extends Error {}

/**
 * Returns `input` typed as T when it matches the schema of `spec`; throws ToolInputError naming
 * every offending argument otherwise (`undefined` counts as `{}`: tools without arguments).
 */
export function validateToolInput<T>(spec: ToolSpec, input: unknown): T {
  let check = compiled.get(spec.name);
  if (!check) {
    check = ajv.compile(spec.inputSchema);
    compiled.set(spec.name, check);
  }
  const value = input ?? {};
  if (check(value)) return value as T;
  const problems = (check.errors ?? []).map((e) => {
    const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'input';
    if (e.keyword === 'additionalProperties')
      return `unknown argument "${String(e.params.additionalProperty)}"`;
    if (e.keyword === 'required') return `missing argument "${String(e.params.missingProperty)}"`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
  throw new ToolInputError(`${spec.name}: ${problems.join('; ')}`);
}
