/** A configuration that cannot be used: the message names the field, never a secret's value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
