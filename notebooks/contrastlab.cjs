// tslab compiles cells to CommonJS, and the library is ESM with top-level await, which require()
// cannot load: this loads the built package (dist/) with a real import(): the main entry point and
// its plot and claims subpath entry points (contrastlab, contrastlab/plot, contrastlab/claims), as one namespace.
module.exports = async () => ({
  ...(await import('../dist/src/index.js')),
  ...(await import('../dist/src/plot.js')),
  ...(await import('../dist/src/claims.js')),
});
