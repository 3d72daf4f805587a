/** Public surface of @granary/index; see package.json for what this lib owns. */
export {};
