/** Public surface of @granary/app-cli; see package.json for what this app owns. */
export {};
