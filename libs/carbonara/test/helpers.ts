/** Parses `YYYY-MM-DDTHH:MM:SS[.ffffff]` (UTC) into epoch microseconds, keeping every digit. */
export function isoToMicros(iso: string): number {
  const [whole, fraction = ''] = iso.split('.');
  return Date.parse(`${whole}Z`) * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}
