export { loadConfigFile, parseConfig, type LoadOptions } from './load.js';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
export { formatDuration, parseGoDuration } from './duration.js';
export { DEFAULT_SERVICE } from './validate/index.js';
export type * from './types.js';
