/** Public surface of @granary/schema; see package.json for what this lib owns. */
export {};
