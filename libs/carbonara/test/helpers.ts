/** Parses `YYYY-MM-DDTHH:MM:SS[.ffffff]` (UTC) into epoch microseconds, keeping every digit. */
export function isoToMicros(iso: string): number {
  const [whole, fraction = ''] = iso.split('.');
  return Date.parse(`${whole}Z`) * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

/**
 * A realistic gauge at one point per slot: 2-decimal values around 50–80 with 1% of slots
 * missing. fixtures/make-fixtures.py builds the same series for Gnocchi's serializer.
 */
export function gaugeSeries(count: number): { slots: number[]; values: number[] } {
  let state = 42;
  const slots: number[] = [];
  const values: number[] = [];
  for (let slot = 0; slots.length < count; slot++) {
    // (state × 1103515245 + 12345) mod 2^31, exactly (the product overflows a double's 53 bits).
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    if (state % 100 !== 0) {
      slots.push(slot);
      values.push((5000 + (slot % 600) * 3 + (state % 500)) / 100);
    }
  }
  return { slots, values };
}
