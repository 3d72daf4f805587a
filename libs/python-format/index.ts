/**
 * Public surface of @granary/python-format: the text Python prints or reads where Granary must match
 * it byte for byte (Gnocchi's JSON bodies and object names, Ceilometer's signed repr). Pure.
 */
export { pyFloatJson, pyFloatRepr, writePyFloatJson } from './src/float.ts';
export { JsonText, jsonNumber, parsePythonJson, pythonJson, toPlain } from './src/json.ts';
export { PyFloat, compareCodePoints, pyRepr, pyReprDecoded, pyStr } from './src/repr.ts';
export type { PyDict, PyValue } from './src/repr.ts';
