import { telemetryErrors } from './errors.ts';

/** Ceilometer's default `[publisher]telemetry_secret`: public, so anyone can sign with it. */
export const PLACEHOLDER_TELEMETRY_SECRET = 'change this for valid signing';

/**
 * Start-up check of the signing secret: Ceilometer's public placeholder signs nothing anyone could
 * not forge, so it is refused unless the deployment says it is a development one
 * (`allowPlaceholderSecret`, set in config/local). Returns true when the placeholder is in use
 * (allowed), so the caller warns.
 */
export function checkTelemetrySecret(secret: string, allowPlaceholder: boolean, setting: string): boolean {
  if (secret !== PLACEHOLDER_TELEMETRY_SECRET) return false;
  if (allowPlaceholder) return true;
  throw telemetryErrors(
    'TELEMETRY_PLACEHOLDER_SECRET',
    `${setting} is Ceilometer's public default '${PLACEHOLDER_TELEMETRY_SECRET}'; set your Ceilometer's secret, '' to turn signing off, or allowPlaceholderSecret: true on a development machine`,
  );
}
