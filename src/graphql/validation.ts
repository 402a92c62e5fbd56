import { validate, type ValidationError } from "class-validator";
import { BadUserInputError } from "../common/errors";

/**
 * type-graphql's `validateFn`: runs class-validator on every input object argument and turns the
 * failures into one BAD_USER_INPUT error that says what was wrong, before any resolver work (and so
 * before any upstream call).
 */
export async function validateArgument(value: unknown): Promise<void> {
  const items = Array.isArray(value) ? value : [value];
  const messages: string[] = [];
  for (const item of items) {
    if (typeof item !== "object" || item === null || item.constructor === Object) continue;
    const errors = await validate(item, { forbidUnknownValues: false, validationError: { target: false, value: false } });
    messages.push(...errors.flatMap((e) => describe(e, "")));
  }
  if (messages.length > 0) throw new BadUserInputError(`Invalid input: ${messages.join("; ")}`);
}

function describe(error: ValidationError, prefix: string): string[] {
  const path = prefix ? `${prefix}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((m) => (m.startsWith(error.property) ? m : `${path}: ${m}`));
  return [...own, ...(error.children ?? []).flatMap((c) => describe(c, path))];
}
