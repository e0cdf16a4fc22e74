/**
 * @module
 * The package's version, read from its package.json at build time.
 */
import packageJson from '../package.json' with { type: 'json' };

/** This package's version. */
export const VERSION: string = packageJson.version;
