/** Public surface of @granary/app-api; see package.json for what this app owns. */
export {};
