// The browser loads uPlot's ES module from /ui/uPlot.esm.js (served from node_modules); its types.
export { default } from 'uplot';
