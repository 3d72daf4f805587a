/** Public surface of @granary/app-poller; see package.json for what this app owns. */
export {};
