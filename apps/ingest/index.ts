/** Public surface of @granary/app-ingest; see package.json for what this app owns. */
export {};
