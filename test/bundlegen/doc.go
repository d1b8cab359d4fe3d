// Package bundlegen generates valid, varied apb.yml documents for catalog
// scale tests and benchmarks. The output is deterministic for a seed.
package bundlegen
