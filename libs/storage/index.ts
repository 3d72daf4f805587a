/** Public surface of @granary/storage; see package.json for what this lib owns. */
export {};
