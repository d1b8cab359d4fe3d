// Package depcheck holds the tests that keep the repository's layout
// honest: the dependency rule of the module, package by package (which
// packages of the module each may import, which outside modules it may
// not), a doc.go in each package saying what it owns, and README.rst
// naming only paths that exist (or are marked as coming). It has no code of
// its own.
package depcheck
