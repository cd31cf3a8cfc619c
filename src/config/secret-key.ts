import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from './config.js';

/**
 * Creates the secret key file on first start, when neither `CLAVIS_SECRET_KEY` nor the file exists, and
 * returns the configuration that uses it (`secretKeySource: 'generated'`). Any other configuration is
 * returned as it is. Only `clavis serve` calls this: commands that inspect an existing deployment (doctor,
 * keys, backup) must never invent a key beside it, and {@link loadConfig} never writes.
 *
 * The file is written with mode 0600 and `wx`, so a key that another process created in the meantime is
 * never overwritten (the write fails instead).
 */
export function ensureSecretKey(config: Config): Config {
  if (config.secretKeySource !== 'missing' || !config.secretKeyFile) return config;
  mkdirSync(dirname(config.secretKeyFile), { recursive: true });
  const secretKey = randomBytes(32);
  writeFileSync(config.secretKeyFile, `${secretKey.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  return { ...config, secretKey, secretKeySource: 'generated' };
}
