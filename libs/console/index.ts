/** Public surface of @granary/console: the `/ui` routes serving the browser console. */
export { CONSOLE_CSP, registerConsole } from './src/plugin.ts';
