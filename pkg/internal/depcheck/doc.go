// Package depcheck holds the test that states and enforces the
// dependency rule of the module, package by package: which packages of
// the module each may import, which outside modules it may not, and that
// each says in a doc.go what it owns. It has no code of its own.
package depcheck
