/** Public surface of @granary/carbonara; see package.json for what this lib owns. */
export {};
