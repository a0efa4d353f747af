/**
 * Checks of layer arguments that every layer of the package uses, so that each error reads the
 * same: `<Class>: <name> must be <what>. Received: <name>=<value>`.
 */

/** Throws unless `value` is absent (undefined or null) or a positive integer. */
export function checkPositiveInt(className: string, value: unknown, name: string): void {
  if (value !== undefined && value !== null &&
      !(typeof value === 'number' && Number.isInteger(value) && value > 0)) {
    throw new Error(`${className}: ${name} must be a positive integer. Received: ${name}=${
        JSON.stringify(value)}`);
  }
}
