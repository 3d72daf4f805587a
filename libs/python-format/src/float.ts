/**
 * Python's text of a float. `repr` prints the shortest digits that read back to the same double,
 * as JS does, but switches notation at other exponents: fixed from 1e-4 up to 1e16 (JS: 1e-7 to
 * 1e21), `1e+16` / `1.5e-05` beyond (a two-digit minimum exponent), and always with a fractional
 * part (`60.0`). Gnocchi prints every float of a JSON body and names its objects with it.
 */

const FIXED_FROM = 1e-4;
const FIXED_BELOW = 1e16;

/** Python's `repr(float)`: `0.1`, `60.0`, `1e+16`, `1e-05`, `-0.0`, `nan`, `inf`. */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const magnitude = Math.abs(value);
  if (magnitude >= FIXED_FROM && magnitude < FIXED_BELOW) {
    // JS writes this range in fixed notation with the same digits: only a whole number's `.0` is missing.
    const text = String(value);
    return Number.isInteger(value) ? `${text}.0` : text;
  }
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // toExponential() without an argument gives the shortest round-trip digits: `1.5e-7`.
  const text = value.toExponential();
  const digitsAt = text.indexOf('e') + 2;
  const exponent = text.slice(digitsAt);
  return `${text.slice(0, digitsAt)}${exponent.length === 1 ? '0' : ''}${exponent}`;
}

/** Python's `json.dumps(float)`: `repr`, but `NaN`, `Infinity` and `-Infinity` tokens. */
export function pyFloatJson(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return pyFloatRepr(value);
}

const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
// Below 2^53 a whole double's digits come exactly out of % and /.
const EXACT_INTEGER_LIMIT = 2 ** 53;
// Below SHORT_DECIMAL_LIMIT, doubles are closer together (ulp ≤ 1.2e-7) than 10^-SHORT_DECIMALS,
// so at most one decimal of up to SHORT_DECIMALS places reads back to a given double, and
// value·10^SHORT_DECIMALS stays an exact integer.
const SHORT_DECIMAL_LIMIT = 1e9;
const SHORT_DECIMALS = 6;
const SHORT_SCALE = 10 ** SHORT_DECIMALS;
const digitScratch = new Uint8Array(20);

/**
 * `pyFloatJson(value)` as ASCII bytes into `out` at `start`; returns where it ends. A read writes
 * half a million of them: whole numbers and values of at most SHORT_DECIMALS decimals (a gauge's
 * 23.1, 0.25) are written digit by digit, without a string; others through `pyFloatJson`. `out`
 * needs 24 bytes free (`-1.2345678901234567e-308`).
 */
export function writePyFloatJson(out: Uint8Array, start: number, value: number): number {
  let at = start;
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) && magnitude < EXACT_INTEGER_LIMIT && !Object.is(value, -0)) {
    if (value < 0) out[at++] = MINUS;
    at = writeDigits(out, at, magnitude, 0);
    out[at++] = DOT;
    out[at++] = DIGIT_0;
    return at;
  }
  if (
    magnitude >= FIXED_FROM &&
    magnitude < SHORT_DECIMAL_LIMIT &&
    // One test turns away most full-precision values: any shorter decimal is also one of these.
    Math.round(magnitude * SHORT_SCALE) / SHORT_SCALE === magnitude
  ) {
    // The fewest decimals d at which round(v·10^d)/10^d is v: a division of two exact integers,
    // so exactly the double that text reads back as; fewer decimals would have been found first.
    for (let decimals = 1, scale = 10; decimals <= SHORT_DECIMALS; decimals++, scale *= 10) {
      const scaled = Math.round(magnitude * scale);
      if (scaled / scale !== magnitude) continue;
      if (value < 0) out[at++] = MINUS;
      const whole = Math.floor(scaled / scale);
      at = writeDigits(out, at, whole, 0);
      out[at++] = DOT;
      return writeDigits(out, at, scaled - whole * scale, decimals);
    }
  }
  const text = pyFloatJson(value);
  for (let index = 0; index < text.length; index++) out[at++] = text.charCodeAt(index);
  return at;
}

/** The decimal digits of a whole number below 2^53, left-padded with zeros to `width`. */
function writeDigits(out: Uint8Array, start: number, whole: number, width: number): number {
  let at = start;
  let length = 0;
  let rest = whole;
  do {
    const next = Math.floor(rest / 10);
    digitScratch[length++] = DIGIT_0 + rest - next * 10;
    rest = next;
  } while (rest > 0 || length < width);
  while (length > 0) out[at++] = digitScratch[--length] as number;
  return at;
}
