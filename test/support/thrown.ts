/**
 * The error `fn` throws, checked to be a `type` when one is given; fails the test when `fn` returns.
 */
export function thrownBy<E extends Error = Error>(fn: () => unknown, type?: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (error) {
    if (type) expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected ${type?.name ?? "an error"} to be thrown`);
}
