/** Public surface of @granary/app-processor; see package.json for what this app owns. */
export {};
