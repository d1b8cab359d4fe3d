// Package none is the runtime of a broker configured without one: every
// action fails at once with a description that names what is missing, so
// the catalog and the OSB API can be used before a runtime is set up.
package none
