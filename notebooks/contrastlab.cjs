// tslab compiles cells to CommonJS, and the library is ESM with top-level await, which require()
// cannot load: this loads the built package (dist/, its public entry point) with a real import().
module.exports = () => import('../dist/src/index.js');
