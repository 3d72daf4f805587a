import { aptInstall, commandExists } from './process.ts';

/**
 * The headless browser of the console's tests: Debian's `chromium`, installed with apt when
 * missing (idempotent). Playwright drives it as it is; no browser is ever downloaded.
 */
export function ensureChromium(): string {
  if (!commandExists('chromium')) {
    process.stderr.write('test infra: installing Debian chromium for the console browser tests (once)…\n');
    aptInstall(['chromium', 'fonts-dejavu-core']);
    process.stderr.write('test infra: chromium installed\n');
  }
  return '/usr/bin/chromium';
}
