/** Public surface of @granary/kafka; see package.json for what this lib owns. */
export {};
